"""``rgb2depth demo``: the main job on the bundled default.

Until the project ships a trained model, the main job generates a small
synthetic face set and scores the trivial baselines of
:mod:`rgb2depth.baselines` on its held-out identities with
:mod:`rgb2depth.metrics`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SHOWN = ("abs_rel", "rmse", "mae", "log10", "delta1", "delta2", "delta3")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job on the bundled default (synthetic faces, baselines, metrics)",
        description="Generate a small synthetic face set into OUT and print the depth "
        "metrics of the trivial baselines on its held-out identities.",
    )
    p.add_argument("--out", default="outputs/demo", help="output folder (outputs/demo)")
    p.add_argument("--n", type=int, default=240, help="faces to generate (240)")
    p.add_argument("--size", default="64", help="image size, S or WxH (64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.baselines import MeanDepth, MeanDepthMap
    from rgb2depth.data import PairedDepthDataset
    from rgb2depth.data.io import atomic_path
    from rgb2depth.data.synthetic import generate, parse_size
    from rgb2depth.data.synthetic.generate import default_workers
    from rgb2depth.metrics import DepthMetricAccumulator

    out = Path(args.out)
    data = out / "faces"
    info = generate(
        "faces",
        data,
        n=args.n,
        size=args.size,
        seed=args.seed,
        preview=True,
        overwrite=True,
        progress=not args.quiet,
        workers=default_workers(),
    )
    train = list(PairedDepthDataset(data, "train"))
    test = list(PairedDepthDataset(data, "test"))  # read once, scored by each predictor
    lo, hi = info.depth_range
    results = {}
    for name, model in (
        ("train mean depth map", MeanDepthMap.fit(train)),
        ("train mean depth", MeanDepth.fit(train)),
    ):
        acc = DepthMetricAccumulator(min_depth=lo, max_depth=hi, inclusive=True)
        for s in test:
            acc.update(model(s)[None], s["depth"][None], mask=s["mask"][None])
        results[name] = acc.compute()
    h, w = parse_size(args.size)
    print(
        f"\n{len(test)} test faces of held-out identities, {w}x{h}, depth in "
        f"{info.depth_units}; per-image mean, valid pixels only"
    )
    print(f"{'predictor':<22}" + "".join(f"{m:>10}" for m in SHOWN))
    for name, r in results.items():
        print(f"{name:<22}" + "".join(f"{r[m]:>10.4g}" for m in SHOWN))
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nwrote {out / 'metrics.json'} and {data / 'preview.png'}")
    return 0
