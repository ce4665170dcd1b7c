"""Small building blocks shared by the U-Net style models, and setting checks.

All blocks take and return (B, C, H, W) float tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from rgb2depth.errors import InputError


# --------------------------------------------------------------------------- setting checks
def positive_int(value: Any, what: str, model: str) -> int:
    """``value`` as an int >= 1, else InputError naming ``model`` and the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{model}: {what} must be a positive integer, got {value!r}")
    return value


def int_widths(value: Any, what: str, model: str, *, length: int) -> tuple[int, ...]:
    """``value`` as a tuple of ``length`` positive ints (a JSON list is accepted)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != length:
        raise InputError(
            f"{model}: {what} must be a sequence of {length} positive integers, got {value!r}"
        )
    return tuple(positive_int(v, what, model) for v in value)


# --------------------------------------------------------------------------- blocks
class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions (padding 1), each followed by [BatchNorm +] ReLU.

    With ``norm=True`` the convolutions have no bias (BatchNorm's shift replaces it);
    with ``norm=False`` they have one.

    Shapes: (B, in_ch, H, W) -> (B, out_ch, H, W).
    """

    def __init__(self, in_ch: int, out_ch: int, *, mid_ch: int | None = None, norm: bool = True):
        mid_ch = out_ch if mid_ch is None else mid_ch
        layers: list[nn.Module] = []
        for ci, co in ((in_ch, mid_ch), (mid_ch, out_ch)):
            layers.append(nn.Conv2d(ci, co, 3, padding=1, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm2d(co))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Down(nn.Sequential):
    """2x2 max-pool then :class:`DoubleConv`: (B, in_ch, H, W) -> (B, out_ch, H/2, W/2)."""

    def __init__(self, in_ch: int, out_ch: int, *, norm: bool = True):
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_ch, out_ch, norm=norm))


class Up(nn.Module):
    """Bilinear x2 upsampling, concatenation with a skip, then :class:`DoubleConv`.

    The skip comes first in the concatenation: ``cat([skip, up(x)], dim=1)``.

    Shapes: x (B, in_ch, H, W) and skip (B, skip_ch, 2H, 2W) -> (B, out_ch, 2H, 2W).
    """

    def __init__(
        self,
        in_ch: int,
        skip_ch: int,
        out_ch: int,
        *,
        mid_ch: int | None = None,
        norm: bool = True,
        align_corners: bool = False,
    ):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=align_corners)
        self.conv = DoubleConv(in_ch + skip_ch, out_ch, mid_ch=mid_ch, norm=norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))
