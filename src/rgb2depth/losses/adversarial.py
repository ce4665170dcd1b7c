"""Adversarial losses: Wasserstein with gradient penalty (seed 000), BCE GAN (seeds 001, 002).

Scores and logits may have any shape (B,), (B, 1) or a PatchGAN map (B, 1, h, w); every
function averages over all their elements. Everything is reduced in float32 (float64
stays float64), so scores produced under ``torch.autocast`` in float16 or bfloat16 give
float32 losses.

Seed 000's critic risk (eq. 2) and generator risk (eq. 3), with ``f`` the critic::

    R_cri = mean f(fake) - mean f(real) + p * mean(((||grad f(x~)|| - 1)_+)^2)
    R_adv = -mean f(fake)

built here from :func:`wasserstein_critic_loss`, :func:`gradient_penalty` and
:func:`wasserstein_generator_loss`; the authors' code adds :func:`drift_penalty`.
The perceptual reconstruction of eq. 5 compares critic features with :func:`feature_mae`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from rgb2depth.errors import InputError


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__


def _float(x: object, name: str) -> Tensor:
    """Check a non-empty floating tensor and return it in float32 (float64 kept)."""
    if not isinstance(x, Tensor) or x.numel() == 0 or not x.is_floating_point():
        what = f"{x.dtype} {_shape(x)}" if isinstance(x, Tensor) else _shape(x)
        raise InputError(f"expected a non-empty floating-point tensor of {name}, got {what}")
    return x if x.dtype == torch.float64 else x.float()


# -- Wasserstein (seed 000) -------------------------------------------------------------------


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The critic's Wasserstein loss ``mean(fake) - mean(real)`` (seed 000 eq. 2, first terms).

    The critic minimises it, i.e. maximises its estimate of the Wasserstein-1 distance;
    add :func:`gradient_penalty` (and optionally :func:`drift_penalty`).

    Args:
        real_scores: critic outputs on real samples, any shape (B, ...), unbounded reals.
        fake_scores: critic outputs on generated samples, any shape.

    Returns:
        0-d float32 tensor, in critic-score units.
    """
    return _float(fake_scores, "fake scores").mean() - _float(real_scores, "real scores").mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """The generator's adversarial loss ``-mean(fake)`` (seed 000 eq. 3).

    Args:
        fake_scores: critic outputs on generated samples, any shape (B, ...).

    Returns:
        0-d float32 tensor, in critic-score units.
    """
    return -_float(fake_scores, "fake scores").mean()


