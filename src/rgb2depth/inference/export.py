"""Export a saved model to ONNX, with its ``config.json`` inside.

>>> from rgb2depth.inference.export import export_model
>>> info = export_model("faces-light", "faces-light.onnx")   # ONNX opset 18
>>> info.dynamic                                              # ('batch', 'height', 'width')

The file has one input ``rgb`` (B, C, H, W) float32 in [-1, 1] and one output
``depth`` (B, 1, H, W) float32 in the model range [-1, 1], before any clamping (the
network's raw output, which is what :class:`~rgb2depth.inference.predictor.Predictor`
clamps and maps to units). The batch is dynamic; the height and width are dynamic as
well unless the network was built for one input size (a fully connected layer), and
must then be multiples of the network's stride (``rgb2depth.stride`` below). The
model's ``config.json`` travels in the file's metadata (``metadata_props``):

- ``rgb2depth.config``: the config as JSON (depth units and range, input size, framing),
  so that the ONNX Runtime backend needs nothing else (:func:`read_onnx_config`);
- ``rgb2depth.stride``, ``rgb2depth.dynamic`` (comma-separated axis names),
  ``rgb2depth.opset``, ``rgb2depth.version``.

The export goes through ``torch.onnx.export(..., dynamo=True)`` (``torch.export``, then
onnxscript), is validated with ``onnx.checker.check_model(full_check=True)`` and is
written atomically. The packages come with ``pip install "rgb2depth[onnx]"``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.inference.backends import require_onnx

__all__ = [
    "EXPORT_FORMATS",
    "ONNX_OPSET",
    "ExportInfo",
    "cache_dir",
    "cached_onnx",
    "export_model",
    "export_network",
    "read_onnx_config",
]

ONNX_OPSET = 18
"""The ONNX opset of every export (supported by onnxruntime >= 1.14)."""

EXPORT_FORMATS = ("onnx",)
"""The formats ``rgb2depth export --format`` writes."""

META_CONFIG = "rgb2depth.config"
META_STRIDE = "rgb2depth.stride"
META_DYNAMIC = "rgb2depth.dynamic"
META_OPSET = "rgb2depth.opset"
META_VERSION = "rgb2depth.version"


@dataclass(frozen=True)
class ExportInfo:
    """What :func:`export_network` / :func:`export_model` wrote.

    Attributes:
        path: the ``.onnx`` file.
        opset: its ONNX opset.
        inputs, outputs: the names of its inputs and outputs.
        dynamic: the dynamic axes, of ``("batch", "height", "width")``.
        example: the (H, W) the network was traced at.
        bytes: the file's size.
    """

    path: Path
    opset: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dynamic: tuple[str, ...]
    example: tuple[int, int]
    bytes: int


def check_format(fmt: str) -> str:
    """``fmt`` lower-cased if it is one of :data:`EXPORT_FORMATS`.

    Raises:
        InputError: another format.
    """
    if str(fmt).lower() not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; supported: {', '.join(EXPORT_FORMATS)}")
    return str(fmt).lower()


def _check_out(out: str | Path) -> Path:
    from rgb2depth.data.io import check_writable_file

    out = Path(out)
    if out.is_dir():
        raise InputError(f"--out {out}: it is a folder; give a file name, FILE.onnx")
    if out.suffix.lower() != ".onnx":
        raise InputError(f"--out {out}: an ONNX file name must end in .onnx")
    check_writable_file(out, what="ONNX file")
    return out


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress lines, its warnings about optional torchvision
    ops and deprecation notices of the libraries it calls (errors still raise)."""
    names = ("torch.onnx", "torch.export", "torch._export", "onnxscript", "onnx_ir")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_network(
    model: nn.Module,
    out: str | Path,
    *,
    size: tuple[int, int],
    inputs: int = 1,
    batch: int = 2,
    dynamic_size: bool = True,
    input_names: tuple[str, ...] | None = None,
    output_name: str = "output",
    metadata: Mapping[str, str] | None = None,
    opset: int = ONNX_OPSET,
) -> ExportInfo:
    """Export ``model`` (any network taking ``inputs`` (B, C, H, W) tensors) to ONNX.

    Args:
        model: the network; traced in eval mode on the CPU in float32 (a copy where it
            is elsewhere or in another dtype; its training mode is restored).
        out: the ``.onnx`` file (written atomically; an existing file is replaced).
        size: the (H, W) to trace at; any size the network takes.
        inputs: how many input tensors ``forward`` takes.
        batch: the batch to trace at (2: a batch of 1 could be taken for a constant).
        dynamic_size: make H and W dynamic too (False for a network built for one size).
        input_names: the inputs' names (default ``input0``, ``input1``, ...).
        output_name: the output's name.
        metadata: extra ``metadata_props`` (key -> string).
        opset: the ONNX opset.

    Returns:
        An :class:`ExportInfo`.

    Raises:
        InputError: the ONNX packages are missing, ``out`` is not a writable ``.onnx``
            path, the network cannot be exported (the exporter's first line), or the file
            fails ``onnx.checker``.
    """
    with warnings.catch_warnings():  # deprecation notices of what torch.onnx imports
        warnings.simplefilter("ignore", DeprecationWarning)
        onnx, _, _ = require_onnx("onnx", "onnxscript", "torch.onnx")
    from rgb2depth.data.io import atomic_path

    out = _check_out(out)
    tensors = model.state_dict().values()
    as_is = all(t.device.type == "cpu" for t in tensors) and all(
        t.dtype == torch.float32 for t in tensors if t.is_floating_point()
    )
    model = model if as_is else copy.deepcopy(model).to("cpu").float()
    was_training = model.training
    model.eval()
    in_channels = int(cast(int, getattr(model, "in_channels", 3)))
    h, w = (int(v) for v in size)
    names = tuple(input_names or (f"input{i}" for i in range(inputs)))
    if len(names) != inputs:
        raise ValueError(f"{inputs} input(s) but {len(names)} input name(s)")
    generator = torch.Generator().manual_seed(0)
    xs = tuple(
        torch.rand(batch, in_channels, h, w, generator=generator) * 2 - 1 for _ in range(inputs)
    )
    dim = torch.export.Dim.DYNAMIC
    axes = {0: dim, 2: dim, 3: dim} if dynamic_size else {0: dim}
    dynamic = ("batch", "height", "width") if dynamic_size else ("batch",)
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(
                model,
                xs,
                dynamo=True,
                dynamic_shapes=tuple(axes for _ in xs),
                input_names=list(names),
                output_names=[output_name],
                opset_version=opset,
                # onnxscript's own graph optimiser fails on some graphs (face_siamese);
                # onnxruntime optimises the graph when it loads it
                optimize=False,
                verbose=False,
            )
    except InputError:
        raise
    except Exception as e:  # the exporter's many error types
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        name = type(model).__name__
        raise InputError(f"cannot export {name} to ONNX ({type(e).__name__}: {first})") from None
    finally:
        model.train(was_training)
    if program is None:  # (only without dynamo=True)
        raise InputError(f"cannot export {type(model).__name__} to ONNX (no program)")
    proto = program.model_proto
    meta = {
        META_OPSET: str(opset),
        META_DYNAMIC: ",".join(dynamic),
        META_STRIDE: str(int(cast(int, getattr(model, "stride", 1)))),
        META_VERSION: _version(),
        **dict(metadata or {}),
    }
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    proto.producer_name = "rgb2depth"
    proto.producer_version = _version()
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"the ONNX export of {type(model).__name__} is invalid: {first}") from None
    with atomic_path(out) as tmp:
        onnx.save_model(proto, os.fspath(tmp))
    return ExportInfo(
        path=out,
        opset=opset,
        inputs=names,
        outputs=(output_name,),
        dynamic=dynamic,
        example=(h, w),
        bytes=out.stat().st_size,
    )


