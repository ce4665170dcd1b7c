"""Training losses on depth maps in the model range [-1, 1].

Every loss is a pure function with a thin ``nn.Module`` around it. They take
``pred`` and ``target`` of shape (B, 1, H, W) and an optional (B, 1, H, W) bool
``mask`` (True where the target is valid; ``None``: all valid) and average over
valid pixels only; a batch without a valid pixel gives 0 (see
:mod:`rgb2depth.losses.pixel`).

- :mod:`~rgb2depth.losses.pixel`: :func:`l1_loss`, :func:`mse_loss` (seed 001 eq. 3).
- :mod:`~rgb2depth.losses.structural`: :func:`ssim_loss` = 1 - SSIM (seed 004 eq. 5).
- :mod:`~rgb2depth.losses.edges`: :func:`gradient_loss` (seed 003),
  :func:`edge_aware_l1` (seed 004 eq. 6).
- :mod:`~rgb2depth.losses.perceptual`: :class:`PerceptualLoss` on frozen features of
  ResNet-50's first stage or of the project's depth autoencoder (seed 003).
- :mod:`~rgb2depth.losses.combined`: the seeds' objectives, returning
  ``(total, dict of float terms)``.
"""

from rgb2depth.losses.combined import LightUNetLoss, MSEOnlyLoss, PerceptualAlignmentLoss
from rgb2depth.losses.edges import (
    EdgeAwareL1Loss,
    GradientLoss,
    edge_aware_l1,
    edge_weights,
    gradient_loss,
    image_gradients,
)
from rgb2depth.losses.perceptual import (
    FEATURE_SOURCES,
    EncoderFeatures,
    FrozenFeatureExtractor,
    PerceptualLoss,
    ResNet50Stage1,
    autoencoder_encoder,
    build_feature_extractor,
    perceptual_loss,
    resnet50_stage1,
)
from rgb2depth.losses.pixel import L1Loss, MSELoss, l1_loss, masked_mean, mse_loss
from rgb2depth.losses.structural import SSIMLoss, ssim_loss

__all__ = [
    "FEATURE_SOURCES",
    "EdgeAwareL1Loss",
    "EncoderFeatures",
    "FrozenFeatureExtractor",
    "GradientLoss",
    "L1Loss",
    "LightUNetLoss",
    "MSELoss",
    "MSEOnlyLoss",
    "PerceptualAlignmentLoss",
    "PerceptualLoss",
    "ResNet50Stage1",
    "SSIMLoss",
    "autoencoder_encoder",
    "build_feature_extractor",
    "edge_aware_l1",
    "edge_weights",
    "gradient_loss",
    "image_gradients",
    "l1_loss",
    "masked_mean",
    "mse_loss",
    "perceptual_loss",
    "resnet50_stage1",
    "ssim_loss",
]
