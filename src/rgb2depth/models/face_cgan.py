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

Seed 001's discriminator (``face_cgan_discriminator``) is ``k5n128s2 - k5n256s2 -
k5n512s2 - k5n1024s2 - fc1``: its first part "shares the same architecture with the
encoder part of the generator", so it follows the generator's encoder conventions
above (5x5 stride-2 padding-2 convolutions, LeakyReLU 0.2, BatchNorm on all but the
first, ``first_norm`` to put it there too, a bias only where no BatchNorm follows).
It takes a depth map (1 channel), flattens the 1024 x H/16 x W/16 embedding
(1024 x 6 x 6 = 36,864 values for 96x96) and applies one fully connected unit. Because
of that layer it is built for one input size, the ``image_size`` setting (96: the
seed's crops). It returns the **logit**: the seed's sigmoid (eq. 1: D(x) is the
probability that x is a real depth map) belongs in the loss, as binary cross-entropy
on logits, which is numerically safe where a sigmoid followed by a log is not. (The
seed's text also says 0 means "real" and 1 "fake", contradicting its eq. 1; which label
is which is the loss's choice, not the network's.) With the defaults (1 channel in,
96x96) it has 17,246,977 parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rgb2depth.models.blocks import int_widths, norm_kind, norm_layer, normal_init, positive_int
from rgb2depth.models.registry import check_input_size, image_size_pair, register_model

NAME = "face_cgan_generator"
D_NAME = "face_cgan_discriminator"


def _bias(norm: str | None) -> bool:
    """Convolutions before a batch or instance norm need no bias (the norm's shift
    replaces it; an instance norm removes it anyway); others have one."""
    return norm not in ("batch", "instance")


def encoder_5x5(
    in_channels: int, widths: Sequence[int], norm: str, first_norm: bool
) -> nn.Sequential:
    """The seed-001 encoder shared by the generator and the discriminator: 5x5 stride-2
    convolutions (padding 2) with ``widths`` maps, each followed by the norm (not after
    the first unless ``first_norm``) and LeakyReLU 0.2.

    Shapes: (B, in_channels, H, W) -> (B, widths[-1], H / 2**len(widths), W / 2**len(widths)).
    """
    layers: list[nn.Module] = []
    prev = in_channels
    for i, w in enumerate(widths):
        kind = norm if (i > 0 or first_norm) else "none"
        layers.append(nn.Conv2d(prev, w, 5, stride=2, padding=2, bias=_bias(kind)))
        if kind != "none":
            layers.append(norm_layer(kind, w))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        prev = w
    return nn.Sequential(*layers)


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
        norm: the normalisation, "batch" (the seed's), "instance", "layer" or "none".
        first_norm: a norm after the first encoder convolution too (the seed's text);
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
        norm: str = "batch",
        first_norm: bool = False,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        enc = int_widths(encoder_widths, "encoder_widths", NAME, length=4)
        dec = int_widths(decoder_widths, "decoder_widths", NAME, length=4)
        self.first_norm = bool(first_norm)

        self.norm = norm_kind(norm, NAME)
        self.encoder = encoder_5x5(self.in_channels, enc, self.norm, self.first_norm)
        prev = enc[-1]
        layers: list[nn.Module] = []
        for w in dec:
            layers += [
                nn.ConvTranspose2d(
                    prev, w, 5, stride=2, padding=2, output_padding=1, bias=_bias(self.norm)
                ),
                norm_layer(self.norm, w),
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


@register_model(
    D_NAME,
    paper="cGAN face depth (seed 001)",
    description="face depth discriminator, the generator's 5x5 stride-2 encoder + fc1, logit out",
    stride=16,
)
class FaceCGANDiscriminator(nn.Module):
    """Discriminator of seed 001: depth map -> logit that it is a real one.

    Args:
        in_channels: input channels (1: a depth map).
        out_channels: units of the fully connected layer (1: one score per sample).
        widths: maps of the four stride-2 convolutions.
        norm: the normalisation, "batch" (the seed's), "instance", "layer" or "none".
        first_norm: a norm after the first convolution too (the seed's text); False
            (default) is the DCGAN convention, as in the generator.
        image_size: the input size S or (H, W) the network is built for (multiples of
            16); the fully connected layer has ``widths[-1] * H/16 * W/16`` inputs.

    Shapes: (B, in_channels, H, W) with (H, W) = image_size -> (B, out_channels)
    logits; ``torch.sigmoid`` of them is the seed's probability of "real".

    Raises:
        InputError: a bad setting, or (in ``forward``) an input of another size.
    """

    stride = 16

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (128, 256, 512, 1024),
        norm: str = "batch",
        first_norm: bool = False,
        image_size: int | Sequence[int] = 96,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", D_NAME)
        self.out_channels = positive_int(out_channels, "out_channels", D_NAME)
        chans = int_widths(widths, "widths", D_NAME, length=4)
        self.first_norm = bool(first_norm)
        self.image_size = image_size_pair(image_size, D_NAME, self.stride)

        self.norm = norm_kind(norm, D_NAME)
        self.encoder = encoder_5x5(self.in_channels, chans, self.norm, self.first_norm)
        h, w = self.image_size
        self.fc = nn.Linear(chans[-1] * (h // 16) * (w // 16), self.out_channels)
        normal_init(self)

    def output_size(self, height: int, width: int) -> tuple[int, ...]:
        """Shape of one output sample: ``(out_channels,)`` (for the built image_size)."""
        return (self.out_channels,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) depth in [-1, 1] -> (B, out_channels) logits."""
        check_input_size(x, self.stride, D_NAME, in_channels=self.in_channels, size=self.image_size)
        return self.fc(torch.flatten(self.encoder(x), 1))
