"""The generators of seed 000 (Appendix B, Tables 6-8): ResNet18, U-Net, style transfer.

Seed 000 trains two generators, RGB -> depth (3 -> 1 channels) and depth -> RGB
(1 -> 3), and compares three architectures for them. All three end in tanh, so the
output is in the model range [-1, 1]. Parameter counts below are for 3 -> 1 channels
with the default settings unless stated.

``resnet18_generator`` (Table 6 with the residual block of Table 8; the paper:
19.8 M). A ResNet18 encoder and a decoder after Godard et al. (nearest x2 upsampling,
3x3 conv + norm + ELU, concatenation with the encoder features of the same size):

=====  ==========================================================  =====  ==========
name   layers                                                      size   parameters
=====  ==========================================================  =====  ==========
con1   conv 7x7 s2 p3, in->64, norm, ReLU                          1/2    9,600
max1   max-pool 3x3 s2 p1                                          1/4    0
res1-2 2 x res-block 64 -> 64 (identity skip)                      1/4    148,224
res3-4 res-block 64 -> 128 s2 (1x1 conv skip), res-block 128       1/8    526,208
res5-6 res-block 128 -> 256 s2 (1x1 conv skip), res-block 256      1/16   2,100,992
res7-8 res-block 256 -> 512 s2 (1x1 conv skip), res-block 512      1/32   8,396,288
con2   up x2, conv 512->512, norm, ELU                             1/16   2,359,808
con3   cat [con2, res6] (768), conv 768->512, norm, ELU            1/16   3,539,456
con4   up x2, conv 512->256, norm, ELU                             1/8    1,179,904
con5   cat [con4, res4] (384), conv 384->256, norm, ELU            1/8    884,992
con6   up x2, conv 256->128, norm, ELU                             1/4    295,040
con7   cat [con6, res2] (192), conv 192->128, norm, ELU            1/4    221,312
con8   up x2, conv 128->64, norm, ELU                              1/2    73,792
con9   cat [con8, con1] (128), conv 128->64, norm, ELU             1/2    73,792
con10  up x2, conv 64->32, norm, ELU                               1      18,464
con11  conv 32->32, norm, ELU                                      1      9,248
out    conv 32->out, tanh                                          1      289
=====  ==========================================================  =====  ==========

A res-block (Table 8) is conv 3x3 (stride s) + norm + ReLU, conv 3x3 (stride 1; the
table's "s" on the second convolution would downsample twice) + norm, plus the skip,
then ReLU; the skip is a 1x1 stride-s conv + norm on the three strided blocks and the
identity elsewhere (as in ResNet18). Decoder convolutions are 3x3, padding 1. The
table leaves biases and the normalisation's scale and shift open; the paper's count
fixes them: every convolution has a bias, the encoder's norms (stem, blocks, skips)
are affine and the decoder's are not (the plain ``InstanceNorm2d``), which gives
exactly **19,837,409** parameters.

``unet_generator`` (Table 7; the paper: 21.2 M). Four encoder stages, each two 3x3
conv + norm + ReLU and a 3x3 stride-2 conv + norm + ReLU (con_1, con_2, con_3), a
bottom of two convs, and a decoder of 3x3 stride-2 transposed convolutions (padding 1,
output padding 1, bias, ReLU, no norm) each followed by a concatenation with the
encoder's con_2 of that size and two conv + norm + ReLU:

=========  =====================================================  =====  ==========
name       layers                                                 size   parameters
=========  =====================================================  =====  ==========
con11-13   conv in->48, 48->48, 48->48 s2                         1      43,200
con21-23   conv 48->96, 96->96, 96->96 s2                         1/2    208,224
con31-33   conv 96->192, 192->192, 192->192 s2                    1/4    831,168
con41-43   conv 192->384, 384->384, 384->384 s2                   1/8    3,321,216
con51-52   conv 384->768, 768->768                                1/16   7,967,232
ups1       trans-conv 768->384 s2, ReLU                           1/8    2,654,592
con61-62   cat [ups1, con42] (768), conv 768->384, 384->384       1/8    3,983,616
ups2       trans-conv 384->192 s2, ReLU                           1/4    663,744
con71-72   cat [ups2, con32] (384), conv 384->192, 192->192       1/4    996,480
ups3       trans-conv 192->96 s2, ReLU                            1/2    165,984
con81-82   cat [ups3, con22] (192), conv 192->96, 96->96          1/2    249,408
ups4       trans-conv 96->48 s2, ReLU                             1      41,520
con91-92   cat [ups4, con12] (96), conv 96->48, 48->48            1      62,496
out        conv 48->out, tanh                                     1      433
=========  =====================================================  =====  ==========

(each "conv" is 3x3, padding 1, bias, affine norm, ReLU): **21,189,313** parameters.

``style_generator`` (the paper's "encoder-decoder network with several consecutive
residual blocks as used by [CycleGAN] for style transfer", Johnson et al.; the paper:
11.4 M). CycleGAN's ``resnet_9blocks`` generator: reflection pad 3 + conv 7x7 in->64
+ norm + ReLU; conv 3x3 s2 64->128 and 128->256, each + norm + ReLU; nine residual
blocks at 256 (reflection pad 1, conv 3x3, norm, ReLU, [dropout 0.5], reflection pad
1, conv 3x3, norm; added to the input, no activation after); transposed conv 3x3 s2
(padding 1, output padding 1) 256->128 and 128->64, each + norm + ReLU; reflection
pad 3 + conv 7x7 64->out + tanh. As in CycleGAN, convolutions have a bias unless
the norm is "batch", and instance norms have no scale and shift. 3 -> 3 channels:
**11,378,179** parameters (CycleGAN's figure); 3 -> 1: 11,371,905; 1 -> 3:
11,371,907.

All settings scale the widths with ``base_width`` (64, 48 and 64 by default). The
``norm`` setting is "instance" by default (the paper's tables), and also accepts
"batch", "layer" (``GroupNorm(1, C)``) and "none". Because an instance norm of a
1x1 map is undefined, each generator needs at least a 2x2 map at its deepest level:
inputs at least twice the stride (64, 32 and 8 pixels). Weights start from N(0, 0.02)
(affine normalisation scales from N(1, 0.02)).

Input: (B, in_channels, H, W) in the model range [-1, 1] (RGB for the RGB -> depth
generator, depth for the depth -> RGB one), H and W multiples of the stride (32, 16
and 4). Output: (B, out_channels, H, W) in [-1, 1] (tanh): depth in the dataset's
range mapped linearly (see :mod:`rgb2depth.data.contract`), or RGB.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rgb2depth.models.blocks import NORMS, norm_kind, norm_layer, normal_init, positive_int
from rgb2depth.models.registry import check_input_size, register_model

PAPER = "Unsupervised perceptual reconstruction (seed 000)"
RESNET_NAME = "resnet18_generator"
UNET_NAME = "unet_generator"
STYLE_NAME = "style_generator"

#: res1-res8 of Table 6: (width in units of ``base_width``, stride).
RESNET18_BLOCKS = ((1, 1), (1, 1), (2, 2), (2, 1), (4, 2), (4, 1), (8, 2), (8, 1))


def _conv_norm_act(
    in_ch: int,
    out_ch: int,
    kernel: int,
    *,
    stride: int = 1,
    norm: str,
    act: nn.Module | None,
    affine: bool = True,
) -> nn.Sequential:
    """Conv (bias, padding kernel // 2) + norm [+ activation]: (B, in_ch, H, W) ->
    (B, out_ch, H/stride, W/stride)."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2),
        norm_layer(norm, out_ch, affine=affine),
    ]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


