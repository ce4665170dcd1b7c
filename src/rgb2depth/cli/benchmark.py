"""``rgb2depth benchmark``: inference and training speed, written as a markdown page."""

from __future__ import annotations

import argparse

# The same names as rgb2depth.benchmark.TRAIN_SETUPS (kept here: building the parser
# imports no torch).
TRAIN_METHODS = ("supervised", "pix2pix", "cgan", "unsupervised", "cycle")


def _names(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(dict.fromkeys(int(t) for t in text.split(",") if t.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers (e.g. 1,8), got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def _count(lo: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {text}")
        return value

    return parse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="time inference per backend and batch (and training per method)",
        description="Time the networks: parameters, GFLOPs, ms per image and images per "
        "second for each model, size, backend and batch (warm-up calls, then repeated "
        "timed calls; the median), each backend's largest difference from PyTorch "
        "float32, and the machine (CPU, cores, threads, torch and onnxruntime versions, "
        "device). --train adds training throughput per method (images/s and GFLOP/s, "
        "forward and backward FLOPs counted). --out writes the markdown page "
        "atomically, with the command that regenerates it at the top; the table is "
        "printed too.",
    )
    p.add_argument(
        "--models",
        type=_names,
        default=("light_unet",),
        metavar="M,...",
        help="registered networks (rgb2depth models), bundled models or model folders (light_unet)",
    )
    p.add_argument(
        "--backends",
        type=_names,
        default=("torch",),
        metavar="B,...",
        help="torch, torch-cl, torch-bf16, torch-fp16 (CUDA), torch-compile, combinations "
        "such as torch-cl-bf16, onnx (torch)",
    )
    p.add_argument("--sizes", default="256", metavar="S,...", help="S or WxH each (256)")
    p.add_argument("--batch", type=_ints, default=(1, 8), metavar="N,...", help="(1,8)")
    p.add_argument("--repeats", type=_count(1), default=10, help="timed calls (10)")
    p.add_argument("--warmup", type=_count(0), default=3, help="untimed calls first (3)")
    p.add_argument("--threads", type=_count(1), default=None, help="CPU threads (torch's)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (cpu)")
    p.add_argument("--train", action="store_true", help="also time training per method")
    p.add_argument(
        "--methods",
        type=_names,
        default=TRAIN_METHODS,
        metavar="M,...",
        help=f"methods for --train ({','.join(TRAIN_METHODS)})",
    )
    p.add_argument(
        "--train-size", default=None, metavar="S", help="training size (the first of --sizes)"
    )
    p.add_argument("--train-batch", type=_count(1), default=8, help="training batch (8)")
    p.add_argument("--train-steps", type=_count(1), default=3, help="timed training steps (3)")
    p.add_argument("--note", default="", help="a line for the page (e.g. the machine was shared)")
    p.add_argument(
        "--out", default=None, help="write the markdown page here (e.g. docs/benchmarks.md)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.benchmark import (
        BenchmarkSettings,
        render_markdown,
        run_benchmark,
        write_markdown,
    )
    from rgb2depth.data.io import check_writable_file
    from rgb2depth.data.synthetic import parse_size

    sizes = tuple(dict.fromkeys(parse_size(t.strip()) for t in args.sizes.split(",") if t.strip()))
    settings = BenchmarkSettings(
        models=args.models,
        backends=args.backends,
        sizes=sizes,
        batches=args.batch,
        repeats=args.repeats,
        warmup=args.warmup,
        threads=args.threads,
        device=args.device,
        train=args.train,
        methods=args.methods,
        train_size=parse_size(args.train_size) if args.train_size else None,
        train_batch=args.train_batch,
        train_steps=args.train_steps,
        note=args.note,
        out=args.out,
    )
    if args.out:
        check_writable_file(args.out, what="--out")
    result = run_benchmark(settings, progress=not args.quiet)
    text = render_markdown(result)
    print(text, end="")
    if args.out:
        write_markdown(args.out, text)
        print(f"wrote {args.out}")
    return 0
