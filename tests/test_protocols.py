"""``evaluate --protocol``: each preset's choices, checked by hand where the choice matters.

Every test writes a tiny dataset folder in the published format (``dataset.json``,
``test/rgb/*.png``, ``test/depth/*.npy``) and a folder of ``.npy`` predictions, scores
it through the library or the command line, and compares with the same numbers
computed here directly in numpy from the protocol's stated rules (crop bounds written
out in pixels, strict or inclusive limits, medians, clamping).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from rgb2depth.cli.evaluate import ALIGN_CHOICES, PROTOCOL_CHOICES
from rgb2depth.cli.main import main
from rgb2depth.data.io import save_png
from rgb2depth.errors import InputError
from rgb2depth.evaluation import (
    ALIGNS,
    evaluate_predictions,
    evaluate_predictor,
    evaluation_protocol,
    metric_settings,
)
from rgb2depth.metrics import DepthMetricAccumulator, per_image_metrics
from rgb2depth.metrics.align import align_median_shift
from rgb2depth.metrics.protocols import (
    PROTOCOL_NAMES,
    PROTOCOLS,
    accumulator_settings,
    get_protocol,
    resolve_protocol,
)


def write_set(
    root: Path,
    gts: dict[str, np.ndarray],
    preds: dict[str, np.ndarray],
    *,
    units: str,
    depth_range: tuple[float, float],
    **info_keys: object,
) -> tuple[Path, Path]:
    """A dataset folder (``.npy`` depth, 0 = invalid) and a prediction folder.

    The arrays are rounded to float32 in place (as the files store them), so that the
    numbers computed here by hand start from the same values.
    """
    data, pred = root / "data", root / "pred"
    for a in (*gts.values(), *preds.values()):
        if a.dtype == np.float64:
            a[...] = a.astype(np.float32)
    for name, gt in gts.items():
        for sub in ("rgb", "depth"):
            (data / "test" / sub).mkdir(parents=True, exist_ok=True)
        h, w = gt.shape
        rgb = np.stack([np.full((h, w), 40 * i, np.uint8) for i in range(1, 4)], axis=-1)
        save_png(data / "test" / "rgb" / f"{name}.png", rgb)
        np.save(data / "test" / "depth" / f"{name}.npy", gt.astype(np.float32))
    info = {"name": "t", "kind": "test", "depth_units": units, "depth_range": list(depth_range)}
    info.update(info_keys)
    (data / "dataset.json").write_text(json.dumps(info))
    pred.mkdir()
    for name, p in preds.items():
        np.save(pred / f"{name}.npy", p.astype(np.float32))
    return data, pred


def score(data: Path, pred: Path, **kw) -> dict[str, float]:
    return evaluate_predictions(pred, data, progress=False, workers=0, **kw)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # a usage error, said by argparse
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *fragments: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def eigen(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """The Eigen set, silog lambda = 1 x100, written out for one image's valid pixels."""
    e = np.log(pred) - np.log(gt)
    ratio = np.maximum(pred / gt, gt / pred)
    return {
        "abs_rel": float(np.mean(np.abs(gt - pred) / gt)),
        "sq_rel": float(np.mean((gt - pred) ** 2 / gt)),
        "rmse": float(np.sqrt(np.mean((gt - pred) ** 2))),
        "rmse_log": float(np.sqrt(np.mean(e**2))),
        "log10": float(np.mean(np.abs(np.log10(gt) - np.log10(pred)))),
        "delta1": float(np.mean(ratio < 1.25)),
        "delta2": float(np.mean(ratio < 1.25**2)),
        "delta3": float(np.mean(ratio < 1.25**3)),
        "silog_x100_l1": float(100 * np.sqrt(np.mean(e**2) - np.mean(e) ** 2)),
    }


def linear(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    d = pred - gt
    return {
        "rmse": float(np.sqrt(np.mean(d**2))),
        "mae": float(np.mean(np.abs(d))),
        "mse": float(np.mean(d**2)),
    }


def mean_of(per_image: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([m[k] for m in per_image])) for k in per_image[0]}


