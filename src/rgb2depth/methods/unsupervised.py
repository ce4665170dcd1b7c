"""Unpaired RGB -> depth with two WGAN-GP pairs and a reconstruction term (seed 000).

Three registered methods share one class hierarchy (no copy of the training code):

- ``unsupervised`` (seed 000, Algorithm 1): generators G_y (RGB -> depth, the deployed
  ``model``) and G_x (depth -> RGB), Wasserstein critics f_y (on depth) and f_x (on RGB)
  with a one-sided gradient penalty, and the *perceptual reconstruction* of eq. 5.
- ``cycle``: the paper's baseline, the same with CycleGAN's plain MAE cycle terms
  (pixel MAE on RGB and on depth; no psi, no critic features).
- ``semisupervised`` (seed 000, Appendix C): ``unsupervised`` starting G_y from a
  supervised model folder (``pretrained``), with an optional folder of RGB-only photos
  added to the RGB domain (``extra_rgb``).

One training step (one generator update, ``k`` of Algorithm 1) runs two optimisation
steps, each batch holding an RGB image ``x`` and an independently drawn depth map ``y``
(:class:`~rgb2depth.data.UnpairedDepthDataset`):

``critics`` (repeats n_f = ``n_critic``; halved, at least 1, once
``n_critic_halve_after`` generator updates are done: the paper's 24, then 12 after
1000), both critics at once, per domain (eq. 2)::

    R_cri(f_y) = mean f_y(G_y(x)) - mean f_y(y) + p * mean(((||grad f_y(y~)|| - 1)_+)^2)
    R_cri(f_x) = mean f_x(G_x(y)) - mean f_x(x) + p * mean(((||grad f_x(x~)|| - 1)_+)^2)

with p = ``gp_weight`` (100), the penalty two-sided with ``gp_two_sided`` and, with
``drift`` > 0, the authors' code's drift term ``drift * (mean f(real)^2 + mean f(fake)^2)``
(their code: 0.0005; the paper's text has none, so the default is 0).

``generators`` (repeats 1), both generators at once (eq. 3 and eq. 5)::

    loss = -mean f_y(G_y(x)) - mean f_x(G_x(y)) + lambda_rec * R_rec
    R_rec = w_perc * (MAE[phi_x(G_x(G_y(x))), phi_x(x)] + MAE[phi_y(G_y(G_x(y))), phi_y(y)])
          + w_pix  * (MAE[psi(G_x(G_y(x))), psi(x)]    + MAE_valid[G_y(G_x(y)), y])

phi_x, phi_y are the critics' second-to-last layers (``features``), psi the operator of
:mod:`rgb2depth.losses.psi`. (Eq. 5 as printed writes psi(G_y(G_x(x))) in its third
term, which does not type-check, RGB -> RGB needs G_x after G_y; read as the RGB cycle.)
The sum over both generators' losses gives each generator exactly the gradient of
Algorithm 1 (each adversarial term depends on one generator only). The ramp:

- ``ramp: paper`` (default, eq. 5 and Algorithm 1): ``w_perc = gamma``,
  ``w_pix = 1 - gamma``, gamma = min(1, k / ``gamma_steps``) before generator update
  k + 1 (0-based step k; the paper: gamma = k / n_G with n_G = 10k updates);
- ``ramp: code`` (the authors' code, FIELD-NOTES section 2): ``w_perc = gamma`` and
  ``w_pix = 1``, i.e. the perceptual weight grows 0 -> lambda_rec while the psi / pixel
  terms keep weight lambda_rec.

A term whose weight is 0 is not computed (so at gamma = 0 the critic features do not
enter the loss at all). ``psi_normalise`` uses the code's normalised psi loss
(``0.5 * mean|psi(x) - psi(rec)| / mean psi(x)``, per sample).

``cycle`` replaces R_rec by ``MAE[G_x(G_y(x)), x] + MAE_valid[G_y(G_x(y)), y]``.

Invalid depth pixels. Depth samples hold ``+1`` (the far end, :mod:`rgb2depth.data.contract`)
where invalid, e.g. the background of a face. The critics and G_x see the depth maps as
they are, fill included: the fill is part of what a real depth map of the domain looks
like (seed 000's face and body depth hold a constant background too), and the
generator is meant to reproduce it. The depth cycle's pixel MAE counts valid pixels only
(a map without any valid pixel contributes 0); the depth cycle's perceptual term compares
critic features of whole maps (a critic has no mask).

Units: images and depth in the model range [-1, 1]; critic scores and features are
unbounded reals; every loss is a 0-d float32 tensor.

Options (``method`` section of a config; every one keyword-only with a default):
:class:`Unsupervised.Options`, :class:`Cycle.Options`, :class:`SemiSupervised.Options`.
The paper tunes alpha_f, alpha_G and lambda_rec per experiment (Tables 1-3); the
defaults here are its best face run (Table 2, DCGAN critic + ResNet18: alpha_f 5e-5,
alpha_G 1e-4, lambda_rec 80) and, for ``cycle``, lambda_rec 20 (its cycle runs on
surfaces and bodies; the face cycle run used 2). The learning rates default to the
run's ``train.lr``; set ``lr_critic`` / ``lr_generator`` for the paper's two rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, cast

import torch
from torch import nn
from torch.utils.data import Dataset

from rgb2depth.errors import InputError
from rgb2depth.methods.base import Method, MethodContext, OptimStep, register_method
from rgb2depth.methods.options import (
    CRITICS,
    check_betas,
    check_bool,
    check_int,
    check_number,
    check_optional_lr,
    check_spec,
    create_network,
    critic_settings,
)

__all__ = ["CRITICS", "RAMPS", "Cycle", "SemiSupervised", "Unsupervised"]

"""The critics that have ``features`` (seed 000, Appendix B, Tables 4 and 5)."""
RAMPS = ("paper", "code")
"""How the perceptual weight grows: eq. 5's gamma / (1 - gamma), or the code's gamma / 1."""


# --------------------------------------------------------------------------- checks


def same_architecture(model: nn.Module, *, in_channels: int, out_channels: int) -> nn.Module:
    """A fresh network of ``model``'s registered architecture with other channels.

    Finds the registry entry whose builder is ``type(model)`` and reads each of its
    keyword settings back from the attribute of the same name (the seed-000 generators
    keep ``base_width``, ``norm``, ``n_blocks``, ... as attributes).

    Raises:
        InputError: ``model`` is not a registered class, or one of its settings is not
            readable from it; the message says to set ``method.generator_x``.
    """
    from rgb2depth.models import get_entry, list_models

    names = [n for n in list_models() if get_entry(n).builder is type(model)]
    hint = "set method.generator_x: {name: <model>, kwargs: {...}} (depth in, RGB out)"
    if not names:
        raise InputError(f"cannot build G_x like the model ({type(model).__name__}); {hint}")
    name = names[0]
    settings = {}
    for key in get_entry(name).defaults:
        if key in ("in_channels", "out_channels"):
            continue
        if not hasattr(model, key):
            raise InputError(
                f"cannot build G_x like the model: {name} does not keep its setting {key!r}; {hint}"
            )
        settings[key] = getattr(model, key)
    return create_network(
        "G_x", name, {**settings, "in_channels": in_channels, "out_channels": out_channels}
    )


def _features(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The critic's second-to-last layer (phi of eq. 5), (B, C', h, w)."""
    return cast(Any, critic).features(x)


