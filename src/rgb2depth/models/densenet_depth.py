"""The DenseNet-121 encoder-decoder of seed 003, about 15 M parameters.

Seed 003 (sections 3.1.1-3.1.2) encodes the RGB image with a DenseNet-121
(Huang et al. 2017: growth rate 32, dense blocks of 6, 12, 24 and 16 layers,
bottleneck width 4 x 32, 64 initial features, transitions halving the channels)
pretrained on ImageNet, and decodes with "bridge blocks": each upsamples the
previous decoder output to the size of "the output of the corresponding
dense-block" of the encoder, concatenates the two and applies two 3x3 convolutions,
each followed by a Leaky-ReLU; the last bridge block has no skip and upsamples to
the input size. The decoder's input is the encoder output followed by a 1x1
convolution.

The encoder keeps torchvision's module names inside ``features`` (``features.conv0``,
``features.denseblock1.denselayer1.norm1``, ``features.transition1.conv``,
``features.norm5``, ...), so the ``features.*`` tensors of a torchvision
``densenet121`` state dict load directly; see :func:`load_imagenet_encoder`
(nothing is ever downloaded). The encoder has 6,953,856 parameters.

Default layout (3 -> 1 channels, ``decoder_width=640``), H and W multiples of 32:

===============  ========================================================  =====  =====
module           layers                                                    ch     size
===============  ========================================================  =====  =====
features.conv0   conv 7x7 stride 2 (no bias), norm0 (BN), relu0           64     1/2
features.pool0   max-pool 3x3 stride 2 padding 1                           64     1/4
denseblock1      6 dense layers: BN-ReLU-conv1x1 (128)-BN-ReLU-conv3x3     256    1/4
                 (32), each concatenated to its input
transition1      BN-ReLU-conv1x1 (no bias)-avg-pool 2x2                    128    1/8
denseblock2      12 dense layers                                           512    1/8
transition2                                                                256    1/16
denseblock3      24 dense layers                                           1024   1/16
transition3                                                                512    1/32
denseblock4      16 dense layers                                           1024   1/32
features.norm5   BN, then ReLU                                             1024   1/32
decoder.conv_in  conv 1x1 1024->640                                        640    1/32
bridge1          up to 1/16, cat [up, denseblock3] 640+1024, 2x conv3x3    320    1/16
bridge2          up to 1/8, cat [up, denseblock2] 320+512, 2x conv3x3      160    1/8
bridge3          up to 1/4, cat [up, denseblock1] 160+256, 2x conv3x3      80     1/4
bridge4          up to 1/2, cat [up, relu0] 80+64, 2x conv3x3              40     1/2
bridge5          up to the input size, no skip, 2x conv3x3                 20     1
decoder.conv_out conv 3x3 20->1, linear output                             1      1
===============  ========================================================  =====  =====

Upsampling is bilinear with ``align_corners=True``; every decoder convolution has a
bias and each 3x3 convolution of a bridge block is followed by LeakyReLU(0.2). The
decoder is initialised with He (Kaiming) normal weights and zero biases, as the
paper says ("initialized following [7]").

Parameter count. The paper gives "approximately 15M parameters" but not the decoder
widths. With the encoder fixed, the width of ``decoder.conv_in`` (halved by every
bridge block) is the one free choice; among multiples of 32 (so that the five
halvings stay integers) 640 is the one nearest 15 M: 608 gives 14.60 M, 640 gives
**15,187,837** (encoder 6,953,856 + decoder 8,233,981), 672 gives 15.79 M.

Input: (B, in_channels, H, W), RGB in the model range [-1, 1]. With 3 input channels
the forward pass first maps it to [0, 1] and normalises it with the ImageNet mean
and std (constants, not parameters, not saved), which is what ImageNet weights
expect. Output: (B, out_channels, H, W), linear depth in the training target's units.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rgb2depth.errors import InputError
from rgb2depth.models.blocks import int_widths, positive_int
from rgb2depth.models.pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    compare_state,
    read_state_dict,
)
from rgb2depth.models.registry import check_input_size, register_model

NAME = "densenet_depth"
MIN_SIZE = 64  # at 32x32 the 1x1 bottleneck's BatchNorm fails in training for a batch of one

BN_SIZE = 4  # bottleneck width of a dense layer, in multiples of the growth rate
LEAKY_SLOPE = 0.2

DENSENET121_HOWTO = (
    "nothing is downloaded: on a machine with internet access and torchvision, save "
    "`torchvision.models.densenet121(weights='IMAGENET1K_V1').state_dict()` with torch.save "
    "(.pth) or safetensors.torch.save_file (.safetensors) and pass that file"
)

# torchvision's released densenet121 file names the layers of a dense layer
# "norm.1", "conv.2", ...; torchvision renames them to "norm1", "conv2" when loading.
_OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.[a-z_]+)$")


# --------------------------------------------------------------------------- encoder
class _DenseLayer(nn.Module):
    """BN-ReLU-conv1x1 (bn_size * growth) - BN-ReLU-conv3x3 (growth), no biases.

    Shapes: the concatenated input (B, in_ch, H, W) -> the new features (B, growth, H, W).
    """

    def __init__(self, in_ch: int, growth: int, bn_size: int) -> None:
        super().__init__()
        mid = bn_size * growth
        self.norm1 = nn.BatchNorm2d(in_ch)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_ch, mid, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(mid)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(mid, growth, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class _DenseBlock(nn.ModuleDict):
    """``layers`` dense layers, each fed the concatenation of the block input and all
    earlier layers' outputs; the block returns that concatenation with the last one.

    Shapes: (B, in_ch, H, W) -> (B, in_ch + layers * growth, H, W).
    """

    def __init__(self, layers: int, in_ch: int, growth: int, bn_size: int) -> None:
        super().__init__()
        for i in range(layers):
            self[f"denselayer{i + 1}"] = _DenseLayer(in_ch + i * growth, growth, bn_size)

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for layer in self.values():
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-conv1x1 (no bias)-avg-pool 2x2: (B, in_ch, H, W) -> (B, out_ch, H/2, W/2)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(in_ch),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(in_ch, out_ch, 1, bias=False),
                pool=nn.AvgPool2d(2, stride=2),
            )
        )


def _densenet_features(
    in_channels: int, growth: int, blocks: tuple[int, ...], init_features: int
) -> tuple[nn.Sequential, list[int]]:
    """The DenseNet feature extractor with torchvision's module names.

    Returns:
        (the ``features`` Sequential, channels of [relu0, denseblock1, ..., denseblock4]).
    """
    mods: OrderedDict[str, nn.Module] = OrderedDict(
        conv0=nn.Conv2d(in_channels, init_features, 7, stride=2, padding=3, bias=False),
        norm0=nn.BatchNorm2d(init_features),
        relu0=nn.ReLU(inplace=True),
        pool0=nn.MaxPool2d(3, stride=2, padding=1),
    )
    channels = [init_features]
    n = init_features
    for i, layers in enumerate(blocks, start=1):
        mods[f"denseblock{i}"] = _DenseBlock(layers, n, growth, BN_SIZE)
        n += layers * growth
        channels.append(n)
        if i < len(blocks):
            mods[f"transition{i}"] = _Transition(n, n // 2)
            n //= 2
    mods["norm5"] = nn.BatchNorm2d(n)
    return nn.Sequential(mods), channels


# --------------------------------------------------------------------------- decoder
class _Bridge(nn.Module):
    """Seed 003's bridge block: bilinear upsampling (``align_corners=True``) of ``x`` to
    the skip's size (or to a given size when there is no skip), concatenation
    ``[up(x), skip]``, then two 3x3 convolutions (padding 1, bias) each followed by
    LeakyReLU(0.2).

    Shapes: x (B, in_ch, h, w) and skip (B, skip_ch, H, W) -> (B, out_ch, H, W).
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch + skip_ch, out_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.act = nn.LeakyReLU(LEAKY_SLOPE, inplace=True)

    def forward(
        self, x: Tensor, skip: Tensor | None = None, size: tuple[int, int] | None = None
    ) -> Tensor:
        size = (skip.shape[-2], skip.shape[-1]) if skip is not None else size
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=True)
        if skip is not None:
            x = torch.cat([x, skip], 1)
        x = self.act(self.conv1(x))
        return self.act(self.conv2(x))


