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


def describe_networks(height: int, width: int) -> list[dict[str, Any]]:
    """One dict per registered network: registry facts, parameters and GFLOPs.

    Parameters are those of the default settings; ``paper_parameters`` is the paper's
    figure for ``paper_settings`` (None where the paper gives none). ``gflops`` is for
    one ``height`` x ``width`` input (None, with ``note`` saying why, when the network
    does not accept that size); a fixed-size network is built for that size to count them.
    """
    import torch

    from rgb2depth.errors import InputError
    from rgb2depth.models import count_parameters, create_model, get_entry, gflops, list_models

    rows = []
    for name in list_models():
        entry = get_entry(name)
        with torch.device("meta"):
            model = create_model(name)
            paper_model = create_model(name, **entry.paper_settings)
        cost, note = None, None
        try:
            with torch.device("meta"):
                sized = (
                    create_model(name, image_size=(height, width)) if entry.fixed_size else model
                )
            cost = round(gflops(sized, height, width, inputs=entry.inputs), 3)
        except InputError as exc:
            note = str(exc)
        rows.append(
            {
                "name": name,
                "paper": entry.paper,
                "parameters": count_parameters(model),
                "paper_parameters": entry.paper_params,
                "paper_settings": entry.paper_settings,
                "parameters_with_paper_settings": count_parameters(paper_model),
                "gflops": cost,
                "size": [height, width],
                "in_channels": model.in_channels,
                "out_channels": model.out_channels,
                "inputs": entry.inputs,
                "stride": entry.stride,
                "min_size": entry.smallest_size(),
                "fixed_size": entry.fixed_size,
                "description": entry.description,
                "note": note,
            }
        )
    return rows


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

    h, w = parse_size(args.size)
    rows = describe_networks(h, w)
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
