"""The critics of seed 000 (Appendix B, Tables 4 and 5): DCGAN and PatchGAN.

Seed 000 trains two Wasserstein critics, one per domain (depth and RGB), and takes
the features of a critic's second-to-last layer for its perceptual reconstruction
loss. Both critics share the same convolutional trunk, six 4x4 convolutions, each
followed by a normalisation (the paper: layer normalisation) and LeakyReLU (slope 0.2):

=====  ==========================================  =====  ==========
name   layers                                      size   parameters
=====  ==========================================  =====  ==========
con1   conv 4x4 s2 p1, in->64, norm, LReLU         1/2    3,264
con2   conv 4x4 s2 p1, 64->128, norm, LReLU        1/4    131,456
con3   conv 4x4 s2 p1, 128->256, norm, LReLU       1/8    525,056
con4   conv 4x4 s2 p1, 256->512, norm, LReLU       1/16   2,098,688
con5   conv 4x4 s1 "same", 512->512, norm, LReLU   1/16   4,195,840
con6   conv 4x4 s1 "same", 512->1024, norm, LReLU  1/16   8,391,680
=====  ==========================================  =====  ==========

(parameters for 3 input channels and the default layer norm; the trunk has
15,345,984.) The heads differ:

- ``dcgan_critic`` (Table 4): global average pooling of con6 and a dense layer
  1024 -> 1, linear (1,025 parameters): **15,347,009** parameters for RGB input,
  15,344,961 for depth input (the paper: about 15.3 M). Output (B, out_channels),
  one unbounded score per image.
- ``patchgan_critic`` (Table 5): a 4x4 stride-1 "same" convolution 1024 -> 1, linear
  (16,385 parameters): **15,362,369** parameters for RGB input (the paper: "of the
  same size", 0.4 % above 15.3 M). Output (B, out_channels, H/16, W/16), one
  unbounded score per patch.

Details the table leaves open, settled here:

- Every convolution has a bias. "layer" normalisation is ``GroupNorm(1, C)`` with a
  per-channel scale and shift, as in the seed's reference (TensorFlow) code; the
  ``norm`` setting also accepts "instance", "batch" (not advisable with a gradient
  penalty) and "none".
- The stride-2 convolutions pad 1 on each side (TensorFlow's "same" for even inputs);
  the stride-1 4x4 convolutions pad 1 before and 2 after (TensorFlow's and torch's
  "same"), so the trunk downsamples by exactly 16.
- With ``norm="instance"`` inputs must be at least 32x32 (an instance norm of the
  1x1 maps a 16x16 input gives is undefined); the other norms take 16x16.
- :meth:`features` returns con6 after its normalisation and LeakyReLU, the layer
  before the head: "the second-to-last layer of the critic" used by the perceptual
  reconstruction loss, (B, 16 * base_width, H/16, W/16).

Input: (B, in_channels, H, W) image in the model range [-1, 1] (RGB: 3 channels,
depth: 1), H and W multiples of 16. Weights start from N(0, 0.02) (normalisation
scales from N(1, 0.02)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rgb2depth.models.blocks import NORMS, norm_kind, norm_layer, normal_init, positive_int
from rgb2depth.models.registry import check_input_size, register_model

PAPER = "Unsupervised perceptual reconstruction (seed 000)"
DCGAN_NAME = "dcgan_critic"
PATCHGAN_NAME = "patchgan_critic"

#: Widths of con1-con6 in units of ``base_width`` (64 gives 64, 128, 256, 512, 512, 1024).
TRUNK_MULTIPLIERS = (1, 2, 4, 8, 8, 16)


class SameConv4(nn.Conv2d):
    """4x4 stride-1 convolution with "same" padding: 1 before and 2 after, in height
    and width (TensorFlow's and torch's ``padding="same"`` for an even kernel, written
    out to skip torch's warning about it).

    Shapes: (B, in_ch, H, W) -> (B, out_ch, H, W).
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__(in_ch, out_ch, 4, stride=1, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (1, 2, 1, 2)))


