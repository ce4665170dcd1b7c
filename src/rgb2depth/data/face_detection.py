"""Faces in a photograph: where they are, and the window face mode crops around each.

The one place for the framing convention that face mode (``rgb2depth predict --face``,
:mod:`rgb2depth.inference.faces`) and the training data that matches it
(``rgb2depth generate faces --framing face``) share:

1. :func:`detect_faces` finds faces with OpenCV's Haar cascades, which ship inside the
   ``opencv-python-headless`` wheel (nothing is downloaded): the frontal cascade, and
   the profile cascade on the image and on its mirror image (it finds faces turned one
   way); overlapping boxes are merged (a frontal box wins over a profile box), a weak box
   inside a much stronger face's head window is dropped (:data:`WEAK_RATIO`), the rest
   sorted left to right. The parameters are fixed, so the same image gives the same boxes.
2. :func:`face_window` puts a crop window around a box: centred on the box (raised by
   :data:`FACE_RAISE` box sides, so that forehead and hair fit), its short side
   ``1 + 2 * FACE_MARGIN`` box sides, at the aspect the model was trained on. The window
   may extend beyond the image.
3. :func:`crop_window` cuts the window's pixels out of the image, filling what lies
   beyond the image by reflection (as the Predictor's letterbox pads).

Coordinates: pixels of the image, x right, y down; pixel (0, 0) covers [0, 1) x [0, 1),
so a box ``(x, y, w, h)`` covers ``[x, x + w) x [y, y + h)``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rgb2depth.errors import InputError

__all__ = [
    "FACE_MARGIN",
    "FACE_RAISE",
    "WEAK_RATIO",
    "CropWindow",
    "FaceBox",
    "crop_window",
    "detect_faces",
    "drop_weak_neighbours",
    "face_window",
]

FACE_MARGIN = 0.4
"""Margin added on each side of a face box, as a fraction of the box side: the crop
window's short side is ``1 + 2 * FACE_MARGIN`` = 1.8 box sides (the whole head and a
little neck and background)."""

FACE_RAISE = 0.1
"""The window's centre lies this fraction of the box side above the box's centre: the
frontal cascade's box is centred near the nose, a head's middle is higher."""

DETECT_MAX_SIDE = 1024
"""Photos are searched at most this many pixels on their long side (a larger photo is
shrunk for the search, its boxes scaled back to its own pixels)."""

DETECT_MIN_FACE = 24
"""The smallest face searched for, pixels at the search scale (the cascades' own size)."""

SCALE_FACTOR = 1.1
"""Step between the search scales."""

MIN_NEIGHBOURS = 6
"""Overlapping raw detections a face needs to be kept (fewer: more false faces; at 5,
scikit-image's astronaut beside its mirror image shows a third, false face)."""

MERGE_IOU = 0.3
"""Boxes overlapping more than this (intersection over union), or one holding the
other's centre, are one face."""

WEAK_RATIO = 2.0
"""A box whose centre lies inside a stronger face's head window (:func:`face_window`,
square) is a false face when that face's score is at least this many times its own: the
cascades' false faces in portraits sit on chins, necks, collars and hair beside the real
face. In the 879 single-person US Congress portraits, 14 had a second box and 3 keep
one (``scripts/count_faces.py``); in the third of them that ``face_proxy_eval.py``
scores and in the 15 gallery photos, the 8 false boxes scored 7 to 11 against the real
face's 24 to 139. Two real faces that close (cheek to cheek) mostly score alike and are
both kept."""

_CASCADES = {
    "frontal": "haarcascade_frontalface_default.xml",
    "profile": "haarcascade_profileface.xml",
}


@dataclass(frozen=True)
class FaceBox:
    """One detected face.

    Attributes:
        x, y: top-left corner, pixels of the image.
        w, h: size, pixels.
        kind: ``"frontal"``, ``"profile"`` (found by the profile cascade) or
            ``"given"`` (made by a caller, e.g. from geometry).
        score: how many raw detections the cascade merged into it (0 when given).
    """

    x: float
    y: float
    w: float
    h: float
    kind: str = "given"
    score: int = 0

    @property
    def centre(self) -> tuple[float, float]:
        """(x, y) of the box's centre, pixels."""
        return self.x + 0.5 * self.w, self.y + 0.5 * self.h

    @property
    def side(self) -> float:
        """The box's side (the mean of width and height; the cascades' boxes are square)."""
        return 0.5 * (self.w + self.h)

    def iou(self, other: FaceBox) -> float:
        """Intersection over union with ``other``."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0

    def holds(self, point: tuple[float, float]) -> bool:
        """Whether ``point`` (x, y) lies inside the box."""
        px, py = point
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h

    def to_json(self) -> dict[str, Any]:
        return {
            "box": [round(v, 3) for v in (self.x, self.y, self.w, self.h)],
            "kind": self.kind,
            "score": self.score,
        }


@dataclass(frozen=True)
class CropWindow:
    """A crop window: ``[left, left + width) x [top, top + height)`` in image pixels.

    It may extend beyond the image (negative ``left`` / ``top``, or past the far edge).
    Face mode crops whole pixels (:meth:`pixels`); the generator renders the exact
    window.
    """

    left: float
    top: float
    width: float
    height: float

    def pixels(self) -> CropWindow:
        """The window on whole pixels: corner and size each rounded (a square stays square)."""
        width, height = max(1, round(self.width)), max(1, round(self.height))
        return CropWindow(round(self.left), round(self.top), width, height)

    def inside(self, image_hw: tuple[int, int]) -> tuple[slice, slice, slice, slice] | None:
        """Where a whole-pixel window and the image overlap.

        Returns:
            (image rows, image columns, window rows, window columns) as slices, or
            None when the window misses the image.
        """
        h, w = image_hw
        left, top = int(self.left), int(self.top)
        right, bottom = left + int(self.width), top + int(self.height)
        r0, r1 = max(0, top), min(h, bottom)
        c0, c1 = max(0, left), min(w, right)
        if r0 >= r1 or c0 >= c1:
            return None
        return (
            slice(r0, r1),
            slice(c0, c1),
            slice(r0 - top, r1 - top),
            slice(c0 - left, c1 - left),
        )

    def to_json(self) -> list[float]:
        return [round(float(v), 3) for v in (self.left, self.top, self.width, self.height)]


def face_window(
    box: FaceBox,
    *,
    aspect: float = 1.0,
    margin: float = FACE_MARGIN,
    raise_by: float = FACE_RAISE,
) -> CropWindow:
    """The crop window around ``box`` that face mode feeds to a model.

    Args:
        box: a face box in image pixels.
        aspect: width / height of the model's input (1.0 for a square model).
        margin: added on each side, fraction of the box side (:data:`FACE_MARGIN`).
        raise_by: the window's centre above the box's, fraction of the box side
            (:data:`FACE_RAISE`).

    Returns:
        A window of exactly ``aspect``, its short side ``(1 + 2 * margin) * box.side``;
        it may extend beyond the image.
    """
    if not (aspect > 0 and math.isfinite(aspect)):
        raise InputError(f"aspect must be a positive number, got {aspect!r}")
    side = (1.0 + 2.0 * margin) * box.side
    if aspect >= 1.0:
        height, width = side, side * aspect
    else:
        height, width = side / aspect, side
    cx, cy = box.centre
    cy -= raise_by * box.side
    return CropWindow(cx - 0.5 * width, cy - 0.5 * height, width, height)


def _reflect(index: np.ndarray, n: int) -> np.ndarray:
    """Indices reflected into [0, n) as ``np.pad(mode="reflect")`` does (edge not repeated)."""
    if n == 1:
        return np.zeros_like(index)
    period = 2 * (n - 1)
    i = np.mod(index, period)
    return np.where(i >= n, period - i, i)


def crop_window(image: np.ndarray, window: CropWindow) -> np.ndarray:
    """The pixels of a whole-pixel ``window`` of ``image``, reflected beyond its edges.

    Args:
        image: (H, W) or (H, W, C) array.
        window: a whole-pixel window (:meth:`CropWindow.pixels`).

    Returns:
        (window.height, window.width[, C]) array of ``image``'s dtype.
    """
    h, w = image.shape[:2]
    win = window.pixels()
    rows = _reflect(np.arange(int(win.top), int(win.top + win.height)), h)
    cols = _reflect(np.arange(int(win.left), int(win.left + win.width)), w)
    return image[rows[:, None], cols[None, :]]


@functools.cache
def _cascade(kind: str) -> Any:
    import cv2
    import cv2.data

    path = str(cv2.data.haarcascades) + _CASCADES[kind]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(
            f"OpenCV's {_CASCADES[kind]} did not load from {path}; reinstall "
            "opencv-python-headless<5 (its wheel ships the Haar cascades)"
        )
    return cascade


def _search(
    gray: np.ndarray, kind: str, min_size: int, max_size: int = 0
) -> list[tuple[int, int, int, int, int]]:
    """Raw (x, y, w, h, neighbours) of one cascade on one gray image (max_size 0: none)."""
    rects, counts = _cascade(kind).detectMultiScale2(
        gray,
        scaleFactor=SCALE_FACTOR,
        minNeighbors=MIN_NEIGHBOURS,
        minSize=(min_size, min_size),
        maxSize=(max_size, max_size),
    )
    return [
        (int(x), int(y), int(w), int(h), int(c))
        for (x, y, w, h), c in zip(rects, np.ravel(counts), strict=True)
    ]


def _as_uint8_rgb(rgb: np.ndarray) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(f"expected an (H, W, 3) or (H, W) image, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got dtype {arr.dtype}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise InputError(f"image too small: {arr.shape[1]}x{arr.shape[0]}")
    return arr


def detect_faces(
    rgb: np.ndarray,
    *,
    min_size: int = DETECT_MIN_FACE,
    max_size: int | None = None,
    weak_ratio: float | None = WEAK_RATIO,
) -> list[FaceBox]:
    """The faces in a photograph, left to right.

    The image is searched in gray (histogram equalised) at most :data:`DETECT_MAX_SIDE`
    pixels on its long side, with the frontal cascade and with the profile cascade on
    the image and its mirror image. Boxes of one face (overlap above
    :data:`MERGE_IOU`, or one holding the other's centre) are merged: a frontal box
    wins over a profile box, then the higher score. A profile box is used as it is (how
    its size relates to a frontal box of the same face is not calibrated). Then a box
    within a much stronger face's head window is dropped as a false face
    (:func:`drop_weak_neighbours`).

    Args:
        rgb: (H, W, 3) uint8 RGB (RGBA or (H, W) gray also accepted).
        min_size: smallest face searched for, pixels at the search scale.
        max_size: largest face searched for, pixels at the search scale (None: any).
            The search scales are the same whatever the limits, so a face within them
            is found as in a search without them (only raw detections at the excluded
            scales no longer count toward its score).
        weak_ratio: drop a box inside the head window of a face scoring this many times
            as much (:func:`drop_weak_neighbours`); None keeps every box.

    Returns:
        Boxes in ``rgb``'s own pixels, sorted by their left edge (then top); empty
        when no face is found.
    """
    import cv2

    arr = _as_uint8_rgb(rgb)
    h, w = arr.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    if arr.ndim == 2:
        gray = arr
    else:
        code = cv2.COLOR_RGB2GRAY if arr.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        gray = cv2.cvtColor(np.ascontiguousarray(arr), code)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(np.ascontiguousarray(gray))
    sw = gray.shape[1]
    largest = 0 if max_size is None else max(1, int(max_size))
    found: list[FaceBox] = []
    for x, y, bw, bh, c in _search(gray, "frontal", min_size, largest):
        found.append(FaceBox(x / scale, y / scale, bw / scale, bh / scale, "frontal", c))
    mirrored = np.ascontiguousarray(gray[:, ::-1])
    raw = _search(gray, "profile", min_size, largest)
    raw += [
        (sw - x - bw, y, bw, bh, c)
        for x, y, bw, bh, c in _search(mirrored, "profile", min_size, largest)
    ]
    for x, y, bw, bh, c in raw:
        found.append(FaceBox(x / scale, y / scale, bw / scale, bh / scale, "profile", c))
    found.sort(key=lambda b: (b.kind != "frontal", -b.score, -b.w * b.h, b.x, b.y))
    kept: list[FaceBox] = []
    for box in found:
        if not any(_same_face(box, k) for k in kept):
            kept.append(box)
    if weak_ratio is not None:
        kept = drop_weak_neighbours(kept, weak_ratio)
    return sorted(kept, key=lambda b: (b.x, b.y))


def drop_weak_neighbours(boxes: list[FaceBox], ratio: float = WEAK_RATIO) -> list[FaceBox]:
    """``boxes`` without the false faces beside a real one.

    A box is dropped when its centre lies inside the square head window
    (:func:`face_window`) of another box that scores at least ``ratio`` times as much.
    Boxes made by a caller (score 0) are always kept. Whether a box
    goes is decided against every other box of the input, so the order does not matter.

    Args:
        boxes: merged detections (one box per face).
        ratio: how many times stronger the other face must be (:data:`WEAK_RATIO`).

    Returns:
        The boxes kept, in their input order.
    """

    def beside(weak: FaceBox, strong: FaceBox) -> bool:
        if strong is weak or weak.score <= 0 or strong.score < ratio * weak.score:
            return False
        win = face_window(strong)
        px, py = weak.centre
        return win.left <= px < win.left + win.width and win.top <= py < win.top + win.height

    return [b for b in boxes if not any(beside(b, other) for other in boxes)]


def _same_face(a: FaceBox, b: FaceBox) -> bool:
    return a.iou(b) > MERGE_IOU or a.holds(b.centre) or b.holds(a.centre)
