"""The psi operator of seed 000 and the reconstruction loss built on it (eq. 5).

psi removes brightness, illumination and colour from an RGB image so that an input and
its cycle reconstruction can be compared on structure alone (seed 000, section 3.2):

1. grey level: luminance ``0.299 R + 0.587 G + 0.114 B`` of the image mapped from the
   model range [-1, 1] to [0, 1];
2. automatic gamma correction: ``y ** gamma`` with, per sample,
   ``gamma = -0.3 ln(10) / ln(mean(y))``, the mean clipped to [0.032, 0.871] so that
   gamma lies in about [0.2, 5.0]; no gradient flows through gamma;
3. Gaussian high-pass ``1 - exp(-r^2 / (2 sigma^2))`` (sigma = 4) on the centred 2-D
   Fourier transform, ``r`` the distance from the zero frequency in frequency-index units;
   the result is the magnitude of the inverse transform.

Where this differs from the paper's text (it follows the authors' public code, see
FIELD-NOTES section 2):

- blue weight 0.114, the standard ITU-R BT.601 weight the code uses; the text prints
  0.144 (pass ``luminance=(0.299, 0.587, 0.144)`` for the text's form);
- the mean clipping, the stop-gradient on gamma and the small floor under ``y`` before the
  power are in the code only;
- the code hard-codes a 256 x 256 filter centred on index 128; here the filter is built for
  the image's size, centred on index ``(H // 2, W // 2)`` where ``fftshift`` puts the zero
  frequency (identical to the code's filter at 256 x 256, and zero at the DC term for odd
  sizes too);
- the code's loss is normalised, see :func:`psi_loss`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rgb2depth.errors import InputError

LUMINANCE = (0.299, 0.587, 0.114)
"""ITU-R BT.601 luminance weights (R, G, B), what seed 000's code uses (its text: 0.144 for B)."""
GAMMA_CLIP = (0.032, 0.871)
"""Bounds on the mean grey level in the automatic gamma: gamma in about [0.2, 5.0]."""


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__


def _check_image(image: object, name: str = "image") -> Tensor:
    if not (isinstance(image, Tensor) and image.ndim == 4 and image.shape[1] in (1, 3)):
        raise InputError(
            f"expected {name} of shape (B, 3, H, W) (RGB) or (B, 1, H, W) (grey), "
            f"got {_shape(image)}"
        )
    if not image.is_floating_point():
        raise InputError(f"expected a floating-point {name}, got {image.dtype}")
    return image


def _check_settings(
    sigma: float, luminance: tuple[float, float, float], gamma_clip: tuple[float, float]
) -> None:
    if not (math.isfinite(sigma) and sigma > 0):
        raise InputError(f"expected a positive high-pass sigma, got {sigma}")
    if len(luminance) != 3:
        raise InputError(f"expected three luminance weights (R, G, B), got {luminance!r}")
    lo, hi = gamma_clip
    if not 0 < lo < hi < 1:
        raise InputError(f"expected gamma_clip (lo, hi) with 0 < lo < hi < 1, got {gamma_clip!r}")


