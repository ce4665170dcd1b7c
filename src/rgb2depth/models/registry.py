"""One registry of models: register with a decorator, build by name.

A model is registered by decorating its *builder*, a function or an ``nn.Module``
class whose settings are all keyword-only with defaults (at least
``in_channels`` and ``out_channels``)::

    @register_model("light_unet", paper="Realtime light U-Net (seed 004)",
                    description="...", stride=16)
    class LightUNet(nn.Module):
        def __init__(self, *, in_channels: int = 3, out_channels: int = 1, ...): ...

    model = create_model("light_unet", channels=(16, 32, 48, 48, 64))

Every registered module keeps ``stride``, ``in_channels`` and ``out_channels``
attributes, and its ``forward`` calls :func:`check_input_size`, so a wrong input
fails with one line that says what was received. The tests in
``tests/test_models.py`` are generated from :func:`list_models`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from rgb2depth.errors import InputError, check_keywords

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


@dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about one model.

    Attributes:
        name: the registered name, e.g. ``"light_unet"``.
        builder: the decorated function or class; ``builder(**settings)`` makes the model.
        paper: where the architecture comes from, e.g. ``"Realtime light U-Net (seed 004)"``.
        description: one line for listings.
        stride: input height and width must be multiples of this (the total downsampling).
        defaults: the builder's keyword settings and their default values (treat as
            read-only; copy before changing).
    """

    name: str
    builder: Callable[..., nn.Module]
    paper: str
    description: str
    stride: int
    defaults: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ModelEntry] = {}


def _signature_defaults(name: str, builder: Callable[..., nn.Module]) -> dict[str, Any]:
    """The keyword-only settings of ``builder`` with their defaults; TypeError if malformed."""
    sig = inspect.signature(builder)
    defaults: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is inspect.Parameter.empty:
            raise TypeError(
                f"model builder {name!r}: every setting must be keyword-only with a default, "
                f"{p.name!r} is not"
            )
        defaults[p.name] = p.default
    for required in ("in_channels", "out_channels"):
        if required not in defaults:
            raise TypeError(f"model builder {name!r} needs a keyword setting {required!r}")
    return defaults


def register_model(
    name: str, *, paper: str, description: str, stride: int
) -> Callable[[Builder], Builder]:
    """Decorator that adds a model builder to the registry under ``name``.

    Args:
        name: the name users pass to :func:`create_model`; must be new.
        paper: the source of the architecture (seed paper or "project").
        description: one line for listings.
        stride: the factor by which the model downsamples; inputs must have height
            and width that are multiples of it.

    Returns:
        The decorator; it returns the builder unchanged.

    Raises:
        TypeError: (a programming error) the name is taken, the stride is not a
            positive int, or the builder's settings are not all keyword-only with defaults.
    """
    if not isinstance(stride, int) or stride < 1:
        raise TypeError(f"model {name!r}: stride must be a positive int, got {stride!r}")

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise TypeError(f"model {name!r} is already registered")
        defaults = _signature_defaults(name, builder)
        _REGISTRY[name] = ModelEntry(
            name=name,
            builder=builder,
            paper=paper,
            description=description,
            stride=stride,
            defaults=defaults,
        )
        return builder

    return decorate


def list_models() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_REGISTRY)


def get_entry(name: str) -> ModelEntry:
    """The :class:`ModelEntry` of ``name``.

    Raises:
        InputError: unknown name; the message lists the known names.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(list_models()) or "(none registered)"
        raise InputError(f"unknown model {name!r}; known models: {known}") from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with the given keyword settings.

    Settings left out take the builder's defaults (see ``get_entry(name).defaults``).

    Raises:
        InputError: unknown model name (lists the known ones), an unknown setting
            (lists the accepted ones), or a setting value the builder refuses.
    """
    entry = get_entry(name)
    check_keywords(kwargs, entry.defaults, name)
    model = entry.builder(**kwargs)
    if getattr(model, "stride", None) != entry.stride:
        raise TypeError(f"model {name!r} must set .stride = {entry.stride} (registered stride)")
    return model


# --------------------------------------------------------------------------- helpers
def check_input_size(
    x: torch.Tensor, stride: int, model_name: str, *, in_channels: int | None = None
) -> None:
    """Check that ``x`` is a (B, C, H, W) tensor with H and W multiples of ``stride``.

    Args:
        x: the model input, (B, C, H, W).
        stride: the model's total downsampling factor.
        model_name: used in the message, e.g. ``"light_unet"``.
        in_channels: when given, C must equal it.

    Raises:
        InputError: e.g. ``"light_unet needs height and width that are multiples of 16,
            got 100x128"`` or ``"light_unet: expected a (B, C, H, W) tensor, got (3, 64, 64)"``.
    """
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{model_name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise InputError(f"{model_name}: expected a (B, C, H, W) tensor, got {tuple(x.shape)}")
    if in_channels is not None and x.shape[1] != in_channels:
        raise InputError(
            f"{model_name} expects {in_channels} input channel(s), got {x.shape[1]} "
            f"(input shape {tuple(x.shape)})"
        )
    h, w = x.shape[-2:]
    if h < stride or w < stride or h % stride or w % stride:
        raise InputError(
            f"{model_name} needs height and width that are multiples of {stride}, got {h}x{w}"
        )


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``, trainable or not (buffers such as BN statistics
    are not counted); shared parameters are counted once."""
    return sum(p.numel() for p in model.parameters())


def gflops(model: nn.Module, height: int, width: int, in_channels: int | None = None) -> float:
    """Forward-pass cost of ``model`` on one (1, C, height, width) image, in GFLOPs.

    Counted with ``torch.utils.flop_counter.FlopCounterMode`` on a zero input, in eval
    mode under ``torch.no_grad()``; the model's training mode is restored afterwards.
    Following that counter, one multiply-add counts as **2 FLOPs**, and only the
    operations it knows are counted (convolutions, matrix products), not
    normalisation, activations, pooling or resampling.

    Args:
        model: any module taking a (B, C, H, W) tensor.
        height, width: the input size in pixels (multiples of the model's stride).
        in_channels: C; default ``model.in_channels``.

    Returns:
        Billions of FLOPs (1e9), a float >= 0.

    Raises:
        InputError: no ``in_channels`` given and the model has none, or a size the
            model refuses.
    """
    if in_channels is None:
        in_channels = getattr(model, "in_channels", None)
        if in_channels is None:
            raise InputError("gflops needs in_channels: the model has no in_channels attribute")
    try:
        p = next(model.parameters())
        device, dtype = p.device, p.dtype
    except StopIteration:
        device, dtype = torch.device("cpu"), torch.float32
    x = torch.zeros(1, int(in_channels), int(height), int(width), device=device, dtype=dtype)
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() / 1e9
