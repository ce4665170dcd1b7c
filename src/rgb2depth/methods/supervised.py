"""Supervised training on paired RGB and depth: seeds 004, 003 and 001's autoencoder.

One method, ``supervised``, whose ``loss`` option picks the objective:

- ``light_unet`` (seed 004, eq. 7): L1 + (1 - SSIM) + the RGB-edge-aware term, weights
  alpha, beta, gamma normalised by their sum (the paper's alpha = 2, gamma = 5; beta,
  which the paper does not give, is 1).
- ``perceptual_alignment`` (seed 003): lambda L1 + gradient + (1 - SSIM) / 2 +
  gamma perceptual (lambda 0.1, gamma 0.5). The perceptual network is frozen and
  comes from a local file: ``perceptual: resnet50`` with ``perceptual_path`` a
  torchvision ResNet-50 state dict, or ``perceptual: autoencoder`` with
  ``perceptual_path`` the encoder of a depth autoencoder trained by this project
  (method ``depth_autoencoder``). ``perceptual: null`` leaves the term out.
- ``mse`` (seed 001's autoencoder baseline, eq. 3): mean squared error only.

``depth_autoencoder`` trains a depth -> depth autoencoder (L1 reconstruction), whose
encoder is the project's own perceptual feature network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from rgb2depth.errors import InputError, check_keywords, keyword_names
from rgb2depth.methods.base import (
    Method,
    MethodContext,
    OptimStep,
    check_weight,
    register_method,
)

__all__ = ["DepthAutoencoder", "Supervised", "masked_median"]

LOSS_NAMES = ("light_unet", "perceptual_alignment", "mse")


def _check_weights(loss: type, weights: Mapping[str, Any]) -> None:
    check_keywords(weights, keyword_names(loss, exclude=("perceptual",)), "method.weights")


@register_method
class Supervised(Method):
    """Paired supervised training of ``model``: RGB in, depth in model range out."""

    name = "supervised"
    paper = "seeds 004 (light U-Net loss), 003 (perceptual alignment), 001 (MSE autoencoder)"
    example: ClassVar[dict[str, Any]] = {
        "model": {"name": "light_unet", "kwargs": {"channels": [4, 8, 8, 8, 8]}}
    }

    @dataclass
    class Options:
        loss: str = "light_unet"
        weights: dict[str, float] = field(default_factory=dict)
        perceptual: str | None = None
        perceptual_path: str | None = None
        # "median": the loss sees each prediction shifted so that its median over the
        # valid pixels is the target's (shift-invariant: the relief, not the distance);
        # anchor_weight x L1 of the unshifted prediction keeps the distance near the
        # data's. For inputs whose distance is hidden, e.g. face crops.
        align: str = "none"
        anchor_weight: float = 0.1
        # behind_weight x mean over the pixels without depth (the background of a rendered
        # subject) of max(0, farthest valid target - prediction): the background is kept
        # behind the subject instead of being left unsupervised. 0: off.
        behind_weight: float = 0.0

    def __init__(self, model: torch.nn.Module, options: Options, context: MethodContext) -> None:
        super().__init__(model, options, context)
        from rgb2depth import losses

        weights: dict[str, Any] = dict(options.weights or {})
        self.criterion: torch.nn.Module
        if options.loss == "light_unet":
            _check_weights(losses.LightUNetLoss, weights)
            self.criterion = losses.LightUNetLoss(**weights)
        elif options.loss == "perceptual_alignment":
            _check_weights(losses.PerceptualAlignmentLoss, weights)
            perceptual = None
            if options.perceptual is not None:
                extractor = losses.build_feature_extractor(
                    options.perceptual, options.perceptual_path
                )
                perceptual = losses.PerceptualLoss(extractor)
            self.criterion = losses.PerceptualAlignmentLoss(**weights, perceptual=perceptual)
        elif options.loss == "mse":
            _check_weights(losses.MSEOnlyLoss, weights)
            self.criterion = losses.MSEOnlyLoss(**weights)
        else:
            raise InputError(
                f"unknown method.loss {options.loss!r}; known losses: {', '.join(LOSS_NAMES)}"
            )
        if options.loss != "perceptual_alignment" and options.perceptual is not None:
            raise InputError("method.perceptual applies to loss perceptual_alignment only")
        if options.align not in ALIGNS:
            raise InputError(
                f"method.align must be one of {', '.join(ALIGNS)}, got {options.align!r}"
            )
        check_weight(options.anchor_weight, "anchor_weight")
        check_weight(options.behind_weight, "behind_weight")

    def optim_steps(self) -> list[OptimStep]:
        return [OptimStep("model", [p for p in self.model.parameters() if p.requires_grad])]

    def loss(self, step: str, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        pred = self.model(batch["rgb"])
        target, mask = batch["depth"], batch["mask"]
        if self.options.align == "none":
            total, terms = self.criterion(pred, target, rgb=batch["rgb"], mask=mask)
            return self._behind(total, terms, pred, target, mask)
        from rgb2depth.losses import l1_loss

        shifted = pred - masked_median(pred, mask) + masked_median(target, mask)
        total, terms = self.criterion(shifted, target, rgb=batch["rgb"], mask=mask)
        anchor = l1_loss(pred, target, mask)
        terms["anchor_l1"] = float(anchor.detach())
        total = total + self.options.anchor_weight * anchor
        return self._behind(total, terms, shifted, target, mask)

    def _behind(
        self,
        total: torch.Tensor,
        terms: dict[str, float],
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """``total`` plus ``behind_weight`` x :func:`behind_loss` (recorded as ``behind``)."""
        if not self.options.behind_weight:
            return total, terms
        behind = behind_loss(pred, target, mask)
        terms["behind"] = float(behind.detach())
        return total + self.options.behind_weight * behind, terms


ALIGNS = ("none", "median")


def behind_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """How far the pixels without depth are predicted in front of the subject.

    Args:
        pred, target: (B, 1, H, W) depth in the same units.
        mask: (B, 1, H, W) bool, the pixels with valid depth (the subject).

    Returns:
        Scalar: the mean over every pixel outside ``mask`` of
        ``max(0, max(target[mask]) - pred)``, the farthest valid depth taken per sample;
        0 where a batch has no such pixels (samples without valid pixels are skipped).
    """
    far = torch.where(mask, target, float("-inf")).amax(dim=(1, 2, 3), keepdim=True)
    outside = ~mask & torch.isfinite(far)
    if not bool(outside.any()):
        return pred.sum() * 0.0
    return torch.relu(far - pred)[outside].mean()


def masked_median(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample median of ``x`` (B, 1, H, W) over ``mask``, shaped (B, 1, 1, 1); 0 for a
    sample without valid pixels."""
    out = torch.zeros(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)
    for i in range(x.shape[0]):
        values = x[i][mask[i].expand_as(x[i])]
        if values.numel():
            out[i] = values.median()
    return out


@register_method
class DepthAutoencoder(Method):
    """Depth -> depth reconstruction (L1 on valid pixels); its encoder is a perceptual network.

    Use with the ``depth_autoencoder`` model (``model.kwargs.in_channels`` 1).
    """

    name = "depth_autoencoder"
    paper = "this project: perceptual features for seed 003's loss without ImageNet weights"
    predicts_depth_from_rgb = False
    example: ClassVar[dict[str, Any]] = {
        "model": {"name": "depth_autoencoder", "kwargs": {"widths": [4, 8, 8]}}
    }

    @dataclass
    class Options:
        pass

    def optim_steps(self) -> list[OptimStep]:
        return [OptimStep("model", list(self.model.parameters()))]

    def predict(self, batch: Mapping[str, Any]) -> torch.Tensor:
        return self.model(batch["depth"])

    def loss(self, step: str, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        from rgb2depth.losses import l1_loss

        value = l1_loss(self.predict(batch), batch["depth"], batch["mask"])
        return value, {"l1": float(value.detach())}
