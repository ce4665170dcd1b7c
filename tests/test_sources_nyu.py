"""``rgb2depth convert nyu``: the labeled .mat (HDF5) and DenseDepth's 50K zip / folder.

Every fixture is written here in the published format: the labeled set as MATLAB v7.3
stores it (h5py sees the axes reversed: images (N, 3, W, H), depths (N, W, H), scene
names as object references to uint16 character arrays), ``splits.mat`` as MATLAB v5,
and ``nyu_data.zip`` with ``data/nyu2_*.csv`` rows, JPEG / PNG colour, 8-bit train
depth (255 = 10 m) and 16-bit test depth (mm).
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.data.format import read_info
from rgb2depth.data.io import read_depth, read_rgb
from rgb2depth.data.sources import convert
from rgb2depth.data.sources.nyu import N_LABELED, official_test_ndxs
from rgb2depth.errors import InputError

h5py = pytest.importorskip("h5py")
savemat = pytest.importorskip("scipy.io").savemat

H, W = 6, 8  # non-square, so a transposed image cannot pass


def _pattern(n: int, h: int = H, w: int = W) -> np.ndarray:
    """(n, h, w, 3) uint8 images whose every pixel differs along rows and columns."""
    y, x = np.mgrid[0:h, 0:w]
    imgs = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        imgs[i, ..., 0] = (y * 30 + i) % 256
        imgs[i, ..., 1] = (x * 25 + 2 * i) % 256
        imgs[i, ..., 2] = (y * w + x + 3 * i) % 256
    return imgs


def _depths(n: int, h: int = H, w: int = W) -> np.ndarray:
    rng = np.random.default_rng(n)
    d = rng.uniform(0.7, 9.5, (n, h, w)).astype(np.float32)
    d[:, 0, 0] = 0.0  # invalid
    d[:, 0, 1] = 12.0  # beyond the 10 m cap: invalid
    return d


def write_labeled(
    path: Path,
    imgs: np.ndarray,
    depths: np.ndarray,
    scenes: list[str] | None = None,
) -> None:
    """``nyu_depth_v2_labeled.mat`` as MATLAB v7.3 writes it (axes reversed)."""
    with h5py.File(path, "w") as f:
        f["images"] = imgs.transpose(0, 3, 2, 1)  # (N, H, W, 3) -> (N, 3, W, H)
        f["depths"] = depths.transpose(0, 2, 1)
        if scenes is not None:
            refs = f.create_group("#refs#")
            for key, names in (("scenes", scenes), ("sceneTypes", [s[:-5] for s in scenes])):
                ds = f.create_dataset(key, (1, len(names)), dtype=h5py.ref_dtype)
                for i, s in enumerate(names):
                    chars = refs.create_dataset(
                        f"{key}{i}", data=np.array([[ord(c)] for c in s], np.uint16)
                    )
                    ds[0, i] = chars.ref


def _depth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A written depth PNG in metres (millimetre counts) and its valid mask."""
    return read_depth(path, png_scale=0.001)


