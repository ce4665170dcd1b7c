"""Count the faces face mode's detector finds per photo, with and without the weak-box rule.

    python scripts/count_faces.py CLONE/images            # every photo of a folder
    python scripts/count_faces.py CLONE/images --every 3  # every third (sorted by name)

For folders of one-person photos (portraits), every photo with two or more faces holds
false faces. Prints, as Markdown, how many photos have 0, 1 and 2+ faces as
:func:`rgb2depth.data.face_detection.detect_faces` finds them (a weak box inside a much
stronger face's window dropped, :data:`~rgb2depth.data.face_detection.WEAK_RATIO`) and
as the merged cascade boxes alone, then every box of the photos with several (those
the rule drops marked).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from rgb2depth.cli._inputs import IMAGE_SUFFIXES
from rgb2depth.data.face_detection import (
    WEAK_RATIO,
    FaceBox,
    detect_faces,
    drop_weak_neighbours,
)
from rgb2depth.data.io import read_rgb
from rgb2depth.errors import InputError


def count(paths: list[Path]) -> tuple[Counter[int], Counter[int], dict[str, list[FaceBox]]]:
    """Photos per number of faces (with the rule, without it) and the photos with several
    boxes before the rule (all their boxes)."""
    ruled: Counter[int] = Counter()
    raw: Counter[int] = Counter()
    several: dict[str, list[FaceBox]] = {}
    for path in paths:
        rgb = np.asarray(read_rgb(path))
        every = detect_faces(rgb, weak_ratio=None)
        ruled[min(len(drop_weak_neighbours(every)), 2)] += 1
        raw[min(len(every), 2)] += 1
        if len(every) > 1:
            several[path.name] = every
    return ruled, raw, several


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a folder of photos")
    ap.add_argument("--every", type=int, default=1, help="every K-th photo by name (1)")
    args = ap.parse_args(argv)
    try:
        if not args.folder.is_dir():
            raise InputError(f"{args.folder}: not a folder")
        if args.every < 1:
            raise InputError(f"--every must be at least 1, got {args.every}")
        paths = sorted(
            p for p in args.folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        paths = paths[:: args.every]
        if not paths:
            raise InputError(f"{args.folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
        ruled, raw, several = count(paths)
    except InputError as err:
        print(f"count_faces: error: {err}", file=sys.stderr)
        return 2
    print(f"{len(paths)} photos of {args.folder}\n")
    print("| faces found | 0 | 1 | 2 or more |")
    print("|---|---:|---:|---:|")
    print(f"| detect_faces (weak ratio {WEAK_RATIO:g}) | {ruled[0]} | {ruled[1]} | {ruled[2]} |")
    print(f"| cascade boxes, merged, no weak rule | {raw[0]} | {raw[1]} | {raw[2]} |")
    if several:
        print("\nphotos with several boxes (x, y, side, kind, score; * = dropped by the rule):")
    for name, boxes in several.items():
        kept = drop_weak_neighbours(boxes)
        shown = ", ".join(
            f"({b.x:.0f}, {b.y:.0f}, {b.w:.0f}) {b.kind} {b.score}{'' if b in kept else '*'}"
            for b in boxes
        )
        print(f"- {name}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
