"""``rgb2depth reconstruct INPUT... --out DIR``: coloured 3D meshes (and turntables) of photos."""

from __future__ import annotations

import argparse

from rgb2depth.cli._options import add_inference_options, add_mesh_options, bounded
from rgb2depth.inference.predictor import DEFAULT_MODEL

_views = bounded(int, 0, 360, expected="a whole number")
_size = bounded(int, 16, 4096, expected="pixels", unit=" pixels")
_yaw = bounded(float, 0.0, 90.0, expected="degrees", unit=" degrees")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="coloured 3D meshes of photos (GLB, PLY, OBJ) and turntables of views",
        description="For each image (a folder stands for its images), predict its depth, "
        "back-project it through a pinhole camera to a coloured mesh and write into OUT: "
        "NAME_mesh.glb (or .ply / .obj with --format) and NAME_mesh.json (the camera, "
        "units and counts); with --views K also K PNG views NAME_view_00.png ... of a "
        "turntable swinging by --max-yaw to each side (and NAME_turntable.gif with --gif). "
        "The camera: --intrinsics or --fov for the photo; by default the camera the model "
        "was trained with (faces: 35 degrees across the shorter side) on what the network "
        "saw, in face mode each face's crop window; 60 degrees across the width for a "
        "model whose camera is unknown. Bad inputs are reported on stderr, one line each; "
        "the others are still processed and the exit status is 2.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"a bundled model name or a saved model folder ({DEFAULT_MODEL})",
    )
    p.add_argument("--out", required=True, help="output folder")
    add_mesh_options(p, mesh_default="grid")
    p.add_argument(
        "--views", type=_views, default=0, metavar="K", help="write K turntable views (0)"
    )
    p.add_argument("--gif", action="store_true", help="also write the views as a looping GIF")
    p.add_argument(
        "--view-size",
        type=_size,
        default=384,
        metavar="PX",
        help="long side of the views in pixels, at most the region's own (384)",
    )
    p.add_argument(
        "--max-yaw",
        type=_yaw,
        default=30.0,
        metavar="DEG",
        help="the turntable's swing to each side in degrees (30)",
    )
    p.add_argument(
        "--face",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="face mode: mesh each face found, from its own crop (default: on for a model "
        "trained on face crops, e.g. faces)",
    )
    add_inference_options(
        p, tta_help="test-time augmentation: flip averages with the mirror image (none)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def check_mesh_options(args: argparse.Namespace) -> None:
    """What the argument parser cannot check, before any model is loaded or file written.

    Raises:
        InputError: ``--gif`` without ``--views``, or Poisson without its optional extra.
    """
    from rgb2depth.errors import InputError
    from rgb2depth.geometry import _poisson_missing, poisson_available

    if getattr(args, "gif", False) and not getattr(args, "views", 0):
        raise InputError("--gif needs --views K (the frames of the GIF)")
    if args.mesh == "poisson" and not poisson_available():
        raise InputError(f"--mesh poisson: {_poisson_missing()}")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rgb2depth.cli._inputs import run_on_inputs
    from rgb2depth.inference.reconstruct import reconstruct, write_mesh_outputs

    args.format = args.format or "glb"
    check_mesh_options(args)
    camera = ""

    def compute(predictor, path):
        return reconstruct(
            predictor,
            path,
            face=args.face,
            mesh=args.mesh,
            fov=args.fov,
            intrinsics=args.intrinsics,
            max_rel_jump=args.max_jump,
            tta=args.tta,
        )

    def write(predictor, path, rec) -> None:
        nonlocal camera
        write_mesh_outputs(
            out,
            path.stem,
            rec,
            fmt=args.format,
            views=args.views,
            gif=args.gif,
            size=args.view_size,
            max_yaw_deg=args.max_yaw,
        )
        camera = rec.camera_source

    def wrote(predictor, done: int) -> str:
        views = f", {args.views} view(s) each" if args.views else ""
        seen = f" (camera: {camera})" if done else ""
        return f"wrote {args.mesh} {args.format} meshes of {done} image(s){views} to {out}{seen}"

    out = Path(args.out)
    return run_on_inputs("reconstruct", args, compute=compute, write=write, wrote=wrote)
