"""What a training method is: its networks, its optimisation steps and its losses.

The trainer (:mod:`rgb2depth.engine.trainer`) knows nothing about any method
(STYLE.md item 8). A method is an ``nn.Module`` that owns every network it trains
(``self.model`` is the one that is deployed: RGB in, depth out) and declares:

- :meth:`Method.optim_steps`: the optimisation steps of one training step, in order.
  Each names its parameters, how many times it repeats (a WGAN critic's n_critic)
  and optionally its own learning rate and betas; the trainer gives each step its
  own optimizer and scheduler.
- :meth:`Method.loss`: for a step name and a batch (the contract of
  :mod:`rgb2depth.data.contract`, on the device), the scalar loss to minimise and a
  dict of floats to log.
- :meth:`Method.predict`: depth in model range [-1, 1], (B, 1, H, W), for a batch;
  used by validation.

Each method declares its options as a dataclass (``Options``) with defaults; the
``method`` section of a config is checked against it (STYLE.md item 11).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from rgb2depth.errors import InputError

__all__ = ["METHODS", "Method", "OptimStep", "build_method", "check_weight", "register_method"]


@dataclass
class OptimStep:
    """One optimisation step of a method.

    Attributes:
        name: passed back to :meth:`Method.loss`.
        parameters: what this step's optimizer updates (only they collect gradients
            while the step runs).
        repeats: how many times the step runs per training step (each on a new batch);
            a method may change it in :meth:`Method.on_step` (seed 000 halves its
            critic iterations after 1000 generator updates).
        lr, betas: override the run's ``train.lr`` / ``train.betas`` for this step.
        grad_clip: override the run's ``train.grad_clip`` for this step (0: off).
        shares_batch: the step's first repeat takes the batch of the step before it
            instead of a new one (pix2pix updates D, then G, on one batch and one fake).
        freeze_others: while the step runs, the parameters of the other steps collect
            no gradient (they are set ``requires_grad=False``). A step that computes
            something with another step's network for that step to reuse (a generator's
            fake, kept with its graph) sets False, and detaches what its own loss uses.
    """

    name: str
    parameters: list[nn.Parameter]
    repeats: int = 1
    lr: float | None = None
    betas: tuple[float, float] | None = None
    grad_clip: float | None = None
    shares_batch: bool = False
    freeze_others: bool = True


@dataclass
class MethodContext:
    """What a method may know about the data: channels and depth units."""

    in_channels: int
    depth_units: str
    depth_range: tuple[float, float]


class Method(nn.Module):
    """Base class of training methods; see the module docstring."""

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    predicts_depth_from_rgb: ClassVar[bool] = True
    """False where ``self.model`` is not an RGB -> depth network (e.g. a depth autoencoder)."""
    data: ClassVar[str] = "paired"
    """What the method trains on: ``paired`` (RGB and depth of the same view,
    :class:`~rgb2depth.data.PairedDepthDataset`) or ``unpaired`` (an RGB image and a
    depth map drawn independently, :class:`~rgb2depth.data.UnpairedDepthDataset`)."""
    example: ClassVar[dict[str, Any]] = {}
    """A tiny run of the method for the generated tests: ``model`` ({name, kwargs}),
    ``method`` (options), ``size`` ([H, W]) and ``grayscale``, each optional."""

    @dataclass
    class Options:
        pass

    def __init__(self, model: nn.Module, options: Any, context: MethodContext) -> None:
        super().__init__()
        self.model = model
        self.options = options
        self.context = context

    def train_data(self, root: str | Path, split: str, transform: Any) -> Dataset:
        """The training dataset: by default the :attr:`data` kind of ``split`` of the
        dataset folder ``root``, each sample through ``transform``. A method that needs
        more (an extra folder of RGB-only photos) overrides this."""
        from rgb2depth.engine.run import build_train_data

        return build_train_data(self.data, root, split, transform)

    def networks(self) -> dict[str, nn.Module]:
        """Every network the method trains, by name; ``"model"`` is the deployed one."""
        return {"model": self.model}

    def optim_steps(self) -> list[OptimStep]:
        raise NotImplementedError

    def check_size(self, height: int, width: int) -> None:
        """Refuse, before anything is written, a training size (``data.size``) that one of
        the method's networks cannot take; the default checks every network in
        :meth:`networks` against its registered stride, minimum and fixed size.

        Raises:
            InputError: naming the network and the sizes it takes.
        """
        from rgb2depth.models.registry import check_network_size

        for role, net in self.networks().items():
            try:
                check_network_size(net, height, width)
            except InputError as e:
                raise InputError(
                    f"data.size {height}x{width}: method {self.name}'s network {role!r}: {e}"
                ) from None

    def on_step(self, step: int) -> None:
        """Called before training step ``step`` (0-based): a method's own schedules.

        Anything it changes must follow from ``step`` alone, so that a resumed run
        does what the uninterrupted one did. The default does nothing.
        """

    def loss(self, step: str, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def predict(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """Depth in model range, (B, 1, H, W), for ``batch`` (default: ``model(batch['rgb'])``)."""
        return self.model(batch["rgb"])


METHODS: dict[str, type[Method]] = {}


def check_weight(value: Any, key: str) -> float:
    """``method.KEY``'s loss weight as a float.

    Raises:
        InputError: ``value`` is not a finite number >= 0 (a bool is not a number here).
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0:
        raise InputError(f"method.{key} must be a number >= 0, got {value!r}")
    return float(value)


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method available by its ``name`` in configs."""
    METHODS[cls.name] = cls
    return cls


def _options(cls: type[Method], section: Mapping[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls.Options)}
    given = {k: v for k, v in section.items() if k != "name"}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise InputError(
            f"unknown key 'method.{unknown[0]}' for method {cls.name!r}; "
            f"valid keys: {', '.join(['name', *fields])}"
        )
    return cls.Options(**given)


def build_method(section: Mapping[str, Any], model: nn.Module, context: MethodContext) -> Method:
    """Build the method named by ``section['name']`` with the section's options.

    Raises:
        InputError: an unknown method name (the message lists the known ones) or option.
    """
    name = section.get("name")
    if name not in METHODS:
        raise InputError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    cls = METHODS[name]
    return cls(model, _options(cls, section), context)


def method_defaults(name: str) -> dict[str, Any]:
    """The default options of a method, for saving the resolved configuration."""
    return dataclasses.asdict(METHODS[name].Options())


EXAMPLE_SIZE = (32, 32)
"""The size of a method's example run when its ``example`` names none."""


def example_sections(name: str, root: str | Path) -> dict[str, dict[str, Any]]:
    """The ``data``, ``model`` and ``method`` sections of method ``name``'s example run
    (:attr:`Method.example`: its tiny network, options, size and channels) on the
    dataset folder ``root`` (paired or unpaired, as :attr:`Method.data` says). With
    ``train``, ``schedule`` and ``log`` added, a config ``rgb2depth train`` accepts
    (the tests that kill and resume training, benchmarks/device_check.py).
    """
    example: dict[str, Any] = copy.deepcopy(METHODS[name].example)
    return {
        "data": {
            "root": str(root),
            "size": list(example.get("size", EXAMPLE_SIZE)),
            "grayscale": bool(example.get("grayscale", False)),
        },
        "model": {"kwargs": {}, **example["model"]},
        "method": {"name": name, **example.get("method", {})},
    }
