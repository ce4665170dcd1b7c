"""``rgb2depth convert pandora``: fixtures in the dataset's layout, made here.

Subject folders of 5 sequence folders, each with ``RGB/*_RGB.png``,
``DEPTH/*_DEPTH.png`` (16-bit, mm) and a ``data.json`` list of per-frame annotations.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.data.io import read_depth, read_rgb
from rgb2depth.data.sources import _headcrop as hc
from rgb2depth.data.sources import convert, pandora
from rgb2depth.errors import InputError

H, W = 64, 80
Z = 1460.0  # plane depth, mm: seed 001's Pandora box is 365 * 320 / 1460 = 80 px
HEAD = (39, 31)  # head centre, depth-image pixel indices
SEQUENCES = ("base_1", "base_2", "base_3", "free_1", "free_2")
ANGLES = {  # frame -> (yaw, pitch, roll)
    12: (5.0, -10.0, 10.0),  # A1: the bounds are inclusive
    13: (10.5, 0.0, 0.0),  # A2
    14: (0.0, -10.01, 0.0),  # A2
}


def face_depth() -> np.ndarray:
    d = np.full((H, W), Z)
    d[4:9, 2:10] = Z - 100  # nearer patch, top left
    d[50:58, 60:70] = 0  # hole, bottom right
    d[:, 76:] = 2500  # far background, beyond the depth range
    return d


def face_rgb() -> np.ndarray:
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, W).astype(np.uint8)[None, :]
    rgb[..., 1] = np.linspace(0, 255, H).astype(np.uint8)[:, None]
    return rgb


def frame_row(frame: int, **override: Any) -> dict[str, Any]:
    yaw, pitch, roll = ANGLES.get(frame, (1.0, 2.0, 3.0))
    row: dict[str, Any] = {
        "frame_num": frame,
        "orientation": {"euler": {"roll": roll, "pitch": pitch, "yaw": yaw}},
        "head_center": list(HEAD),
    }
    row.update(override)
    return row


def make_sequence(folder: Path, frames: tuple[int, ...], rows: list[dict] | None = None) -> None:
    (folder / "RGB").mkdir(parents=True)
    (folder / "DEPTH").mkdir()
    for n in frames:
        Image.fromarray(face_rgb()).save(folder / "RGB" / f"{n:06d}_RGB.png")
        Image.fromarray(face_depth().astype(np.uint16)).save(
            folder / "DEPTH" / f"{n:06d}_DEPTH.png"
        )
    rows = [frame_row(n) for n in frames] if rows is None else rows
    (folder / "data.json").write_text(json.dumps(rows))


def make_subject(root: Path, subject: int, frames: tuple[int, ...] = (12,)) -> Path:
    folder = root / f"{subject:02d}"
    for name in SEQUENCES:
        make_sequence(folder / name, frames)
    return folder


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "pandora"
    make_subject(root, 1, (12, 13, 14))  # train
    make_subject(root, 9)  # val
    make_subject(root, 10)  # test
    return root


def rows(out: Path, split: str) -> list[dict]:
    return [json.loads(x) for x in (out / split / "meta.jsonl").read_text().splitlines()]


def test_subsets_as_seed_001_defines_them() -> None:
    assert pandora.angle_subset(10.0, -10.0, 0.0) == "A1"
    assert pandora.angle_subset(10.0001, 0.0, 0.0) == "A2"
    assert pandora.angle_subset(0.0, 0.0, -11.0) == "A2"
    assert [pandora.sequence_set(i) for i in range(1, 6)] == ["S1-S3"] * 3 + ["S4-S5"] * 2
    assert [pandora.split_of(s) for s in (10, 14, 16, 20)] == ["test"] * 4
    assert [pandora.split_of(s) for s in (9, 18, 21, 22)] == ["val"] * 4
    assert pandora.split_of(1) == pandora.split_of(19) == "train"


def test_convert_end_to_end(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    info = convert("pandora", src, out, progress=False)
    assert info.extra["counts"] == {
        "train": {"rgb": 15, "depth": 15},
        "val": {"rgb": 5, "depth": 5},
        "test": {"rgb": 5, "depth": 5},
    }
    assert info.extra["skipped"] == {"no_rgb": 0, "no_depth": 0, "no_depth_at_head": 0}
    train = rows(out, "train")
    assert {r["group"] for r in train} == {1}
    assert {r["group"] for r in rows(out, "test")} == {10}
    by_name = {r["name"]: r for r in train}
    assert set(by_name) == {f"01_{i}_{f:06d}" for i in range(1, 6) for f in (12, 13, 14)}
    r = by_name["01_4_000012"]
    assert r["sequence"] == "free_1" and r["sequence_index"] == 4 and r["sequence_set"] == "S4-S5"
    assert by_name["01_2_000013"]["sequence_set"] == "S1-S3"
    assert (r["yaw_deg"], r["pitch_deg"], r["roll_deg"]) == ANGLES[12]
    assert [by_name[f"01_1_0000{f}"]["angle_subset"] for f in (12, 13, 14)] == ["A1", "A2", "A2"]
    # hand computation: D = Z around the head, w = h = 365 * 320 / Z = 80 px, centred on
    # the centre of pixel (39, 31), i.e. (39.5, 31.5) in continuous coordinates
    assert r["head_distance_mm"] == pytest.approx(Z)
    assert r["face_box"] == pytest.approx([39.5 - 40, 31.5 - 40, 80, 80])
    groups = [json.loads(x) for x in (out / "groups.jsonl").read_text().splitlines()]
    assert {g["group"]: g["split"] for g in groups} == {1: "train", 9: "val", 10: "test"}
    assert groups[0]["sequences"] == list(SEQUENCES)

    depth, valid = read_depth(out / "train/depth/01_4_000012.png", png_scale=info.png_scale)
    rgb = read_rgb(out / "train/rgb/01_4_000012.png")
    assert depth.shape == (96, 96) and rgb.shape == (96, 96, 3)
    col = lambda j: math.floor(-0.5 + (j + 0.5) * 80 / 96)  # noqa: E731
    row_ = lambda i: math.floor(-8.5 + (i + 0.5) * 80 / 96)  # noqa: E731
    assert col(0) == -1 and col(1) == 0 and row_(9) == -1 and row_(10) == 0
    assert not valid[:, 0].any() and valid[40, 1] and not valid[9, 40] and valid[10, 40]
    # nearer patch (rows 4..8, cols 2..9) at the top left; the hole (rows 50..57, cols
    # 60..69) bottom right; the background (cols 76..79, 2500 mm) out of range: invalid
    i = next(i for i in range(96) if row_(i) == 6)
    j = next(j for j in range(96) if col(j) == 5)
    assert depth[i, j] == pytest.approx(Z - 100) and depth[i, 95 - j] == pytest.approx(Z)
    i = next(i for i in range(96) if row_(i) == 53)
    j = next(j for j in range(96) if col(j) == 65)
    assert not valid[i, j] and valid[i, 95 - j]
    j = next(j for j in range(96) if col(j) == 77)
    assert not valid[40, j] and valid[40, j - 5]
    # the RGB crop shares the box: red grows to the right, green downwards
    assert rgb[40, 80, 0] > rgb[40, 20, 0] and rgb[80, 40, 1] > rgb[20, 40, 1]
    assert rgb[40, 0, 1] < rgb[40, 2, 1]  # the black padding darkens the left edge

    assert main(["check", str(out), "--quiet"]) == 0


def test_sequences_in_natural_order(tmp_path: Path) -> None:
    root = tmp_path / "pandora"
    for name in ("s10", "s2", "s3", "s1", "s4"):
        make_sequence(root / "05" / name, (12,))
    seqs = pandora.sequence_folders(root / "05")
    assert [p.name for p in seqs] == ["s1", "s2", "s3", "s4", "s10"]


def test_missing_frames_and_no_depth_are_skipped(src: Path, tmp_path: Path) -> None:
    (src / "09/base_1/RGB/000012_RGB.png").unlink()
    (src / "09/base_2/DEPTH/000012_DEPTH.png").unlink()
    hole = face_depth()
    hole[20:44, 30:50] = 0
    Image.fromarray(hole.astype(np.uint16)).save(src / "09/base_3/DEPTH/000012_DEPTH.png")
    info = convert("pandora", src, tmp_path / "out", progress=False)
    assert info.extra["skipped"] == {"no_rgb": 1, "no_depth": 1, "no_depth_at_head": 1}
    assert info.extra["counts"]["val"] == {"rgb": 2, "depth": 2}


def _fails(src: Path, tmp_path: Path, *fragments: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputError) as e:
        convert("pandora", src, out, progress=False)
    msg = str(e.value)
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg
    assert not out.exists()


def test_malformed_data_json(src: Path, tmp_path: Path) -> None:
    path = src / "10/free_2/data.json"
    path.write_text('[{"frame_num": 12,')
    _fails(src, tmp_path, "free_2/data.json: malformed JSON")
    path.write_text('{"frame_num": 12}')
    _fails(src, tmp_path, "data.json: expected a JSON list")
    path.write_text(json.dumps([frame_row(12, frame_num="twelve")]))
    _fails(src, tmp_path, "no integer 'frame_num'")
    path.write_text(json.dumps([frame_row(12), frame_row(12)]))
    _fails(src, tmp_path, "frame_num 12 appears twice")
    path.write_text(json.dumps([frame_row(12, orientation={"euler": {"yaw": 1}})]))
    _fails(src, tmp_path, "frame 12: expected the head angles", "orientation.euler")
    row = frame_row(12)
    del row["head_center"]
    row["nose"] = [1, 2]
    path.write_text(json.dumps([row]))
    _fails(src, tmp_path, "frame 12: no head centre", "head_center", "keys: ['frame_num', 'nose'")
    path.write_text(json.dumps([frame_row(12, head_center=[0.0, 900.0])]))
    _fails(src, tmp_path, "head centre (0, 900) lies outside the 80 x 64 depth image")


def test_head_centre_spellings(src: Path, tmp_path: Path) -> None:
    path = src / "10/free_2/data.json"
    row = frame_row(12)
    del row["head_center"]
    row["head_pos"] = {"x": HEAD[0], "y": HEAD[1], "z": 1400}
    path.write_text(json.dumps([row]))
    convert("pandora", src, tmp_path / "out", progress=False)
    test = {r["name"]: r for r in rows(tmp_path / "out", "test")}
    assert test["10_5_000012"]["head_px"] == list(HEAD)


def test_malformed_layout(src: Path, tmp_path: Path) -> None:
    img = Image.fromarray(np.zeros((H + 2, W, 3), np.uint8))
    img.save(src / "10/base_1/RGB/000012_RGB.png")
    _fails(src, tmp_path, "000012_RGB.png: RGB is 80 x 66 but the depth map", "registered")
    Image.fromarray(face_rgb()).save(src / "10/base_1/RGB/000012_RGB.png")
    Image.fromarray(np.zeros((H, W), np.uint8)).save(src / "10/base_1/DEPTH/000012_DEPTH.png")
    _fails(src, tmp_path, "000012_DEPTH.png: depth PNG must be 16-bit")
    Image.fromarray(face_depth().astype(np.uint16)).save(src / "10/base_1/DEPTH/000012_DEPTH.png")
    (src / "10/free_2/data.json").unlink()
    _fails(src, tmp_path, "10: 4 sequence folder(s)", "expected 5")


def test_not_a_pandora_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _fails(tmp_path / "empty", tmp_path, "no subject folder", "RGB/")
    (tmp_path / "file.txt").write_text("x")
    _fails(tmp_path / "file.txt", tmp_path, "not a folder")


def test_cli(src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["convert", "pandora", str(src), "--out", str(out), "--quiet"]) == 0
    assert "Pandora" in capsys.readouterr().out
    assert main(["check", str(out), "--quiet"]) == 0
    (src / "01/base_1/data.json").write_text("not json")
    bad = tmp_path / "bad"
    assert main(["convert", "pandora", str(src), "--out", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "data.json: malformed JSON" in err and "Traceback" not in err
    assert not bad.exists()


def test_crop_formula_matches_the_seed() -> None:
    """Seed 001, eq. (6), Pandora: fx = fy = 365 px, Rx = Ry = 320 mm."""
    assert hc.box_size(800.0, (365.0, 365.0)) == pytest.approx((146.0, 146.0))
    assert hc.SEED001_FOCAL_PX["pandora"] == 365.0


def test_distance_is_the_mean_of_the_valid_window() -> None:
    """D around the centre of pixel (row 8, col 12): the 11 x 11 window rows 3..13, cols 7..17."""
    depth = np.full((20, 30), 5000.0)  # outside the window: must not count
    depth[3:14, 7:18] = 1000.0
    depth[4:6, 15:17] = 1600.0  # 4 pixels at 1600
    valid = np.ones(depth.shape, bool)
    depth[10, 9], valid[10, 9] = 9999.0, False  # invalid: must not count
    # 121 pixels, 1 invalid: 120 valid, 116 of them at 1000 mm and 4 at 1600 mm
    expected = (116 * 1000.0 + 4 * 1600.0) / 120
    assert expected == 1020.0
    assert hc.mean_depth_around(depth, valid, (12.5, 8.5)) == pytest.approx(1020.0)
    box = hc.face_box(depth, valid, (12.5, 8.5), (365.0, 365.0))
    assert box is not None and box.width == pytest.approx(365 * 320 / 1020)
    assert box.as_list() == pytest.approx(
        [12.5 - box.width / 2, 8.5 - box.width / 2] + [box.width] * 2
    )
    # clipped at the corner: rows 0..5, cols 0..5 of the 5000 mm background
    assert hc.mean_depth_around(depth, valid, (0.2, 0.9)) == pytest.approx(5000.0)
    assert hc.mean_depth_around(depth, valid, (-0.5, 3.0)) is None  # outside the image
    assert hc.face_box(depth, np.zeros_like(valid), (12.5, 8.5), (365.0, 365.0)) is None
