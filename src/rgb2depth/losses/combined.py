"""The seeds' combined training objectives.

Each is an ``nn.Module`` whose ``forward(pred, target, rgb=None, mask=None)`` returns
``(total, terms)``: ``total`` is the 0-d tensor to back-propagate and ``terms`` a
``dict[str, float]`` of the *unweighted* terms for logging. All three share that
signature so a method can call any of them the same way (only
:class:`LightUNetLoss` needs ``rgb``).

=============================  ===========================================================
:class:`LightUNetLoss`         seed 004 eq. 7: (a L1 + b (1 - SSIM) + g L_e) / (a + b + g)
:class:`PerceptualAlignmentLoss`  seed 003: lam L1 + L_grad + (1 - SSIM) / 2 + gamma L_perc
:class:`MSEOnlyLoss`           seed 001 eq. 3: MSE (its autoencoder baseline)
=============================  ===========================================================
"""

from __future__ import annotations

import logging
import math

from torch import Tensor, nn

from rgb2depth.errors import InputError
from rgb2depth.losses.edges import edge_aware_l1, gradient_loss
from rgb2depth.losses.perceptual import PerceptualLoss
from rgb2depth.losses.pixel import l1_loss, mse_loss
from rgb2depth.losses.structural import ssim_loss

logger = logging.getLogger(__name__)


def _check_weights(**weights: float) -> None:
    for name, value in weights.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise InputError(f"expected a finite loss weight {name} >= 0, got {value!r}")


def _floats(terms: dict[str, Tensor]) -> dict[str, float]:
    return {k: float(v.detach()) for k, v in terms.items()}


class LightUNetLoss(nn.Module):
    """Seed 004's combined loss (section 3.3, eq. 7).

    ``L = (alpha L1 + beta (1 - SSIM) + gamma L_e) / (alpha + beta + gamma)`` with
    :func:`~rgb2depth.losses.l1_loss`, :func:`~rgb2depth.losses.ssim_loss` and
    :func:`~rgb2depth.losses.edge_aware_l1` (eq. 6, weights from the RGB gradients).

    Args:
        alpha: weight of L1; 2 in the paper (section 4.1).
        beta: weight of 1 - SSIM. The paper does not give it; 1 is this project's choice.
        gamma: weight of the edge-aware term; 5 in the paper (it is about a tenth of the
            others in size).
        ssim_window: SSIM window size (Gaussian, sigma 1.5).

    Raises:
        InputError: a negative or non-finite weight, or all three zero.

    ``forward(pred, target, rgb, mask=None)``: depth maps (B, 1, H, W) and the input
    image (B, C, H, W), all in the model range [-1, 1]; returns ``(total, terms)`` with
    ``terms = {"l1", "ssim", "edge"}`` unweighted (``"ssim"`` is 1 - SSIM).
    """

    def __init__(
        self, *, alpha: float = 2.0, beta: float = 1.0, gamma: float = 5.0, ssim_window: int = 11
    ) -> None:
        super().__init__()
        _check_weights(alpha=alpha, beta=beta, gamma=gamma)
        if alpha + beta + gamma <= 0:
            raise InputError("expected alpha + beta + gamma > 0, got all three weights 0")
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.ssim_window = ssim_window

    def forward(
        self, pred: Tensor, target: Tensor, rgb: Tensor | None = None, mask: Tensor | None = None
    ) -> tuple[Tensor, dict[str, float]]:
        if rgb is None:
            raise InputError("LightUNetLoss needs the rgb image for its edge-aware term, got None")
        terms = {
            "l1": l1_loss(pred, target, mask),
            "ssim": ssim_loss(pred, target, mask, window_size=self.ssim_window),
            "edge": edge_aware_l1(pred, target, rgb, mask),
        }
        norm = self.alpha + self.beta + self.gamma
        total = (
            self.alpha * terms["l1"] + self.beta * terms["ssim"] + self.gamma * terms["edge"]
        ) / norm
        return total, _floats(terms)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, gamma={self.gamma}"


class PerceptualAlignmentLoss(nn.Module):
    """Seed 003's loss: ``lam L1 + L_grad + (1 - SSIM) / 2 + gamma L_perceptual``.

    Args:
        lam: weight of the L1 term; 0.1 in the paper.
        gamma: weight of the perceptual term; 0.5 in the paper.
        perceptual: the perceptual loss (a :class:`~rgb2depth.losses.PerceptualLoss`
            holding a frozen extractor), or ``None`` to leave that term out: the total
            is then ``lam L1 + L_grad + (1 - SSIM) / 2``, the terms dict has no
            ``"perceptual"`` key and a warning is logged once at construction.
        ssim_window: SSIM window size (Gaussian, sigma 1.5; 11 in seed 003's code).

    Raises:
        InputError: a negative or non-finite weight.

    ``forward(pred, target, rgb=None, mask=None)``: depth maps (B, 1, H, W) in the model
    range; ``rgb`` is ignored. Returns ``(total, terms)`` with unweighted
    ``terms = {"l1", "grad", "ssim", "perceptual"}`` (``"ssim"`` is 1 - SSIM, before
    halving).
    """

    def __init__(
        self,
        *,
        lam: float = 0.1,
        gamma: float = 0.5,
        perceptual: PerceptualLoss | None = None,
        ssim_window: int = 11,
    ) -> None:
        super().__init__()
        _check_weights(lam=lam, gamma=gamma)
        self.lam, self.gamma = float(lam), float(gamma)
        self.perceptual = perceptual
        self.ssim_window = ssim_window
        if perceptual is None:
            logger.warning(
                "PerceptualAlignmentLoss without a perceptual extractor: the gamma * "
                "perceptual term of seed 003 is left out (L1, gradient and SSIM terms only)"
            )

    @property
    def term_names(self) -> tuple[str, ...]:
        """The keys of the terms dict, in order: the perceptual term only when present."""
        base = ("l1", "grad", "ssim")
        return base if self.perceptual is None else (*base, "perceptual")

    def forward(
        self, pred: Tensor, target: Tensor, rgb: Tensor | None = None, mask: Tensor | None = None
    ) -> tuple[Tensor, dict[str, float]]:
        terms = {
            "l1": l1_loss(pred, target, mask),
            "grad": gradient_loss(pred, target, mask),
            "ssim": ssim_loss(pred, target, mask, window_size=self.ssim_window),
        }
        total = self.lam * terms["l1"] + terms["grad"] + terms["ssim"] / 2
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(pred, target, mask)
            total = total + self.gamma * terms["perceptual"]
        return total, _floats(terms)

    def extra_repr(self) -> str:
        state = "on" if self.perceptual is not None else "off (term left out)"
        return f"lam={self.lam}, gamma={self.gamma}, perceptual={state}"


class MSEOnlyLoss(nn.Module):
    """Seed 001's autoencoder baseline: MSE only (eq. 3).

    ``forward(pred, target, rgb=None, mask=None)``: depth maps (B, 1, H, W) in the model
    range; ``rgb`` is ignored. Returns ``(total, {"mse": float})``.
    """

    def forward(
        self, pred: Tensor, target: Tensor, rgb: Tensor | None = None, mask: Tensor | None = None
    ) -> tuple[Tensor, dict[str, float]]:
        total = mse_loss(pred, target, mask)
        return total, _floats({"mse": total})
