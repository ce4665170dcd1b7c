"""The pix2pix networks of seed 002: the U-Net 256 generator and the 70x70 PatchGAN.

Seed 002 trains pix2pix (Isola et al.) to map an RGB image to its depth map: a U-Net
generator and a PatchGAN discriminator that sees the RGB image and a depth map
concatenated on the channels. Both follow the layout of the pix2pix reference
implementation (``unet_256`` and the ``basic`` 70x70 discriminator), whose parameter
counts they reproduce exactly.

``pix2pix_unet``: eight 4x4 stride-2 downsamplings (256 -> 1) and eight 4x4 stride-2
transposed convolutions back, nested as blocks: each block is

    down = [LeakyReLU 0.2, Conv 4x4 s2 p1 (c_out -> c_in), norm]
    inner block (the sub-U-Net one level deeper)
    up   = [ReLU, ConvTranspose 4x4 s2 p1 (2 c_in -> c_out), norm, Dropout 0.5?]

and returns ``cat([block input, block output])`` (the skip), so the next block up sees
twice its inner width. Exceptions: the outermost block has no LeakyReLU and no norm on
its down side, its transposed convolution maps to ``out_channels`` and ends with tanh,
and it returns its output without a skip; the innermost block (1/256 of the input) has
no inner block and no norm on its down side (its output is 1x1 for a 256 input, where
BatchNorm in training would need a batch of more than one). Widths, outermost first:
64, 128, 256, 512, 512, 512, 512, 512 (``base_width`` times 1, 2, 4, 8, 8, 8, 8, 8).
Dropout (p = 0.5, on in training only, the pix2pix paper's noise) follows the up side
of the three 512-wide blocks just outside the innermost one.

With BatchNorm every (transposed) convolution has no bias, except the outermost
transposed convolution (no norm follows it); with instance norm (non-affine, as in the
reference) or no norm they all have one. Counts with BatchNorm and dropout: 3 -> 3
channels **54,413,955** parameters (the reference's figure), 3 -> 1 (this project's
default) 54,409,857. The number of downsamplings is fixed at 8 (stride 256): inputs must
be multiples of 256.

``pix2pix_patchgan``: the conditional 70x70 PatchGAN (n_layers = 3):

    Conv 4x4 s2 p1 (in -> 64, bias), LeakyReLU 0.2
    Conv 4x4 s2 p1 (64 -> 128), norm, LeakyReLU 0.2
    Conv 4x4 s2 p1 (128 -> 256), norm, LeakyReLU 0.2
    Conv 4x4 s1 p1 (256 -> 512), norm, LeakyReLU 0.2
    Conv 4x4 s1 p1 (512 -> 1, bias)

Each output value scores one 70x70 patch of the input (the receptive field of the five
convolutions) as real or generated; it is a logit (the loss applies the sigmoid, or
uses it directly as a least-squares score). For an H x W input the output is
(H/8 - 2) x (W/8 - 2): 30x30 for 256x256, as seed 002 says. H and W must be multiples
of 8 and at least 24 (a 1x1 output). The input is the RGB image and the depth map
concatenated on the channels, 3 + 1 = 4 by default: 2,766,657 parameters with
BatchNorm (the reference's 3 + 3 = 6 channels: **2,768,705**).

All weights start from N(0, 0.02), BatchNorm scales from N(1, 0.02) (the pix2pix
initialisation). Inputs are in the model range [-1, 1] (see
:mod:`rgb2depth.data.contract`).
"""

from __future__ import annotations

import torch
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.models.blocks import norm_kind, norm_layer, normal_init, positive_int
from rgb2depth.models.registry import check_input_size, register_model

UNET_NAME = "pix2pix_unet"
PATCHGAN_NAME = "pix2pix_patchgan"
PIX2PIX_NORMS = ("batch", "instance", "none")
N_DOWN = 8
PATCHGAN_MIN_SIZE = 24


def _norm(kind: str, channels: int) -> nn.Module:
    """The reference's norm layers: affine BatchNorm, non-affine InstanceNorm, or none."""
    return norm_layer(kind, channels, affine=kind == "batch")


class _UNetBlock(nn.Module):
    """One level of the pix2pix U-Net, wrapping the levels below it (see the module doc).

    Shapes: (B, outer, H, W) -> (B, 2 * outer, H, W) with the skip, or
    (B, out_channels, H, W) for the outermost block.
    """

    def __init__(
        self,
        outer: int,
        inner: int,
        *,
        norm: str,
        sub: nn.Module | None = None,
        in_channels: int | None = None,
        outermost: bool = False,
        dropout: bool = False,
    ):
        super().__init__()
        innermost = sub is None
        bias = norm != "batch"
        down_in = outer if in_channels is None else in_channels
        down: list[nn.Module] = []
        if not outermost:
            down.append(nn.LeakyReLU(0.2))  # not in place: the block input is the skip
        down.append(nn.Conv2d(down_in, inner, 4, stride=2, padding=1, bias=bias))
        if not (outermost or innermost):
            down.append(_norm(norm, inner))
        self.down = nn.Sequential(*down)
        self.sub = sub if sub is not None else nn.Identity()

        up_in = inner if innermost else 2 * inner
        up: list[nn.Module] = [nn.ReLU(inplace=True)]
        if outermost:
            up += [nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1), nn.Tanh()]
        else:
            up += [
                nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias),
                _norm(norm, outer),
            ]
            if dropout:
                up.append(nn.Dropout(0.5))
        self.up = nn.Sequential(*up)
        self.outermost = outermost

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.sub(self.down(x)))
        return y if self.outermost else torch.cat([x, y], dim=1)


