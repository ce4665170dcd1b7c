"""``rgb2depth report RUN_DIR... --out DIR``: a page comparing training runs."""

from __future__ import annotations

import argparse

from rgb2depth.cli._options import bounded

_examples = bounded(int, 0, 32, expected="a whole number")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="a markdown page comparing training runs: metrics, settings, curves, examples",
        description="Write DIR/report.md (and report.json) for the training runs RUN_DIR... "
        "(the log.out folders of rgb2depth train: config.yaml, log.csv, model/): the runs, "
        "the config keys whose values differ between them, a metrics table (each run's "
        "model/ scored as rgb2depth evaluate --model does, on the run's own data folder "
        "and its test split unless --data / --split say otherwise; where that is not "
        "possible, the validation metrics logged last, as the table says), the training "
        "curves of log.csv (one line per run), example predictions with their ground "
        "truth and error maps, and a turned 3D view of one example. DIR appears complete "
        "or not at all.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="training run folders")
    p.add_argument("--out", required=True, metavar="DIR", help="the report folder to create")
    p.add_argument(
        "--data",
        metavar="DIR",
        help="score every run on this dataset folder (default: each run's own data.root)",
    )
    p.add_argument("--split", help="the split to score (test)")
    p.add_argument(
        "--examples",
        type=_examples,
        default=4,
        metavar="N",
        help="example images in the figures (4; 0: no examples and no 3D view)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing DIR, but only a folder that rgb2depth report wrote",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def command_line(args: argparse.Namespace) -> str:
    """The command as the page records it (the options that were given)."""
    import shlex

    argv = ["rgb2depth", "report", *args.runs, "--out", args.out]
    for flag, value in (("--data", args.data), ("--split", args.split)):
        if value is not None:
            argv += [flag, value]
    if args.examples != 4:
        argv += ["--examples", str(args.examples)]
    if args.device != "auto":
        argv += ["--device", args.device]
    return shlex.join(argv)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.report import write_report

    summary = write_report(
        args.runs,
        args.out,
        data=args.data,
        split=args.split,
        examples=args.examples,
        device=args.device,
        overwrite=args.overwrite,
        progress=not args.quiet,
        command=command_line(args),
    )
    for r in summary["runs"]:
        print(f"{r['name']}: {r['note']}")
    print(f"wrote {args.out}/report.md ({len(summary['figures'])} figures)")
    return 0
