"""``rgb2depth convert DATASET SRC --out DIR``: a published dataset -> the folder format."""

from __future__ import annotations

import argparse

from rgb2depth.data.sources import get_source, source_names


def add_parser(sub: argparse._SubParsersAction) -> None:
    names = source_names()
    layouts = "; ".join(f"{n}: {get_source(n).layout}" for n in names)
    p = sub.add_parser(
        "convert",
        help="convert a published dataset (NYU, Texas-3DFRD, Biwi, ...) to the folder format",
        description="Read a dataset in the layout it is published in and write the dataset "
        f"folder format (docs/dataset-format.md). Datasets and what SRC must be: {layouts}.",
    )
    p.add_argument("dataset", help=f"which dataset: {', '.join(names)}")
    p.add_argument("src", help="the dataset as published (folder or file)")
    p.add_argument("--out", required=True, help="dataset folder to create")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing OUT, but only a folder that convert wrote",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.data.sources import convert

    source = get_source(args.dataset)
    info = convert(
        args.dataset, args.src, args.out, overwrite=args.overwrite, progress=not args.quiet
    )
    counts = info.extra["counts"]
    parts = [f"{s}: {c['rgb']} rgb / {c['depth']} depth" for s, c in counts.items()]
    print(f"wrote {args.out} ({source.title}, depth in {info.depth_units}; {'; '.join(parts)})")
    return 0
