"""Adversarial training on paired data: seed 001's cGAN and seed 002's pix2pix.

Both methods train ``self.model`` (the generator, the deployed network: image in, depth
in model range [-1, 1] out) against a discriminator that they build themselves from the
model registry (options ``discriminator`` and ``discriminator_kwargs``). Each declares
two optimisation steps, run by the trainer in this order every training step:

1. ``"discriminator"``: the generator makes ``fake = G(rgb)`` once, with its graph,
   kept for the next step; the discriminator minimises
   ``0.5 * (BCE(D(real), 1) + BCE(D(fake.detach()), 0))``
   (:func:`~rgb2depth.losses.bce_discriminator_loss`), so the generator gets no
   gradient from it (the step declares ``freeze_others=False`` so that the fake keeps
   its graph, and detaches it itself).
2. ``"generator"``, on the same batch (``shares_batch``): the generator minimises
   ``BCE(D(fake), 1) + lambda * pixel(fake, depth)`` over valid pixels (the non-saturating
   adversarial term, :func:`~rgb2depth.losses.bce_generator_loss`) with the fake of step
   1 and the discriminator as just updated; the discriminator's parameters are frozen
   by the trainer, so its weights do not change.

Labels: 1 = real, 0 = generated. Seed 001's text says its discriminator outputs 0 for
"real" and 1 for "fake", but its eq. 1 (``D(x)`` the probability of being real, maximised
on real maps) implies 1 = real; we follow eq. 1. Seed 002 and the pix2pix reference use
1 = real.

**One batch and one fake per training step**, as the pix2pix reference
(``Pix2PixModel.optimize_parameters``): ``G`` runs once, ``D`` then ``G`` update on the
same batch and the same fake. ``benchmarks/bench_pix2pix.py`` times the two side by side.

**Invalid depth.** Real depth maps hold +1 (the far end) at invalid pixels
(:mod:`rgb2depth.data.contract`). With ``fill_invalid`` (default) the generated depth
gets +1 at the same pixels before the discriminator sees it, so real and generated maps
differ only where the depth is known and the discriminator cannot tell them apart by
the holes. The pixel term always counts valid pixels only
(:func:`~rgb2depth.losses.mse_loss`, :func:`~rgb2depth.losses.l1_loss`). The seeds do
not mask (their data have no holes, or they do not say).

Logged terms: discriminator step ``d_real``, ``d_fake`` (mean sigmoid of the logits on
real and on generated depth: the discriminator's probability of "real"); generator step
``adv`` (the adversarial term, nats), ``mse`` or ``l1`` (the pixel term, model-range
units) and ``d_fake``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from rgb2depth.errors import InputError
from rgb2depth.losses import bce_discriminator_loss, bce_generator_loss, l1_loss, mse_loss
from rgb2depth.methods.base import (
    Method,
    MethodContext,
    OptimStep,
    check_weight,
    register_method,
)

__all__ = ["CGAN", "Pix2Pix"]

INVALID_FILL = 1.0
"""Model-range value of invalid depth pixels (``ToModelRange.fill``'s default, the far end)."""

D_STEP, G_STEP = "discriminator", "generator"


def _forward_inputs(module: nn.Module) -> int:
    """How many tensors ``module.forward`` can take positionally."""
    params = inspect.signature(module.forward).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in params)


