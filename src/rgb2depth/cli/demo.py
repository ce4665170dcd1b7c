"""``rgb2depth demo``: the main job on the bundled default.

Predicts depth with the default bundled model (``faces``) for the bundled sample
images: a synthetic face that ships with the package (with its true depth, so the
demo prints its error) and a real photograph that ships with scikit-image
(``skimage.data.astronaut``). Writes the files of ``rgb2depth predict`` for each and
an overview sheet into ``--out``. In face mode (``--face``; the default for a model
trained on face crops, such as ``faces``), each image goes through
:mod:`rgb2depth.inference.faces`: depth only inside the crop around each detected face.
"""

from __future__ import annotations

import argparse

from rgb2depth.cli._options import add_inference_options
from rgb2depth.inference.predictor import DEFAULT_MODEL


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: depth for the bundled sample images with the bundled model",
        description="Predict depth for the bundled sample images (a synthetic face with its "
        "true depth, and scikit-image's astronaut photograph) with a bundled model, "
        "print the face's error, and write depth PNG/JSON/colour files and demo.png "
        "(image | predicted depth | true depth) into OUT. With --face (the default for a "
        "model trained on face crops), face mode as in "
        "predict --face: each detected face predicted from a crop around it, no depth "
        "elsewhere (the face's error is measured where both have depth).",
    )
    p.add_argument("--out", default="outputs/demo", help="output folder (outputs/demo)")
    p.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"bundled model or folder ({DEFAULT_MODEL})"
    )
    add_inference_options(p, tta_help="test-time augmentation (none)")
    p.add_argument(
        "--face",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="face mode: depth for the detected faces only (default: on for a model trained "
        "on face crops, e.g. faces)",
    )
    p.add_argument("--quiet", action="store_true", help="accepted for symmetry; prints little")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    import time
    from importlib import resources
    from pathlib import Path

    import numpy as np
    import torch
    from skimage import data as skdata

    from rgb2depth import Predictor
    from rgb2depth.data.io import read_depth, read_rgb, save_png
    from rgb2depth.evaluation import metric_settings
    from rgb2depth.inference.outputs import check_writable, write_depth_outputs
    from rgb2depth.metrics import compute_depth_metrics
    from rgb2depth.viz import colorize_depth, contact_sheet

    t0 = time.perf_counter()
    out = Path(args.out)
    check_writable(out)
    predictor = Predictor.from_pretrained(args.model, device=args.device)
    if args.face is None:
        args.face = predictor.framing == "face"
    samples = resources.files("rgb2depth") / "samples"
    meta = json.loads((samples / "samples.json").read_text(encoding="utf-8"))["face"]
    face = read_rgb(Path(str(samples / meta["rgb"])))
    gt, valid = read_depth(
        Path(str(samples / meta["depth"])),
        png_scale=meta["png_scale"],
        png_offset=meta["png_offset"],
    )
    images = {"face": face, "astronaut": skdata.astronaut()}
    lo, hi = predictor.depth_range
    tiles = []
    print(f"model {args.model}: {predictor}")
    for name, rgb in images.items():
        depth, extra = _predict(predictor, name, rgb, args)
        has = np.isfinite(depth)
        save_png(out / f"{name}.png", rgb)
        write_depth_outputs(out, name, depth, predictor, npy=True, extra=extra)
        group = [rgb, colorize_depth(depth, has, vmin=lo, vmax=hi)]
        h, w = depth.shape
        if name == "face":
            group.append(colorize_depth(gt, valid, vmin=lo, vmax=hi))
            if meta["depth_units"] != predictor.units:
                print(
                    f"  face: the model predicts {predictor.units}; true depth is in "
                    f"{meta['depth_units']}, not compared"
                )
            else:
                m = compute_depth_metrics(
                    torch.from_numpy(depth)[None, None],
                    torch.from_numpy(gt)[None, None],
                    mask=torch.from_numpy(valid & has)[None, None],
                    **metric_settings((lo, hi)),
                )
                print(
                    f"  face ({w}x{h}, synthetic, true depth known): "
                    f"rmse {m['rmse']:.1f} {predictor.units}, abs_rel {m['abs_rel']:.4f}, "
                    f"delta1 {m['delta1']:.3f}; true median depth "
                    f"{float(np.median(gt[valid & has])):.0f}, predicted "
                    f"{float(np.median(depth[valid & has])):.0f} {predictor.units}"
                )
        else:
            group.append(np.zeros_like(rgb))
            print(
                f"  {name} ({w}x{h}, a real photograph from scikit-image): predicted depth "
                f"{float(depth[has].min()):.0f} to {float(depth[has].max()):.0f} {predictor.units} "
                "(no ground truth)"
            )
        tiles.append(group)
    size = min(t.shape[0] for g in tiles for t in g)
    tiles = [[_fit(t, size) for t in g] for g in tiles]
    save_png(out / "demo.png", contact_sheet(tiles, columns=1))
    print(
        f"wrote {out}/: NAME.png, NAME_depth.png (+ .json scale), NAME_depth_color.png, "
        f"NAME_depth.npy, demo.png  [{time.perf_counter() - t0:.1f} s]"
    )
    return 0


def _predict(predictor, name: str, rgb, args: argparse.Namespace):
    """(depth, extra JSON) of one demo image; face mode with --face (the whole image,
    with a notice, when no face is found)."""
    from rgb2depth.inference.faces import NoFaceError

    if not args.face:
        return predictor.predict(rgb, tta=args.tta), None
    try:
        result = predictor.predict_faces(rgb, tta=args.tta)
    except NoFaceError:
        print(f"  {name}: no face found; predicted the whole image instead")
        return predictor.predict(rgb, tta=args.tta), {"faces": []}
    boxes = ", ".join(
        f"{f.kind} {f.w:.0f}x{f.h:.0f} at ({f.x:.0f}, {f.y:.0f})" for f in result.faces
    )
    print(f"  {name}: {len(result.faces)} face(s): {boxes}")
    return result.depth, {"faces": result.to_json()}


def _fit(img, size: int):
    """Resize an (H, W, 3) uint8 image to height ``size`` (keeping its aspect)."""
    import numpy as np
    from PIL import Image

    h, w = img.shape[:2]
    if h == size:
        return img
    return np.asarray(
        Image.fromarray(img).resize((round(w * size / h), size), Image.Resampling.BILINEAR)
    )