def assert_metrics(got: dict[str, float], want: dict[str, float]) -> None:
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


# ---------------------------------------------------------------- the table itself


def test_cli_choices_are_the_library_names() -> None:
    assert PROTOCOL_CHOICES == PROTOCOL_NAMES
    assert ALIGN_CHOICES == ALIGNS
    for p in PROTOCOLS.values():
        assert p.sources, p.name  # every preset says where its choices come from
        if p.name != "dataset":
            assert p.units, p.name


def test_default_protocol_is_metric_settings() -> None:
    """Without --protocol nothing changes: the "dataset" preset is metric_settings."""
    for rng, align in (((500.0, 1800.0), "none"), ((-7.4, 1.8), "lstsq"), ((0.0, 1.0), "median")):
        settings = metric_settings(rng, align=align)
        assert settings["min_depth"] == (rng[0] if rng[0] < 0 else max(rng[0], 1e-6))
        assert settings["max_depth"] == rng[1] and settings["inclusive"] is True
        assert settings["invalid_value"] is None and settings["align"] == align
        assert settings["crop"] is None and settings["clamp"] is False
        assert settings["reduction"] == "per_image" and settings["median_window"] is None
        resolved = resolve_protocol(None, depth_range=rng, depth_units="mm", align=align)
        assert accumulator_settings(resolved) == settings


def test_unknown_protocol_lists_the_known_ones(tmp_path: Path, capsys) -> None:
    with pytest.raises(InputError, match="unknown protocol 'nyu'") as e:
        get_protocol("nyu")
    assert all(name in str(e.value) for name in PROTOCOL_NAMES)
    data, _ = write_set(tmp_path, {"a": np.ones((8, 8))}, {}, units="m", depth_range=(0.1, 10))
    code, out, err = run_cli(
        capsys, "evaluate", "--pred", tmp_path, "--data", data, "--protocol", "nyu"
    )
    one_line_error(code, err, "--protocol", "'nyu'", *PROTOCOL_NAMES)
    assert out == ""


# ---------------------------------------------------------------- nyu-eigen, kitti-garg


def test_nyu_eigen_by_hand(tmp_path: Path) -> None:
    """48x64: the Eigen crop is rows 4:47, cols 4:60 (45/480, 471/480, 41/640, 601/640).

    An outlier outside the crop does not count; ground truth at exactly 10 m does not
    count (strict); a prediction of 50 m is clamped to 10 m; a second image averages in.
    """
    gt = np.full((48, 64), 2.0)
    pred = np.full((48, 64), 2.5)
    pred[0, 0] = 1000.0  # outside the crop (row 0)
    pred[47, 63] = 1000.0  # outside the crop (last row and column)
    gt[10, 10], pred[10, 10] = 10.0, 3.0  # at the upper limit: strict, so excluded
    gt[20, 20], pred[20, 20] = 4.0, 50.0  # clamped to 10
    gt[30, 30] = 0.0  # invalid
    gt2 = np.linspace(0.5, 9.0, 48 * 64).reshape(48, 64)
    pred2 = gt2 * 1.1
    data, pdir = write_set(
        tmp_path, {"a": gt, "b": gt2}, {"a": pred, "b": pred2}, units="m", depth_range=(0.1, 10)
    )
    got = score(data, pdir, protocol="nyu-eigen")

    per_image = []
    for g, p in ((gt, pred), (gt2, pred2)):
        g, p = g[4:47, 4:60], np.clip(p[4:47, 4:60], 1e-3, 10.0)
        keep = (g > 1e-3) & (g < 10.0)
        per_image.append(eigen(p[keep], g[keep]))
    want = mean_of(per_image)
    assert_metrics(got, want)
    assert set(got) - {"n_images", "n_skipped", "n_pixels", "n_files"} == set(want)
    assert got["n_pixels"] == 2 * 43 * 56 - 2  # the 10 m and the invalid pixel

    # each choice matters here: the default protocol sees the outliers and the 10 m pixel
    default = score(data, pdir)
    assert default["rmse"] > 10 * got["rmse"]


