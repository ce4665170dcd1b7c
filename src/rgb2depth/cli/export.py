"""``rgb2depth export --model M --format onnx --out FILE.onnx``: a model for other runtimes."""

from __future__ import annotations

import argparse

from rgb2depth.inference.predictor import DEFAULT_MODEL


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a model to ONNX (for onnxruntime and other runtimes)",
        description="Write the model as one ONNX file (opset 18): input 'rgb' (B, C, H, W) "
        "float32 in [-1, 1], output 'depth' (B, 1, H, W) in the model range [-1, 1] "
        "(depth = lo + (x + 1) / 2 * (hi - lo) in the model's units). The batch, height "
        "and width are dynamic (height and width multiples of the network's stride; a "
        "network built for one size keeps it). The model's config.json (depth units and "
        "range, input size, framing) is embedded as metadata 'rgb2depth.config', so "
        "'rgb2depth predict --model FILE.onnx' and '--backend onnx' need nothing else. "
        "The file is checked with onnx.checker and written atomically. Needs the extra: "
        'pip install "rgb2depth[onnx]".',
    )
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"a bundled model name or a saved model folder ({DEFAULT_MODEL})",
    )
    p.add_argument("--format", default="onnx", help="onnx (the only format so far)")
    p.add_argument("--out", required=True, help="the file to write, FILE.onnx")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rgb2depth.inference.export import export_model

    info = export_model(args.model, args.out, fmt=args.format)
    axes = ", ".join(info.dynamic)
    h, w = info.example
    print(
        f"wrote {info.path} ({info.bytes / 1e6:.1f} MB): ONNX opset {info.opset}, "
        f"input {info.inputs[0]} / output {info.outputs[0]}, dynamic {axes} "
        f"(traced at {w}x{h}), config.json in its metadata"
    )
    return 0