def _version() -> str:
    from rgb2depth import __version__

    return str(__version__)


def _input_size(config: Mapping[str, Any], source: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in config["input"]["size"])
    except (KeyError, TypeError, ValueError):
        raise InputError(
            f"{source}: config.json lacks the input size; was it saved by rgb2depth train?"
        ) from None
    return h, w


def export_loaded(
    model: nn.Module,
    config: Mapping[str, Any],
    out: str | Path,
    *,
    source: str = "model",
    opset: int = ONNX_OPSET,
) -> ExportInfo:
    """Export a loaded saved model (network + its ``config.json``) to ``out``.

    The network is traced at the config's input size; its input is named ``rgb``, its
    output ``depth``; ``config`` goes into the metadata (see the module docstring).

    Raises:
        InputError: as :func:`export_network`, or a config without an input size.
    """
    from rgb2depth.models import get_entry

    name = str(config.get("model", {}).get("name", ""))
    fixed = get_entry(name).fixed_size if name else False
    return export_network(
        model,
        out,
        size=_input_size(config, source),
        dynamic_size=not fixed,
        input_names=("rgb",),
        output_name="depth",
        metadata={META_CONFIG: json.dumps(config, sort_keys=True)},
        opset=opset,
    )


def export_model(
    name_or_path: str | Path, out: str | Path, *, fmt: str = "onnx", opset: int = ONNX_OPSET
) -> ExportInfo:
    """Export a bundled model (by name) or a saved model folder (by path) to ``out``.

    Everything is checked (format, output path, model folder, packages) before the
    export runs; the file appears only when it is complete and valid.

    Args:
        name_or_path: a bundled model name or a model folder (``config.json`` +
            ``model.safetensors``).
        out: the file to write, ending in ``.onnx``.
        fmt: ``"onnx"`` (:data:`EXPORT_FORMATS`).
        opset: the ONNX opset (:data:`ONNX_OPSET`).

    Raises:
        InputError: an unknown format or model, an unwritable or misnamed ``out``, the
            ONNX packages missing, or a network the exporter cannot handle.
    """
    from rgb2depth.inference.predictor import find_model_folder
    from rgb2depth.models import load_model_folder

    check_format(fmt)
    out = _check_out(out)
    require_onnx("onnx", "onnxscript")
    model, config = load_model_folder(find_model_folder(name_or_path))
    return export_loaded(model, config, out, source=str(name_or_path), opset=opset)


