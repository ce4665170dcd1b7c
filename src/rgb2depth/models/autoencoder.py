"""A small depth autoencoder: the project's feature network for perceptual losses.

Seed 003 compares depth maps through the features of a network trained on depth
alone. This autoencoder maps a depth map to itself through a bottleneck at 1/8 of
the input size; once trained (depth -> depth reconstruction), :meth:`DepthAutoencoder.encode`
gives the bottleneck features that the perceptual loss compares.

Architecture (defaults, widths 32-64-128):

- encoder, three stages, each: 3x3 conv stride 2 + BN + LeakyReLU(0.2), then
  3x3 conv + BN + LeakyReLU(0.2); 1 -> 32 (1/2) -> 64 (1/4) -> 128 (1/8);
- decoder, three stages, each: bilinear x2 upsampling, 3x3 conv + BN + ReLU;
  128 -> 64 (1/4) -> 32 (1/2) -> 32 (1), then a 3x3 conv to 1 channel and tanh.

There are no skip connections: everything the decoder needs must pass through the
bottleneck, which is what makes its features a summary of the depth map. With the
defaults the model has 388,801 parameters.

Input and output: (B, 1, H, W) depth in the model range [-1, 1] (see
:mod:`rgb2depth.data.contract`), H and W multiples of 8.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rgb2depth.models.blocks import int_widths, positive_int
from rgb2depth.models.registry import check_input_size, register_model

NAME = "depth_autoencoder"


def _conv_bn(ci: int, co: int, *, stride: int = 1, leaky: bool) -> list[nn.Module]:
    act: nn.Module = nn.LeakyReLU(0.2, inplace=True) if leaky else nn.ReLU(inplace=True)
    return [nn.Conv2d(ci, co, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(co), act]


@register_model(
    NAME,
    paper="project (perceptual feature network for seed 003)",
    description="small depth->depth conv autoencoder, bottleneck at 1/8, tanh output",
    stride=8,
)
class DepthAutoencoder(nn.Module):
    """Depth -> depth autoencoder with a bottleneck at 1/8 of the input size.

    Args:
        in_channels: input channels (1: depth).
        out_channels: output channels (1: depth).
        widths: channels of the three encoder stages (the last is the bottleneck);
            the decoder outputs widths[1], widths[0], widths[0].

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 8.
    """

    stride = 8

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128),
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        w = int_widths(widths, "widths", NAME, length=3)
        self.widths = w
        layers: list[nn.Module] = []
        prev = in_channels
        for c in w:
            layers += _conv_bn(prev, c, stride=2, leaky=True) + _conv_bn(c, c, leaky=True)
            prev = c
        self.encoder = nn.Sequential(*layers)
        layers = []
        for c in (w[1], w[0], w[0]):
            layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            layers += _conv_bn(prev, c, leaky=False)
            prev = c
        layers += [nn.Conv2d(prev, out_channels, 3, padding=1), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Bottleneck features: (B, in_channels, H, W) -> (B, widths[-1], H/8, W/8)."""
        check_input_size(x, self.stride, NAME, in_channels=self.in_channels)
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction: (B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]."""
        return self.decoder(self.encode(x))
