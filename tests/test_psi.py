"""Tests of rgb2depth.losses.psi against an independent numpy computation of seed 000's psi."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rgb2depth.errors import InputError
from rgb2depth.losses import (
    Psi,
    PsiLoss,
    auto_gamma,
    gaussian_highpass,
    grey_level,
    psi,
    psi_loss,
)

SIZES = [(32, 48), (64, 64), (33, 47)]
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    ),
]


def numpy_psi(
    image: np.ndarray,
    sigma: float = 4.0,
    weights: tuple[float, float, float] = (0.299, 0.587, 0.114),
    clip: tuple[float, float] = (0.032, 0.871),
    eps: float = 1e-6,
) -> np.ndarray:
    """psi in float64 numpy, written from seed 000's steps and FIELD-NOTES section 2.

    The high-pass is applied to the un-shifted spectrum with radii from np.fft.fftfreq,
    which is the same filter as the centred one, built a different way.
    """
    x = (image.astype(np.float64) + 1.0) / 2.0
    grey = x[:, 0] if x.shape[1] == 1 else np.einsum("c,bchw->bhw", np.asarray(weights), x)
    out = np.empty_like(grey)
    h, w = grey.shape[-2:]
    fy = np.fft.fftfreq(h) * h  # integer frequencies, cycles per image height
    fx = np.fft.fftfreq(w) * w
    filt = 1.0 - np.exp(-(fy[:, None] ** 2 + fx[None, :] ** 2) / (2.0 * sigma**2))
    for n, g in enumerate(grey):
        gamma = -0.3 * math.log(10.0) / math.log(min(max(g.mean(), clip[0]), clip[1]))
        corrected = np.maximum(g, eps) ** gamma
        out[n] = np.abs(np.fft.ifft2(np.fft.fft2(corrected) * filt))
    return out[:, None]


def rand_image(seed: int, shape: tuple[int, ...], lo: float = -1.0, hi: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def textured(seed: int, b: int, c: int, h: int, w: int) -> torch.Tensor:
    """Smooth gradients plus noise, darker or brighter per sample (exercises gamma)."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    base = 0.4 * torch.sin(3 * xx) * torch.cos(2 * yy)
    noise = rand_image(seed, (b, c, h, w), -0.3, 0.3)
    offsets = torch.linspace(-0.5, 0.3, b).view(b, 1, 1, 1)
    return (base + noise + offsets).clamp(-1, 1)


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", SIZES)
def test_psi_matches_numpy_rgb(size: tuple[int, int], device: str) -> None:
    h, w = size
    image = textured(0, 2, 3, h, w)
    expected = numpy_psi(image.numpy())
    got = psi(image.to(device))
    assert got.shape == (2, 1, h, w)
    assert got.dtype == torch.float32
    assert got.device.type == device
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-4, atol=1e-6)
    # in float64 the two agree to rounding
    got64 = psi(image.double().to(device))
    assert got64.dtype == torch.float64
    np.testing.assert_allclose(got64.cpu().numpy(), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("size", SIZES)
def test_psi_matches_numpy_grey(size: tuple[int, int]) -> None:
    h, w = size
    image = textured(1, 2, 1, h, w)
    np.testing.assert_allclose(psi(image).numpy(), numpy_psi(image.numpy()), rtol=1e-4, atol=1e-6)
    # an RGB image with equal channels is its grey level (the weights sum to 1)
    np.testing.assert_allclose(
        psi(image.expand(-1, 3, -1, -1)).numpy(), psi(image).numpy(), rtol=1e-4, atol=1e-6
    )


def test_psi_settings_reach_the_computation() -> None:
    image = textured(2, 2, 3, 32, 48)
    text_weights = (0.299, 0.587, 0.144)  # the paper's printed blue weight
    np.testing.assert_allclose(
        psi(image, sigma=2.5, luminance=text_weights, gamma_clip=(0.1, 0.6)).numpy(),
        numpy_psi(image.numpy(), sigma=2.5, weights=text_weights, clip=(0.1, 0.6)),
        rtol=1e-4,
        atol=1e-6,
    )
    assert not torch.allclose(psi(image, luminance=text_weights), psi(image))


def test_grey_level_uses_0114_for_blue() -> None:
    image = rand_image(3, (2, 3, 8, 8))
    x = (image + 1) / 2
    expected = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(grey_level(image)[:, 0], expected, atol=1e-6)
    grey = rand_image(4, (2, 1, 8, 8))
    assert torch.allclose(grey_level(grey), (grey + 1) / 2)


def test_auto_gamma_values_and_clipping() -> None:
    grey = torch.stack(
        [torch.full((1, 4, 4), v) for v in (0.0, 0.01, 0.5, 0.99, 1.0)]
    )  # (5, 1, 4, 4)
    gamma = auto_gamma(grey).flatten()
    k = -0.3 * math.log(10.0)
    expected = [
        k / math.log(0.032),  # dark: clipped, about 0.2
        k / math.log(0.032),
        k / math.log(0.5),  # about 1
        k / math.log(0.871),  # bright: clipped, about 5.0
        k / math.log(0.871),
    ]
    assert gamma.tolist() == pytest.approx(expected, rel=1e-6)
    assert gamma[0].item() == pytest.approx(0.2, abs=0.01)
    assert gamma[-1].item() == pytest.approx(5.0, abs=0.05)


def test_highpass_filter() -> None:
    f = gaussian_highpass(33, 48, 4.0)
    assert f.shape == (33, 48)
    assert f[16, 24].item() == 0.0  # zero frequency after fftshift
    assert f[16 + 4, 24].item() == pytest.approx(1 - math.exp(-0.5))
    assert f[0, 0].item() == pytest.approx(1.0)
    # the 256 x 256 filter of seed 000's code, centred on index 128
    f256 = gaussian_highpass(256, 256, 4.0, dtype=torch.float64)
    i, j = 120, 131
    code = 1 - math.exp(-((i - 128) ** 2 + (j - 128) ** 2) / (2 * 4.0**2))
    assert f256[i, j].item() == pytest.approx(code, rel=1e-12)


def test_constant_image_gives_zero() -> None:
    flat = torch.full((2, 3, 32, 48), 0.2)
    assert psi(flat).abs().max().item() < 1e-5


def test_psi_is_per_sample() -> None:
    image = textured(5, 2, 3, 32, 32)
    both = psi(image)
    assert torch.allclose(both[1:], psi(image[1:]), atol=1e-6)
    assert torch.allclose(both[:1], psi(image[:1]), atol=1e-6)


# -- gradients --------------------------------------------------------------------------------


def test_gradients_flow_to_the_input() -> None:
    image = textured(6, 2, 3, 32, 48)
    image[0, :, :4, :4] = -1.0  # black pixels: the floor under y keeps gradients finite
    image.requires_grad_(True)
    weights = rand_image(7, (2, 1, 32, 48))
    (psi(image) * weights).sum().backward()
    assert image.grad is not None
    assert torch.isfinite(image.grad).all()
    assert image.grad.abs().sum() > 0
    assert (image.grad[0, :, 5:, 5:] != 0).any() and (image.grad[1] != 0).any()


def test_no_gradient_through_gamma() -> None:
    """Autograd's directional derivative equals the one with gamma held fixed, not the full one."""
    h, w = 16, 24
    x0 = textured(8, 2, 3, h, w).double()
    weights = rand_image(9, (2, 1, h, w)).double()
    direction = rand_image(10, (2, 3, h, w)).double()

    x = x0.clone().requires_grad_(True)
    (psi(x) * weights).sum().backward()
    assert x.grad is not None
    autograd = float((x.grad * direction).sum())

    grey0 = grey_level(x0)
    gamma0 = auto_gamma(grey0).flatten().tolist()
    assert all(0.3 < g < 3 for g in gamma0)  # the means are inside the clip range

    def objective(img: torch.Tensor, fixed_gamma: bool) -> float:
        """sum(weights * psi) in numpy, gamma either frozen at x0's or recomputed."""
        arr = img.numpy()
        if not fixed_gamma:
            return float((numpy_psi(arr) * weights.numpy()).sum())
        x01 = (arr + 1) / 2
        grey = np.einsum("c,bchw->bhw", np.array([0.299, 0.587, 0.114]), x01)
        fy = np.fft.fftfreq(h) * h
        fx = np.fft.fftfreq(w) * w
        filt = 1 - np.exp(-(fy[:, None] ** 2 + fx[None, :] ** 2) / 32.0)
        out = [
            np.abs(np.fft.ifft2(np.fft.fft2(np.maximum(g, 1e-6) ** gamma0[n]) * filt))
            for n, g in enumerate(grey)
        ]
        return float((np.stack(out)[:, None] * weights.numpy()).sum())

    step = 1e-6
    frozen = (objective(x0 + step * direction, True) - objective(x0 - step * direction, True)) / (
        2 * step
    )
    full = (objective(x0 + step * direction, False) - objective(x0 - step * direction, False)) / (
        2 * step
    )
    assert autograd == pytest.approx(frozen, rel=1e-5)
    assert abs(full - frozen) > 1e-3 * abs(frozen)  # gamma's gradient would be visible


# -- the loss ---------------------------------------------------------------------------------


def test_psi_loss_paper_and_code_forms() -> None:
    a = textured(11, 2, 3, 32, 48)
    b = textured(12, 2, 3, 32, 48)
    pa, pb = numpy_psi(a.numpy()), numpy_psi(b.numpy())
    paper = np.abs(pa - pb).mean()
    code = np.mean(0.5 * np.abs(pa - pb).mean(axis=(1, 2, 3)) / pa.mean(axis=(1, 2, 3)))
    assert psi_loss(a, b).item() == pytest.approx(paper, rel=1e-4)
    assert psi_loss(a, b, normalise=True).item() == pytest.approx(code, rel=1e-4)
    assert PsiLoss()(a, b).item() == pytest.approx(psi_loss(a, b).item())
    assert PsiLoss(normalise=True)(a, b).item() == pytest.approx(code, rel=1e-4)
    assert torch.equal(Psi(sigma=3.0)(a), psi(a, sigma=3.0))
    assert psi_loss(a, a.clone()).item() == 0.0


def test_psi_loss_backward_to_the_reconstruction() -> None:
    a = textured(13, 2, 3, 32, 32)
    b = textured(14, 2, 3, 32, 32).requires_grad_(True)
    for normalise in (False, True):
        b.grad = None
        psi_loss(a, b, normalise=normalise).backward()
        assert b.grad is not None and torch.isfinite(b.grad).all()
        assert b.grad.abs().sum() > 0


def test_psi_under_autocast_runs_in_float32() -> None:
    image = textured(15, 2, 3, 32, 48).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = psi(image)
    assert got.dtype == torch.float32
    assert torch.allclose(got, psi(image.float()), atol=1e-6)


# -- input checks -----------------------------------------------------------------------------


def test_input_checks() -> None:
    with pytest.raises(InputError, match=r"\(B, 3, H, W\) .* got \(2, 2, 8, 8\)"):
        psi(torch.zeros(2, 2, 8, 8))
    with pytest.raises(InputError, match=r"got \(3, 8, 8\)"):
        psi(torch.zeros(3, 8, 8))
    with pytest.raises(InputError, match="floating-point"):
        psi(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(InputError, match="sigma"):
        psi(torch.zeros(1, 3, 8, 8), sigma=0.0)
    with pytest.raises(InputError, match="gamma_clip"):
        psi(torch.zeros(1, 3, 8, 8), gamma_clip=(0.5, 0.1))
    with pytest.raises(InputError, match="three luminance"):
        Psi(luminance=(0.5, 0.5))  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"same shape, got \(1, 3, 8, 8\) and \(1, 3, 8, 9\)"):
        psi_loss(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