@pytest.fixture
def labeled(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    src = tmp_path / "nyu"
    src.mkdir()
    imgs, depths = _pattern(5), _depths(5)
    scenes = ["kitchen_0004", "kitchen_0004", "office_0012", "bedroom_0001", "bedroom_0001"]
    write_labeled(src / "nyu_depth_v2_labeled.mat", imgs, depths, scenes)
    savemat(src / "splits.mat", {"trainNdxs": [[1.0], [2.0], [5.0]], "testNdxs": [[3.0], [4.0]]})
    return src / "nyu_depth_v2_labeled.mat", imgs, depths


def test_official_test_indices_are_the_published_654() -> None:
    ndxs = official_test_ndxs()
    assert len(ndxs) == 654 == len(set(ndxs))
    assert ndxs == sorted(ndxs) and 1 <= ndxs[0] and ndxs[-1] <= N_LABELED
    # the start of the NYU toolbox's testNdxs (1-based)
    assert ndxs[:10] == [1, 2, 9, 14, 15, 16, 17, 18, 21, 28]


def test_labeled_round_trip(labeled, tmp_path: Path) -> None:
    path, imgs, depths = labeled
    out = tmp_path / "out"
    info = convert("nyu", path, out, progress=False)
    assert info.depth_units == "m" and info.png_scale == 0.001
    assert info.intrinsics == {"fx": 518.8579, "fy": 519.4696, "cx": 325.5824, "cy": 253.7362}
    assert info.extra["counts"] == {"train": {"rgb": 3, "depth": 3}, "test": {"rgb": 2, "depth": 2}}
    assert "splits.mat" in info.extra["split"]
    for split, ndxs in (("train", [1, 2, 5]), ("test", [3, 4])):
        names = sorted(p.stem for p in (out / split / "rgb").iterdir())
        assert names == [f"{i:04d}" for i in ndxs]
        for i in ndxs:
            rgb = read_rgb(out / split / "rgb" / f"{i:04d}.png")
            assert rgb.shape == (H, W, 3)
            assert np.array_equal(rgb, imgs[i - 1])  # orientation and channel order
            got, mask = _depth(out / split / "depth" / f"{i:04d}.png")
            truth = depths[i - 1].astype(np.float64)
            valid = (truth > 0) & (truth <= 10)
            assert np.array_equal(mask, valid)
            assert np.abs(got[valid] - truth[valid]).max() <= 0.0005 + 2e-6
    rows = [json.loads(r) for r in (out / "test" / "meta.jsonl").read_text().splitlines()]
    assert {r["name"]: r["group"] for r in rows} == {"0003": "office_0012", "0004": "bedroom_0001"}
    assert {r["scene_type"] for r in rows} == {"office", "bedroom"}
    groups = [json.loads(r) for r in (out / "groups.jsonl").read_text().splitlines()]
    assert {g["group"]: g["split"] for g in groups} == {
        "kitchen_0004": "train",
        "office_0012": "test",
        "bedroom_0001": "test+train",
    }
    assert main(["check", str(out)]) == 0


@pytest.mark.slow  # 1449 tiny pairs: about 1 s alone, more on a busy machine
def test_labeled_official_split_without_splits_mat(tmp_path: Path) -> None:
    src = tmp_path / "nyu_depth_v2_labeled.mat"
    n = N_LABELED
    imgs = np.zeros((n, 2, 3, 3), np.uint8)
    imgs[:, 0, 0, 0] = (np.arange(n) % 251).astype(np.uint8)
    write_labeled(src, imgs, np.full((n, 2, 3), 2.5, np.float32))
    info = convert("nyu", src, tmp_path / "out", progress=False)
    assert info.extra["counts"] == {
        "train": {"rgb": 795, "depth": 795},
        "test": {"rgb": 654, "depth": 654},
    }
    test = sorted(p.stem for p in (tmp_path / "out" / "test" / "rgb").iterdir())
    assert test == [f"{i:04d}" for i in official_test_ndxs()]
    # image 0009 (a test image) is the 9th of the file, not another
    assert read_rgb(tmp_path / "out" / "test" / "rgb" / "0009.png")[0, 0, 0] == 8


def test_labeled_wrong_count_needs_splits_mat(labeled, tmp_path: Path) -> None:
    path = labeled[0]
    (path.parent / "splits.mat").unlink()
    with pytest.raises(InputError, match=r"holds 5 images; the official split .* splits\.mat"):
        convert("nyu", path, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.__delitem__("depths"), r"no dataset 'depths'; expected .*'images'"),
        (lambda f: f.__delitem__("images"), r"no dataset 'images'"),
        (
            lambda f: (f.__delitem__("images"), f.create_dataset("images", (5, H, W, 3), "u1")),
            r"'images' is \(5, 6, 8, 3\) uint8; expected \(N, 3, W, H\)",
        ),
        (
            lambda f: (f.__delitem__("depths"), f.create_dataset("depths", (5, H, W), "f4")),
            r"'depths' is \(5, 6, 8\) float32; expected float \(N, W, H\) = \(5, 8, 6\)",
        ),
    ],
)
def test_labeled_malformed(labeled, tmp_path: Path, change, message) -> None:
    path = labeled[0]
    with h5py.File(path, "a") as f:
        change(f)
    with pytest.raises(InputError, match=message) as e:
        convert("nyu", path, tmp_path / "out", progress=False)
    assert str(path) in str(e.value)


