"""Face mode: depth for each face in a photo, pasted back at the photo's own size.

>>> from rgb2depth import Predictor
>>> from rgb2depth.inference.faces import predict_faces
>>> p = Predictor.from_pretrained("faces-light")
>>> result = predict_faces(p, "group.jpg")      # result.depth: (H, W) float32, NaN off the faces

For each face that :func:`rgb2depth.data.face_detection.detect_faces` finds, the crop
window of :func:`~rgb2depth.data.face_detection.face_window` (a margin of
``FACE_MARGIN`` box sides, at the aspect of the model's input; reflected beyond the
photo's edges) is cut from the full-resolution photo, the Predictor predicts its depth
(scaled to the input and back to the window's size, see
:meth:`~rgb2depth.inference.predictor.Predictor.predict`), and the part of the window
inside the photo is pasted into a photo-sized depth map. Pixels outside every window
have no depth (NaN; count 0 in predict's 16-bit PNG).

Several faces: each gets its own prediction. Where windows overlap, a pixel takes the
depth of the face whose box centre is nearest, measured in that face's box sides (so a
large near face keeps its cheeks against a small face behind it). Each face's depth is
the model's own estimate for that crop; faces are not brought to one common scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rgb2depth.data.face_detection import (
    DETECT_MAX_SIDE,
    DETECT_MIN_FACE,
    FACE_MARGIN,
    CropWindow,
    FaceBox,
    crop_window,
    detect_faces,
    face_window,
)
from rgb2depth.errors import InputError

__all__ = ["FaceDepth", "NoFaceError", "predict_faces"]


class NoFaceError(InputError):
    """No face was found in an input of face mode."""


@dataclass
class FaceDepth:
    """The result of face mode for one photo.

    Attributes:
        depth: (H, W) float32 depth in the predictor's units at the photo's size, NaN
            outside every face's window.
        faces: the face boxes, left to right (photo pixels).
        windows: the whole-pixel crop window of each face (may extend beyond the photo).
        owner: (H, W) int16 index into ``faces`` of the face whose prediction each pixel
            holds, -1 outside every window (None if not recorded).
    """

    depth: np.ndarray
    faces: list[FaceBox] = field(default_factory=list)
    windows: list[CropWindow] = field(default_factory=list)
    owner: np.ndarray | None = None

    @property
    def valid(self) -> np.ndarray:
        """(H, W) bool: where a face's depth was pasted."""
        return np.isfinite(self.depth)

    def to_json(self) -> list[dict[str, Any]]:
        """One entry per face: its box, kind, score and crop window (photo pixels)."""
        return [
            f.to_json() | {"window": w.to_json()}
            for f, w in zip(self.faces, self.windows, strict=True)
        ]


def _read_rgb(image: Any) -> tuple[np.ndarray, str]:
    """A path, PIL image or array -> ((H, W, 3) uint8, a name for messages)."""
    from PIL import Image

    from rgb2depth.data.io import open_rgb
    from rgb2depth.inference.predictor import _as_rgb_array

    if isinstance(image, (str, Path)):
        img, _ = open_rgb(image)  # full resolution, upright
        return np.asarray(img, dtype=np.uint8), str(image)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8), "image"
    return _as_rgb_array(image), "image"


def predict_faces(
    predictor: Any,
    image: Any,
    *,
    tta: str | None = None,
    faces: list[FaceBox] | None = None,
    margin: float = FACE_MARGIN,
) -> FaceDepth:
    """Depth of every face in ``image``, at the image's own size, NaN elsewhere.

    Args:
        predictor: a :class:`~rgb2depth.inference.predictor.Predictor` (anything with
            ``predict(rgb, tta=...)`` returning depth at the crop's size, and
            ``input_size``).
        image: a file path (read upright, full resolution), a PIL image, or an
            (H, W, 3) / (H, W) array (uint8, or float in [0, 1]).
        tta: passed to ``predictor.predict``.
        faces: face boxes to use instead of detecting them (photo pixels).
        margin: the crop margin, box sides on each side (:data:`FACE_MARGIN`).

    Returns:
        A :class:`FaceDepth`.

    Raises:
        NoFaceError: no face was found (the message names the file).
    """
    rgb, name = _read_rgb(image)
    h, w = rgb.shape[:2]
    boxes = detect_faces(rgb) if faces is None else list(faces)
    if not boxes:
        smallest = math.ceil(DETECT_MIN_FACE * max(1.0, max(h, w) / DETECT_MAX_SIDE))
        raise NoFaceError(
            f"{name}: no face found ({w}x{h}); face mode needs a face that the frontal or "
            f"profile face detector finds, at least {smallest} pixels wide (--no-face: "
            "the whole image)"
        )
    ih, iw = predictor.input_size
    depth = np.full((h, w), np.nan, dtype=np.float32)
    owner = np.full((h, w), -1, dtype=np.int16)
    # each pixel's distance to the face that owns it (one face owns its whole window)
    nearest = np.full((h, w), np.inf, dtype=np.float32) if len(boxes) > 1 else None
    windows = []
    for i, box in enumerate(boxes):
        win = face_window(box, aspect=iw / ih, margin=margin).pixels()
        windows.append(win)
        where = win.inside((h, w))
        if where is None:
            continue
        rows, cols, wrows, wcols = where
        pred = np.asarray(predictor.predict(crop_window(rgb, win), tta=tta), dtype=np.float32)
        if pred.shape != (int(win.height), int(win.width)):
            raise ValueError(
                f"predictor returned depth of shape {pred.shape} for a "
                f"{int(win.width)}x{int(win.height)} crop"
            )
        if nearest is None:
            depth[rows, cols] = pred[wrows, wcols]
            owner[rows, cols] = i
            continue
        cx, cy = box.centre
        yy = (np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5 - cy)[:, None]
        xx = (np.arange(cols.start, cols.stop, dtype=np.float32) + 0.5 - cx)[None, :]
        dist = np.sqrt(xx * xx + yy * yy) / np.float32(box.side)
        mine = dist < nearest[rows, cols]
        nearest[rows, cols] = np.where(mine, dist, nearest[rows, cols])
        depth[rows, cols] = np.where(mine, pred[wrows, wcols], depth[rows, cols])
        owner[rows, cols] = np.where(mine, np.int16(i), owner[rows, cols])
    return FaceDepth(depth=depth, faces=boxes, windows=windows, owner=owner)