def _check_common(name: str, in_channels, out_channels, base_width, norm) -> tuple:
    """The checked (in_channels, out_channels, base_width, norm) of a generator."""
    return (
        positive_int(in_channels, "in_channels", name),
        positive_int(out_channels, "out_channels", name),
        positive_int(base_width, "base_width", name),
        norm_kind(norm, name, NORMS),
    )


# --------------------------------------------------------------------------- ResNet18
class ResBlock(nn.Module):
    """Residual block of Table 8 (ResNet18's basic block), encoder norms affine.

    ``relu(norm(conv3x3(relu(norm(conv3x3_s(x))))) + skip(x))`` where ``skip`` is a
    1x1 stride-s conv + norm when the stride or the width changes, else the identity.

    Shapes: (B, in_ch, H, W) -> (B, out_ch, H/stride, W/stride).
    """

    def __init__(self, in_ch: int, out_ch: int, *, stride: int, norm: str):
        super().__init__()
        self.con1 = _conv_norm_act(in_ch, out_ch, 3, stride=stride, norm=norm, act=nn.ReLU())
        self.con2 = _conv_norm_act(out_ch, out_ch, 3, norm=norm, act=None)
        if stride != 1 or in_ch != out_ch:
            self.skip: nn.Module = _conv_norm_act(
                in_ch, out_ch, 1, stride=stride, norm=norm, act=None
            )
        else:
            self.skip = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.con2(self.con1(x)) + self.skip(x))


