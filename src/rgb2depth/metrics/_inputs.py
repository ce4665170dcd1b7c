"""Input checks shared by the public functions of :mod:`rgb2depth.metrics` (private).

Every public function accepts depth maps of shape ``(B, 1, H, W)``, ``(B, H, W)`` or
``(H, W)`` and works internally on ``(B, H, W)``; these helpers check and reshape.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rgb2depth.errors import InputError

ACCEPTED_SHAPES = "(B, 1, H, W), (B, H, W) or (H, W)"


def shape_str(x: Tensor) -> str:
    """``(2, 1, 4, 4)``: a tensor's shape as a tuple, for messages."""
    return str(tuple(x.shape))


def working_dtype(device: torch.device) -> torch.dtype:
    """The dtype every metric is computed in: float64, float32 where float64 is missing (MPS)."""
    return torch.float32 if device.type == "mps" else torch.float64


def to_bhw(x: Tensor, name: str) -> Tensor:
    """View a depth-like tensor as ``(B, H, W)``.

    Args:
        x: tensor of shape (B, 1, H, W), (B, H, W) or (H, W).
        name: argument name used in the error message.

    Returns:
        The same data as a (B, H, W) view.

    Raises:
        InputError: for any other shape.
    """
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 3:
        return x
    if x.ndim == 2:
        return x.unsqueeze(0)
    raise InputError(f"expected {name} of shape {ACCEPTED_SHAPES}, got {shape_str(x)}")


def check_depth_pair(pred: object, gt: object) -> tuple[Tensor, Tensor]:
    """Check ``pred`` and ``gt`` and return them as (B, H, W) views in their own dtype.

    Raises:
        InputError: not tensors, not floating point, different shapes, an unsupported
            shape, or different devices.
    """
    for name, x in (("pred", pred), ("gt", gt)):
        if not isinstance(x, Tensor):
            raise InputError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")
    assert isinstance(pred, Tensor) and isinstance(gt, Tensor)
    if not (pred.is_floating_point() and gt.is_floating_point()):
        raise InputError(f"expected floating-point pred and gt, got {pred.dtype} and {gt.dtype}")
    if pred.shape != gt.shape:
        raise InputError(
            f"expected pred and gt of the same shape, got {shape_str(pred)} and {shape_str(gt)}"
        )
    if pred.device != gt.device:
        raise InputError(
            f"expected pred and gt on the same device, got {pred.device} and {gt.device}"
        )
    return to_bhw(pred, "pred"), to_bhw(gt, "gt")


def check_mask(mask: object, like: Tensor, like_bhw: Tensor, name: str = "mask") -> Tensor:
    """Check a user mask against the depth maps and return it as a (B, H, W) bool tensor.

    Args:
        mask: bool tensor of the depth maps' shape, of (B, 1, H, W) / (B, H, W) giving the
            same (B, H, W), or of shape (H, W) (then shared by every image).
        like: the depth map as the caller passed it (for the message).
        like_bhw: the same depth map as (B, H, W).
        name: argument name used in the error message.

    Raises:
        InputError: not a bool tensor, or a shape that does not fit.
    """
    if not isinstance(mask, Tensor):
        raise InputError(f"expected {name} to be a bool torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise InputError(f"expected a bool {name}, got {mask.dtype}")
    b, h, w = like_bhw.shape
    if mask.shape == (h, w):
        return mask.to(like_bhw.device).expand(b, h, w)
    if mask.ndim in (3, 4) and mask.numel() == like_bhw.numel():
        m = mask[:, 0] if mask.ndim == 4 and mask.shape[1] == 1 else mask
        if m.shape == like_bhw.shape:
            return m.to(like_bhw.device)
    raise InputError(
        f"expected {name} of shape {shape_str(like)} or {(h, w)}, got {shape_str(mask)}"
    )
