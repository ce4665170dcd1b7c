"""Aligning a prediction to the ground truth before the metrics, and clamping it.

Alignment is always fitted per image, on the pixels where the ground truth is valid
and the prediction is finite (for ``"lstsq_inv"`` also positive); the fitted
transform is then applied to every pixel of that image.

- ``"none"``: the prediction is used as it is (metric-depth models).
- ``"median"``: ``pred * median(gt) / median(pred)`` (monodepth2, for models known up to
  scale). The median of an even number of values is the mean of the two middle ones
  (as ``numpy.median``).
- ``"median_shift"``: ``pred - median(pred) + median(gt)`` (for depth known up to an
  offset: seed 000 subtracts each SURREAL depth map's median; the project's face models,
  whose crops hide the head's distance, are trained with this shift). Defined for signed
  values too.
- ``"lstsq"``: ``s * pred + t`` with ``(s, t)`` minimising ``sum((s * pred + t - gt)^2)``
  (affine-invariant depth, Marigold).
- ``"lstsq_inv"``: the fit is done in inverse depth (disparity, MiDaS practice):
  ``(s, t)`` minimise ``sum((s / pred + t - 1 / gt)^2)``; the aligned depth is
  ``1 / max(s / max(pred, eps) + t, eps)``. The aligned disparity can come out
  non-positive far from the fitted range; it is floored at ``eps`` (default 1e-6, in
  inverse depth units), so such pixels become very far (``1 / eps``) instead of
  negative or infinite. ``pred`` is still a depth map here: a model whose output ``d``
  is a disparity passes ``1 / d.clamp_min(eps)``, which the fit inverts back to ``d``.

A least-squares fit is degenerate when the prediction is (numerically) constant on
the fitted pixels, i.e. ``sum((x - mean(x))^2) <= 1e-12 * sum(x^2)``, or when fewer than
two pixels are fitted: then ``s = 0`` and ``t = mean(target)``, which is the fitted
value every least-squares solution gives on those pixels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rgb2depth.errors import InputError
from rgb2depth.metrics._inputs import check_depth_pair, check_mask, working_dtype

ALIGN_METHODS: tuple[str, ...] = ("none", "median", "median_shift", "lstsq", "lstsq_inv")
"""Names accepted by ``align=``."""

ALIGN_EPS = 1e-6
"""Floor for depth and disparity before inverting them in ``"lstsq_inv"``."""

_DEGENERATE = 1e-12


def check_align_method(align: str) -> None:
    """Raise :class:`InputError` unless ``align`` is one of :data:`ALIGN_METHODS`."""
    if align not in ALIGN_METHODS:
        known = ", ".join(repr(a) for a in ALIGN_METHODS)
        raise InputError(f"unknown align {align!r}; known: {known}")


# -- batched kernels on (B, N) tensors, used by the public wrappers and the metrics ------------


def masked_median(x: Tensor, m: Tensor) -> Tensor:
    """Median of each row of ``x`` over the entries where ``m`` is True.

    Args:
        x: (B, N) float, finite where ``m`` is True.
        m: (B, N) bool.

    Returns:
        (B,) medians (mean of the two middle values for an even count); NaN for rows
        with no True entry.
    """
    n = m.sum(dim=1)
    s = torch.where(m, x, torch.full_like(x, torch.inf)).sort(dim=1).values
    lo = ((n - 1).clamp_min(0) // 2).unsqueeze(1)
    hi = (n // 2).clamp_max(x.shape[1] - 1).unsqueeze(1)
    med = 0.5 * (s.gather(1, lo) + s.gather(1, hi)).squeeze(1)
    return torch.where(n > 0, med, torch.full_like(med, torch.nan))


def median_scale(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """Per-image ``median(gt) / median(pred)`` over valid pixels with finite ``pred``.

    Args:
        pred, gt: (B, N) float. valid: (B, N) bool.

    Returns:
        (B,) scales; 1 for images with no such pixel.

    Raises:
        InputError: an image whose median prediction is not positive.
    """
    fit = valid & torch.isfinite(pred)
    med_pred = masked_median(pred, fit)
    med_gt = masked_median(gt, fit)
    has = fit.any(dim=1)
    bad = has & ~(med_pred > 0)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise InputError(
            "median alignment needs a positive median prediction over valid pixels, "
            f"image {i} has {float(med_pred[i]):g}"
        )
    return torch.where(has, med_gt / med_pred, torch.ones_like(med_pred))


def median_shift(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """Per-image ``median(gt) - median(pred)`` over valid pixels with finite ``pred``.

    Args:
        pred, gt: (B, N) float. valid: (B, N) bool.

    Returns:
        (B,) shifts, in the units of ``gt``; 0 for images with no such pixel.
    """
    fit = valid & torch.isfinite(pred)
    shift = masked_median(gt, fit) - masked_median(pred, fit)
    return torch.where(fit.any(dim=1), shift, torch.zeros_like(shift))


def least_squares_fit(x: Tensor, y: Tensor, fit: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row ``(s, t)`` minimising ``sum over fit of (s * x + t - y)^2``.

    Args:
        x, y: (B, N) float, finite where ``fit`` is True. fit: (B, N) bool.

    Returns:
        ``(s, t)``, each (B,). Degenerate rows (see the module docstring) get
        ``s = 0, t = mean(y)``; rows with nothing to fit get ``s = 1, t = 0``.
    """
    zero = torch.zeros_like(x)
    n = fit.sum(dim=1).to(x.dtype)
    safe_n = n.clamp_min(1)
    xm = torch.where(fit, x, zero).sum(dim=1) / safe_n
    ym = torch.where(fit, y, zero).sum(dim=1) / safe_n
    dx = torch.where(fit, x - xm.unsqueeze(1), zero)
    dy = torch.where(fit, y - ym.unsqueeze(1), zero)
    var = (dx * dx).sum(dim=1)
    cov = (dx * dy).sum(dim=1)
    sq = torch.where(fit, x * x, zero).sum(dim=1)
    degenerate = (n < 2) | (var <= _DEGENERATE * sq)
    s = torch.where(degenerate, torch.zeros_like(var), cov / torch.where(degenerate, 1.0, var))
    t = ym - s * xm
    empty = n == 0
    return torch.where(empty, 1.0, s), torch.where(empty, 0.0, t)


