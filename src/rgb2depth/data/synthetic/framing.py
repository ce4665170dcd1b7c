"""Synthetic faces framed as face mode frames a photograph (``generate faces --framing face``).

Face mode (``rgb2depth predict --face``) shows a model a crop around each detected face
(:mod:`rgb2depth.data.face_detection`). A model trained on whole frames (a head at 0.5
to 1.5 m, anywhere near the middle) sees something else. With ``framing="face"`` each
sample is the crop face mode would take:

1. the view is drawn as for a whole frame (:meth:`Faces.sample_view`, from the sample's
   own RNG: the same views as ``framing="full"``) and rendered as a *preview*, the
   photo, at :data:`PREVIEW_SHORT_SIDE` pixels on its short side, at the output's aspect;
2. :func:`~rgb2depth.data.face_detection.detect_faces` searches the preview (for faces
   of :data:`SEARCH_SIZE` times the size the geometry expects); a box is
   taken when it is plausibly this head's (centre within :data:`PLAUSIBLE_SHIFT` box
   sides of where the geometry puts it, size within :data:`PLAUSIBLE_SIZE`), the
   nearest such; otherwise (the detector missed, or found only something else) a box
   from geometry stands in (:func:`geometry_box`, calibrated on the detector's boxes and
   jittered by their measured spread, drawn from the sample's RNG);
3. :func:`~rgb2depth.data.face_detection.face_window` puts the crop window around it
   (``FACE_MARGIN``, ``FACE_RAISE``, the output's aspect), exactly as face mode does;
4. the same scene is rendered again at the output size through the window: the camera's
   focal length scaled by output / window size and its principal point moved with the
   window (:func:`window_intrinsics`). The depth is rendered, not resampled, so it stays
   exact; beyond the preview's edges the window shows more of the scene (face mode
   reflects the photo there instead).

Each sample's ``meta`` gains ``framing`` (``source``: ``"detector"`` or ``"geometry"``;
``kind`` of the detector's box; ``box`` and ``window`` as ``[x, y, w, h]`` in preview
pixels; ``preview`` ``[H, W]``) and its own ``intrinsics``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rgb2depth.data.face_detection import (
    DETECT_MIN_FACE,
    FACE_MARGIN,
    FACE_RAISE,
    CropWindow,
    FaceBox,
    detect_faces,
    face_window,
)
from rgb2depth.data.synthetic.base import RenderedSample, SceneKind
from rgb2depth.errors import InputError
from rgb2depth.geometry import Intrinsics

__all__ = [
    "FRAMINGS",
    "PREVIEW_SHORT_SIDE",
    "check_framing",
    "framing_record",
    "geometry_box",
    "plausible_faces",
    "render_framed",
    "window_intrinsics",
]

FRAMINGS = ("full", "face")
"""``full``: the whole frame (the head at 0.5 to 1.5 m); ``face``: face mode's crop."""

PREVIEW_SHORT_SIDE = 256
"""Short side of the preview the detector searches, pixels."""

GEOMETRY_SIDE_MM = 186.0
GEOMETRY_DEPTH_MM = 117.0
GEOMETRY_DY = 0.07
"""The detector's frontal box on a synthetic head at ``distance_mm`` (its nearest point)
is about ``f * GEOMETRY_SIDE_MM / (distance_mm + GEOMETRY_DEPTH_MM)`` pixels wide, its
centre GEOMETRY_DY box sides below where the head's origin (between the eyes) projects:
a least-squares fit by ``scripts/calibrate_framing.py``, which also prints how well it
holds (rerun it when the faces change)."""

GEOMETRY_JITTER = (0.13, 0.11)
"""Spread of the detector's boxes about the geometric one (fitted by the same script):
the centre's standard deviation (box sides, each axis) and the log size's; a stand-in
box is jittered by as much."""

PLAUSIBLE_SHIFT = 0.5
PLAUSIBLE_SIZE = (0.6, 1.7)
"""A detected box is this head's when its centre lies within PLAUSIBLE_SHIFT geometric box
sides of the geometric centre (each axis) and its side within PLAUSIBLE_SIZE times the
geometric side."""

SEARCH_SIZE = (0.5, 2.0)
"""The preview is searched for faces of these multiples of the geometric side only (a
little wider than PLAUSIBLE_SIZE), which is faster than searching every size and finds
the same plausible boxes (the search scales do not depend on the limits;
``tests/test_framing.py`` compares the two)."""


def check_framing(kind: SceneKind, framing: str) -> None:
    """Refuse a framing the kind does not have.

    Raises:
        InputError: unknown framing, or ``face`` for a kind other than faces.
    """
    from rgb2depth.data.synthetic.faces import Faces

    if framing not in FRAMINGS:
        raise InputError(f"unknown framing {framing!r}; use {' or '.join(FRAMINGS)}")
    if framing == "face" and not isinstance(kind, Faces):
        raise InputError(
            f"framing 'face' is for the faces kind only (it crops each sample around its "
            f"face as predict --face does), got kind {kind.name!r}"
        )


