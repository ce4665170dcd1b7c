"""``rgb2depth demo``: the main job on the bundled default.

Predicts depth with the default bundled model (``faces``) for the bundled sample
images: a synthetic face that ships with the package (with its true depth, so the
demo prints its error) and a real photograph that ships with scikit-image
(``skimage.data.astronaut``). Writes the files of ``rgb2depth predict`` for each and
an overview sheet into ``--out``. The logic is the library's (:mod:`rgb2depth.demo`);
this module parses and prints. In face mode (``--face``; the default for a model
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
    import time
    from pathlib import Path

    from rgb2depth import Predictor
    from rgb2depth.data.io import save_png
    from rgb2depth.demo import demo_sheet, run_demo
    from rgb2depth.inference.outputs import check_writable, write_depth_outputs

    t0 = time.perf_counter()
    out = Path(args.out)
    check_writable(out)
    predictor = Predictor.from_pretrained(args.model, device=args.device)
    print(f"model {args.model}: {predictor}")
    shots = run_demo(predictor, face=args.face, tta=args.tta)
    for shot in shots:
        print("\n".join(shot.lines))
        save_png(out / f"{shot.name}.png", shot.sample.rgb)
        write_depth_outputs(
            out, shot.name, shot.result.depth, predictor, npy=True, extra=shot.result.extra
        )
    save_png(out / "demo.png", demo_sheet(shots, predictor.depth_range))
    print(
        f"wrote {out}/: NAME.png, NAME_depth.png (+ .json scale), NAME_depth_color.png, "
        f"NAME_depth.npy, demo.png  [{time.perf_counter() - t0:.1f} s]"
    )
    return 0