class _Decoder(nn.Module):
    """1x1 conv on the encoder output, four bridge blocks with skips, one without,
    and a linear 3x3 output convolution; widths halve in every bridge block."""

    def __init__(self, enc_ch: int, skip_chs: list[int], width: int, out_channels: int) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(enc_ch, width, 1)
        blocks = []
        w = width
        for skip in [*skip_chs, 0]:  # deepest skip first; the last block has none
            blocks.append(_Bridge(w, skip, w // 2))
            w //= 2
        self.bridges = nn.ModuleList(blocks)
        self.conv_out = nn.Conv2d(w, out_channels, 3, padding=1)

    def forward(self, x: Tensor, skips: list[Tensor], size: tuple[int, int]) -> Tensor:
        x = self.conv_in(x)
        for bridge, skip in zip(self.bridges[:-1], skips, strict=True):
            x = bridge(x, skip)
        x = self.bridges[-1](x, size=size)
        return self.conv_out(x)


def _he_init(module: nn.Module, *, slope: float | None) -> None:
    """He (Kaiming) normal init, fan-in, for a conv followed by LeakyReLU(``slope``)
    (None: followed by nothing, gain 1); zero bias."""
    assert isinstance(module, nn.Conv2d)
    if slope is None:
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="linear")
    else:
        nn.init.kaiming_normal_(module.weight, a=slope, mode="fan_in", nonlinearity="leaky_relu")
    if module.bias is not None:
        nn.init.zeros_(module.bias)


# --------------------------------------------------------------------------- the model
@register_model(
    NAME,
    paper="DenseNet-121 encoder-decoder with bridge blocks of seed 003",
    description="DenseNet-121 encoder (ImageNet weights from a local file), bridge-block "
    "decoder, 15.19 M",
    stride=32,
    min_size=MIN_SIZE,
    # The paper says "approximately 15M": two significant digits, so +-2 % (the
    # default decoder_width 640 gives 15,187,837, +1.3 %).
    paper_params=15e6,
    params_tolerance=0.02,
)
class DenseNetDepth(nn.Module):
    """Seed 003's depth network: DenseNet-121 encoder, bridge-block decoder.

    Args:
        in_channels: input channels (3 for RGB; ImageNet weights need 3).
        out_channels: output channels (1 for depth).
        decoder_width: channels after the decoder's 1x1 input convolution, a positive
            multiple of 32; each of the five bridge blocks halves it (640: 15.19 M
            parameters, see the module docstring).
        growth_rate: channels each dense layer adds (32 in DenseNet-121).
        block_config: the number of dense layers in each of the four dense blocks
            ((6, 12, 24, 16) in DenseNet-121).
        init_features: channels of the stem convolution (64 in DenseNet-121).

    The encoder's BatchNorm is fixed (DenseNet's layers are BN-ReLU-conv and its
    ImageNet weights hold BatchNorm statistics). Only the defaults for
    ``growth_rate``, ``block_config`` and ``init_features`` accept torchvision's
    ImageNet weights (:meth:`load_imagenet_encoder`).

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W), H and W multiples of 32,
    at least 64 (at 32 the bottleneck is 1x1, where training BatchNorm fails for a
    batch of one).

    Raises:
        InputError: a setting that is not a positive integer (or four of them for
            ``block_config``), or a ``decoder_width`` that is not a multiple of 32.
    """

    stride = 32

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        decoder_width: int = 640,
        growth_rate: int = 32,
        block_config: tuple[int, int, int, int] = (6, 12, 24, 16),
        init_features: int = 64,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        width = positive_int(decoder_width, "decoder_width", NAME)
        if width % 32:
            raise InputError(
                f"{NAME}: decoder_width must be a multiple of 32 (five bridge blocks halve "
                f"it), got {width}"
            )
        growth = positive_int(growth_rate, "growth_rate", NAME)
        blocks = int_widths(block_config, "block_config", NAME, length=4)
        init = positive_int(init_features, "init_features", NAME)
        self.decoder_width = width

        self.features, channels = _densenet_features(self.in_channels, growth, blocks, init)
        # Skips, deepest first: denseblock3, denseblock2, denseblock1, relu0.
        skip_chs = channels[-2::-1]
        self.decoder = _Decoder(channels[-1], skip_chs, width, self.out_channels)

        # ImageNet normalisation of [-1, 1] input: (x + 1) / 2 then (v - mean) / std,
        # i.e. x * scale + shift; Python constants, neither parameters nor state.
        self._norm_scale = tuple(0.5 / s for s in IMAGENET_STD)
        self._norm_shift = tuple(
            (0.5 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)
        )

        self._init_weights()

    def _init_weights(self) -> None:
        """Encoder convs: He normal (ReLU gain), BN 1/0 (PyTorch's default); decoder:
        He normal with the LeakyReLU gain (gain 1 for the two linear convs), zero
        biases. Skipped on the meta device."""
        if any(p.is_meta for p in self.parameters()):
            return
        for m in self.features.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        _he_init(self.decoder.conv_in, slope=None)
        for bridge in self.decoder.bridges:
            assert isinstance(bridge, _Bridge)  # nn.ModuleList yields nn.Module
            _he_init(bridge.conv1, slope=LEAKY_SLOPE)
            _he_init(bridge.conv2, slope=LEAKY_SLOPE)
        _he_init(self.decoder.conv_out, slope=None)

    def normalize_input(self, x: Tensor) -> Tensor:
        """[-1, 1] RGB -> ImageNet-normalised RGB (3 channels); other inputs unchanged."""
        if self.in_channels != 3:
            return x
        scale = torch.tensor(self._norm_scale, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        shift = torch.tensor(self._norm_shift, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return x * scale + shift

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W) linear depth."""
        check_input_size(x, self.stride, NAME, in_channels=self.in_channels, min_size=MIN_SIZE)
        size = (int(x.shape[-2]), int(x.shape[-1]))
        y = self.normalize_input(x)
        skips: list[Tensor] = []
        for name, module in self.features.named_children():
            y = module(y)
            if name == "relu0" or name in ("denseblock1", "denseblock2", "denseblock3"):
                skips.append(y)
        y = F.relu(y)  # after norm5, as in DenseNet's classifier path
        return self.decoder(y, skips[::-1], size)

    def load_imagenet_encoder(self, weights: str | Path) -> int:
        """Load torchvision ``densenet121`` weights into the encoder; see
        :func:`load_imagenet_encoder`. Returns the number of tensors loaded."""
        return load_imagenet_encoder(self, weights)


# --------------------------------------------------------------------------- ImageNet weights
def _examples(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def read_densenet121_features(weights: str | Path) -> dict[str, Tensor]:
    """The ``features.*`` tensors of a local torchvision ``densenet121`` state dict.

    Args:
        weights: a ``.safetensors`` file or a ``.pth`` / ``.pt`` file read with
            ``torch.load(weights_only=True)`` (never general unpickling). Both key
            styles are accepted: ``features.denseblock1.denselayer1.norm1.weight`` and
            the older ``...denselayer1.norm.1.weight`` of torchvision's released file.
            ``classifier.*`` keys are ignored; a ``module.`` prefix is stripped.

    Returns:
        {key in the new style: tensor} for the ``features.*`` keys.

    Raises:
        InputError: the file is missing (the message says how to make one), cannot be
            read as a state dict of tensors, or holds keys other than ``features.*``
            and ``classifier.*``.
    """
    path = Path(weights).expanduser()
    if not path.is_file():
        raise InputError(f"DenseNet-121 weights {path}: no such file; {DENSENET121_HOWTO}")
    state = read_state_dict(path, "DenseNet-121 weights")
    out: dict[str, Tensor] = {}
    other: list[str] = []
    for key, value in state.items():
        if not isinstance(key, str) or not key.startswith("features."):
            if not (isinstance(key, str) and key.startswith("classifier.")):
                other.append(str(key))
            continue
        out[_OLD_KEY.sub(r"\1\2", key)] = value
    if other:
        raise InputError(
            f"DenseNet-121 weights {path}: unexpected key(s) {_examples(sorted(other))}; "
            "expected a torchvision densenet121 state dict (features.*, classifier.*)"
        )
    return out


def load_imagenet_encoder(model: DenseNetDepth, weights: str | Path) -> int:
    """Load the ``features.*`` tensors of a local torchvision ``densenet121`` file into
    ``model``'s encoder, in place (the decoder is untouched).

    Loading is strict on the encoder: every parameter and BatchNorm statistic must be
    in the file with its shape, and no other ``features.*`` key may be (BatchNorm's
    ``num_batches_tracked``, absent from torchvision's released file, is optional).

    Args:
        model: a :class:`DenseNetDepth` with 3 input channels and the DenseNet-121
            encoder settings (the defaults).
        weights: the file, see :func:`read_densenet121_features`.

    Returns:
        The number of tensors loaded.

    Raises:
        InputError: ``in_channels`` is not 3, the file is missing or unreadable, or its
            keys or shapes do not match the encoder (a few are named).
    """
    if model.in_channels != 3:
        raise InputError(
            f"{NAME}: ImageNet weights are for RGB input; this model has in_channels="
            f"{model.in_channels}, so the stem convolution features.conv0 cannot load them"
        )
    state = read_densenet121_features(weights)
    path = Path(weights).expanduser()
    expected = {f"features.{k}": v for k, v in model.features.state_dict().items()}
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    problems = compare_state(expected, state, optional=optional)
    if problems:
        raise InputError(
            f"DenseNet-121 weights {path}: " + "; ".join(problems) + "; expected a torchvision "
            "densenet121 state dict for an encoder with the default settings"
        )
    local = {k[len("features.") :]: v for k, v in state.items()}
    model.features.load_state_dict(local, strict=False)
    return len(local)


__all__ = ["DenseNetDepth", "load_imagenet_encoder", "read_densenet121_features"]