def test_labeled_not_hdf5_and_bad_splits(labeled, tmp_path: Path) -> None:
    path = labeled[0]
    savemat(path.parent / "splits.mat", {"trainNdxs": [[1.0], [2.0]], "testNdxs": [[2.0]]})
    with pytest.raises(InputError, match=r"splits\.mat: index 2 is in both"):
        convert("nyu", path, tmp_path / "o1", progress=False)
    savemat(path.parent / "splits.mat", {"trainNdxs": [[1.0], [9.0]], "testNdxs": [[2.0]]})
    with pytest.raises(
        InputError, match=r"splits\.mat: trainNdxs must hold whole numbers in 1\.\.5"
    ):
        convert("nyu", path, tmp_path / "o2", progress=False)
    old = tmp_path / "v5.mat"
    savemat(old, {"images": np.zeros((2, 2))})  # MATLAB v5, as from an older toolbox
    with pytest.raises(InputError, match=r"v5\.mat: not an HDF5 file; expected .*v7\.3"):
        convert("nyu", old, tmp_path / "o3", progress=False)


def test_labeled_without_h5py_names_the_extra(labeled, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(InputError, match=r'needs h5py: pip install "rgb2depth\[datasets\]"'):
        convert("nyu", labeled[0], tmp_path / "out", progress=False)


# --------------------------------------------------------------------------- the 50K zip
def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def make_50k(tmp_path: Path, prefix: str = "") -> tuple[Path, dict[str, bytes], dict]:
    """``nyu_data.zip``: 2 scenes x 2 train pairs, 2 test pairs; returns the truth."""
    files: dict[str, bytes] = {}
    truth: dict[str, dict] = {}
    rng = np.random.default_rng(1)
    train_rows, test_rows = [], []
    for scene in ("living_room_0038", "basement_0001a"):
        for n in (1, 37):
            rgb = _pattern(1)[0]
            levels = rng.integers(1, 256, (H, W)).astype(np.uint8)
            levels[1, 2] = 0  # invalid
            r, d = f"data/nyu2_train/{scene}_out/{n}.jpg", f"data/nyu2_train/{scene}_out/{n}.png"
            files[r], files[d] = _jpeg(rgb), _png(levels)
            train_rows.append(f"{r},{d}")
            truth[f"{scene}_{n:05d}"] = {"rgb": files[r], "depth_m": levels / 255.0 * 10.0}
    for k in range(2):
        rgb = _pattern(1)[0][::-1].copy()
        mm = rng.integers(500, 9999, (H, W)).astype(np.uint16)
        mm[2, 3] = 0
        r, d = f"data/nyu2_test/{k:05d}_colors.png", f"data/nyu2_test/{k:05d}_depth.png"
        files[r], files[d] = _png(rgb), _png(mm)
        test_rows.append(f"{r},{d}")
        truth[f"{k:05d}"] = {"rgb_array": rgb, "depth_m": mm / 1000.0}
    files["data/nyu2_train.csv"] = ("\n".join(train_rows) + "\n").encode()
    files["data/nyu2_test.csv"] = ("\r\n".join(test_rows) + "\r\n").encode()
    path = tmp_path / "nyu_data.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(prefix + name, data)
    return path, files, truth


def _check_50k(out: Path, truth: dict) -> None:
    info = read_info(out)
    assert info.extra["counts"] == {"train": {"rgb": 4, "depth": 4}, "test": {"rgb": 2, "depth": 2}}
    for name, t in truth.items():
        split = "test" if name.isdigit() else "train"
        if "rgb" in t:  # the source JPEG, byte for byte
            assert (out / split / "rgb" / f"{name}.jpg").read_bytes() == t["rgb"]
        else:
            assert np.array_equal(read_rgb(out / split / "rgb" / f"{name}.png"), t["rgb_array"])
        depth, mask = _depth(out / split / "depth" / f"{name}.png")
        valid = t["depth_m"] > 0
        assert np.array_equal(mask, valid)
        assert np.abs(depth[valid] - t["depth_m"][valid]).max() <= 0.0005 + 2e-6
    rows = [json.loads(r) for r in (out / "train" / "meta.jsonl").read_text().splitlines()]
    assert {r["group"] for r in rows} == {"living_room_0038", "basement_0001a"}
    groups = [json.loads(r) for r in (out / "groups.jsonl").read_text().splitlines()]
    assert {g["group"]: g["images"] for g in groups} == {"living_room_0038": 2, "basement_0001a": 2}
    assert main(["check", str(out)]) == 0


def test_50k_zip_round_trip(tmp_path: Path) -> None:
    path, _, truth = make_50k(tmp_path)
    convert("nyu", path, tmp_path / "out", progress=False)
    _check_50k(tmp_path / "out", truth)


def test_50k_zip_with_a_top_folder_and_the_extracted_folder(tmp_path: Path) -> None:
    path, files, truth = make_50k(tmp_path, prefix="nyu_data/")
    convert("nyu", path, tmp_path / "a", progress=False)
    _check_50k(tmp_path / "a", truth)
    root = tmp_path / "nyu_data"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    convert("nyu", root, tmp_path / "b", progress=False)
    _check_50k(tmp_path / "b", truth)
    convert("nyu", root / "data", tmp_path / "c", progress=False)  # the folder of the CSVs
    _check_50k(tmp_path / "c", truth)


def _rezip(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def test_50k_malformed(tmp_path: Path) -> None:
    path, files, _ = make_50k(tmp_path)
    missing = dict(files)
    del missing["data/nyu2_train/basement_0001a_out/37.png"]
    _rezip(path, missing)
    with pytest.raises(
        InputError,
        match=r"nyu_data\.zip:data/nyu2_train/basement_0001a_out/37\.png not found "
        r"\(listed in .*nyu2_train\.csv:4\)",
    ):
        convert("nyu", path, tmp_path / "o1", progress=False)

    bad = dict(files)
    bad["data/nyu2_test/00001_depth.png"] = _png(np.tile(np.array([1, 2, 3], np.uint8), (H, W, 1)))
    _rezip(path, bad)
    with pytest.raises(InputError, match=r"00001_depth\.png: expected a single-channel depth PNG"):
        convert("nyu", path, tmp_path / "o2", progress=False)

    small = dict(files)
    small["data/nyu2_test/00000_depth.png"] = _png(np.ones((H, W - 2), np.uint16))
    _rezip(path, small)
    with pytest.raises(InputError, match=r"depth is \(6, 6\) \(H, W\) but its RGB .* is \(6, 8\)"):
        convert("nyu", path, tmp_path / "o3", progress=False)

    rows = dict(files)
    rows["data/nyu2_test.csv"] = b"data/nyu2_test/00000_colors.png\n"
    _rezip(path, rows)
    with pytest.raises(InputError, match=r"nyu2_test\.csv:1: expected 'rgb_path,depth_path'"):
        convert("nyu", path, tmp_path / "o4", progress=False)

    _rezip(path, {"readme.txt": b"hello"})
    with pytest.raises(InputError, match=r"no data/nyu2_train\.csv or data/nyu2_test\.csv"):
        convert("nyu", path, tmp_path / "o5", progress=False)
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 6))


def test_cli(labeled, tmp_path: Path, capsys) -> None:
    path = labeled[0]
    out = tmp_path / "out"
    assert main(["convert", "nyu", str(path), "--out", str(out), "--quiet"]) == 0
    assert "NYU Depth v2" in capsys.readouterr().out
    assert main(["check", str(out)]) == 0
    capsys.readouterr()
    folder = tmp_path / "empty"
    folder.mkdir()
    assert main(["convert", "nyu", str(folder), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no data/nyu2_train.csv" in err[0]
    shutil.copy(path, tmp_path / "copy.mat")
    with h5py.File(tmp_path / "copy.mat", "a") as f:
        del f["depths"]
    assert main(["convert", "nyu", str(tmp_path / "copy.mat"), "--out", str(tmp_path / "o3")]) == 2
    assert "no dataset 'depths'" in capsys.readouterr().err
