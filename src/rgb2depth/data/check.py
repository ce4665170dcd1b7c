"""Read every file of a dataset folder once and summarise it (``rgb2depth check``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor
from tqdm.auto import tqdm

from rgb2depth.data.datasets import PairedDepthDataset, load_depth
from rgb2depth.data.format import DatasetInfo, list_split, read_info
from rgb2depth.data.io import read_rgb
from rgb2depth.errors import InputError


@dataclass
class SplitSummary:
    """What one split holds."""

    split: str
    paired: bool
    n_rgb: int
    n_depth: int
    sizes: list[tuple[int, int]]  # distinct (H, W) of the depth maps
    depth_min: float
    depth_max: float
    valid_fraction: float


def check_split(
    root: Path, info: DatasetInfo, split: str, *, progress: bool = True
) -> SplitSummary:
    """Read every RGB image and depth map of ``split``.

    Raises:
        InputError: the first bad file, or paired names that do not match.
    """
    paired = info.is_paired(split)
    if paired:
        ds = PairedDepthDataset(root, split)
        n_rgb = n_depth = len(ds)
        depths: Iterator[dict[str, Tensor]] = (ds.load(i) for i in range(len(ds)))
    else:
        rgb_files = list(list_split(root, split, "rgb").values())
        # An RGB-only dataset (``extra.rgb_only``, e.g. CelebAMask-HQ converted: an
        # unpaired RGB domain) has no depth folder.
        rgb_only = info.extra.get("rgb_only") is True and not (root / split / "depth").exists()
        depth_files = [] if rgb_only else list(list_split(root, split, "depth").values())
        n_rgb, n_depth = len(rgb_files), len(depth_files)

        def read_all() -> Iterator[dict[str, Tensor]]:
            for f in rgb_files:
                read_rgb(f)
            for f in depth_files:
                d, m = load_depth(f, info)
                yield {"depth": d, "mask": m}

        depths = read_all()
    sizes: set[tuple[int, int]] = set()
    lo, hi, n_valid, n_px = np.inf, -np.inf, 0, 0
    for s in tqdm(
        depths, total=n_depth, desc=f"check {split}", unit="sample", disable=not progress
    ):
        d, m = s["depth"], s["mask"]
        sizes.add((int(d.shape[-2]), int(d.shape[-1])))
        if m.any():
            lo, hi = min(lo, float(d[m].min())), max(hi, float(d[m].max()))
        n_valid += int(m.sum())
        n_px += m.numel()
    return SplitSummary(
        split,
        paired,
        n_rgb,
        n_depth,
        sorted(sizes),
        float(lo),
        float(hi),
        n_valid / max(n_px, 1),
    )


def check_dataset(
    root: str | Path, *, splits: list[str] | None = None, progress: bool = True
) -> tuple[DatasetInfo, list[SplitSummary]]:
    """Check every split of a dataset folder (or the given ``splits``)."""
    root = Path(root)
    info = read_info(root)
    if splits is None:
        splits = info.splits or sorted(p.name for p in root.iterdir() if (p / "rgb").is_dir())
    if not splits:
        raise InputError(f"{root}: no split folder with rgb/ and depth/ inside")
    return info, [check_split(root, info, s, progress=progress) for s in splits]
