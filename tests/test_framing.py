"""``generate faces --framing face``: samples cropped as face mode crops a photo.

The crop is rendered through adjusted intrinsics, so its depth must equal the full
frame's depth in the same window (checked against a full-frame render at the window's
resolution), and the detector run on a framed sample must find the face where face mode
put it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rgb2depth.cli.main import main
from rgb2depth.data.face_detection import CropWindow, FaceBox, detect_faces, face_window
from rgb2depth.data.format import read_info
from rgb2depth.data.io import read_depth
from rgb2depth.data.synthetic import generate, get_kind
from rgb2depth.data.synthetic.faces import Faces
from rgb2depth.data.synthetic.framing import (
    PREVIEW_SHORT_SIDE,
    check_framing,
    geometry_box,
    plausible_faces,
    render_framed,
    window_intrinsics,
)
from rgb2depth.data.synthetic.generate import scene_rng
from rgb2depth.errors import InputError
from test_generate import tree_digest


@pytest.fixture(scope="module")
def faces() -> Faces:
    return Faces()


@pytest.fixture(scope="module")
def framed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("framing") / "framed"
    generate("faces", out, n=8, size=64, seed=3, progress=False, framing="face", preview=True)
    return out


def _view(faces: Faces, i: int) -> tuple[dict, dict]:
    group = faces.sample_group(scene_rng(11, "faces", 0, i // 4))
    return group, faces.sample_view(scene_rng(11, "faces", 1, i))


@pytest.mark.parametrize("zoom", [1, 2])
def test_window_render_is_the_full_frames_depth(faces: Faces, zoom: int) -> None:
    group, params = _view(faces, 0)
    full = faces.render_view(group, params, 64 * zoom, 64 * zoom)  # the same scene, finer
    window = CropWindow(16.0, 8.0, 32.0, 32.0)  # of a 64 x 64 frame
    intr = window_intrinsics(faces.intrinsics(64, 64), window, 32 * zoom, 32 * zoom)
    crop = faces.render_view(group, params, 32 * zoom, 32 * zoom, intrinsics=intr)
    ref = full.depth[8 * zoom : 40 * zoom, 16 * zoom : 48 * zoom]
    both = (crop.depth > 0) & (ref > 0)
    assert both.mean() > 0.3
    assert np.mean((crop.depth > 0) != (ref > 0)) < 0.01  # silhouettes agree (float ties)
    np.testing.assert_allclose(crop.depth[both], ref[both], atol=1e-3)


def test_framing_is_deterministic_and_recorded(faces: Faces, framed: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate("faces", again, n=8, size=64, seed=3, progress=False, framing="face", workers=2)
    a, b = tree_digest(framed), tree_digest(again)
    a.pop("preview.png")
    assert a == b
    info = read_info(framed)
    assert info.intrinsics is None  # each sample has its own
    gen = info.extra["generator"]
    assert gen["framing"] == "face"
    stats = gen["face_framing"]
    assert stats["samples"] == 8 and stats["preview_short_side"] == PREVIEW_SHORT_SIDE
    rows = [
        json.loads(line)
        for split in info.splits
        for line in (framed / split / "meta.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert sum(r["framing"]["source"] == "detector" for r in rows) == stats["detector_hits"]
    for r in rows:
        assert r["framing"]["source"] in ("detector", "geometry")
        _, _, width, height = r["framing"]["window"]
        assert width == pytest.approx(height, abs=1e-2)  # the output's (square) aspect
        f_preview = faces.intrinsics(PREVIEW_SHORT_SIDE, PREVIEW_SHORT_SIDE)["fx"]
        assert r["intrinsics"]["fx"] == pytest.approx(f_preview * 64 / width, rel=1e-4)


def test_framed_depth_is_valid_and_fills_the_crop(framed: Path) -> None:
    info = read_info(framed)
    lo, hi = info.depth_range
    for split in info.splits:
        for path in sorted((framed / split / "depth").iterdir()):
            depth, valid = read_depth(path, png_scale=info.png_scale, png_offset=info.png_offset)
            assert valid.mean() > 0.2, path  # the head fills much of a face crop
            assert lo <= depth[valid].min() and depth[valid].max() <= hi


def test_detector_finds_the_face_where_the_window_put_it(faces: Faces) -> None:
    """On the framed sample, the detector's box is face mode's box mapped into the crop."""
    size, checked = 128, 0
    for i in range(8):
        group = faces.sample_group(scene_rng(5, "faces", 0, i // 4))
        sample = render_framed(faces, group, scene_rng(5, "faces", 1, i), size, size)
        fr = sample.meta["framing"]
        if fr["source"] != "detector":
            continue
        left, top, width, _ = fr["window"]
        k = size / width
        x, y, w, h = fr["box"]
        expected = FaceBox((x - left) * k, (y - top) * k, w * k, h * k)
        found = detect_faces(sample.rgb)
        if not found:
            continue
        best = max(found, key=expected.iou)
        assert best.iou(expected) > 0.5, (best, expected)
        checked += 1
    assert checked >= 2  # the detector framed and re-found at least two of eight


def test_geometry_box_agrees_with_the_detector(faces: Faces) -> None:
    """The stand-in box for misses is calibrated on the detector: check it still is."""
    ratios, shifts = [], []
    for i in range(16):
        group, params = _view(faces, i)
        preview = faces.render_view(group, params, PREVIEW_SHORT_SIDE, PREVIEW_SHORT_SIDE)
        expected = geometry_box(faces, params, (PREVIEW_SHORT_SIDE, PREVIEW_SHORT_SIDE))
        for box in detect_faces(preview.rgb):
            if box.kind == "frontal" and expected.holds(box.centre):
                ratios.append(box.side / expected.side)
                ex, ey = expected.centre
                shifts.append(max(abs(box.centre[0] - ex), abs(box.centre[1] - ey)) / box.side)
    assert len(ratios) >= 4
    assert 0.8 < float(np.median(ratios)) < 1.25
    assert float(np.median(shifts)) < 0.35  # box sides


def test_size_limited_search_finds_what_a_full_search_finds(faces: Faces) -> None:
    size, found = (PREVIEW_SHORT_SIDE, PREVIEW_SHORT_SIDE), 0
    for i in range(6):
        group, params = _view(faces, 20 + i)
        rgb = faces.render_view(group, params, *size).rgb
        expected = geometry_box(faces, params, size)
        limited = plausible_faces(rgb, expected)
        assert limited == plausible_faces(rgb, expected, limited=False)
        found += bool(limited)
    assert found >= 2


def test_window_follows_face_mode(faces: Faces) -> None:
    group, _ = _view(faces, 1)
    sample = render_framed(faces, group, scene_rng(11, "faces", 1, 1), 48, 64)
    fr = sample.meta["framing"]
    window = face_window(FaceBox(*fr["box"]), aspect=64 / 48)
    np.testing.assert_allclose(fr["window"], window.to_json(), atol=0.01)  # box rounded
    assert fr["preview"] == [PREVIEW_SHORT_SIDE, round(PREVIEW_SHORT_SIDE * 64 / 48)]


def test_framing_refusals(tmp_path: Path, capsys) -> None:
    with pytest.raises(InputError, match="unknown framing 'crop'"):
        check_framing(get_kind("faces"), "crop")
    with pytest.raises(InputError, match="for the faces kind only"):
        generate("rooms", tmp_path / "x", n=2, size=16, progress=False, framing="face")
    assert not (tmp_path / "x").exists()
    assert main(["generate", "surfaces", "--framing", "face", "--out", str(tmp_path / "y")]) == 2
    assert "for the faces kind only" in capsys.readouterr().err


def test_cli_generate_framing_face(tmp_path: Path, capsys) -> None:
    out = tmp_path / "crops"
    argv = ["generate", "faces", "--n", "4", "--size", "32", "--framing", "face"]
    assert main([*argv, "--out", str(out), "--quiet", "--workers", "1"]) == 0
    assert "framing: the detector framed" in capsys.readouterr().out
    assert read_info(out).extra["generator"]["framing"] == "face"


def test_a_model_trained_on_face_crops_predicts_in_face_mode(framed: Path, tmp_path: Path) -> None:
    """Training records the data's framing in the saved model, and the Predictor (so
    predict, demo, reconstruct and the page) takes face mode as that model's default."""
    from rgb2depth import Predictor
    from rgb2depth.config import load_config
    from rgb2depth.engine.run import train
    from tiny_run import write_tiny_config

    config = write_tiny_config(tmp_path / "tiny.yaml", framed, steps=1, out=str(tmp_path / "r"))
    result = train(load_config(config, ["data.val_split=train"]), progress=False)
    saved = json.loads((result["model_dir"] / "config.json").read_text())
    assert saved["input"]["framing"] == "face"
    assert Predictor.from_pretrained(result["model_dir"], device="cpu").framing == "face"
