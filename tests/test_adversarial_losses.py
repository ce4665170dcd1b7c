"""Tests of rgb2depth.losses.adversarial: closed forms, the gradient penalty, mixed precision."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.losses import (
    bce_discriminator_loss,
    bce_generator_loss,
    drift_penalty,
    feature_mae,
    gradient_penalty,
    wasserstein_critic_loss,
    wasserstein_estimate,
    wasserstein_generator_loss,
)

B, C, H, W = 3, 1, 8, 12


def randn(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


class LinearCritic(nn.Module):
    """f(x) = sum(w * x) per sample: its input gradient is w everywhere, of norm ||w||."""

    def __init__(self, norm: float, shape: tuple[int, ...] = (C, H, W)) -> None:
        super().__init__()
        w = randn(0, shape)
        self.w = nn.Parameter(w * (norm / w.norm()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.w * x).flatten(1).sum(dim=1)


class ConvCritic(nn.Module):
    """A small non-linear PatchGAN-like critic, so the penalty depends on x."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.net = nn.Sequential(
            nn.Conv2d(C, 8, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.Tanh(),
            nn.Conv2d(8, 1, 3, padding=1),
        )
        for p in self.parameters():
            p.data.mul_(3.0)  # gradient norms well above 1, so the penalty is not 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1, h, w) patch scores


# -- Wasserstein ------------------------------------------------------------------------------


def test_wasserstein_closed_forms() -> None:
    real = torch.tensor([1.0, 2.0, 6.0])
    fake = torch.tensor([[-1.0], [0.5], [3.5]])
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(1.0 - 3.0)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(-1.0)
    estimate = wasserstein_estimate(real.requires_grad_(True), fake)
    assert estimate.item() == pytest.approx(2.0)
    assert not estimate.requires_grad
    # PatchGAN maps: the mean over every patch
    real_map, fake_map = randn(1, (B, 1, 4, 4)), randn(2, (B, 1, 4, 4))
    expected = fake_map.mean() - real_map.mean()
    assert wasserstein_critic_loss(real_map, fake_map).item() == pytest.approx(expected.item())


def test_wasserstein_gradients_have_the_right_sign() -> None:
    real = randn(3, (B, 1)).requires_grad_(True)
    fake = randn(4, (B, 1)).requires_grad_(True)
    wasserstein_critic_loss(real, fake).backward()
    assert real.grad is not None and fake.grad is not None
    assert torch.allclose(real.grad, torch.full_like(real, -1.0 / B))  # raise real scores
    assert torch.allclose(fake.grad, torch.full_like(fake, 1.0 / B))  # lower fake scores
    fake.grad = None
    wasserstein_generator_loss(fake).backward()
    assert torch.allclose(fake.grad, torch.full_like(fake, -1.0 / B))


def test_half_precision_scores_give_float32_losses() -> None:
    real, fake = randn(5, (B, 1)).bfloat16(), randn(6, (B, 1)).half()
    for value in (
        wasserstein_critic_loss(real, fake),
        wasserstein_generator_loss(fake),
        drift_penalty(real, fake),
        bce_discriminator_loss(real, fake),
        bce_generator_loss(fake),
    ):
        assert value.dtype == torch.float32


# -- gradient penalty -------------------------------------------------------------------------


@pytest.mark.parametrize("norm", [2.5, 0.4])
@pytest.mark.parametrize("one_sided", [True, False])
def test_penalty_of_a_linear_critic_is_closed_form(norm: float, one_sided: bool) -> None:
    critic = LinearCritic(norm)
    real, fake = randn(7, (B, C, H, W)), randn(8, (B, C, H, W))
    penalty, grad_norm = gradient_penalty(critic, real, fake, weight=10.0, one_sided=one_sided)
    excess = norm - 1.0
    if one_sided:
        excess = max(excess, 0.0)
    assert penalty.item() == pytest.approx(10.0 * excess**2, rel=1e-5, abs=1e-7)
    assert grad_norm.item() == pytest.approx(norm, rel=1e-5)
    assert not grad_norm.requires_grad
    # default weight: p = 100 (seed 000)
    default, _ = gradient_penalty(critic, real, fake, one_sided=one_sided)
    assert default.item() == pytest.approx(100.0 * excess**2, rel=1e-5, abs=1e-6)


def test_penalty_is_differentiable_in_the_critic_parameters() -> None:
    real, fake = randn(9, (B, C, H, W)), randn(10, (B, C, H, W))
    critic = LinearCritic(2.5)
    penalty, _ = gradient_penalty(critic, real, fake, weight=10.0)
    penalty.backward()
    w = critic.w.detach()
    # d/dw of p (||w|| - 1)^2 = 2 p (||w|| - 1) w / ||w||
    expected = 2 * 10.0 * (2.5 - 1.0) * w / w.norm()
    assert critic.w.grad is not None
    assert critic.w.grad.abs().sum() > 0
    assert torch.allclose(critic.w.grad, expected, rtol=1e-4, atol=1e-6)

    inside = LinearCritic(0.4)  # ||w|| < 1: the one-sided penalty and its gradient are 0
    penalty, _ = gradient_penalty(inside, real, fake)
    assert penalty.item() == 0.0
    penalty.backward()
    assert inside.w.grad is not None and torch.all(inside.w.grad == 0)

    penalty, _ = gradient_penalty(inside, real, fake, one_sided=False)  # two-sided pulls it up
    penalty.backward()
    assert (inside.w.grad * inside.w.detach()).sum() < 0  # gradient descent grows ||w||


