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


class MeanDepthMap:
    """Predicts the per-pixel mean of the valid training depth maps.

    Pixels never valid in training get the global mean. All depth maps must
    share one size.

    Attributes:
        mean: (1, H, W) float32 depth in the dataset's units.
    """

    def __init__(self, mean: Tensor):
        self.mean = mean

    @classmethod
    def fit(cls, samples: Iterable[dict[str, Any]]) -> MeanDepthMap:
        """Average ``depth`` over ``mask`` across samples (see the sample contract)."""
        total = count = None
        for s in samples:
            d, m = s["depth"].double(), s["mask"]
            if total is None:
                total, count = torch.zeros_like(d), torch.zeros_like(d)
            elif d.shape != total.shape:
                raise InputError(
                    f"MeanDepthMap needs depth maps of one size, got {tuple(total.shape)} and "
                    f"{tuple(d.shape)} (sample {s.get('name', '?')})"
                )
            total += torch.where(m, d, 0.0)
            count += m
        if total is None or count is None or count.sum() == 0:
            raise InputError("MeanDepthMap.fit: no valid depth pixel in the training samples")
        global_mean = total.sum() / count.sum()
        mean = torch.where(count > 0, total / count.clamp(min=1), global_mean)
        return cls(mean.float())

    def __call__(self, sample: dict[str, Any]) -> Tensor:
        """The prediction for ``sample``: (1, H, W) float32 in the dataset's units."""
        return self.mean


class MeanDepth(MeanDepthMap):
    """Predicts one number: the mean of all valid training depth."""

    @classmethod
    def fit(cls, samples: Iterable[dict[str, Any]]) -> MeanDepth:
        m = MeanDepthMap.fit(samples)
        return cls(torch.full_like(m.mean, float(m.mean.mean())))