def _optim_params(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


# --------------------------------------------------------------------------- options


DOMAINS = ("all", "alternate_groups")


@dataclass
class _WGANOptions:
    """Options every method of this module takes (see the module docstring)."""

    generator_x: dict[str, Any] | None = None
    """G_x (depth -> RGB) as ``{name, kwargs}`` (in/out channels are set here); null:
    the model's architecture and settings with the channels swapped."""
    critic: str = "dcgan_critic"
    """``dcgan_critic`` or ``patchgan_critic``, for both domains."""
    critic_kwargs: dict[str, Any] = field(default_factory=dict)
    """Settings of both critics (``base_width``, ``norm``); in_channels is set here."""
    n_critic: int = 24
    """n_f: critic updates per generator update (the paper: 24)."""
    n_critic_halve_after: int = 1000
    """Halve n_critic (at least 1) once this many generator updates are done; 0: never."""
    gp_weight: float = 100.0
    """p, the gradient penalty's weight (the paper: 100)."""
    gp_two_sided: bool = False
    """Penalise any deviation of the gradient norm from 1 (WGAN-GP), not only norms above 1."""
    drift: float = 0.0
    """Weight of the code's drift term on the critics (its value: 0.0005); 0: off."""
    lambda_rec: float = 80.0
    """Weight of the reconstruction risk (the paper tunes it per run: 2 to 160)."""
    lr_critic: float | None = None
    """alpha_f, the critics' learning rate; null: the run's train.lr."""
    lr_generator: float | None = None
    """alpha_G, the generators' learning rate; null: the run's train.lr."""
    betas: list[float] = field(default_factory=lambda: [0.0, 0.9])
    """Adam's (beta1, beta2) of both steps (the paper: 0, 0.9)."""
    grad_clip: float | None = 0.0
    """Gradient clipping of both steps (0: off, as the paper); null: the run's train.grad_clip."""
    domains: str = "all"
    """Which training samples feed which domain: ``all`` (every RGB image and every depth
    map of the split: on a split stored unpaired, ``rgb2depth generate --unpaired``, the
    domains are already disjoint); ``alternate_groups`` (RGB from the even groups, depth
    from the odd ones: seed 000's protocol on a paired split, so that no identity is in
    both domains). See :class:`~rgb2depth.data.UnpairedDepthDataset`."""


# --------------------------------------------------------------------------- methods


@register_method
class Unsupervised(Method):
    """Seed 000's unsupervised RGB -> depth (Algorithm 1): two WGAN-GPs and eq. 5.

    Networks (:meth:`networks`): ``model`` = G_y (RGB -> depth, deployed), ``generator_x``
    = G_x (depth -> RGB), ``critic_y`` = f_y (depth), ``critic_x`` = f_x (RGB).

    Batches: ``rgb`` (B, C, H, W) and an unpaired ``depth`` (B, 1, H, W) with its
    ``mask`` (B, 1, H, W) bool, all in the model range [-1, 1]; H and W multiples of 16
    (the critics) and of the generators' strides.
    """

    name = "unsupervised"
    paper = "seed 000: WGAN-GP generators and critics with perceptual reconstruction (Alg. 1)"
    data = "unpaired"
    reconstruction: ClassVar[str] = "perceptual"
    """``perceptual`` (eq. 5) or ``cycle`` (plain MAE, the paper's baseline)."""
    example: ClassVar[dict[str, Any]] = {
        "model": {"name": "style_generator", "kwargs": {"base_width": 4, "n_blocks": 1}},
        "method": {
            "critic_kwargs": {"base_width": 2},
            "n_critic": 2,
            "n_critic_halve_after": 1,
            "gamma_steps": 2,
            "lambda_rec": 10.0,
        },
    }

    @dataclass
    class Options(_WGANOptions):
        gamma_steps: int = 10000
        """gamma rises linearly 0 -> 1 over this many generator updates (the paper: n_G = 10k)."""
        ramp: str = "paper"
        """``paper``: gamma / (1 - gamma) on the perceptual / psi+pixel terms; ``code``:
        gamma / 1 (the authors' code)."""
        psi_normalise: bool = False
        """Use the code's normalised psi loss instead of the paper's plain MAE of psi."""

    def __init__(self, model: nn.Module, options: Any, context: MethodContext) -> None:
        super().__init__(model, options, context)
        o = options
        self._check_options(o)
        rgb_ch = int(context.in_channels)
        depth_ch = int(getattr(model, "out_channels", 1))
        if o.generator_x is None:
            self.generator_x = same_architecture(model, in_channels=depth_ch, out_channels=rgb_ch)
        else:
            gname, gkwargs = check_spec("generator_x", o.generator_x)
            for key in ("in_channels", "out_channels"):
                if key in gkwargs:
                    raise InputError(
                        f"method.generator_x.kwargs.{key} is set by the method "
                        "(depth in, RGB out); leave it out"
                    )
            self.generator_x = create_network(
                "method.generator_x",
                gname,
                {**gkwargs, "in_channels": depth_ch, "out_channels": rgb_ch},
            )
        critic, ckwargs = critic_settings(o.critic, o.critic_kwargs)
        what = "method.critic_kwargs"
        self.critic_y = create_network(what, critic, {**ckwargs, "in_channels": depth_ch})
        self.critic_x = create_network(what, critic, {**ckwargs, "in_channels": rgb_ch})
        self.n_critic = o.n_critic
        self.gamma = 0.0
        self._critic_step: OptimStep | None = None

    # ------------------------------------------------------------------ options

    def train_data(self, root: str | Path, split: str, transform: Any) -> Dataset:
        """Unpaired samples of ``split``, its domains chosen by ``method.domains``."""
        from rgb2depth.data import UnpairedDepthDataset

        return UnpairedDepthDataset(root, split, transform=transform, domains=self.options.domains)

    def _check_options(self, o: Any) -> None:
        if o.domains not in DOMAINS:
            raise InputError(
                f"method.domains must be one of: {', '.join(DOMAINS)}, got {o.domains!r}"
            )
        check_int("n_critic", o.n_critic, 1)
        check_int("n_critic_halve_after", o.n_critic_halve_after, 0)
        check_number("gp_weight", o.gp_weight)
        check_bool("gp_two_sided", o.gp_two_sided)
        check_number("drift", o.drift)
        check_number("lambda_rec", o.lambda_rec)
        check_optional_lr("lr_critic", o.lr_critic)
        check_optional_lr("lr_generator", o.lr_generator)
        if o.grad_clip is not None:
            check_number("grad_clip", o.grad_clip)
        check_betas("betas", o.betas)
        if self.reconstruction == "perceptual":
            check_int("gamma_steps", o.gamma_steps, 1)
            if o.ramp not in RAMPS:
                raise InputError(f"unknown method.ramp {o.ramp!r}; known ramps: {', '.join(RAMPS)}")
            check_bool("psi_normalise", o.psi_normalise)

    # ------------------------------------------------------------------ the Method API

    def networks(self) -> dict[str, nn.Module]:
        return {
            "model": self.model,
            "generator_x": self.generator_x,
            "critic_y": self.critic_y,
            "critic_x": self.critic_x,
        }

    def optim_steps(self) -> list[OptimStep]:
        o = self.options
        betas = (float(o.betas[0]), float(o.betas[1]))
        clip = None if o.grad_clip is None else float(o.grad_clip)
        self._critic_step = OptimStep(
            "critics",
            _optim_params(self.critic_y) + _optim_params(self.critic_x),
            repeats=self.n_critic,
            lr=o.lr_critic,
            betas=betas,
            grad_clip=clip,
        )
        generators = OptimStep(
            "generators",
            _optim_params(self.model) + _optim_params(self.generator_x),
            repeats=1,
            lr=o.lr_generator,
            betas=betas,
            grad_clip=clip,
        )
        return [self._critic_step, generators]

    def critic_repeats(self, step: int) -> int:
        """n_f before generator update ``step + 1`` (``step`` updates done)."""
        o = self.options
        if o.n_critic_halve_after and step >= o.n_critic_halve_after:
            return max(1, o.n_critic // 2)
        return int(o.n_critic)

    def gamma_at(self, step: int) -> float:
        """gamma before generator update ``step + 1``: ``min(1, step / gamma_steps)``."""
        if self.reconstruction != "perceptual":
            return 0.0
        return min(1.0, step / self.options.gamma_steps)

    def weights(self) -> tuple[float, float]:
        """(w_perc, w_pix) of R_rec at the current gamma, by the ramp (module docstring)."""
        if self.reconstruction != "perceptual":
            return 0.0, 1.0
        if self.options.ramp == "code":
            return self.gamma, 1.0
        return self.gamma, 1.0 - self.gamma

    def on_step(self, step: int) -> None:
        """Set n_f (the critic step's repeats) and gamma from the step counter alone."""
        self.n_critic = self.critic_repeats(step)
        if self._critic_step is not None:
            self._critic_step.repeats = self.n_critic
        self.gamma = self.gamma_at(step)

    def loss(self, step: str, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        if step == "critics":
            return self.critic_loss(batch)
        if step == "generators":
            return self.generator_loss(batch)
        raise InputError(f"unknown optimisation step {step!r}; known: critics, generators")

    # ------------------------------------------------------------------ losses

    def _critic_domain(
        self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, tag: str
    ) -> tuple[torch.Tensor, dict[str, float]]:
        from rgb2depth.losses import (
            drift_penalty,
            gradient_penalty,
            wasserstein_critic_loss,
            wasserstein_estimate,
        )

        o = self.options
        real_scores, fake_scores = critic(real), critic(fake)
        w = wasserstein_critic_loss(real_scores, fake_scores)
        total = w
        logs = {
            f"{tag}/critic": 0.0,
            f"{tag}/wasserstein": float(wasserstein_estimate(real_scores, fake_scores)),
        }
        if o.gp_weight > 0:
            gp, norm = gradient_penalty(
                critic, real, fake, weight=float(o.gp_weight), one_sided=not o.gp_two_sided
            )
            total = total + gp
            logs[f"{tag}/gp"] = float(gp.detach())
            logs[f"{tag}/grad_norm"] = float(norm)
        if o.drift > 0:
            d = drift_penalty(real_scores, fake_scores, weight=float(o.drift))
            total = total + d
            logs[f"{tag}/drift"] = float(d.detach())
        logs[f"{tag}/critic"] = float(total.detach())
        return total, logs

    def critic_loss(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """R_cri of eq. 2 for both critics, summed (their parameters are disjoint).

        Returns:
            (0-d float32 loss, logs: per domain ``depth/*`` and ``rgb/*`` the critic loss,
            Wasserstein estimate, gradient penalty and mean gradient norm; ``n_critic``).
        """
        x, y = batch["rgb"], batch["depth"]
        with torch.no_grad():
            fake_y = self.model(x)
            fake_x = self.generator_x(y)
        loss_y, logs_y = self._critic_domain(self.critic_y, y, fake_y, "depth")
        loss_x, logs_x = self._critic_domain(self.critic_x, x, fake_x, "rgb")
        return loss_y + loss_x, {**logs_y, **logs_x, "n_critic": float(self.n_critic)}

    def reconstruction_terms(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor,
        rec_x: torch.Tensor,
        rec_y: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """R_rec (eq. 5, or the plain cycle) of real ``x``, ``y`` and their cycles.

        Args:
            x: (B, C, H, W) real RGB; y: (B, 1, H, W) real depth; mask: (B, 1, H, W)
                bool, True where ``y`` is valid; rec_x = G_x(G_y(x)), rec_y = G_y(G_x(y)),
                all in the model range.

        Returns:
            (R_rec unweighted by lambda_rec, logs of each computed term and its weight).
        """
        from rgb2depth.losses import feature_mae, l1_loss, psi_loss

        w_perc, w_pix = self.weights()
        zero = torch.zeros((), device=x.device)
        rec = zero
        logs: dict[str, float] = {"w_perceptual": w_perc, "w_pixel": w_pix}
        if w_perc > 0:
            with torch.no_grad():
                ref_x = _features(self.critic_x, x)
                ref_y = _features(self.critic_y, y)
            p_x = feature_mae(_features(self.critic_x, rec_x), ref_x)
            p_y = feature_mae(_features(self.critic_y, rec_y), ref_y)
            rec = rec + w_perc * (p_x + p_y)
            logs["rgb/rec_perceptual"] = float(p_x.detach())
            logs["depth/rec_perceptual"] = float(p_y.detach())
        if w_pix > 0:
            if self.reconstruction == "perceptual":
                r_x = psi_loss(x, rec_x, normalise=self.options.psi_normalise)
                logs["rgb/rec_psi"] = float(r_x.detach())
            else:
                r_x = (rec_x.float() - x.float()).abs().mean()
                logs["rgb/rec_pixel"] = float(r_x.detach())
            r_y = l1_loss(rec_y.float(), y.float(), mask)
            logs["depth/rec_pixel"] = float(r_y.detach())
            rec = rec + w_pix * (r_x + r_y)
        return rec, logs

    def generator_loss(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """R_adv (eq. 3) of both generators plus ``lambda_rec`` times R_rec.

        Returns:
            (0-d float32 loss, logs: ``depth/adv``, ``rgb/adv``, each reconstruction term,
            ``rec`` (R_rec), the weights, ``gamma``).
        """
        from rgb2depth.losses import wasserstein_generator_loss

        x, y, mask = batch["rgb"], batch["depth"], batch["mask"]
        fake_y = self.model(x)
        fake_x = self.generator_x(y)
        adv_y = wasserstein_generator_loss(self.critic_y(fake_y))
        adv_x = wasserstein_generator_loss(self.critic_x(fake_x))
        rec, logs = self.reconstruction_terms(
            x, y, mask, self.generator_x(fake_y), self.model(fake_x)
        )
        total = adv_y + adv_x + float(self.options.lambda_rec) * rec
        logs.update(
            {
                "depth/adv": float(adv_y.detach()),
                "rgb/adv": float(adv_x.detach()),
                "rec": float(rec.detach()),
                "gamma": self.gamma,
            }
        )
        return total, logs


@register_method
class Cycle(Unsupervised):
    """The paper's baseline: :class:`Unsupervised` with CycleGAN's plain MAE cycle terms.

    R_rec = MAE[G_x(G_y(x)), x] (every RGB pixel) + MAE[G_y(G_x(y)), y] (valid depth
    pixels): no psi, no critic features, no ramp.
    """

    name = "cycle"
    paper = "seed 000's baseline: WGAN-GP generators and critics with a plain MAE cycle"
    reconstruction = "cycle"
    example: ClassVar[dict[str, Any]] = {
        "model": {"name": "unet_generator", "kwargs": {"base_width": 2}},
        "method": {
            "critic": "patchgan_critic",
            "critic_kwargs": {"base_width": 2},
            "n_critic": 2,
            "n_critic_halve_after": 1,
        },
    }

    @dataclass
    class Options(_WGANOptions):
        lambda_rec: float = 20.0
        """Weight of the cycle term (the paper's cycle runs: 20 on surfaces, bodies; 2 on faces)."""


@register_method
class SemiSupervised(Unsupervised):
    """Seed 000, Appendix C: G_y starts from a supervised model, RGB-only photos join X.

    ``pretrained``: a model folder saved by this project (``rgb2depth train`` of a
    supervised method writes one to ``<log.out>/model``) of the same architecture and
    settings as ``model``; only its weights are loaded into G_y (before training, so a
    resumed run takes its checkpoint's weights instead). null: G_y starts from its
    initial weights. ``extra_rgb``: a folder of RGB photos (``.png``, ``.jpg``,
    ``.jpeg``, searched recursively, any size: the transforms resize them) added to the
    training split's RGB images; no depth is needed. null: the split's RGB only.
    """

    name = "semisupervised"
    paper = "seed 000, Appendix C: supervised pretraining, then Algorithm 1 with extra RGB"
    # (its example for the generated tests is Unsupervised's)

    @dataclass
    class Options(Unsupervised.Options):
        pretrained: str | None = None
        """A saved model folder whose weights initialise G_y; null: none."""
        extra_rgb: str | None = None
        """A folder of RGB-only photos added to the RGB domain; null: none."""

    def __init__(self, model: nn.Module, options: Any, context: MethodContext) -> None:
        super().__init__(model, options, context)
        if options.pretrained is not None:
            self._load_pretrained(options.pretrained)
        if options.extra_rgb is not None:
            self.extra_files = list_rgb_folder(options.extra_rgb)
        else:
            self.extra_files = []

    def _load_pretrained(self, folder: Any) -> None:
        from rgb2depth.models import load_model_folder

        if not isinstance(folder, str):
            raise InputError(f"method.pretrained must be a folder path, got {folder!r}")
        loaded, config = load_model_folder(folder)
        own, theirs = self.model.state_dict(), loaded.state_dict()
        same = type(loaded) is type(self.model) and own.keys() == theirs.keys()
        same = same and all(own[k].shape == theirs[k].shape for k in own)
        if not same:
            spec = config.get("model", {})
            raise InputError(
                f"method.pretrained {folder}: its network ({spec.get('name')} "
                f"{spec.get('kwargs', {})}) differs from this run's model "
                f"({type(self.model).__name__}); give model.name and model.kwargs as in "
                f"{Path(folder) / 'config.json'}"
            )
        self.model.load_state_dict(theirs)

    def train_data(self, root: str | Path, split: str, transform: Any) -> Dataset:
        """The split's unpaired samples, the RGB domain extended by ``extra_rgb``."""
        from rgb2depth.data import UnpairedDepthDataset

        ds = UnpairedDepthDataset(root, split, transform=transform, domains=self.options.domains)
        base = Path(str(self.options.extra_rgb)) if self.extra_files else None
        for path in self.extra_files:
            assert base is not None
            ds.rgb_names.append("extra/" + path.relative_to(base).with_suffix("").as_posix())
            ds.rgb_files.append(path)
        return ds


def list_rgb_folder(folder: str | Path) -> list[Path]:
    """The RGB photos (``.png``, ``.jpg``, ``.jpeg``, any case) under ``folder``, sorted.

    Raises:
        InputError: not a folder, or no photo in it.
    """
    from rgb2depth.data.format import RGB_EXTENSIONS

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"method.extra_rgb {folder}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in RGB_EXTENSIONS)
    if not files:
        raise InputError(f"method.extra_rgb {folder}: no image ({', '.join(RGB_EXTENSIONS)}) in it")
    return files
