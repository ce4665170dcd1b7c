"""Seed 001's dynamic face crop, in one place for the Biwi and Pandora converters.

Pini et al., "Learning to Generate Facial Depth Maps" (seed 001), section 3.2: given
the head centre ``(x_H, y_H)`` in a depth map, a box of width and height

    w_H = f_x * R_x / D        h_H = f_y * R_y / D

is cut around it, where ``R_x = R_y = 320`` mm is "the average width and height of a
face", ``f_x = f_y`` the focal length in pixels (365 for Pandora, 370 for Biwi: the
seed's constants, used as stated) and ``D`` "the distance between the head center
and the acquisition device which is estimated averaging the depth values around the
head center". The same box crops the depth map and the intensity image, and the crops
are resized to 96 x 96 pixels (section 4.1).

What the seed leaves open, and what is done here:

- "around the head center": the valid depth values (inside the dataset's depth
  range) of the ``(2 * WINDOW_RADIUS + 1)``-pixel square centred on the head centre's
  pixel; ``D`` is their mean. No valid value there: the frame cannot be cropped.
- The box is centred on the head centre; where it reaches past the image, the RGB
  crop is black and the depth crop invalid there.
- Resampling: RGB with PIL's bilinear filter (antialiased when shrinking); depth by
  nearest neighbour, so that no depth value is invented between a face and the
  background or an invalid hole.

Pixel coordinates in this module are continuous: pixel (row ``i``, column ``j``)
covers ``[j, j + 1) x [i, i + 1)``, its centre is ``(j + 0.5, i + 0.5)`` (the
convention of :class:`rgb2depth.geometry.Intrinsics`). Annotations that give a pixel
index or an OpenCV-style projection (centre of pixel 0 at 0) add 0.5 first.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from rgb2depth.geometry import Intrinsics

FACE_SIZE_MM = 320.0
"""``R_x = R_y``: the face width and height of seed 001's box, in millimetres."""

SEED001_FOCAL_PX = {"pandora": 365.0, "biwi": 370.0}
"""``f_x = f_y`` of seed 001's box formula for each dataset, in pixels, as the seed states."""

OUT_SIZE = 96
"""Side of the square face crops written (seed 001: 96 x 96)."""

WINDOW_RADIUS = 5
"""Half side, in pixels, of the square around the head centre whose mean depth is ``D``."""


@dataclass(frozen=True)
class FaceBox:
    """A face box of seed 001, in continuous pixel coordinates of its image.

    Attributes:
        cx, cy: the head centre (the box centre), pixels.
        width, height: the box size, pixels (``f * R / D``).
        distance: ``D``, the mean depth around the head centre, in depth units (mm).
    """

    cx: float
    cy: float
    width: float
    height: float
    distance: float

    @property
    def x0(self) -> float:
        """Left edge, pixels."""
        return self.cx - self.width / 2.0

    @property
    def y0(self) -> float:
        """Top edge, pixels."""
        return self.cy - self.height / 2.0

    def as_list(self) -> list[float]:
        """``[x0, y0, width, height]``: top-left corner and size, pixels."""
        return [self.x0, self.y0, self.width, self.height]


DEPTH_RANGE = (500.0, 1800.0)
"""Valid depth written by the head-crop converters, mm (as ``rgb2depth generate faces``);
farther background is invalid."""

PNG_SCALE = 0.1
"""mm per count of their depth PNGs (registered or resampled depth is not whole mm)."""


