"""``rgb2depth evaluate``: score a model, or depth files made by anything, on a dataset split."""

from __future__ import annotations

import argparse

from rgb2depth.cli._options import add_inference_options

SHOWN = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "mae", "delta1", "delta2", "delta3")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a model (--model) or prediction files (--pred) against ground truth",
        description="Score depth against a dataset split with one protocol: the dataset's "
        "units, its valid pixels within depth_range (inclusive), per-image metrics averaged "
        "over images, at the ground truth's resolution. --pred takes a folder of NAME.npy "
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
        "--align",
        default="none",
        choices=("none", "median", "lstsq"),
        help="align each prediction to its ground truth first (none)",
    )
    add_inference_options(p, tta_help="test-time augmentation for --model (none)")
    p.add_argument("--json", metavar="FILE", help="also write the metrics to FILE")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rgb2depth.data.format import read_info
    from rgb2depth.data.io import atomic_path
    from rgb2depth.evaluation import evaluate_predictions, evaluate_predictor

    info = read_info(args.data)
    if args.json:
        from rgb2depth.data.io import check_writable_file

        check_writable_file(args.json, what="--json")  # fail before the evaluation, not after
    if args.model is not None:
        from rgb2depth import Predictor

        predictor = Predictor.from_pretrained(args.model, device=args.device)
        if predictor.units != info.depth_units:
            from rgb2depth.errors import InputError

            raise InputError(
                f"model {args.model} predicts {predictor.units} but {args.data} holds "
                f"{info.depth_units}"
            )
        metrics = evaluate_predictor(
            lambda rgb: predictor.predict(rgb, tta=args.tta),
            args.data,
            split=args.split,
            align=args.align,
            progress=not args.quiet,
        )
        source = args.model
    else:
        metrics = evaluate_predictions(
            args.pred, args.data, split=args.split, align=args.align, progress=not args.quiet
        )
        source = args.pred
    n = int(metrics["n_images"])
    print(
        f"{source} on {args.data} [{args.split}]: {n} images, depth in {info.depth_units}, "
        f"align {args.align}"
    )
    shown = [m for m in SHOWN if m in metrics]
    print("".join(f"{m:>10}" for m in shown))
    print("".join(f"{metrics[m]:>10.4g}" for m in shown))
    if args.json:
        out = {
            "source": source,
            "data": args.data,
            "split": args.split,
            "align": args.align,
            "units": info.depth_units,
            "metrics": metrics,
        }
        with atomic_path(Path(args.json)) as tmp:
            tmp.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0