def wasserstein_estimate(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The critic's estimate of the Wasserstein-1 distance ``mean(real) - mean(fake)``.

    For logging (the curve seed 000 plots); detached from the graph.

    Returns:
        0-d float32 tensor without gradient; ``-wasserstein_critic_loss``.
    """
    real = _float(real_scores, "real scores").detach()
    fake = _float(fake_scores, "fake scores").detach()
    return real.mean() - fake.mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    weight: float = 100.0,
    one_sided: bool = True,
) -> tuple[Tensor, Tensor]:
    """Gradient penalty on random interpolates between real and fake samples.

    For each sample n, ``x_n = eps_n * real_n + (1 - eps_n) * fake_n`` with
    ``eps_n ~ U[0, 1]`` drawn from torch's global RNG on ``real``'s device (seed 000 writes
    ``eps * fake + (1 - eps) * real``, the same distribution). ``g_n`` is the gradient of
    ``critic(x).sum()`` with respect to ``x_n``, ``||g_n||`` its L2 norm over all non-batch
    dimensions, and the penalty is

    - one-sided (seed 000 eq. 2, its code): ``weight * mean(max(||g_n|| - 1, 0)^2)``;
    - two-sided (WGAN-GP, Gulrajani et al. 2017): ``weight * mean((||g_n|| - 1)^2)``.

    The gradient is taken with ``create_graph=True``, so the penalty is differentiable
    with respect to the critic's parameters. ``real`` and ``fake`` are detached: the
    penalty trains the critic only.

    Mixed precision: the interpolation, the critic's forward pass on ``x`` and the
    gradient run in float32 with autocast disabled, the inputs cast to float32 (float64
    kept). A float16 gradient of a gradient can underflow or overflow, and a GradScaler
    only rescales the final loss, not the inner ``autograd.grad``; computing the penalty in
    float32 makes it the same with or without autocast and needs no GradScaler handling
    (no unscaling of the inner gradient). The critic's parameters are expected in float32
    (the usual AMP set-up).

    Args:
        critic: maps a batch like ``real`` to scores of any shape (B, ...), e.g. an
            ``nn.Module``; its output is summed, so a PatchGAN map counts every patch.
        real: (B, ...) real samples, e.g. (B, 1, H, W) depth in [-1, 1].
        fake: generated samples of ``real``'s shape.
        weight: the penalty factor p; 100 in seed 000 (10 in WGAN-GP).
        one_sided: penalise only norms above 1 (seed 000) or any deviation from 1.

    Returns:
        ``(penalty, grad_norm_mean)``: the 0-d float32 penalty (in the graph), and the
        detached mean of ``||g_n||`` over the batch, for logging.

    Raises:
        InputError: ``real`` and ``fake`` of different shapes, not floating, or no batch.
    """
    real32 = _float(real, "real samples").detach()
    fake32 = _float(fake, "fake samples").detach()
    if real32.shape != fake32.shape or real32.ndim < 2:
        raise InputError(
            "expected real and fake samples of the same (B, ...) shape, "
            f"got {_shape(real)} and {_shape(fake)}"
        )
    with torch.autocast(device_type=real32.device.type, enabled=False):
        shape = (real32.shape[0],) + (1,) * (real32.ndim - 1)
        eps = torch.rand(shape, device=real32.device, dtype=real32.dtype)
        x = (eps * real32 + (1.0 - eps) * fake32).requires_grad_(True)
        scores = critic(x)
        (grad,) = torch.autograd.grad(_float(scores, "critic scores").sum(), x, create_graph=True)
        norm = torch.linalg.vector_norm(grad.flatten(1), ord=2, dim=1)
        excess = norm - 1.0
        if one_sided:
            excess = excess.clamp_min(0.0)
        penalty = weight * excess.square().mean()
    return penalty, norm.detach().mean()


def drift_penalty(real_scores: Tensor, fake_scores: Tensor, weight: float = 0.0005) -> Tensor:
    """Drift term ``weight * (mean(real^2) + mean(fake^2))`` of seed 000's code.

    Not in the paper's text (FIELD-NOTES section 2): it keeps the critic's scores near 0
    (Karras et al. 2018, progressive GAN); optional, add it to the critic's loss.

    Args:
        real_scores: critic outputs on real samples, any shape (B, ...).
        fake_scores: critic outputs on generated samples, any shape.
        weight: the factor, 0.0005 in the code.

    Returns:
        0-d float32 tensor, >= 0, in squared critic-score units.
    """
    real = _float(real_scores, "real scores")
    fake = _float(fake_scores, "fake scores")
    return weight * (real.square().mean() + fake.square().mean())


# -- binary cross-entropy (seeds 001, 002) ----------------------------------------------------


def _bce(logits: Tensor, label: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(label)))


def bce_discriminator_loss(
    real_logits: Tensor,
    fake_logits: Tensor,
    *,
    real_label: float = 1.0,
    fake_label: float = 0.0,
) -> Tensor:
    """Discriminator loss ``0.5 * (BCE(real, real_label) + BCE(fake, fake_label))``.

    Binary cross-entropy on logits (``sigmoid`` inside, numerically stable), each term a
    mean over all elements (a PatchGAN map counts every patch). The factor 0.5 is
    pix2pix's (seed 002's reference code) and equals seed 001's eq. 2 on a batch of B real
    and B fake maps; the GAN objective (seed 001 eq. 1, seed 002 eq. 2) is twice it.

    Label convention: by default 1 = real, 0 = fake. Seed 001's text says its
    discriminator outputs 0 for "real" and 1 for "fake", but its eq. 1 (``D(x)`` the
    probability of being real) implies 1 = real; pass ``real_label=0.0, fake_label=1.0``
    for the text's form, or e.g. ``real_label=0.9`` for one-sided label smoothing.

    Args:
        real_logits: discriminator logits on real samples (or real pairs), any shape.
        fake_logits: logits on generated samples, any shape.
        real_label: target for real samples, in [0, 1].
        fake_label: target for generated samples, in [0, 1].

    Returns:
        0-d float32 tensor, in nats; ``ln 2`` for all-zero logits with labels 1 / 0.
    """
    real = _float(real_logits, "real logits")
    fake = _float(fake_logits, "fake logits")
    return 0.5 * (_bce(real, real_label) + _bce(fake, fake_label))


def bce_generator_loss(fake_logits: Tensor, *, real_label: float = 1.0) -> Tensor:
    """Generator's adversarial loss ``BCE(fake, real_label)``: fool the discriminator.

    The non-saturating form (minimise ``-log D(G(x))``, seed 002 eq. 1 and pix2pix's
    code) rather than the saturating ``log(1 - D(G(x)))`` of the min-max objective.
    Label convention as in :func:`bce_discriminator_loss` (default 1 = real).

    Args:
        fake_logits: discriminator logits on generated samples, any shape.
        real_label: the label the generator wants its samples to get, in [0, 1].

    Returns:
        0-d float32 tensor, in nats.
    """
    return _bce(_float(fake_logits, "fake logits"), real_label)


# -- perceptual reconstruction (seed 000 eq. 4 / 5) -------------------------------------------


def feature_mae(features_a: Tensor, features_b: Tensor) -> Tensor:
    """Mean absolute difference of critic features: the perceptual terms of seed 000 eq. 5.

    ``MAE[phi(G(G(x))), phi(x)]`` with ``phi`` the critic's second-to-last layer (its
    layer before pooling or before the final convolution). Gradients flow into both
    arguments; detach the reference features if the critic must not be updated.

    Args:
        features_a: (B, C, h, w) (or any shape) features, e.g. of the reconstruction.
        features_b: features of the same shape, e.g. of the input.

    Returns:
        0-d float32 tensor, in feature units.

    Raises:
        InputError: different shapes.
    """
    a = _float(features_a, "features")
    b = _float(features_b, "features")
    if a.shape != b.shape:
        raise InputError(
            f"expected features of the same shape, got {_shape(features_a)} and "
            f"{_shape(features_b)}"
        )
    return (a - b).abs().mean()
