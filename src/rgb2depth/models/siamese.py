"""The face-verification Siamese network of seed 001 (Fig. 3).

Seed 001 checks that generated face depth maps keep the subject's identity with a
Siamese network trained on real depth maps: ``k3n64s2 - k3n128s2 - k3n256s2 -
k3n256s2 - k3n256s2 - avgpoolk2 - fc128 - fc32 - fc1`` (k: kernel size, n: feature
maps, s: stride, fc: fully connected units). It compares two 96x96 depth images and
gives a similarity in [0, 1]; the two faces are "the same person" when it is above 0.5.
The seed gives no more detail; this implementation (``face_siamese``) reads it as:

- a shared branch embeds each image: five 3x3 convolutions, stride 2, padding 1
  (64, 128, 256, 256, 256 maps), each followed by a normalisation and ReLU; 2x2
  average pooling, stride 2; flatten; fc128 + ReLU; fc32. The embedding has 32 values.
  Sizes for a 96x96 input: 48, 24, 12, 6, 3 after the convolutions, 1x1 after the
  pooling (it drops the odd last row and column), so fc128 has 256 inputs; in general
  ``256 * (H // 64) * (W // 64)``.
- the head is fc1 on the absolute difference of the two embeddings, ``|e1 - e2|`` (the
  classic Siamese L1 distance), so the score is symmetric in its two inputs. It
  returns the **logit**; ``torch.sigmoid`` of it is the seed's similarity (train with
  binary cross-entropy on logits).
- the normalisation is a setting (``norm``, BatchNorm by default): the seed is silent on
  it. Convolutions followed by BatchNorm or InstanceNorm (which cancel a per-channel
  bias) have no bias; with ``"layer"`` or ``"none"`` they have one.
- both images go through the branch as one batch, so in training mode BatchNorm's
  statistics are those of the pair batch and the two embeddings are normalised alike.

Because of the fully connected layers the network is built for one input size, the
``image_size`` setting (96 by default). Weights start from N(0, 0.02) (DCGAN
initialisation). With the defaults the network has 1,587,841 parameters.

Input: two (B, in_channels, H, W) depth maps in the model range [-1, 1], (H, W) =
image_size (multiples of 32, at least 64). Output: (B, out_channels) logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.models.blocks import int_widths, norm_kind, norm_layer, normal_init, positive_int
from rgb2depth.models.registry import check_input_size, image_size_pair, register_model

NAME = "face_siamese"
MIN_SIZE = 64
EMBED_WIDTHS = (128, 32)


@register_model(
    NAME,
    paper="cGAN face depth (seed 001), face verification",
    description="Siamese face verifier on depth, 5 stride-2 3x3 convs, fc128-fc32, fc1 on |e1-e2|",
    stride=32,
    min_size=MIN_SIZE,
    inputs=2,
)
class FaceSiamese(nn.Module):
    """Siamese network of seed 001: two depth faces -> logit that they are one person.

    Args:
        in_channels: channels of each input (1: a depth map).
        out_channels: units of the final fully connected layer (1: one score).
        widths: maps of the five stride-2 convolutions.
        norm: normalisation after each convolution, one of ``"batch"`` (default),
            ``"instance"``, ``"layer"``, ``"none"`` (the seed does not say).
        image_size: the input size S or (H, W) the network is built for (multiples of
            32, at least 64).

    Shapes: a, b (B, in_channels, H, W) with (H, W) = image_size -> (B, out_channels)
    logits; :meth:`embed` gives the (B, 32) embedding of one batch.

    Raises:
        InputError: a bad setting, or (in ``forward``/``embed``) an input of another size,
            or two inputs of different shapes.
    """

    stride = 32

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (64, 128, 256, 256, 256),
        norm: str = "batch",
        image_size: int | Sequence[int] = 96,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", NAME)
        self.out_channels = positive_int(out_channels, "out_channels", NAME)
        chans = int_widths(widths, "widths", NAME, length=5)
        self.norm = norm_kind(norm, NAME)
        self.image_size = image_size_pair(image_size, NAME, self.stride, MIN_SIZE)

        bias = self.norm not in ("batch", "instance")
        layers: list[nn.Module] = []
        prev = self.in_channels
        for w in chans:
            layers += [
                nn.Conv2d(prev, w, 3, stride=2, padding=1, bias=bias),
                norm_layer(self.norm, w),
                nn.ReLU(inplace=True),
            ]
            prev = w
        layers.append(nn.AvgPool2d(2, stride=2))
        self.features = nn.Sequential(*layers)
        h, w = self.image_size
        self.embedding = nn.Sequential(
            nn.Linear(prev * (h // 64) * (w // 64), EMBED_WIDTHS[0]),
            nn.ReLU(inplace=True),
            nn.Linear(EMBED_WIDTHS[0], EMBED_WIDTHS[1]),
        )
        self.head = nn.Linear(EMBED_WIDTHS[1], self.out_channels)
        normal_init(self)

    def output_size(self, height: int, width: int) -> tuple[int, ...]:
        """Shape of one output sample: ``(out_channels,)`` (for the built image_size)."""
        return (self.out_channels,)

    def _check(self, x: torch.Tensor) -> None:
        check_input_size(
            x,
            self.stride,
            NAME,
            in_channels=self.in_channels,
            min_size=MIN_SIZE,
            size=self.image_size,
        )

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(torch.flatten(self.features(x), 1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) depth -> (B, 32) embedding (the shared branch)."""
        self._check(x)
        return self._embed(x)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Two (B, in_channels, H, W) depth batches -> (B, out_channels) logits.

        ``torch.sigmoid`` of the logit is the similarity in [0, 1] ("same person" above
        0.5). The score is symmetric: ``forward(a, b) == forward(b, a)`` up to rounding.
        """
        self._check(a)
        self._check(b)
        if a.shape != b.shape:
            raise InputError(
                f"{NAME}: the two inputs must have the same shape, got {tuple(a.shape)} "
                f"and {tuple(b.shape)}"
            )
        e = self._embed(torch.cat([a, b], dim=0))
        ea, eb = e.chunk(2, dim=0)
        return self.head((ea - eb).abs())
