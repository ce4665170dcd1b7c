"""``rgb2depth convert texas``: Texas-3DFRD pairs -> seed 000's unpaired split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.data import PairedDepthDataset, UnpairedDepthDataset
from rgb2depth.data.format import list_split, read_info
from rgb2depth.data.io import read_depth
from rgb2depth.data.sources import convert
from rgb2depth.data.sources.texas import seed000_split
from rgb2depth.errors import InputError

H, W = 12, 8  # portrait orientation, as the database's 751x501 images


def texas_name(image: int, subject: int, kind: str) -> str:
    """A file name laid out as seed 000's preprocessing code slices it: a 30-character
    prefix with the image number at 6:10 and the subject at 11:14, then the kind."""
    prefix = f"Image_{image:04d}_{subject:03d}_200308111200_M_"
    assert len(prefix) == 30 and prefix[6:14] == f"{image:04d}_{subject:03d}"
    return f"{prefix}{kind}.png"


def range_levels(image: int) -> np.ndarray:
    """An asymmetric (H, W) grey-level pattern, 0 (background) in the top-left corner."""
    yy, xx = np.mgrid[0:H, 0:W]
    k = (20 + 9 * yy + 3 * xx + 5 * image) % 250 + 1
    k[:3, :2] = 0
    return k.astype(np.uint8)


def portrait(image: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.stack([yy * 20, xx * 30, np.full_like(yy, image)], -1).astype(np.uint8)


def make_texas(root: Path, subjects: range = range(1, 16), per_subject: int = 2) -> Path:
    folder = root / "Texas3DFR" / "PreprocessedImages"
    folder.mkdir(parents=True)
    image = 0
    for s in subjects:
        for _ in range(per_subject):
            image += 1
            Image.fromarray(portrait(image)).save(folder / texas_name(image, s, "Portrait"))
            Image.fromarray(range_levels(image)).save(folder / texas_name(image, s, "Range"))
    return root / "Texas3DFR"


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("texas")
    src = make_texas(root)
    out = root / "out"
    convert("texas", src, out, progress=False)
    return src, out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_split_rule_matches_seed000_code() -> None:
    plan = seed000_split(list(range(1, 16)))
    assert {s for s, (split, _) in plan.items() if split == "test"} == {7, 14}
    rgb = {s for s, (_, d) in plan.items() if d == "rgb"}
    # the subjects in the RGB domain of the authors' published face_depth/input/ folder
    assert {1, 3, 5, 8, 10, 12} <= rgb and not {2, 4, 6, 7, 9, 11} & rgb
    with pytest.raises(InputError, match="at least 7"):
        seed000_split([1, 2, 3, 4, 5, 6])


def test_dataset_json(converted) -> None:
    _, out = converted
    info = read_info(out)
    assert (info.depth_units, info.depth_range, info.kind) == ("relative", (0.0, 1.0), "faces")
    assert info.splits == ["train", "test"]
    assert info.unpaired_splits == ["train"] and not info.paired
    assert info.extra["counts"] == {
        "train": {"rgb": 14, "depth": 12},
        "test": {"rgb": 4, "depth": 4},
    }


def test_domains_and_splits_are_disjoint(converted) -> None:
    _, out = converted
    rgb = {r["group"] for r in rows(out / "train" / "meta.jsonl") if r["domain"] == "rgb"}
    depth = {r["group"] for r in rows(out / "train" / "meta.jsonl") if r["domain"] == "depth"}
    test = {r["group"] for r in rows(out / "test" / "meta.jsonl")}
    assert test == {"007", "014"}
    assert rgb == {"001", "003", "005", "008", "010", "012", "015"}
    assert depth == {"002", "004", "006", "009", "011", "013"}
    assert not (rgb & depth) and not (test & (rgb | depth))
    names_rgb = set(list_split(out, "train", "rgb"))
    names_depth = set(list_split(out, "train", "depth"))
    assert {n.split("_")[1] for n in names_rgb} == rgb
    assert {n.split("_")[1] for n in names_depth} == depth
    groups = {g["group"]: g for g in rows(out / "groups.jsonl")}
    assert {g for g, row in groups.items() if row["split"] == "test"} == test
    assert all(row["images"] == 2 for row in groups.values())


def test_values_orientation_and_invalid_pixels(converted) -> None:
    src, out = converted
    info = read_info(out)
    ds = PairedDepthDataset(out, "test")
    assert ds.names == ["0013_007", "0014_007", "0027_014", "0028_014"]
    for i, name in enumerate(ds.names):
        image = int(name[:4])
        sample = ds.load(i)
        depth, mask = sample["depth"][0].numpy(), sample["mask"][0].numpy()
        k = range_levels(image)
        np.testing.assert_array_equal(mask, k > 0)
        np.testing.assert_allclose(depth[mask], k[mask] / 255.0, atol=info.png_scale / 2 + 1e-7)
        rgb = (sample["rgb"].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
        np.testing.assert_array_equal(rgb, portrait(image))
        copied = out / "test" / "rgb" / f"{name}.png"
        assert (
            copied.read_bytes()
            == (
                src / "PreprocessedImages" / texas_name(image, int(name[5:]), "Portrait")
            ).read_bytes()
        )
    # a depth-only training sample decodes to its own range image too
    d, valid = read_depth(out / "train" / "depth" / "0003_002.png", png_scale=info.png_scale)
    np.testing.assert_array_equal(valid, range_levels(3) > 0)
    np.testing.assert_allclose(d[valid], range_levels(3)[valid] / 255, atol=1e-5)


def test_unpaired_training_reads_it(converted) -> None:
    _, out = converted
    ds = UnpairedDepthDataset(out, "train", domains="alternate_groups")
    assert len(ds.rgb_files) == 14 and len(ds.depth_files) == 12
    item = ds[0]
    assert item["rgb"].shape == (3, H, W) and item["depth"].shape == (1, H, W)


def test_sixteen_bit_range_images(tmp_path: Path) -> None:
    src = make_texas(tmp_path, subjects=range(1, 8), per_subject=1)
    folder = src / "PreprocessedImages"
    levels = np.arange(H * W, dtype=np.uint16).reshape(H, W) * 700 + 1
    levels[0, 0] = 0
    Image.fromarray(levels).save(folder / texas_name(7, 7, "Range"))
    out = tmp_path / "out"
    info = convert("texas", src, out, progress=False)
    d, valid = read_depth(out / "test" / "depth" / "0007_007.png", png_scale=info.png_scale)
    np.testing.assert_array_equal(valid, levels > 0)
    np.testing.assert_allclose(d[valid], levels[valid] / 65535, atol=1e-6)


def test_cli_convert_and_check(converted, tmp_path: Path, capsys) -> None:
    src, _ = converted
    out = tmp_path / "o"
    assert main(["convert", "texas", str(src), "--out", str(out), "--quiet"]) == 0
    assert "Texas-3DFRD" in capsys.readouterr().out
    assert main(["check", str(out), "--quiet"]) == 0
    assert main(["convert", "texas", str(tmp_path / "none"), "--out", str(tmp_path / "p")]) == 2
    assert main(["convert", "texas", str(tmp_path), "--out", str(tmp_path / "q")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "does not exist" in err[0] and "no Texas-3DFRD image pair" in err[1]
    assert not (tmp_path / "p").exists() and not (tmp_path / "q").exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            "drop_range",
            r"Image_0003_002_\S+Portrait.png: no matching Image_0003_002_\S+Range.png found",
        ),
        ("bad_name", r"Image_01_1_Range.png: a Texas-3DFRD range image must be named"),
        ("size", r"Range.png: range image is \(6, 8\) \(H, W\) but its portrait"),
        ("rgb_range", r"Range.png: expected a single-channel 8- or 16-bit range image"),
        ("corrupt", r"Range.png: not a readable PNG"),
        ("duplicate", r"a second portrait image for image 0003 of subject 002"),
        ("few_subjects", r"found 6 subject\(s\).*at least 7"),
    ],
)
def test_malformed_sources(tmp_path: Path, damage: str, message: str) -> None:
    subjects = range(1, 7) if damage == "few_subjects" else range(1, 9)
    src = make_texas(tmp_path, subjects=subjects)
    folder = src / "PreprocessedImages"
    rng = folder / texas_name(3, 2, "Range")
    if damage == "drop_range":
        rng.unlink()
    elif damage == "bad_name":
        Image.fromarray(range_levels(1)).save(folder / "Image_01_1_Range.png")
    elif damage == "size":
        Image.fromarray(range_levels(3)[:6]).save(rng)
    elif damage == "rgb_range":
        Image.fromarray(portrait(3)).save(rng)
    elif damage == "corrupt":
        rng.write_bytes(rng.read_bytes()[:40])
    elif damage == "duplicate":
        (folder / "copy").mkdir()
        Image.fromarray(portrait(3)).save(folder / "copy" / texas_name(3, 2, "Portrait"))
    out = tmp_path / "out"
    with pytest.raises(InputError, match=message):
        convert("texas", src, out, progress=False)
    assert not out.exists()


def test_preprocessed_folder_is_preferred(tmp_path: Path) -> None:
    src = make_texas(tmp_path, subjects=range(1, 8), per_subject=1)
    other = src / "OriginalImages"
    other.mkdir()
    Image.fromarray(portrait(1)).save(other / texas_name(1, 1, "Portrait"))  # no partner
    info = convert("texas", src, tmp_path / "out", progress=False)
    assert info.extra["counts"]["test"] == {"rgb": 1, "depth": 1}
