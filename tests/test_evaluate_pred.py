"""``evaluate --pred``: how a 16-bit PNG prediction is decoded, by its name.

- ``NAME_depth.png`` (``rgb2depth predict``'s naming): with the scale and offset of
  the ``NAME_depth.json`` beside it; refused when that file is missing (the model's
  encoding is not the dataset's, so guessing would mis-score it).
- ``NAME.png``: with the dataset's encoding (``dataset.json``).

The predictions are written with the real writers (``write_depth_outputs``, the one
``rgb2depth predict`` uses, and ``encode_depth_png``) from the ground truth itself, so
that a correctly decoded prediction scores an RMSE of about one count.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rgb2depth.cli.main import main
from rgb2depth.data import PairedDepthDataset
from rgb2depth.data.io import encode_depth_png, read_depth, save_png
from rgb2depth.errors import InputError
from rgb2depth.evaluation import evaluate_predictions
from rgb2depth.inference.outputs import png_encoding, write_depth_outputs


def ground_truth(root: Path) -> dict[str, np.ndarray]:
    """The test split's depth, invalid pixels filled (a prediction has depth everywhere)."""
    ds = PairedDepthDataset(root, "test")
    out = {}
    for name, path in zip(ds.names, ds.depth_files, strict=True):
        depth, valid = read_depth(path, png_scale=ds.info.png_scale, png_offset=ds.info.png_offset)
        out[name] = np.where(valid, depth, np.float32(2.0)).astype(np.float32)
    return out


@pytest.fixture
def predict_files(planes_dataset: Path, tmp_path: Path) -> Path:
    """What ``rgb2depth predict`` writes for the test split, for a model in metres."""
    model = SimpleNamespace(depth_range=(0.5, 10.0), units="m", source="perfect")
    assert png_encoding(model.depth_range) != (0.001, 0.0)  # not the dataset's encoding
    out = tmp_path / "pred"
    out.mkdir()
    for name, depth in ground_truth(planes_dataset).items():
        write_depth_outputs(out, name, depth, model)
    return out


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_pngs_with_their_json_score_as_the_truth(
    predict_files: Path, planes_dataset: Path
) -> None:
    metrics = evaluate_predictions(predict_files, planes_dataset, progress=False)
    assert metrics["n_images"] > 0
    assert metrics["rmse"] < 2e-4  # one count of 0.0002 m


def test_predict_png_without_its_json_is_refused(
    predict_files: Path, planes_dataset: Path, tmp_path: Path, capsys
) -> None:
    lost = sorted(predict_files.glob("*_depth.json"))[1]
    lost.unlink()
    with pytest.raises(InputError, match="missing"):
        evaluate_predictions(predict_files, planes_dataset, progress=False)
    target = tmp_path / "m.json"
    code, stdout, err = run_cli(
        capsys, "evaluate", "--pred", predict_files, "--data", planes_dataset, "--json", target
    )
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("rgb2depth evaluate: error: ")
    assert lost.with_suffix(".png").name in line and lost.name in line
    assert "NAME.png" in line  # what is accepted instead
    assert not target.exists() and stdout == ""


def test_predict_json_in_other_units_is_refused(predict_files: Path, planes_dataset: Path) -> None:
    side = sorted(predict_files.glob("*_depth.json"))[0]
    meta = json.loads(side.read_text())
    side.write_text(json.dumps({**meta, "units": "mm"}))
    with pytest.raises(InputError, match="in mm but the dataset's depth is in m"):
        evaluate_predictions(predict_files, planes_dataset, progress=False)


def test_plain_png_uses_the_dataset_encoding(planes_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "plain"
    out.mkdir()
    for name, depth in ground_truth(planes_dataset).items():  # dataset: 0.001 m per count
        save_png(out / f"{name}.png", encode_depth_png(depth, scale=0.001))
    metrics = evaluate_predictions(out, planes_dataset, progress=False)
    assert metrics["rmse"] < 1e-3


def test_plain_png_beside_a_json_uses_the_json(
    predict_files: Path, planes_dataset: Path, tmp_path: Path
) -> None:
    """A predict output renamed to NAME.png / NAME.json keeps its stated encoding."""
    out = tmp_path / "renamed"
    out.mkdir()
    for p in predict_files.iterdir():
        if p.name.endswith(("_depth.png", "_depth.json")):
            (out / p.name.replace("_depth", "")).write_bytes(p.read_bytes())
    metrics = evaluate_predictions(out, planes_dataset, progress=False)
    assert metrics["rmse"] < 2e-4


def test_predict_pngs_with_a_protocol_and_per_image_rows(
    predict_files: Path, planes_dataset: Path, tmp_path: Path, capsys
) -> None:
    """The same files under ``--protocol nyu-eigen`` (the planes are in metres, 24x32):
    the prediction is the truth within a count, so every per-image row is near 0."""
    rows = tmp_path / "rows.csv"
    target = tmp_path / "m.json"
    code, stdout, err = run_cli(
        capsys,
        "evaluate",
        "--pred",
        predict_files,
        "--data",
        planes_dataset,
        "--protocol",
        "nyu-eigen",
        "--csv",
        rows,
        "--json",
        target,
        "--workers",
        "0",
    )
    assert code == 0, err
    assert "protocol nyu-eigen: 0.001 < gt < 10 m, crop nyu_eigen" in stdout
    result = json.loads(target.read_text())
    assert result["protocol"]["name"] == "nyu-eigen" and result["protocol"]["clamp"] is True
    lines = rows.read_text().splitlines()
    ds = PairedDepthDataset(planes_dataset, "test")
    assert len(lines) == 1 + len(ds) and lines[0].startswith("name,abs_rel,")
    assert [line.split(",")[0] for line in lines[1:]] == ds.names
    assert all(float(line.split(",")[3]) < 2e-4 for line in lines[1:])  # rmse: one count
    assert result["metrics"]["rmse"] < 2e-4
