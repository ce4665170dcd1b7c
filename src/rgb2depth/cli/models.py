"""``rgb2depth models``: the registered networks and the bundled trained models."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the networks (paper, parameters, GFLOPs) and bundled models",
        description="List the model registry: name, paper, parameters and GFLOPs "
        "(2 per multiply-add) for one image of the given size, then the trained models "
        "bundled with the package.",
    )
    p.add_argument("--size", default="256", help="input size for GFLOPs, S or WxH (256)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from rgb2depth.data.synthetic import parse_size
    from rgb2depth.errors import InputError
    from rgb2depth.inference import bundled_models
    from rgb2depth.models import count_parameters, create_model, get_entry, gflops, list_models

    h, w = parse_size(args.size)
    rows = []
    for name in list_models():
        entry = get_entry(name)
        model = create_model(name)
        if h % entry.stride or w % entry.stride:
            raise InputError(
                f"--size {args.size}: {name} needs multiples of {entry.stride}; try 256"
            )
        rows.append(
            {
                "name": name,
                "paper": entry.paper,
                "parameters": count_parameters(model),
                "gflops": round(gflops(model, h, w, model.in_channels), 3),
                "size": [h, w],
                "in_channels": model.in_channels,
                "stride": entry.stride,
                "description": entry.description,
            }
        )
    bundled = bundled_models()
    if args.json:
        print(json.dumps({"networks": rows, "bundled": bundled}, indent=2))
        return 0
    print(f"{'network':<22}{'parameters':>13}{'GFLOPs':>10}  paper  (GFLOPs at {w}x{h})")
    for r in rows:
        print(f"{r['name']:<22}{r['parameters']:>13,}{r['gflops']:>10.2f}  {r['paper']}")
    print(f"\nbundled trained models: {', '.join(bundled) or 'none'}")
    return 0
