"""Evaluation protocols: named presets of every metric convention, each with its source.

A protocol fixes which pixels count (depth range, strict or inclusive limits, crop,
median window), what is done to the prediction first (alignment, clamp), how images
are combined (reduction) and which metrics are reported, as the reference
implementations of a benchmark do. ``rgb2depth evaluate --protocol NAME`` and
:func:`rgb2depth.evaluation.evaluate_predictor` take one by name; this module is the
one place they are defined. ``docs/evaluation.md`` shows them as a table.

==================  ======  =====================  ==========  ======  ============  ======
name                units   valid ground truth     crop        clamp   align         reduce
==================  ======  =====================  ==========  ======  ============  ======
``dataset``         any     dataset.json range,    none        no      ``--align``   image
                            inclusive
``nyu-eigen``       m       1e-3 < gt < 10         nyu_eigen   yes     none          image
``kitti-garg``      m       1e-3 < gt < 80         kitti_garg  yes     none          image
``texas``           rel.    0 < gt <= 1            none        no      none          image
``surreal``         m       gt > 0, within         none        no      median_shift  image
                            +-0.4725 of its median
``faces-relative``  mm, m   dataset.json range,    none        no      median_shift  image
                            inclusive
``surfaces``        um      -7.4 <= h <= 1.8       none        no      none          image
==================  ======  =====================  ==========  ======  ============  ======

``dataset`` is what ``rgb2depth evaluate`` does without ``--protocol``. Every protocol
states where each of its choices comes from in :attr:`Protocol.sources`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rgb2depth.errors import InputError

__all__ = [
    "PROTOCOLS",
    "PROTOCOL_NAMES",
    "Protocol",
    "accumulator_settings",
    "describe",
    "get_protocol",
    "resolve_protocol",
]

_EIGEN_SET = (
    "abs_rel",
    "sq_rel",
    "rmse",
    "rmse_log",
    "log10",
    "delta1",
    "delta2",
    "delta3",
    "silog_x100_l1",
)
"""The metrics AdaBins and ZoeDepth report on NYU and KITTI (their silog: lambda = 1, x100)."""

_LINEAR_SET = ("rmse", "mae", "mse")
"""Seed 000's RMSE and MAE (its Tables 1-3), and the MSE seed 004 reports."""


@dataclass(frozen=True)
class Protocol:
    """A named evaluation protocol: every convention of the metrics, fixed.

    Attributes:
        name: the name ``--protocol`` takes.
        description: one line for people.
        units: the ``depth_units`` of ``dataset.json`` it applies to (empty: any).
        min_depth, max_depth: limits of valid ground truth in those units; ``None``:
            the dataset's ``depth_range`` (``max_depth`` may be ``inf``: no limit).
        inclusive: ``min <= gt <= max`` (and ``<= median_window``) instead of strict ``<``.
        crop: a crop of :data:`rgb2depth.metrics.CROP_NAMES`, or ``None``.
        clamp: clamp the aligned prediction to ``[min_depth, max_depth]`` (ZoeDepth).
        align: an alignment of :data:`rgb2depth.metrics.ALIGN_METHODS`; ``None``: the
            caller's choice (``"none"`` unless given).
        reduction: ``"per_image"`` or ``"pooled"``.
        metrics: metric names; ``None``: the default set for the range (signed or not).
        median_window: keep pixels whose ground truth lies within this distance of its
            per-image median (units of the data), or ``None``.
        sources: setting -> where the choice comes from.
    """

    name: str
    description: str
    units: tuple[str, ...]
    min_depth: float | None
    max_depth: float | None
    inclusive: bool
    crop: str | None
    clamp: bool
    align: str | None
    reduction: str
    metrics: tuple[str, ...] | None
    median_window: float | None = None
    sources: dict[str, str] = field(default_factory=dict)


