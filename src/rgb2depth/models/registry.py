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
fails with one line that says what was received. A network whose output is not a
full-size map (a critic) also defines ``output_size(height, width)``, the shape of
one output sample (see :func:`output_shape`); a network with a fully connected layer
on flattened features takes an ``image_size`` setting and refuses other sizes. The tests in
``tests/test_models.py`` are generated from :func:`list_models`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

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
        min_size: the smallest height and width accepted (0: just the stride), for
            networks whose valid convolutions need room, such as the 70x70 PatchGAN.
        inputs: how many (B, C, H, W) tensors ``forward`` takes (2 for a Siamese network).
        paper_params: the parameter count the paper (or its reference code) gives for
            this network, built with ``paper_settings``; None where it gives none.
        paper_settings: the settings that build the paper's configuration (for
            example ``{"out_channels": 3}``); empty when it is the default.
        params_tolerance: relative tolerance of the comparison with ``paper_params``
            (0.01 for a figure such as "15.3 M", 0 for an exact count).
        legacy_settings: settings added after models were saved without them, with
            the value those models were built with; a saved ``config.json`` that lacks
            one of these keys predates it and is loaded with that value (a model
            folder records every setting, defaults included).
    """

    name: str
    builder: Callable[..., nn.Module]
    paper: str
    description: str
    stride: int
    defaults: dict[str, Any] = field(default_factory=dict)
    min_size: int = 0
    inputs: int = 1
    paper_params: int | float | None = None
    paper_settings: dict[str, Any] = field(default_factory=dict)
    params_tolerance: float = 0.01
    legacy_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def fixed_size(self) -> bool:
        """True for a network built for one input size (an ``image_size`` setting,
        e.g. a fully connected layer on the flattened features)."""
        return "image_size" in self.defaults

    def smallest_size(self) -> int:
        """The smallest side length the network accepts: a multiple of the stride
        that is at least ``min_size``."""
        return max(self.stride, -(-self.min_size // self.stride) * self.stride)


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
    name: str,
    *,
    paper: str,
    description: str,
    stride: int,
    min_size: int = 0,
    inputs: int = 1,
    paper_params: int | float | None = None,
    paper_settings: dict[str, Any] | None = None,
    params_tolerance: float = 0.01,
    legacy_settings: dict[str, Any] | None = None,
) -> Callable[[Builder], Builder]:
    """Decorator that adds a model builder to the registry under ``name``.

    Args:
        name: the name users pass to :func:`create_model`; must be new.
        paper: the source of the architecture (seed paper or "project").
        description: one line for listings.
        stride: the factor by which the model downsamples; inputs must have height
            and width that are multiples of it.
        min_size, inputs, paper_params, paper_settings, params_tolerance,
            legacy_settings: see :class:`ModelEntry`.

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
        for what, given in (
            ("paper_settings", paper_settings),
            ("legacy_settings", legacy_settings),
        ):
            unknown = set(given or {}) - set(defaults)
            if unknown:
                raise TypeError(f"model {name!r}: {what} has unknown keys {sorted(unknown)}")
        _REGISTRY[name] = ModelEntry(
            name=name,
            builder=builder,
            paper=paper,
            description=description,
            stride=stride,
            defaults=defaults,
            min_size=int(min_size),
            inputs=int(inputs),
            paper_params=paper_params,
            paper_settings=dict(paper_settings or {}),
            params_tolerance=float(params_tolerance),
            legacy_settings=dict(legacy_settings or {}),
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
def _size_rule(h: int, w: int, stride: int, min_size: int) -> str:
    """ "" when H x W suits a network of this stride and minimum size, else the rule it
    breaks, e.g. "multiples of 8 and at least 24"."""
    least = max(stride, min_size)
    if h < least or w < least or h % stride or w % stride:
        return f"multiples of {stride}" + (f" and at least {least}" if least > stride else "")
    return ""


def check_input_size(
    x: torch.Tensor,
    stride: int,
    model_name: str,
    *,
    in_channels: int | None = None,
    min_size: int = 0,
    size: tuple[int, int] | None = None,
) -> None:
    """Check that ``x`` is a (B, C, H, W) tensor of a size the model accepts.

    Args:
        x: the model input, (B, C, H, W).
        stride: the model's total downsampling factor; H and W must be multiples of it.
        model_name: used in the message, e.g. ``"light_unet"``.
        in_channels: when given, C must equal it.
        min_size: when given, H and W must be at least this.
        size: when given, (H, W) must equal it (networks built for one input size).

    Raises:
        InputError: e.g. ``"light_unet needs height and width that are multiples of 16,
            got 100x128"``, ``"pix2pix_patchgan needs height and width that are multiples
            of 8 and at least 24, got 16x16"``, ``"face_cgan_discriminator was built for
            96x96 inputs (setting image_size), got 64x64"`` or ``"light_unet: expected a
            (B, C, H, W) tensor, got (3, 64, 64)"``.
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
    if size is not None and (h, w) != tuple(size):
        raise InputError(
            f"{model_name} was built for {size[0]}x{size[1]} inputs (setting image_size), "
            f"got {h}x{w}"
        )
    rule = _size_rule(h, w, stride, min_size)
    if rule:
        raise InputError(f"{model_name} needs height and width that are {rule}, got {h}x{w}")


def check_network_size(net: nn.Module, height: int, width: int) -> None:
    """Check, without computing anything, that the registered network ``net`` (an
    instance, as built) takes inputs of ``height`` x ``width``: its stride, minimum size
    and fixed ``image_size`` as built, else as registered.

    Raises:
        InputError: the size is not one the network takes (the message says which are).
    """
    entry = next((e for e in _REGISTRY.values() if type(net) is e.builder), None)
    if entry is None:
        return  # not a registered network: its own forward checks what it takes
    check_input_size(
        torch.empty(1, 1, height, width, device="meta"),
        int(getattr(net, "stride", entry.stride)),
        entry.name,
        min_size=int(getattr(net, "min_size", entry.min_size)),
        size=getattr(net, "image_size", None),
    )


def image_size_pair(value: Any, model_name: str, stride: int, min_size: int = 0) -> tuple[int, int]:
    """An ``image_size`` setting (S or (H, W)) as an (H, W) pair the model accepts.

    Raises:
        InputError: not a positive int or a pair of them, or not a multiple of
            ``stride`` of at least ``min_size``.
    """
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        isinstance(pair, (str, bytes))
        or not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair)
    ):
        raise InputError(
            f"{model_name}: image_size must be a positive integer or a pair (H, W), got {value!r}"
        )
    h, w = pair
    rule = _size_rule(h, w, stride, min_size)
    if rule:
        raise InputError(
            f"{model_name}: image_size needs a height and width that are {rule}, got {h}x{w}"
        )
    return int(h), int(w)


def output_shape(model: nn.Module, height: int, width: int) -> tuple[int, ...]:
    """The shape of one sample of ``model``'s output for a ``height`` x ``width`` input.

    A network whose output is not a full-size map (a critic's score, a PatchGAN's
    grid of patch scores) defines ``output_size(height, width)``; any other network
    returns ``(out_channels, height, width)``.
    """
    own = getattr(model, "output_size", None)
    if callable(own):
        return tuple(own(height, width))
    # a plain int attribute (nn.Module.__getattr__ is typed as returning Tensor | Module)
    return (int(cast(int, model.out_channels)), int(height), int(width))


def image_to_depth_probe(name: str, **settings: Any) -> nn.Module | None:
    """Network ``name`` built with ``settings`` on the meta device (no memory, no
    compute) in eval mode, when it maps one image to a map of the image's size (what
    training a depth network and the Predictor need); None for the others (critics,
    discriminators, the Siamese network). The check runs it at a size it accepts.

    Raises:
        InputError: unknown name or settings.
    """
    entry = get_entry(name)
    if entry.inputs != 1:
        return None
    with torch.device("meta"):
        probe = create_model(name, **settings).eval()
    # plain attributes (nn.Module.__getattr__ is typed as returning Tensor | Module)
    h, w = (
        cast("tuple[int, int]", probe.image_size)
        if entry.fixed_size
        else (entry.smallest_size(),) * 2
    )
    y = probe(torch.empty(1, cast(int, probe.in_channels), h, w, device="meta"))
    return probe if tuple(y.shape[1:]) == (probe.out_channels, h, w) else None


def image_to_depth_models() -> list[str]:
    """The registered networks that map one image to a depth map of its size."""
    return [n for n in list_models() if image_to_depth_probe(n) is not None]


def describe_models(height: int, width: int) -> list[dict[str, Any]]:
    """One dict per registered network: registry facts, parameters and GFLOPs.

    Parameters are those of the default settings; ``paper_parameters`` is the paper's
    figure for ``paper_settings`` (None where it gives none). ``gflops`` is for one
    ``height`` x ``width`` input (None, with ``note`` saying why, when the network
    does not accept that size); a fixed-size network is built for that size to count
    them. Every network is built on the meta device: nothing is allocated or computed.
    """
    rows = []
    for name in list_models():
        entry = get_entry(name)
        with torch.device("meta"):
            model = create_model(name)
            paper_model = create_model(name, **entry.paper_settings)
        cost, note = None, None
        try:
            with torch.device("meta"):
                sized = (
                    create_model(name, image_size=(height, width)) if entry.fixed_size else model
                )
            cost = round(gflops(sized, height, width, inputs=entry.inputs), 3)
        except InputError as exc:
            note = str(exc)
        rows.append(
            {
                "name": name,
                "paper": entry.paper,
                "parameters": count_parameters(model),
                "paper_parameters": entry.paper_params,
                "paper_settings": entry.paper_settings,
                "parameters_with_paper_settings": count_parameters(paper_model),
                "gflops": cost,
                "size": [height, width],
                "in_channels": model.in_channels,
                "out_channels": model.out_channels,
                "inputs": entry.inputs,
                "stride": entry.stride,
                "min_size": entry.smallest_size(),
                "fixed_size": entry.fixed_size,
                "description": entry.description,
                "note": note,
            }
        )
    return rows


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``, trainable or not (buffers such as BN statistics
    are not counted); shared parameters are counted once."""
    return sum(p.numel() for p in model.parameters())


def gflops(
    model: nn.Module, height: int, width: int, in_channels: int | None = None, *, inputs: int = 1
) -> float:
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
        inputs: how many such tensors ``forward`` takes (``get_entry(name).inputs``).

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
            model(*([x] * int(inputs)))
    finally:
        model.train(was_training)
    return counter.get_total_flops() / 1e9
