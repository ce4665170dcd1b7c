"""Options that several commands share, defined once."""

from __future__ import annotations

import argparse

# The same names as rgb2depth.inference.predictor.TTA_MODES (kept here so that
# building the parser does not import torch).
TTA_CHOICES = ("none", "flip")


def add_inference_options(
    p: argparse.ArgumentParser, *, tta_help: str, backend: bool = False
) -> None:
    """``--tta`` and ``--device`` for the commands that run a model; with ``backend``,
    ``--backend`` too (read by :func:`load_predictor`)."""
    p.add_argument("--tta", default="none", choices=TTA_CHOICES, help=tta_help)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
    if backend:
        p.add_argument(
            "--backend",
            default=None,
            metavar="B",
            help="how the network runs: torch (PyTorch, float32), with modifiers joined by "
            "'-': cl (channels-last), bf16 (bfloat16 autocast, where the CPU has native "
            "bfloat16), fp16 (CUDA), compile (torch.compile with freezing), e.g. "
            "torch-cl-bf16; or onnx (ONNX Runtime on the model exported into the cache "
            "folder $RGB2DEPTH_CACHE or ~/.cache/rgb2depth, or on --model FILE.onnx; needs "
            'pip install "rgb2depth[onnx]"). Default: torch, onnx for a .onnx model',
        )


def load_predictor(args: argparse.Namespace):
    """The Predictor of ``args.model`` on ``args.device`` with ``args.backend`` (torch
    when the command has no ``--backend``)."""
    from rgb2depth import Predictor

    return Predictor.from_pretrained(
        args.model, device=args.device, backend=getattr(args, "backend", None)
    )


# The same names as rgb2depth.geometry.MESH_FORMATS and
# rgb2depth.inference.reconstruct.MESH_KINDS (kept here: building the parser imports no numpy).
MESH_FORMATS = ("glb", "ply", "obj")
MESH_KINDS = ("grid", "poisson")


def bounded(
    convert: type[int] | type[float], lo: float, hi: float, *, expected: str, unit: str = ""
):
    """An argparse type: ``convert(text)`` within [lo, hi]; one-line messages otherwise."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo:g} and {hi:g}{unit}, got {text}")
        return value

    return parse


def _fov(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected degrees, got {text!r}") from None
    if not 0.0 < value < 180.0:
        raise argparse.ArgumentTypeError(f"field of view must be in (0, 180) degrees, got {text}")
    return value


def _max_jump(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _intrinsics(text: str):
    from rgb2depth.geometry import Intrinsics

    try:
        return Intrinsics.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_mesh_options(p: argparse.ArgumentParser, *, mesh_default: str | None) -> None:
    """``--mesh``, ``--format``, ``--max-jump`` and the camera (``--fov`` | ``--intrinsics``)
    for the commands that write meshes (rgb2depth.inference.reconstruct)."""
    p.add_argument(
        "--mesh",
        choices=MESH_KINDS,
        default=mesh_default,
        help="grid: the depth map's pixel grid, no triangles across depth jumps; poisson: "
        "screened Poisson of its points (needs the extra: pip install 'rgb2depth[mesh]')"
        + (f" ({mesh_default})" if mesh_default else "; default: no mesh"),
    )
    p.add_argument(
        "--format",
        choices=MESH_FORMATS,
        default=None,
        help="mesh file with vertex colours: glb (metres), ply or obj (the model's units); "
        "y up, the camera at the origin looking down -z (glb)",
    )
    p.add_argument(
        "--max-jump",
        type=_max_jump,
        default=0.05,
        metavar="REL",
        help="drop triangles whose relative depth spread exceeds REL (0.05)",
    )
    camera = p.add_mutually_exclusive_group()
    camera.add_argument(
        "--fov",
        type=_fov,
        metavar="DEG",
        help="the photo's field of view across its width (default: the camera the model "
        "was trained with, on what the network saw; else 60)",
    )
    camera.add_argument(
        "--intrinsics",
        type=_intrinsics,
        metavar="FX,FY,CX,CY",
        help="the photo's pinhole camera in its own pixels (every input)",
    )
