"""Crop every face of a folder of photos as face mode sees it: RGB-only training photos.

    python scripts/crop_faces.py PHOTOS --out DIR --size 128
    python scripts/crop_faces.py PHOTOS --out DIR --size 128 --every 3 --skip-every

For each photo (in name order; the photos of ``PHOTOS`` itself, not of sub-folders) the
faces are found and cropped by face mode's own code: :func:`rgb2depth.inference.faces.
predict_faces` runs with a stand-in predictor that keeps the crops it is handed, so the
detector (:func:`rgb2depth.data.face_detection.detect_faces`), the crop window
(:func:`~rgb2depth.data.face_detection.face_window`, 1.8 box sides, raised a little) and
the reflection beyond the photo's edges are exactly those of ``rgb2depth predict --face``.
Each crop is then scaled to ``--size`` x ``--size`` as the Predictor scales its input
(PIL bilinear, antialiased when shrinking) and written as ``DIR/<photo stem>_face<k>.png``
(k = 0, 1, ... left to right; ``--largest``: the largest face only). Photos without a
face are listed and skipped.
``DIR/crops.json`` records the selection, each crop's photo, face box and window, and
the photos without a face.

``--every N`` keeps every N-th photo in name order (from ``--offset``), by the rule of
``scripts/face_proxy_eval.py`` (which scores that selection: the held-out third with
``--every 3``); ``--skip-every`` keeps the other photos instead, e.g. the two thirds
left for training with the ``adapt`` method (``method.extra_rgb: DIR``).

The folder is written whole or not at all (under a temporary name, renamed when
complete); an existing ``DIR`` is refused unless ``--overwrite``. Exit status 2 with
one line on a bad input.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SCRIPTS = Path(__file__).resolve().parent


class Fail(Exception):
    """A one-line reason to stop (exit status 2)."""


def _proxy_eval() -> Any:
    """scripts/face_proxy_eval.py as a module: its photo selection is the one rule."""
    spec = importlib.util.spec_from_file_location("face_proxy_eval", SCRIPTS / "face_proxy_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def select(folder: Path, every: int = 1, offset: int = 0, skip: bool = False) -> list[Path]:
    """The photos of ``folder`` in name order: every ``every``-th from ``offset`` (the
    selection of ``scripts/face_proxy_eval.py``), or with ``skip`` all the others.

    Raises:
        Fail: no folder, bad numbers, or nothing selected.
    """
    if every < 1 or offset < 0:
        raise Fail(f"--every must be >= 1 and --offset >= 0, got {every} and {offset}")
    proxy = _proxy_eval()
    try:
        every_photo = proxy.select_photos(folder, 1, 0)
    except proxy.Fail as e:
        raise Fail(str(e)) from None
    try:
        held = proxy.select_photos(folder, every, offset)
    except proxy.Fail:  # (nothing selected: an offset past the last photo)
        held = []
    chosen = [p for p in every_photo if p not in set(held)] if skip else held
    if not chosen:
        raise Fail(f"{folder}: no photo left (every {every}, offset {offset}, skip {skip})")
    return chosen


class _KeepCrops:
    """A stand-in for a Predictor in face mode: keeps each crop it is asked to predict."""

    def __init__(self, size: int) -> None:
        self.input_size = (size, size)
        self.crops: list[np.ndarray] = []

    def predict(self, rgb: np.ndarray, *, tta: str | None = None) -> np.ndarray:
        self.crops.append(np.array(rgb, dtype=np.uint8))
        return np.zeros(rgb.shape[:2], dtype=np.float32)


def scale_crop(crop: np.ndarray, size: int) -> np.ndarray:
    """An (h, w, 3) uint8 crop at the model's aspect -> (size, size, 3), scaled as the
    Predictor scales its input (:func:`rgb2depth.data.io.fit_within`, PIL bilinear)."""
    from PIL import Image

    from rgb2depth.data.io import fit_within

    h, w = fit_within(crop.shape[:2], (size, size))
    img = Image.fromarray(crop)
    if img.size != (w, h):
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    out = np.asarray(img, dtype=np.uint8)
    if (h, w) != (size, size):  # (a square window always fills the square; kept general)
        top, left = (size - h) // 2, (size - w) // 2
        out = np.pad(out, ((top, size - h - top), (left, size - w - left), (0, 0)), "reflect")
    return out


def crop_photo(
    path: Path, size: int, *, largest: bool = False
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Every face of one photo as face mode crops it, scaled to (size, size, 3) uint8.

    Args:
        path: the photo (read upright, full resolution, as face mode reads it).
        size: the crops' side, pixels.
        largest: only the largest face the detector finds (a portrait's sitter; the
            detector's rare second boxes are mostly false faces on necks and shoulders).

    Returns:
        (crops, their records: face box and crop window in photo pixels); empty lists
        when no face is found, or no window meets the photo.

    Raises:
        InputError: the photo cannot be read.
    """
    from rgb2depth.data.face_detection import detect_faces
    from rgb2depth.data.io import read_rgb
    from rgb2depth.inference.faces import NoFaceError, predict_faces

    rgb = read_rgb(path)
    boxes = detect_faces(rgb)
    if largest and boxes:
        boxes = [max(boxes, key=lambda b: b.side)]
    keep = _KeepCrops(size)
    try:
        found = predict_faces(keep, rgb, faces=boxes)
    except NoFaceError:
        return [], []
    # predict_faces asks for a window's depth only when the window meets the photo
    shape = found.depth.shape
    records = [
        face.to_json() | {"window": win.to_json()}
        for face, win in zip(found.faces, found.windows, strict=True)
        if win.inside(shape) is not None
    ]
    if len(records) != len(keep.crops):
        raise RuntimeError(f"{path}: {len(keep.crops)} crops for {len(records)} face windows")
    return [scale_crop(c, size) for c in keep.crops], records


