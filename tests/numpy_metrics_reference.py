"""An independent numpy implementation of the depth metrics, for tests only.

Written from the formulas (FIELD-NOTES section 1 and the conventions documented in
``rgb2depth.metrics``), image by image with plain numpy and no torch, and without
the running-sum design of the library: every metric is computed directly from the
arrays of valid pixels (pooled: the concatenation over images). Least squares uses
``numpy.linalg.lstsq``; medians use ``numpy.median``. SSIM is not reimplemented.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

FLOOR = 1e-6  # the library's PRED_FLOOR and ALIGN_EPS

CROPS = {
    "nyu_eigen": (Fraction(45, 480), Fraction(471, 480), Fraction(41, 640), Fraction(601, 640)),
    "kitti_garg": (0.40810811, 0.99189189, 0.03594771, 0.96405229),
    "kitti_eigen": (0.3324324, 0.91351351, 0.0359477, 0.96405229),
}


def reference_valid(
    gt: np.ndarray,
    *,
    min_depth: float,
    max_depth: float,
    inclusive: bool,
    invalid_value: float | None,
    crop: str | None,
    mask: np.ndarray | None,
) -> np.ndarray:
    """Valid pixels of one (H, W) ground-truth map."""
    h, w = gt.shape
    valid = np.zeros((h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            g = gt[i, j]
            if not np.isfinite(g) or g <= 0:
                continue
            if invalid_value is not None and g == invalid_value:
                continue
            if inclusive:
                inside = min_depth <= g <= max_depth
            else:
                inside = min_depth < g < max_depth
            valid[i, j] = inside
    if crop is not None:
        ft, fb, fl, fr = CROPS[crop]
        box = np.zeros((h, w), dtype=bool)
        box[math.floor(ft * h) : math.floor(fb * h), math.floor(fl * w) : math.floor(fr * w)] = True
        valid &= box
    if mask is not None:
        valid &= mask
    return valid


def _lstsq(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    design = np.stack([x, np.ones_like(x)], axis=1)
    (s, t), *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(s), float(t)


def reference_align(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, align: str) -> np.ndarray:
    """Align one (H, W) prediction to its ground truth."""
    fit = valid & np.isfinite(pred)
    if align == "none" or not fit.any():
        return pred.copy()
    if align == "median":
        return pred * (np.median(gt[fit]) / np.median(pred[fit]))
    if align == "lstsq":
        s, t = _lstsq(pred[fit], gt[fit])
        return s * pred + t
    assert align == "lstsq_inv"
    fit &= pred > 0
    s, t = _lstsq(1.0 / pred[fit], 1.0 / gt[fit])
    disparity = s / np.maximum(pred, FLOOR) + t
    return 1.0 / np.maximum(disparity, FLOOR)


def reference_formulas(p: np.ndarray, g: np.ndarray) -> dict[str, float]:
    """Every metric of 1-D arrays of predicted and true depth at valid pixels."""
    pp = np.maximum(p, FLOOR)
    d = np.log(pp) - np.log(g)
    ratio = np.maximum(g / pp, pp / g)
    out = {
        "abs_rel": np.mean(np.abs(g - p) / g),
        "sq_rel": np.mean((g - p) ** 2 / g),
        "rmse": np.sqrt(np.mean((g - p) ** 2)),
        "rmse_log": np.sqrt(np.mean((np.log(g) - np.log(pp)) ** 2)),
        "log10": np.mean(np.abs(np.log10(g) - np.log10(pp))),
        "silog_x100_l1": 100.0 * np.sqrt(np.var(d)),
        "silog_l05": np.sqrt(np.mean(d**2) - 0.5 * np.mean(d) ** 2),
        "delta1": np.mean(ratio < 1.25),
        "delta2": np.mean(ratio < 1.25**2),
        "delta3": np.mean(ratio < 1.25**3),
        "mae": np.mean(np.abs(g - p)),
        "mse": np.mean((g - p) ** 2),
        "l2_norm": np.linalg.norm(g - p),
        "rmse_si": np.sqrt(np.var(d)),
    }
    return {k: float(v) for k, v in out.items()}


def reference_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    min_depth: float = 1e-3,
    max_depth: float = math.inf,
    inclusive: bool = False,
    invalid_value: float | None = 0.0,
    crop: str | None = None,
    align: str = "none",
    clamp: bool = False,
    reduction: str = "per_image",
) -> dict[str, float]:
    """Metrics of (B, H, W) float64 arrays, as ``compute_depth_metrics`` defines them."""
    preds, gts = [], []
    for b in range(pred.shape[0]):
        valid = reference_valid(
            gt[b],
            min_depth=min_depth,
            max_depth=max_depth,
            inclusive=inclusive,
            invalid_value=invalid_value,
            crop=crop,
            mask=None if mask is None else mask[b],
        )
        p = reference_align(pred[b], gt[b], valid, align)
        if clamp:
            p = np.nan_to_num(p, nan=min_depth, posinf=max_depth, neginf=min_depth)
            p = np.clip(p, min_depth, max_depth)
        preds.append(p[valid])
        gts.append(gt[b][valid])
    used = [i for i, g in enumerate(gts) if g.size > 0]
    if reduction == "pooled":
        out = reference_formulas(np.concatenate(preds), np.concatenate(gts))
    else:
        per_image = [reference_formulas(preds[i], gts[i]) for i in used]
        out = {k: float(np.mean([m[k] for m in per_image])) for k in per_image[0]}
    out["n_images"] = float(len(used))
    out["n_skipped"] = float(len(gts) - len(used))
    out["n_pixels"] = float(sum(g.size for g in gts))
    return out
