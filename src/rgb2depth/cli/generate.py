"""``rgb2depth generate KIND``: write a synthetic RGB-D dataset folder."""

from __future__ import annotations

import argparse

from rgb2depth.data.synthetic import SCENE_KINDS, generate
from rgb2depth.data.synthetic.faces import FACES_VERSION, describe_faces_versions
from rgb2depth.data.synthetic.generate import default_workers


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="render a synthetic RGB-D dataset (faces, surfaces, rooms)",
        description="Render procedural RGB-D scenes into the dataset folder format "
        "(docs/dataset-format.md). The same arguments give byte-identical files.",
    )
    p.add_argument("kind", help=f"scene kind: {', '.join(SCENE_KINDS)}")
    p.add_argument("--n", type=int, default=100, help="number of samples over all splits (100)")
    p.add_argument("--size", default="128", help="S or WxH in pixels (128)")
    p.add_argument("--seed", type=int, default=0, help="base seed (0)")
    p.add_argument("--out", required=True, help="dataset folder to create")
    p.add_argument(
        "--unpaired",
        action="store_true",
        help="train split as two unaligned domains (RGB-only and depth-only groups)",
    )
    p.add_argument("--preview", action="store_true", help="also write OUT/preview.png")
    p.add_argument(
        "--framing",
        default="full",
        choices=("full", "face"),
        help="full: the whole frame (default); face (faces only): each sample cropped "
        "around its face as predict --face crops a photo (the detector on a full-frame "
        "preview, the same margin, the size's aspect), rendered through that window so "
        "the depth stays exact",
    )
    p.add_argument(
        "--faces-version",
        type=int,
        default=None,
        help="faces only: which faces ("
        + describe_faces_versions().replace("%", "%%")  # argparse formats the help
        + f"); default {FACES_VERSION}, the latest. A version draws the same faces forever",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing OUT, but only a dataset folder that generate wrote "
        "(anything else there is refused, never deleted)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help=f"processes rendering in parallel (default: all cores, {default_workers()} here); "
        "the files do not depend on it",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = generate(
        args.kind,
        args.out,
        n=args.n,
        size=args.size,
        seed=args.seed,
        unpaired=args.unpaired,
        preview=args.preview,
        overwrite=args.overwrite,
        progress=not args.quiet,
        workers=args.workers,
        framing=args.framing,
        faces_version=args.faces_version,
    )
    counts = info.extra["counts"]
    parts = [f"{s}: {c['rgb']} rgb / {c['depth']} depth" for s, c in counts.items()]
    print(f"wrote {args.out} ({info.kind}, depth in {info.depth_units}; {'; '.join(parts)})")
    framed = info.extra["generator"].get("face_framing")
    if framed:
        print(
            f"framing: the detector framed {framed['detector_hits']} of {framed['samples']} "
            "samples, geometry the rest"
        )
    if args.preview:
        print(f"preview: {args.out}/preview.png")
    return 0