class _PairedGAN(Method):
    """What the two methods share; subclasses set the pixel term and the conditioning."""

    data = "paired"
    conditional: ClassVar[bool] = False
    """True: the discriminator sees ``(rgb, depth)``; False: depth only."""
    pixel_name: ClassVar[str] = "mse"
    lambda_key: ClassVar[str] = "lambda_mse"

    def __init__(self, model: nn.Module, options: Any, context: MethodContext) -> None:
        super().__init__(model, options, context)
        from rgb2depth.models import create_model

        self.weight = check_weight(getattr(options, self.lambda_key), self.lambda_key)
        if not isinstance(options.fill_invalid, bool):
            raise InputError(
                f"method.fill_invalid must be true or false, got {options.fill_invalid!r}"
            )
        kwargs = options.discriminator_kwargs
        if not isinstance(kwargs, Mapping):
            raise InputError(
                "method.discriminator_kwargs must be a mapping of the discriminator's "
                f"settings, e.g. {{base_width: 64}}, got {kwargs!r}"
            )
        in_channels = context.in_channels + 1 if self.conditional else 1
        try:
            self.discriminator = create_model(
                options.discriminator, **{"in_channels": in_channels, **kwargs}
            )
        except InputError as e:
            raise InputError(f"method.discriminator: {e}") from None
        if self.conditional and _forward_inputs(self.discriminator) < 2:
            raise InputError(
                f"method.discriminator {options.discriminator!r} takes one input, but "
                f"method {self.name} needs a conditional discriminator, forward(image, "
                "depth), such as pix2pix_patchgan"
            )

        self._fake: tuple[Tensor, Tensor] | None = None  # (the batch's rgb, G(rgb))

    def networks(self) -> dict[str, nn.Module]:
        return {"model": self.model, "discriminator": self.discriminator}

    def optim_steps(self) -> list[OptimStep]:
        """The discriminator's update, then the generator's on the same batch; learning
        rate and betas come from the run's ``train.lr`` / ``train.betas`` (the configs set
        the papers' Adam 2e-4, (0.5, 0.999))."""
        return [
            OptimStep(D_STEP, list(self.discriminator.parameters()), freeze_others=False),
            OptimStep(
                G_STEP,
                [p for p in self.model.parameters() if p.requires_grad],
                shares_batch=True,
            ),
        ]

    def _generate(self, rgb: Tensor) -> Tensor:
        """``G(rgb)``: the fake the discriminator step made for this very batch, if any
        (used once), else a new forward pass."""
        cached, self._fake = self._fake, None
        if cached is not None and cached[0] is rgb:
            return cached[1]
        return self.model(rgb)

    # ------------------------------------------------------------------ pieces

    def pixel_loss(self, pred: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
        """The supervised term over valid pixels, model-range units (squared for MSE)."""
        raise NotImplementedError

    def as_seen(self, depth: Tensor, mask: Tensor | None) -> Tensor:
        """Generated ``depth`` (B, 1, H, W) as the discriminator sees it: with
        ``fill_invalid``, +1 where ``mask`` (B, 1, H, W) is False, like the real maps."""
        if mask is None or not self.options.fill_invalid:
            return depth
        return torch.where(mask, depth, torch.full_like(depth, INVALID_FILL))

    def score(self, rgb: Tensor, depth: Tensor) -> Tensor:
        """Discriminator logits for depth maps (B, 1, H, W) in model range, conditioned on
        ``rgb`` (B, C, H, W) when :attr:`conditional`; any output shape (B, ...)."""
        self._check_size(depth)
        if self.conditional:
            return self.discriminator(rgb, depth)
        return self.discriminator(depth)

    def _check_size(self, depth: Tensor) -> None:
        size = getattr(self.discriminator, "image_size", None)
        if size is not None and tuple(depth.shape[-2:]) != tuple(size):
            h, w = depth.shape[-2:]
            raise InputError(
                f"method.discriminator_kwargs.image_size is {size[0]}x{size[1]}, but the "
                f"training depth maps are {h}x{w} (data.size); set "
                f"method.discriminator_kwargs.image_size to [{h}, {w}]"
            )

    # ------------------------------------------------------------------ losses

    def loss(self, step: str, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, float]]:
        """The loss of optimisation step ``step`` on ``batch`` (the data contract).

        Returns:
            ``(loss, terms)``: the 0-d loss in nats (plus ``lambda`` times the pixel
            term for the generator) and the logged terms (see the module docstring).

        Raises:
            InputError: an unknown step name.
        """
        rgb, depth, mask = batch["rgb"], batch["depth"], batch.get("mask")
        if step == D_STEP:
            pred = self.model(rgb)
            self._fake = (rgb, pred) if pred.requires_grad else None
            fake = self.as_seen(pred.detach(), mask)
            real_logits = self.score(rgb, depth)
            fake_logits = self.score(rgb, fake)
            loss = bce_discriminator_loss(real_logits, fake_logits)
            return loss, {
                "d_real": float(torch.sigmoid(real_logits.detach().float()).mean()),
                "d_fake": float(torch.sigmoid(fake_logits.detach().float()).mean()),
            }
        if step == G_STEP:
            pred = self._generate(rgb)
            fake_logits = self.score(rgb, self.as_seen(pred, mask))
            adv = bce_generator_loss(fake_logits)
            pixel = self.pixel_loss(pred, depth, mask)
            loss = adv + self.weight * pixel.float()
            return loss, {
                "adv": float(adv.detach()),
                self.pixel_name: float(pixel.detach()),
                "d_fake": float(torch.sigmoid(fake_logits.detach().float()).mean()),
            }
        raise InputError(f"method {self.name}: unknown step {step!r}; steps: {D_STEP}, {G_STEP}")


