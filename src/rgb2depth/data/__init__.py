"""Data: the folder format, readers and writers, datasets, transforms, synthetic scenes."""

from rgb2depth.data.datasets import PairedDepthDataset, UnpairedDepthDataset
from rgb2depth.data.format import DatasetInfo, read_info

__all__ = ["DatasetInfo", "PairedDepthDataset", "UnpairedDepthDataset", "read_info"]
