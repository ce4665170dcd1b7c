"""Paired and unpaired datasets over the folder format of :mod:`rgb2depth.data.format`.

Both return samples as :mod:`rgb2depth.data.contract` defines them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from rgb2depth.data.format import DatasetInfo, list_split, read_groups, read_info
from rgb2depth.data.io import read_depth, read_rgb
from rgb2depth.errors import InputError

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]


def rgb_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div_(255.0)


def load_depth(
    path: Path, info: DatasetInfo, *, allow_nan: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one depth file with the dataset's encoding -> ((1, H, W) float32, (1, H, W) bool)."""
    depth, valid = read_depth(
        path,
        png_scale=info.png_scale,
        png_offset=info.png_offset,
        invalid_value=info.invalid_value,
        allow_negative=info.depth_range[0] < 0,
        allow_nan=allow_nan,
    )
    return torch.from_numpy(depth)[None], torch.from_numpy(valid)[None]


def _describe_mismatch(only_rgb: list[str], only_depth: list[str], folder: Path) -> str:
    parts = []
    if only_rgb:
        parts.append(f"{len(only_rgb)} RGB without depth (e.g. {', '.join(only_rgb[:3])})")
    if only_depth:
        parts.append(f"{len(only_depth)} depth without RGB (e.g. {', '.join(only_depth[:3])})")
    return f"{folder}: paired split but names do not match: " + "; ".join(parts)


class PairedDepthDataset(Dataset):
    """RGB images and depth maps matched by file name.

    Args:
        root: dataset folder with ``dataset.json``.
        split: sub-folder, e.g. ``"train"``, ``"val"``, ``"test"``.
        transform: applied to each sample dict (see :mod:`rgb2depth.data.transforms`).

    Raises:
        InputError: bad folder or ``dataset.json``, a split marked unpaired, or
            names that do not match (the first few are listed).
    """

    def __init__(
        self, root: str | Path, split: str = "train", *, transform: Transform | None = None
    ):
        self.root = Path(root)
        self.split = split
        self.info = read_info(self.root)
        if not self.info.is_paired(split):
            raise InputError(
                f"{self.root}: split {split!r} is unpaired in dataset.json; "
                "use UnpairedDepthDataset (or an unsupervised method)"
            )
        rgb = list_split(self.root, split, "rgb")
        depth = list_split(self.root, split, "depth")
        only_rgb = sorted(set(rgb) - set(depth))
        only_depth = sorted(set(depth) - set(rgb))
        if only_rgb or only_depth:
            raise InputError(_describe_mismatch(only_rgb, only_depth, self.root / split))
        self.names = sorted(rgb)
        self.rgb_files = [rgb[n] for n in self.names]
        self.depth_files = [depth[n] for n in self.names]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.names)

    def load(self, index: int) -> Sample:
        """The raw sample (no transform): rgb in [0, 1], depth in units."""
        rgb = rgb_to_tensor(read_rgb(self.rgb_files[index]))
        depth, mask = load_depth(self.depth_files[index], self.info)
        if rgb.shape[-2:] != depth.shape[-2:]:
            raise InputError(
                f"{self.depth_files[index]}: depth map is {tuple(depth.shape[-2:])} (H, W) "
                f"but its RGB image is {tuple(rgb.shape[-2:])}"
            )
        return {"rgb": rgb, "depth": depth, "mask": mask, "name": self.names[index]}

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int) -> Sample:
        sample = self.load(index)
        return self.transform(sample) if self.transform is not None else sample


class UnpairedDepthDataset(Dataset):
    """RGB images and depth maps drawn independently (seed 000's unpaired training).

    Item ``i`` holds RGB image ``i % n_rgb`` and a depth map drawn uniformly at
    random with torch's RNG (so DataLoader worker seeding applies), or depth map
    ``i % n_depth`` with ``shuffle_depth=False``. ``len`` is ``max(n_rgb, n_depth)``.
    The RGB half and the depth half are transformed in two separate calls.

    Works on any split, paired or not. ``domains`` says which samples feed which half:
    ``"all"`` takes every RGB image and every depth map of the split (on a paired split
    this only ignores the pairing: the two halves still show the same identities);
    ``"alternate_groups"`` takes RGB from the split's even-numbered groups and depth
    from the odd ones (groups in sorted order, from ``meta.jsonl``), so that no
    identity, liner or room is seen in both domains: seed 000's protocol on paired data.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        transform: Transform | None = None,
        rgb_transform: Transform | None = None,
        depth_transform: Transform | None = None,
        shuffle_depth: bool = True,
        domains: str = "all",
    ):
        self.root = Path(root)
        self.split = split
        self.info = read_info(self.root)
        rgb = list_split(self.root, split, "rgb")
        depth = list_split(self.root, split, "depth")
        self.rgb_names, self.depth_names = sorted(rgb), sorted(depth)
        if domains == "alternate_groups":
            groups = read_groups(self.root, split)
            missing = sorted(set(self.rgb_names + self.depth_names) - set(groups))
            if missing:
                raise InputError(
                    f"{self.root}/{split}/meta.jsonl gives no group for {len(missing)} "
                    f"sample(s) (e.g. {missing[0]})"
                )
            rank = {g: i for i, g in enumerate(sorted(set(groups.values()), key=str))}
            self.rgb_names = [n for n in self.rgb_names if rank[groups[n]] % 2 == 0]
            self.depth_names = [n for n in self.depth_names if rank[groups[n]] % 2 == 1]
            if not self.rgb_names or not self.depth_names:
                raise InputError(
                    f"{self.root}/{split}: domains=alternate_groups needs at least two groups "
                    f"with RGB and depth; got {len(rank)} group(s)"
                )
        elif domains != "all":
            raise InputError(f"unknown domains {domains!r}; use all or alternate_groups")
        self.rgb_files = [rgb[n] for n in self.rgb_names]
        self.depth_files = [depth[n] for n in self.depth_names]
        self.rgb_transform = rgb_transform or transform
        self.depth_transform = depth_transform or transform
        self.shuffle_depth = shuffle_depth

    def __len__(self) -> int:
        return max(len(self.rgb_files), len(self.depth_files))

    def __getitem__(self, index: int) -> Sample:
        i = index % len(self.rgb_files)
        if self.shuffle_depth:
            j = int(torch.randint(len(self.depth_files), ()).item())
        else:
            j = index % len(self.depth_files)
        rgb: Sample = {"rgb": rgb_to_tensor(read_rgb(self.rgb_files[i]))}
        d, m = load_depth(self.depth_files[j], self.info)
        dep: Sample = {"depth": d, "mask": m}
        if self.rgb_transform is not None:
            rgb = self.rgb_transform(rgb)
        if self.depth_transform is not None:
            dep = self.depth_transform(dep)
        return {**rgb, **dep, "rgb_name": self.rgb_names[i], "depth_name": self.depth_names[j]}
