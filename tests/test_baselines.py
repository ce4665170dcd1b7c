"""The trivial baselines, on hand-computed values."""

from __future__ import annotations

import pytest
import torch

from rgb2depth.baselines import MeanDepth, MeanDepthMap
from rgb2depth.errors import InputError


def sample(values: list[float], valid: list[bool]) -> dict:
    return {
        "depth": torch.tensor(values).reshape(1, 1, -1),
        "mask": torch.tensor(valid).reshape(1, 1, -1),
    }


SAMPLES = [
    sample([1.0, 2.0, 0.0], [True, True, False]),
    sample([3.0, 0.0, 0.0], [True, False, False]),
    sample([5.0, 6.0, 0.0], [True, True, False]),
]


def test_mean_depth_map_is_per_pixel_over_valid() -> None:
    mean = MeanDepthMap.fit(SAMPLES).mean
    # pixel 0: (1+3+5)/3; pixel 1: (2+6)/2; pixel 2 never valid: global mean 17/5
    assert mean.flatten().tolist() == pytest.approx([3.0, 4.0, 3.4])


def test_mean_depth_is_the_mean_of_all_valid_pixels() -> None:
    # 17 / 5, not the mean of the per-pixel map (3.467)
    assert MeanDepth.fit(SAMPLES).mean.flatten().tolist() == pytest.approx([3.4] * 3)


def test_bad_samples() -> None:
    with pytest.raises(InputError, match="no valid depth pixel"):
        MeanDepthMap.fit([sample([0.0], [False])])
    with pytest.raises(InputError, match="of one size"):
        MeanDepth.fit([sample([1.0], [True]), sample([1.0, 2.0], [True, True])])