def test_kitti_garg_by_hand(tmp_path: Path) -> None:
    """50x100: the Garg crop is rows 20:49, cols 3:96; 80 m is the (strict) upper limit."""
    gt = np.full((50, 100), 20.0)
    gt[25:30, 10:20] = 79.0
    gt[40, 50] = 80.0  # excluded: strict
    pred = gt * 0.8
    pred[5, 50] = 500.0  # above the crop
    pred[30, 98] = 500.0  # right of the crop
    pred[35, 35] = 200.0  # clamped to 80
    data, pdir = write_set(tmp_path, {"a": gt}, {"a": pred}, units="m", depth_range=(1.0, 80))
    got = score(data, pdir, protocol="kitti-garg")
    g, p = gt[20:49, 3:96], np.clip(pred[20:49, 3:96], 1e-3, 80.0)
    keep = (g > 1e-3) & (g < 80.0)
    assert_metrics(got, eigen(p[keep], g[keep]))
    assert got["n_pixels"] == 29 * 93 - 1


# ---------------------------------------------------------------- seed 000's presets


def test_texas_by_hand(tmp_path: Path) -> None:
    """Relative depth in [0, 1]: 1.0 (the near plane) counts, 0 (background) does not."""
    gt = np.zeros((16, 16))
    gt[4:12, 4:12] = np.linspace(0.3, 1.0, 64).reshape(8, 8)  # the face; 1.0 included
    pred = np.clip(gt + 0.05 * np.sin(np.arange(256)).reshape(16, 16), 0, 1.2)
    pred[0, 0] = 0.9  # on the background: not counted
    data, pdir = write_set(
        tmp_path, {"a": gt}, {"a": pred}, units="relative", depth_range=(0.0, 1.0)
    )
    got = score(data, pdir, protocol="texas")
    keep = (gt > 0) & (gt <= 1.0)
    assert keep.sum() == 64
    assert_metrics(got, linear(pred[keep], gt[keep]))
    assert "abs_rel" not in got and "delta1" not in got


def test_surreal_by_hand(tmp_path: Path) -> None:
    """Each map minus its median, pixels within +-0.4725 m of it, background invalid.

    A prediction 0.7 m too far but of the right shape scores about zero; a body pixel
    0.5 m behind the median is out of the window; the background never counts.
    """
    rng = np.random.default_rng(0)
    gt = np.zeros((20, 12))
    gt[2:18, 3:9] = 3.0 + 0.1 * rng.standard_normal((16, 6))  # the body at about 3 m
    gt[2, 3] = 3.0 + 0.5  # beyond the window
    gt[3, 3] = 3.0 - 0.4  # within it
    pred = np.where(gt > 0, gt + 0.7 + 0.01 * rng.standard_normal(gt.shape), 9.0)
    pred2 = np.where(gt > 0, 2.0 + 0.05 * rng.standard_normal(gt.shape), 0.0)  # flat
    data, pdir = write_set(
        tmp_path, {"a": gt, "b": gt}, {"a": pred, "b": pred2}, units="m", depth_range=(0, 20)
    )
    got = score(data, pdir, protocol="surreal")
    per_image = []
    for p in (pred, pred2):
        fg = gt > 0
        mg, mp = np.median(gt[fg]), np.median(p[fg])
        keep = fg & (np.abs(gt - mg) < 0.4725)
        per_image.append(linear((p - mp + mg)[keep], gt[keep]))
    assert_metrics(got, mean_of(per_image))
    assert got["n_pixels"] == 2 * (16 * 6 - 1)
    assert per_image[0]["rmse"] < 0.05  # the offset is gone
    assert score(data, pdir)["rmse"] > 0.5  # without the protocol it is not
    with pytest.raises(InputError, match="contradicts protocol 'surreal'"):
        score(data, pdir, protocol="surreal", align="none")


def test_median_shift_alignment() -> None:
    gt = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    pred = torch.tensor([[11.0, 12.5, 13.0, -5.0]])
    valid = torch.tensor([[True, True, True, False]])
    out = align_median_shift(pred, gt, valid)  # median(gt) 2, median(pred) 12.5 on valid
    torch.testing.assert_close(out, pred - 10.5)


