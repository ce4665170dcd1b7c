"""Depth metrics: defined once, batched in torch, returning a dict of floats.

Conventions (every one an explicit option of :func:`compute_depth_metrics`):

- **Inputs**: ``pred`` and ``gt`` are depth maps of shape (B, 1, H, W), (B, H, W) or
  (H, W), floating point, on any device, in the dataset's depth units (the metrics
  are computed in float64, float32 on MPS).
- **Valid pixels**: see :func:`~rgb2depth.metrics.valid_mask` (finite, positive
  ``gt``, ``!= invalid_value``, inside ``min_depth``/``max_depth`` strictly or
  inclusively, inside the crop and the user mask).
- **Order**: valid mask -> per-image alignment (:mod:`rgb2depth.metrics.align`) ->
  optional median window (below) -> optional clamp of ``pred`` to
  ``[min_depth, max_depth]`` (NaN -> min, inf -> max, ZoeDepth) -> metrics on valid
  pixels -> reduction.
- **Median window** (``median_window=w``, seed 000's SURREAL range of +-0.4725 m): after
  the alignment (which is fitted on all valid pixels), only the pixels whose ground
  truth lies within ``w`` of its own median over those valid pixels still count
  (``|gt - median(gt)| < w``, or ``<= w`` with ``inclusive``).
- **Reduction**: ``"per_image"`` is the mean over images of each image's metric
  (monodepth2, AdaBins, ZoeDepth, DA-V2, Marigold); images with no valid pixel are
  skipped and counted in ``n_skipped``. ``"pooled"`` computes each metric once over
  all valid pixels of all images (DenseDepth, seed 003).

How every metric is built: each one is a pure function of the sums, over valid
pixels, of a few per-pixel terms (and of the pixel count ``n``). The same function
gives per-image values (sums over one image), pooled values (sums over the batch)
and values accumulated over many batches (:class:`DepthMetricAccumulator`), so
one call on a whole data set and many calls on its batches agree.

Metrics (``e = log(pred') - log(gt)``, natural log, ``pred' = max(pred, PRED_FLOOR)``;
``mean`` is over valid pixels):

==================  =====================================================  ==========
name                definition                                             better
==================  =====================================================  ==========
``abs_rel``         mean(\\|gt - pred\\| / gt)                                lower
``sq_rel``          mean((gt - pred)^2 / gt)                               lower
``rmse``            sqrt(mean((gt - pred)^2))                              lower
``rmse_log``        sqrt(mean(e^2))                                        lower
``log10``           mean(\\|log10(gt) - log10(pred')\\|)                      lower
``silog_x100_l1``   100 * sqrt(mean(e^2) - mean(e)^2)  (lambda = 1, x100)  lower
``silog_l05``       sqrt(mean(e^2) - 0.5 * mean(e)^2)  (lambda = 0.5)      lower
``delta1..3``       mean(max(gt / pred', pred' / gt) < 1.25^k), strict      higher
``mae``             mean(\\|gt - pred\\|)                                     lower
``mse``             mean((gt - pred)^2)                                    lower
``l2_norm``         sqrt(sum((gt - pred)^2))                               lower
``rmse_si``         sqrt(mean(e^2) - mean(e)^2)                            lower
``ssim``            optional, see :func:`ssim_map`                         higher
==================  =====================================================  ==========

Two silog conventions are in use and both are reported, under distinct names:
``silog_x100_l1`` is AdaBins / ZoeDepth / Marigold (lambda = 1, times 100) and
``silog_l05`` is Depth-Anything-V2 (lambda = 0.5, no factor).

Seed 001's Table 1 (the Eigen et al. 2014 set, see :data:`EIGEN2014_TABLE`): Eigen et
al. define threshold, abs rel, squared rel, RMSE (linear), RMSE (log) and RMSE (log,
scale-invariant), the square root of their scale-invariant error
``D = (1/n) sum d_i^2 - (1/n^2) (sum d_i)^2`` with ``d_i = log y_i - log y_i*``; that
is ``rmse_si``. (Seed 001's own numbers require this normalisation: RMSE_scale-inv
0.1345 against RMSE_log 0.1744, and ``sqrt(2) * 0.1345 > 0.1744`` rules out a
``1/(2n)`` variant.) Seed 001 prints no formula for its "L1 Norm" and "L2 Norm"
rows; its values (L1 11.8 < RMSE 18.7; L2 1678 close to 96 * RMSE on 96x96 faces)
are those of the mean absolute difference (``mae``) and of the Euclidean norm of
the difference image (``l2_norm``, per image; with ``reduction="pooled"`` the norm
over all valid pixels of the data set).

Non-positive and non-finite predictions: the linear metrics use ``pred`` as it is.
The log and ratio metrics (``rmse_log``, ``log10``, ``silog_*``, ``rmse_si``,
``delta*``) floor ``pred`` at :data:`PRED_FLOOR` (1e-6, dataset units), so a
prediction <= 0 counts as a very large, finite error instead of giving NaN (and a
negative prediction never passes a delta threshold). A NaN in ``pred`` on a valid
pixel makes every metric of that image NaN, so a broken model is not hidden; use
``clamp=True`` to map NaN to ``min_depth`` and inf to ``max_depth`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from rgb2depth.errors import InputError
from rgb2depth.metrics._inputs import check_depth_pair, check_mask, working_dtype
from rgb2depth.metrics.align import align_flat, check_align_method, clamp_depth, masked_median
from rgb2depth.metrics.masks import check_crop_name, check_depth_range, valid_mask

PRED_FLOOR = 1e-6
"""Predictions are floored at this value (dataset units) for the log and ratio metrics."""

REDUCTIONS: tuple[str, ...] = ("per_image", "pooled")
"""Names accepted by ``reduction=``."""

COUNT_KEYS: tuple[str, ...] = ("n_images", "n_skipped", "n_pixels")
"""Keys added to every result next to the metrics: images that counted, images skipped
for having no valid pixel, valid pixels used (all as floats)."""

SSIM_WINDOW = 11
"""Side of the Gaussian SSIM window (sigma 1.5, kornia)."""

Sums = Mapping[str, Tensor]
"""Per-pixel term name -> its sum over valid pixels (one value per image, or one in all)."""


class MetricInfo(NamedTuple):
    """What a metric measures, for tables: one line and its direction."""

    description: str
    higher_is_better: bool


# -- per-pixel terms -----------------------------------------------------------------------------


def _delta(ratio: Tensor, k: int) -> Tensor:
    hit = (ratio < 1.25**k).to(ratio.dtype)
    return torch.where(torch.isnan(ratio), ratio, hit)


def pixel_terms(pred: Tensor, gt: Tensor, names: Iterable[str]) -> dict[str, Tensor]:
    """Per-pixel terms whose sums over valid pixels every metric is built from.

    Args:
        pred: predicted depth, any shape, float.
        gt: ground-truth depth, same shape, positive where it will be summed.
        names: which terms to compute: ``abs_err`` \\|pred - gt\\|, ``sq_err`` (pred - gt)^2,
            ``abs_rel_err`` \\|pred - gt\\| / gt, ``sq_rel_err`` (pred - gt)^2 / gt,
            ``log_err`` e, ``log_sq_err`` e^2, ``log10_abs_err`` \\|log10 pred' - log10 gt\\|,
            ``delta1``..``delta3`` 1.0 where max(gt / pred', pred' / gt) < 1.25^k else 0.0
            (NaN where pred is NaN). ``e`` and ``pred'`` as in the module docstring.

    Returns:
        Term name -> tensor of the shape of ``pred``.
    """
    names = set(names)
    out: dict[str, Tensor] = {}
    err = pred - gt
    pos = pred.clamp_min(PRED_FLOOR)
    if "abs_err" in names or "abs_rel_err" in names:
        out["abs_err"] = err.abs()
        out["abs_rel_err"] = out["abs_err"] / gt
    if "sq_err" in names or "sq_rel_err" in names:
        out["sq_err"] = err * err
        out["sq_rel_err"] = out["sq_err"] / gt
    if "log_err" in names or "log_sq_err" in names:
        out["log_err"] = torch.log(pos) - torch.log(gt)
        out["log_sq_err"] = out["log_err"] ** 2
    if "log10_abs_err" in names:
        out["log10_abs_err"] = (torch.log10(pos) - torch.log10(gt)).abs()
    if names & {"delta1", "delta2", "delta3"}:
        ratio = torch.maximum(gt / pos, pos / gt)
        for k in (1, 2, 3):
            out[f"delta{k}"] = _delta(ratio, k)
    return {k: v for k, v in out.items() if k in names}


def ssim_map(
    pred: Tensor, gt: Tensor, valid: Tensor, *, min_depth: float, max_depth: float
) -> Tensor:
    """Per-pixel SSIM of depth maps normalised to [0, 1] by the evaluation range.

    Both maps are mapped to ``(depth - min_depth) / (max_depth - min_depth)`` and clipped
    to [0, 1] (NaN in ``pred`` -> 0, inf -> 1). Invalid ground-truth pixels are filled
    with the normalised prediction, so holes add no difference of their own; the map is
    ``kornia.metrics.ssim`` with an 11x11 Gaussian window (sigma 1.5), ``max_val=1``,
    ``eps=0`` and reflect padding (``"same"`` size). The metric ``ssim`` is the mean
    of this map over valid pixels.

    Args:
        pred: predicted depth, (B, H, W) float, dataset units, H and W at least 6.
        gt: ground-truth depth, (B, H, W), same units.
        valid: (B, H, W) bool.
        min_depth: lower end of the normalisation range.
        max_depth: upper end, finite.

    Returns:
        (B, H, W) SSIM values in [-1, 1].
    """
    import kornia  # imported here: only this optional metric needs it

    span = max_depth - min_depth
    p = torch.nan_to_num(pred, nan=min_depth, posinf=max_depth, neginf=min_depth)
    p = ((p - min_depth) / span).clamp(0.0, 1.0)
    g = torch.where(valid, ((gt - min_depth) / span).clamp(0.0, 1.0), p)
    out = kornia.metrics.ssim(
        p.unsqueeze(1), g.unsqueeze(1), SSIM_WINDOW, max_val=1.0, eps=0.0, padding="same"
    )
    return out.squeeze(1)


# -- metrics as pure functions of the term sums ----------------------------------------------------


def abs_rel(s: Sums, n: Tensor) -> Tensor:
    """Absolute relative error, mean(\\|gt - pred\\| / gt).

    Eigen et al. 2014 "Abs Relative difference"; seed 001's "Absolute Diff".
    """
    return s["abs_rel_err"] / n


def sq_rel(s: Sums, n: Tensor) -> Tensor:
    """Squared relative error, mean((gt - pred)^2 / gt).

    Eigen et al. 2014 "Squared Relative difference"; seed 001's "Squared Diff".
    """
    return s["sq_rel_err"] / n


def rmse(s: Sums, n: Tensor) -> Tensor:
    """Root mean squared error, sqrt(mean((gt - pred)^2)), dataset units.

    Eigen et al. 2014 "RMSE (linear)"; seed 001's "RMSE lin".
    """
    return torch.sqrt(s["sq_err"] / n)


def rmse_log(s: Sums, n: Tensor) -> Tensor:
    """RMSE of natural logs, sqrt(mean((log gt - log pred')^2)) (Eigen 2014 "RMSE (log)")."""
    return torch.sqrt(s["log_sq_err"] / n)


def log10(s: Sums, n: Tensor) -> Tensor:
    """Mean absolute log10 error, mean(\\|log10 gt - log10 pred'\\|)."""
    return s["log10_abs_err"] / n


def silog(s: Sums, n: Tensor, *, lam: float, factor: float) -> Tensor:
    """Scale-invariant log error, factor * sqrt(mean(e^2) - lam * mean(e)^2).

    The radicand is clipped at 0 against rounding (it is a variance for ``lam = 1``).
    """
    mean_e = s["log_err"] / n
    return factor * torch.sqrt((s["log_sq_err"] / n - lam * mean_e**2).clamp_min(0.0))


def delta(s: Sums, n: Tensor, *, k: int) -> Tensor:
    """Threshold accuracy, fraction of pixels with max(gt / pred', pred' / gt) < 1.25^k."""
    return s[f"delta{k}"] / n


def mae(s: Sums, n: Tensor) -> Tensor:
    """Mean absolute error, mean(\\|gt - pred\\|), dataset units (seed 001's "L1 Norm")."""
    return s["abs_err"] / n


def mse(s: Sums, n: Tensor) -> Tensor:
    """Mean squared error, mean((gt - pred)^2), dataset units squared."""
    return s["sq_err"] / n


def l2_norm(s: Sums, n: Tensor) -> Tensor:
    """Euclidean norm of the difference, sqrt(sum((gt - pred)^2)) (seed 001's "L2 Norm")."""
    del n
    return torch.sqrt(s["sq_err"])


def mean_ssim(s: Sums, n: Tensor) -> Tensor:
    """Mean of :func:`ssim_map` over valid pixels."""
    return s["ssim"] / n


@dataclass(frozen=True)
class _Metric:
    info: MetricInfo
    terms: tuple[str, ...]
    fn: Callable[[Sums, Tensor], Tensor]
    signed_ok: bool = False  # defined for signed values (heights): no ratio, no log


def _silog_fn(lam: float, factor: float) -> Callable[[Sums, Tensor], Tensor]:
    return lambda s, n: silog(s, n, lam=lam, factor=factor)


def _delta_fn(k: int) -> Callable[[Sums, Tensor], Tensor]:
    return lambda s, n: delta(s, n, k=k)


_LOG = ("log_err", "log_sq_err")
_METRICS: dict[str, _Metric] = {
    "abs_rel": _Metric(MetricInfo("mean |gt - pred| / gt", False), ("abs_rel_err",), abs_rel),
    "sq_rel": _Metric(MetricInfo("mean (gt - pred)^2 / gt", False), ("sq_rel_err",), sq_rel),
    "rmse": _Metric(
        MetricInfo("sqrt mean (gt - pred)^2, depth units", False), ("sq_err",), rmse, True
    ),
    "rmse_log": _Metric(
        MetricInfo("sqrt mean (log gt - log pred)^2", False), ("log_sq_err",), rmse_log
    ),
    "log10": _Metric(MetricInfo("mean |log10 gt - log10 pred|", False), ("log10_abs_err",), log10),
    "silog_x100_l1": _Metric(
        MetricInfo("100 sqrt(mean e^2 - mean(e)^2), AdaBins, ZoeDepth, Marigold", False),
        _LOG,
        _silog_fn(1.0, 100.0),
    ),
    "silog_l05": _Metric(
        MetricInfo("sqrt(mean e^2 - 0.5 mean(e)^2), Depth-Anything-V2", False),
        _LOG,
        _silog_fn(0.5, 1.0),
    ),
    "delta1": _Metric(
        MetricInfo("fraction max(gt/pred, pred/gt) < 1.25", True), ("delta1",), _delta_fn(1)
    ),
    "delta2": _Metric(
        MetricInfo("fraction max(gt/pred, pred/gt) < 1.25^2", True), ("delta2",), _delta_fn(2)
    ),
    "delta3": _Metric(
        MetricInfo("fraction max(gt/pred, pred/gt) < 1.25^3", True), ("delta3",), _delta_fn(3)
    ),
    "mae": _Metric(MetricInfo("mean |gt - pred|, depth units", False), ("abs_err",), mae, True),
    "mse": _Metric(
        MetricInfo("mean (gt - pred)^2, depth units squared", False), ("sq_err",), mse, True
    ),
    "l2_norm": _Metric(
        MetricInfo("sqrt sum (gt - pred)^2 of the difference image (seed 001)", False),
        ("sq_err",),
        l2_norm,
        True,
    ),
    "rmse_si": _Metric(
        MetricInfo("sqrt(mean e^2 - mean(e)^2), Eigen 2014 scale-invariant RMSE", False),
        _LOG,
        _silog_fn(1.0, 1.0),
    ),
    "ssim": _Metric(
        MetricInfo("mean SSIM on depth scaled to [0, 1] by min/max depth (optional)", True),
        ("ssim",),
        mean_ssim,
        True,
    ),
}

METRIC_NAMES: tuple[str, ...] = tuple(_METRICS)
"""Every metric name, in table order."""

DEFAULT_METRICS: tuple[str, ...] = tuple(m for m in METRIC_NAMES if m != "ssim")
"""Metrics computed when ``metrics=None`` (all but the optional ``ssim``)."""

SIGNED_METRICS: tuple[str, ...] = tuple(m for m in METRIC_NAMES if _METRICS[m].signed_ok)
"""Metrics defined for signed values (``min_depth < 0``, e.g. surface heights in µm)."""

SIGNED_DEFAULT_METRICS: tuple[str, ...] = tuple(m for m in SIGNED_METRICS if m != "ssim")
"""Metrics computed when ``metrics=None`` and ``min_depth < 0``."""

METRIC_INFO: dict[str, MetricInfo] = {name: m.info for name, m in _METRICS.items()}
"""Metric name -> one-line description and whether higher is better."""

EIGEN2014_TABLE: dict[str, str] = {
    "L1 Norm": "mae",
    "L2 Norm": "l2_norm",
    "Absolute Diff": "abs_rel",
    "Squared Diff": "sq_rel",
    "RMSE lin": "rmse",
    "RMSE log": "rmse_log",
    "RMSE scale-inv": "rmse_si",
    "delta < 1.25": "delta1",
    "delta < 1.25^2": "delta2",
    "delta < 1.25^3": "delta3",
}
"""Seed 001's Table 1 rows (Eigen et al. 2014 metrics) -> the metric reporting each."""


# -- options and the pipeline ------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    min_depth: float
    max_depth: float
    inclusive: bool
    invalid_value: float | None
    crop: str | None
    align: str
    clamp: bool
    reduction: str
    metrics: tuple[str, ...]
    median_window: float | None = None

    def __post_init__(self) -> None:
        check_depth_range(self.min_depth, self.max_depth)
        w = self.median_window
        if w is not None and not (isinstance(w, (int, float)) and 0 < w < math.inf):
            raise InputError(f"median_window must be a finite number > 0 or None, got {w!r}")
        if self.crop is not None:
            check_crop_name(self.crop)
        check_align_method(self.align)
        if self.reduction not in REDUCTIONS:
            raise InputError(f"unknown reduction {self.reduction!r}; known: 'per_image', 'pooled'")
        if not self.metrics:
            raise InputError("expected at least one metric name, got none")
        unknown = [m for m in self.metrics if m not in _METRICS]
        if unknown:
            raise InputError(
                f"unknown metric {unknown[0]!r}; known metrics: {', '.join(METRIC_NAMES)}"
            )
        if self.clamp and math.isinf(self.max_depth):
            raise InputError("clamp=True needs a finite max_depth, got inf")
        if "ssim" in self.metrics and math.isinf(self.max_depth):
            raise InputError("metric 'ssim' needs a finite max_depth to normalise depth, got inf")
        if self.min_depth < 0:
            unsigned = [m for m in self.metrics if not _METRICS[m].signed_ok]
            if unsigned:
                raise InputError(
                    f"metric {unsigned[0]!r} needs positive depth; with min_depth < 0 (signed "
                    f"values such as heights) use {', '.join(SIGNED_METRICS)}"
                )
            if self.align in ("median", "lstsq_inv"):
                raise InputError(
                    f"align={self.align!r} needs positive depth; with min_depth < 0 use "
                    "'none' or 'lstsq'"
                )

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for m in self.metrics for t in _METRICS[m].terms))


def _options(
    *,
    min_depth: float,
    max_depth: float,
    inclusive: bool,
    invalid_value: float | None,
    crop: str | None,
    align: str,
    clamp: bool,
    reduction: str,
    metrics: Iterable[str] | None,
    median_window: float | None = None,
) -> _Options:
    if isinstance(metrics, str):
        metrics = (metrics,)
    if metrics is None:
        names = SIGNED_DEFAULT_METRICS if min_depth < 0 else DEFAULT_METRICS
    else:
        names = tuple(dict.fromkeys(metrics))
    return _Options(
        float(min_depth),
        float(max_depth),
        bool(inclusive),
        invalid_value,
        crop,
        align,
        bool(clamp),
        reduction,
        names,
        None if median_window is None else float(median_window),
    )


def _image_sums(
    pred: Tensor, gt: Tensor, mask: Tensor | None, opts: _Options
) -> tuple[dict[str, Tensor], Tensor]:
    """Check inputs, mask, align, clamp; return term sums and valid counts, each (B,)."""
    p, g = check_depth_pair(pred, gt)
    if mask is not None:
        mask = check_mask(mask, pred, p)
    valid = valid_mask(
        g,
        min_depth=opts.min_depth,
        max_depth=opts.max_depth,
        inclusive=opts.inclusive,
        invalid_value=opts.invalid_value,
        mask=mask,
        crop=opts.crop,
    )
    b, h, w = p.shape
    dtype = working_dtype(p.device)
    p, g = p.to(dtype), g.to(dtype)
    p = align_flat(p.reshape(b, -1), g.reshape(b, -1), valid.reshape(b, -1), opts.align)
    p = p.reshape(b, h, w)
    if opts.median_window is not None:
        med = masked_median(g.reshape(b, -1), valid.reshape(b, -1)).reshape(b, 1, 1)
        dist = (g - med).abs()  # NaN for an image without valid pixels: nothing stays valid
        valid = valid & (
            dist <= opts.median_window if opts.inclusive else dist < opts.median_window
        )
    if opts.clamp:
        p = clamp_depth(p, opts.min_depth, opts.max_depth)
    # Invalid gt pixels are replaced by 1 so that no term is computed on 0, NaN or inf there;
    # they are excluded from every sum below.
    g_safe = torch.where(valid, g, torch.ones_like(g))
    terms = pixel_terms(p, g_safe, [t for t in opts.terms if t != "ssim"])
    if "ssim" in opts.terms:
        if min(h, w) <= SSIM_WINDOW // 2:
            raise InputError(
                f"metric 'ssim' needs images of at least {SSIM_WINDOW // 2 + 1}x"
                f"{SSIM_WINDOW // 2 + 1} pixels, got {h}x{w}"
            )
        terms["ssim"] = ssim_map(p, g, valid, min_depth=opts.min_depth, max_depth=opts.max_depth)
    zero = torch.zeros((), dtype=dtype, device=p.device)
    sums = {k: torch.where(valid, v, zero).sum(dim=(1, 2)) for k, v in terms.items()}
    return sums, valid.sum(dim=(1, 2)).to(dtype)


def _per_image_values(
    sums: Mapping[str, Tensor], counts: Tensor, names: Iterable[str]
) -> dict[str, Tensor]:
    """Each image's metrics, (B,); NaN for images without a valid pixel."""
    has = counts > 0
    safe_n = counts.clamp_min(1)
    nan = torch.full_like(counts, torch.nan)
    return {m: torch.where(has, _METRICS[m].fn(sums, safe_n), nan) for m in names}


class DepthMetricAccumulator:
    """Accumulates depth metrics over many batches (an evaluation loop).

    ``compute()`` after ``update()`` on batches gives the same result, up to
    floating-point summation order, as one :func:`compute_depth_metrics` call on
    the concatenated batches, for both reductions: per image it keeps the sum of
    each image's metrics and the image count; pooled it keeps the sum of every
    per-pixel term and the pixel count.

    It keeps only these sums (a few scalars, whatever the number of images); the
    per-image values of each batch are returned by :meth:`update` for callers that
    want them (a per-image table), and not kept.

    Args:
        min_depth, max_depth, inclusive, invalid_value, crop, align, clamp, reduction,
        metrics, median_window: as in :func:`compute_depth_metrics`.

    Example::

        acc = DepthMetricAccumulator(max_depth=10.0, crop="nyu_eigen")
        for batch in loader:
            acc.update(model(batch["rgb"]), batch["depth"], mask=batch["mask"])
        print(acc.compute()["abs_rel"])
    """

    def __init__(
        self,
        *,
        min_depth: float = 1e-3,
        max_depth: float = math.inf,
        inclusive: bool = False,
        invalid_value: float | None = 0.0,
        crop: str | None = None,
        align: str = "none",
        clamp: bool = False,
        reduction: str = "per_image",
        metrics: Iterable[str] | None = None,
        median_window: float | None = None,
    ) -> None:
        self._opts = _options(
            min_depth=min_depth,
            max_depth=max_depth,
            inclusive=inclusive,
            invalid_value=invalid_value,
            crop=crop,
            align=align,
            clamp=clamp,
            reduction=reduction,
            metrics=metrics,
            median_window=median_window,
        )
        self.reset()

    @property
    def metrics(self) -> tuple[str, ...]:
        """Names of the metrics this accumulator computes."""
        return self._opts.metrics

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._value_sums: dict[str, Tensor] = {}
        self._term_sums: dict[str, Tensor] = {}
        self._n_images: Tensor | None = None
        self._n_skipped: Tensor | None = None
        self._n_pixels: Tensor | None = None

    def update(self, pred: Tensor, gt: Tensor, mask: Tensor | None = None) -> dict[str, Tensor]:
        """Add a batch.

        Args:
            pred: predicted depth, (B, 1, H, W), (B, H, W) or (H, W), float, dataset units.
            gt: ground-truth depth, same shape and units.
            mask: optional bool mask of extra valid pixels, shape of ``pred`` or (H, W).

        Returns:
            The batch's per-image values, as :func:`per_image_metrics` gives them: metric
            name -> (B,) tensor (NaN for an image without a valid pixel), plus
            ``n_pixels`` -> (B,) valid pixel counts. The accumulator does not keep them.

        Raises:
            InputError: bad shapes or dtypes; see :func:`compute_depth_metrics`.
        """
        sums, counts = _image_sums(pred, gt, mask, self._opts)
        values = _per_image_values(sums, counts, self._opts.metrics)
        has = counts > 0
        zero = torch.zeros((), dtype=counts.dtype, device=counts.device)
        batch = {
            "values": {m: torch.where(has, v, zero).sum() for m, v in values.items()},
            "terms": {t: s.sum() for t, s in sums.items()},
        }
        n_images, n_skipped, n_pixels = has.sum(), (~has).sum(), counts.sum()
        if self._n_pixels is None:
            self._value_sums, self._term_sums = batch["values"], batch["terms"]
            self._n_images, self._n_skipped, self._n_pixels = n_images, n_skipped, n_pixels
            return {**values, "n_pixels": counts}
        dev = self._n_pixels.device
        for m, v in batch["values"].items():
            self._value_sums[m] = self._value_sums[m] + v.to(dev)
        for t, s in batch["terms"].items():
            self._term_sums[t] = self._term_sums[t] + s.to(dev)
        assert self._n_images is not None and self._n_skipped is not None
        self._n_images = self._n_images + n_images.to(dev)
        self._n_skipped = self._n_skipped + n_skipped.to(dev)
        self._n_pixels = self._n_pixels + n_pixels.to(dev)
        return {**values, "n_pixels": counts}

    def compute(self) -> dict[str, float]:
        """The metrics over every batch added since the last :meth:`reset`.

        Returns:
            Metric name -> value (see :data:`METRIC_INFO`), plus :data:`COUNT_KEYS`.

        Raises:
            InputError: no batch was added, or no image had a valid pixel.
        """
        if self._n_pixels is None:
            raise InputError("no data: call update(pred, gt) before compute()")
        assert self._n_images is not None and self._n_skipped is not None
        if float(self._n_pixels) == 0:
            raise InputError(
                "no valid pixel in any image: check min_depth, max_depth, invalid_value, "
                "mask and crop"
            )
        if self._opts.reduction == "per_image":
            out = {m: float(self._value_sums[m] / self._n_images) for m in self._opts.metrics}
        else:
            out = {
                m: float(_METRICS[m].fn(self._term_sums, self._n_pixels))
                for m in self._opts.metrics
            }
        out["n_images"] = float(self._n_images)
        out["n_skipped"] = float(self._n_skipped)
        out["n_pixels"] = float(self._n_pixels)
        return out


def compute_depth_metrics(
    pred: Tensor,
    gt: Tensor,
    *,
    mask: Tensor | None = None,
    min_depth: float = 1e-3,
    max_depth: float = math.inf,
    inclusive: bool = False,
    invalid_value: float | None = 0.0,
    crop: str | None = None,
    align: str = "none",
    clamp: bool = False,
    reduction: str = "per_image",
    metrics: Iterable[str] | None = None,
    median_window: float | None = None,
) -> dict[str, float]:
    """Depth metrics of a batch of predictions against ground truth.

    Args:
        pred: predicted depth, (B, 1, H, W), (B, H, W) or (H, W), float, dataset units
            (any scale and shift when ``align`` fits them), any device.
        gt: ground-truth depth, same shape and units; 0 (``invalid_value``), NaN and
            inf mark missing depth.
        mask: optional bool mask, shape of ``pred`` or (H, W); False pixels never count.
        min_depth: lower limit of valid ground truth, ``>= 0`` (NYU and KITTI use 1e-3 m).
        max_depth: upper limit of valid ground truth (NYU 10 m, KITTI 80 m); ``inf`` for
            none, but ``clamp`` and ``ssim`` need it finite.
        inclusive: ``min_depth <= gt <= max_depth`` instead of strict ``<``.
        invalid_value: the ground truth's code for missing depth, or ``None``.
        crop: ``None`` or one of ``"nyu_eigen"``, ``"kitti_garg"``, ``"kitti_eigen"``
            (see :mod:`rgb2depth.metrics.masks`).
        align: ``"none"``, ``"median"``, ``"median_shift"``, ``"lstsq"`` or ``"lstsq_inv"``,
            fitted per image (see :mod:`rgb2depth.metrics.align`).
        clamp: clamp the (aligned) prediction to ``[min_depth, max_depth]``, NaN -> min,
            inf -> max, before the metrics.
        reduction: ``"per_image"`` (mean of per-image metrics) or ``"pooled"`` (over all
            valid pixels of the batch).
        metrics: names from :data:`METRIC_NAMES`; ``None`` for :data:`DEFAULT_METRICS`.
        median_window: ``None``, or keep only pixels whose ground truth lies within this
            distance (dataset units) of its per-image median over the valid pixels,
            strictly unless ``inclusive`` (seed 000's SURREAL +-0.4725 m).

    Returns:
        Metric name -> float, plus ``n_images`` (images with a valid pixel),
        ``n_skipped`` (images without) and ``n_pixels`` (valid pixels).

    Raises:
        InputError: shapes, dtypes or devices that do not fit, unknown names, bad limits,
            no valid pixel at all, or a non-positive median prediction with ``"median"``.
    """
    acc = DepthMetricAccumulator(
        min_depth=min_depth,
        max_depth=max_depth,
        inclusive=inclusive,
        invalid_value=invalid_value,
        crop=crop,
        align=align,
        clamp=clamp,
        reduction=reduction,
        metrics=metrics,
        median_window=median_window,
    )
    acc.update(pred, gt, mask)
    return acc.compute()


def per_image_metrics(
    pred: Tensor,
    gt: Tensor,
    *,
    mask: Tensor | None = None,
    min_depth: float = 1e-3,
    max_depth: float = math.inf,
    inclusive: bool = False,
    invalid_value: float | None = 0.0,
    crop: str | None = None,
    align: str = "none",
    clamp: bool = False,
    metrics: Iterable[str] | None = None,
    median_window: float | None = None,
) -> dict[str, Tensor]:
    """Each image's metrics, e.g. for a per-image report.

    Arguments as in :func:`compute_depth_metrics` (without ``reduction``).

    Returns:
        Metric name -> (B,) float64 tensor (NaN for an image without a valid pixel),
        plus ``n_pixels`` -> (B,) valid pixel counts.
    """
    opts = _options(
        min_depth=min_depth,
        max_depth=max_depth,
        inclusive=inclusive,
        invalid_value=invalid_value,
        crop=crop,
        align=align,
        clamp=clamp,
        reduction="per_image",
        metrics=metrics,
        median_window=median_window,
    )
    sums, counts = _image_sums(pred, gt, mask, opts)
    out = _per_image_values(sums, counts, opts.metrics)
    out["n_pixels"] = counts
    return out
