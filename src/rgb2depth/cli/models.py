"""``rgb2depth models``: the registered networks and the bundled trained models."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the networks (paper, parameters, GFLOPs) and bundled models",
        description="List the model registry: name, paper, parameters (with the paper's "
        "figure where it gives one) and GFLOPs (2 per multiply-add) for one image of the "
        "given size, then the trained models bundled with the package. Networks are "
        "built on PyTorch's meta device, so nothing is allocated or computed.",
    )
    p.add_argument("--size", default="256", help="input size for GFLOPs, S or WxH (256)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def _paper_figure(row: dict[str, Any]) -> str:
    figure = row["paper_parameters"]
    if figure is None:
        return "-"
    text = f"{figure:,}" if isinstance(figure, int) else f"{figure / 1e6:g} M"
    if row["paper_settings"]:
        text += "*"
    return text


def run(args: argparse.Namespace) -> int:
    import json

    from rgb2depth.data.synthetic import parse_size
    from rgb2depth.inference import bundled_models
    from rgb2depth.models import describe_models

    h, w = parse_size(args.size)
    rows = describe_models(h, w)
    bundled = bundled_models()
    if args.json:
        print(json.dumps({"networks": rows, "bundled": bundled}, indent=2))
        return 0
    print(f"{'network':<24}{'parameters':>13}{'paper':>13}{'GFLOPs':>9}  source")
    for r in rows:
        cost = "-" if r["gflops"] is None else f"{r['gflops']:.2f}"
        print(f"{r['name']:<24}{r['parameters']:>13,}{_paper_figure(r):>13}{cost:>9}  {r['paper']}")
    print(f"\nGFLOPs for one {w}x{h} input (2 per multiply-add); parameters with the defaults.")
    starred = [r for r in rows if r["paper_parameters"] is not None and r["paper_settings"]]
    for r in starred:
        settings = ", ".join(f"{k}={v}" for k, v in r["paper_settings"].items())
        print(
            f"* {r['name']}: the paper's figure is for {settings}: "
            f"{r['parameters_with_paper_settings']:,} here"
        )
    for r in rows:
        if r["note"]:
            print(f"- {r['name']}: no GFLOPs at {w}x{h}: {r['note']}")
    print(f"\nbundled trained models: {', '.join(bundled) or 'none'}")
    return 0
