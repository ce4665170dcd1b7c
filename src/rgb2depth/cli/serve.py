"""``rgb2depth serve``: the web page, on this machine only unless told otherwise."""

from __future__ import annotations

import argparse

MAX_UPLOAD_MB = 20  # the same as rgb2depth.web.MAX_UPLOAD_MB (kept here: no gradio import)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number 1..65535, got {text!r}")
    return port


def _megabytes(text: str) -> float:
    try:
        mb = float(text)
    except ValueError:
        mb = 0.0
    if not 0 < mb <= 10_000:
        raise argparse.ArgumentTypeError(f"expected a size in MB, > 0 and <= 10000, got {text!r}")
    return mb


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="a web page: upload a photo, see its depth and 3D surface, download the files",
        description="Serve a web page (gradio) where a person uploads a photo, picks a "
        "model and face mode, and sees the colourised depth and an interactive 3D view of "
        "its mesh, with downloads of the 16-bit depth PNG, its scale (JSON) and the mesh "
        "(GLB). Bound to 127.0.0.1 (this machine only) unless --host says otherwise. "
        "Nothing is fetched from the internet (gradio's analytics off). Needs the optional "
        "extra 'web' (pip install 'rgb2depth[web]').",
    )
    p.add_argument(
        "--model",
        nargs="+",
        default=None,
        metavar="M",
        help="the models the page offers, bundled names or model folders, the first "
        "selected (default: every bundled model)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=_port, default=7860, help="port (7860)")
    p.add_argument(
        "--max-upload-mb",
        type=_megabytes,
        default=MAX_UPLOAD_MB,
        metavar="MB",
        help=f"largest upload, MB ({MAX_UPLOAD_MB})",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
    p.add_argument(
        "--backend",
        default=None,
        help="how the networks run: torch (default), torch-cl, torch-bf16, torch-compile, ... "
        "or onnx (see rgb2depth predict --help)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from rgb2depth.errors import InputError

    if importlib.util.find_spec("gradio") is None:
        raise InputError("the web page needs gradio: pip install 'rgb2depth[web]'")
    from rgb2depth.inference import DEFAULT_MODEL, bundled_models
    from rgb2depth.web import serve

    models = args.model
    if not models:
        bundled = bundled_models()
        models = sorted(bundled, key=lambda m: (m != DEFAULT_MODEL, m))
    serve(
        list(dict.fromkeys(models)),
        host=args.host,
        port=args.port,
        device=args.device,
        max_upload_mb=args.max_upload_mb,
        backend=args.backend,
    )
    return 0