@register_model(
    RESNET_NAME,
    paper=PAPER,
    description="ResNet18 encoder + nearest-upsampling ELU decoder with skips, tanh out, 19.8 M",
    stride=32,
    min_size=64,
    paper_params=19.8e6,
    params_tolerance=0.01,
)
class ResNet18Generator(nn.Module):
    """ResNet18 generator of seed 000 (Tables 6 and 8).

    Args:
        in_channels: input channels (3: RGB -> depth, 1: depth -> RGB).
        out_channels: output channels (1: RGB -> depth, 3: depth -> RGB).
        base_width: width of con1 and res1-2 (64); every width scales with
            ``base_width / 64`` (con10-11: ``base_width // 2``, at least 1).
        norm: "instance" (default), "batch", "layer" or "none".

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1], H and W
    multiples of 32 and at least 64.
    """

    stride = 32
    min_size = 64

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        base_width: int = 64,
        norm: str = "instance",
    ):
        super().__init__()
        self.in_channels, self.out_channels, b, self.norm = _check_common(
            RESNET_NAME, in_channels, out_channels, base_width, norm
        )
        self.base_width = b
        self.con1 = _conv_norm_act(self.in_channels, b, 7, stride=2, norm=self.norm, act=nn.ReLU())
        self.max1 = nn.MaxPool2d(3, stride=2, padding=1)
        blocks = []
        prev = b
        for mult, stride in RESNET18_BLOCKS:
            width = mult * b
            blocks.append(ResBlock(prev, width, stride=stride, norm=self.norm))
            prev = width
        self.res = nn.ModuleList(blocks)

        def dec(ci: int, co: int) -> nn.Sequential:
            return _conv_norm_act(ci, co, 3, norm=self.norm, act=nn.ELU(), affine=False)

        half = max(1, b // 2)
        self.con2 = dec(8 * b, 8 * b)
        self.con3 = dec(8 * b + 4 * b, 8 * b)
        self.con4 = dec(8 * b, 4 * b)
        self.con5 = dec(4 * b + 2 * b, 4 * b)
        self.con6 = dec(4 * b, 2 * b)
        self.con7 = dec(2 * b + b, 2 * b)
        self.con8 = dec(2 * b, b)
        self.con9 = dec(b + b, b)
        self.con10 = dec(b, half)
        self.con11 = dec(half, half)
        self.out = nn.Conv2d(half, self.out_channels, 3, padding=1)
        normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]."""
        check_input_size(
            x, self.stride, RESNET_NAME, in_channels=self.in_channels, min_size=self.min_size
        )
        c1 = self.con1(x)
        feats = []
        y = self.max1(c1)
        for block in self.res:
            y = block(y)
            feats.append(y)
        res2, res4, res6 = feats[1], feats[3], feats[5]

        def up(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, scale_factor=2.0, mode="nearest")

        y = self.con3(torch.cat([self.con2(up(y)), res6], dim=1))
        y = self.con5(torch.cat([self.con4(up(y)), res4], dim=1))
        y = self.con7(torch.cat([self.con6(up(y)), res2], dim=1))
        y = self.con9(torch.cat([self.con8(up(y)), c1], dim=1))
        y = self.con11(self.con10(up(y)))
        return torch.tanh(self.out(y))


# --------------------------------------------------------------------------- U-Net
@register_model(
    UNET_NAME,
    paper=PAPER,
    description="U-Net 48-96-192-384-768, stride-2 convs, transposed-conv decoder, tanh, 21.2 M",
    stride=16,
    min_size=32,
    paper_params=21.2e6,
    params_tolerance=0.01,
)
class UNetGenerator(nn.Module):
    """U-Net generator of seed 000 (Table 7).

    Args:
        in_channels: input channels (3: RGB -> depth, 1: depth -> RGB).
        out_channels: output channels (1: RGB -> depth, 3: depth -> RGB).
        base_width: width of the first stage; the stages have ``base_width * (1, 2,
            4, 8)`` and the bottom ``16 * base_width`` (48 gives 48-96-192-384-768).
        norm: "instance" (default), "batch", "layer" or "none".

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1], H and W
    multiples of 16 and at least 32.
    """

    stride = 16
    min_size = 32

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        base_width: int = 48,
        norm: str = "instance",
    ):
        super().__init__()
        self.in_channels, self.out_channels, b, self.norm = _check_common(
            UNET_NAME, in_channels, out_channels, base_width, norm
        )
        self.base_width = b

        def conv(ci: int, co: int, stride: int = 1) -> nn.Sequential:
            return _conv_norm_act(ci, co, 3, stride=stride, norm=self.norm, act=nn.ReLU())

        widths = (b, 2 * b, 4 * b, 8 * b)
        enc, down = [], []
        prev = self.in_channels
        for w in widths:
            enc.append(nn.Sequential(conv(prev, w), conv(w, w)))  # con_1, con_2
            down.append(conv(w, w, stride=2))  # con_3
            prev = w
        self.enc = nn.ModuleList(enc)
        self.down = nn.ModuleList(down)
        self.bottom = nn.Sequential(conv(prev, 16 * b), conv(16 * b, 16 * b))  # con51, con52
        prev = 16 * b
        ups, dec = [], []
        for w in reversed(widths):
            ups.append(
                nn.Sequential(
                    nn.ConvTranspose2d(prev, w, 3, stride=2, padding=1, output_padding=1),
                    nn.ReLU(),
                )
            )
            dec.append(nn.Sequential(conv(2 * w, w), conv(w, w)))
            prev = w
        self.ups = nn.ModuleList(ups)
        self.dec = nn.ModuleList(dec)
        self.out = nn.Conv2d(prev, self.out_channels, 3, padding=1)
        normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]."""
        check_input_size(
            x, self.stride, UNET_NAME, in_channels=self.in_channels, min_size=self.min_size
        )
        skips = []
        y = x
        for enc, down in zip(self.enc, self.down, strict=True):
            y = enc(y)
            skips.append(y)
            y = down(y)
        y = self.bottom(y)
        for up, dec, skip in zip(self.ups, self.dec, reversed(skips), strict=True):
            y = dec(torch.cat([up(y), skip], dim=1))
        return torch.tanh(self.out(y))


