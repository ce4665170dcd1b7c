"""Inference backends: how a network's forward pass is run.

A backend is named by a short string (``--backend`` of ``rgb2depth predict``, the
``--backends`` of ``rgb2depth benchmark``), parsed once by :func:`parse_backend`:

- ``torch``: PyTorch eager, float32 (the reference).
- ``torch`` followed by modifiers joined with ``-``, in any order:
  ``cl`` channels-last memory format; ``bf16`` bfloat16 autocast (on a CPU only where
  it has native bfloat16 instructions, :func:`bf16_support`); ``fp16`` float16 autocast
  (CUDA only); ``compile`` ``torch.compile`` with freezing (weights folded into the
  graph; the first call compiles). E.g. ``torch-cl``, ``torch-bf16``, ``torch-cl-bf16``,
  ``torch-compile``.
- ``onnx``: ONNX Runtime on an exported file (:mod:`rgb2depth.inference.export`), CPU,
  or CUDA where onnxruntime has its CUDA provider.

A *runner* (:func:`make_runner`) is the callable a backend gives: network input(s)
(B, C, H, W) float32 in, network output float32 out, on the device asked for. The
output of an autocast backend is its reduced-precision result converted back to float32.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from rgb2depth.errors import InputError

__all__ = [
    "BACKEND_NAMES",
    "BackendSpec",
    "OnnxRunner",
    "Runner",
    "TorchRunner",
    "bf16_support",
    "cpu_flags",
    "make_runner",
    "parse_backend",
    "require_onnx",
]

TORCH_MODIFIERS = ("cl", "bf16", "fp16", "compile")
"""What may follow ``torch-`` in a backend name (see the module docstring)."""

BACKEND_NAMES = ("torch", "torch-cl", "torch-bf16", "torch-fp16", "torch-compile", "onnx")
"""The backends by their usual names (modifiers combine: ``torch-cl-bf16``)."""

_ACCEPTED = (
    "torch, onnx, or torch with modifiers cl (channels-last), bf16, fp16 (CUDA), compile "
    "joined by '-' (e.g. torch-cl-bf16)"
)

ONNX_EXTRA = 'pip install "rgb2depth[onnx]"'


@dataclass(frozen=True)
class BackendSpec:
    """A parsed backend name.

    Attributes:
        engine: ``"torch"`` or ``"onnx"``.
        channels_last: torch: run in channels-last memory format.
        autocast: torch: ``"bf16"``, ``"fp16"`` or None (float32).
        compile: torch: ``torch.compile`` with freezing.
    """

    engine: str = "torch"
    channels_last: bool = False
    autocast: str | None = None
    compile: bool = False

    @property
    def name(self) -> str:
        """The canonical name, e.g. ``"torch-cl-bf16"`` (parses back to this spec)."""
        if self.engine == "onnx":
            return "onnx"
        parts = ["torch"]
        parts += ["cl"] if self.channels_last else []
        parts += [self.autocast] if self.autocast else []
        parts += ["compile"] if self.compile else []
        return "-".join(parts)

    def __str__(self) -> str:
        return self.name


def parse_backend(text: str | BackendSpec | None) -> BackendSpec:
    """A backend name -> :class:`BackendSpec` (None -> plain ``torch``).

    Raises:
        InputError: an unknown name or modifier, a repeated modifier, or both bf16 and fp16.
    """
    if isinstance(text, BackendSpec):
        return text
    if text is None:
        return BackendSpec()
    raw = str(text).strip().lower()
    if raw == "onnx":
        return BackendSpec(engine="onnx")
    head, *mods = raw.split("-")
    if head != "torch":
        raise InputError(f"unknown backend {text!r}; use {_ACCEPTED}")
    unknown = [m for m in mods if m not in TORCH_MODIFIERS]
    if unknown:
        raise InputError(f"unknown backend {text!r} (modifier {unknown[0]!r}); use {_ACCEPTED}")
    if len(set(mods)) != len(mods):
        raise InputError(f"backend {text!r} repeats a modifier; use {_ACCEPTED}")
    if "bf16" in mods and "fp16" in mods:
        raise InputError(f"backend {text!r}: choose bf16 or fp16, not both")
    autocast = "bf16" if "bf16" in mods else "fp16" if "fp16" in mods else None
    return BackendSpec(
        engine="torch", channels_last="cl" in mods, autocast=autocast, compile="compile" in mods
    )


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``/proc/cpuinfo`` ``flags`` / ``Features``); empty where
    the system does not say."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key = line.split(":", 1)[0].strip().lower()
                if key in ("flags", "features"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


_NATIVE_BF16 = ("avx512_bf16", "amx_bf16", "bf16")  # x86 AVX-512 BF16, AMX; Arm BF16


def bf16_support(device: torch.device) -> str | None:
    """None when ``device`` runs bfloat16 natively, else why not (one phrase).

    On CUDA: ``torch.cuda.is_bf16_supported()``. On a CPU: oneDNN must support bfloat16
    (``torch.ops.mkldnn._is_mkldnn_bf16_supported()``) *and* the CPU must have native
    bfloat16 instructions (flag ``avx512_bf16``, ``amx_bf16`` or Arm's ``bf16``): elsewhere
    oneDNN emulates bfloat16, which is slower than float32.
    """
    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "this GPU has no bfloat16 support"
    if device.type != "cpu":
        return f"bfloat16 is not supported on {device.type}"
    try:
        onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        onednn = False
    native = [f for f in _NATIVE_BF16 if f in cpu_flags()]
    if onednn and native:
        return None
    return (
        "this CPU has no native bfloat16 instructions (flags avx512_bf16, amx_bf16 or bf16)"
        if not native
        else "this torch build's oneDNN has no bfloat16 support"
    )


def check_backend(spec: BackendSpec, device: torch.device) -> None:
    """Refuse a backend that ``device`` cannot run well.

    Raises:
        InputError: bf16 where it is not native (:func:`bf16_support`), fp16 on a CPU,
            or onnx on a device other than cpu / cuda.
    """
    if spec.autocast == "bf16":
        why = bf16_support(device)
        if why:
            raise InputError(f"backend {spec.name}: {why}; use {spec.name.replace('-bf16', '')}")
    if spec.autocast == "fp16" and device.type != "cuda":
        raise InputError(f"backend {spec.name} needs a CUDA device; on a CPU use torch or bf16")
    if spec.engine == "onnx" and device.type not in ("cpu", "cuda"):
        raise InputError(f"backend onnx runs on cpu or cuda, not {device.type}")


class Runner(Protocol):
    """Network input(s) (B, C, H, W) float32 -> output float32, on :attr:`device`."""

    spec: BackendSpec
    device: torch.device

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor: ...


class TorchRunner:
    """A PyTorch module run as :attr:`spec` says (channels-last, autocast, compile).

    Args:
        model: the network; moved to ``device``, put in eval mode and (channels-last)
            converted in place.
        spec: a torch backend.
        device: where it runs.
    """

    def __init__(self, model: nn.Module, spec: BackendSpec, device: torch.device) -> None:
        if spec.engine != "torch":
            raise ValueError(f"TorchRunner runs torch backends, not {spec.name}")
        check_backend(spec, device)
        self.spec, self.device = spec, device
        model = model.to(device).eval()
        if spec.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.module = model
        self._call: Any = model
        if spec.compile:
            # freezing: parameters become constants of the graph (inference only, no_grad);
            # one graph per input shape (a new batch or size compiles again)
            self._call = torch.compile(model, dynamic=False, options={"freezing": True})
        self._dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(spec.autocast or "")

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self._dtype)

    @torch.no_grad()
    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        xs = [x.to(self.device, dtype=torch.float32) for x in inputs]
        if self.spec.channels_last:
            xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
        with self._autocast():
            y = self._call(*xs)
        return y.float().contiguous()


def require_onnx(*modules: str) -> list[Any]:
    """Import the optional ONNX packages ``modules`` (``onnx``, ``onnxruntime``,
    ``onnxscript``) and return them.

    Raises:
        InputError: one is not installed (the message says how to install the extra).
    """
    import importlib

    out = []
    for name in modules:
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            raise InputError(f"ONNX export and inference need {name}: {ONNX_EXTRA}") from None
    return out


def onnx_providers(device: torch.device) -> list[str]:
    """The ONNX Runtime execution providers for ``device``.

    Raises:
        InputError: CUDA asked for but this onnxruntime has no CUDA provider.
    """
    (ort,) = require_onnx("onnxruntime")
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise InputError(
                "backend onnx on cuda needs onnxruntime-gpu (this onnxruntime has no CUDA "
                "provider); use --device cpu or a torch backend"
            )
        index = device.index or 0
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]  # type: ignore[list-item]
    return ["CPUExecutionProvider"]


class OnnxRunner:
    """An ONNX Runtime session on an exported file.

    Args:
        path: the ``.onnx`` file.
        device: cpu, or cuda where onnxruntime has its CUDA provider.
        threads: intra-op threads (default: ``torch.get_num_threads()``, so that both
            engines use the same number of cores).

    Raises:
        InputError: onnxruntime missing, or a file it cannot load.
    """

    spec = BackendSpec(engine="onnx")

    def __init__(self, path: str | Path, device: torch.device, *, threads: int | None = None):
        (ort,) = require_onnx("onnxruntime")
        check_backend(self.spec, device)
        self.device, self.path = device, Path(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no shape-inference chatter on stderr
        try:
            self.session = ort.InferenceSession(
                os.fspath(path), options, providers=onnx_providers(device)
            )
        except InputError:
            raise
        except Exception as e:  # onnxruntime raises its own exception types
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise InputError(f"{path}: onnxruntime cannot load it ({first})") from None
        self.input_names = [i.name for i in self.session.get_inputs()]

    def metadata(self) -> dict[str, str]:
        """The file's metadata (``metadata_props``), key -> value."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) != len(self.input_names):
            raise InputError(
                f"{self.path} takes {len(self.input_names)} input(s), got {len(inputs)}"
            )
        feeds = {
            name: x.detach().to("cpu", torch.float32).contiguous().numpy()
            for name, x in zip(self.input_names, inputs, strict=True)
        }
        (y, *_) = self.session.run(None, feeds)
        return torch.from_numpy(y).to(self.device)


def make_runner(
    spec: BackendSpec | str,
    device: torch.device,
    *,
    model: nn.Module | None = None,
    onnx_path: str | Path | None = None,
    threads: int | None = None,
) -> Runner:
    """The runner of ``spec``: a :class:`TorchRunner` on ``model`` or an
    :class:`OnnxRunner` on ``onnx_path``.

    Raises:
        InputError: an unknown backend, one ``device`` cannot run, or missing packages.
    """
    spec = parse_backend(spec)
    if spec.engine == "onnx":
        if onnx_path is None:
            raise ValueError("the onnx backend needs onnx_path (export the model first)")
        return OnnxRunner(onnx_path, device, threads=threads)
    if model is None:
        raise InputError(f"backend {spec.name} needs the PyTorch model; an .onnx file runs on onnx")
    return TorchRunner(model, spec, device)
