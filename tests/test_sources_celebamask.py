"""``rgb2depth convert celebamask``: CelebAMask-HQ portraits -> RGB-only splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.data.format import read_info
from rgb2depth.data.io import read_rgb
from rgb2depth.data.sources import convert
from rgb2depth.errors import InputError
from rgb2depth.methods.unsupervised import list_rgb_folder

# CelebA file numbers at the edges of CelebA's published partition
# (train 000001-162770, val 162771-182637, test 182638-202599)
CELEBA = {0: 119614, 1: 162770, 2: 162771, 3: 182637, 4: 182638, 5: 202599, 6: 1}
SPLIT = {0: "train", 1: "train", 2: "val", 3: "val", 4: "test", 5: "test", 6: "train"}


def make_celebamask(root: Path, *, mapping: bool = True) -> Path:
    src = root / "CelebAMask-HQ"
    (src / "CelebA-HQ-img").mkdir(parents=True)
    for idx in CELEBA:
        yy, xx = np.mgrid[0:16, 0:12]
        rgb = np.stack([yy * 15, xx * 20, np.full_like(yy, 30 * idx)], -1).astype(np.uint8)
        Image.fromarray(rgb).save(src / "CelebA-HQ-img" / f"{idx}.jpg", quality=95)
    if mapping:  # as published: a header, then idx, 0-based orig_idx, 1-based orig_file
        lines = ["idx         orig_idx    orig_file"]
        lines += [f"{i:<11d} {n - 1:<11d} {n:06d}.jpg" for i, n in CELEBA.items()]
        lines += ["7           99094       099095.jpg"]  # listed, image not downloaded
        (src / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
    (src / "CelebAMask-HQ-attribute-anno.txt").write_text("ignored\n")
    return src


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("celeba")
    src = make_celebamask(root)
    out = root / "out"
    convert("celebamask", src, out, progress=False)
    return src, out


def test_celeba_partition_and_copies(converted) -> None:
    src, out = converted
    info = read_info(out)
    assert info.splits == ["train", "val", "test"]
    assert info.unpaired_splits == ["train", "val", "test"] and not info.paired
    assert info.extra["rgb_only"] is True and info.extra["images_missing"] == 1
    assert info.extra["counts"] == {
        "train": {"rgb": 3, "depth": 0},
        "val": {"rgb": 2, "depth": 0},
        "test": {"rgb": 2, "depth": 0},
    }
    for split in ("train", "val", "test"):
        assert not (out / split / "depth").exists()
        for row in rows(out / split / "meta.jsonl"):
            idx = row["celebahq_idx"]
            assert SPLIT[idx] == split and row["name"] == f"{idx:05d}"
            assert row["celeba_file"] == f"{CELEBA[idx]:06d}.jpg"
            copied = out / split / "rgb" / f"{idx:05d}.jpg"
            assert copied.read_bytes() == (src / "CelebA-HQ-img" / f"{idx}.jpg").read_bytes()
    assert read_rgb(out / "val" / "rgb" / "00002.jpg").shape == (16, 12, 3)


def test_extra_rgb_of_the_semisupervised_method_reads_it(converted) -> None:
    _, out = converted
    files = list_rgb_folder(out / "train" / "rgb")
    assert [f.name for f in files] == ["00000.jpg", "00001.jpg", "00006.jpg"]


def test_check_accepts_rgb_only(converted, capsys) -> None:
    _, out = converted
    assert main(["check", str(out), "--quiet"]) == 0
    assert "inf" not in capsys.readouterr().out


def test_partition_file_wins_over_the_ranges(tmp_path: Path) -> None:
    src = make_celebamask(tmp_path)
    (src / "Eval").mkdir()
    lines = [f"{n:06d}.jpg {'2' if n == 1 else '0'}" for n in CELEBA.values()]
    (src / "Eval" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    info = convert("celebamask", src, tmp_path / "out", progress=False)
    assert info.splits == ["train", "test"]
    assert [r["name"] for r in rows(tmp_path / "out" / "test" / "meta.jsonl")] == ["00006"]
    assert "list_eval_partition.txt" in info.extra["split"]


def test_without_mapping_everything_is_train(tmp_path: Path) -> None:
    src = make_celebamask(tmp_path, mapping=False)
    info = convert("celebamask", src / "CelebA-HQ-img", tmp_path / "out", progress=False)
    assert info.splits == ["train"] and info.extra["counts"]["train"]["rgb"] == len(CELEBA)
    assert "not found" in info.extra["split"]


def test_cli(tmp_path: Path, capsys) -> None:
    src = make_celebamask(tmp_path)
    assert main(["convert", "celebamask", str(src), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert "CelebAMask-HQ" in capsys.readouterr().out
    assert main(["convert", "celebamask", str(tmp_path), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CelebA-HQ-img/ folder" in err[0]


@pytest.mark.parametrize(
    "damage, message",
    [
        ("mapping_line", r"CelebA-HQ-to-CelebA-mapping.txt:3: expected 'idx orig_idx orig_file'"),
        ("unmapped", r"CelebA-HQ-img/8.jpg: idx 8 is not in .*mapping.txt"),
        ("not_jpeg", r"CelebA-HQ-img/3.jpg: not a JPEG file"),
        ("bad_name", r"CelebA-HQ-img/face_3.jpg: expected a name <idx>.jpg"),
        ("partition_line", r"list_eval_partition.txt:1: expected 'NNNNNN.jpg 0\|1\|2'"),
        ("no_images", r"CelebA-HQ-img: no <idx>.jpg image in it"),
    ],
)
def test_malformed_sources(tmp_path: Path, damage: str, message: str) -> None:
    src = make_celebamask(tmp_path)
    img = src / "CelebA-HQ-img"
    mapping = src / "CelebA-HQ-to-CelebA-mapping.txt"
    if damage == "mapping_line":
        lines = mapping.read_text().splitlines()
        lines[2] = "1 162769"
        mapping.write_text("\n".join(lines) + "\n")
    elif damage == "unmapped":
        (img / "8.jpg").write_bytes((img / "0.jpg").read_bytes())
    elif damage == "not_jpeg":
        Image.new("RGB", (4, 4)).save(img / "3.jpg", format="PNG")
    elif damage == "bad_name":
        (img / "3.jpg").rename(img / "face_3.jpg")
    elif damage == "partition_line":
        (src / "list_eval_partition.txt").write_text("000001.jpg train\n")
    elif damage == "no_images":
        for p in img.iterdir():
            p.unlink()
    out = tmp_path / "out"
    with pytest.raises(InputError, match=message):
        convert("celebamask", src, out, progress=False)
    assert not out.exists()
