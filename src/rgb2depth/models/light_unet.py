"""The realtime light U-Net of seed 004 (section 3.2), 1,218,870 parameters.

The seed describes: two initial convolutional layers; an encoder of 4 blocks, each
two 3x3 convolutions with BatchNorm and ReLU and a 2x2 max-pool, ending in a 101-channel
feature map at 1/16 of the input size; a decoder of 4 blocks, each a bilinear x2
upsampling and two 3x3 convolutions with ReLU and no BatchNorm; skip connections
between encoder and decoder features of the same size; a final 3x3 convolution to one
channel. The seed's Table 2 gives 1.22 M parameters; the channel progression
32-64-96-96-101 gives exactly **1,218,870** (3 -> 1 channels) with this arrangement,
which is the only one of the natural readings that does:

=============  =====================================================  =====  ==========
stage          layers                                                 size   parameters
=============  =====================================================  =====  ==========
stem           conv 3->32, BN, ReLU, conv 32->32, BN, ReLU             1      10,208
enc1           max-pool, conv 32->64, BN, ReLU, conv 64->64, BN, ReLU  1/2    55,552
enc2           max-pool, conv 64->96, ..., conv 96->96, ...            1/4    138,624
enc3           max-pool, conv 96->96, ..., conv 96->96, ...            1/8    166,272
enc4           max-pool, conv 96->101, ..., conv 101->101, ...         1/16   179,477
dec1           up, cat enc3 (96+101=197), conv 197->96, conv 96->96    1/8    253,344
dec2           up, cat enc2 (96+96=192), conv 192->96, conv 96->96     1/4    249,024
dec3           up, cat enc1 (64+96=160), conv 160->64, conv 64->64     1/2    129,152
dec4           up, cat stem (32+64=96), conv 96->32, conv 32->32       1      36,928
head           conv 32->1 (3x3), linear output                        1      289
=============  =====================================================  =====  ==========

- Encoder convolutions have **no bias** (BatchNorm follows); decoder and head
  convolutions have a bias (no BatchNorm).
- The max-pool of each encoder block is written at the start of the next stage (as in
  the common PyTorch U-Net); this is the seed's "convs then pool" chain cut at a
  different place, so each stage's convolutions run at the size they output. The
  skip at each size is the last encoder feature map of that size (the stem's output
  at full size, enc1 at 1/2, ...), concatenated *before* the upsampled decoder
  features.
- Upsampling is bilinear with ``align_corners=False``.

Input: (B, in_channels, H, W) RGB in the model range [-1, 1] (see
:mod:`rgb2depth.data.contract`), H and W multiples of 16. Output: (B, out_channels,
H, W) depth, linear (no activation), in whatever units the training target uses
(normally the model range [-1, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rgb2depth.models.blocks import DoubleConv, Down, Up, int_widths, positive_int
from rgb2depth.models.registry import check_input_size, register_model

NAME = "light_unet"


@register_model(
    NAME,
    paper="Realtime light U-Net (seed 004)",
    description="light U-Net, 32-64-96-96-101 channels, bilinear decoder without BN, 1.22 M",
    stride=16,
    paper_params=1.22e6,
)
class LightUNet(nn.Module):
    """Light U-Net for realtime depth from one RGB image (seed 004).

    Args:
        in_channels: input channels (3 for RGB).
        out_channels: output channels (1 for depth).
        channels: widths of the stem and the four encoder stages, the last one at 1/16
            (the decoder mirrors them: dec1..dec4 output channels[3], [2], [1], [0]).

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 16.
    """

    stride = 16

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        channels: Sequence[int] = (32, 64, 96, 96, 101),
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        c = int_widths(channels, "channels", NAME, length=5)
        self.channels = c
        self.stem = DoubleConv(in_channels, c[0], norm=True)
        self.enc1 = Down(c[0], c[1], norm=True)
        self.enc2 = Down(c[1], c[2], norm=True)
        self.enc3 = Down(c[2], c[3], norm=True)
        self.enc4 = Down(c[3], c[4], norm=True)
        self.dec1 = Up(c[4], c[3], c[3], norm=False)
        self.dec2 = Up(c[3], c[2], c[2], norm=False)
        self.dec3 = Up(c[2], c[1], c[1], norm=False)
        self.dec4 = Up(c[1], c[0], c[0], norm=False)
        self.head = nn.Conv2d(c[0], out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W); see the module docstring."""
        check_input_size(x, self.stride, NAME, in_channels=self.in_channels)
        s0 = self.stem(x)
        s1 = self.enc1(s0)
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        y = self.enc4(s3)
        y = self.dec1(y, s3)
        y = self.dec2(y, s2)
        y = self.dec3(y, s1)
        y = self.dec4(y, s0)
        return self.head(y)