def crop_dataset_info(name: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The ``DatasetWriter.set_info`` fields of a dataset of seed 001's face crops."""
    return {
        "name": name,
        "kind": "faces",
        "depth_units": "mm",
        "depth_range": DEPTH_RANGE,
        "png_scale": PNG_SCALE,
        "extra": extra,
    }


def split_of_subject(subject: Any, test: Collection[Any], val: Collection[Any]) -> str:
    """``test``, ``val`` or ``train`` for a subject by the held-out lists."""
    if subject in test:
        return "test"
    if subject in val:
        return "val"
    return "train"


def box_size(
    distance: float, focal: tuple[float, float], size_mm: tuple[float, float] = (FACE_SIZE_MM,) * 2
) -> tuple[float, float]:
    """Seed 001's equation (6): ``(f_x * R_x / D, f_y * R_y / D)``.

    Args:
        distance: ``D`` in mm, > 0.
        focal: ``(f_x, f_y)`` in pixels.
        size_mm: ``(R_x, R_y)`` in mm.

    Returns:
        (width, height) of the box in pixels.
    """
    if not distance > 0:
        raise ValueError(f"distance must be > 0, got {distance}")
    return focal[0] * size_mm[0] / distance, focal[1] * size_mm[1] / distance


def mean_depth_around(
    depth: np.ndarray,
    valid: np.ndarray,
    center: tuple[float, float],
    radius: int = WINDOW_RADIUS,
) -> float | None:
    """``D``: the mean valid depth of the square window around ``center``.

    Args:
        depth: (H, W) depth in mm.
        valid: (H, W) bool, the pixels that may count.
        center: (x, y) continuous pixel coordinates.
        radius: half side of the window in pixels; the window is the
            ``(2 * radius + 1)``-pixel square centred on the pixel holding ``center``,
            clipped to the image.

    Returns:
        The mean in mm, or None when ``center`` lies outside the image or no pixel of
        the window is valid.
    """
    h, w = depth.shape
    j, i = math.floor(center[0]), math.floor(center[1])
    if not (0 <= j < w and 0 <= i < h):
        return None
    rows = slice(max(0, i - radius), min(h, i + radius + 1))
    cols = slice(max(0, j - radius), min(w, j + radius + 1))
    window, ok = depth[rows, cols], valid[rows, cols]
    if not ok.any():
        return None
    return float(np.asarray(window, dtype=np.float64)[ok].mean())


def face_box(
    depth: np.ndarray,
    valid: np.ndarray,
    center: tuple[float, float],
    focal: tuple[float, float],
    *,
    size_mm: tuple[float, float] = (FACE_SIZE_MM, FACE_SIZE_MM),
    radius: int = WINDOW_RADIUS,
) -> FaceBox | None:
    """Seed 001's face box around ``center`` (see the module docstring).

    Args:
        depth: (H, W) depth in mm.
        valid: (H, W) bool: pixels whose depth may be averaged into ``D``.
        center: the head centre, (x, y) continuous pixel coordinates.
        focal: ``(f_x, f_y)`` of the box formula, pixels.
        size_mm: ``(R_x, R_y)``, mm.
        radius: see :func:`mean_depth_around`.

    Returns:
        The box, or None when ``D`` cannot be estimated (no valid depth near the centre).
    """
    distance = mean_depth_around(depth, valid, center, radius)
    if distance is None or distance <= 0:
        return None
    width, height = box_size(distance, focal, size_mm)
    return FaceBox(float(center[0]), float(center[1]), width, height, distance)


def _sample_grid(box: FaceBox, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous (x of each column, y of each row) where the output pixel centres fall."""
    k = np.arange(size, dtype=np.float64) + 0.5
    return box.x0 + k * box.width / size, box.y0 + k * box.height / size


def crop_depth(
    depth: np.ndarray, valid: np.ndarray, box: FaceBox, size: int = OUT_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``box`` out of a depth map and resize it to ``size`` x ``size`` (nearest).

    Each output pixel takes the source pixel under its centre; outside the image it is
    invalid.

    Args:
        depth: (H, W) depth.
        valid: (H, W) bool.
        box: the crop.
        size: output side in pixels.

    Returns:
        depth: (size, size) float64, 0 where invalid.
        valid: (size, size) bool.
    """
    h, w = depth.shape
    xs, ys = _sample_grid(box, size)
    cols, rows = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    r = np.clip(rows, 0, h - 1)[:, None]
    c = np.clip(cols, 0, w - 1)[None, :]
    ok = inside & valid[r, c]
    out = np.where(ok, np.asarray(depth, dtype=np.float64)[r, c], 0.0)
    return out, ok


def crop_rgb(rgb: np.ndarray, box: FaceBox, size: int = OUT_SIZE) -> np.ndarray:
    """Cut ``box`` out of an RGB image and resize it to ``size`` x ``size`` (bilinear).

    The image is padded with black where the box reaches past it.

    Args:
        rgb: (H, W, 3) uint8.
        box: the crop.
        size: output side in pixels.

    Returns:
        (size, size, 3) uint8.
    """
    from PIL import Image

    h, w = rgb.shape[:2]
    # pad so that the box (plus a margin for the filter's support) lies inside the image
    margin = 2 + math.ceil(max(box.width, box.height) / size)
    left = max(0, margin - math.floor(box.x0))
    top = max(0, margin - math.floor(box.y0))
    right = max(0, math.ceil(box.x0 + box.width) + margin - w)
    bottom = max(0, math.ceil(box.y0 + box.height) + margin - h)
    padded = np.pad(rgb, ((top, bottom), (left, right), (0, 0)))
    region = (box.x0 + left, box.y0 + top, box.x0 + left + box.width, box.y0 + top + box.height)
    img = Image.fromarray(np.ascontiguousarray(padded)).resize(
        (size, size), Image.Resampling.BILINEAR, box=region
    )
    return np.asarray(img, dtype=np.uint8)


def crop_intrinsics(camera: Intrinsics, box: FaceBox, size: int = OUT_SIZE) -> Intrinsics:
    """The pinhole camera of a crop: ``camera`` seen through ``box``, resized to ``size``.

    Args:
        camera: intrinsics of the image the box is in (continuous coordinates).
        box: the crop.
        size: output side in pixels.

    Returns:
        Intrinsics of the (size, size) crop.
    """
    sx, sy = size / box.width, size / box.height
    return Intrinsics(
        camera.fx * sx, camera.fy * sy, (camera.cx - box.x0) * sx, (camera.cy - box.y0) * sy
    )
