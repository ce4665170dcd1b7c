"""Evaluation at scale: ``evaluate`` of a light U-Net on 654 NYU-size images.

    python benchmarks/bench_evaluate.py [--images 654] [--workers 0,2] [--input-size 240x320]
                                        [--threads N]

Writes, into a temporary folder, a dataset in the folder format with the NYU Depth v2
test split's count and size: 654 pairs of a 480x640 RGB PNG (smooth colour noise) and
a 16-bit depth PNG in millimetres (``png_scale`` 0.001 m; smooth depth in 0.5..9.5 m
with about 2% invalid pixels), then scores an untrained ``light_unet`` from the model
registry (seed 004's 1.22 M parameters), wrapped in a ``Predictor`` that runs it at
``--input-size`` and resizes its depth to 480x640, through the library
(``rgb2depth.evaluation.evaluate_predictor``) with the ``nyu-eigen`` protocol, once per
``--workers`` value. A row ``none`` scores a constant prediction instead of the
network: what reading the files and computing the metrics cost on their own.
``--threads N`` sets torch's threads in the evaluating process (default: torch's
choice); on a machine whose cores are busy with other work, one thread can be several
times faster than two.

Each run is a fresh process, so that its peak resident memory (``ru_maxrss``) is its
own; the loader workers' peak is reported apart (the largest of them). The table
gives the machine (CPU name, threads torch uses), images, workers, seconds (the
evaluation call, not the start-up), images per second and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

H, W = 480, 640


def _smooth(rng: np.random.Generator, channels: int, cells: int = 8) -> np.ndarray:
    """(H, W, channels) float in [0, 1]: bicubic-upsampled coarse noise."""
    from PIL import Image

    out = []
    for _ in range(channels):
        small = rng.random((cells, cells * W // H)).astype(np.float32)
        img = Image.fromarray(small).resize((W, H), Image.Resampling.BICUBIC)
        out.append(np.clip(np.asarray(img), 0.0, 1.0))
    return np.stack(out, axis=-1)


def _write_pair(args: tuple[Path, int]) -> None:
    from rgb2depth.data.io import encode_depth_png, save_png

    root, i = args
    rng = np.random.default_rng(i)
    rgb = (255 * _smooth(rng, 3)).astype(np.uint8)
    depth = 0.5 + 9.0 * _smooth(rng, 1)[..., 0]
    depth[rng.random((H, W)) < 0.02] = 0.0  # holes: invalid, count 0
    save_png(root / "test" / "rgb" / f"{i:04d}.png", rgb, compress_level=3)
    save_png(root / "test" / "depth" / f"{i:04d}.png", encode_depth_png(depth, scale=0.001))


def make_dataset(root: Path, n: int, processes: int) -> None:
    """``n`` NYU-size pairs in the folder format (``docs/dataset-format.md``)."""
    for sub in ("rgb", "depth"):
        (root / "test" / sub).mkdir(parents=True)
    info = {
        "name": "bench-nyu-size",
        "kind": "rooms",
        "depth_units": "m",
        "depth_range": [0.5, 10.0],
        "png_scale": 0.001,
    }
    (root / "dataset.json").write_text(json.dumps(info))
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_write_pair, [(root, i) for i in range(n)], chunksize=16))


def run_one(
    data: str, workers: int, model: bool, input_size: str, threads: int | None
) -> dict[str, float]:
    """One evaluation in this process (the child's side of :func:`measure`)."""
    import resource
    import time

    import torch

    if threads:
        torch.set_num_threads(threads)
    from rgb2depth import Predictor
    from rgb2depth.evaluation import evaluate_predictor
    from rgb2depth.models import create_model

    if model:
        ih, iw = (int(v) for v in input_size.split("x"))
        config = {"depth": {"units": "m", "range": [0.5, 10.0]}, "input": {"size": [ih, iw]}}
        torch.manual_seed(0)
        predictor = Predictor(create_model("light_unet"), config, device="cpu")
        predict = predictor.predict
    else:
        const = np.full((H, W), 3.0, np.float32)

        def predict(rgb: np.ndarray) -> np.ndarray:
            return const

    start = time.perf_counter()
    metrics = evaluate_predictor(
        predict, data, protocol="nyu-eigen", workers=workers, progress=False
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "images": metrics["n_files"],
        "abs_rel": metrics["abs_rel"],
        "threads": float(torch.get_num_threads()),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def measure(
    data: Path, workers: int, model: bool, input_size: str, threads: int | None
) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--run-one", str(data), "--workers", str(workers)]
    cmd += ["--input-size", input_size] + ([] if model else ["--no-model"])
    cmd += ["--threads", str(threads)] if threads else []
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"evaluation failed: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=654, help="pairs to score (654)")
    parser.add_argument("--workers", default="2", help="comma-separated loader workers (2)")
    parser.add_argument("--input-size", default="240x320", help="HxW the network runs at (240x320)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (torch's)")
    parser.add_argument("--skip-baseline", action="store_true", help="no constant-predictor row")
    parser.add_argument("--run-one", metavar="DATA", help=argparse.SUPPRESS)
    parser.add_argument("--no-model", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        out = run_one(
            args.run_one, int(args.workers), not args.no_model, args.input_size, args.threads
        )
        print(json.dumps(out))
        return

    workers = [int(w) for w in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "nyu-size"
        make_dataset(data, args.images, processes=max(1, len(os.sched_getaffinity(0))))
        runs = [(w, True) for w in workers]
        if not args.skip_baseline:
            runs.append((max(workers), False))
        for w, model in runs:
            r = measure(data, w, model, args.input_size, args.threads)
            rows.append((w, model, r))
            print(
                f"done: workers {w}, {'light_unet' if model else 'none'}: {r['seconds']:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    threads = int(rows[0][2]["threads"])
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} CPUs, torch threads {threads}, "
        f"Python {platform.python_version()}"
    )
    print(f"data: {args.images} pairs of {H}x{W} RGB PNG + 16-bit depth PNG; protocol nyu-eigen")
    print()
    print(
        "| model | input | images | workers | seconds | images/s | peak RSS (MB) | "
        "worker peak RSS (MB) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for w, model, r in rows:
        name, size = ("light_unet (untrained)", args.input_size) if model else ("none", "-")
        print(
            f"| {name} | {size} | {int(r['images'])} | {w} | {r['seconds']:.1f} | "
            f"{r['images'] / r['seconds']:.2f} | {r['rss_mb']:.0f} | "
            f"{r['worker_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