@register_model(
    UNET_NAME,
    paper="pix2pix depth (seed 002)",
    description="pix2pix U-Net 256 generator, 8 stride-2 levels with skips, dropout, tanh out",
    stride=2**N_DOWN,
    paper_params=54_413_955,
    paper_settings={"out_channels": 3},
    params_tolerance=0.0,
)
class Pix2PixUNet(nn.Module):
    """The pix2pix U-Net generator (``unet_256``): RGB -> depth in [-1, 1].

    Args:
        in_channels: input channels (3: RGB).
        out_channels: output channels (1: depth; the reference's image-to-image 3).
        base_width: maps of the outermost level; the levels have 1, 2, 4, 8, 8, 8, 8, 8
            times as many.
        norm: ``"batch"`` (default, as in pix2pix), ``"instance"`` (non-affine) or
            ``"none"``.
        dropout: Dropout(0.5) in the three 512-wide blocks above the innermost (the
            pix2pix noise), active in training mode only.

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 256
    (the eight downsamplings are fixed).
    """

    stride = 2**N_DOWN

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        base_width: int = 64,
        norm: str = "batch",
        dropout: bool = True,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", UNET_NAME)
        self.out_channels = positive_int(out_channels, "out_channels", UNET_NAME)
        base = positive_int(base_width, "base_width", UNET_NAME)
        self.norm = norm_kind(norm, UNET_NAME, PIX2PIX_NORMS)
        if not isinstance(dropout, bool):
            raise InputError(f"{UNET_NAME}: dropout must be true or false, got {dropout!r}")
        self.dropout = dropout

        widths = [base * min(2**i, 8) for i in range(N_DOWN)]  # outermost first
        block: nn.Module | None = None
        for level in range(N_DOWN - 1, 0, -1):  # innermost first, outermost excluded
            block = _UNetBlock(
                widths[level - 1],
                widths[level],
                norm=self.norm,
                sub=block,
                dropout=dropout and N_DOWN - 4 <= level < N_DOWN - 1,
            )
        self.model = _UNetBlock(
            self.out_channels,
            widths[0],
            norm=self.norm,
            sub=block,
            in_channels=self.in_channels,
            outermost=True,
        )
        normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W) in [-1, 1] (tanh)."""
        check_input_size(x, self.stride, UNET_NAME, in_channels=self.in_channels)
        return self.model(x)


@register_model(
    PATCHGAN_NAME,
    paper="pix2pix depth (seed 002)",
    description="pix2pix 70x70 PatchGAN on RGB + depth, (H/8 - 2) x (W/8 - 2) patch logits",
    stride=8,
    min_size=PATCHGAN_MIN_SIZE,
    paper_params=2_768_705,
    paper_settings={"in_channels": 6},
    params_tolerance=0.0,
)
class Pix2PixPatchGAN(nn.Module):
    """The conditional 70x70 PatchGAN of pix2pix: (RGB, depth) -> grid of patch logits.

    Args:
        in_channels: channels of the (concatenated) input: 3 RGB + 1 depth = 4.
        out_channels: maps of the output grid (1: one score per patch).
        base_width: maps of the first convolution (then 2x, 4x, 8x).
        norm: ``"batch"`` (default), ``"instance"`` (non-affine) or ``"none"``.

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H/8 - 2, W/8 - 2), H and W
    multiples of 8, at least 24; 256x256 -> 30x30.
    """

    stride = 8

    def __init__(
        self,
        *,
        in_channels: int = 4,
        out_channels: int = 1,
        base_width: int = 64,
        norm: str = "batch",
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", PATCHGAN_NAME)
        self.out_channels = positive_int(out_channels, "out_channels", PATCHGAN_NAME)
        base = positive_int(base_width, "base_width", PATCHGAN_NAME)
        self.norm = norm_kind(norm, PATCHGAN_NAME, PIX2PIX_NORMS)
        bias = self.norm != "batch"

        layers: list[nn.Module] = [
            nn.Conv2d(self.in_channels, base, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        prev = base
        for mult, stride in ((2, 2), (4, 2), (8, 1)):
            layers += [
                nn.Conv2d(prev, base * mult, 4, stride=stride, padding=1, bias=bias),
                _norm(self.norm, base * mult),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            prev = base * mult
        layers.append(nn.Conv2d(prev, self.out_channels, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        normal_init(self)

    def output_size(self, height: int, width: int) -> tuple[int, ...]:
        """Shape of one output sample: ``(out_channels, height/8 - 2, width/8 - 2)``."""
        return (self.out_channels, height // 8 - 2, width // 8 - 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Patch logits of ``x``, or of ``cat([x, y], dim=1)`` when ``y`` is given.

        Args:
            x: (B, C, H, W): the RGB image, or the image and the depth map already
                concatenated on the channels (then ``y`` is None).
            y: optional (B, C', H, W) depth map (real or generated); it is concatenated
                after ``x``, so ``forward(x, y) == forward(torch.cat([x, y], 1))``.
                C + C' must equal ``in_channels``.

        Returns:
            (B, out_channels, H/8 - 2, W/8 - 2) logits.
        """
        if y is not None:
            for t in (x, y):
                check_input_size(t, self.stride, PATCHGAN_NAME, min_size=PATCHGAN_MIN_SIZE)
            if x.shape[0] != y.shape[0] or x.shape[-2:] != y.shape[-2:]:
                raise InputError(
                    f"{PATCHGAN_NAME}: the image and the depth map must have the same batch "
                    f"size, height and width, got {tuple(x.shape)} and {tuple(y.shape)}"
                )
            x = torch.cat([x, y], dim=1)
        check_input_size(
            x,
            self.stride,
            PATCHGAN_NAME,
            in_channels=self.in_channels,
            min_size=PATCHGAN_MIN_SIZE,
        )
        return self.model(x)
