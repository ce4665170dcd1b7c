"""Peak memory of ``rgb2depth predict`` on a large photo.

    python benchmarks/bench_memory.py [--side 7000] [--model faces-light]

Writes a SIDE x SIDE photo (smooth colour noise, as JPEG and as PNG) into a
temporary folder, runs ``rgb2depth predict PHOTO --out DIR --device cpu`` on each in
a fresh process, and prints the process's peak resident memory (``ru_maxrss`` of the
child) next to a baseline: the same command on a photo of the model's own size, which
is what loading Python, torch and the model costs. The photo is shrunk as 8-bit
before any float copy (a JPEG is decoded at reduced scale), so what grows with the
photo is mostly the float32 depth map at full size and the PNGs written from it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def photo(side: int, seed: int = 0) -> Image.Image:
    """Smooth colour noise (JPEG-friendly, like a photo rather than white noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, side // 64), max(2, side // 64), 3), dtype=np.uint8)
    return Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC)


def peak_mb(image: Path, model: str, out: Path) -> float:
    """Peak RSS in MB of one ``rgb2depth predict`` process (a fresh child each time)."""
    code = (
        "import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.exit(r.returncode)"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "rgb2depth", "predict", str(image)]
    cmd += ["--model", model, "--out", str(out), "--device", "cpu", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"predict failed on {image}: {r.stderr.strip()}")
    return int(r.stdout.strip().splitlines()[-1]) / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=7000, help="photo side in pixels (7000)")
    parser.add_argument("--model", default="faces-light", help="model (faces-light)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        Image.new("RGB", (64, 64), (128, 100, 90)).save(root / "small.png")
        rows.append(("64x64 PNG (baseline)", peak_mb(root / "small.png", args.model, root / "o")))
        big = photo(args.side)
        for fmt in ("jpg", "png"):
            path = root / f"big.{fmt}"
            big.save(path, **({"quality": 90} if fmt == "jpg" else {}))
            mp = args.side * args.side / 1e6
            rows.append(
                (
                    f"{args.side}x{args.side} {fmt.upper()} ({mp:.0f} MP)",
                    peak_mb(path, args.model, root / "o"),
                )
            )

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; model {args.model}, device cpu"
    )
    print(f"{'photo':<28}{'peak RSS (MB)':>15}")
    for name, mb in rows:
        print(f"{name:<28}{mb:>15.0f}")


if __name__ == "__main__":
    main()