_ADABINS_ZOE = "AdaBins and ZoeDepth evaluation code"

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            name="dataset",
            description="the project's own: dataset.json's depth_range (inclusive), "
            "per-image mean, the default metric set",
            units=(),
            min_depth=None,
            max_depth=None,
            inclusive=True,
            crop=None,
            clamp=False,
            align=None,
            reduction="per_image",
            metrics=None,
            sources={
                "range": "dataset.json depth_range, inclusive (docs/dataset-format.md)",
                "align": "--align (none unless given)",
                "reduction": "mean over images of per-image metrics, as monodepth2, "
                "AdaBins, ZoeDepth, DA-V2, Marigold",
                "metrics": "DEFAULT_METRICS; SIGNED_DEFAULT_METRICS for a signed range",
            },
        ),
        Protocol(
            name="nyu-eigen",
            description="NYU Depth v2 test split (654 images) as AdaBins and ZoeDepth score it",
            units=("m",),
            min_depth=1e-3,
            max_depth=10.0,
            inclusive=False,
            crop="nyu_eigen",
            clamp=True,
            align="none",
            reduction="per_image",
            metrics=_EIGEN_SET,
            sources={
                "range": f"1e-3 < gt < 10 m, strict: {_ADABINS_ZOE} (min_depth_eval, "
                "max_depth_eval; FIELD-NOTES 1)",
                "crop": "Eigen crop, rows 45:471, cols 41:601 of 480x640: Eigen et al. "
                f"2014 as used in {_ADABINS_ZOE} (eigen_crop)",
                "clamp": "prediction clipped to [1e-3, 10] m, inf -> 10, NaN -> 1e-3: "
                f"{_ADABINS_ZOE}",
                "align": "none: metric depth",
                "reduction": f"mean over images of per-image metrics: {_ADABINS_ZOE}",
                "metrics": "abs_rel, sq_rel, rmse, rmse_log, log10, delta1-3 (Eigen et "
                "al. 2014; seed 003 Table 1 reports delta1-3, rel, rms, log10) and silog "
                "with lambda = 1, x100 (silog_x100_l1, AdaBins / ZoeDepth)",
                "note": "seed 003's own code pools pixels over the test set (DenseDepth); "
                "this preset is the per-image protocol of the papers it compares with",
            },
        ),
        Protocol(
            name="kitti-garg",
            description="KITTI Eigen split with the Garg crop, as AdaBins and ZoeDepth score it",
            units=("m",),
            min_depth=1e-3,
            max_depth=80.0,
            inclusive=False,
            crop="kitti_garg",
            clamp=True,
            align="none",
            reduction="per_image",
            metrics=_EIGEN_SET,
            sources={
                "range": f"1e-3 < gt < 80 m, strict: {_ADABINS_ZOE} (FIELD-NOTES 1)",
                "crop": "Garg et al. 2016 crop, rows 0.40810811h:0.99189189h, cols "
                f"0.03594771w:0.96405229w: {_ADABINS_ZOE} (garg_crop)",
                "clamp": "prediction clipped to [1e-3, 80] m, inf -> 80, NaN -> 1e-3: "
                f"{_ADABINS_ZOE}",
                "align": "none: metric depth",
                "reduction": f"mean over images of per-image metrics: {_ADABINS_ZOE}",
                "metrics": "as nyu-eigen: the Eigen et al. 2014 set, log10 and silog "
                "(lambda = 1, x100)",
            },
        ),
        Protocol(
            name="texas",
            description="seed 000's face depth (Texas-3DFRD): relative depth in [0, 1], "
            "1 near, 0 background; RMSE and MAE",
            units=("relative",),
            min_depth=0.0,
            max_depth=1.0,
            inclusive=True,
            crop=None,
            clamp=False,
            align="none",
            reduction="per_image",
            metrics=_LINEAR_SET,
            sources={
                "range": "seed 000 4.2: depth values in [0, 1], 1 the near clipping plane, "
                "0 the background; the background (0, invalid in the dataset) does not "
                "count (the seed does not say whether its numbers include it)",
                "crop": "none: the images are face crops already (seed 000 4.2)",
                "clamp": "none stated by seed 000",
                "align": "none: 'RMSE and MAE of the ground truth and the synthesized "
                "depth', computed on the original depth scale (seed 000 4.2, Table 2)",
                "reduction": "mean over images (seed 000 does not state it; the project's default)",
                "metrics": "rmse and mae (seed 000 Table 2), mse (seed 004; FIELD-NOTES 1)",
            },
        ),
        Protocol(
            name="surreal",
            description="seed 000's body depth (SURREAL): each map minus its median, "
            "within +-0.4725 m; RMSE and MAE in metres",
            units=("m",),
            min_depth=0.0,
            max_depth=math.inf,
            inclusive=False,
            crop=None,
            clamp=False,
            align="median_shift",
            reduction="per_image",
            metrics=_LINEAR_SET,
            median_window=0.4725,
            sources={
                "range": "camera distance in metres, background invalid (0 or NaN in the "
                "dataset); no absolute limit",
                "median_window": "seed 000 4.3: 'for each image, we subtract the median "
                "of depth values to fit the depth images into the range +-0.4725 meters, "
                "where values less or equal -0.4725 denote background': pixels count "
                "where |gt - median(gt)| < 0.4725 m, strictly (a value at -0.4725 is "
                "background there, one at +0.4725 was clipped)",
                "align": "median_shift: the seed compares the ground truth minus its "
                "median with a prediction made in that frame; a prediction of absolute "
                "depth is put in it by subtracting its own median (medians over the "
                "valid foreground pixels)",
                "clamp": "none stated by seed 000",
                "reduction": "mean over images (seed 000 does not state it; the project's default)",
                "metrics": "rmse and mae (seed 000 Table 3, printed in mm; here in the "
                "dataset's metres), mse",
                "note": "seed 000's MAE (22 mm) far below its RMSE (80 mm) suggests it "
                "counted background pixels too; here only the body counts",
            },
        ),
        Protocol(
            name="faces-relative",
            description="the project's faces: each prediction shifted to the ground "
            "truth's median depth (the relief, not the distance)",
            units=("mm", "m"),
            min_depth=None,
            max_depth=None,
            inclusive=True,
            crop=None,
            clamp=False,
            align="median_shift",
            reduction="per_image",
            metrics=None,
            sources={
                "range": "dataset.json depth_range, inclusive: the project's evaluate "
                "protocol (docs/dataset-format.md)",
                "align": "median_shift, pred - median(pred) + median(gt) per image: a "
                "face crop hides the head's distance (README, 'In a face crop every head "
                "fills the frame alike'); configs/faces.yaml and faces-decals.yaml train the "
                "bundled 'faces' with method.align: median, this same shift "
                "(methods/supervised.py)",
                "reduction": "mean over images of per-image metrics (the project's default)",
                "metrics": "the project's default set (DEFAULT_METRICS)",
            },
        ),
        Protocol(
            name="surfaces",
            description="seed 000's cylinder-liner surfaces: signed heights in um within "
            "[-7.4, 1.8]; RMSE and MAE",
            units=("um",),
            min_depth=-7.4,
            max_depth=1.8,
            inclusive=True,
            crop=None,
            clamp=False,
            align="none",
            reduction="per_image",
            metrics=_LINEAR_SET,
            sources={
                "range": "seed 000 4.1: heights relative to the core area on a um scale, "
                "the range [-7.4, 1.8] mapped to [-1, 1]; signed values (0 is the plateau)",
                "align": "none: the 211 evaluation samples are registered to their RGB "
                "views (seed 000 4.1)",
                "clamp": "none stated by seed 000",
                "reduction": "mean over images (seed 000 does not state it; the project's default)",
                "metrics": "rmse and mae 'calculated on the original depth scale' (seed "
                "000 Table 1), mse; linear metrics only (heights are signed)",
            },
        ),
    )
}
"""Every protocol by name."""

