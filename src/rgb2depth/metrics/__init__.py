"""Depth evaluation: valid masks, crops, alignment and the field's depth metrics.

One call evaluates a batch::

    from rgb2depth.metrics import compute_depth_metrics
    m = compute_depth_metrics(pred, gt, max_depth=10.0, crop="nyu_eigen")
    m["abs_rel"], m["delta1"]

:class:`DepthMetricAccumulator` does the same over many batches. The conventions
(valid mask, crops, alignment, clamping, reduction, the two silog variants, the
Eigen et al. 2014 set of seed 001) are documented in :mod:`rgb2depth.metrics.depth`.
"""

from rgb2depth.metrics.align import (
    ALIGN_METHODS,
    align_least_squares,
    align_median,
    align_median_shift,
    clamp_depth,
)
from rgb2depth.metrics.depth import (
    COUNT_KEYS,
    DEFAULT_METRICS,
    EIGEN2014_TABLE,
    METRIC_INFO,
    METRIC_NAMES,
    PRED_FLOOR,
    REDUCTIONS,
    SIGNED_DEFAULT_METRICS,
    SIGNED_METRICS,
    DepthMetricAccumulator,
    MetricInfo,
    compute_depth_metrics,
    per_image_metrics,
)
from rgb2depth.metrics.masks import CROP_NAMES, apply_crop, crop_bounds, crop_mask, valid_mask

__all__ = [
    "ALIGN_METHODS",
    "COUNT_KEYS",
    "CROP_NAMES",
    "DEFAULT_METRICS",
    "EIGEN2014_TABLE",
    "METRIC_INFO",
    "METRIC_NAMES",
    "PRED_FLOOR",
    "REDUCTIONS",
    "SIGNED_DEFAULT_METRICS",
    "SIGNED_METRICS",
    "DepthMetricAccumulator",
    "MetricInfo",
    "align_least_squares",
    "align_median",
    "align_median_shift",
    "apply_crop",
    "clamp_depth",
    "compute_depth_metrics",
    "crop_bounds",
    "crop_mask",
    "per_image_metrics",
    "valid_mask",
]
