"""Trivial predictors that every model must beat.

The best constant predictor of a split is the per-pixel mean of its valid
training depth (:class:`MeanDepthMap`); a single global mean
(:class:`MeanDepth`) is the weaker reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from rgb2depth.errors import InputError


def valid_depth_sums(samples: Iterable[dict[str, Any]]) -> tuple[Tensor, Tensor]:
    """Per-pixel sum and count of valid depth over samples of one size.

    Args:
        samples: dicts with ``depth`` (1, H, W) and ``mask`` (1, H, W) (the sample contract).

    Returns:
        (total, count), each (1, H, W) float64.

    Raises:
        InputError: depth maps of different sizes, or no valid pixel at all.
    """
    total = count = None
    for s in samples:
        d, m = s["depth"].double(), s["mask"]
        if total is None or count is None:
            total, count = torch.zeros_like(d), torch.zeros_like(d)
        elif d.shape != total.shape:
            raise InputError(
                f"the mean depth baselines need depth maps of one size, got "
                f"{tuple(total.shape)} and {tuple(d.shape)} (sample {s.get('name', '?')})"
            )
        total += torch.where(m, d, 0.0)
        count += m
    if total is None or count is None or count.sum() == 0:
        raise InputError("no valid depth pixel in the training samples")
    return total, count


class MeanDepthMap:
    """Predicts the per-pixel mean of the valid training depth maps.

    Pixels never valid in training get the global mean.

    Attributes:
        mean: (1, H, W) float32 depth in the dataset's units.
    """

    def __init__(self, mean: Tensor):
        self.mean = mean

    @classmethod
    def fit(cls, samples: Iterable[dict[str, Any]]) -> MeanDepthMap:
        """Average ``depth`` over ``mask`` across samples (see the sample contract)."""
        total, count = valid_depth_sums(samples)
        global_mean = total.sum() / count.sum()
        return cls(torch.where(count > 0, total / count.clamp(min=1), global_mean).float())

    def __call__(self, sample: dict[str, Any]) -> Tensor:
        """The prediction for ``sample``: (1, H, W) float32 in the dataset's units."""
        return self.mean


class MeanDepth(MeanDepthMap):
    """Predicts one number everywhere: the mean of all valid training depth pixels."""

    @classmethod
    def fit(cls, samples: Iterable[dict[str, Any]]) -> MeanDepth:
        total, count = valid_depth_sums(samples)
        return cls(torch.full(total.shape, float(total.sum() / count.sum())))