class _CriticTrunk(nn.Module):
    """Shared con1-con6 trunk of the seed-000 critics and the settings checks.

    Subclasses set ``NAME``, build the trunk with :meth:`_build_trunk` and add a head.
    """

    NAME = "critic"
    stride = 16

    def _build_trunk(self, in_channels: int, out_channels: int, base_width: int, norm: str) -> int:
        """Check the settings, set the attributes, build ``self.trunk``; return its width."""
        name = self.NAME
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.base_width = positive_int(base_width, "base_width", name)
        self.norm = norm_kind(norm, name, NORMS)
        # an instance norm of con4-con6 needs more than one pixel: at least 2x2 at 1/16
        self.min_size = 2 * self.stride if self.norm == "instance" else 0
        layers: list[nn.Module] = []
        prev = self.in_channels
        for i, mult in enumerate(TRUNK_MULTIPLIERS):
            width = mult * self.base_width
            if i < 4:
                conv = nn.Conv2d(prev, width, 4, stride=2, padding=1)
            else:
                conv = SameConv4(prev, width)
            layers += [conv, norm_layer(self.norm, width), nn.LeakyReLU(0.2)]
            prev = width
        self.trunk = nn.Sequential(*layers)
        self.feature_channels = prev
        return prev

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """con6 after its normalisation and LeakyReLU (the layer before the head).

        Shapes: (B, in_channels, H, W) -> (B, 16 * base_width, H/16, W/16).
        """
        self._check(x)
        return self.trunk(x)

    def _check(self, x: torch.Tensor) -> None:
        """InputError unless ``x`` is (B, in_channels, H, W) of a size the critic takes."""
        check_input_size(
            x, self.stride, self.NAME, in_channels=self.in_channels, min_size=self.min_size
        )


@register_model(
    DCGAN_NAME,
    paper=PAPER,
    description="DCGAN Wasserstein critic, 4x4 convs 64-1024, layer norm, global-avg + dense",
    stride=16,
    paper_params=15.3e6,
    params_tolerance=0.01,
)
class DCGANCritic(_CriticTrunk):
    """DCGAN critic of seed 000 (Table 4): image -> one score per image.

    Args:
        in_channels: input channels (3: RGB critic, 1: depth critic).
        out_channels: scores per image (1 for a Wasserstein critic).
        base_width: width of con1; con1-con6 have ``base_width * (1, 2, 4, 8, 8, 16)``.
        norm: normalisation after each convolution, one of "batch", "instance",
            "layer" (default, ``GroupNorm(1, C)``) or "none".

    Shapes: (B, in_channels, H, W) -> (B, out_channels), H and W multiples of 16.
    """

    NAME = DCGAN_NAME
    stride = 16

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        base_width: int = 64,
        norm: str = "layer",
    ):
        super().__init__()
        width = self._build_trunk(in_channels, out_channels, base_width, norm)
        self.dense = nn.Linear(width, self.out_channels)
        normal_init(self)

    def output_size(self, height: int, width: int) -> tuple[int, ...]:
        """Shape of one output sample: ``(out_channels,)`` whatever the input size."""
        return (self.out_channels,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels) linear scores: the dense layer
        on the global average of :meth:`features`."""
        self._check(x)
        return self.dense(self.trunk(x).mean(dim=(2, 3)))


@register_model(
    PATCHGAN_NAME,
    paper=PAPER,
    description="PatchGAN Wasserstein critic, 4x4 convs 64-1024, layer norm, 4x4 conv head",
    stride=16,
    paper_params=15.3e6,
    params_tolerance=0.01,
)
class PatchGANCritic(_CriticTrunk):
    """PatchGAN critic of seed 000 (Table 5): image -> one score per patch.

    Args:
        in_channels: input channels (3: RGB critic, 1: depth critic).
        out_channels: scores per patch (1 for a Wasserstein critic).
        base_width: width of con1; con1-con6 have ``base_width * (1, 2, 4, 8, 8, 16)``.
        norm: normalisation after each convolution, one of "batch", "instance",
            "layer" (default, ``GroupNorm(1, C)``) or "none".

    Shapes: (B, in_channels, H, W) -> (B, out_channels, H/16, W/16), H and W
    multiples of 16.
    """

    NAME = PATCHGAN_NAME
    stride = 16

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 1,
        base_width: int = 64,
        norm: str = "layer",
    ):
        super().__init__()
        width = self._build_trunk(in_channels, out_channels, base_width, norm)
        self.head = SameConv4(width, self.out_channels)
        normal_init(self)

    def output_size(self, height: int, width: int) -> tuple[int, ...]:
        """Shape of one output sample: ``(out_channels, height // 16, width // 16)``."""
        return (self.out_channels, height // self.stride, width // self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H/16, W/16) linear patch scores."""
        self._check(x)
        return self.head(self.trunk(x))
