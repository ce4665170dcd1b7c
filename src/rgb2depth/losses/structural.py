"""Structural dissimilarity: ``1 - SSIM`` (seed 004 eq. 5; seed 003 halves it in its sum)."""

from __future__ import annotations

from kornia.metrics import ssim as _kornia_ssim
from torch import Tensor, nn

from rgb2depth.errors import InputError
from rgb2depth.losses.pixel import check_mask, check_pair, masked_mean


def ssim_loss(
    pred: Tensor,
    target: Tensor,
    mask: Tensor | None = None,
    *,
    window_size: int = 11,
    data_range: float = 2.0,
) -> Tensor:
    """One minus the mean SSIM of two depth maps.

    The SSIM map is :func:`kornia.metrics.ssim` with a ``window_size`` x ``window_size``
    Gaussian window of sigma 1.5 (kornia fixes sigma; 11 and 1.5 are the values of
    seed 003's code and of Wang et al. 2004), ``'same'`` size with reflect padding,
    ``c1 = (0.01 L)^2``, ``c2 = (0.03 L)^2`` with ``L = data_range``, and no extra
    epsilon in the denominator (so identical maps score exactly 1).

    Masking: the map is averaged over valid pixels only, and before the map is
    computed ``pred`` is replaced by ``target`` at invalid pixels, so the prediction
    at invalid pixels changes neither the value nor receives a gradient. The
    target's values at invalid pixels (the contract's fill value) still enter the
    Gaussian windows of nearby valid pixels, the same for both maps.

    Args:
        pred: (B, 1, H, W) predicted depth, model range [-1, 1].
        target: (B, 1, H, W) true depth, model range.
        mask: optional (B, 1, H, W) bool, True where ``target`` is valid.
        window_size: odd number of Gaussian taps; H and W must exceed ``window_size // 2``.
        data_range: the dynamic range L of the values; 2.0 for the model range.

    Returns:
        0-d tensor in [0, 2]: 0 for identical maps, about 1 for uncorrelated ones, 0
        when no pixel is valid.

    Raises:
        InputError: bad shapes or mask, an even or non-positive window, a map too
            small for the window, or a non-positive data range.
    """
    check_pair(pred, target)
    mask = check_mask(mask, pred)
    if window_size < 1 or window_size % 2 == 0:
        raise InputError(f"expected an odd positive SSIM window_size, got {window_size}")
    if min(pred.shape[-2:]) <= window_size // 2:
        raise InputError(
            f"expected depth maps larger than {window_size // 2} pixels on each side for an "
            f"SSIM window of {window_size}, got {tuple(pred.shape)}"
        )
    if not data_range > 0:
        raise InputError(f"expected a positive SSIM data_range, got {data_range}")
    if mask is not None:
        pred = pred.where(mask, target)
    ssim_map = _kornia_ssim(pred, target, window_size, max_val=float(data_range), eps=0.0)
    return masked_mean(1.0 - ssim_map, mask)


class SSIMLoss(nn.Module):
    """Module form of :func:`ssim_loss`; keyword-only settings are fixed at construction."""

    def __init__(self, *, window_size: int = 11, data_range: float = 2.0) -> None:
        super().__init__()
        self.window_size = window_size
        self.data_range = data_range

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        return ssim_loss(
            pred, target, mask, window_size=self.window_size, data_range=self.data_range
        )

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}, data_range={self.data_range}"
