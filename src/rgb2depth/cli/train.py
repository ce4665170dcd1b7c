"""``rgb2depth train CONFIG [key=value ...]``: run a training configuration.

``torchrun --nproc_per_node=N -m rgb2depth train CONFIG`` runs it data-parallel over N
processes (docs/distributed.md); only rank 0 prints the summary.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from rgb2depth.config import RESUME_MAY_CHANGE

    p = sub.add_parser(
        "train",
        help="train a model from a YAML config (configs/*.yaml)",
        description="Train the data/model/method/optimisation/schedule that CONFIG states. "
        "Overrides are dotted KEY=VALUE pairs parsed as YAML, e.g. train.lr=2e-4 "
        "schedule.steps=500 data.size=[96,96] train.amp=off. The run folder (log.out) "
        "receives the resolved config, log.csv, TensorBoard logs, checkpoints and the "
        "trained model/. Under torchrun (torchrun --nproc_per_node=N -m rgb2depth train "
        "CONFIG) the run is data-parallel over the N processes: train.batch_size is the "
        "global batch and must divide by N; rank 0 writes log.out.",
    )
    p.add_argument("config", help="YAML configuration file")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in log.out from its last checkpoint, with the settings it "
        "was started with (CONFIG may be the run's config.yaml or the original config): "
        f"only {', '.join(RESUME_MAY_CHANGE)} may change (schedule.steps not under a cosine "
        "schedule); any other difference from the run's config.yaml is refused",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.config import load_config
    from rgb2depth.engine.run import train

    config = load_config(args.config, args.overrides)
    try:
        result = train(config, resume=args.resume, progress=not args.quiet)
    except FloatingPointError as e:  # a failure while running, not the input's fault
        print(f"rgb2depth train: error: training diverged: {e}", file=sys.stderr)
        return 1
    if result.get("rank", 0) != 0:  # one summary per run, from rank 0
        return 0
    metrics = result["metrics"]
    shown = ", ".join(f"{k} {metrics[k]:.4g}" for k in ("abs_rel", "rmse", "mae") if k in metrics)
    print(f"trained {result['steps']} steps; validation: {shown or 'none'}")
    hint = f"  (rgb2depth predict IMAGE --model {result['model_dir']})"
    print(f"model: {result['model_dir']}" + (hint if result["predicts_depth_from_rgb"] else ""))
    return 0
