"""The face depth generator of seed 001 (Fig. 2): a fully convolutional autoencoder.

Seed 001's generator is ``k5n128s2 - k5n256s2 - k5n512s2 - k5n1024s2 - k5n512s2 -
k5n256s2 - k5n128s2 - k5n64s2 - k5n1s1`` (k: kernel size, n: feature maps, s: stride)
on 96x96 gray face crops:

- encoder: four 5x5 convolutions, stride 2, padding 2, with 128, 256, 512, 1024 maps,
  each followed by LeakyReLU (slope 0.2); the 1024-channel embedding is 1/16 of the
  input size (6x6 for 96x96);
- decoder: four 5x5 transposed convolutions, stride 2, padding 2, output padding 1
  (so each exactly doubles the size), with 512, 256, 128, 64 maps, each followed by ReLU;
- a 5x5 stride-1 convolution to one map and tanh.

Batch normalisation: the seed says it is "employed before each activation function,
except the last one". We follow the DCGAN convention and leave it off the *first*
encoder layer too (the input layer), by default; ``first_norm=True`` puts it there.
Convolutions followed by BatchNorm have no bias; the others (first encoder layer
without BN, the output layer) have one. Weights start from the DCGAN initialisation:
convolutions N(0, 0.02), BatchNorm scale N(1, 0.02) and shift 0.

There are no skip connections. With the defaults (1 -> 1 channels) the generator has
34,621,633 parameters.

Input: (B, in_channels, H, W) gray face in the model range [-1, 1], H and W multiples
of 16 (96x96 in the seed). Output: (B, out_channels, H, W) depth in [-1, 1] (tanh),
the dataset's depth range mapped linearly (see :mod:`rgb2depth.data.contract`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rgb2depth.models.blocks import int_widths, normal_init, positive_int
from rgb2depth.models.registry import check_input_size, register_model

NAME = "face_cgan_generator"


@register_model(
    NAME,
    paper="cGAN face depth (seed 001)",
    description="face depth generator, 5x5 stride-2 encoder-decoder, 96x96 gray in, tanh out",
    stride=16,
)
class FaceCGANGenerator(nn.Module):
    """Generator of seed 001: gray face -> depth map in [-1, 1].

    Args:
        in_channels: input channels (1: gray, as in the seed).
        out_channels: output channels (1: depth).
        encoder_widths: maps of the four stride-2 encoder convolutions.
        decoder_widths: maps of the four stride-2 transposed convolutions.
        first_norm: BatchNorm after the first encoder convolution (the seed's text);
            False (default) is the DCGAN convention.

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 16.
    """

    stride = 16

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 1,
        encoder_widths: Sequence[int] = (128, 256, 512, 1024),
        decoder_widths: Sequence[int] = (512, 256, 128, 64),
        first_norm: bool = False,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        enc = int_widths(encoder_widths, "encoder_widths", NAME, length=4)
        dec = int_widths(decoder_widths, "decoder_widths", NAME, length=4)
        self.first_norm = bool(first_norm)

        layers: list[nn.Module] = []
        prev = in_channels
        for i, w in enumerate(enc):
            norm = i > 0 or self.first_norm
            layers.append(nn.Conv2d(prev, w, 5, stride=2, padding=2, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            prev = w
        self.encoder = nn.Sequential(*layers)

        layers = []
        for w in dec:
            layers += [
                nn.ConvTranspose2d(prev, w, 5, stride=2, padding=2, output_padding=1, bias=False),
                nn.BatchNorm2d(w),
                nn.ReLU(inplace=True),
            ]
            prev = w
        layers += [nn.Conv2d(prev, out_channels, 5, stride=1, padding=2), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        normal_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, encoder_widths[-1], H/16, W/16) embedding."""
        check_input_size(x, self.stride, NAME, in_channels=self.in_channels)
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W) depth in [-1, 1]."""
        return self.decoder(self.encode(x))