def test_faces_relative_is_a_shift_not_a_scale(tmp_path: Path) -> None:
    """A face predicted 100 mm too far: the shift removes it exactly, a scale does not."""
    gt = np.zeros((12, 12))
    gt[2:10, 2:10] = 700.0 + 10.0 * np.arange(64).reshape(8, 8)  # 700..1330 mm
    pred = np.where(gt > 0, gt + 100.0, 900.0)
    data, pdir = write_set(tmp_path, {"a": gt}, {"a": pred}, units="mm", depth_range=(500, 1800))
    got = score(data, pdir, protocol="faces-relative")
    assert got["rmse"] == pytest.approx(0.0, abs=1e-9) and got["delta1"] == 1.0
    assert score(data, pdir)["rmse"] == pytest.approx(100.0)
    fg = gt > 0
    scaled = pred[fg] * np.median(gt[fg]) / np.median(pred[fg])
    assert score(data, pdir, align="median")["rmse"] == pytest.approx(
        linear(scaled, gt[fg])["rmse"]
    )
    assert linear(scaled, gt[fg])["rmse"] > 1.0
    # the same shift asked for explicitly agrees with the protocol; another is refused
    assert score(data, pdir, protocol="faces-relative", align="median_shift") == got
    with pytest.raises(InputError, match="aligns by 'median_shift'"):
        score(data, pdir, protocol="faces-relative", align="median")


def test_surfaces_by_hand(tmp_path: Path) -> None:
    """Signed heights in um: 0 and -7.4 count (inclusive), -8 is outside [-7.4, 1.8]."""
    gt = np.linspace(-3.0, 1.5, 100).reshape(10, 10)
    gt[0, 0], gt[0, 1], gt[0, 2], gt[0, 3] = 0.0, -7.4, -8.0, 1.8
    pred = gt + 0.3 * np.cos(np.arange(100)).reshape(10, 10)
    data, pdir = write_set(
        tmp_path, {"a": gt}, {"a": pred}, units="um", depth_range=(-9, 2), invalid_value=-99
    )  # a height of 0 is real (the plateau): another code marks missing pixels
    got = score(data, pdir, protocol="surfaces")
    g32 = gt.astype(np.float32)  # the limits apply to the stored values, in their precision
    keep = (g32 >= np.float32(-7.4)) & (g32 <= np.float32(1.8))
    assert keep.sum() == 99
    assert_metrics(got, linear(pred[keep], gt[keep]))


# ---------------------------------------------------------------- refusals and outputs


@pytest.mark.parametrize(
    ("protocol", "units", "fragment"),
    [
        ("nyu-eigen", "mm", "scores depth in m but the dataset's depth is in mm"),
        ("texas", "m", "scores depth in relative"),
        ("surfaces", "mm", "in um"),
        ("faces-relative", "relative", "mm or m"),
    ],
)
def test_units_mismatch_is_refused(
    protocol: str, units: str, fragment: str, tmp_path: Path, capsys
) -> None:
    gt = np.full((8, 8), 0.5)
    data, pdir = write_set(tmp_path, {"a": gt}, {"a": gt}, units=units, depth_range=(0.1, 1))
    with pytest.raises(InputError, match=fragment):
        evaluation_protocol(data, protocol)
    target = tmp_path / "m.json"
    code, out, err = run_cli(
        capsys, "evaluate", "--pred", pdir, "--data", data, "--protocol", protocol, "--json", target
    )
    one_line_error(code, err, f"protocol {protocol!r}", fragment)
    assert out == "" and not target.exists()


def test_cli_align_contradicting_protocol(tmp_path: Path, capsys) -> None:
    gt = np.full((8, 8), 2.0)
    data, pdir = write_set(tmp_path, {"a": gt}, {"a": gt}, units="m", depth_range=(0.1, 10))
    argv = ["evaluate", "--pred", pdir, "--data", data, "--protocol", "nyu-eigen"]
    code, _, err = run_cli(capsys, *argv, "--align", "lstsq")
    one_line_error(code, err, "align 'lstsq' contradicts protocol 'nyu-eigen'", "'none'")
    code, _, err = run_cli(capsys, *argv, "--align", "none")  # no contradiction
    assert code == 0, err