def least_squares_align(
    pred: Tensor, gt: Tensor, valid: Tensor, *, inverse: bool, eps: float = ALIGN_EPS
) -> Tensor:
    """Least-squares scale and shift in depth or inverse depth, on (B, N) tensors.

    See :func:`align_least_squares`.
    """
    fit = valid & torch.isfinite(pred)
    if not inverse:
        s, t = least_squares_fit(pred, gt, fit)
        return s.unsqueeze(1) * pred + t.unsqueeze(1)
    fit &= pred > 0
    disp = 1.0 / pred.clamp_min(eps)
    s, t = least_squares_fit(disp, 1.0 / gt, fit)
    aligned = s.unsqueeze(1) * disp + t.unsqueeze(1)
    return 1.0 / aligned.clamp_min(eps)


def align_flat(pred: Tensor, gt: Tensor, valid: Tensor, align: str) -> Tensor:
    """Apply a named alignment to (B, N) tensors; see :data:`ALIGN_METHODS`."""
    check_align_method(align)
    if align == "median":
        return pred * median_scale(pred, gt, valid).unsqueeze(1)
    if align == "median_shift":
        return pred + median_shift(pred, gt, valid).unsqueeze(1)
    if align == "lstsq":
        return least_squares_align(pred, gt, valid, inverse=False)
    if align == "lstsq_inv":
        return least_squares_align(pred, gt, valid, inverse=True)
    return pred


# -- public functions on depth maps ----------------------------------------------------------


