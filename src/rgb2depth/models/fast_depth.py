"""``fast_unet``: the project's realtime depth network.

The light U-Net of seed 004 (:mod:`rgb2depth.models.light_unet`) spends about three
quarters of its 16.35 GFLOPs (256x256, convolutions) on 3x3 convolutions with 32-64
channels at full and half resolution. On a CPU, a network is fast when it does little
work at high resolution *and* keeps the work it does in dense convolutions (depthwise
convolutions have few FLOPs but run far below the CPU's peak: a FastDepth-style
depthwise network of 0.76 GFLOPs was only 3.7x faster than the light U-Net here). So:

- **early downsampling**: a stem of strided 3x3 convolutions (default two, 3->16 at
  1/2 and 16->32 at 1/4: 0.05 GFLOPs at 256x256) reads the full-resolution
  pixels, then ``pixel_unshuffle`` by what remains of the factor ``space_to_depth``
  (r, default 4; with two stem convolutions nothing remains) brings the features to
  1/r without losing a value; nothing else runs above 1/r. (The first version,
  ``stem: []``, applied ``pixel_unshuffle`` by r to the raw pixels; at 64x64 the stem
  lowered the synthetic-faces test RMSE from 49.15 to 45.95 mm at the same 6,000
  steps, presumably because the size of a distant face (the cue to its distance)
  spans few 4x4 cells; see the README.)
- **a small dense U-Net** at 1/r .. 1/16: per level a 3x3 convolution (stride 2 from
  the second level on) and a second 3x3 convolution, BatchNorm and ReLU after each;
- **image-level context** (``context: true``, off by default): the mean of the
  1/16 feature over the image, through a 1x1 convolution and ReLU, added at every
  position (the image pooling of DeepLab's ASPP), so that every pixel sees the whole
  face. At 6,000 steps it lowered the test RMSE by only 0.4 mm on the mean of three
  seeds (46.49 against 46.89 mm, within a rerun's noise; see the README), so it is off;
- **decoder with additive skips**: bilinear x2 upsampling, a 3x3 convolution to the
  level's width, the encoder feature of that size *added*, a 3x3 convolution;
- **depth-to-space output**: a 3x3 convolution gives r^2 channels at 1/r, and
  ``pixel_shuffle`` arranges them into the full-resolution depth map, so every output
  pixel has its own value (no upsampling blur).

==========  =================================================================  ==========
stage       layers                                                             size
==========  =================================================================  ==========
stem        n convs s2: 3->s1, s1->s2, ..., s(n-1)->sn                        1/2^n
input       pixel_unshuffle r/2^n, conv ->c0, (extra) x conv c0->c0            1/r
enc k       conv s2 c(k-1)->ck, conv ck->ck                                    1/(r 2^k)
dec k       up x2, conv ck->c(k-1), + enc feature, conv c(k-1)->c(k-1)          1/(r 2^(k-1))
head        conv 3x3 c0->r^2 (linear, with bias), pixel_shuffle r             1
==========  =================================================================  ==========

(every ``conv`` is 3x3 without bias, followed by BatchNorm and ReLU, unless stated.)
With the defaults (r = 4, stem 16-32, widths 64-96-128, one extra input convolution)
it has 753,440 parameters and costs 2.15 GFLOPs at 256x256 (the light U-Net: 16.35 by
the same counter; without the stem: 757,520 and 2.17). The stride is 16 whatever r:
``channels`` has one width per level from 1/r to 1/16 (r = 2: four widths, r = 4:
three, r = 8: two).

Input: (B, in_channels, H, W) RGB in the model range [-1, 1], H and W multiples of
16. Output: (B, out_channels, H, W) depth, linear, in the training target's units.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.models.blocks import int_widths, positive_int
from rgb2depth.models.registry import check_input_size, register_model

NAME = "fast_unet"
STRIDE = 16
FACTORS = (1, 2, 4, 8, 16)
"""Accepted ``space_to_depth`` factors (powers of two up to the stride)."""
STEM = (16, 32)
"""Default stem widths (as many as the factor allows: none for r = 1, one for r = 2)."""


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution (no bias), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def levels(space_to_depth: int) -> int:
    """Number of resolution levels (1/r .. 1/16) for the factor r."""
    return STRIDE.bit_length() - space_to_depth.bit_length() + 1


@register_model(
    NAME,
    paper="project (realtime)",
    description="realtime depth: strided stem to 1/4, dense U-Net at 1/4..1/16, 0.75 M",
    stride=STRIDE,
    legacy_settings={"stem": []},  # folders saved before the stem existed
)
class FastUNet(nn.Module):
    """The project's realtime depth network (see the module docstring).

    Args:
        in_channels: input channels (3 for RGB).
        out_channels: output channels (1 for depth).
        space_to_depth: r, the factor of the input ``pixel_unshuffle`` and the output
            ``pixel_shuffle`` (1, 2, 4, 8 or 16).
        channels: widths of the levels 1/r, 2/r, ... 1/16 (``log2(16 / r) + 1`` of them).
        extra: additional 3x3 convolutions at 1/r after the input one.
        stem: widths of the strided full-resolution stem convolutions (n of them,
            2^n <= r); ``None``: 16, 32 (as many as r allows); ``[]``: none, the
            first version (space-to-depth on the raw pixels).
        context: add image-level context at 1/16 (the feature's mean over the image,
            through a 1x1 convolution and ReLU, added at every position).

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 16.
    """

    stride = STRIDE

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        space_to_depth: int = 4,
        channels: Sequence[int] = (64, 96, 128),
        extra: int = 1,
        stem: Sequence[int] | None = None,
        context: bool = False,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        if space_to_depth not in FACTORS or isinstance(space_to_depth, bool):
            raise InputError(
                f"{NAME}: space_to_depth must be one of {', '.join(map(str, FACTORS))}, "
                f"got {space_to_depth!r}"
            )
        self.r = r = space_to_depth
        c = int_widths(channels, "channels", NAME, length=levels(r))
        if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
            raise InputError(f"{NAME}: extra must be an integer >= 0, got {extra!r}")
        # full-resolution stem: strided 3x3 convolutions (each halves the size), then
        # space-to-depth by what remains of r
        if stem is None:
            stem = STEM[: r.bit_length() - 1]
        if isinstance(stem, (str, bytes)) or not isinstance(stem, Sequence):
            raise InputError(f"{NAME}: stem must be a list of positive integers, got {stem!r}")
        stem_w = int_widths(stem, "stem", NAME, length=len(stem))
        if 2 ** len(stem_w) > r:
            raise InputError(
                f"{NAME}: {len(stem_w)} stem convolutions halve the size more than "
                f"space_to_depth {r} allows (at most {r.bit_length() - 1})"
            )
        self.rest = r >> len(stem_w)
        self.stem = nn.Sequential(
            *[_conv(a, b, stride=2) for a, b in pairwise([in_channels, *stem_w])]
        )
        first = (stem_w[-1] if stem_w else in_channels) * self.rest**2
        self.inp = nn.Sequential(_conv(first, c[0]), *[_conv(c[0], c[0]) for _ in range(extra)])
        self.down = nn.ModuleList(
            nn.Sequential(_conv(a, b, stride=2), _conv(b, b)) for a, b in pairwise(c)
        )
        if not isinstance(context, bool):
            raise InputError(f"{NAME}: context must be true or false, got {context!r}")
        # image-level context at 1/16: the mean of the deepest feature, through a 1x1
        # convolution, added back at every position
        self.context = (
            nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c[-1], c[-1], 1), nn.ReLU())
            if context
            else None
        )
        # decoder, deepest first: narrow to the skip's width, add it, refine
        self.narrow = nn.ModuleList(_conv(b, a) for a, b in reversed(list(pairwise(c))))
        self.refine = nn.ModuleList(_conv(a, a) for a in reversed(c[:-1]))
        self.head = nn.Conv2d(c[0], out_channels * r * r, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W); see the module docstring."""
        check_input_size(x, self.stride, NAME, in_channels=self.in_channels)
        y = self.stem(x)
        y = self.inp(F.pixel_unshuffle(y, self.rest) if self.rest > 1 else y)
        skips = []
        for down in self.down:
            skips.append(y)
            y = down(y)
        if self.context is not None:
            y = y + self.context(y)
        for narrow, refine, skip in zip(self.narrow, self.refine, reversed(skips), strict=True):
            y = refine(narrow(_up(y)) + skip)
        y = self.head(y)
        return F.pixel_shuffle(y, self.r) if self.r > 1 else y
