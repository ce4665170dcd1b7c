"""``rgb2depth predict INPUT... --out DIR``: depth maps for images and folders."""

from __future__ import annotations

import argparse

from rgb2depth.cli._options import add_inference_options, add_mesh_options, bounded
from rgb2depth.inference.predictor import DEFAULT_MODEL


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="predict depth for images and folders of images",
        description="For each image (a folder stands for its images), write into OUT: "
        "NAME_depth.png (16-bit, depth = offset + scale * count in the model's units, "
        "count 0 = no depth; scale and offset in NAME_depth.json beside it), "
        "NAME_depth_color.png (colourised, near = warm) and with --npy NAME_depth.npy "
        "(float32, the model's units); all at the input's own resolution and upright "
        "orientation (EXIF orientation applied; the aspect ratio is kept by padding, not "
        "squashing). Every readable input is processed: a bad one (missing, not an image, "
        "corrupt) is reported on stderr in one line naming it, the others still get "
        "their complete outputs, and the exit status is 2 if any input was bad (a "
        "summary line says how many succeeded and failed). With --face, each face "
        "found in an image gets its own prediction (a crop around it at the model's "
        "aspect) pasted back at the image's resolution, with no depth (count 0, NaN) "
        "outside the faces; the faces and their crop windows are listed in "
        "NAME_depth.json; an image without a face is a bad input. Face mode is on by "
        "default for a model trained on face crops (faces); --no-face turns it off. "
        "With --mesh, also NAME_mesh.glb (or --format ply / obj) and NAME_mesh.json: the "
        "depth back-projected to a coloured mesh, as rgb2depth reconstruct writes it. "
        "--backend picks how the network runs (PyTorch variants or ONNX Runtime); "
        "--batch-size N runs N whole images through the network at once (the same "
        "depth as one at a time, up to float rounding).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"a bundled model name or a saved model folder ({DEFAULT_MODEL})",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--npy", action="store_true", help="also write float32 NAME_depth.npy")
    p.add_argument(
        "--face",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="face mode: detect the faces, predict each from a crop around it, no depth "
        "elsewhere (default: on for a model trained on face crops, e.g. faces; --no-face: "
        "the whole image)",
    )
    add_inference_options(
        p,
        tta_help="test-time augmentation: flip averages with the mirror image (none)",
        backend=True,
    )
    p.add_argument(
        "--batch-size",
        type=bounded(int, 1, 4096, expected="an integer"),
        default=1,
        metavar="N",
        help="whole images per network call (1); in face mode the faces are predicted "
        "one at a time",
    )
    add_mesh_options(p, mesh_default=None)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _write_mesh(args, out, path, depth, faces, predictor, written) -> None:
    """NAME_mesh.FMT and NAME_mesh.json of a prediction; on failure the depth files
    already ``written`` for this image go too (all or nothing)."""
    import numpy as np

    from rgb2depth.data.io import open_rgb
    from rgb2depth.inference.reconstruct import reconstruct_depth, write_mesh_outputs

    try:
        img, _ = open_rgb(path)  # full resolution, upright: the depth's own size
        rec = reconstruct_depth(
            predictor,
            np.asarray(img, dtype=np.uint8),
            depth,
            faces=faces,
            mesh=args.mesh,
            fov=args.fov,
            intrinsics=args.intrinsics,
            max_rel_jump=args.max_jump,
        )
        write_mesh_outputs(out, path.stem, rec, fmt=args.format)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rgb2depth.cli._inputs import collect_inputs, run_on_inputs
    from rgb2depth.errors import InputError
    from rgb2depth.inference.outputs import write_depth_outputs
    from rgb2depth.inference.predictor import BatchedPredictions, check_backend_request

    check_backend_request(args.model, backend=args.backend, device=args.device)

    if args.mesh is None:
        given = [o for o, v in (("--format", args.format), ("--fov", args.fov)) if v]
        given += ["--intrinsics"] if args.intrinsics is not None else []
        given += ["--max-jump"] if args.max_jump != 0.05 else []
        if given:
            raise InputError(f"{' and '.join(given)} shape the mesh: add --mesh grid or poisson")
    else:
        from rgb2depth.cli.reconstruct import check_mesh_options

        args.format = args.format or "glb"
        check_mesh_options(args)
    n_faces = 0
    ran: dict = {}  # the batches of whole images

    def compute(predictor, path):
        nonlocal n_faces
        if not args.face:
            if args.batch_size == 1:
                return predictor.predict(path, tta=args.tta), None
            if "batches" not in ran:
                files, _ = collect_inputs(args.inputs)  # the order run_on_inputs asks in
                ran["batches"] = BatchedPredictions(
                    predictor, files, batch_size=args.batch_size, tta=args.tta
                )
            return ran["batches"].get(path), None
        result = predictor.predict_faces(path, tta=args.tta)
        n_faces += len(result.faces)
        return result.depth, result

    def write(predictor, path, computed) -> None:
        depth, faces = computed
        extra = {"faces": faces.to_json()} if faces is not None else None
        written = write_depth_outputs(out, path.stem, depth, predictor, npy=args.npy, extra=extra)
        if args.mesh:
            _write_mesh(args, out, path, depth, faces, predictor, written)

    def wrote(predictor, done: int) -> str:
        faces = f", {n_faces} face(s)" if args.face else ""
        meshes = f" and {args.mesh} {args.format} meshes" if args.mesh else ""
        backend = predictor.backend.name
        on = f" on backend {backend}" if backend != "torch" else ""
        return f"wrote depth{meshes} for {done} image(s){faces} to {out} ({predictor.units}){on}"

    out = Path(args.out)
    return run_on_inputs("predict", args, compute=compute, write=write, wrote=wrote)