def _compute_dtype(x: Tensor) -> torch.dtype:
    """float64 stays float64; everything else (float32, float16, bfloat16) runs in float32."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def grey_level(image: Tensor, *, luminance: tuple[float, float, float] = LUMINANCE) -> Tensor:
    """Step 1 of psi: the grey level in [0, 1] of an image in the model range.

    Args:
        image: (B, 3, H, W) RGB or (B, 1, H, W) grey image, model range [-1, 1].
        luminance: (R, G, B) weights; ignored for a grey image.

    Returns:
        (B, 1, H, W) grey level, [0, 1] for inputs in [-1, 1]; float32 (float64 for a
        float64 input).

    Raises:
        InputError: not a floating (B, 1 or 3, H, W) tensor.
    """
    image = _check_image(image)
    x = (image.to(_compute_dtype(image)) + 1.0) / 2.0
    if x.shape[1] == 1:
        return x
    w = torch.tensor(luminance, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def auto_gamma(grey: Tensor, *, gamma_clip: tuple[float, float] = GAMMA_CLIP) -> Tensor:
    """Step 2 of psi: per-sample gamma ``-0.3 ln(10) / ln(clip(mean(grey)))``, detached.

    Babakhani and Zarei's automatic gamma (seed 000 ref. [37]): a dark image (small mean)
    gets gamma < 1 and is brightened, a bright one gets gamma > 1. Seed 000's text and
    code write ``2.303`` for ``ln(10)`` (a 1e-4 relative difference).

    Args:
        grey: (B, 1, H, W) grey level in [0, 1].
        gamma_clip: bounds for the mean grey level; (0.032, 0.871) gives gamma in
            about [0.2, 5.0].

    Returns:
        (B, 1, 1, 1) gamma, detached: no gradient flows through it (as in the code).
    """
    lo, hi = gamma_clip
    mean = grey.detach().mean(dim=(-2, -1), keepdim=True).clamp(lo, hi)
    return -0.3 * math.log(10.0) / torch.log(mean)


def gaussian_highpass(
    height: int,
    width: int,
    sigma: float = 4.0,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Step 3's filter: ``1 - exp(-r^2 / (2 sigma^2))`` for a centred (fftshift-ed) spectrum.

    ``r`` is the distance of index ``(i, j)`` from ``(height // 2, width // 2)``, the index
    of the zero frequency after ``torch.fft.fftshift``, in frequency-index units (one unit
    is one cycle per image side). The filter is 0 at the DC term, so psi of a constant
    image is 0.

    Returns:
        (height, width) tensor with values in [0, 1).
    """
    rows = torch.arange(height, device=device, dtype=dtype) - height // 2
    cols = torch.arange(width, device=device, dtype=dtype) - width // 2
    r2 = rows[:, None].square() + cols[None, :].square()
    return 1.0 - torch.exp(-r2 / (2.0 * sigma**2))


def psi(
    image: Tensor,
    *,
    sigma: float = 4.0,
    luminance: tuple[float, float, float] = LUMINANCE,
    gamma_clip: tuple[float, float] = GAMMA_CLIP,
    eps: float = 1e-6,
) -> Tensor:
    """Seed 000's psi operator: grey level, automatic gamma, Gaussian high-pass (eq. 5).

    Differentiable with respect to ``image`` (gamma is treated as a constant). Runs on
    the image's device, for any H and W; computed in float32 (float64 for a float64
    input) with autocast disabled, so it gives the same result inside
    ``torch.autocast`` (FFTs of half-precision tensors are not supported for all sizes).

    Args:
        image: (B, 3, H, W) RGB or (B, 1, H, W) grey image in the model range [-1, 1]
            (mapped to [0, 1] first).
        sigma: high-pass width in frequency-index units; 4 in seed 000.
        luminance: (R, G, B) grey-level weights; default (0.299, 0.587, 0.114) as in the
            code (the paper's text prints 0.144 for blue).
        gamma_clip: bounds on the mean grey level used for the gamma.
        eps: floor on the grey level before the power, so that ``y ** gamma`` with
            gamma < 1 has a finite gradient (pixels at or below ``eps`` get none); the
            code adds 1e-7 instead.

    Returns:
        (B, 1, H, W) non-negative high-frequency magnitude, float32 (float64 for a
        float64 input), in grey-level units (about [0, 1]).

    Raises:
        InputError: not a floating (B, 1 or 3, H, W) tensor, or bad settings.
    """
    _check_settings(sigma, luminance, gamma_clip)
    _check_image(image)
    with torch.autocast(device_type=image.device.type, enabled=False):
        grey = grey_level(image, luminance=luminance)
        gamma = auto_gamma(grey, gamma_clip=gamma_clip)
        corrected = grey.clamp_min(eps).pow(gamma)
        dims = (-2, -1)
        spectrum = torch.fft.fftshift(torch.fft.fft2(corrected, dim=dims), dim=dims)
        h, w = image.shape[-2:]
        filt = gaussian_highpass(h, w, sigma, device=image.device, dtype=grey.dtype)
        filtered = torch.fft.ifftshift(spectrum * filt, dim=dims)
        return torch.fft.ifft2(filtered, dim=dims).abs()


