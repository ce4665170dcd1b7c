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
- :mod:`~rgb2depth.losses.psi`: seed 000's psi operator (grey level, automatic gamma,
  Gaussian high-pass) and :func:`psi_loss` (eq. 5); inputs are RGB or grey images.
- :mod:`~rgb2depth.losses.adversarial`: Wasserstein critic / generator losses with the
  gradient and drift penalties (seed 000), BCE GAN losses (seeds 001, 002) and
  :func:`feature_mae`; these take critic scores, logits or features, not depth maps.
"""

from rgb2depth.losses.adversarial import (
    bce_discriminator_loss,
    bce_generator_loss,
    drift_penalty,
    feature_mae,
    gradient_penalty,
    wasserstein_critic_loss,
    wasserstein_estimate,
    wasserstein_generator_loss,
)
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
from rgb2depth.losses.psi import (
    Psi,
    PsiLoss,
    auto_gamma,
    gaussian_highpass,
    grey_level,
    psi,
    psi_loss,
)
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
    "Psi",
    "PsiLoss",
    "ResNet50Stage1",
    "SSIMLoss",
    "auto_gamma",
    "autoencoder_encoder",
    "bce_discriminator_loss",
    "bce_generator_loss",
    "build_feature_extractor",
    "drift_penalty",
    "edge_aware_l1",
    "edge_weights",
    "feature_mae",
    "gaussian_highpass",
    "gradient_loss",
    "gradient_penalty",
    "grey_level",
    "image_gradients",
    "l1_loss",
    "masked_mean",
    "mse_loss",
    "perceptual_loss",
    "psi",
    "psi_loss",
    "resnet50_stage1",
    "ssim_loss",
    "wasserstein_critic_loss",
    "wasserstein_estimate",
    "wasserstein_generator_loss",
]
