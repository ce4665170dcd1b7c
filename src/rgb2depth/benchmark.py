"""Speed of the networks: inference per backend and batch, and training per method.

What ``rgb2depth benchmark`` runs and writes (``docs/benchmarks.md``)::

    from rgb2depth.benchmark import BenchmarkSettings, run_benchmark, render_markdown
    result = run_benchmark(BenchmarkSettings(models=("light_unet",), backends=("torch", "onnx")))
    print(render_markdown(result))

**Inference** (:func:`benchmark_inference`): each network (a registered name, built
with its default settings and random weights, or a bundled model / model folder) at
each size, backend (:mod:`rgb2depth.inference.backends`) and batch runs ``warmup``
untimed calls (a compiled backend compiles in them), then ``repeats`` timed calls on
one random input in [-1, 1]; each call is timed alone (on CUDA between two
synchronisations) and the **median** is reported: ms per batch, ms per image (that /
batch) and images per second. Parameters and GFLOPs (:func:`rgb2depth.models.gflops`:
one multiply-add = 2 FLOPs, convolutions and matrix products only) are per image.
Each backend's output is compared with PyTorch float32 on the same input (max abs
difference in the network's output units, the model range [-1, 1] for a depth network).

**Training** (:func:`benchmark_training`): each method is built as ``rgb2depth train``
builds it (the config schema's defaults, :func:`~rgb2depth.engine.run.resolve_config`,
the registry, :func:`~rgb2depth.methods.build_method`, the
:class:`~rgb2depth.engine.trainer.Trainer` with its optimisers and its training step)
and runs on one random batch in memory (no data loading): ``warmup`` untimed steps,
one step whose FLOPs are counted (:func:`count_flops`), then ``steps`` timed steps
(median). One training step runs every optimisation step of the method (a WGAN's
``n_critic`` critic updates and one generator update), each drawing a batch; images/s
counts the images drawn. The FLOPs of a training step are **counted**, forward and
backward of every optimisation step (a gradient penalty's double backward included),
with the formulas of ``torch.utils.flop_counter`` (2 FLOPs per multiply-add,
convolutions and matrix products only): a convolution's backward costs about twice its
forward, so this is the usual "training ≈ 3x forward" rule, measured rather than
assumed. Effective GFLOP/s = counted GFLOP per step / median seconds per step.
"""

from __future__ import annotations

import copy
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from tqdm.auto import tqdm

from rgb2depth.errors import InputError

__all__ = [
    "TRAIN_SETUPS",
    "BenchmarkResult",
    "BenchmarkSettings",
    "InferenceRow",
    "TrainRow",
    "TrainSetup",
    "benchmark_command",
    "benchmark_inference",
    "benchmark_training",
    "describe_machine",
    "render_markdown",
    "run_benchmark",
    "write_markdown",
]


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class TrainSetup:
    """How one method is trained in the benchmark.

    Attributes:
        method: the method's registered name.
        model: the deployed network's registered name, and ``model_kwargs`` its settings.
        options: the method's options (the ``method`` section of a config).
        grayscale: gray input (1 channel), as seed 001.
        size: a fixed (H, W); None: the benchmark's training size, raised to the
            smallest the model takes and rounded up to its stride.
        size_option: a method option (``"a.b"`` for a nested key) set to [H, W] (a
            network built for one size, such as the cGAN's discriminator).
    """

    method: str
    model: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    grayscale: bool = False
    size: tuple[int, int] | None = None
    size_option: str | None = None

    @classmethod
    def example(cls, method: str) -> TrainSetup:
        """The method's own tiny example (``Method.example``, what its tests train)."""
        from rgb2depth.methods import METHODS

        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; known: {', '.join(sorted(METHODS))}")
        ex = METHODS[method].example
        model = ex.get("model", {})
        size = ex.get("size")
        return cls(
            method=method,
            model=str(model.get("name", "light_unet")),
            model_kwargs=dict(model.get("kwargs", {})),
            options=copy.deepcopy(ex.get("method", {})),
            grayscale=bool(ex.get("grayscale", False)),
            size=(int(size[0]), int(size[1])) if size else (32, 32),
        )


