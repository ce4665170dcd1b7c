"""``fast_unet``: the project's realtime depth network, in the spirit of FastDepth.

The light U-Net of seed 004 (:mod:`rgb2depth.models.light_unet`) spends most of its
16.35 GFLOPs (256x256, convolutions) on full- and half-resolution 3x3 convolutions with 32-64
channels. This network cuts cost where FastDepth (Wofk et al., 2019) does:

- **early downsampling**: one narrow full-resolution 3x3 convolution (8 channels), then
  a stride-2 one, so little works at full resolution;
- **depthwise-separable encoder**: every other convolution is a 3x3 depthwise
  convolution followed by a 1x1 pointwise one (BatchNorm and ReLU after each);
- **light decoder with additive skips**: bilinear x2 upsampling, one depthwise-separable
  convolution that narrows the channels, and the encoder feature of the same size
  *added* (not concatenated), so the decoder stays as narrow as the encoder;
- **few full-resolution channels**: the last upsampling gives 8 channels, the first
  full-resolution features are added to them (the only full-resolution skip), and a 3x3
  convolution gives the depth.

===========  ====================================================  =====
stage        layers                                                size
===========  ====================================================  =====
full         conv 3x3 3->h, BN, ReLU                               1
stem         conv 3x3 s2 h->c0, BN, ReLU                           1/2
enc1         dws s2 c0->c1, dws c1->c1                             1/4
enc2         dws s2 c1->c2, dws c2->c2                             1/8
enc3         dws s2 c2->c3, dws c3->c3, dws c3->c3                 1/16
dec1..dec3   up x2, dws c_k->c_(k-1), + enc feature                1/8..1/2
head         up x2, dws c0->h, + full, conv 3x3 h->1 (linear)      1
===========  ====================================================  =====

(``dws a->b``: depthwise 3x3 (stride s), BN, ReLU, pointwise 1x1 a->b, BN, ReLU.)
With the default widths (24, 48, 96, 192) and h = 8 it has 150 k parameters (0.40
GFLOPs at 256x256, against 16.35 for the light U-Net by the same counter).

Input: (B, in_channels, H, W) RGB in the model range [-1, 1], H and W multiples of
16. Output: (B, out_channels, H, W) depth, linear, in the training target's units.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from rgb2depth.models.blocks import int_widths, positive_int
from rgb2depth.models.registry import check_input_size, register_model

NAME = "fast_unet"


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 (stride ``stride``), BN, ReLU, then pointwise 1x1, BN, ReLU."""

    def __init__(self, cin: int, cout: int, *, stride: int = 1):
        super().__init__(
            nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False),
            nn.BatchNorm2d(cin),
            nn.ReLU(inplace=True),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


@register_model(
    NAME,
    paper="project (realtime, FastDepth-style)",
    description="realtime depth: stride-2 stem, depthwise-separable encoder, additive skips",
    stride=16,
)
class FastUNet(nn.Module):
    """The project's realtime depth network (see the module docstring).

    Args:
        in_channels: input channels (3 for RGB).
        out_channels: output channels (1 for depth).
        channels: widths at 1/2, 1/4, 1/8 and 1/16 of the input size.
        head_channels: channels of the last, full-resolution feature map.

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 16.
    """

    stride = 16

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128, 256),
        head_channels: int = 16,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        c = int_widths(channels, "channels", NAME, length=4)
        h = positive_int(head_channels, "head_channels", NAME)
        self.full = nn.Sequential(  # the only full-resolution features: a few channels
            nn.Conv2d(in_channels, h, 3, padding=1, bias=False),
            nn.BatchNorm2d(h),
            nn.ReLU(inplace=True),
        )
        self.stem = nn.Sequential(
            nn.Conv2d(h, c[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c[0]),
            nn.ReLU(inplace=True),
        )
        self.enc1 = nn.Sequential(SeparableConv(c[0], c[1], stride=2), SeparableConv(c[1], c[1]))
        self.enc2 = nn.Sequential(SeparableConv(c[1], c[2], stride=2), SeparableConv(c[2], c[2]))
        self.enc3 = nn.Sequential(
            SeparableConv(c[2], c[3], stride=2),
            SeparableConv(c[3], c[3]),
            SeparableConv(c[3], c[3]),
        )
        self.dec1 = SeparableConv(c[3], c[2])
        self.dec2 = SeparableConv(c[2], c[1])
        self.dec3 = SeparableConv(c[1], c[0])
        self.dec4 = SeparableConv(c[0], h)
        self.head = nn.Conv2d(h, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W); see the module docstring."""
        check_input_size(x, self.stride, NAME, in_channels=self.in_channels)
        f = self.full(x)  # 1
        s0 = self.stem(f)  # 1/2
        s1 = self.enc1(s0)  # 1/4
        s2 = self.enc2(s1)  # 1/8
        y = self.enc3(s2)  # 1/16
        y = self.dec1(_up(y)) + s2
        y = self.dec2(_up(y)) + s1
        y = self.dec3(_up(y)) + s0
        y = self.dec4(_up(y)) + f
        return self.head(y)
