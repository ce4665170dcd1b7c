"""Per-pixel losses (L1, MSE) and the input checks and masked mean every loss shares.

Conventions of every loss in :mod:`rgb2depth.losses`:

- ``pred`` and ``target`` are depth maps of the same shape ``(B, 1, H, W)`` in the
  model range [-1, 1] (see :mod:`rgb2depth.data.contract`); values are compared in
  that range, so an error of 0.1 is 5 % of the dataset's depth range.
- ``mask`` is ``None`` (every pixel valid) or a ``(B, 1, H, W)`` bool tensor, True
  where the target depth is valid. Losses average over valid pixels only: the
  values of ``pred`` and ``target`` at invalid pixels do not change the result,
  and a batch with no valid pixel gives 0, still connected to ``pred``'s graph
  (so ``backward()`` works and gives zero gradients, never NaN).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rgb2depth.errors import InputError


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__


def check_pair(pred: object, target: object) -> None:
    """Check that ``pred`` and ``target`` are floating (B, 1, H, W) tensors of one shape.

    Raises:
        InputError: anything else, with the shapes received.
    """
    ok = (
        isinstance(pred, Tensor)
        and isinstance(target, Tensor)
        and pred.ndim == 4
        and pred.shape[1] == 1
        and pred.shape == target.shape
    )
    if not ok:
        raise InputError(
            "expected pred and target of the same (B, 1, H, W) shape, "
            f"got {_shape(pred)} and {_shape(target)}"
        )
    assert isinstance(pred, Tensor) and isinstance(target, Tensor)
    if not (pred.is_floating_point() and target.is_floating_point()):
        raise InputError(
            f"expected floating-point pred and target, got {pred.dtype} and {target.dtype}"
        )


def check_mask(mask: object, like: Tensor) -> Tensor | None:
    """Check an optional validity mask against ``like`` (the prediction).

    Args:
        mask: ``None`` or a bool tensor of ``like``'s shape (B, 1, H, W).
        like: the prediction, (B, 1, H, W).

    Returns:
        The mask unchanged (``None`` stays ``None``).

    Raises:
        InputError: not a bool tensor of ``like``'s shape.
    """
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape != like.shape:
        got = f"{mask.dtype} {_shape(mask)}" if isinstance(mask, Tensor) else _shape(mask)
        raise InputError(f"expected a bool mask of shape {_shape(like)} like pred, got {got}")
    return mask


def masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of ``values`` over the pixels where ``mask`` is True.

    Args:
        values: (B, C, H, W) per-pixel values.
        mask: ``None`` (plain mean) or a bool tensor broadcastable to ``values``.

    Returns:
        A 0-d tensor. With no True pixel it is 0, computed from ``values`` so that
        it stays in the graph; values at masked-out pixels (even NaN or inf) never
        reach the result or its gradient.
    """
    if mask is None:
        return values.mean()
    mask = mask.expand_as(values)
    kept = torch.where(mask, values, torch.zeros((), dtype=values.dtype, device=values.device))
    count = mask.sum().clamp_min(1).to(values.dtype)
    return kept.sum() / count


def l1_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean absolute error over valid pixels: ``mean |pred - target|``.

    Seed 003's L_depth and seed 004's L_1.

    Args:
        pred: (B, 1, H, W) predicted depth, model range [-1, 1].
        target: (B, 1, H, W) true depth, model range.
        mask: optional (B, 1, H, W) bool, True where ``target`` is valid.

    Returns:
        0-d tensor, in model-range units.

    Raises:
        InputError: shapes other than two equal (B, 1, H, W), or a bad mask.
    """
    check_pair(pred, target)
    mask = check_mask(mask, pred)
    return masked_mean((pred - target).abs(), mask)


def mse_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean squared error over valid pixels: ``mean (pred - target)^2`` (seed 001, eq. 3).

    Args:
        pred: (B, 1, H, W) predicted depth, model range [-1, 1].
        target: (B, 1, H, W) true depth, model range.
        mask: optional (B, 1, H, W) bool, True where ``target`` is valid.

    Returns:
        0-d tensor, in squared model-range units.

    Raises:
        InputError: shapes other than two equal (B, 1, H, W), or a bad mask.
    """
    check_pair(pred, target)
    mask = check_mask(mask, pred)
    return masked_mean((pred - target).square(), mask)


class L1Loss(nn.Module):
    """Module form of :func:`l1_loss`."""

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        return l1_loss(pred, target, mask)


class MSELoss(nn.Module):
    """Module form of :func:`mse_loss`."""

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        return mse_loss(pred, target, mask)
