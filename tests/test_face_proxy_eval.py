"""scripts/face_proxy_eval.py's texture-copy figure: depth that copies the photo's dark
marks scores near 1, a smooth bulge near 0, and only the inner face (where both the
prediction and the mesh have depth) counts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "face_proxy_eval.py"


def _load():
    spec = importlib.util.spec_from_file_location("face_proxy_eval", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_texture_copy_tells_copied_marks_from_a_smooth_bulge(tmp_path: Path):
    proxy = _load()
    rng = np.random.default_rng(0)
    h = w = 96
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - 48) / 40.0) ** 2 + ((yy - 48) / 44.0) ** 2
    bulge = 800.0 - 60.0 * np.sqrt(np.clip(1 - r2, 0, None))
    lum = 0.6 + 0.05 * rng.standard_normal((h, w))
    for cy, cx in [(35, 32), (35, 64), (70, 48)]:  # two eyes and a mouth: dark marks
        lum[(yy - cy) ** 2 + (xx - cx) ** 2 < 36] = 0.1
    photos, pseudo = tmp_path / "photos", tmp_path / "pseudo"
    photos.mkdir()
    pseudo.mkdir()
    photo = photos / "p.png"
    Image.fromarray((np.clip(lum, 0, 1) * 255).astype(np.uint8)).convert("RGB").save(photo)
    np.save(pseudo / "p.npy", np.where(r2 < 1, bulge, np.nan).astype(np.float32))
    scores = {}
    for name, depth in {
        "copies": bulge + 20.0 * (0.6 - lum),  # dark reads as far: the failure
        "smooth": bulge,
    }.items():
        pred = tmp_path / name
        pred.mkdir()
        np.save(pred / "p.npy", depth.astype(np.float32))
        scores[name] = proxy.texture_copy(pred, pseudo, [photo])["texture_r_median"]
    assert scores["copies"] > 0.9
    assert abs(scores["smooth"]) < 0.2
    # no overlap with the mesh: nothing to score
    np.save(pseudo / "p.npy", np.full((h, w), np.nan, np.float32))
    assert np.isnan(proxy.texture_copy(tmp_path / "copies", pseudo, [photo])["texture_r_median"])


def test_paired_counts_photos_both_scored():
    proxy = _load()
    first = {
        "a": {"r": 0.5, "nrmse": 0.6},
        "b": {"r": 0.8, "nrmse": 0.4},
        "c": {"r": 0.1, "nrmse": 1},
    }
    other = {"a": {"r": 0.7, "nrmse": 0.5}, "b": {"r": 0.7, "nrmse": 0.5}}
    c = proxy.paired(first, other)
    assert c["n"] == 2 and c["r_higher"] == 1
    assert c["dr_median"] == pytest.approx(0.05)
    assert c["dnrmse_median"] == pytest.approx(0.0)


def test_each_model_and_baseline_predicts_into_its_own_folder():
    proxy = _load()
    names = [
        proxy.pred_folder("runs/a/model", "model"),
        proxy.pred_folder("runs/b/model/", "model"),
        proxy.pred_folder("faces", "model"),
        proxy.pred_folder("flat", "model"),
        proxy.pred_folder("flat", "baseline"),
    ]
    assert len(set(names)) == len(names), names
    assert all("/" not in n for n in names)


@pytest.mark.parametrize("tta", ["fli", "flip,flip", ","])
def test_a_bad_tta_is_refused_in_one_line(tmp_path: Path, capsys, tta: str):
    proxy = _load()
    assert proxy.main([str(tmp_path), "--tta", tta]) == 2
    err = capsys.readouterr().err
    assert "use none, flip or none,flip" in err and len(err.strip().splitlines()) == 1
