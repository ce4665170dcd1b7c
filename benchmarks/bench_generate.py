"""Synthetic scene generation speed: samples per second per kind.

Prints a Markdown table with the machine and the settings. Three figures per kind:
``render`` (the renderer alone, one process) and ``generate`` with one worker and
with one worker per core (``rgb2depth generate``: rendering plus 8-bit RGB and
16-bit depth PNGs and metadata on disk, as the command runs by default). The
targets of the issue are judged on the default command (all cores).

    python benchmarks/bench_generate.py [--size 128] [--n 200] [--kinds faces surfaces rooms]
    python benchmarks/bench_generate.py --kinds faces --framing face   # face mode's crops
    python benchmarks/bench_generate.py --kinds faces --faces-version 1  # the older faces
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from rgb2depth.data.synthetic import SCENE_KINDS, generate, get_kind
from rgb2depth.data.synthetic.faces import FACES_VERSION, FACES_VERSIONS, Faces
from rgb2depth.data.synthetic.generate import default_workers, scene_rng

TARGETS = {"faces": 50.0, "surfaces": 200.0}  # samples/s at 128x128 (issue targets)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _kind(kind: str, faces_version: int):
    return Faces(faces_version) if kind == "faces" else get_kind(kind)


def bench_render(
    kind: str, n: int, size: int, framing: str = "full", faces_version: int = FACES_VERSION
) -> float:
    from rgb2depth.data.synthetic.framing import render_framed

    k = _kind(kind, faces_version)
    groups = [
        k.sample_group(scene_rng(0, kind, 0, g)) for g in range(max(1, n // k.views_per_group))
    ]

    def render(group, rng):
        if framing == "face":
            return render_framed(k, group, rng, size, size)
        return k.render(group, rng, size, size)

    render(groups[0], scene_rng(0, kind, 1, 0))  # warm-up
    t0 = time.perf_counter()
    for i in range(n):
        render(groups[i % len(groups)], scene_rng(0, kind, 1, i))
    return n / (time.perf_counter() - t0)


def bench_generate(
    kind: str,
    n: int,
    size: int,
    workers: int,
    framing: str = "full",
    faces_version: int = FACES_VERSION,
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        generate(
            kind,
            Path(tmp) / "d",
            n=n,
            size=size,
            seed=0,
            progress=False,
            workers=workers,
            framing=framing,
            faces_version=faces_version if kind == "faces" else None,
        )
        return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--n", type=int, default=200, help="samples per kind and measurement")
    ap.add_argument("--kinds", nargs="+", default=list(SCENE_KINDS), choices=list(SCENE_KINDS))
    ap.add_argument("--framing", default="full", choices=("full", "face"), help="face: faces only")
    ap.add_argument(
        "--faces-version",
        type=int,
        default=FACES_VERSION,
        choices=sorted(FACES_VERSIONS),
        help=f"which synthetic faces (default {FACES_VERSION}, the latest)",
    )
    args = ap.parse_args()
    if args.framing == "face" and args.kinds != ["faces"]:
        ap.error("--framing face needs --kinds faces")

    print(
        f"machine: {cpu_name()}, {os.cpu_count()} logical cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}"
    )
    print(
        f"settings: {args.size}x{args.size}, n={args.n} per kind, seed 0, "
        f"framing {args.framing}, faces version {args.faces_version}, samples/s\n"
    )
    w = default_workers()
    cols = ["kind", "render, 1 process", "generate, 1 worker", f"generate, {w} workers"]
    print("| " + " | ".join([*cols, "target", "met"]) + " |")
    print("|---|---:|---:|---:|---:|---|")
    for kind in args.kinds:
        v = args.faces_version
        r = bench_render(kind, args.n, args.size, args.framing, v)
        g1 = bench_generate(kind, args.n, args.size, 1, args.framing, v)
        gw = bench_generate(kind, args.n, args.size, w, args.framing, v)
        target = TARGETS.get(kind)
        met = "-" if target is None or args.size != 128 else ("yes" if gw >= target else "no")
        print(f"| {kind} | {r:.1f} | {g1:.1f} | {gw:.1f} | {target or '-'} | {met} |")


if __name__ == "__main__":
    main()
