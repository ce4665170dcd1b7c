"""One prepared check of the CUDA paths and of GPU speed, for a session lent a GPU machine.

    python3 benchmarks/device_check.py --out "$OUT"          # on the GPU machine
    python benchmarks/device_check.py --device cpu --quick   # the plumbing, on any machine

A session lent a GPU has about 15 minutes of device time, all tries together: this
script does, in one call, what the CPU machines cannot, and writes what it saw into
``--out`` (``device-check.md``, the summary, rewritten after every line so that a run
stopped at the call's limit still returns what it did; ``benchmarks-cuda.md``, the
speed page; ``log.txt``, every command's output). It has not yet run on a GPU: its
length there is estimated at 5 to 10 minutes; each section prints its time, and
``--skip`` splits it over two calls (``--skip 5,6``, then ``--skip 1,2,3,4``) if one
call's 600 s are not enough. Each section runs even when an earlier one failed, and
says so in the summary:

1. **machine**: the GPU, torch and its CUDA, the driver (``nvidia-smi``).
2. **tests that need CUDA** (``pytest -k cuda`` on the files that hold them; CI never
   runs them, it has no GPU).
3. **every training method** for 20 steps of its example run (the tiny networks and
   sizes of ``rgb2depth.methods.METHODS[...].example``, on 32x32 synthetic faces) with
   ``train.amp`` off, bf16 and fp16: the run finishes and its losses are finite.
4. **face mode on the device**: ``rgb2depth predict`` of the astronaut with ``faces``
   and ``faces-light`` on the device and on the CPU, float32: the largest difference
   of the depth maps, in mm.
5. **speed**: ``rgb2depth benchmark`` on the device (the light U-Net and
   ``fast_unet``; backends torch, channels-last, bf16, fp16, their combinations and
   torch.compile; batch 1, 8 and 64 at 256x256) and training throughput per method,
   written to ``benchmarks-cuda.md`` (copy it to ``docs/`` when it is right).
6. **keeping the GPU busy**: ``configs/faces-light.yaml`` (generated faces at 64x64)
   trained on the device with bf16 autocast, with ``data.workers`` 0 and 8: steps/s
   from the run's ``log.csv`` and the GPU's utilisation sampled by ``nvidia-smi``
   every 100 ms during the run (median and the share of samples above 80 %).

What the GPU machine lacks (its image has torch, numpy, scipy, pillow, scikit-image,
opencv-python-headless, safetensors, tqdm, pyyaml, tensorboard, matplotlib, tifffile,
onnx, onnxscript, onnxruntime) travels as wheels, 8 MB: once, here, in the
repository's root (checked 2026-12-07: kornia 0.9.2, kornia_rs 0.2.0, trimesh 5.2.0)::

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_17_x86_64 \\
        --platform manylinux2014_x86_64 -d .whl kornia kornia_rs trimesh

then the device command (``carry: [".whl"]``)::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl \\
        && PYTHONPATH=/tmp/site python3 benchmarks/device_check.py --out "$OUT"

The package itself runs from ``src/`` (this script puts it on ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rgb2depth.methods import METHODS, example_sections  # noqa: E402

# the tests that skip without CUDA, by file (pytest -k cuda selects them)
CUDA_TEST_FILES = ("tests/test_benchmark.py", "tests/test_metrics.py", "tests/test_psi.py")


class Check:
    """The summary: one Markdown section per part, and every command's output in a log."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.lines: list[str] = []
        self.log = (out / "log.txt").open("w", encoding="utf-8")
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "PYTHONUNBUFFERED": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
        }

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)
        self.write()

    def write(self) -> None:
        tmp = self.out / "device-check.md.tmp"
        tmp.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        tmp.replace(self.out / "device-check.md")

    def run(self, cmd: list[str], *, timeout: float, cwd: Path = ROOT) -> tuple[int, str, float]:
        """Run a command; (exit status, its output, seconds). 124 when it timed out."""
        self.log.write(f"\n$ {' '.join(cmd)}\n")
        self.log.flush()
        t0 = time.perf_counter()
        try:
            res = subprocess.run(
                cmd,
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            rc, text = res.returncode, res.stdout + res.stderr
        except subprocess.TimeoutExpired as e:
            out = e.stdout or b""
            rc = 124
            text = (out.decode() if isinstance(out, bytes) else out) + f"\n(timed out: {timeout} s)"
        seconds = time.perf_counter() - t0
        self.log.write(text + f"\n(exit {rc}, {seconds:.1f} s)\n")
        self.log.flush()
        return rc, text, seconds

    def section(self, title: str, body: Callable[[], None]) -> None:
        self.say(f"\n## {title}\n")
        t0 = time.perf_counter()
        try:
            body()
        except Exception as e:  # a section's failure is recorded, the next one runs
            self.say(f"**failed**: {type(e).__name__}: {e}")
        self.say(f"\n({time.perf_counter() - t0:.0f} s)")


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def rgb2depth(*args: str) -> list[str]:
    return [sys.executable, "-m", "rgb2depth", *args]


class GpuSampler:
    """``nvidia-smi``'s GPU utilisation every ``period_ms`` while it runs (empty without
    nvidia-smi)."""

    def __init__(self, period_ms: int = 100) -> None:
        self.values: list[float] = []
        self.proc: subprocess.Popen[str] | None = None
        self.thread: threading.Thread | None = None
        self.period_ms = period_ms

    def __enter__(self) -> GpuSampler:
        if shutil.which("nvidia-smi"):
            self.proc = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu",
                    "--format=csv,noheader,nounits",
                    f"-lms={self.period_ms}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.values.append(float(line.strip().split(",")[0]))
            except ValueError:
                pass

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.thread is not None:
            self.thread.join(timeout=5)

    def summary(self) -> str:
        if not self.values:
            return "no samples (no nvidia-smi)"
        busy = sum(v > 80 for v in self.values) / len(self.values)
        return (
            f"median {statistics.median(self.values):.0f} %, above 80 % in {busy:.0%} of "
            f"{len(self.values)} samples"
        )


def steps_per_s(run: Path) -> float | None:
    """The last steps/s that a run's log.csv records."""
    path = run / "log.csv"
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as f:
        rates = [float(r["value"]) for r in csv.DictReader(f) if r["name"] == "steps_per_s"]
    return rates[-1] if rates else None


def losses_finite(run: Path) -> bool:
    with (run / "log.csv").open(newline="", encoding="utf-8") as f:
        values = [float(r["value"]) for r in csv.DictReader(f) if r["phase"] == "train"]
    return bool(values) and all(np.isfinite(values))


def method_config(path: Path, name: str, root: Path, device: str, amp: str, steps: int) -> Path:
    """The method's example run (its network, options, size) on ``device``."""
    config = {
        **example_sections(name, root),
        "train": {"lr": 1.0e-3, "batch_size": 2, "device": device, "amp": amp},
        "schedule": {"steps": steps},
        "log": {"every": 1, "val_every": steps, "images": 1, "val_max_images": 2},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "outputs/device-check")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (a dry run)")
    ap.add_argument("--quick", action="store_true", help="fewer steps and sizes (dry runs)")
    ap.add_argument("--skip", default="", help="sections to skip, e.g. 2,5")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    chk = Check(a.out)
    skip = {s.strip() for s in a.skip.split(",") if s.strip()}
    work = Path(tempfile.mkdtemp(prefix="rgb2depth-device-"))
    cuda = a.device.startswith("cuda")
    steps = 4 if a.quick else 20
    chk.say(f"# Device check ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    chk.say(f"\ncommand: `python3 benchmarks/device_check.py {' '.join(argv or sys.argv[1:])}`")

    def machine() -> None:
        import torch

        chk.say(f"- python {platform.python_version()}, torch {torch.__version__}")
        chk.say(f"- CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}")
        if torch.cuda.is_available():
            p = torch.cuda.get_device_properties(0)
            chk.say(
                f"- GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs"
            )
            chk.say(f"- bf16 supported: {torch.cuda.is_bf16_supported()}")
        if shutil.which("nvidia-smi"):
            _rc, text, _ = chk.run(["nvidia-smi", "-L"], timeout=30)
            chk.say(f"- nvidia-smi: {last_line(text)}")
        chk.say(f"- CPU cores: {os.cpu_count()}")
        try:  # face mode needs OpenCV 4.x: 5.x ships no Haar cascades (section 4 fails)
            import cv2

            chk.say(f"- opencv {cv2.__version__}")
        except ImportError as e:
            chk.say(f"- opencv: not importable ({e})")

    def cuda_tests() -> None:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "-k", "cuda"]
        rc, text, _s = chk.run([*cmd, *CUDA_TEST_FILES], timeout=240)
        (a.out / "pytest.txt").write_text(text, encoding="utf-8")
        chk.say(f"`pytest -k cuda {' '.join(CUDA_TEST_FILES)}`: exit {rc}, {last_line(text)}")

    data: dict[str, Path] = {}

    def methods() -> None:
        for kind, extra in (("paired", []), ("unpaired", ["--unpaired"])):
            root = work / kind
            n = "16" if kind == "paired" else "24"
            gen = rgb2depth("generate", "faces", "--n", n, "--size", "32", "--seed", "0")
            rc, text, _ = chk.run([*gen, "--out", str(root), *extra, "--quiet"], timeout=300)
            if rc != 0:
                raise RuntimeError(f"generate {kind}: {last_line(text)}")
            data[kind] = root
        amps = ("off", "bf16", "fp16") if cuda else ("off", "bf16")
        chk.say(f"| method | {' | '.join(f'amp {m}' for m in amps)} |")
        chk.say(f"|---|{'---|' * len(amps)}")
        for name in sorted(METHODS):
            cells = []
            for amp in amps:
                run = work / "runs" / f"{name}-{amp}"
                cfg = method_config(
                    work / f"{name}-{amp}.yaml",
                    name,
                    data[METHODS[name].data],
                    a.device,
                    amp,
                    steps,
                )
                cmd = rgb2depth("train", str(cfg), f"log.out={run}", "--quiet")
                rc, text, _s = chk.run(cmd, timeout=120)
                if rc == 0 and losses_finite(run):
                    rate = steps_per_s(run)
                    cells.append(f"ok, {rate:.1f} steps/s" if rate else "ok")
                elif rc == 0:
                    cells.append("**non-finite loss**")
                else:
                    cells.append(f"**exit {rc}**: {last_line(text)}")
            chk.say(f"| {name} | {' | '.join(cells)} |")

    def face_mode() -> None:
        from PIL import Image
        from skimage import data as skdata

        photo = work / "astronaut.png"
        Image.fromarray(skdata.astronaut()).save(photo)
        for model in ("faces", "faces-light"):
            maps = {}
            for device in (a.device, "cpu"):
                out = work / f"pred-{model}-{device.replace(':', '')}"
                cmd = rgb2depth("predict", str(photo), "--model", model, "--device", device)
                rc, text, _s = chk.run([*cmd, "--out", str(out), "--npy", "--quiet"], timeout=300)
                if rc != 0:
                    raise RuntimeError(f"predict {model} on {device}: {last_line(text)}")
                maps[device] = np.load(out / "astronaut_depth.npy")
            d, c = maps[a.device], maps["cpu"]
            same = np.isfinite(d) == np.isfinite(c)
            both = np.isfinite(d) & np.isfinite(c)
            diff = float(np.max(np.abs(d[both] - c[both]))) if both.any() else float("nan")
            chk.say(
                f"- {model}: {a.device} against cpu, largest difference {diff:.4f} mm over "
                f"{int(both.sum())} pixels; valid pixels agree: {bool(same.all())}"
            )

    def speed() -> None:
        backends = "torch,torch-cl,torch-bf16,torch-cl-bf16"
        if cuda:
            backends += ",torch-fp16,torch-cl-fp16,torch-compile,torch-cl-bf16-compile"
        batch = "1,8" if a.quick else "1,8,64"
        cmd = rgb2depth(
            "benchmark",
            "--device",
            a.device,
            "--models",
            "light_unet,fast_unet",
            "--backends",
            backends,
            "--sizes",
            "64" if a.quick else "256",
            "--batch",
            batch,
            "--repeats",
            "3" if a.quick else "30",
            "--warmup",
            "1" if a.quick else "10",
            "--train",
            *(["--methods", "supervised"] if a.quick else []),
            "--train-steps",
            "2" if a.quick else "10",
            "--note",
            "benchmarks/device_check.py on a lent GPU machine",
            "--out",
            str(a.out / "benchmarks-cuda.md"),
            "--quiet",
        )
        rc, text, s = chk.run(cmd, timeout=420)
        chk.say(f"`rgb2depth benchmark` on {a.device}: exit {rc} in {s:.0f} s")
        chk.say("")
        chk.say(text.strip() if rc == 0 else f"**{last_line(text)}**")

    def busy() -> None:
        root = work / "faces-64"
        n = "200" if a.quick else "1000"
        gen = rgb2depth("generate", "faces", "--n", n, "--size", "64", "--seed", "1")
        rc, text, s = chk.run([*gen, "--out", str(root), "--quiet"], timeout=180)
        if rc != 0:
            raise RuntimeError(f"generate faces-64: {last_line(text)}")
        chk.say(f"- generated {n} faces at 64x64 in {s:.0f} s ({os.cpu_count()} cores)")
        chk.say("\n| data.workers | amp | steps | batch | steps/s | images/s | GPU utilisation |")
        chk.say("|---:|---|---:|---:|---:|---:|---|")
        n_steps = 20 if a.quick else 500
        amp = "bf16"
        for workers, batch in ((0, 8), (8, 8), (8, 64)):
            run = work / "runs" / f"busy-{workers}-{batch}"
            cmd = rgb2depth(
                "train",
                "configs/faces-light.yaml",
                f"data.root={root}",
                "data.generate=null",
                f"data.workers={workers}",
                f"train.device={a.device}",
                f"train.amp={amp}",
                f"train.batch_size={batch}",
                f"schedule.steps={n_steps}",
                "log.val_every=0",
                f"log.out={run}",
                "--quiet",
            )
            with GpuSampler() as gpu:
                rc, text, s = chk.run(cmd, timeout=180)
            if rc != 0:
                chk.say(f"| {workers} | {amp} | | {batch} | **exit {rc}** | | {last_line(text)} |")
                continue
            rate = steps_per_s(run) or float("nan")
            chk.say(
                f"| {workers} | {amp} | {n_steps} | {batch} | {rate:.1f} | {rate * batch:.0f} "
                f"| {gpu.summary()} |"
            )

    sections = [
        ("1", "Machine", machine),
        ("2", "Tests that need CUDA", cuda_tests),
        ("3", f"Every method, {steps} steps, by mixed precision", methods),
        ("4", "Face mode on the device against the CPU", face_mode),
        ("5", "Speed (rgb2depth benchmark)", speed),
        ("6", "Keeping the GPU busy (faces-light training)", busy),
    ]
    for key, title, body in sections:
        if key in skip:
            chk.say(f"\n## {title}\n\n(skipped)")
            continue
        chk.section(title, body)
    shutil.rmtree(work, ignore_errors=True)
    chk.log.close()
    (a.out / "settings.json").write_text(json.dumps(vars(a), default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
