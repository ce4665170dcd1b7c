"""Which pixels count: the valid-depth mask and the standard evaluation crops.

Crops (rows ``top:bottom``, columns ``left:right``, end excluded) for an image of
``H`` rows and ``W`` columns; every bound is ``floor(fraction * size)``:

=================  ============================  ============================
name               rows                          columns
=================  ============================  ============================
``"nyu_eigen"``    45/480 H : 471/480 H          41/640 W : 601/640 W
``"kitti_garg"``   0.40810811 H : 0.99189189 H   0.03594771 W : 0.96405229 W
``"kitti_eigen"``  0.3324324 H : 0.91351351 H    0.0359477 W : 0.96405229 W
=================  ============================  ============================

The NYU crop is published in pixels for 480x640 (rows 45:471, cols 41:601). At any
other size it is scaled proportionally, with the fractions kept as exact ratios so
that 480x640 gives exactly the published bounds (240x320 gives rows 22:235,
cols 20:300). The KITTI crops are published as fractions; ``floor(fraction * size)``
is what the reference implementations compute (KITTI 375x1242, Garg: rows 153:371,
cols 44:1197).
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
from torch import Tensor

from rgb2depth.errors import InputError
from rgb2depth.metrics._inputs import check_mask, shape_str, to_bhw

_CROP_FRACTIONS: dict[
    str, tuple[Fraction | float, Fraction | float, Fraction | float, Fraction | float]
]
_CROP_FRACTIONS = {
    "nyu_eigen": (Fraction(45, 480), Fraction(471, 480), Fraction(41, 640), Fraction(601, 640)),
    "kitti_garg": (0.40810811, 0.99189189, 0.03594771, 0.96405229),
    "kitti_eigen": (0.3324324, 0.91351351, 0.0359477, 0.96405229),
}

CROP_NAMES: tuple[str, ...] = tuple(_CROP_FRACTIONS)
"""Names accepted by ``crop=`` (``None`` means no crop)."""


def check_crop_name(crop: str) -> None:
    """Raise :class:`InputError` unless ``crop`` is one of :data:`CROP_NAMES`."""
    if crop not in _CROP_FRACTIONS:
        known = ", ".join(repr(c) for c in CROP_NAMES)
        raise InputError(f"unknown crop {crop!r}; known crops: {known} or None")


def crop_bounds(crop: str, height: int, width: int) -> tuple[int, int, int, int]:
    """Pixel bounds of a named evaluation crop.

    Args:
        crop: one of :data:`CROP_NAMES`.
        height: image height H in pixels.
        width: image width W in pixels.

    Returns:
        ``(top, bottom, left, right)``: the crop is rows ``top:bottom`` and columns
        ``left:right`` (end excluded), each bound ``floor(fraction * size)``.

    Raises:
        InputError: unknown crop name, or an image so small that the crop is empty.
    """
    check_crop_name(crop)
    ft, fb, fl, fr = _CROP_FRACTIONS[crop]
    top, bottom = math.floor(ft * height), math.floor(fb * height)
    left, right = math.floor(fl * width), math.floor(fr * width)
    if bottom <= top or right <= left:
        raise InputError(f"crop {crop!r} is empty on a {height}x{width} image")
    return top, bottom, left, right


def crop_mask(
    crop: str | None, height: int, width: int, *, device: torch.device | str | None = None
) -> Tensor:
    """Boolean mask of a named crop.

    Args:
        crop: one of :data:`CROP_NAMES`, or ``None`` for the whole image.
        height: image height H in pixels.
        width: image width W in pixels.
        device: device of the returned mask.

    Returns:
        (H, W) bool tensor, True inside the crop.
    """
    mask = torch.zeros(height, width, dtype=torch.bool, device=device)
    if crop is None:
        return mask.fill_(True)
    top, bottom, left, right = crop_bounds(crop, height, width)
    mask[top:bottom, left:right] = True
    return mask


def apply_crop(x: Tensor, crop: str | None) -> Tensor:
    """Slice a named crop out of the last two dimensions of a tensor.

    Args:
        x: tensor of shape (..., H, W), e.g. a depth map (B, 1, H, W) or an image (B, 3, H, W).
        crop: one of :data:`CROP_NAMES`, or ``None`` (``x`` is returned unchanged).

    Returns:
        View of shape (..., bottom - top, right - left); see :func:`crop_bounds`.
    """
    if x.ndim < 2:
        raise InputError(f"expected a tensor of shape (..., H, W), got {shape_str(x)}")
    if crop is None:
        return x
    top, bottom, left, right = crop_bounds(crop, x.shape[-2], x.shape[-1])
    return x[..., top:bottom, left:right]


def check_depth_range(min_depth: float, max_depth: float) -> None:
    """Raise :class:`InputError` unless ``min_depth < max_depth`` (max may be inf).

    A negative ``min_depth`` means signed values (surface heights): only the
    metrics of :data:`rgb2depth.metrics.SIGNED_METRICS` are defined then.
    """
    if math.isnan(min_depth) or math.isnan(max_depth) or not min_depth < max_depth:
        raise InputError(
            f"expected min_depth < max_depth, got min_depth={min_depth}, max_depth={max_depth}"
        )


def valid_mask(
    gt: Tensor,
    *,
    min_depth: float = 1e-3,
    max_depth: float = math.inf,
    inclusive: bool = False,
    invalid_value: float | None = 0.0,
    mask: Tensor | None = None,
    crop: str | None = None,
) -> Tensor:
    """Pixels whose ground truth counts in the metrics.

    A pixel is valid when all of these hold:

    - ``gt`` is finite (NaN and +-inf are always invalid) and, unless ``min_depth < 0``
      (signed values such as heights), ``gt > 0`` (the relative and log metrics divide
      by and take the log of ``gt``);
    - ``gt != invalid_value`` (the dataset's "no measurement" code; ``None`` disables it);
    - ``min_depth < gt < max_depth`` (``inclusive=False``, AdaBins / ZoeDepth), or
      ``min_depth <= gt <= max_depth`` (``inclusive=True``, Depth-Anything-V2);
    - the pixel lies inside ``crop`` (see :func:`crop_bounds`);
    - ``mask`` is True there, when given.

    Args:
        gt: ground-truth depth, (B, 1, H, W), (B, H, W) or (H, W), float, dataset units.
        min_depth: lower depth limit, same units; negative for signed values.
        max_depth: upper depth limit, same units, ``> min_depth`` (``inf`` for none).
        inclusive: whether the limits themselves are valid.
        invalid_value: the ground truth's code for missing depth, or ``None``.
        mask: optional extra bool mask, shape of ``gt`` or (H, W).
        crop: one of :data:`CROP_NAMES` or ``None``.

    Returns:
        Bool tensor of the shape of ``gt``.

    Raises:
        InputError: wrong shape or dtype, bad limits, unknown crop.
    """
    if not isinstance(gt, Tensor) or not gt.is_floating_point():
        got = gt.dtype if isinstance(gt, Tensor) else type(gt).__name__
        raise InputError(f"expected a floating-point gt tensor, got {got}")
    check_depth_range(min_depth, max_depth)
    g = to_bhw(gt, "gt")
    valid = torch.isfinite(g)
    if min_depth >= 0:
        valid &= g > 0
    if invalid_value is not None:
        valid &= g != invalid_value
    if inclusive:
        valid &= (g >= min_depth) & (g <= max_depth)
    else:
        valid &= (g > min_depth) & (g < max_depth)
    if crop is not None:
        valid &= crop_mask(crop, g.shape[-2], g.shape[-1], device=g.device)
    if mask is not None:
        valid &= check_mask(mask, gt, g)
    return valid.reshape(gt.shape)
