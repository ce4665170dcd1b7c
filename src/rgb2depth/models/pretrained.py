"""Saved models: a folder with ``config.json`` and ``model.safetensors``.

``config.json``::

    {"format": "rgb2depth-model", "format_version": 1,
     "model": {"name": "light_unet", "kwargs": {"in_channels": 3, ...}},
     ...meta}

``model.kwargs`` holds every setting of the model, the defaults filled in, so that a
later change of a default does not change a saved model. ``meta`` is whatever the
caller adds at the top level: depth units and range, input size, training
information; it must be JSON-serialisable (tuples are written as lists, and NaN or
infinite floats, e.g. an undefined validation metric, as ``null``).

``model.safetensors`` holds the ``state_dict`` (parameters and buffers such as
BatchNorm statistics). Loading never unpickles anything.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from rgb2depth.data.io import atomic_dir
from rgb2depth.errors import InputError
from rgb2depth.models.registry import create_model, get_entry

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""Per-channel RGB mean of ImageNet, on [0, 1] images (torchvision's normalisation)."""
IMAGENET_STD = (0.229, 0.224, 0.225)
"""Per-channel RGB standard deviation of ImageNet, on [0, 1] images."""

FORMAT = "rgb2depth-model"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
_RESERVED = ("format", "format_version", "model")


def _jsonable(value: Any) -> Any:
    """Tuples -> lists and NaN/inf -> None, recursively (strict JSON, as read back)."""
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


def compare_state(
    expected: Mapping[str, torch.Tensor],
    got: Mapping[str, torch.Tensor],
    *,
    optional: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Differences between two state dicts, as phrases ('3 missing key(s) (e.g. a, b)');
    an empty list when the keys and shapes match. Keys in ``optional`` may be absent."""

    def examples(keys: list[str]) -> str:
        return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")

    missing = sorted(set(expected) - set(got) - set(optional))
    unexpected = sorted(set(got) - set(expected))
    mismatched = sorted(
        k for k in set(expected) & set(got) if _shape(expected[k]) != _shape(got[k])
    )
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s) (e.g. {examples(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) (e.g. {examples(unexpected)})")
    if mismatched:
        k = mismatched[0]
        problems.append(
            f"{len(mismatched)} shape mismatch(es) (e.g. {k}: expected "
            f"{_shape(expected[k])}, file has {_shape(got[k])})"
        )
    return problems


def save_model_folder(
    folder: str | Path,
    model: nn.Module,
    *,
    name: str,
    kwargs: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save ``model`` as a folder that :func:`load_model_folder` reads back.

    The folder is written atomically: on any error nothing is left at ``folder``
    (and an existing folder is kept).

    Args:
        folder: the output folder; must not exist or be empty unless ``overwrite``.
        model: the model, built with ``create_model(name, **kwargs)``.
        name: its registered name.
        kwargs: the settings it was built with (defaults are filled in in the file).
        meta: extra top-level entries for ``config.json`` (JSON-serialisable, not
            ``format``, ``format_version`` or ``model``), e.g. depth units and range;
            NaN or infinite floats are written as ``null``.
        overwrite: replace an existing non-empty folder.

    Returns:
        ``folder`` as a Path.

    Raises:
        InputError: unknown model name or setting, a model whose weights do not match
            ``name``/``kwargs``, meta that is not JSON-serialisable or uses a reserved
            key, or a folder that exists (without ``overwrite``) or cannot be written.
    """
    folder = Path(folder)
    entry = get_entry(name)
    meta = dict(meta or {})
    clash = [k for k in _RESERVED if k in meta]
    if clash:
        raise InputError(f"meta may not hold the reserved key(s) {', '.join(clash)}")
    settings = _jsonable({**entry.defaults, **dict(kwargs)})
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {"name": name, "kwargs": settings},
        **_jsonable(meta),
    }
    try:
        text = json.dumps(config, indent=2, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InputError(f"model config is not JSON-serialisable: {e}") from None

    # The same architecture, built on the meta device (no memory), must match the weights.
    with torch.device("meta"):
        reference = create_model(name, **settings)
    state = model.state_dict()
    problems = compare_state(reference.state_dict(), state)
    if problems:
        raise InputError(f"the model to save does not match {name}: " + ", ".join(problems))
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}

    with atomic_dir(folder, overwrite=overwrite) as tmp:
        (tmp / CONFIG_NAME).write_text(text + "\n", encoding="utf-8")
        save_file(tensors, str(tmp / WEIGHTS_NAME), metadata={"format": FORMAT})
    return folder


