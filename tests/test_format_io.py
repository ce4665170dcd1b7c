"""Reading and writing: dataset.json, images, depth maps, atomic writes, bad input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from rgb2depth.data import io
from rgb2depth.data.format import DatasetInfo, read_info
from rgb2depth.errors import InputError


def write_png(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path


# ------------------------------------------------------------------ dataset.json
def test_info_roundtrip(tmp_path: Path) -> None:
    info = DatasetInfo(
        name="x",
        kind="rooms",
        depth_units="m",
        depth_range=(0.5, 10),
        png_scale=0.001,
        intrinsics={"fx": 1, "fy": 1, "cx": 0, "cy": 0},
        image_size=(4, 5),
        unpaired_splits=["train"],
    )
    (tmp_path / "dataset.json").write_text(json.dumps(info.to_json()))
    back = read_info(tmp_path)
    assert back == info
    assert not back.is_paired("train") and back.is_paired("test")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("", "malformed JSON"),
        ("{not json", "malformed JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"name": "x", "kind": "k", "depth_units": "m"}', "missing required key"),
        (
            '{"name": "x", "kind": "k", "depth_units": "m", "depth_range": [0, 1], "pgn_scale": 1}',
            "unknown key(s) ['pgn_scale']; valid keys:",
        ),
        (
            '{"name": "x", "kind": "k", "depth_units": "feet", "depth_range": [0, 1]}',
            "depth_units must be one of",
        ),
        ('{"name": "x", "kind": "k", "depth_units": "m", "depth_range": [2, 1]}', "min < max"),
        (
            '{"name": "x", "kind": "k", "depth_units": "m", "depth_range": [0, 1], '
            '"png_scale": -1}',
            "png_scale must be a positive",
        ),
    ],
)
def test_bad_dataset_json(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "dataset.json").write_text(content)
    with pytest.raises(InputError, match=re.escape(message)):
        read_info(tmp_path)


def test_missing_and_non_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_info(tmp_path / "nope")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        read_info(f)


# ------------------------------------------------------------------ RGB images
def test_read_rgb_converts_gray_and_rgba(tmp_path: Path) -> None:
    g = write_png(tmp_path / "g.png", np.full((3, 4), 7, np.uint8))
    rgba = write_png(tmp_path / "a.png", np.full((3, 4, 4), 9, np.uint8))
    assert io.read_rgb(g).shape == (3, 4, 3)
    assert io.read_rgb(rgba).shape == (3, 4, 3)
    Image.fromarray(np.zeros((5, 6, 3), np.uint8)).save(tmp_path / "j.jpg")
    assert io.read_rgb(tmp_path / "j.jpg").dtype == np.uint8


def test_read_rgb_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        io.read_rgb(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        io.read_rgb(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("hello, not an image")
    with pytest.raises(InputError, match="not an image"):
        io.read_rgb(tmp_path / "text.png")
    good = write_png(
        tmp_path / "good.png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    )
    data = good.read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        io.read_rgb(tmp_path / "trunc.png")
    depth16 = write_png(tmp_path / "d16.png", np.zeros((4, 4), np.uint16))
    with pytest.raises(InputError, match="not an RGB photo"):
        io.read_rgb(depth16)


def test_read_rgb_over_50_megapixels(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.new("1", (7100, 7100)).save(big)  # 50.4 MP, a few kB on disk
    with pytest.raises(InputError, match="over the 50 megapixel limit"):
        io.read_rgb(big)


# ------------------------------------------------------------------ depth maps
def test_depth_png_roundtrip(tmp_path: Path) -> None:
    depth = np.array([[0.0, 0.5], [1.234, 65.535]], np.float32)
    counts = io.encode_depth_png(depth, scale=0.001)
    assert counts.dtype == np.uint16 and counts[0, 0] == 0 and counts[1, 1] == 65535
    io.save_png(tmp_path / "d.png", counts)
    back, valid = io.read_depth(tmp_path / "d.png", png_scale=0.001)
    assert valid.tolist() == [[False, True], [True, True]]
    np.testing.assert_allclose(back, depth, atol=5e-4)


def test_depth_png_signed_offset(tmp_path: Path) -> None:
    h = np.array([[-7.4, 0.0], [1.8, -1.0]], np.float32)
    counts = io.encode_depth_png(h, scale=0.0002, offset=-8.0, valid=np.ones_like(h, bool))
    io.save_png(tmp_path / "h.png", counts)
    back, valid = io.read_depth(
        tmp_path / "h.png", png_scale=0.0002, png_offset=-8.0, allow_negative=True
    )
    assert valid.all()
    np.testing.assert_allclose(back, h, atol=1e-4)
    with pytest.raises(InputError, match="negative depth"):
        io.read_depth(tmp_path / "h.png", png_scale=0.0002, png_offset=-8.0)


def test_encode_out_of_range() -> None:
    with pytest.raises(InputError, match="do not fit a 16-bit PNG"):
        io.encode_depth_png(np.array([[100.0]]), scale=0.001)


def test_depth_npy_and_tiff(tmp_path: Path) -> None:
    d = np.array([[1.0, np.nan], [0.0, 2.5]], np.float32)
    np.save(tmp_path / "d.npy", d)
    tifffile.imwrite(tmp_path / "d.tiff", d)
    for name in ("d.npy", "d.tiff"):
        depth, valid = io.read_depth(tmp_path / name)
        assert valid.tolist() == [[True, False], [False, True]]
        assert depth[0, 1] == 0.0 and depth[1, 1] == 2.5
    with pytest.raises(InputError, match="NaN value"):
        io.read_depth(tmp_path / "d.npy", allow_nan=False)


@pytest.mark.parametrize(
    ("maker", "message"),
    [
        (
            lambda p: np.save(p, np.ones((2, 3, 4), np.float32)),
            r"expected a 2-D \(H, W\) depth map",
        ),
        (lambda p: np.save(p, np.array([[-1.0, 2.0]])), "negative depth"),
        (lambda p: np.save(p, np.array([[np.inf, 2.0]])), "infinite"),
        (lambda p: np.save(p, np.array([["a", "b"]])), "must be numeric"),
        (
            lambda p: np.save(p, np.array([[{"x": 1}]], dtype=object), allow_pickle=True),
            "not a readable .npy",
        ),
        (lambda p: p.write_bytes(b"\x93NUMPY garbage"), "not a readable .npy"),
    ],
)
def test_bad_depth_npy(tmp_path: Path, maker, message: str) -> None:
    p = tmp_path / "d.npy"
    maker(p)
    with pytest.raises(InputError, match=message):
        io.read_depth(p)


def test_bad_depth_png_and_types(tmp_path: Path) -> None:
    rgb = write_png(tmp_path / "rgb.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="must be 16-bit single channel"):
        io.read_depth(rgb)
    gray8 = write_png(tmp_path / "g8.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match="must be 16-bit single channel"):
        io.read_depth(gray8)
    (tmp_path / "d.exr").write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported depth file type"):
        io.read_depth(tmp_path / "d.exr")
    (tmp_path / "bad.tiff").write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError, match=r"not a readable TIFF|empty or corrupt"):
        io.read_depth(tmp_path / "bad.tiff")
    (tmp_path / "bad2.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(InputError, match="not a readable TIFF"):
        io.read_depth(tmp_path / "bad2.tif")


# ------------------------------------------------------------------ atomic writes
def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_writes_get_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        io.save_png(tmp_path / "a.png", np.zeros((2, 2), np.uint8))
        with io.atomic_dir(tmp_path / "d") as d:
            (d / "x").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_atomic_dir_refuses_non_empty(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with (
        pytest.raises(InputError, match="exists and is not empty"),
        io.atomic_dir(tmp_path / "out"),
    ):
        pass
    assert (tmp_path / "out" / "keep.txt").read_text() == "x"


def test_unwritable_output(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        io.save_png(blocker / "sub" / "a.png", np.zeros((2, 2), np.uint8))


def test_read_meta_and_groups(tmp_path) -> None:
    from rgb2depth.data.format import read_groups, read_meta
    from rgb2depth.errors import InputError

    (tmp_path / "train").mkdir()
    meta = tmp_path / "train" / "meta.jsonl"
    assert read_meta(tmp_path, "train") == {}  # no file: no rows
    meta.write_text('{"name": "a", "group": 3}\n\n{"name": 7, "group": 4, "yaw_deg": 1.5}\n')
    assert read_meta(tmp_path, "train") == {
        "a": {"name": "a", "group": 3},
        "7": {"name": 7, "group": 4, "yaw_deg": 1.5},
    }
    assert read_groups(tmp_path, "train") == {"a": 3, "7": 4}
    meta.write_text('{"name": "a", "group": 3}\n{"name": "b"}\n')
    with pytest.raises(InputError, match="sample 'b' has no 'group'"):
        read_groups(tmp_path, "train")
    meta.write_text('{"name": "a", "group": 3}\n{not json\n')
    with pytest.raises(InputError, match=r"meta.jsonl:2: not JSON; expected JSON with 'name'"):
        read_groups(tmp_path, "train")
    meta.write_text('["a", 3]\n')
    with pytest.raises(InputError, match=r"meta.jsonl:1: expected a JSON object with a 'name'"):
        read_meta(tmp_path, "train")