def preview_size(height: int, width: int) -> tuple[int, int]:
    """(H, W) of the preview: the output's aspect, :data:`PREVIEW_SHORT_SIDE` short side."""
    s = PREVIEW_SHORT_SIDE / min(height, width)
    return max(1, round(height * s)), max(1, round(width * s))


def window_intrinsics(
    full: dict[str, float], window: CropWindow, height: int, width: int
) -> dict[str, float]:
    """The pinhole that sees ``window`` of an image with intrinsics ``full`` as an
    (height, width) image: focal length scaled by output / window size, principal point
    moved with the window's corner."""
    sx, sy = width / window.width, height / window.height
    return Intrinsics.from_dict(full).cropped(window.left, window.top).scaled(sx, sy).as_dict()


def geometry_box(
    kind: Any, params: dict[str, Any], size: tuple[int, int], rng: np.random.Generator | None = None
) -> FaceBox:
    """Where the detector's box on the head of view ``params`` is expected, from geometry.

    The head's origin projects at the frame's centre plus ``offset_x``, ``offset_y``
    times the short side (:meth:`Faces.render_view`); the box's side and its centre's
    offset from there follow :data:`GEOMETRY_SIDE_MM`, :data:`GEOMETRY_DEPTH_MM` and
    :data:`GEOMETRY_DY`. With ``rng``, the box is
    jittered by :data:`GEOMETRY_JITTER` (three normal draws).
    """
    h, w = size
    intr = kind.intrinsics(h, w)
    short = min(h, w)
    side = intr["fx"] * GEOMETRY_SIDE_MM / (params["distance_mm"] + GEOMETRY_DEPTH_MM)
    cx = intr["cx"] + params["offset_x"] * short
    cy = intr["cy"] + params["offset_y"] * short + GEOMETRY_DY * side
    if rng is not None:
        shift, spread = GEOMETRY_JITTER
        dx, dy, ds = rng.standard_normal(3)
        cx, cy = cx + shift * side * dx, cy + shift * side * dy
        side *= math.exp(spread * ds)
    return FaceBox(cx - 0.5 * side, cy - 0.5 * side, side, side, "given", 0)


def _plausible(box: FaceBox, expected: FaceBox) -> bool:
    (bx, by), (ex, ey) = box.centre, expected.centre
    lo, hi = PLAUSIBLE_SIZE
    near = max(abs(bx - ex), abs(by - ey)) <= PLAUSIBLE_SHIFT * expected.side
    return near and lo <= box.side / expected.side <= hi


def plausible_faces(rgb: np.ndarray, expected: FaceBox, *, limited: bool = True) -> list[FaceBox]:
    """The detector's boxes on a preview that are plausibly the head ``expected`` stands
    for; ``limited``: search only faces of :data:`SEARCH_SIZE` times its side."""
    if limited:
        lo, hi = SEARCH_SIZE
        boxes = detect_faces(
            rgb,
            min_size=max(DETECT_MIN_FACE, math.floor(lo * expected.side)),
            max_size=math.ceil(hi * expected.side),
        )
    else:
        boxes = detect_faces(rgb)
    return [b for b in boxes if _plausible(b, expected)]


def render_framed(
    kind: Any, group: dict[str, Any], rng: np.random.Generator, height: int, width: int
) -> RenderedSample:
    """One view of ``group`` framed as face mode would crop it (see the module docstring).

    Args:
        kind: a :class:`~rgb2depth.data.synthetic.faces.Faces`.
        group: the identity.
        rng: the sample's RNG (draws the view, then the stand-in box's jitter if needed).
        height, width: output size; the crop window has its aspect.

    Returns:
        The sample rendered through the window, its ``meta`` with ``framing`` and
        ``intrinsics``.
    """
    params = kind.sample_view(rng)
    ph, pw = preview_size(height, width)
    preview = kind.render_view(group, params, ph, pw)
    expected = geometry_box(kind, params, (ph, pw))
    found = plausible_faces(preview.rgb, expected)
    if found:
        ex, ey = expected.centre
        box = min(found, key=lambda b: math.hypot(b.centre[0] - ex, b.centre[1] - ey))
        source = "detector"
    else:
        box, source = geometry_box(kind, params, (ph, pw), rng), "geometry"
    window = face_window(box, aspect=width / height)
    intr = window_intrinsics(kind.intrinsics(ph, pw), window, height, width)
    sample = kind.render_view(group, params, height, width, intrinsics=intr)
    sample.meta["framing"] = {
        "source": source,
        "kind": box.kind,
        "box": [round(v, 3) for v in (box.x, box.y, box.w, box.h)],
        "window": window.to_json(),
        "preview": [ph, pw],
    }
    sample.meta["intrinsics"] = {k: round(v, 6) for k, v in intr.items()}
    return sample


def framing_record(framing: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``dataset.json`` records of a framing: its settings and the detector's hits."""
    if framing != "face":
        return {"framing": framing}
    hits = sum(1 for r in rows if r.get("framing", {}).get("source") == "detector")
    return {
        "framing": framing,
        "face_framing": {
            "preview_short_side": PREVIEW_SHORT_SIDE,
            "face_margin": FACE_MARGIN,
            "face_raise": FACE_RAISE,
            "detector_hits": hits,
            "samples": len(rows),
        },
    }