def read_onnx_config(path: str | Path) -> dict[str, Any]:
    """The ``config.json`` embedded in an ONNX file written by :func:`export_model`.

    Raises:
        InputError: not a readable ONNX file, or one without rgb2depth's config.
    """
    (onnx,) = require_onnx("onnx")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such ONNX file")
    try:
        proto = onnx.load_model(os.fspath(path), load_external_data=False)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"{path}: not an ONNX model ({first})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    return config_from_metadata(meta, path)


def config_from_metadata(meta: Mapping[str, str], path: str | Path) -> dict[str, Any]:
    """The config of an exported file's metadata (see :func:`read_onnx_config`).

    Raises:
        InputError: the metadata holds no (valid) rgb2depth config.
    """
    text = meta.get(META_CONFIG)
    if text is None:
        raise InputError(
            f"{path}: no {META_CONFIG} metadata; export the model with rgb2depth export"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: its {META_CONFIG} metadata is not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: its {META_CONFIG} metadata is not a JSON object")
    return config


def cache_dir() -> Path:
    """Where exported files are cached: ``$RGB2DEPTH_CACHE``, else
    ``$XDG_CACHE_HOME/rgb2depth``, else ``~/.cache/rgb2depth``."""
    if os.environ.get("RGB2DEPTH_CACHE"):
        return Path(os.environ["RGB2DEPTH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rgb2depth"


def _fingerprint(model: nn.Module, config: Mapping[str, Any]) -> str:
    """A hash of the weights, the config and the exporter's versions (16 hex digits)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    digest.update(f"{torch.__version__}|{ONNX_OPSET}|{_version()}".encode())
    for key, value in sorted(model.state_dict().items()):
        t = value.detach().to("cpu").contiguous()
        digest.update(f"{key}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def cached_onnx(model: nn.Module, config: Mapping[str, Any], *, source: str = "model") -> Path:
    """The ONNX file of a loaded saved model, exported into :func:`cache_dir` the first
    time (the file name holds a hash of the weights and config, so a changed model is
    exported again).

    Raises:
        InputError: the cache folder cannot be written (set ``RGB2DEPTH_CACHE``), or
            as :func:`export_loaded`.
    """
    from rgb2depth.data.io import check_writable

    folder = cache_dir() / "onnx"
    name = str(config.get("model", {}).get("name", "model"))
    path = folder / f"{name}-{_fingerprint(model, config)}.onnx"
    if path.is_file():
        return path
    check_writable(
        folder,
        what="the ONNX cache folder",
        hint="set RGB2DEPTH_CACHE to a writable folder or pass an exported .onnx file",
    )
    export_loaded(model, config, path, source=source)
    return path