# --------------------------------------------------------------------------- style transfer
class StyleResBlock(nn.Module):
    """CycleGAN's residual block: ``x + norm(conv(pad(relu(norm(conv(pad(x)))))))``.

    Reflection padding 1, 3x3 convolutions, optional dropout 0.5 between the halves,
    no activation after the addition. Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, *, norm: str, bias: bool, affine: bool, dropout: bool):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels, affine=affine),
            nn.ReLU(),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels, affine=affine),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register_model(
    STYLE_NAME,
    paper=PAPER,
    description="CycleGAN / Johnson style-transfer ResNet generator, 9 res-blocks, tanh, 11.4 M",
    stride=4,
    min_size=8,
    paper_params=11.4e6,
    params_tolerance=0.01,
)
class StyleGenerator(nn.Module):
    """Style-transfer generator of seed 000 (CycleGAN's ``resnet_9blocks``).

    Args:
        in_channels: input channels (3: RGB -> depth, 1: depth -> RGB).
        out_channels: output channels (1: RGB -> depth, 3: depth -> RGB).
        base_width: width of the first convolution; the downsampling convolutions
            have 2x and 4x it, the residual blocks 4x (64 -> 256).
        n_blocks: number of residual blocks (9).
        norm: "instance" (default, no scale and shift), "batch", "layer" or "none";
            convolutions have a bias unless it is "batch".
        dropout: dropout 0.5 inside each residual block (CycleGAN's ``no_dropout``
            default is off).

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1], H and W
    multiples of 4 and at least 8.
    """

    stride = 4
    min_size = 8

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        base_width: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: bool = False,
    ):
        super().__init__()
        self.in_channels, self.out_channels, b, self.norm = _check_common(
            STYLE_NAME, in_channels, out_channels, base_width, norm
        )
        self.base_width = b
        self.n_blocks = positive_int(n_blocks, "n_blocks", STYLE_NAME)
        self.dropout = bool(dropout)
        bias = self.norm != "batch"
        affine = self.norm != "instance"

        def norm_act(width: int) -> list[nn.Module]:
            return [norm_layer(self.norm, width, affine=affine), nn.ReLU()]

        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(self.in_channels, b, 7, bias=bias),
            *norm_act(b),
            nn.Conv2d(b, 2 * b, 3, stride=2, padding=1, bias=bias),
            *norm_act(2 * b),
            nn.Conv2d(2 * b, 4 * b, 3, stride=2, padding=1, bias=bias),
            *norm_act(4 * b),
        ]
        self.encoder = nn.Sequential(*layers)
        self.blocks = nn.Sequential(
            *(
                StyleResBlock(4 * b, norm=self.norm, bias=bias, affine=affine, dropout=dropout)
                for _ in range(self.n_blocks)
            )
        )
        layers = []
        for ci, co in ((4 * b, 2 * b), (2 * b, b)):
            layers += [
                nn.ConvTranspose2d(ci, co, 3, stride=2, padding=1, output_padding=1, bias=bias),
                *norm_act(co),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(b, self.out_channels, 7), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]."""
        check_input_size(
            x, self.stride, STYLE_NAME, in_channels=self.in_channels, min_size=self.min_size
        )
        return self.decoder(self.blocks(self.encoder(x)))
