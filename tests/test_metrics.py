"""Tests of rgb2depth.metrics: hand-computed cases and a cross-check against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numpy_metrics_reference import reference_metrics
from rgb2depth.errors import InputError
from rgb2depth.metrics import (
    COUNT_KEYS,
    DEFAULT_METRICS,
    EIGEN2014_TABLE,
    METRIC_INFO,
    METRIC_NAMES,
    PRED_FLOOR,
    DepthMetricAccumulator,
    align_least_squares,
    align_median,
    apply_crop,
    clamp_depth,
    compute_depth_metrics,
    crop_bounds,
    crop_mask,
    per_image_metrics,
    valid_mask,
)


def t(values, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def assert_close(got: torch.Tensor, expected: torch.Tensor, tol: float = 1e-12) -> None:
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert torch.allclose(got, expected, rtol=tol, atol=tol), (got, expected)


def ramp(b: int = 2, h: int = 8, w: int = 8) -> torch.Tensor:
    """A positive (B, 1, H, W) depth map with distinct values in 1..9."""
    return torch.linspace(1.0, 9.0, b * h * w, dtype=torch.float64).reshape(b, 1, h, w)


# -- basic values ------------------------------------------------------------------------------


def test_perfect_prediction() -> None:
    gt = ramp()
    m = compute_depth_metrics(gt.clone(), gt, max_depth=10.0, metrics=METRIC_NAMES)
    for name in METRIC_NAMES:
        expected = 1.0 if METRIC_INFO[name].higher_is_better else 0.0
        assert m[name] == pytest.approx(expected, abs=1e-12), name
    assert (m["n_images"], m["n_skipped"], m["n_pixels"]) == (2.0, 0.0, 128.0)
    assert list(m) == [*METRIC_NAMES, *COUNT_KEYS]


@pytest.mark.parametrize(("gt_value", "pred_value"), [(4.0, 5.0), (5.0, 4.0)])
def test_delta_threshold_is_strict(gt_value: float, pred_value: float) -> None:
    gt = torch.full((1, 1, 2, 2), gt_value)
    m = compute_depth_metrics(torch.full_like(gt, pred_value), gt)
    assert m["delta1"] == 0.0  # max ratio is exactly 1.25, and 1.25 < 1.25 is false
    assert m["delta2"] == 1.0
    just_inside = compute_depth_metrics(torch.full_like(gt, 4.99), torch.full_like(gt, 4.0))
    assert just_inside["delta1"] == 1.0


def test_silog_conventions_on_a_scaled_prediction() -> None:
    gt = ramp()
    m = compute_depth_metrics(2.0 * gt, gt)
    log2 = math.log(2.0)
    assert m["silog_x100_l1"] == pytest.approx(0.0, abs=1e-6)  # lambda = 1: scale invariant
    assert m["rmse_si"] == pytest.approx(0.0, abs=1e-8)
    assert m["silog_l05"] == pytest.approx(log2 / math.sqrt(2.0), rel=1e-12)
    assert m["rmse_log"] == pytest.approx(log2, rel=1e-12)
    assert m["abs_rel"] == pytest.approx(1.0, rel=1e-12)
    noisy = compute_depth_metrics(gt * (1 + 0.1 * torch.sin(gt)), gt)
    assert noisy["silog_x100_l1"] == pytest.approx(100.0 * noisy["rmse_si"], rel=1e-12)


def test_hand_computed_values() -> None:
    gt = t([[2.0, 4.0]])
    pred = t([[3.0, 2.0]])
    m = compute_depth_metrics(pred, gt)
    assert m["abs_rel"] == pytest.approx((0.5 + 0.5) / 2)
    assert m["sq_rel"] == pytest.approx((1 / 2 + 4 / 4) / 2)
    assert m["mae"] == pytest.approx(1.5)
    assert m["mse"] == pytest.approx(2.5)
    assert m["rmse"] == pytest.approx(math.sqrt(2.5))
    assert m["l2_norm"] == pytest.approx(math.sqrt(5.0))
    assert m["log10"] == pytest.approx((math.log10(1.5) + math.log10(2.0)) / 2)
    # ratios 1.5 and 2.0 against thresholds 1.25, 1.5625, 1.953125
    assert m["delta1"] == 0.0 and m["delta2"] == 0.5 and m["delta3"] == 0.5


def test_accepted_shapes_agree() -> None:
    gt = ramp(1)
    pred = gt * 1.1 + 0.2
    ref = compute_depth_metrics(pred, gt)
    assert compute_depth_metrics(pred[:, 0], gt[:, 0]) == ref
    assert compute_depth_metrics(pred[0, 0], gt[0, 0]) == ref
    assert compute_depth_metrics(pred.float(), gt.float())["abs_rel"] == pytest.approx(
        ref["abs_rel"], rel=1e-6
    )


# -- valid mask and crops ----------------------------------------------------------------------


def test_strict_and_inclusive_limits() -> None:
    gt = t([[1.0, 5.0, 10.0]])
    assert valid_mask(gt, min_depth=1.0, max_depth=10.0).tolist() == [[False, True, False]]
    inclusive = valid_mask(gt, min_depth=1.0, max_depth=10.0, inclusive=True)
    assert inclusive.tolist() == [[True, True, True]]
    pred = t([[3.0, 5.0, 7.0]])
    strict = compute_depth_metrics(pred, gt, min_depth=1.0, max_depth=10.0)
    assert strict["mae"] == 0.0 and strict["n_pixels"] == 1.0
    incl = compute_depth_metrics(pred, gt, min_depth=1.0, max_depth=10.0, inclusive=True)
    assert incl["mae"] == pytest.approx(5.0 / 3.0) and incl["n_pixels"] == 3.0


def test_missing_ground_truth_is_excluded() -> None:
    gt = t([[math.nan, 0.0, math.inf], [3.0, 7.0, -2.0]])
    pred = t([[100.0, 100.0, 100.0], [3.0, 100.0, 100.0]])
    assert valid_mask(gt).tolist() == [[False, False, False], [True, True, False]]
    assert valid_mask(gt, invalid_value=7.0).tolist() == [[False] * 3, [True, False, False]]
    m = compute_depth_metrics(pred, gt, invalid_value=7.0)
    assert m["mae"] == 0.0 and m["n_pixels"] == 1.0


def test_user_mask() -> None:
    gt = ramp(2, 4, 4)
    pred = gt.clone()
    pred[:, :, 0, :] += 5.0
    keep = torch.ones(4, 4, dtype=torch.bool)
    keep[0, :] = False
    assert compute_depth_metrics(pred, gt, mask=keep)["mae"] == 0.0  # (H, W) mask
    full = keep.expand(2, 1, 4, 4)
    assert compute_depth_metrics(pred, gt, mask=full)["n_pixels"] == 24.0  # (B, 1, H, W)


def test_crop_bounds() -> None:
    assert crop_bounds("nyu_eigen", 480, 640) == (45, 471, 41, 601)
    assert crop_bounds("nyu_eigen", 240, 320) == (22, 235, 20, 300)  # proportional
    assert crop_bounds("kitti_garg", 375, 1242) == (153, 371, 44, 1197)
    assert crop_bounds("kitti_eigen", 375, 1242) == (124, 342, 44, 1197)
    with pytest.raises(InputError, match="unknown crop 'nyu'"):
        crop_bounds("nyu", 480, 640)
    with pytest.raises(InputError, match="empty"):
        crop_bounds("nyu_eigen", 1, 1)


def test_crop_selects_rows_and_columns() -> None:
    m = crop_mask("nyu_eigen", 480, 640)
    rows, cols = m.any(dim=1).nonzero(), m.any(dim=0).nonzero()
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (
        45,
        470,
        41,
        600,
    )
    assert int(m.sum()) == (471 - 45) * (601 - 41)
    assert bool(crop_mask(None, 3, 5).all())
    x = torch.zeros(2, 3, 480, 640)
    assert apply_crop(x, "nyu_eigen").shape == (2, 3, 426, 560)
    gt = torch.full((1, 1, 48, 64), 2.0)
    pred = gt.clone()
    top, bottom, left, right = crop_bounds("nyu_eigen", 48, 64)
    pred[..., :top, :] = 9.0  # errors only outside the crop
    pred[..., :, right:] = 9.0
    m = compute_depth_metrics(pred, gt, crop="nyu_eigen")
    assert m["mae"] == 0.0
    assert m["n_pixels"] == (bottom - top) * (right - left)


# -- alignment and clamping --------------------------------------------------------------------


def test_median_scaling_recovers_scale() -> None:
    gt = ramp()
    pred = 0.37 * gt
    pred[1] *= 3.0  # a different scale per image
    valid = torch.ones_like(gt, dtype=torch.bool)
    assert_close(align_median(pred, gt, valid), gt, 1e-12)
    m = compute_depth_metrics(pred, gt, align="median")
    assert m["abs_rel"] < 1e-12 and m["delta1"] == 1.0


def test_median_needs_positive_prediction() -> None:
    gt = ramp(1, 2, 2)
    with pytest.raises(InputError, match="positive median prediction"):
        compute_depth_metrics(-gt, gt, align="median")


def test_least_squares_recovers_scale_and_shift() -> None:
    gt = ramp()
    pred = (gt - 0.5) / 2.5
    valid = torch.ones_like(gt, dtype=torch.bool)
    assert_close(align_least_squares(pred, gt, valid), gt, 1e-12)
    assert compute_depth_metrics(pred, gt, align="lstsq")["abs_rel"] < 1e-12


def test_inverse_least_squares_recovers_disparity_scale_and_shift() -> None:
    gt = ramp()
    pred = 1.0 / ((1.0 / gt + 0.02) / 3.0)  # affine in disparity, not in depth
    valid = torch.ones_like(gt, dtype=torch.bool)
    aligned = align_least_squares(pred, gt, valid, inverse=True)
    assert_close(aligned, gt, 1e-10)
    assert compute_depth_metrics(pred, gt, align="lstsq_inv")["abs_rel"] < 1e-10
    assert compute_depth_metrics(pred, gt, align="lstsq")["abs_rel"] > 1e-3


def test_inverse_least_squares_floors_negative_disparity() -> None:
    gt = t([[1.0, 2.0, 4.0, 0.0]])
    # fitted disparity 2 / pred - 0.1 = 1 / gt on the valid pixels
    pred = t([[2.0 / 1.1, 2.0 / 0.6, 2.0 / 0.35, 100.0]])
    valid = valid_mask(gt)
    aligned = align_least_squares(pred, gt, valid, inverse=True)
    assert_close(aligned[0, :3], gt[0, :3], 1e-10)
    assert aligned[0, 3].item() == pytest.approx(1e6)  # 2/100 - 0.1 < 0 floored at 1e-6


def test_least_squares_on_constant_prediction() -> None:
    gt = t([[1.0, 2.0, 6.0]])
    valid = torch.ones_like(gt, dtype=torch.bool)
    aligned = align_least_squares(torch.full_like(gt, 0.1), gt, valid)
    assert_close(aligned, torch.full_like(gt, 3.0))


def test_clamp() -> None:
    gt = torch.full((1, 4), 2.0, dtype=torch.float64)
    pred = t([[math.nan, math.inf, -1.0, 20.0]])
    assert clamp_depth(pred, 1.0, 10.0).tolist() == [[1.0, 10.0, 1.0, 10.0]]
    m = compute_depth_metrics(pred, gt, min_depth=1.0, max_depth=10.0, clamp=True)
    assert m["mae"] == pytest.approx((1 + 8 + 1 + 8) / 4)
    with pytest.raises(InputError, match="finite max_depth"):
        compute_depth_metrics(pred, gt, clamp=True)


def test_clamp_after_alignment() -> None:
    gt = t([[1.0, 2.0, 3.0]])
    pred = t([[10.0, 20.0, 60.0]])
    m = compute_depth_metrics(pred, gt, max_depth=3.5, align="median", clamp=True)
    # aligned by 2 / 20 to [1, 2, 6], then clamped to [1, 2, 3.5]
    # (clamping first would give [3.5] * 3 -> aligned [2, 2, 2], mae 2 / 3)
    assert m["mae"] == pytest.approx(0.5 / 3)


def test_non_positive_prediction_without_clamp_is_finite() -> None:
    gt = torch.full((1, 4), 2.0, dtype=torch.float64)
    pred = t([[-1.0, 0.0, 2.0, 2.0]])
    m = compute_depth_metrics(pred, gt)
    assert all(math.isfinite(v) for v in m.values())
    big = math.log(2.0 / PRED_FLOOR)
    assert m["rmse_log"] == pytest.approx(math.sqrt(2 * big**2 / 4))
    assert m["log10"] == pytest.approx(2 * big / math.log(10) / 4)
    assert m["delta1"] == 0.5  # a negative prediction never passes a threshold
    assert m["abs_rel"] == pytest.approx((1.5 + 1.0) / 4)


def test_nan_prediction_without_clamp_is_reported() -> None:
    gt = torch.full((1, 3), 2.0, dtype=torch.float64)
    m = compute_depth_metrics(t([[math.nan, 2.0, 2.0]]), gt)
    assert all(math.isnan(m[name]) for name in DEFAULT_METRICS)


# -- reductions --------------------------------------------------------------------------------


def two_unequal_images() -> tuple[torch.Tensor, torch.Tensor]:
    gt = t([[[1.0, 0.0], [0.0, 0.0]], [[2.0, 2.0], [2.0, 0.0]]])
    pred = t([[[2.0, 5.0], [5.0, 5.0]], [[2.0, 2.0], [2.0, 9.0]]])
    return pred, gt


def test_per_image_and_pooled_differ() -> None:
    # image 0: one valid pixel, abs_rel 1; image 1: three exact pixels
    pred, gt = two_unequal_images()
    per_image = compute_depth_metrics(pred, gt)
    pooled = compute_depth_metrics(pred, gt, reduction="pooled")
    assert per_image["abs_rel"] == pytest.approx(0.5)  # (1 + 0) / 2
    assert pooled["abs_rel"] == pytest.approx(0.25)  # 1 / 4 pixels
    assert per_image["mae"] == pytest.approx(0.5) and pooled["mae"] == pytest.approx(0.25)
    assert per_image["delta1"] == pytest.approx(0.5) and pooled["delta1"] == pytest.approx(0.75)
    assert per_image["l2_norm"] == pytest.approx(0.5) and pooled["l2_norm"] == pytest.approx(1.0)
    assert per_image["n_pixels"] == pooled["n_pixels"] == 4.0


def test_image_without_valid_pixel_is_skipped() -> None:
    pred, gt = two_unequal_images()
    gt[0] = 0.0
    for reduction in ("per_image", "pooled"):
        m = compute_depth_metrics(pred, gt, reduction=reduction)
        alone = compute_depth_metrics(pred[1:], gt[1:], reduction=reduction)
        assert m["n_skipped"] == 1.0 and m["n_images"] == 1.0
        assert {k: m[k] for k in DEFAULT_METRICS} == {k: alone[k] for k in DEFAULT_METRICS}
    per_image = per_image_metrics(pred, gt)
    assert math.isnan(per_image["abs_rel"][0]) and per_image["abs_rel"][1] == 0.0
    assert per_image["n_pixels"].tolist() == [0.0, 3.0]
    with pytest.raises(InputError, match="no valid pixel"):
        compute_depth_metrics(pred, torch.zeros_like(gt))


def test_accumulator_matches_one_call() -> None:
    rng = np.random.default_rng(7)
    gt = torch.from_numpy(rng.uniform(0.5, 12.0, (5, 1, 16, 16)))
    gt[torch.from_numpy(rng.random((5, 1, 16, 16)) < 0.2)] = 0.0
    gt[3] = 0.0  # one image without a valid pixel
    pred = gt.clamp_min(1.0) * torch.from_numpy(rng.lognormal(0.3, 0.2, (5, 1, 16, 16)))
    for reduction in ("per_image", "pooled"):
        opts = dict(max_depth=10.0, align="median", reduction=reduction, metrics=METRIC_NAMES)
        whole = compute_depth_metrics(pred, gt, **opts)
        acc = DepthMetricAccumulator(**opts)
        acc.update(pred[:2], gt[:2])
        acc.update(pred[2:], gt[2:])
        parts = acc.compute()
        assert parts.keys() == whole.keys()
        for k in whole:
            assert parts[k] == pytest.approx(whole[k], rel=1e-12, abs=1e-15), (reduction, k)
        acc.reset()
        with pytest.raises(InputError, match="no data"):
            acc.compute()


# -- SSIM --------------------------------------------------------------------------------------


def test_ssim() -> None:
    import kornia

    gt = ramp(2, 12, 12)
    pred = gt * (1 + 0.2 * torch.sin(3 * gt))
    m = compute_depth_metrics(pred, gt, max_depth=10.0, metrics=["ssim"])
    assert list(m) == ["ssim", *COUNT_KEYS]
    pn, gn = ((pred - 1e-3) / (10.0 - 1e-3)).clamp(0, 1), ((gt - 1e-3) / (10.0 - 1e-3))
    expected = kornia.metrics.ssim(pn, gn, 11, max_val=1.0, eps=0.0).mean()
    assert m["ssim"] == pytest.approx(float(expected), rel=1e-12)
    assert 0.0 < m["ssim"] < 1.0
    holes = gt.clone()
    holes[:, :, ::3, ::2] = 0.0  # holes are filled with the prediction
    same = compute_depth_metrics(gt, holes, max_depth=10.0, metrics=["ssim"])
    assert same["ssim"] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(InputError, match="finite max_depth"):
        compute_depth_metrics(pred, gt, metrics=["ssim"])
    with pytest.raises(InputError, match="at least 6x6"):
        compute_depth_metrics(pred[..., :5], gt[..., :5], max_depth=10.0, metrics=["ssim"])


# -- metric descriptions -----------------------------------------------------------------------


def test_metric_descriptions() -> None:
    assert tuple(METRIC_INFO) == METRIC_NAMES
    assert set(DEFAULT_METRICS) == set(METRIC_NAMES) - {"ssim"}
    for name, info in METRIC_INFO.items():
        assert info.description and "\n" not in info.description, name
        assert info.higher_is_better == (name.startswith("delta") or name == "ssim"), name
    assert set(EIGEN2014_TABLE.values()) <= set(METRIC_NAMES)


# -- input errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pred", "gt", "message"),
    [
        (
            torch.ones(2, 1, 4, 4),
            torch.ones(2, 1, 4, 5),
            "expected pred and gt of the same shape, got (2, 1, 4, 4) and (2, 1, 4, 5)",
        ),
        (
            torch.ones(2, 4, dtype=torch.int64),
            torch.ones(2, 4),
            "expected floating-point pred and gt, got torch.int64 and torch.float32",
        ),
        (
            torch.ones(4),
            torch.ones(4),
            "expected pred of shape (B, 1, H, W), (B, H, W) or (H, W), got (4,)",
        ),
        (
            torch.ones(2, 3, 4, 4),
            torch.ones(2, 3, 4, 4),
            "expected pred of shape (B, 1, H, W), (B, H, W) or (H, W), got (2, 3, 4, 4)",
        ),
        (
            torch.ones(1, 2, 1, 4, 4),
            torch.ones(1, 2, 1, 4, 4),
            "expected pred of shape (B, 1, H, W), (B, H, W) or (H, W), got (1, 2, 1, 4, 4)",
        ),
        (np.ones((4, 4)), torch.ones(4, 4), "expected pred to be a torch.Tensor, got ndarray"),
    ],
)
def test_shape_and_dtype_errors(pred: object, gt: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        compute_depth_metrics(pred, gt)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mask": torch.ones(2, 4, 4)}, "expected a bool mask, got torch.float32"),
        (
            {"mask": torch.ones(3, 3, dtype=torch.bool)},
            r"expected mask of shape \(2, 1, 4, 4\) or \(4, 4\), got \(3, 3\)",
        ),
        ({"metrics": ["abs_rel", "silog"]}, "unknown metric 'silog'; known metrics: abs_rel"),
        ({"crop": "nyu"}, "unknown crop 'nyu'"),
        ({"align": "scale"}, "unknown align 'scale'"),
        ({"reduction": "mean"}, "unknown reduction 'mean'"),
        ({"min_depth": 5.0, "max_depth": 1.0}, "expected min_depth < max_depth"),
        ({"min_depth": float("nan")}, "expected min_depth < max_depth"),
    ],
)
def test_option_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        compute_depth_metrics(torch.ones(2, 1, 4, 4), torch.ones(2, 1, 4, 4), **kwargs)


# -- cross-check against the numpy reference ---------------------------------------------------


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict]:
    """Random (B, H, W) float64 pred and gt with holes, NaN, out-of-range and boundary values."""
    rng = np.random.default_rng(seed)
    b, h, w = 3, 12, 16
    depth = rng.uniform(0.5, 11.0, (b, h, w))
    gt = depth.copy()
    gt[rng.random((b, h, w)) < 0.15] = 0.0
    gt[rng.random((b, h, w)) < 0.05] = np.nan
    gt[rng.random((b, h, w)) < 0.02] = np.inf
    gt[rng.random((b, h, w)) < 0.05] = 1.0  # = min_depth
    gt[rng.random((b, h, w)) < 0.05] = 10.0  # = max_depth
    gt[rng.random((b, h, w)) < 0.05] = 7.5  # an invalid code in some cases
    if seed % 2:
        gt[-1] = 0.0  # an image with no valid pixel
    scale, shift = rng.uniform(0.2, 3.0, (b, 1, 1)), rng.uniform(-0.3, 0.3, (b, 1, 1))
    pred = scale * depth * rng.lognormal(0.0, 0.15, (b, h, w)) + shift
    pred[rng.random((b, h, w)) < 0.03] = -0.5  # non-positive predictions
    pred[rng.random((b, h, w)) < 0.03] = 0.0
    mask = rng.random((b, h, w)) > 0.1 if seed in (1, 4) else None
    options = [
        dict(crop=None, inclusive=False, invalid_value=0.0),
        dict(crop="nyu_eigen", inclusive=True, invalid_value=0.0),
        dict(crop="kitti_garg", inclusive=False, invalid_value=7.5),
        dict(crop="kitti_eigen", inclusive=True, invalid_value=None),
        dict(crop=None, inclusive=True, invalid_value=7.5),
    ][seed]
    return pred, gt, mask, options


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("align", ["none", "median", "lstsq", "lstsq_inv"])
@pytest.mark.parametrize("reduction", ["per_image", "pooled"])
@pytest.mark.parametrize("clamp", [False, True])
def test_matches_numpy_reference(seed: int, align: str, reduction: str, clamp: bool) -> None:
    pred, gt, mask, options = random_case(seed)
    if clamp:
        pred = pred.copy()
        pred[:, 0, :3] = [np.nan, np.inf, -np.inf]  # mapped to min / max / min
    dtype = torch.float32 if seed == 3 else torch.float64
    if dtype == torch.float32:  # the reference sees the same float32 values
        pred, gt = pred.astype(np.float32).astype(float), gt.astype(np.float32).astype(float)
    kwargs = dict(min_depth=1.0, max_depth=10.0, align=align, clamp=clamp, reduction=reduction)
    expected = reference_metrics(pred, gt, mask=mask, **options, **kwargs)
    got = compute_depth_metrics(
        torch.from_numpy(pred).to(dtype).unsqueeze(1),
        torch.from_numpy(gt).to(dtype).unsqueeze(1),
        mask=None if mask is None else torch.from_numpy(mask),
        **options,
        **kwargs,
    )
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    pred, gt, mask, options = random_case(1)
    args = [torch.from_numpy(x).unsqueeze(1) for x in (pred, gt)]
    kwargs = dict(mask=torch.from_numpy(mask), max_depth=10.0, align="lstsq_inv", **options)
    cpu = compute_depth_metrics(*args, metrics=METRIC_NAMES, **kwargs)
    cuda = compute_depth_metrics(*(a.cuda() for a in args), metrics=METRIC_NAMES, **kwargs)
    for k in cpu:
        assert cuda[k] == pytest.approx(cpu[k], rel=1e-9, abs=1e-12), k


# -- signed values (surface heights in micrometres) -----------------------------------------


def test_signed_heights_use_linear_metrics() -> None:
    gt = torch.tensor([[[-7.0, -1.0], [0.0, 1.5]]], dtype=torch.float64)
    pred = gt + 0.5
    pred[0, 1, 1] = gt[0, 1, 1] - 1.5  # errors 0.5, 0.5, 0.5, 1.5
    m = compute_depth_metrics(
        pred, gt, min_depth=-7.4, max_depth=1.8, invalid_value=None, inclusive=True
    )
    assert set(m) - {"n_images", "n_skipped", "n_pixels"} == {"rmse", "mae", "mse", "l2_norm"}
    assert m["n_pixels"] == 4  # zero and negative heights count
    assert m["mae"] == pytest.approx(0.75)
    assert m["mse"] == pytest.approx((3 * 0.25 + 2.25) / 4)
    assert m["rmse"] == pytest.approx(math.sqrt((3 * 0.25 + 2.25) / 4))


def test_signed_heights_refuse_ratio_and_log_metrics() -> None:
    gt = torch.zeros(1, 4, 4, dtype=torch.float64) - 1.0
    with pytest.raises(InputError, match=r"metric 'abs_rel' needs positive depth.*use rmse"):
        compute_depth_metrics(gt, gt, min_depth=-7.4, max_depth=1.8, metrics=["abs_rel"])
    with pytest.raises(InputError, match=r"align='median' needs positive depth"):
        compute_depth_metrics(gt, gt, min_depth=-7.4, max_depth=1.8, align="median")
    m = compute_depth_metrics(
        gt + 2.0, gt, min_depth=-7.4, max_depth=1.8, align="lstsq", invalid_value=None
    )
    assert m["rmse"] == pytest.approx(0.0, abs=1e-9)