def _flat_inputs(pred: Tensor, gt: Tensor, valid: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    p, g = check_depth_pair(pred, gt)
    v = check_mask(valid, pred, p, name="valid")
    dtype = working_dtype(p.device)
    b = p.shape[0]
    return p.reshape(b, -1).to(dtype), g.reshape(b, -1).to(dtype), v.reshape(b, -1)


def align_median(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """Per-image median scaling, ``pred * median(gt) / median(pred)`` (monodepth2).

    Medians are taken over the pixels where ``valid`` is True and ``pred`` is finite.

    Args:
        pred: predicted depth, (B, 1, H, W), (B, H, W) or (H, W), float, any scale.
        gt: ground-truth depth, same shape, dataset units.
        valid: bool mask of valid pixels, same shape (see :func:`~rgb2depth.metrics.valid_mask`).

    Returns:
        Scaled prediction, shape and dtype of ``pred``, in the units of ``gt``.

    Raises:
        InputError: bad shapes or dtypes; an image whose median prediction is not positive.
    """
    p, g, v = _flat_inputs(pred, gt, valid)
    out = p * median_scale(p, g, v).unsqueeze(1)
    return out.reshape(pred.shape).to(pred.dtype)


def align_median_shift(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """Per-image median shift, ``pred - median(pred) + median(gt)`` (seed 000, SURREAL).

    Medians are taken over the pixels where ``valid`` is True and ``pred`` is finite.

    Args:
        pred: predicted depth, (B, 1, H, W), (B, H, W) or (H, W), float, any offset.
        gt: ground-truth depth (or signed heights), same shape, dataset units.
        valid: bool mask of valid pixels, same shape.

    Returns:
        Shifted prediction, shape and dtype of ``pred``, in the units of ``gt``.
    """
    p, g, v = _flat_inputs(pred, gt, valid)
    out = p + median_shift(p, g, v).unsqueeze(1)
    return out.reshape(pred.shape).to(pred.dtype)


def align_least_squares(
    pred: Tensor, gt: Tensor, valid: Tensor, *, inverse: bool = False, eps: float = ALIGN_EPS
) -> Tensor:
    """Per-image least-squares scale and shift, in depth or in inverse depth.

    ``inverse=False``: ``s * pred + t`` with ``(s, t)`` minimising
    ``sum((s * pred + t - gt)^2)`` over valid pixels with finite ``pred``.
    ``inverse=True``: ``(s, t)`` minimise ``sum((s / pred + t - 1 / gt)^2)`` over valid
    pixels with finite positive ``pred``; the result is ``1 / max(s / max(pred, eps) + t, eps)``.
    See the module docstring for the ``eps`` floors and degenerate fits.

    Args:
        pred: predicted depth, (B, 1, H, W), (B, H, W) or (H, W), float, any scale and shift.
        gt: ground-truth depth, same shape, dataset units.
        valid: bool mask of valid pixels, same shape.
        inverse: fit in inverse depth (disparity) instead of depth.
        eps: floor for depth and disparity before inverting them.

    Returns:
        Aligned prediction, shape and dtype of ``pred``, in the units of ``gt``.
    """
    p, g, v = _flat_inputs(pred, gt, valid)
    out = least_squares_align(p, g, v, inverse=inverse, eps=eps)
    return out.reshape(pred.shape).to(pred.dtype)


def clamp_depth(pred: Tensor, min_depth: float, max_depth: float) -> Tensor:
    """Clamp a prediction to ``[min_depth, max_depth]``: NaN -> min, +inf -> max, -inf -> min.

    This is ZoeDepth's evaluation clamp.

    Args:
        pred: predicted depth, any shape, float.
        min_depth: lower limit, dataset units.
        max_depth: upper limit, finite.

    Returns:
        Clamped tensor, shape and dtype of ``pred``.
    """
    out = torch.nan_to_num(pred, nan=min_depth, posinf=max_depth, neginf=min_depth)
    return out.clamp(min_depth, max_depth)
