"""Supervised training on paired synthetic data, adapted to real photos by a depth critic.

One registered method, ``adapt``: the ``supervised`` method (its loss, ``weights``,
``align`` and ``anchor_weight``, built by :class:`~rgb2depth.methods.supervised.Supervised`
itself) on the paired training split, plus seed 000's Wasserstein critic on the depth
domain (Algorithm 1, with the one-sided gradient penalty of eq. 2; Appendix C adds
RGB-only portraits to the RGB domain the same way) fed by a folder of unpaired real
photos (``extra_rgb``). Supervision is never dropped: the adversarial term only adds
to the supervised loss.

One training step runs two optimisation steps, each on a fresh batch (a paired
synthetic sample and an unpaired photo per item, :class:`PhotoPairs`):

``critic`` (repeats ``n_critic``; Adam with ``critic_betas``, seed 000's (0, 0.9)) ::

    R_cri(D) = mean D(v(G(photo))) - mean D(v(real)) + p * mean(((||grad D(y~)|| - 1)_+)^2)

``model`` (repeats 1; the run's ``train.lr`` / ``train.betas``) ::

    loss = L_sup(G(x), y) + lambda_adv * (-mean D(v(G(photo))))

with L_sup exactly the ``supervised`` method's loss on the paired batch (x, y) and
p = ``gp_weight`` (100, seed 000), penalised on random interpolates between the real
and fake critic inputs (:func:`rgb2depth.losses.gradient_penalty`, as ``unsupervised``).
With ``lambda_adv`` 0 the photo is not even predicted in the ``model`` step: the loss
is the supervised loss, bit for bit.

What the critic sees, ``v``. Depth in the model range, (B, 1, H, W):

- ``critic_align: median`` (default): each map shifted by its own median, so the critic
  judges the relief and not the distance, which a face crop hides (the supervised loss
  is made shift-invariant the same way by ``align: median``); ``none``: as it is.
- ``critic_background`` says what the *real* maps hold where the synthetic depth is
  invalid (the background: about 70 % of a 128x128 face crop of ``configs/faces.yaml``,
  stored as +1, the far end). ``prediction`` (default): the model's own prediction for
  that synthetic image, shifted to the ground truth's median over the valid pixels (as
  ``align: median`` shifts it), so that a real map is "the model's depth map with the
  face replaced by the truth". The supervised loss never constrains the background, and
  the model predicts it near the face's depth, so with the fill the critic would tell
  real from fake by the background alone. A real map then has no invalid pixel, and
  ``median`` takes every pixel's median, as for the fakes. ``fill``: the ground truth as
  stored, fill included (seed 000's critic input); with ``median`` the valid pixels are
  shifted by their median and the fill stays +1 (a prediction for a photo has no mask:
  all its pixels are shifted by their median).

The fakes are the model's predictions for the photos (in training mode, as
``unsupervised`` makes them: BatchNorm statistics see the photos too).

Batches (:mod:`rgb2depth.data.contract`, plus two keys): ``rgb`` (B, C, H, W),
``depth`` and ``mask`` (B, 1, H, W), ``name``, and ``photo`` (B, C, H, W): an
unpaired real photo through the same transform as ``rgb`` (the preset's augmentation,
resized to ``data.size``, model range [-1, 1]), ``photo_name`` its path under
``extra_rgb``. The photos should be framed as the training images are (for face crops:
``scripts/crop_faces.py``, the crop window of face mode). H and W are multiples of 16
(the critic).

Units: images and depth in the model range [-1, 1]; critic scores unbounded reals;
every loss a 0-d float32 tensor.

Options: :class:`Adapt.Options`. Fine-tuning a trained model (the bundled ``faces``)
uses the trainer's ``model.init``, which any method takes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from rgb2depth.errors import InputError
from rgb2depth.methods.base import MethodContext, OptimStep, register_method
from rgb2depth.methods.options import (
    check_betas,
    check_bool,
    check_int,
    check_number,
    check_optional_lr,
    create_network,
    critic_settings,
)
from rgb2depth.methods.supervised import Supervised, masked_median
from rgb2depth.methods.unsupervised import list_rgb_folder

__all__ = ["CRITIC_ALIGNS", "CRITIC_BACKGROUNDS", "Adapt", "PhotoPairs"]

CRITIC_ALIGNS = ("median", "none")
"""How each depth map is shifted before the critic sees it."""
CRITIC_BACKGROUNDS = ("prediction", "fill")
"""What a real map holds where the synthetic depth is invalid."""


class PhotoPairs(Dataset):
    """The paired training samples, each with an unpaired RGB-only photo.

    Item ``i`` is paired sample ``i`` (through its own transform) plus photo ``j`` drawn
    uniformly with torch's RNG after that transform ran (so under the trainer's
    per-item seed, :class:`~rgb2depth.engine.data.SeededItems`, the batch of step ``b``
    depends only on ``(seed, b)``, as for every method), read as (H, W, 3) uint8 and
    passed through ``transform`` alone: the photo's augmentation is drawn independently.

    Args:
        paired: the paired samples (:class:`~rgb2depth.data.PairedDepthDataset`).
        photos: photo files (at least one).
        base: the folder they were found in (``photo_name`` is relative to it).
        transform: the training transform (:mod:`rgb2depth.data.transforms`).

    Item keys: the paired sample's, plus ``photo`` (C, H, W) and ``photo_name`` (str).
    """

    def __init__(
        self, paired: Dataset, photos: list[Path], base: str | Path, transform: Any
    ) -> None:
        if not photos:
            raise InputError("no photo to pair the training samples with")
        self.paired = paired
        self.photos = list(photos)
        base = Path(base)
        self.photo_names = [p.relative_to(base).with_suffix("").as_posix() for p in photos]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paired)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        from rgb2depth.data.datasets import rgb_to_tensor
        from rgb2depth.data.io import read_rgb

        sample = dict(self.paired[index])
        j = int(torch.randint(len(self.photos), ()).item())
        photo: dict[str, Any] = {"rgb": rgb_to_tensor(read_rgb(self.photos[j]))}
        if self.transform is not None:
            photo = self.transform(photo)
        sample["photo"] = photo["rgb"]
        sample["photo_name"] = self.photo_names[j]
        return sample


# --------------------------------------------------------------------------- example


def example_photos() -> Path:
    """A folder of 4 tiny seeded pictures (32x40 PNG) in the temporary folder, made on
    first use: the ``extra_rgb`` of the method's example run (the generated tests)."""
    import numpy as np

    from rgb2depth.data.io import atomic_dir, save_png

    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"rgb2depth-adapt-example-{uid}"
    names = [f"photo{i}.png" for i in range(4)]
    if all((folder / n).is_file() for n in names):
        return folder
    rng = np.random.default_rng(0)
    try:
        with atomic_dir(folder, overwrite=True) as tmp:
            for n in names:
                coarse = rng.integers(0, 256, size=(4, 5, 3))
                img = np.kron(coarse, np.ones((8, 8, 1))).astype(np.uint8)  # 32x40 blocks
                save_png(tmp / n, img)
    except InputError:
        if not all((folder / n).is_file() for n in names):  # (not made by another process)
            raise
    return folder


