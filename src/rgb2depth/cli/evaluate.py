"""``rgb2depth evaluate``: score a model, or depth files made by anything, on a dataset split."""

from __future__ import annotations

import argparse

from rgb2depth.cli._options import add_inference_options, bounded

SHOWN = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "mae", "delta1", "delta2", "delta3")

# The same names as rgb2depth.metrics.protocols.PROTOCOL_NAMES and rgb2depth.evaluation.ALIGNS
# (kept here so that building the parser does not import torch; a test checks they agree).
PROTOCOL_CHOICES = (
    "dataset",
    "nyu-eigen",
    "kitti-garg",
    "texas",
    "surreal",
    "faces-relative",
    "surfaces",
)
ALIGN_CHOICES = ("none", "median", "median_shift", "lstsq")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a model (--model) or prediction files (--pred) against ground truth",
        description="Score depth against a dataset split with one protocol: by default the "
        "dataset's units, its valid pixels within depth_range (inclusive), per-image metrics "
        "averaged over images, at the ground truth's resolution; --protocol NAME scores as a "
        "benchmark's reference implementation does (docs/evaluation.md). --pred takes a "
        "folder of NAME.npy "
        "(float, the dataset's units) or 16-bit NAME.png (the dataset's PNG encoding, or the "
        "scale and offset of a NAME.json beside it) files "
        "named like the ground truth, made by any system, or the files rgb2depth predict "
        "writes: NAME_depth.npy, or NAME_depth.png decoded with the scale and offset of "
        "its NAME_depth.json (a NAME_depth.png without its .json is refused).",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a bundled model name or a saved model folder")
    src.add_argument("--pred", metavar="PRED_DIR", help="a folder of depth files to score")
    p.add_argument("--data", required=True, help="dataset folder (holding dataset.json)")
    p.add_argument("--split", default="test", help="split to score (test)")
    p.add_argument(
        "--protocol",
        choices=PROTOCOL_CHOICES,
        default=None,
        help="score as a benchmark does: valid range, crop, clamp, alignment, aggregation "
        "and metrics, each from its source (docs/evaluation.md); default: dataset",
    )
    p.add_argument(
        "--align",
        default=None,
        choices=ALIGN_CHOICES,
        help="align each prediction to its ground truth first (none); with a --protocol "
        "that fixes its alignment, only that one is accepted",
    )
    add_inference_options(p, tta_help="test-time augmentation for --model (none)")
    p.add_argument(
        "--workers",
        type=bounded(int, 0, 64, expected="a number of processes"),
        default=None,
        metavar="N",
        help="processes reading ground truth and images (0: none; default 2, 0 on one core)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the metrics to FILE")
    p.add_argument(
        "--csv", metavar="FILE", help="also write one row per image (name, every metric)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    import math
    from pathlib import Path

    from rgb2depth.data.format import read_info
    from rgb2depth.data.io import atomic_path, check_writable_file
    from rgb2depth.errors import InputError
    from rgb2depth.evaluation import evaluate_predictions, evaluate_predictor, evaluation_protocol
    from rgb2depth.metrics.protocols import describe

    info = read_info(args.data)
    protocol = evaluation_protocol(info, args.protocol, align=args.align)
    if args.json and args.csv and Path(args.json).resolve() == Path(args.csv).resolve():
        raise InputError(f"--json and --csv name the same file {args.json}; give two names")
    for option, target in (("--json", args.json), ("--csv", args.csv)):
        if target:
            check_writable_file(target, what=option)  # fail before the evaluation, not after
    common = {
        "split": args.split,
        "protocol": protocol,
        "workers": args.workers,
        "csv": args.csv,
        "progress": not args.quiet,
    }
    if args.model is not None:
        from rgb2depth import Predictor

        predictor = Predictor.from_pretrained(args.model, device=args.device)
        if predictor.units != info.depth_units:
            raise InputError(
                f"model {args.model} predicts {predictor.units} but {args.data} holds "
                f"{info.depth_units}"
            )
        metrics = evaluate_predictor(
            lambda rgb: predictor.predict(rgb, tta=args.tta), args.data, **common
        )
        source = args.model
    else:
        metrics = evaluate_predictions(args.pred, args.data, **common)
        source = args.pred
    n = int(metrics["n_images"])
    print(
        f"{source} on {args.data} [{args.split}]: {n} images, depth in {info.depth_units}, "
        f"align {protocol['align']}"
    )
    if args.protocol is None:
        shown = [m for m in SHOWN if m in metrics]
    else:
        shown = list(protocol["metrics"])
    widths = [max(10, len(m) + 1) for m in shown]
    print("".join(f"{m:>{w}}" for m, w in zip(shown, widths, strict=True)))
    print("".join(f"{metrics[m]:>{w}.4g}" for m, w in zip(shown, widths, strict=True)))
    print(describe(protocol))
    if args.csv:
        print(f"wrote {args.csv}")
    if args.json:
        settings = {k: v for k, v in protocol.items()}
        if math.isinf(settings["max_depth"]):
            settings["max_depth"] = None  # JSON has no infinity: null means no upper limit
        out = {
            "source": source,
            "data": args.data,
            "split": args.split,
            "align": protocol["align"],
            "units": info.depth_units,
            "protocol": settings,
            "metrics": metrics,
        }
        with atomic_path(Path(args.json)) as tmp:
            tmp.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0
