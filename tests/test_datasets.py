"""Paired and unpaired datasets: the sample contract and bad folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rgb2depth.data import PairedDepthDataset, UnpairedDepthDataset
from rgb2depth.data.synthetic.generate import generate
from rgb2depth.errors import InputError


def test_paired_sample_contract(planes_dataset: Path) -> None:
    ds = PairedDepthDataset(planes_dataset, "train")
    assert len(ds) == 16
    s = ds[0]
    assert s["rgb"].shape == (3, 24, 32) and s["rgb"].dtype == torch.float32
    assert 0.0 <= s["rgb"].min() and s["rgb"].max() <= 1.0
    assert s["depth"].shape == (1, 24, 32) and s["depth"].dtype == torch.float32
    assert s["mask"].dtype == torch.bool and s["mask"].shape == (1, 24, 32)
    assert not s["mask"][0, 0, 0] and s["depth"][0, 0, 0] == 0.0  # the hole
    assert s["mask"][0, -1, -1] and 0.5 <= s["depth"][0, -1, -1] <= 10.0
    assert s["name"] == "000000"


def test_paired_collates(planes_dataset: Path) -> None:
    loader = torch.utils.data.DataLoader(PairedDepthDataset(planes_dataset, "train"), batch_size=4)
    batch = next(iter(loader))
    assert batch["rgb"].shape == (4, 3, 24, 32) and len(batch["name"]) == 4


def test_mismatched_names_are_listed(planes_dataset: Path) -> None:
    depth = planes_dataset / "train" / "depth"
    for name in ("000001", "000002", "000003", "000004"):
        (depth / f"{name}.png").rename(depth / f"x{name}.png")
    with pytest.raises(
        InputError,
        match=r"4 RGB without depth \(e\.g\. 000001, 000002, 000003\); "
        r"4 depth without RGB",
    ):
        PairedDepthDataset(planes_dataset, "train")


def test_depth_shape_mismatch(planes_dataset: Path) -> None:
    p = planes_dataset / "train" / "depth" / "000000.png"
    Image.fromarray(np.ones((10, 10), np.uint16)).save(p)
    ds = PairedDepthDataset(planes_dataset, "train")
    with pytest.raises(
        InputError,
        match=r"depth map is \(10, 10\) \(H, W\) but its RGB image is "
        r"\(24, 32\)",
    ):
        ds[0]


def test_missing_split_and_empty_folder(planes_dataset: Path) -> None:
    with pytest.raises(InputError, match=r"not found \(splits present: test, train, val\)"):
        PairedDepthDataset(planes_dataset, "validation")
    shutil.rmtree(planes_dataset / "val" / "rgb")
    (planes_dataset / "val" / "rgb").mkdir()
    with pytest.raises(InputError, match="holds no rgb file"):
        PairedDepthDataset(planes_dataset, "val")


def test_unpaired_split_refused_by_paired(tmp_path: Path, planes) -> None:
    generate(planes, tmp_path / "u", n=20, size=16, unpaired=True, progress=False)
    with pytest.raises(InputError, match=r"is unpaired in dataset\.json"):
        PairedDepthDataset(tmp_path / "u", "train")
    ds = UnpairedDepthDataset(tmp_path / "u", "train")
    assert len(ds) == 8
    torch.manual_seed(0)
    pairs = {(ds[i]["rgb_name"], ds[i]["depth_name"]) for i in range(len(ds)) for _ in range(3)}
    assert all(r != d for r, d in pairs)
    assert len({d for _, d in pairs}) > 2  # depth drawn independently of the RGB index


def test_unpaired_halves_transformed_separately(tmp_path: Path, planes) -> None:
    generate(planes, tmp_path / "u", n=20, size=16, unpaired=True, progress=False)
    seen = []

    def spy(sample):
        seen.append(sorted(sample))
        return sample

    UnpairedDepthDataset(tmp_path / "u", "train", transform=spy)[0]
    assert seen == [["rgb"], ["depth", "mask"]]


def test_unpaired_alternate_groups_keeps_identities_apart(tmp_path: Path) -> None:
    import json

    from rgb2depth.data import UnpairedDepthDataset
    from rgb2depth.data.synthetic import generate

    root = tmp_path / "faces"
    generate("faces", root, n=24, size=16, seed=0, progress=False)
    groups = {}
    for line in (root / "train" / "meta.jsonl").read_text().splitlines():
        row = json.loads(line)
        groups[row["name"]] = row["group"]
    ds = UnpairedDepthDataset(root, "train", domains="alternate_groups")
    rgb_groups = {groups[n] for n in ds.rgb_names}
    depth_groups = {groups[n] for n in ds.depth_names}
    assert rgb_groups and depth_groups and not rgb_groups & depth_groups
    assert rgb_groups | depth_groups == set(groups.values())
    every = UnpairedDepthDataset(root, "train")
    assert set(every.rgb_names) == set(groups) == set(every.depth_names)
    with pytest.raises(InputError, match="unknown domains"):
        UnpairedDepthDataset(root, "train", domains="halves")
    (root / "train" / "meta.jsonl").unlink()
    with pytest.raises(InputError, match=r"meta\.jsonl not found"):
        UnpairedDepthDataset(root, "train", domains="alternate_groups")