def crop_folder(
    photos: list[Path],
    out: Path,
    size: int,
    *,
    selection: dict[str, Any],
    largest: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Crop the faces of ``photos`` into the folder ``out`` (written whole, atomically).

    Returns:
        The manifest also written to ``out/crops.json``.
    """
    from tqdm.auto import tqdm

    from rgb2depth.data.io import atomic_dir, save_png

    crops: list[dict[str, Any]] = []
    no_face: list[str] = []
    with atomic_dir(out, overwrite=overwrite) as tmp:
        for path in tqdm(photos, desc="faces", unit="photo", disable=not progress):
            images, records = crop_photo(path, size, largest=largest)
            if not images:
                no_face.append(path.name)
            for k, (img, rec) in enumerate(zip(images, records, strict=True)):
                name = f"{path.stem}_face{k}.png"
                save_png(tmp / name, img)
                crops.append({"file": name, "photo": path.name, **rec})
        manifest = {
            **selection,
            "size": size,
            "largest": largest,
            "photos": len(photos),
            "crops": crops,
            "no_face": no_face,
        }
        (tmp / "crops.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        epilog="See the module docstring (the top of this file) for what is written.",
    )
    ap.add_argument("photos", type=Path, help="a folder of photos")
    ap.add_argument("--out", type=Path, required=True, help="the folder of crops to write")
    ap.add_argument("--size", type=int, default=128, help="crop side in pixels (128)")
    ap.add_argument("--every", type=int, default=1, help="keep every N-th photo in name order")
    ap.add_argument("--offset", type=int, default=0, help="... starting at this photo (0)")
    ap.add_argument(
        "--skip-every",
        action="store_true",
        help="keep the photos --every/--offset would not (the complement)",
    )
    ap.add_argument(
        "--largest", action="store_true", help="only the largest face of each photo (portraits)"
    )
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    from rgb2depth.errors import InputError

    try:
        if not 16 <= a.size <= 4096:
            raise Fail(f"--size must be between 16 and 4096 pixels, got {a.size}")
        photos = select(a.photos, a.every, a.offset, a.skip_every)
        selection = {
            "source": str(a.photos),
            "every": a.every,
            "offset": a.offset,
            "skip_every": a.skip_every,
        }
        manifest = crop_folder(
            photos,
            a.out,
            a.size,
            selection=selection,
            largest=a.largest,
            overwrite=a.overwrite,
            progress=not a.quiet,
        )
    except (Fail, InputError) as e:
        print(f"crop_faces: error: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {a.out}: {len(manifest['crops'])} face crops of {a.size}x{a.size} from "
        f"{len(photos)} photos; no face in {len(manifest['no_face'])}"
        + (f": {', '.join(manifest['no_face'])}" if manifest["no_face"] else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