class _Example:
    """The example run as a class attribute whose photo folder exists when it is read."""

    def __get__(self, obj: object, owner: type | None = None) -> dict[str, Any]:
        return {
            "model": {"name": "light_unet", "kwargs": {"channels": [4, 8, 8, 8, 8]}},
            "method": {
                "align": "median",
                "extra_rgb": str(example_photos()),
                "critic_kwargs": {"base_width": 2},
                "n_critic": 2,
                "lambda_adv": 0.1,
            },
        }


# --------------------------------------------------------------------------- method


@register_method
class Adapt(Supervised):
    """``supervised`` on paired data plus a WGAN-GP depth critic on unpaired real photos.

    Networks (:meth:`networks`): ``model`` (RGB -> depth, deployed) and ``critic`` (depth,
    a registered seed-000 critic). Validation and prediction are :class:`Supervised`'s.
    See the module docstring for the two optimisation steps and the critic's input.
    """

    name = "adapt"
    paper = (
        "seed 004's supervised loss on paired synthetic data + seed 000's WGAN-GP depth "
        "critic (Alg. 1, App. C) on unpaired real photos"
    )
    data = "paired"
    example: ClassVar[dict[str, Any]] = _Example()  # type: ignore[assignment]

    @dataclass
    class Options(Supervised.Options):
        extra_rgb: str | None = None
        """Required: a folder of real RGB photos (.png, .jpg, .jpeg, searched recursively;
        no depth), framed like the training images."""
        lambda_adv: float = 0.005
        """Weight of the adversarial term -mean D(v(G(photo))) against the supervised loss.
        The term's gradient on the model is far larger than the supervised loss's: on the
        bundled ``faces`` model (128x128, batch 8) about 70-90 times once the critic has
        trained for 50-150 updates (docs/adapt.md), so 0.005 makes it about 0.4 of the
        supervised gradient: the supervised loss still leads."""
        critic: str = "dcgan_critic"
        """``dcgan_critic`` or ``patchgan_critic`` (seed 000, Appendix B)."""
        critic_kwargs: dict[str, Any] = field(default_factory=lambda: {"base_width": 16})
        """The critic's settings (``base_width``, ``norm``); in_channels is set here."""
        n_critic: int = 2
        """Critic updates per training step, each on a fresh batch."""
        gp_weight: float = 100.0
        """p, the gradient penalty's weight (seed 000: 100); 0: off."""
        gp_two_sided: bool = False
        """Penalise any deviation of the gradient norm from 1 (WGAN-GP), not only norms
        above 1 (seed 000)."""
        critic_align: str = "median"
        """``median``: each map the critic sees is shifted by its median; ``none``."""
        critic_background: str = "prediction"
        """Real maps where the synthetic depth is invalid: ``prediction`` or ``fill``."""
        lr_critic: float | None = None
        """The critic's learning rate; null: the run's train.lr."""
        critic_betas: list[float] = field(default_factory=lambda: [0.0, 0.9])
        """Adam's (beta1, beta2) of the critic (seed 000: 0, 0.9)."""
        critic_grad_clip: float | None = 0.0
        """Gradient clipping of the critic (0: off, as seed 000); null: the run's
        train.grad_clip."""

    def __init__(self, model: nn.Module, options: Any, context: MethodContext) -> None:
        super().__init__(model, options, context)  # the supervised loss, checked
        o = options
        if o.extra_rgb is None:
            raise InputError(
                "method.extra_rgb is required for method adapt: a folder of real RGB photos "
                "(.png, .jpg, .jpeg) framed like the training images"
            )
        if not isinstance(o.extra_rgb, str):
            raise InputError(f"method.extra_rgb must be a folder path, got {o.extra_rgb!r}")
        check_number("lambda_adv", o.lambda_adv)
        check_int("n_critic", o.n_critic, 1)
        check_number("gp_weight", o.gp_weight)
        check_bool("gp_two_sided", o.gp_two_sided)
        check_optional_lr("lr_critic", o.lr_critic)
        if o.critic_grad_clip is not None:
            check_number("critic_grad_clip", o.critic_grad_clip)
        check_betas("critic_betas", o.critic_betas)
        if o.critic_align not in CRITIC_ALIGNS:
            raise InputError(
                f"method.critic_align must be one of {', '.join(CRITIC_ALIGNS)}, "
                f"got {o.critic_align!r}"
            )
        if o.critic_background not in CRITIC_BACKGROUNDS:
            raise InputError(
                f"method.critic_background must be one of {', '.join(CRITIC_BACKGROUNDS)}, "
                f"got {o.critic_background!r}"
            )
        critic, ckwargs = critic_settings(o.critic, o.critic_kwargs)
        depth_ch = int(getattr(model, "out_channels", 1))
        self.critic = create_network(
            "method.critic_kwargs", critic, {**ckwargs, "in_channels": depth_ch}
        )
        try:
            self.extra_files = list_rgb_folder(o.extra_rgb)
        except InputError as e:
            raise InputError(f"{e} (face crops of photos: scripts/crop_faces.py)") from None

    # ------------------------------------------------------------------ data

    def train_data(self, root: str | Path, split: str, transform: Any) -> Dataset:
        """The split's paired samples, each with a photo of ``extra_rgb`` (:class:`PhotoPairs`)."""
        from rgb2depth.engine.run import build_train_data

        paired = build_train_data("paired", root, split, transform)
        return PhotoPairs(paired, self.extra_files, str(self.options.extra_rgb), transform)

    # ------------------------------------------------------------------ the Method API

    def networks(self) -> dict[str, nn.Module]:
        return {"model": self.model, "critic": self.critic}

    def optim_steps(self) -> list[OptimStep]:
        o = self.options
        clip = None if o.critic_grad_clip is None else float(o.critic_grad_clip)
        critic = OptimStep(
            "critic",
            [p for p in self.critic.parameters() if p.requires_grad],
            repeats=int(o.n_critic),
            lr=o.lr_critic,
            betas=(float(o.critic_betas[0]), float(o.critic_betas[1])),
            grad_clip=clip,
        )
        return [critic, *super().optim_steps()]  # then Supervised's "model" step

    def loss(self, step: str, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        if step == "critic":
            return self.critic_loss(batch)
        if step == "model":
            return self.generator_loss(batch)
        raise InputError(f"unknown optimisation step {step!r}; known: critic, model")

    # ------------------------------------------------------------------ the critic's input

    def critic_view(self, depth: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """A depth map as the critic sees it (``critic_align``).

        Args:
            depth: (B, 1, H, W) in the model range.
            mask: (B, 1, H, W) bool, the valid pixels; None: every pixel is valid.

        Returns:
            (B, 1, H, W): with ``median``, each map minus its median over the valid pixels
            (invalid pixels keep their value); with ``none``, ``depth`` itself.
        """
        if self.options.critic_align == "none":
            return depth
        if mask is None:
            median = depth.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
            return depth - median
        return torch.where(mask, depth - masked_median(depth, mask), depth)

    def real_view(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """The critic's real samples for a batch: the synthetic depth, its invalid pixels
        as ``critic_background`` says, through :meth:`critic_view`; (B, 1, H, W)."""
        y, mask = batch["depth"], batch["mask"]
        if self.options.critic_background == "fill":
            return self.critic_view(y, mask)
        with torch.no_grad():
            pred = self.model(batch["rgb"])
        pred = pred - masked_median(pred, mask) + masked_median(y, mask)
        return self.critic_view(torch.where(mask, y, pred.to(y.dtype)))

    # ------------------------------------------------------------------ losses

    def critic_loss(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """R_cri (seed 000, eq. 2) of the depth critic: real synthetic maps, fake maps of photos.

        Returns:
            (0-d float32 loss, logs: ``depth/critic`` (the loss), ``depth/wasserstein``
            (mean D(real) - mean D(fake)), ``depth/gp`` and ``depth/grad_norm`` (the
            penalty and the mean gradient norm at the interpolates)).
        """
        from rgb2depth.losses import gradient_penalty, wasserstein_critic_loss, wasserstein_estimate

        o = self.options
        real = self.real_view(batch)
        with torch.no_grad():
            fake = self.critic_view(self.model(batch["photo"])).to(real.dtype)
        real_scores, fake_scores = self.critic(real), self.critic(fake)
        total = wasserstein_critic_loss(real_scores, fake_scores)
        logs = {"depth/wasserstein": float(wasserstein_estimate(real_scores, fake_scores))}
        if o.gp_weight > 0:
            gp, norm = gradient_penalty(
                self.critic, real, fake, weight=float(o.gp_weight), one_sided=not o.gp_two_sided
            )
            total = total + gp
            logs["depth/gp"] = float(gp.detach())
            logs["depth/grad_norm"] = float(norm)
        logs["depth/critic"] = float(total.detach())
        return total, logs

    def adversarial_term(self, photo: torch.Tensor) -> torch.Tensor:
        """R_adv (seed 000, eq. 3): -mean D(v(G(photo))), 0-d, differentiable in the model."""
        from rgb2depth.losses import wasserstein_generator_loss

        return wasserstein_generator_loss(self.critic(self.critic_view(self.model(photo))))

    def generator_loss(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """The ``supervised`` loss on the paired batch + ``lambda_adv`` x :meth:`adversarial_term`.

        Returns:
            (0-d float32 loss, logs: the supervised terms, ``supervised`` (its total) and,
            when ``lambda_adv`` > 0, ``depth/adv``).
        """
        supervised, logs = super().loss("model", batch)
        logs = {**logs, "supervised": float(supervised.detach())}
        weight = float(self.options.lambda_adv)
        if weight == 0:
            return supervised, logs
        adv = self.adversarial_term(batch["photo"])
        logs["depth/adv"] = float(adv.detach())
        return supervised + weight * adv, logs
