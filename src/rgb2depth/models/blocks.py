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


NORMS = ("batch", "instance", "layer", "none")


def norm_kind(value: Any, model: str, accepted: Sequence[str] = NORMS) -> str:
    """``value`` if it is one of ``accepted`` normalisation names, else InputError
    naming ``model`` and the accepted names."""
    if value not in accepted:
        raise InputError(
            f"{model}: unknown norm {value!r}; accepted: {', '.join(map(repr, accepted))}"
        )
    return str(value)


def norm_layer(kind: str, channels: int, *, affine: bool = True) -> nn.Module:
    """The normalisation layer ``kind`` over ``channels`` feature maps.

    - ``"batch"``: ``BatchNorm2d`` (statistics over the batch and the image);
    - ``"instance"``: ``InstanceNorm2d`` (per sample and channel, no running statistics);
    - ``"layer"``: layer normalisation of a feature map, ``GroupNorm(1, channels)``
      (per sample, over channels and pixels, with a per-channel scale and shift as in
      the seed-000 reference code);
    - ``"none"``: ``Identity``.

    ``affine`` gives the layer a learnable per-channel scale and shift (2 x channels
    parameters). Check user values with :func:`norm_kind` first.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=affine)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=affine)
    if kind == "layer":
        return nn.GroupNorm(1, channels, affine=affine)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm kind {kind!r}")


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """GAN weight initialisation (DCGAN, pix2pix, CycleGAN), in place.

    Convolutions, transposed convolutions and linear layers get weights N(0, std)
    and zero biases; normalisation layers with a learnable scale get scale
    N(1, std) and shift 0. Skipped on the meta device (shape-only models), where
    there are no values to set.
    """
    if any(p.is_meta for p in module.parameters()):
        return
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


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