def test_cli_prints_and_saves_the_protocol(tmp_path: Path, capsys) -> None:
    gt = np.zeros((48, 64))
    gt[10:40, 10:50] = np.linspace(1.0, 3.0, 30 * 40).reshape(30, 40)
    data, pdir = write_set(tmp_path, {"a": gt}, {"a": gt + 0.7}, units="m", depth_range=(0, 20))
    target, rows = tmp_path / "m.json", tmp_path / "rows.csv"
    code, out, err = run_cli(
        capsys,
        "evaluate",
        "--pred",
        pdir,
        "--data",
        data,
        "--protocol",
        "surreal",
        "--json",
        target,
        "--csv",
        rows,
        "--quiet",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split() == ["rmse", "mae", "mse"]
    assert "protocol surreal:" in out and "|gt - median| < 0.4725 m" in out
    assert "align median_shift" in out
    saved = json.loads(target.read_text())
    proto = saved["protocol"]
    assert proto["name"] == "surreal" and saved["align"] == "median_shift"
    assert proto["median_window"] == 0.4725 and proto["max_depth"] is None  # no limit
    assert proto["min_depth"] == 0.0 and proto["inclusive"] is False
    assert proto["crop"] is None and proto["clamp"] is False
    assert proto["reduction"] == "per_image" and proto["metrics"] == ["rmse", "mae", "mse"]
    assert "seed 000" in proto["sources"]["median_window"]
    assert saved["metrics"]["rmse"] == pytest.approx(0.0, abs=1e-6)
    assert rows.is_file()

    # without --protocol: the JSON names the default, and the table is today's
    code, out, err = run_cli(
        capsys, "evaluate", "--pred", pdir, "--data", data, "--json", target, "--quiet"
    )
    assert code == 0, err
    saved = json.loads(target.read_text())
    assert saved["protocol"]["name"] == "dataset" and saved["align"] == "none"
    assert saved["protocol"]["max_depth"] == 20.0 and saved["protocol"]["inclusive"] is True
    assert out.splitlines()[1].split()[:3] == ["abs_rel", "sq_rel", "rmse"]
    assert "protocol dataset: 1e-06 <= gt <= 20 m" in out


def test_csv_rows_are_the_per_image_metrics(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    gts = {f"im{i}": rng.uniform(0.5, 9.5, (48, 64)) for i in range(5)}
    gts["im3"][:] = 0.0  # no valid pixel: a row of NaN, skipped in the mean
    preds = {k: v * rng.uniform(0.8, 1.2, v.shape) + 0.01 for k, v in gts.items()}
    data, pdir = write_set(tmp_path, gts, preds, units="m", depth_range=(0.1, 10))
    out = tmp_path / "rows.csv"
    got = score(data, pdir, protocol="nyu-eigen", csv=out)
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == sorted(gts)
    settings = accumulator_settings(evaluation_protocol(data, "nyu-eigen"))
    del settings["reduction"]
    for row in rows:
        g = torch.from_numpy(gts[row["name"]].astype(np.float32))
        p = torch.from_numpy(preds[row["name"]].astype(np.float32))
        want = per_image_metrics(p[None], g[None], mask=g[None] > 0, **settings)
        assert list(row) == ["name", *got_metric_names(got), "n_pixels"]
        for k, v in want.items():
            if math.isnan(float(v[0])):
                assert row[k] == "nan"
            else:
                assert float(row[k]) == float(v[0]), (row["name"], k)  # written exactly
    assert got["n_skipped"] == 1 and got["n_images"] == 4
    valid = [r for r in rows if r["name"] != "im3"]
    assert got["rmse"] == pytest.approx(np.mean([float(r["rmse"]) for r in valid]), rel=1e-12)


def got_metric_names(metrics: dict[str, float]) -> list[str]:
    return [k for k in metrics if k not in ("n_images", "n_skipped", "n_pixels", "n_files")]


def test_csv_not_left_half_written(tmp_path: Path) -> None:
    gts = {"a": np.full((8, 8), 2.0), "b": np.full((8, 8), 2.0)}
    data, pdir = write_set(
        tmp_path, gts, {"a": gts["a"], "b": np.ones((4, 4))}, units="m", depth_range=(0.1, 10)
    )
    out = tmp_path / "rows.csv"
    with pytest.raises(InputError, match="prediction is"):
        score(data, pdir, csv=out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------- streaming


@pytest.mark.slow
def test_workers_give_identical_results(tmp_path: Path) -> None:
    """2 loader processes: the same numbers and the same CSV, byte for byte, as none."""
    rng = np.random.default_rng(2)
    gts = {f"im{i:02d}": rng.uniform(0.5, 9.5, (48, 64)) for i in range(12)}
    preds = {k: v + rng.normal(0, 0.3, v.shape) for k, v in gts.items()}
    data, pdir = write_set(tmp_path, gts, preds, units="m", depth_range=(0.1, 10))
    results, texts = [], []
    for workers in (0, 2):
        out = tmp_path / f"rows{workers}.csv"
        results.append(
            evaluate_predictions(
                pdir, data, protocol="nyu-eigen", workers=workers, csv=out, progress=False
            )
        )
        texts.append(out.read_text())
    assert results[0] == results[1] and texts[0] == texts[1]

    # the model path: RGB read in the workers, the model called here, in order
    seen: list[list[int]] = [[], []]
    for k, workers in enumerate((0, 2)):

        def predict(rgb: np.ndarray, k: int = k) -> np.ndarray:
            seen[k].append(int(rgb[0, 0, 0]))
            return np.full(rgb.shape[:2], 3.0, np.float32)

        r = evaluate_predictor(predict, data, protocol="nyu-eigen", workers=workers, progress=False)
        results.append(r)
    assert results[2] == results[3] and seen[0] == seen[1] == [40] * 12


@pytest.mark.slow
def test_bad_file_in_a_worker_is_one_line(tmp_path: Path, capsys) -> None:
    gts = {f"im{i}": np.full((8, 8), 2.0) for i in range(4)}
    preds = dict(gts)
    preds["im2"] = np.full((8, 8), np.nan)
    data, pdir = write_set(tmp_path, gts, preds, units="m", depth_range=(0.1, 10))
    code, _, err = run_cli(
        capsys, "evaluate", "--pred", pdir, "--data", data, "--workers", "2", "--quiet"
    )
    one_line_error(code, err, "im2.npy", "NaN")
    assert "DataLoader" not in err and "Caught" not in err  # not the worker's wrapping


def test_accumulator_keeps_no_per_image_tensors() -> None:
    """Memory does not grow with the number of images: the state is a few scalars."""
    acc = DepthMetricAccumulator(**accumulator_settings(evaluation_protocol_nyu()))
    for _ in range(30):
        gt = torch.rand(2, 1, 24, 32) * 5 + 0.5
        values = acc.update(gt * 1.1, gt)
        assert values["rmse"].shape == (2,)
    state = [v for v in vars(acc).values() if isinstance(v, torch.Tensor)]
    state += [t for d in vars(acc).values() if isinstance(d, dict) for t in d.values()]
    assert state and all(t.numel() == 1 for t in state)


def evaluation_protocol_nyu() -> dict:
    return resolve_protocol("nyu-eigen", depth_range=(0.1, 10), depth_units="m")


def test_evaluation_leaves_the_global_rng_alone(tmp_path: Path) -> None:
    gt = np.full((8, 8), 2.0)
    data, pdir = write_set(tmp_path, {"a": gt}, {"a": gt}, units="m", depth_range=(0.1, 10))
    before = torch.random.get_rng_state()
    score(data, pdir)
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("show", [False, True])
def test_progress_iterates_the_loader_once(show: bool) -> None:
    """A second ``iter()`` of a DataLoader would start a second set of workers."""
    from rgb2depth.evaluation import _progress

    class Once:
        calls = 0

        def __iter__(self):
            Once.calls += 1
            return iter(range(3))

    assert list(_progress(Once(), 3, "t", show)) == [0, 1, 2]
    assert Once.calls == 1