def read_model_config(folder: str | Path) -> dict[str, Any]:
    """Read and check ``folder/config.json``; returns the config dict.

    Raises:
        InputError: folder missing or not a directory, config missing, not JSON,
            not an rgb2depth model config, a newer format version, or no model entry.
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"model folder {folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"model folder {folder}: not a directory")
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise InputError(f"model folder {folder}: no {CONFIG_NAME}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        got = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise InputError(
            f"{path}: not an rgb2depth model config (format {got!r}, expected {FORMAT!r})"
        )
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{path}: format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise InputError(
            f"{path}: format_version {version} is newer than this rgb2depth reads "
            f"({FORMAT_VERSION}); upgrade rgb2depth"
        )
    model = config.get("model")
    if (
        not isinstance(model, dict)
        or not isinstance(model.get("name"), str)
        or not isinstance(model.get("kwargs", {}), dict)
    ):
        raise InputError(
            f'{path}: "model" must be {{"name": str, "kwargs": {{...}}}}, got {model!r}'
        )
    return config


def saved_settings(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a saved ``config.json``'s ``model`` entry was built with: its
    ``kwargs``, plus the old values of settings the network gained after it was saved
    (``ModelEntry.legacy_settings``). InputError for an unknown model name."""
    return {**get_entry(spec["name"]).legacy_settings, **spec.get("kwargs", {})}


def load_model_folder(
    folder: str | Path, *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Load a model saved by :func:`save_model_folder`.

    Args:
        folder: the model folder (``config.json`` + ``model.safetensors``).
        device: where to put the model.

    Returns:
        (model in eval mode on ``device``, the config dict as read from ``config.json``).

    Raises:
        InputError: a missing or malformed folder, config or weights file, an unknown
            model name or setting, weights that do not match the architecture
            (missing or unexpected keys, wrong shapes), or an unknown device.
    """
    folder = Path(folder)
    config = read_model_config(folder)
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"unknown device {device!r} ({e})") from None
    spec = config["model"]
    name = spec["name"]
    try:
        model = create_model(name, **saved_settings(spec))
    except InputError as e:
        raise InputError(f"{folder / CONFIG_NAME}: {e}") from None

    path = folder / WEIGHTS_NAME
    if not path.is_file():
        raise InputError(f"model folder {folder}: no {WEIGHTS_NAME}")
    try:
        state = load_file(str(path), device="cpu")
    except Exception as e:  # safetensors raises its own error type for corrupt files
        raise InputError(
            f"{path}: corrupt or not a safetensors file ({type(e).__name__}: {e})"
        ) from None
    problems = compare_state(model.state_dict(), state)
    if problems:
        raise InputError(f"{path} does not match {name}: " + ", ".join(problems))
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(v.isfinite().all())]
    if bad:
        raise InputError(
            f"{path}: {len(bad)} tensor(s) hold NaN or infinite values (e.g. {bad[0]})"
        )
    model.load_state_dict(state, strict=True)
    try:
        model.to(device)
    except (RuntimeError, AssertionError) as e:
        raise InputError(f"cannot move the model to device {str(device)!r} ({e})") from None
    model.eval()
    return model, config


__all__ = ["load_model_folder", "read_model_config", "save_model_folder", "saved_settings"]


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """Read a state dict (name -> tensor) from a local weights file, safely.

    ``.safetensors`` files are read with :func:`safetensors.torch.load_file`;
    ``.pth`` / ``.pt`` files with ``torch.load(weights_only=True)``, which accepts
    tensors and plain containers only and never unpickles arbitrary objects. A
    training checkpoint that nests the weights under ``state_dict`` or ``model`` is
    unwrapped, and a ``module.`` prefix on every key (``DataParallel``) is removed.

    Args:
        path: the file (its existence is the caller's to check, with its own advice).
        what: names the file in messages, e.g. ``"DenseNet-121 weights"``.

    Raises:
        InputError: another extension, an unreadable or corrupt file, a file that holds
            pickled Python objects, or something other than a mapping of tensors.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".safetensors", ".pth", ".pt"):
        raise InputError(
            f"{what} {path}: expected a .safetensors, .pth or .pt file, "
            f"got {path.suffix or 'no extension'}"
        )
    state: object
    try:
        if suffix == ".safetensors":
            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused a pickled object
        raise InputError(
            f"{what} {path}: it holds pickled Python objects, which are never unpickled; "
            "save a plain state_dict (torch.save(model.state_dict(), ...)) or safetensors"
        ) from exc
    except Exception as exc:  # corrupt or truncated file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{what} {path}: cannot read it as a state dict of tensors ({first})"
        ) from exc
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping):
        raise InputError(
            f"{what} {path}: expected a state dict (name -> tensor), got {type(state).__name__}"
        )
    bad = [str(k) for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise InputError(
            f"{what} {path}: {bad[0]} is not a tensor; expected a state dict of tensors"
        )
    out = {str(k): v for k, v in state.items()}
    if out and all(k.startswith("module.") for k in out):
        out = {k[len("module.") :]: v for k, v in out.items()}
    return out
