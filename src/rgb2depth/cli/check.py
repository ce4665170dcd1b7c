"""``rgb2depth check DIR``: read every file of a dataset folder and summarise it."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="validate a dataset folder (dataset.json, every file, pairing)",
        description="Read dataset.json and every RGB image and depth map once; "
        "report the first problem, or a summary per split.",
    )
    p.add_argument("data", help="dataset folder")
    p.add_argument("--split", action="append", help="split to check (repeatable; default all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.data.check import check_dataset

    info, summaries = check_dataset(args.data, splits=args.split, progress=not args.quiet)
    print(
        f"{args.data}: {info.name} ({info.kind}), depth in {info.depth_units}, "
        f"range {info.depth_range[0]:g}..{info.depth_range[1]:g}"
    )
    print(
        f"{'split':<8} {'paired':<7} {'rgb':>6} {'depth':>6} {'size (HxW)':<14} "
        f"{'depth min':>10} {'depth max':>10} {'valid':>6}"
    )
    for s in summaries:
        size = ", ".join(f"{h}x{w}" for h, w in s.sizes[:2]) + ("..." if len(s.sizes) > 2 else "")
        if s.n_depth:
            values = f"{s.depth_min:>10.4g} {s.depth_max:>10.4g} {s.valid_fraction:>6.1%}"
        else:  # an RGB-only split
            values = f"{'-':>10} {'-':>10} {'-':>6}"
        print(
            f"{s.split:<8} {'yes' if s.paired else 'no':<7} {s.n_rgb:>6} {s.n_depth:>6} "
            f"{size:<14} {values}"
        )
    return 0
