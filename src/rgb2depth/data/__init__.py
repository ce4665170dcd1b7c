"""Data: the folder format, readers and writers, datasets, transforms, synthetic scenes.

The datasets (which need torch) load on first use, so that ``rgb2depth generate``
and the command's help start without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rgb2depth.data.format import DatasetInfo, read_info

if TYPE_CHECKING:
    from rgb2depth.data.datasets import PairedDepthDataset, UnpairedDepthDataset

__all__ = ["DatasetInfo", "PairedDepthDataset", "UnpairedDepthDataset", "read_info"]


def __getattr__(name: str) -> Any:
    if name in ("PairedDepthDataset", "UnpairedDepthDataset"):
        from rgb2depth.data import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'rgb2depth.data' has no attribute {name!r}")
