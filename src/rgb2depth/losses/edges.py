"""Gradient losses: seed 003's depth-gradient L1 and seed 004's edge-aware L1 (eq. 6).

Both use one gradient operator, :func:`image_gradients`: forward differences
between neighbouring pixels, ``gx[..., i, j] = x[..., i, j + 1] - x[..., i, j]`` and
``gy[..., i, j] = x[..., i + 1, j] - x[..., i, j]``, zero on the last column (gx)
and the last row (gy). A step between columns j and j + 1 therefore shows in
column j only.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rgb2depth.errors import InputError
from rgb2depth.losses.pixel import check_mask, check_pair, masked_mean


def image_gradients(x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences along width and height.

    Args:
        x: (B, C, H, W) tensor, any units.

    Returns:
        ``(gx, gy)``, each (B, C, H, W) in the units of ``x`` per pixel:
        ``gx[..., j] = x[..., j + 1] - x[..., j]`` (0 on the last column),
        ``gy[..., i, :] = x[..., i + 1, :] - x[..., i, :]`` (0 on the last row).

    Raises:
        InputError: ``x`` is not a 4-D tensor.
    """
    if not isinstance(x, Tensor) or x.ndim != 4:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"expected a (B, C, H, W) tensor for image gradients, got {got}")
    gx = torch.zeros_like(x)
    gy = torch.zeros_like(x)
    gx[..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
    gy[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
    return gx, gy


def _pair_masks(mask: Tensor | None, like: Tensor) -> tuple[Tensor, Tensor]:
    """Where a forward difference exists and both its pixels are valid: (B, 1, H, W) bools."""
    b, _, h, w = like.shape
    valid = mask if mask is not None else torch.ones(b, 1, h, w, dtype=torch.bool)
    valid = valid.to(like.device)
    mx = torch.zeros_like(valid)
    my = torch.zeros_like(valid)
    mx[..., :, :-1] = valid[..., :, 1:] & valid[..., :, :-1]
    my[..., :-1, :] = valid[..., 1:, :] & valid[..., :-1, :]
    return mx, my


def gradient_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Seed 003's L_grad: L1 between the depth gradients of ``pred`` and ``target``.

    ``mean_x |gx(pred) - gx(target)| + mean_y |gy(pred) - gy(target)|``, each mean over
    the pixel pairs that exist (not the last column / row) and whose two pixels are
    both valid. So a prediction that is a ramp of slope s along x against a flat
    target scores exactly s.

    Args:
        pred: (B, 1, H, W) predicted depth, model range [-1, 1].
        target: (B, 1, H, W) true depth, model range.
        mask: optional (B, 1, H, W) bool, True where ``target`` is valid.

    Returns:
        0-d tensor, model-range units per pixel.

    Raises:
        InputError: bad shapes or mask.
    """
    check_pair(pred, target)
    mask = check_mask(mask, pred)
    gx, gy = image_gradients(pred - target)
    mx, my = _pair_masks(mask, pred)
    return masked_mean(gx.abs(), mx) + masked_mean(gy.abs(), my)


def _check_rgb(rgb: object, pred: Tensor) -> Tensor:
    ok = (
        isinstance(rgb, Tensor)
        and rgb.ndim == 4
        and rgb.is_floating_point()
        and rgb.shape[0] == pred.shape[0]
        and rgb.shape[-2:] == pred.shape[-2:]
    )
    if not ok:
        got = f"{rgb.dtype} {tuple(rgb.shape)}" if isinstance(rgb, Tensor) else type(rgb).__name__
        b, _, h, w = pred.shape
        raise InputError(f"expected a float rgb image of shape ({b}, C, {h}, {w}), got {got}")
    assert isinstance(rgb, Tensor)
    return rgb


def edge_weights(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """Seed 004's edge weights ``1 - exp(-g_x)`` and ``1 - exp(-g_y)`` of an image.

    The image is mapped from the model range [-1, 1] to [0, 1]; ``g_x`` and ``g_y`` are
    the absolute forward differences (:func:`image_gradients`) averaged over the
    channels, so they lie in [0, 1] and the weights in [0, 1 - 1/e]. The weights are
    detached: they steer the depth loss and carry no gradient to the image.

    Args:
        rgb: (B, C, H, W) image in [-1, 1] (C = 3, or 1 after grayscale).

    Returns:
        ``(wx, wy)``, each (B, 1, H, W), unitless; 0 on the last column (wx) / row (wy).
    """
    img = (rgb.detach() + 1.0) / 2.0
    gx, gy = image_gradients(img)
    wx = 1.0 - torch.exp(-gx.abs().mean(dim=1, keepdim=True))
    wy = 1.0 - torch.exp(-gy.abs().mean(dim=1, keepdim=True))
    return wx, wy


def edge_aware_l1(pred: Tensor, target: Tensor, rgb: Tensor, mask: Tensor | None = None) -> Tensor:
    """Seed 004's high-frequency loss L_e (eq. 6).

    Per pixel ``(1 - exp(-g_x)) |p - p^| + (1 - exp(-g_y)) |p - p^|`` with the weights of
    :func:`edge_weights` (RGB gradients), averaged over valid pixels. Where the image
    is flat the term is 0; it weighs the depth error at image edges.

    Args:
        pred: (B, 1, H, W) predicted depth, model range [-1, 1].
        target: (B, 1, H, W) true depth, model range.
        rgb: (B, C, H, W) input image, model range [-1, 1].
        mask: optional (B, 1, H, W) bool, True where ``target`` is valid.

    Returns:
        0-d tensor, model-range units.

    Raises:
        InputError: bad shapes, mask, or an image whose batch or size differs from pred's.
    """
    check_pair(pred, target)
    mask = check_mask(mask, pred)
    rgb = _check_rgb(rgb, pred)
    wx, wy = edge_weights(rgb)
    return masked_mean((wx + wy).to(pred.dtype) * (pred - target).abs(), mask)


class GradientLoss(nn.Module):
    """Module form of :func:`gradient_loss`."""

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        return gradient_loss(pred, target, mask)


class EdgeAwareL1Loss(nn.Module):
    """Module form of :func:`edge_aware_l1`."""

    def forward(
        self, pred: Tensor, target: Tensor, rgb: Tensor, mask: Tensor | None = None
    ) -> Tensor:
        return edge_aware_l1(pred, target, rgb, mask)