@register_method
class CGAN(_PairedGAN):
    """Seed 001's conditional GAN: gray face -> depth, BCE adversarial + lambda * MSE.

    The generator (``model``, e.g. ``face_cgan_generator``) maps the gray image
    (B, 1, H, W) in [-1, 1] to depth (B, 1, H, W) in [-1, 1]. The discriminator
    (``face_cgan_discriminator`` by default) is **not conditioned on the image**: as the
    seed says, it "takes as input a depth map" (real or generated) and scores it, so it is
    built with ``in_channels=1``. Its fully connected layer fixes its input size: set
    ``discriminator_kwargs.image_size`` to ``data.size`` (96x96 in the seed).

    Generator loss (seed 001 eq. 5): ``lambda_mse * MSE(G(x), y) + BCE(D(G(x)), 1)``, the
    MSE over valid pixels in model-range units (eq. 3). Discriminator loss (eq. 2): the
    binary cross-entropy over B real and B generated maps, real = 1.

    Options:
        discriminator: a registered network taking one depth map (B, 1, H, W).
        discriminator_kwargs: its settings (``in_channels`` defaults to 1).
        lambda_mse: the weight lambda of eq. 5. **The seed does not give its value**; 100 is
            our choice (pix2pix's weight of its pixel term, the method seed 001 compares
            with), which keeps the MSE (about 1e-2 in model-range units early on) from being
            drowned by the adversarial term (about 0.7 nats).
        fill_invalid: see the module docstring.
    """

    name = "cgan"
    paper = "seed 001 (Pini et al. 2018, Learning to Generate Facial Depth Maps)"
    example: ClassVar[dict[str, Any]] = {
        "model": {
            "name": "face_cgan_generator",
            "kwargs": {"encoder_widths": [4, 8, 8, 8], "decoder_widths": [8, 8, 4, 4]},
        },
        "method": {"discriminator_kwargs": {"widths": [4, 8, 8, 8], "image_size": 32}},
        "size": [32, 32],
        "grayscale": True,
    }

    @dataclass
    class Options:
        discriminator: str = "face_cgan_discriminator"
        discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
        lambda_mse: float = 100.0
        fill_invalid: bool = True

    conditional = False
    pixel_name = "mse"
    lambda_key = "lambda_mse"

    def pixel_loss(self, pred: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
        return mse_loss(pred, target, mask)


@register_method
class Pix2Pix(_PairedGAN):
    """Seed 002's pix2pix: RGB -> depth, conditional PatchGAN, BCE + lambda_l1 * L1.

    The generator (``model``, ``pix2pix_unet``) maps RGB (B, 3, H, W) in [-1, 1] to depth
    (B, 1, H, W) in [-1, 1]; H and W multiples of 256. Its weights already start from
    N(0, 0.02) (BatchNorm scales N(1, 0.02)): ``pix2pix_unet`` and ``pix2pix_patchgan``
    apply :func:`~rgb2depth.models.blocks.normal_init` when they are built, so the method
    does not initialise again. The discriminator (``pix2pix_patchgan``, the 70x70
    PatchGAN) **is conditional**: ``forward(rgb, depth)`` concatenates the image and the
    real or generated depth map, ``in_channels`` = image channels + 1 by default.

    Generator loss: ``BCE(D(x, G(x)), 1) + lambda_l1 * L1(G(x), y)`` (the reference's
    vanilla GAN loss, BCE on logits, and lambda_L1 = 100), the L1 over valid pixels in
    model-range units. Discriminator loss: ``0.5 * (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0))``,
    halved as the reference does, each BCE a mean over the patch grid.

    The reference's other defaults belong to the config: batch 1, Adam 2e-4 with betas
    (0.5, 0.999), the ``pix2pix`` data preset (resize to 286/256 of the size, random crop,
    flip). Unlike the reference's ``test.py`` (which keeps dropout and batch statistics on
    unless ``--eval``), validation and prediction here run the generator in eval mode.

    Options:
        discriminator: a registered network with ``forward(image, depth)``.
        discriminator_kwargs: its settings (``in_channels`` defaults to image channels + 1).
        lambda_l1: the weight of the L1 term (100, seed 002 and the reference).
        fill_invalid: see the module docstring.
    """

    name = "pix2pix"
    paper = "seed 002 (pix2pix face depth; Isola et al. 2017)"
    example: ClassVar[dict[str, Any]] = {
        "model": {"name": "pix2pix_unet", "kwargs": {"base_width": 2}},
        "method": {"discriminator_kwargs": {"base_width": 2}},
        "size": [256, 256],  # the smallest size the fixed 8-level U-Net accepts
    }

    @dataclass
    class Options:
        discriminator: str = "pix2pix_patchgan"
        discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
        lambda_l1: float = 100.0
        fill_invalid: bool = True

    conditional = True
    pixel_name = "l1"
    lambda_key = "lambda_l1"

    def pixel_loss(self, pred: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
        return l1_loss(pred, target, mask)