def psi_loss(
    a: Tensor,
    b: Tensor,
    *,
    normalise: bool = False,
    sigma: float = 4.0,
    luminance: tuple[float, float, float] = LUMINANCE,
    gamma_clip: tuple[float, float] = GAMMA_CLIP,
) -> Tensor:
    """Mean absolute difference of psi: the third term of seed 000's eq. 5.

    - ``normalise=False`` (the paper): ``mean |psi(a) - psi(b)|`` over batch and pixels.
    - ``normalise=True`` (the authors' code): per sample,
      ``0.5 * mean |psi(a) - psi(b)| / mean(psi(a))``, then the mean over the batch; ``a``
      is the reference (the real input x), whose filtered magnitude sets the scale. The
      denominator is floored at 1e-6 (psi of a flat image is 0).

    Each image gets its own gamma (from its own mean grey level).

    Args:
        a: (B, C, H, W) reference image, C = 3 (RGB) or 1 (grey), model range [-1, 1].
        b: image of ``a``'s shape, e.g. the reconstruction G_y(G_x(x)).
        normalise: use the code's normalised form.
        sigma, luminance, gamma_clip: as in :func:`psi`.

    Returns:
        0-d tensor, float32 (float64 for float64 inputs): grey-level units, or a
        dimensionless ratio with ``normalise=True``.

    Raises:
        InputError: inputs of different shapes or not (B, 1 or 3, H, W).
    """
    _check_image(a, "a")
    _check_image(b, "b")
    if a.shape != b.shape:
        raise InputError(f"expected a and b of the same shape, got {_shape(a)} and {_shape(b)}")
    psi_a = psi(a, sigma=sigma, luminance=luminance, gamma_clip=gamma_clip)
    psi_b = psi(b, sigma=sigma, luminance=luminance, gamma_clip=gamma_clip)
    diff = (psi_a - psi_b).abs()
    if not normalise:
        return diff.mean()
    per_sample = diff.mean(dim=(1, 2, 3)) / psi_a.mean(dim=(1, 2, 3)).clamp_min(1e-6)
    return 0.5 * per_sample.mean()


class Psi(nn.Module):
    """Module form of :func:`psi`; keyword-only settings are fixed at construction."""

    def __init__(
        self,
        *,
        sigma: float = 4.0,
        luminance: tuple[float, float, float] = LUMINANCE,
        gamma_clip: tuple[float, float] = GAMMA_CLIP,
    ) -> None:
        super().__init__()
        _check_settings(sigma, luminance, gamma_clip)
        self.sigma = sigma
        self.luminance = luminance
        self.gamma_clip = gamma_clip

    def forward(self, image: Tensor) -> Tensor:
        return psi(
            image,
            sigma=self.sigma,
            luminance=self.luminance,
            gamma_clip=self.gamma_clip,
        )

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}, luminance={self.luminance}, gamma_clip={self.gamma_clip}"


class PsiLoss(Psi):
    """Module form of :func:`psi_loss`; keyword-only settings are fixed at construction."""

    def __init__(
        self,
        *,
        normalise: bool = False,
        sigma: float = 4.0,
        luminance: tuple[float, float, float] = LUMINANCE,
        gamma_clip: tuple[float, float] = GAMMA_CLIP,
    ) -> None:
        super().__init__(sigma=sigma, luminance=luminance, gamma_clip=gamma_clip)
        self.normalise = normalise

    def forward(self, a: Tensor, b: Tensor) -> Tensor:  # type: ignore[override]
        return psi_loss(
            a,
            b,
            normalise=self.normalise,
            sigma=self.sigma,
            luminance=self.luminance,
            gamma_clip=self.gamma_clip,
        )

    def extra_repr(self) -> str:
        return f"normalise={self.normalise}, {super().extra_repr()}"