def test_interpolates_are_per_sample_uniform_from_torch_rng() -> None:
    seen: list[torch.Tensor] = []

    def critic(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.detach().clone())
        return x.flatten(1).sum(dim=1)

    real, fake = randn(11, (B, C, H, W)), randn(12, (B, C, H, W))
    torch.manual_seed(123)
    eps = torch.rand(B, 1, 1, 1)
    torch.manual_seed(123)
    gradient_penalty(critic, real, fake)
    assert torch.allclose(seen[0], eps * real + (1 - eps) * fake, atol=1e-6)
    assert eps.unique().numel() == B  # one eps per sample, not one per batch


def test_penalty_does_not_reach_the_generator() -> None:
    generator = nn.Conv2d(C, C, 1)
    fake = generator(randn(13, (B, C, H, W)))
    penalty, _ = gradient_penalty(ConvCritic(), randn(14, (B, C, H, W)), fake)
    penalty.backward()
    assert all(p.grad is None for p in generator.parameters())


def test_penalty_under_autocast_equals_float32() -> None:
    critic = ConvCritic()
    real = randn(15, (B, C, 16, 16))
    fake = randn(16, (B, C, 16, 16)).bfloat16()  # a generator's output under autocast

    torch.manual_seed(0)
    ref, ref_norm = gradient_penalty(critic, real, fake.float())
    ref.backward()
    # the last bias does not change the input gradient, so it gets none
    ref_grads = [None if p.grad is None else p.grad.clone() for p in critic.parameters()]
    assert sum(g is not None for g in ref_grads) == len(ref_grads) - 1
    critic.zero_grad()

    with torch.autocast("cpu", dtype=torch.bfloat16):
        # autocast is live here: the critic's own forward runs in bfloat16
        assert critic(real).dtype == torch.bfloat16
        torch.manual_seed(0)
        amp, amp_norm = gradient_penalty(critic, real, fake)
    amp.backward()

    assert ref.item() > 1.0
    assert amp.dtype == torch.float32
    assert amp.item() == pytest.approx(ref.item(), rel=1e-5)
    assert amp_norm.item() == pytest.approx(ref_norm.item(), rel=1e-5)
    for p, g in zip(critic.parameters(), ref_grads, strict=True):
        if g is None:
            assert p.grad is None
        else:
            assert p.grad is not None and torch.allclose(p.grad, g, rtol=1e-5, atol=1e-6)


def test_penalty_input_checks() -> None:
    critic = LinearCritic(1.0)
    with pytest.raises(InputError, match=r"same \(B, \.\.\.\) shape, got \(3, 1, 8, 12\) and"):
        gradient_penalty(critic, randn(0, (B, C, H, W)), randn(0, (B, C, H, W + 1)))
    with pytest.raises(InputError, match="floating-point"):
        gradient_penalty(critic, torch.zeros(B, C, H, W, dtype=torch.long), randn(0, (B, C, H, W)))


# -- drift, BCE, features ---------------------------------------------------------------------


def test_drift_penalty_closed_form() -> None:
    real = torch.tensor([1.0, -3.0])
    fake = torch.tensor([2.0, 0.0, 4.0, 2.0])
    assert drift_penalty(real, fake).item() == pytest.approx(0.0005 * (5.0 + 6.0))
    assert drift_penalty(real, fake, weight=1.0).item() == pytest.approx(11.0)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_bce_closed_forms() -> None:
    real = torch.tensor([[2.0], [-1.0]])
    fake = torch.tensor([[0.5], [-3.0]])
    # BCE(l, 1) = softplus(-l), BCE(l, 0) = softplus(l)
    real_term = (softplus(-2.0) + softplus(1.0)) / 2
    fake_term = (softplus(0.5) + softplus(-3.0)) / 2
    assert bce_discriminator_loss(real, fake).item() == pytest.approx(
        0.5 * (real_term + fake_term), rel=1e-6
    )
    assert bce_generator_loss(fake).item() == pytest.approx(
        (softplus(-0.5) + softplus(3.0)) / 2, rel=1e-6
    )
    zeros = torch.zeros(4, 1, 3, 3)
    assert bce_discriminator_loss(zeros, zeros).item() == pytest.approx(math.log(2.0))


def test_bce_label_conventions() -> None:
    real, fake = randn(17, (B, 1, 4, 4)), randn(18, (B, 1, 4, 4))
    # seed 001's text (0 = real, 1 = fake) is the default with the roles of the inputs swapped
    swapped = bce_discriminator_loss(real, fake, real_label=0.0, fake_label=1.0)
    assert swapped.item() == pytest.approx(bce_discriminator_loss(fake, real).item(), rel=1e-6)
    # label smoothing: -(t log s(l) + (1 - t) log(1 - s(l)))
    t = 0.9
    s = torch.sigmoid(fake.double())
    expected = -(t * s.log() + (1 - t) * (1 - s).log()).mean()
    assert bce_generator_loss(fake, real_label=t).item() == pytest.approx(expected.item(), rel=1e-5)


def test_bce_gradients_push_the_right_way() -> None:
    real = torch.zeros(B, 1, requires_grad=True)
    fake = torch.zeros(B, 1, requires_grad=True)
    bce_discriminator_loss(real, fake).backward()
    assert real.grad is not None and fake.grad is not None
    assert torch.all(real.grad < 0) and torch.all(fake.grad > 0)
    fake.grad = None
    bce_generator_loss(fake).backward()
    assert torch.all(fake.grad < 0)


def test_feature_mae() -> None:
    a = randn(19, (B, 8, 4, 6)).requires_grad_(True)
    b = randn(20, (B, 8, 4, 6))
    value = feature_mae(a, b)
    assert value.item() == pytest.approx((a - b).abs().mean().item())
    value.backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    assert feature_mae(b, b.clone()).item() == 0.0
    with pytest.raises(InputError, match=r"same shape, got \(3, 8, 4, 6\) and \(3, 8, 4, 5\)"):
        feature_mae(b, b[..., :5])