PROTOCOL_NAMES: tuple[str, ...] = tuple(PROTOCOLS)
"""The names ``--protocol`` accepts, in table order."""


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``.

    Raises:
        InputError: an unknown name (the message lists the known ones).
    """
    try:
        return PROTOCOLS[name]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown protocol {name!r}; known protocols: {', '.join(PROTOCOL_NAMES)}"
        ) from None


def resolve_protocol(
    name: str | None,
    *,
    depth_range: Sequence[float],
    depth_units: str,
    align: str | None = None,
) -> dict[str, Any]:
    """Every setting of a protocol for one dataset, as plain values.

    Args:
        name: a protocol name, or ``None`` for ``"dataset"`` (what ``evaluate`` does
            without ``--protocol``).
        depth_range: the dataset's ``depth_range`` (lo, hi) in ``depth_units``.
        depth_units: the dataset's ``depth_units``.
        align: an explicit alignment, or ``None`` for the protocol's. A protocol that
            fixes its alignment refuses a different one (its numbers would no longer be
            the protocol's); ``"dataset"`` takes any.

    Returns:
        ``name``, ``description``, ``units``, ``min_depth``, ``max_depth`` (``inf``
        for no limit), ``inclusive``, ``crop``, ``clamp``, ``align``, ``reduction``,
        ``median_window``, ``metrics`` (a list of names) and ``sources``.
        :func:`accumulator_settings` turns it into the keyword arguments of
        :class:`~rgb2depth.metrics.DepthMetricAccumulator`.

    Raises:
        InputError: an unknown protocol or alignment, units the protocol does not
            apply to, or an alignment that contradicts the protocol's.
    """
    from rgb2depth.metrics.align import check_align_method
    from rgb2depth.metrics.depth import DEFAULT_METRICS, SIGNED_DEFAULT_METRICS

    p = get_protocol("dataset" if name is None else name)
    if align is not None:
        check_align_method(align)
    if p.units and depth_units not in p.units:
        raise InputError(
            f"protocol {p.name!r} scores depth in {' or '.join(p.units)} but the dataset's "
            f"depth is in {depth_units}"
        )
    if p.align is not None and align is not None and align != p.align:
        raise InputError(
            f"align {align!r} contradicts protocol {p.name!r}, which aligns by "
            f"{p.align!r}; leave align out to use the protocol's, or use no protocol"
        )
    lo, hi = (float(v) for v in depth_range)
    min_depth = lo if p.min_depth is None else p.min_depth
    max_depth = hi if p.max_depth is None else p.max_depth
    signed = min_depth < 0
    if p.name == "dataset" and not signed:
        min_depth = max(min_depth, 1e-6)  # what metric_settings has always used
    if p.metrics is not None:
        metrics = p.metrics
    else:
        metrics = SIGNED_DEFAULT_METRICS if signed else DEFAULT_METRICS
    return {
        "name": p.name,
        "description": p.description,
        "units": depth_units,
        "min_depth": min_depth,
        "max_depth": max_depth,
        "inclusive": p.inclusive,
        "crop": p.crop,
        "clamp": p.clamp,
        "align": (align or "none") if p.align is None else p.align,
        "reduction": p.reduction,
        "median_window": p.median_window,
        "metrics": list(metrics),
        "sources": dict(p.sources),
    }


_ACCUMULATOR_KEYS = (
    "min_depth",
    "max_depth",
    "inclusive",
    "crop",
    "clamp",
    "align",
    "reduction",
    "median_window",
    "metrics",
)


def accumulator_settings(resolved: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`~rgb2depth.metrics.DepthMetricAccumulator` for a
    :func:`resolve_protocol` result (invalid pixels come as a mask, so no
    ``invalid_value``)."""
    out = {k: resolved[k] for k in _ACCUMULATOR_KEYS}
    out["metrics"] = tuple(out["metrics"])
    out["invalid_value"] = None
    return out


def describe(resolved: dict[str, Any]) -> str:
    """One line for people: ``protocol nyu-eigen: 0.001 < gt < 10 m, crop nyu_eigen, ...``."""
    units = resolved["units"]
    lt = "<=" if resolved["inclusive"] else "<"
    lo, hi = resolved["min_depth"], resolved["max_depth"]
    if math.isinf(hi):
        valid = f"gt > {lo:g} {units}" if lt == "<" else f"gt >= {lo:g} {units}"
    else:
        valid = f"{lo:g} {lt} gt {lt} {hi:g} {units}"
    parts = [valid]
    if resolved["median_window"] is not None:
        parts.append(f"|gt - median| {lt} {resolved['median_window']:g} {units}")
    parts.append(f"crop {resolved['crop'] or 'none'}")
    if resolved["clamp"]:
        parts.append(f"prediction clamped to [{lo:g}, {hi:g}]")
    parts.append(f"align {resolved['align']}")
    parts.append("per-image mean" if resolved["reduction"] == "per_image" else "pooled pixels")
    return f"protocol {resolved['name']}: " + ", ".join(parts)
