"""The baseline U-Net of seed 004: "the first U-Net" (Ronneberger et al. 2015), 17.26 M.

Seed 004 compares its light U-Net with this baseline (Table 2: 17.26 M parameters).
The widely used PyTorch U-Net with bilinear upsampling matches that figure: widths
64-128-256-512 and 1024 // 2 = 512 at 1/16, every convolution 3x3 with padding 1,
no bias, BatchNorm and ReLU (``DoubleConv``), decoder blocks that upsample
bilinearly (``align_corners=True``), concatenate the encoder features of the same
size and halve the width through the block's middle convolution, and a 1x1 output
convolution with a bias. For 3 -> 1 channels that is **17,262,977** parameters
(within 0.02 % of 17.26 M).

=====  ======================================================  =====
stage  layers                                                  size
=====  ======================================================  =====
inc    DoubleConv 3->64->64                                    1
down1  max-pool, DoubleConv 64->128->128                       1/2
down2  max-pool, DoubleConv 128->256->256                      1/4
down3  max-pool, DoubleConv 256->512->512                      1/8
down4  max-pool, DoubleConv 512->512->512                      1/16
up1    up, cat down3 (512+512), DoubleConv 1024->512->256      1/8
up2    up, cat down2 (256+256), DoubleConv 512->256->128       1/4
up3    up, cat down1 (128+128), DoubleConv 256->128->64        1/2
up4    up, cat inc (64+64), DoubleConv 128->64->64             1
outc   conv 1x1 64->1, linear output                           1
=====  ======================================================  =====

Unlike the original U-Net (valid convolutions, cropped skips) the convolutions are
padded, so the output has the input's size; inputs must be multiples of 16 instead
of being padded.

Input: (B, in_channels, H, W) RGB in the model range [-1, 1]. Output: (B,
out_channels, H, W) linear depth in the training target's units.
"""

from __future__ import annotations

import torch
from torch import nn

from rgb2depth.models.blocks import DoubleConv, Down, Up, positive_int
from rgb2depth.models.registry import check_input_size, register_model

NAME = "unet_baseline"


@register_model(
    NAME,
    paper="U-Net baseline of seed 004 (Ronneberger et al. 2015)",
    description="classic U-Net 64-128-256-512-512, BN, bilinear upsampling, 17.26 M",
    stride=16,
    paper_params=17.26e6,
)
class UNet(nn.Module):
    """Classic U-Net with bilinear upsampling (seed 004's baseline).

    Args:
        in_channels: input channels (3 for RGB).
        out_channels: output channels (1 for depth).
        base_width: width of the first stage; stage k has ``base_width * 2**k``, the
            bottleneck ``base_width * 8`` (64 gives the 17.26 M baseline).

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 16.
    """

    stride = 16

    def __init__(self, *, in_channels: int = 3, out_channels: int = 1, base_width: int = 64):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        w = positive_int(base_width, "base_width", NAME)
        self.base_width = w

        def up(in_ch: int, skip_ch: int, out_ch: int) -> Up:
            mid = (in_ch + skip_ch) // 2
            return Up(in_ch, skip_ch, out_ch, mid_ch=mid, norm=True, align_corners=True)

        self.inc = DoubleConv(in_channels, w)
        self.down1 = Down(w, 2 * w)
        self.down2 = Down(2 * w, 4 * w)
        self.down3 = Down(4 * w, 8 * w)
        self.down4 = Down(8 * w, 8 * w)
        self.up1 = up(8 * w, 8 * w, 4 * w)
        self.up2 = up(4 * w, 4 * w, 2 * w)
        self.up3 = up(2 * w, 2 * w, w)
        self.up4 = up(w, w, w)
        self.outc = nn.Conv2d(w, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W); see the module docstring."""
        check_input_size(x, self.stride, NAME, in_channels=self.in_channels)
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        y = self.down4(x4)
        y = self.up1(y, x4)
        y = self.up2(y, x3)
        y = self.up3(y, x2)
        y = self.up4(y, x1)
        return self.outc(y)