TRAIN_SETUPS: dict[str, TrainSetup] = {
    # seed 004: the light U-Net and its loss
    "supervised": TrainSetup("supervised", "light_unet", options={"loss": "light_unet"}),
    # seed 002: pix2pix U-Net (256x256 and up) + 70x70 PatchGAN
    "pix2pix": TrainSetup("pix2pix", "pix2pix_unet"),
    # seed 001: gray faces, generator + discriminator built for the training size
    "cgan": TrainSetup(
        "cgan",
        "face_cgan_generator",
        grayscale=True,
        size_option="discriminator_kwargs.image_size",
    ),
    # seed 000: ResNet-18 generators and DCGAN critics (n_critic 24), and its baseline
    "unsupervised": TrainSetup("unsupervised", "resnet18_generator"),
    "cycle": TrainSetup("cycle", "resnet18_generator"),
}
"""The methods ``--train`` measures, each with the paper's networks at their default
(paper) settings and the method's default options."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`run_benchmark` measures (the options of ``rgb2depth benchmark``).

    Attributes:
        models: registered network names, bundled model names or model folders.
        backends: backend names (:func:`~rgb2depth.inference.backends.parse_backend`).
        sizes: input sizes (H, W).
        batches: batch sizes.
        repeats: timed calls per measurement (the median is reported).
        warmup: untimed calls before them.
        threads: torch's (and ONNX Runtime's) threads; None: torch's current number.
        device: cpu | cuda | cuda:N | auto.
        train: also measure training (:data:`TRAIN_SETUPS`).
        methods: the methods to train.
        train_size: the training size (None: the first of ``sizes``).
        train_batch: the training batch.
        train_steps: timed training steps (after ``min(warmup, 2)`` untimed ones).
        note: a line for the page (e.g. that the machine was shared).
        out: where the page goes (only recorded in the command line).
    """

    models: tuple[str, ...] = ("light_unet",)
    backends: tuple[str, ...] = ("torch",)
    sizes: tuple[tuple[int, int], ...] = ((256, 256),)
    batches: tuple[int, ...] = (1, 8)
    repeats: int = 10
    warmup: int = 3
    threads: int | None = None
    device: str = "cpu"
    train: bool = False
    methods: tuple[str, ...] = tuple(TRAIN_SETUPS)
    train_size: tuple[int, int] | None = None
    train_batch: int = 8
    train_steps: int = 3
    note: str = ""
    out: str | None = None

    def check(self) -> BenchmarkSettings:
        """Self, checked (names parsed, numbers in range).

        Raises:
            InputError: an empty list, an unknown backend or method, a number out of range.
        """
        from rgb2depth.inference.backends import parse_backend

        for what, count in (
            ("models", len(self.models)),
            ("backends", len(self.backends)),
            ("sizes", len(self.sizes)),
            ("batch", len(self.batches)),
        ):
            if not count:
                raise InputError(f"--{what} needs at least one value")
        backends = tuple(dict.fromkeys(parse_backend(b).name for b in self.backends))
        for name, value, lo in (
            ("--repeats", self.repeats, 1),
            ("--warmup", self.warmup, 0),
            ("--train-batch", self.train_batch, 1),
            ("--train-steps", self.train_steps, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise InputError(f"{name} must be an integer >= {lo}, got {value!r}")
        for b in self.batches:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise InputError(f"--batch values must be integers >= 1, got {b!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise InputError(f"--threads must be an integer >= 1, got {self.threads!r}")
        unknown = [m for m in self.methods if m not in TRAIN_SETUPS]
        if self.train and unknown:
            raise InputError(
                f"unknown method {unknown[0]!r} for --train; known: {', '.join(TRAIN_SETUPS)}"
            )
        return replace(self, backends=backends)


def _size_text(size: tuple[int, int]) -> str:
    h, w = size
    return str(h) if h == w else f"{w}x{h}"


def benchmark_command(settings: BenchmarkSettings) -> str:
    """The ``rgb2depth benchmark`` command line that measures ``settings``."""
    s = settings
    parts = [
        "rgb2depth benchmark",
        f"--models {','.join(s.models)}",
        f"--backends {','.join(s.backends)}",
        f"--sizes {','.join(_size_text(z) for z in s.sizes)}",
        f"--batch {','.join(str(b) for b in s.batches)}",
        f"--repeats {s.repeats}",
        f"--warmup {s.warmup}",
    ]
    if s.threads is not None:
        parts.append(f"--threads {s.threads}")
    if s.device != "cpu":
        parts.append(f"--device {s.device}")
    if s.train:
        parts.append("--train")
        if tuple(s.methods) != tuple(TRAIN_SETUPS):
            parts.append(f"--methods {','.join(s.methods)}")
        if s.train_size is not None:
            parts.append(f"--train-size {_size_text(s.train_size)}")
        parts.append(f"--train-batch {s.train_batch} --train-steps {s.train_steps}")
    if s.note:
        parts.append(f"--note {_quote(s.note)}")
    if s.out:
        parts.append(f"--out {s.out}")
    return " ".join(parts)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


# --------------------------------------------------------------------------- machine
def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _physical_cores() -> int | None:
    """Physical cores (distinct (package, core) pairs of /proc/cpuinfo), or None."""
    try:
        pairs, package = set(), "0"
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "physical id":
                    package = value.strip()
                elif key == "core id":
                    pairs.add((package, value.strip()))
        return len(pairs) or None
    except OSError:
        return None


def _version(module: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe_machine(device: torch.device, threads: int) -> dict[str, str]:
    """What the numbers were measured on, as (label -> text) for the page."""
    from rgb2depth.inference.backends import bf16_support, cpu_flags

    logical = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = logical
    physical = _physical_cores()
    cores = f"{logical} logical CPU(s)" + (f", {physical} physical core(s)" if physical else "")
    if usable != logical:
        cores += f", {usable} usable by this process"
    isa = torch.backends.cpu.get_cpu_capability()
    bf16 = [f for f in ("avx512_bf16", "amx_bf16", "bf16") if f in cpu_flags()]
    cpu_bf16 = "native bfloat16 (" + ", ".join(bf16) + ")" if bf16 else "no native bfloat16"
    info = {
        "CPU": f"{_cpu_name()} ({platform.machine()}; {isa}; {cpu_bf16})",
        "cores": cores,
        "threads used": f"{threads} (torch.set_num_threads; ONNX Runtime intra-op the same)",
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "torch": torch.__version__,
        "onnxruntime": _version("onnxruntime") or "not installed",
        "onnx": _version("onnx") or "not installed",
    }
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        why = bf16_support(device)
        info["device"] = (
            f"{device} ({name}; CUDA {torch.version.cuda}; bf16 {'no' if why else 'yes'})"
        )
    else:
        info["device"] = "cpu"
    try:
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        info["load average at start"] = f"{load} (1, 5, 15 min)"
    except OSError:
        pass
    return info


# --------------------------------------------------------------------------- inference
@dataclass
class InferenceRow:
    """One inference measurement (times in milliseconds, median of the repeats)."""

    model: str
    backend: str
    size: tuple[int, int]
    batch: int
    parameters: int
    gflops: float
    ms_per_batch: float
    ms_per_image: float
    fps: float
    iqr_ms_per_image: float
    max_abs_diff: float | None
    repeats: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(
    fn: Callable[[], Any], *, warmup: int, repeats: int, device: torch.device
) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones
    (on CUDA, synchronised before and after each timed call)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


@dataclass
class _Network:
    label: str
    module: nn.Module
    inputs: int
    fixed: bool  # built for one input size (rebuilt per size)
    registry_name: str | None


def _load_network(name: str, size: tuple[int, int]) -> _Network:
    """A registered network (default settings; a fixed-size one built for ``size``) or a
    saved model (bundled name or folder)."""
    from rgb2depth.inference.predictor import find_model_folder
    from rgb2depth.models import create_model, get_entry, list_models, load_model_folder

    if name in list_models():
        entry = get_entry(name)
        torch.manual_seed(0)
        kwargs = {"image_size": size} if entry.fixed_size else {}
        return _Network(
            name, create_model(name, **kwargs).eval(), entry.inputs, entry.fixed_size, name
        )
    try:
        folder = find_model_folder(name)
    except InputError:
        raise InputError(
            f"unknown model {name!r}: not a registered network ({', '.join(list_models())}), "
            "a bundled model or a model folder"
        ) from None
    model, config = load_model_folder(folder)
    reg = str(config["model"]["name"])
    entry = get_entry(reg)
    return _Network(f"{name} ({reg})", model.eval(), entry.inputs, entry.fixed_size, reg)


def _check_size(net: _Network, size: tuple[int, int]) -> None:
    from rgb2depth.models.registry import check_network_size

    try:
        check_network_size(net.module, *size)
    except InputError as e:
        raise InputError(f"--sizes {_size_text(size)}: {e}") from None


def benchmark_inference(
    settings: BenchmarkSettings,
    device: torch.device,
    *,
    progress: bool = False,
    on_row: Callable[[InferenceRow], None] | None = None,
) -> list[InferenceRow]:
    """Time every (model, size, backend, batch) of ``settings`` (see the module docstring).

    Every model, size and backend is checked before anything is timed.

    Raises:
        InputError: an unknown model or backend, a size a network does not take, a
            backend this machine cannot run, the ONNX packages missing for ``onnx``.
    """
    from rgb2depth.inference.backends import (
        check_backend,
        make_runner,
        parse_backend,
        require_onnx,
    )
    from rgb2depth.inference.export import export_network
    from rgb2depth.models import count_parameters, gflops

    specs = [parse_backend(b) for b in settings.backends]
    for spec in specs:
        check_backend(spec, device)
    if any(s.engine == "onnx" for s in specs):
        require_onnx("onnx", "onnxscript", "onnxruntime")
    first = {name: _load_network(name, settings.sizes[0]) for name in settings.models}
    for net in first.values():
        for size in settings.sizes:
            if not net.fixed:
                _check_size(net, size)

    rows: list[InferenceRow] = []
    total = len(settings.models) * len(settings.sizes) * len(specs) * len(settings.batches)
    bar = tqdm(total=total, desc="inference", unit="run", disable=not progress)
    with tempfile.TemporaryDirectory(prefix="rgb2depth-bench-") as tmp:
        for name in settings.models:
            exported: dict[Any, Path] = {}
            for size in settings.sizes:
                net = first[name] if not first[name].fixed else _load_network(name, size)
                h, w = size
                cpu_model = net.module.to("cpu").float().eval()
                params = count_parameters(cpu_model)
                cost = gflops(cpu_model, h, w, inputs=net.inputs)
                in_ch = int(cast(int, cpu_model.in_channels))
                for spec in specs:
                    onnx_path = None
                    if spec.engine == "onnx":
                        key = size if net.fixed else None
                        if key not in exported:
                            path = Path(tmp) / f"{len(exported)}-{net.registry_name}.onnx"
                            export_network(
                                cpu_model,
                                path,
                                size=size,
                                inputs=net.inputs,
                                dynamic_size=not net.fixed,
                            )
                            exported[key] = path
                        onnx_path = exported[key]
                    module = copy.deepcopy(cpu_model) if spec.engine == "torch" else None
                    runner = make_runner(
                        spec,
                        device,
                        model=module,
                        onnx_path=onnx_path,
                        threads=torch.get_num_threads(),
                    )
                    for batch in settings.batches:
                        gen = torch.Generator().manual_seed(0)
                        xs = [
                            (torch.rand(batch, in_ch, h, w, generator=gen) * 2 - 1).to(device)
                            for _ in range(net.inputs)
                        ]
                        with torch.no_grad():
                            reference = cpu_model(*[x.cpu() for x in xs]).float()
                        out = runner(*xs).float().cpu()
                        diff = float((out - reference).abs().max())

                        def call(r: Any = runner, a: list[torch.Tensor] = xs) -> Any:
                            return r(*a)

                        times = time_calls(
                            call,
                            warmup=settings.warmup,
                            repeats=settings.repeats,
                            device=device,
                        )
                        med = statistics.median(times)
                        q = statistics.quantiles(times, n=4) if len(times) > 1 else [med] * 3
                        row = InferenceRow(
                            model=net.label,
                            backend=spec.name,
                            size=size,
                            batch=batch,
                            parameters=params,
                            gflops=cost,
                            ms_per_batch=med * 1000,
                            ms_per_image=med * 1000 / batch,
                            fps=batch / med,
                            iqr_ms_per_image=(q[2] - q[0]) * 1000 / batch,
                            max_abs_diff=diff,
                            repeats=settings.repeats,
                        )
                        rows.append(row)
                        if on_row is not None:
                            on_row(row)
                        bar.update(1)
                    del runner, module
    bar.close()
    return rows


# --------------------------------------------------------------------------- training
@dataclass
class TrainRow:
    """One training measurement (median of the timed steps)."""

    method: str
    networks: str
    size: tuple[int, int]
    batch: int
    parameters: int
    optimisation_steps: str
    ms_per_step: float
    steps_per_s: float
    images_per_s: float
    gflop_per_step: float
    gflops_per_s: float
    steps: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _set_option(options: dict[str, Any], dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    node = options
    for key in path:
        node = node.setdefault(key, {})
    node[last] = value


def _train_size(setup: TrainSetup, size: tuple[int, int]) -> tuple[int, int]:
    from rgb2depth.models import get_entry

    if setup.size is not None:
        return setup.size
    entry = get_entry(setup.model)
    least, stride = entry.smallest_size(), entry.stride

    def fit(v: int) -> int:
        return max(least, -(-v // stride) * stride)

    return fit(size[0]), fit(size[1])


class _Samples(torch.utils.data.Dataset):
    """``n`` placeholder samples (the Trainer wants a non-empty dataset; the benchmark
    feeds its own batches)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        raise RuntimeError("the benchmark feeds its own batches")


def _random_batch(batch: int, channels: int, size: tuple[int, int]) -> dict[str, Any]:
    """A batch of the data contract (:mod:`rgb2depth.data.contract`) in the model range."""
    gen = torch.Generator().manual_seed(0)
    h, w = size
    rgb = torch.rand(batch, channels, h, w, generator=gen) * 2 - 1
    depth = torch.rand(batch, 1, h, w, generator=gen) * 2 - 1
    names = [f"sample{i}" for i in range(batch)]
    return {
        "rgb": rgb,
        "depth": depth,
        "mask": torch.ones(batch, 1, h, w, dtype=torch.bool),
        "name": names,
        "rgb_name": names,
        "depth_name": names,
    }


def build_training(
    setup: TrainSetup, size: tuple[int, int], batch: int, device: str, run_dir: Path
) -> Any:
    """The :class:`~rgb2depth.engine.trainer.Trainer` of ``setup``, built as
    ``rgb2depth train`` builds it (config defaults, resolved config, registry, method)."""
    from rgb2depth.config import SCHEMA
    from rgb2depth.engine.run import check_image_to_depth, resolve_config
    from rgb2depth.engine.settings import TrainSettings
    from rgb2depth.engine.trainer import Trainer
    from rgb2depth.methods import MethodContext, build_method
    from rgb2depth.models import create_model

    h, w = size
    config: dict[str, Any] = copy.deepcopy(SCHEMA)
    config["data"].update(size=[h, w], grayscale=setup.grayscale)
    config["model"].update(name=setup.model, kwargs=copy.deepcopy(setup.model_kwargs))
    options = copy.deepcopy(setup.options)
    if setup.size_option:
        _set_option(options, setup.size_option, [h, w])
    config["method"] = {"name": setup.method, **options}
    config["train"].update(batch_size=batch, device=device)
    config = resolve_config(config)
    kwargs = config["model"]["kwargs"]
    check_image_to_depth(setup.model, kwargs, (h, w))
    torch.manual_seed(0)
    model = create_model(setup.model, **kwargs)
    channels = 1 if setup.grayscale else 3
    context = MethodContext(in_channels=channels, depth_units="m", depth_range=(0.5, 10.0))
    method = build_method(config["method"], model, context)
    method.check_size(h, w)
    settings = TrainSettings.from_config(config, progress=False, workers=0)
    return Trainer(method, _Samples(batch), run_dir, settings=settings, tensorboard=False)


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of everything ``fn`` runs, backward passes included, with the formulas of
    ``torch.utils.flop_counter`` (2 per multiply-add; convolutions and matrix products).

    ``FlopCounterMode`` itself cannot be used here: its module tracker fails inside
    ``torch.autograd.grad`` (a gradient penalty), so this counts the operators alone.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                self.total += int(formula(*args, **kwargs, out_val=out))
            return out

    counter = Count()
    with counter:
        fn()
    return counter.total


def _registry_name(net: nn.Module) -> str:
    from rgb2depth.models import get_entry, list_models

    for name in list_models():
        if type(net) is get_entry(name).builder:
            return name
    return type(net).__name__


def benchmark_training(
    settings: BenchmarkSettings,
    device: torch.device,
    *,
    setups: Sequence[TrainSetup] | None = None,
    progress: bool = False,
) -> list[TrainRow]:
    """Time a few training steps of each method (see the module docstring).

    Args:
        settings: the methods, training size, batch, steps and warm-up.
        device: where to train (CUDA: the trainer's ``amp: auto``, bf16 or fp16).
        setups: what to train (default: ``TRAIN_SETUPS`` of ``settings.methods``).
        progress: a progress bar.

    Raises:
        InputError: a method or size its networks refuse.
    """
    from rgb2depth.models import count_parameters

    chosen = list(setups) if setups is not None else [TRAIN_SETUPS[m] for m in settings.methods]
    size = settings.train_size or settings.sizes[0]
    rows = []
    for setup in tqdm(chosen, desc="training", unit="method", disable=not progress):
        tsize = _train_size(setup, size)
        with tempfile.TemporaryDirectory(prefix="rgb2depth-bench-train-") as tmp:
            trainer = build_training(setup, tsize, settings.train_batch, str(device), Path(tmp))
            method = trainer.method
            channels = 1 if setup.grayscale else 3
            batch = {
                k: v.to(device) if isinstance(v, torch.Tensor) else v
                for k, v in _random_batch(settings.train_batch, channels, tsize).items()
            }

            def data(b: dict[str, Any] = batch) -> Iterator[dict[str, Any]]:
                while True:
                    yield b

            it = data()
            for _ in range(min(settings.warmup, 2)):
                trainer._train_step(it)

            def one_step(t: Any = trainer, i: Iterator[dict[str, Any]] = it) -> None:
                t._train_step(i)

            gflop = count_flops(one_step) / 1e9
            times, drawn = [], []
            for _ in range(settings.train_steps):
                before = trainer.batches
                _sync(device)
                t0 = time.perf_counter()
                trainer._train_step(it)
                _sync(device)
                times.append(time.perf_counter() - t0)
                drawn.append(trainer.batches - before)
            med = statistics.median(times)
            images = statistics.median(drawn) * settings.train_batch
            nets = method.networks()
            steps = " + ".join(
                f"{s.repeats} x {s.name}" if s.repeats > 1 else s.name for s in trainer.optim_steps
            )
            rows.append(
                TrainRow(
                    method=setup.method,
                    networks=", ".join(f"{_registry_name(n)}" for n in nets.values()),
                    size=tsize,
                    batch=settings.train_batch,
                    parameters=sum(count_parameters(n) for n in nets.values()),
                    optimisation_steps=steps,
                    ms_per_step=med * 1000,
                    steps_per_s=1 / med,
                    images_per_s=images / med,
                    gflop_per_step=gflop,
                    gflops_per_s=gflop / med,
                    steps=settings.train_steps,
                )
            )
    return rows


# --------------------------------------------------------------------------- report
@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` measured."""

    settings: BenchmarkSettings
    machine: dict[str, str]
    inference: list[InferenceRow]
    training: list[TrainRow]
    seconds: float


def run_benchmark(settings: BenchmarkSettings, *, progress: bool = False) -> BenchmarkResult:
    """Measure what ``settings`` asks for (threads set for the run, then restored).

    Raises:
        InputError: bad settings (checked before anything is timed).
    """
    from rgb2depth.devices import resolve_device

    settings = settings.check()
    device = resolve_device(settings.device)
    before = torch.get_num_threads()
    threads = settings.threads or before
    t0 = time.perf_counter()
    try:
        torch.set_num_threads(threads)
        machine = describe_machine(device, threads)
        inference = benchmark_inference(settings, device, progress=progress)
        training = benchmark_training(settings, device, progress=progress) if settings.train else []
    finally:
        torch.set_num_threads(before)
    return BenchmarkResult(settings, machine, inference, training, time.perf_counter() - t0)


def _fmt(value: float, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:,.{digits}f}"


def _diff(value: float | None) -> str:
    if value is None:
        return "-"
    return "0" if value == 0 else f"{value:.1e}"


INFERENCE_COLUMNS = (
    "model",
    "backend",
    "size",
    "batch",
    "parameters",
    "GFLOPs / image",
    "ms / batch",
    "ms / image",
    "IQR ms / image",
    "images / s",
    "max abs diff vs torch",
)
"""The columns of the inference table (in order)."""

TRAINING_COLUMNS = (
    "method",
    "networks",
    "size",
    "batch",
    "parameters",
    "optimisation steps",
    "ms / step",
    "images / s",
    "GFLOP / step",
    "GFLOP/s",
)
"""The columns of the training table (in order)."""


def _table(columns: Sequence[str], rows: list[list[str]], right_from: int) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(columns))]
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render_markdown(result: BenchmarkResult) -> str:
    """The page ``rgb2depth benchmark --out`` writes: the command that regenerates it,
    the machine, the tables and how they were measured."""
    s = result.settings
    lines = [
        "# Benchmarks",
        "",
        "Regenerate this page with one command (from the repository root):",
        "",
        "```sh",
        benchmark_command(s),
        "```",
        "",
    ]
    if s.note:
        lines += [f"> {s.note}", ""]
    lines += ["## Machine", ""]
    lines += [f"- **{k}**: {v}" for k, v in result.machine.items()]
    lines += [f"- **benchmark time**: {result.seconds:.0f} s", ""]
    lines += ["## Inference", ""]
    body = [
        [
            r.model,
            r.backend,
            _size_text(r.size),
            str(r.batch),
            f"{r.parameters:,}",
            _fmt(r.gflops, 2),
            _fmt(r.ms_per_batch),
            _fmt(r.ms_per_image),
            _fmt(r.iqr_ms_per_image),
            _fmt(r.fps),
            _diff(r.max_abs_diff),
        ]
        for r in result.inference
    ]
    lines += _table(INFERENCE_COLUMNS, body, 2)
    lines += [
        "",
        f"Each row: {s.warmup} untimed warm-up call(s), then {s.repeats} timed calls on one "
        "random input in [-1, 1]; the **median** is reported (ms / image = ms / batch / "
        "batch, images / s = batch / median seconds), IQR = interquartile range of the "
        "per-image times. Networks have their registered default settings and random "
        "weights (speed does not depend on the weights). GFLOPs per image count 2 FLOPs "
        "per multiply-add, convolutions and matrix products only. The last column is the "
        "largest absolute difference of the backend's output from PyTorch float32 on the "
        "same input (model range [-1, 1] for a depth network). Backends: "
        "torch = PyTorch eager float32; -cl = channels-last memory format; -bf16 / -fp16 "
        "= autocast to bfloat16 / float16; -compile = torch.compile with freezing (it "
        "compiles during the warm-up); onnx = the network exported to ONNX (opset 18, "
        "rgb2depth.inference.export) run by ONNX Runtime's CPU provider with the same "
        "number of threads.",
        "",
    ]
    by_key = {(r.model, r.size, r.batch, r.backend): r for r in result.inference}
    notes = []
    for r in result.inference:
        base = by_key.get((r.model, r.size, r.batch, "torch"))
        if base is not None and r.backend != "torch" and r.ms_per_image > 0:
            notes.append(
                f"{r.model} at {_size_text(r.size)}, batch {r.batch}: {r.backend} "
                f"{base.ms_per_image / r.ms_per_image:.2f}x the speed of torch"
            )
    if notes:
        lines += ["Relative to torch eager (median ms / image):", ""]
        lines += [f"- {n}" for n in notes]
        lines += [""]
    if result.training:
        lines += ["## Training", ""]
        body = [
            [
                r.method,
                r.networks,
                _size_text(r.size),
                str(r.batch),
                f"{r.parameters:,}",
                r.optimisation_steps,
                _fmt(r.ms_per_step),
                _fmt(r.images_per_s),
                _fmt(r.gflop_per_step),
                _fmt(r.gflops_per_s),
            ]
            for r in result.training
        ]
        lines += _table(TRAINING_COLUMNS, body, 3)
        amp = "the trainer's amp auto (bf16 or fp16)" if s.device != "cpu" else "float32"
        lines += [
            "",
            "Each method is built as `rgb2depth train` builds it (the config defaults, the "
            "method's default options, the paper's networks at their default settings) "
            f"and trained in {amp} on one random batch kept in memory (data loading not "
            f"included): {min(s.warmup, 2)} untimed step(s), one counted step, then "
            f"{s.train_steps} timed steps (median). A training step runs every "
            "optimisation step of the method, each on its own batch; images / s counts "
            "the images drawn. **FLOPs rule**: GFLOP / step is counted with the formulas of "
            "torch.utils.flop_counter over the forward and backward passes of the whole step "
            "(2 FLOPs per multiply-add, convolutions and matrix products, a gradient "
            "penalty's double backward included); a convolution's backward costs about "
            "twice its forward, so this is the usual training = 3x forward rule, counted "
            "rather than assumed. GFLOP/s = GFLOP / step / median seconds per step.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a folder or unwritable place is an InputError)."""
    from rgb2depth.data.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
