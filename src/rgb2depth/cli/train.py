"""``rgb2depth train CONFIG [key=value ...]``: run a training configuration."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a YAML config (configs/*.yaml)",
        description="Train the data/model/method/optimisation/schedule that CONFIG states. "
        "Overrides are dotted KEY=VALUE pairs parsed as YAML, e.g. train.lr=2e-4 "
        "schedule.steps=500 data.size=[96,96]. The run folder (log.out) receives the "
        "resolved config, log.csv, TensorBoard logs, checkpoints and the trained model/.",
    )
    p.add_argument("config", help="YAML configuration file")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.config import load_config
    from rgb2depth.engine.run import train

    config = load_config(args.config, args.overrides)
    try:
        result = train(config, resume=args.resume, progress=not args.quiet)
    except FloatingPointError as e:
        print(f"rgb2depth train: training diverged: {e}")
        return 1
    metrics = result["metrics"]
    shown = ", ".join(f"{k} {metrics[k]:.4g}" for k in ("abs_rel", "rmse", "mae") if k in metrics)
    print(f"trained {result['steps']} steps; validation: {shown or 'none'}")
    hint = f"  (rgb2depth predict IMAGE --model {result['model_dir']})"
    print(f"model: {result['model_dir']}" + (hint if result["predicts_depth_from_rgb"] else ""))
    return 0
