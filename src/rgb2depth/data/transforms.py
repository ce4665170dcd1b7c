"""Transforms of one sample: resize, crops, flips, rotation, photometric augmentation, model range.

Every transform takes ONE sample ``dict`` as defined in :mod:`rgb2depth.data.contract`
(unbatched tensors: ``rgb`` (C, H, W) float in [0, 1], ``depth`` (1, H, W) float in the
dataset's units with 0 where invalid, ``mask`` (1, H, W) bool) and returns a NEW dict; the
input dict and its tensors are never modified in place. Keys other than ``rgb``, ``depth``
and ``mask`` (``name``, ``rgb_name``, ``depth_name``, ...) pass through unchanged.

A sample may lack ``rgb`` or lack ``depth`` and ``mask`` (one half of an unpaired
sample); each transform transforms what is there. ``depth`` and ``mask`` always come
together. When ``rgb`` and ``depth`` are both present (a paired sample), geometric
transforms move all three with the same parameters, and their H, W must agree.

Depth resampling (:class:`Resize`, :class:`RandomRotation`) never blends valid depth with
invalid depth. The default ``depth_mode="masked"`` is a normalised convolution: the
resampler (bilinear, antialiased when shrinking) is applied to ``depth * mask`` and to
``mask``; the output depth is their ratio, i.e. a weighted mean of *valid* input depths
only, and the output mask is ``resampled mask >= min_valid_weight`` (default 0.5: the
binary mask is resized like an image and thresholded at one half). ``depth_mode="nearest"``
copies the nearest input pixel of depth and mask (exact depth values; use it for sparse
depth such as LiDAR, where the masked mode would drop most points when shrinking).

Randomness comes only from torch's global RNG (``torch.rand`` / ``torch.randint``), so
``torch.manual_seed`` and DataLoader worker seeding make every pipeline reproducible.

Sizes given as a single ``int`` n mean a square (n, n), as in pix2pix's ``load_size`` /
``crop_size`` (not torchvision's "shorter edge" meaning).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_grayscale
from kornia.enhance import equalize
from kornia.filters import gaussian_blur2d
from kornia.geometry.transform import rotate

from rgb2depth.errors import InputError

__all__ = [
    "PRESETS",
    "AutoGamma",
    "CenterCrop",
    "Compose",
    "Grayscale",
    "Preset",
    "RandomAlbedoDecals",
    "RandomChannelSwap",
    "RandomCrop",
    "RandomGamma",
    "RandomGaussianBlur",
    "RandomHistogramEqualization",
    "RandomHorizontalFlip",
    "RandomJitterCrop",
    "RandomRotation",
    "Resize",
    "ToModelRange",
    "Transform",
    "auto_gamma",
    "build_transforms",
    "check_sample",
    "depth_from_model_range",
    "depth_to_model_range",
    "rgb_from_model_range",
    "rgb_to_model_range",
]

Sample = dict[str, Any]
DepthMode = Literal["masked", "nearest"]
_DEPTH_MODES = ("masked", "nearest")

# Seed 000's automatic gamma: gamma = -0.3 * ln(10) / ln(mean luminance), mean clipped.
_AUTO_GAMMA_NUMERATOR = -0.3 * 2.303
_AUTO_GAMMA_MEAN_RANGE = (0.032, 0.871)


# --------------------------------------------------------------------------- checks


def _size2(value: int | Sequence[int], what: str) -> tuple[int, int]:
    """Parse an ``int`` n (meaning (n, n)) or an (H, W) pair of positive ints."""
    if isinstance(value, bool):
        raise InputError(f"{what}: expected an int or (H, W) of positive ints, got {value!r}")
    if isinstance(value, int):
        pair: tuple[Any, ...] = (value, value)
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        pair = tuple(value)
    else:
        raise InputError(f"{what}: expected an int or (H, W) of positive ints, got {value!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise InputError(f"{what}: expected an int or (H, W) of positive ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _probability(p: float, what: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise InputError(f"{what}: expected a probability in [0, 1], got {p!r}")
    return float(p)


def _range2(value: Sequence[float], what: str, *, positive: bool = False) -> tuple[float, float]:
    """Parse a (lo, hi) pair of finite floats with lo <= hi (and lo > 0 if ``positive``)."""
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )
    if ok:
        lo, hi = float(value[0]), float(value[1])
        ok = math.isfinite(lo) and math.isfinite(hi) and lo <= hi and (lo > 0 or not positive)
    if not ok:
        need = "0 < lo <= hi" if positive else "lo <= hi"
        raise InputError(f"{what}: expected (lo, hi) finite numbers with {need}, got {value!r}")
    return lo, hi


def _depth_range(depth_range: Sequence[float]) -> tuple[float, float]:
    lo, hi = _range2(depth_range, "depth_range")
    if not lo < hi:
        raise InputError(f"depth_range: expected (lo, hi) with lo < hi, got {depth_range!r}")
    return lo, hi


def _depth_mode(mode: str) -> str:
    if mode not in _DEPTH_MODES:
        raise InputError(f"depth_mode: expected one of {list(_DEPTH_MODES)}, got {mode!r}")
    return mode


def _min_valid_weight(w: float) -> float:
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 < w <= 1.0:
        raise InputError(f"min_valid_weight: expected a number in (0, 1], got {w!r}")
    return float(w)


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def check_sample(sample: Mapping[str, Any]) -> tuple[int, int] | None:
    """Check the tensors of one sample against the contract and return their (H, W).

    Args:
        sample: a sample dict; ``rgb`` (C, H, W) floating with C = 1 or 3, ``depth``
            (1, H, W) floating and ``mask`` (1, H, W) bool are each optional, but
            ``depth`` and ``mask`` come together.

    Returns:
        (H, W) shared by the tensors present, or ``None`` when the sample holds none.

    Raises:
        InputError: a tensor with a wrong shape or dtype, ``depth`` without ``mask``
            (or the reverse), or ``rgb`` and ``depth`` of different H, W.
    """
    if not isinstance(sample, Mapping):
        raise InputError(f"expected a sample dict, got {type(sample).__name__}")
    rgb, depth, mask = sample.get("rgb"), sample.get("depth"), sample.get("mask")
    if (depth is None) != (mask is None):
        have, lack = ("depth", "mask") if mask is None else ("mask", "depth")
        raise InputError(f"sample has '{have}' but no '{lack}': depth and mask come together")
    size: tuple[int, int] | None = None
    if rgb is not None:
        if not isinstance(rgb, torch.Tensor) or rgb.ndim != 3 or rgb.shape[0] not in (1, 3):
            got = _shape(rgb) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
            raise InputError(
                f"sample 'rgb': expected a (C, H, W) tensor with C = 3 or 1, got {got}"
            )
        if not rgb.is_floating_point():
            raise InputError(f"sample 'rgb': expected a float tensor, got {rgb.dtype}")
        size = (rgb.shape[1], rgb.shape[2])
    if depth is not None:
        for key, t in (("depth", depth), ("mask", mask)):
            if not isinstance(t, torch.Tensor) or t.ndim != 3 or t.shape[0] != 1:
                got = _shape(t) if isinstance(t, torch.Tensor) else type(t).__name__
                raise InputError(f"sample '{key}': expected a (1, H, W) tensor, got {got}")
        assert isinstance(mask, torch.Tensor)  # checked in the loop above
        if not depth.is_floating_point():
            raise InputError(f"sample 'depth': expected a float tensor, got {depth.dtype}")
        if mask.dtype != torch.bool:
            raise InputError(f"sample 'mask': expected a bool tensor, got {mask.dtype}")
        if depth.shape != mask.shape:
            raise InputError(
                f"sample 'depth' has shape {_shape(depth)} but 'mask' has shape {_shape(mask)}"
            )
        if rgb is not None and size != (depth.shape[1], depth.shape[2]):
            raise InputError(
                f"paired sample: 'rgb' has shape {_shape(rgb)} but 'depth' has shape "
                f"{_shape(depth)}; their H, W must agree"
            )
        size = (depth.shape[1], depth.shape[2])
    return size


# --------------------------------------------------------------------------- base


class Transform:
    """Base class: check the sample, copy the dict, transform the tensors present.

    Subclasses implement :meth:`apply` (which receives a shallow copy of the sample and
    its (H, W), or ``None`` when it holds no tensor) and list their settings in
    :meth:`settings` for ``__repr__``.
    """

    def __call__(self, sample: Mapping[str, Any]) -> Sample:
        size = check_sample(sample)
        out = dict(sample)
        if size is None:
            return out
        return self.apply(out, size)

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"


class Compose:
    """Apply transforms in order.

    Args:
        transforms: callables taking and returning a sample dict.
    """

    def __init__(self, transforms: Sequence[Callable[[Sample], Sample]]) -> None:
        if isinstance(transforms, (str, bytes)) or not isinstance(transforms, Sequence):
            raise InputError(f"Compose: expected a list of transforms, got {transforms!r}")
        for t in transforms:
            if not callable(t):
                raise InputError(f"Compose: expected callable transforms, got {t!r}")
        self.transforms = list(transforms)

    def __call__(self, sample: Mapping[str, Any]) -> Sample:
        out = dict(sample)
        for t in self.transforms:
            out = t(out)
        return out

    def __len__(self) -> int:
        return len(self.transforms)

    def __iter__(self):
        return iter(self.transforms)

    def __repr__(self) -> str:
        if not self.transforms:
            return "Compose([])"
        body = "".join(f"    {t!r},\n" for t in self.transforms)
        return f"Compose([\n{body}])"


# --------------------------------------------------------------------------- resampling


def _masked_resample(
    depth: torch.Tensor,
    mask: torch.Tensor,
    resample: Callable[[torch.Tensor], torch.Tensor],
    min_valid_weight: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised convolution of (1, H, W) depth under a linear, non-negative resampler.

    ``resample`` maps a (1, 1, H, W) float tensor to (1, 1, H', W'). Returns the (1, H', W')
    depth (a weighted mean of valid input depths, 0 where invalid) and bool mask.
    """
    m = mask.to(depth.dtype)
    stacked = torch.stack([depth * m, m])  # (2, 1, H, W): one call keeps both on one grid
    num, den = resample(stacked).unbind(0)
    valid = den >= min_valid_weight * (1.0 - 1e-6)
    out = torch.where(valid, num / den.clamp_min(1e-12), torch.zeros_like(num))
    return out, valid


def _nearest_resample(
    depth: torch.Tensor, mask: torch.Tensor, resample: Callable[[torch.Tensor], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    stacked = torch.stack([depth, mask.to(depth.dtype)])
    d, m = resample(stacked).unbind(0)
    valid = m > 0.5
    return torch.where(valid, d, torch.zeros_like(d)), valid


class Resize(Transform):
    """Resize rgb, depth and mask to ``size``.

    RGB: bilinear, antialiased when shrinking (``align_corners=False``). Depth and mask:
    ``depth_mode="masked"`` (default) resamples ``depth * mask`` and ``mask`` with the same
    bilinear filter and divides, so valid output depth is a weighted mean of valid input
    depth only; an output pixel is valid where the resampled mask is ``>= min_valid_weight``.
    ``depth_mode="nearest"`` copies the nearest pixel (``nearest-exact``) of depth and mask.
    Resizing to the current size returns the same tensors.

    Args:
        size: output size, an int n for (n, n) or (H, W), in pixels.
        depth_mode: ``"masked"`` or ``"nearest"``.
        min_valid_weight: in (0, 1]; the masked mode's validity threshold.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        *,
        depth_mode: DepthMode = "masked",
        min_valid_weight: float = 0.5,
    ) -> None:
        self.size = _size2(size, "Resize size")
        self.depth_mode = _depth_mode(depth_mode)
        self.min_valid_weight = _min_valid_weight(min_valid_weight)

    def settings(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "depth_mode": self.depth_mode,
            "min_valid_weight": self.min_valid_weight,
        }

    def _bilinear(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            x, size=self.size, mode="bilinear", align_corners=False, antialias=True
        )

    def _nearest(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=self.size, mode="nearest-exact")

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        if size == self.size:
            return sample
        if "rgb" in sample:
            sample["rgb"] = self._bilinear(sample["rgb"][None])[0]
        if "depth" in sample:
            if self.depth_mode == "masked":
                depth, mask = _masked_resample(
                    sample["depth"], sample["mask"], self._bilinear, self.min_valid_weight
                )
            else:
                depth, mask = _nearest_resample(sample["depth"], sample["mask"], self._nearest)
            sample["depth"], sample["mask"] = depth, mask
        return sample


def _crop(sample: Sample, top: int, left: int, h: int, w: int) -> Sample:
    for key in ("rgb", "depth", "mask"):
        if key in sample:
            sample[key] = sample[key][:, top : top + h, left : left + w].contiguous()
    return sample


def _check_fits(crop: tuple[int, int], size: tuple[int, int], name: str) -> None:
    if crop[0] > size[0] or crop[1] > size[1]:
        raise InputError(f"{name}: crop size {crop} is larger than the sample's (H, W) {size}")


class RandomCrop(Transform):
    """Crop a random window of ``size`` (the same window for rgb, depth and mask).

    Args:
        size: crop size, an int n for (n, n) or (H, W), in pixels; at most the sample's size.
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _size2(size, "RandomCrop size")

    def settings(self) -> dict[str, Any]:
        return {"size": self.size}

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        _check_fits(self.size, size, "RandomCrop")
        h, w = self.size
        top = int(torch.randint(0, size[0] - h + 1, ()))
        left = int(torch.randint(0, size[1] - w + 1, ()))
        return _crop(sample, top, left, h, w)


class CenterCrop(Transform):
    """Crop the central window of ``size`` (top-left rounded down when the margin is odd).

    Args:
        size: crop size, an int n for (n, n) or (H, W), in pixels; at most the sample's size.
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _size2(size, "CenterCrop size")

    def settings(self) -> dict[str, Any]:
        return {"size": self.size}

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        _check_fits(self.size, size, "CenterCrop")
        h, w = self.size
        return _crop(sample, (size[0] - h) // 2, (size[1] - w) // 2, h, w)


class RandomJitterCrop(Transform):
    """pix2pix's random jitter: resize to ``load_size``, then a random crop of ``crop_size``.

    Args:
        load_size: resize target, an int n for (n, n) or (H, W), in pixels.
        crop_size: crop size, an int or (H, W), at most ``load_size`` in each dimension.
        depth_mode, min_valid_weight: depth resampling of the resize, see :class:`Resize`.
    """

    def __init__(
        self,
        *,
        load_size: int | Sequence[int] = 286,
        crop_size: int | Sequence[int] = 256,
        depth_mode: DepthMode = "masked",
        min_valid_weight: float = 0.5,
    ) -> None:
        load = _size2(load_size, "RandomJitterCrop load_size")
        crop = _size2(crop_size, "RandomJitterCrop crop_size")
        if crop[0] > load[0] or crop[1] > load[1]:
            raise InputError(f"RandomJitterCrop: crop_size {crop} is larger than load_size {load}")
        self.resize = Resize(load, depth_mode=depth_mode, min_valid_weight=min_valid_weight)
        self.crop = RandomCrop(crop)

    def settings(self) -> dict[str, Any]:
        return {
            "load_size": self.resize.size,
            "crop_size": self.crop.size,
            "depth_mode": self.resize.depth_mode,
            "min_valid_weight": self.resize.min_valid_weight,
        }

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        sample = self.resize.apply(sample, size)
        return self.crop.apply(sample, self.resize.size)


class RandomHorizontalFlip(Transform):
    """Mirror left-right with probability ``p`` (rgb, depth and mask together).

    Args:
        p: probability of flipping, in [0, 1].
    """

    def __init__(self, *, p: float = 0.5) -> None:
        self.p = _probability(p)

    def settings(self) -> dict[str, Any]:
        return {"p": self.p}

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        if not bool(torch.rand(()) < self.p):
            return sample
        for key in ("rgb", "depth", "mask"):
            if key in sample:
                sample[key] = torch.flip(sample[key], dims=(-1,))
        return sample


class RandomRotation(Transform):
    """Rotate by an angle drawn uniformly from [-max_degrees, max_degrees], with probability ``p``.

    The rotation is about the image centre (positive = counter-clockwise), with output of the
    same size. RGB is sampled bilinearly and pixels rotated in from outside the image are
    filled with 0 (black in [0, 1], -1 after :class:`ToModelRange`). Depth and mask are
    resampled per ``depth_mode`` (see :class:`Resize`); pixels from outside the image become
    invalid (mask False, depth 0).

    Args:
        max_degrees: largest absolute angle, in degrees, in [0, 180].
        p: probability of rotating, in [0, 1].
        depth_mode: ``"masked"`` or ``"nearest"``.
        min_valid_weight: in (0, 1]; the masked mode's validity threshold.
    """

    def __init__(
        self,
        *,
        max_degrees: float = 15.0,
        p: float = 1.0,
        depth_mode: DepthMode = "masked",
        min_valid_weight: float = 0.5,
    ) -> None:
        if (
            isinstance(max_degrees, bool)
            or not isinstance(max_degrees, (int, float))
            or not 0.0 <= max_degrees <= 180.0
        ):
            raise InputError(
                f"RandomRotation max_degrees: expected in [0, 180], got {max_degrees!r}"
            )
        self.max_degrees = float(max_degrees)
        self.p = _probability(p)
        self.depth_mode = _depth_mode(depth_mode)
        self.min_valid_weight = _min_valid_weight(min_valid_weight)

    def settings(self) -> dict[str, Any]:
        return {
            "max_degrees": self.max_degrees,
            "p": self.p,
            "depth_mode": self.depth_mode,
            "min_valid_weight": self.min_valid_weight,
        }

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        if not bool(torch.rand(()) < self.p):
            return sample
        angle = (torch.rand(1) * 2.0 - 1.0) * self.max_degrees

        def warp(x: torch.Tensor, mode: str) -> torch.Tensor:
            a = angle.to(x.device, x.dtype).expand(x.shape[0])
            return rotate(x, a, mode=mode, padding_mode="zeros")

        if "rgb" in sample:
            sample["rgb"] = warp(sample["rgb"][None], "bilinear")[0]
        if "depth" in sample:
            if self.depth_mode == "masked":
                depth, mask = _masked_resample(
                    sample["depth"],
                    sample["mask"],
                    lambda x: warp(x, "bilinear"),
                    self.min_valid_weight,
                )
            else:
                depth, mask = _nearest_resample(
                    sample["depth"], sample["mask"], lambda x: warp(x, "nearest")
                )
            sample["depth"], sample["mask"] = depth, mask
        return sample


# --------------------------------------------------------------------------- photometric


class _RgbTransform(Transform):
    """A transform of ``rgb`` only; ``depth`` and ``mask`` pass through untouched."""

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        if "rgb" in sample:
            sample["rgb"] = self.apply_rgb(sample["rgb"])
        return sample

    def apply_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _luminance(rgb: torch.Tensor) -> torch.Tensor:
    """(C, H, W) in [0, 1] -> (1, H, W) luminance 0.299 R + 0.587 G + 0.114 B (C = 1: itself)."""
    return rgb if rgb.shape[0] == 1 else rgb_to_grayscale(rgb)


class RandomGamma(_RgbTransform):
    """Gamma correction ``rgb ** gamma`` with gamma uniform in ``gamma_range``, probability ``p``.

    ``rgb`` is clamped to [0, 1] first. Seed 000's gamma augmentation.

    Args:
        gamma_range: (lo, hi) with 0 < lo <= hi.
        p: probability of applying, in [0, 1].
    """

    def __init__(self, *, gamma_range: Sequence[float] = (0.7, 1.5), p: float = 0.5) -> None:
        self.gamma_range = _range2(gamma_range, "RandomGamma gamma_range", positive=True)
        self.p = _probability(p)

    def settings(self) -> dict[str, Any]:
        return {"gamma_range": self.gamma_range, "p": self.p}

    def apply_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        if not bool(torch.rand(()) < self.p):
            return rgb
        lo, hi = self.gamma_range
        gamma = lo + float(torch.rand(())) * (hi - lo)
        return rgb.clamp(0.0, 1.0) ** gamma


def auto_gamma(rgb: torch.Tensor) -> float:
    """Seed 000's brightness-based gamma for one (C, H, W) image in [0, 1].

    ``gamma = -0.3 * 2.303 / ln(m)`` where m is the mean luminance clipped to
    [0.032, 0.871], so gamma lies in about [0.2, 5.0] and ``m ** gamma`` is about 0.5.
    """
    m = float(_luminance(rgb.clamp(0.0, 1.0)).mean())
    m = min(max(m, _AUTO_GAMMA_MEAN_RANGE[0]), _AUTO_GAMMA_MEAN_RANGE[1])
    return _AUTO_GAMMA_NUMERATOR / math.log(m)


class AutoGamma(_RgbTransform):
    """Deterministic brightness normalisation ``rgb ** auto_gamma(rgb)`` (seed 000).

    Dark images are brightened and bright ones darkened so that the mean luminance moves
    to about 0.5; see :func:`auto_gamma`. ``rgb`` is clamped to [0, 1] first.
    """

    def apply_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb.clamp(0.0, 1.0) ** auto_gamma(rgb)


class RandomHistogramEqualization(_RgbTransform):
    """Per-channel histogram equalisation (``kornia.enhance.equalize``) with probability ``p``.

    Args:
        p: probability of applying, in [0, 1].
    """

    def __init__(self, *, p: float = 0.5) -> None:
        self.p = _probability(p)

    def settings(self) -> dict[str, Any]:
        return {"p": self.p}

    def apply_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        if not bool(torch.rand(()) < self.p):
            return rgb
        return equalize(rgb.clamp(0.0, 1.0)[None])[0]


class RandomGaussianBlur(_RgbTransform):
    """Gaussian blur (reflect border) with sigma uniform in ``sigma``, probability ``p``.

    Args:
        kernel_size: odd kernel side in pixels, >= 3.
        sigma: (lo, hi) standard deviation range in pixels, 0 < lo <= hi.
        p: probability of applying, in [0, 1].
    """

    def __init__(
        self, *, kernel_size: int = 5, sigma: Sequence[float] = (0.1, 2.0), p: float = 0.5
    ) -> None:
        if (
            isinstance(kernel_size, bool)
            or not isinstance(kernel_size, int)
            or kernel_size < 3
            or kernel_size % 2 == 0
        ):
            raise InputError(
                f"RandomGaussianBlur kernel_size: expected an odd int >= 3, got {kernel_size!r}"
            )
        self.kernel_size = kernel_size
        self.sigma = _range2(sigma, "RandomGaussianBlur sigma", positive=True)
        self.p = _probability(p)

    def settings(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "sigma": self.sigma, "p": self.p}

    def apply_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        if not bool(torch.rand(()) < self.p):
            return rgb
        lo, hi = self.sigma
        s = lo + float(torch.rand(())) * (hi - lo)
        k = self.kernel_size
        return gaussian_blur2d(rgb[None], (k, k), (s, s), border_type="reflect")[0]


_CHANNEL_PERMUTATIONS = list(itertools.permutations(range(3)))  # [0] is the identity


class RandomChannelSwap(_RgbTransform):
    """With probability ``p``, permute the RGB channels (seed 003).

    The permutation is drawn uniformly from the 5 non-identity permutations of 3 channels.
    A 1-channel image is left unchanged.

    Args:
        p: probability of applying, in [0, 1].
    """

    def __init__(self, *, p: float = 0.25) -> None:
        self.p = _probability(p)

    def settings(self) -> dict[str, Any]:
        return {"p": self.p}

    def apply_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.shape[0] != 3 or not bool(torch.rand(()) < self.p):
            return rgb
        index = int(torch.randint(1, len(_CHANNEL_PERMUTATIONS), ()))
        return rgb[list(_CHANNEL_PERMUTATIONS[index])]


def _uniform(lo: float, hi: float, n: int = 1) -> torch.Tensor:
    return lo + torch.rand(n) * (hi - lo)


def _ellipse_mask(
    yy: torch.Tensor, xx: torch.Tensor, at: torch.Tensor, side: float
) -> torch.Tensor:
    """A soft ellipse centred ``at`` (y, x), radii 3-20 % of ``side``, any angle; (H, W)."""
    ry, rx = _uniform(0.03, 0.2, 2).mul(side).tolist()
    t = float(_uniform(0.0, math.pi))
    dy, dx = yy - float(at[0]), xx - float(at[1])
    u = dx * math.cos(t) + dy * math.sin(t)
    v = -dx * math.sin(t) + dy * math.cos(t)
    d = torch.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    return ((1.0 - d) * min(rx, ry)).clamp(0.0, 1.0)  # about one pixel of soft edge


def _stroke_mask(yy: torch.Tensor, xx: torch.Tensor, at: torch.Tensor, side: float) -> torch.Tensor:
    """A soft curved stroke (quadratic Bezier) from ``at``, 0.5-3 % of ``side`` wide; (H, W)."""
    h, w = yy.shape
    reach = float(_uniform(0.15, 0.6)) * side  # length scale of the stroke
    pts = torch.stack([at, at + (torch.rand(2) - 0.5) * reach, at + (torch.rand(2) - 0.5) * reach])
    t = torch.linspace(0.0, 1.0, 48)[:, None]
    curve = (1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2]  # (48, 2)
    dist = torch.cdist(torch.stack([yy, xx], -1).reshape(-1, 2), curve).amin(1).reshape(h, w)
    half = float(_uniform(0.0025, 0.015)) * side
    return (half + 0.5 - dist).clamp(0.0, 1.0)


def _stripes_mask(
    yy: torch.Tensor, xx: torch.Tensor, at: torch.Tensor, side: float
) -> torch.Tensor:
    """Soft parallel stripes (period 3-12 % of ``side``) in a soft ellipse at ``at``; (H, W)."""
    t = float(_uniform(0.0, math.pi))
    period = float(_uniform(0.03, 0.12)) * side
    wave = torch.sin(2 * math.pi * (xx * math.cos(t) + yy * math.sin(t)) / period)
    return (wave * period / 4 + 0.5).clamp(0.0, 1.0) * _ellipse_mask(yy, xx, at, side * 1.5)


_DECAL_SHAPES = (_ellipse_mask, _stroke_mask, _stripes_mask)


class RandomAlbedoDecals(Transform):
    """Paint depth-free marks onto the image's albedo, with probability ``p``.

    Soft ellipses, curved strokes and stripe patches, 1 to ``max_count`` of them, each
    multiplying the colour under it by a gain drawn log-uniformly from ``gain_range``
    (one value, tinted per channel by up to +-15 %): the shading under a mark is kept,
    only the surface colour changes, while ``depth`` and ``mask`` stay as they are. A
    model trained on such images cannot read depth from dark or bright marks (pupils,
    brows, lips, stubble, patterned clothes in real photographs look like that to it);
    it has to use the shape. Marks are centred on valid depth pixels when the sample
    has a ``mask`` with any (the subject), anywhere in the image otherwise. ``rgb`` is
    clamped to [0, 1].

    Args:
        p: probability of painting any marks, in [0, 1].
        max_count: largest number of marks per image, >= 1.
        gain_range: (lo, hi) of the colour gain, 0 < lo <= hi (below 1 darkens).
    """

    def __init__(
        self,
        *,
        p: float = 0.5,
        max_count: int = 6,
        gain_range: Sequence[float] = (0.15, 1.6),
    ) -> None:
        self.p = _probability(p)
        if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
            raise InputError(
                f"RandomAlbedoDecals max_count: expected an int >= 1, got {max_count!r}"
            )
        self.max_count = max_count
        self.gain_range = _range2(gain_range, "RandomAlbedoDecals gain_range", positive=True)

    def settings(self) -> dict[str, Any]:
        return {"p": self.p, "max_count": self.max_count, "gain_range": self.gain_range}

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        if "rgb" not in sample or not bool(torch.rand(()) < self.p):
            return sample
        rgb = sample["rgb"]
        c, h, w = rgb.shape
        yy, xx = torch.meshgrid(
            torch.arange(h, dtype=torch.float32),
            torch.arange(w, dtype=torch.float32),
            indexing="ij",
        )
        valid = sample["mask"][0].nonzero().float() if "mask" in sample else torch.empty(0, 2)
        side = float(min(h, w))
        gain = torch.ones(c, h, w)
        lo, hi = (math.log(g) for g in self.gain_range)
        for _ in range(int(torch.randint(1, self.max_count + 1, ()))):
            if len(valid):
                at = valid[int(torch.randint(len(valid), ()))]
            else:
                at = torch.rand(2) * torch.tensor([h - 1.0, w - 1.0])
            shape = _DECAL_SHAPES[int(torch.randint(len(_DECAL_SHAPES), ()))]
            m = shape(yy, xx, at, side)
            g = math.exp(float(_uniform(lo, hi))) * _uniform(0.85, 1.15, c)
            gain = gain * (1.0 + m[None] * (g[:, None, None] - 1.0))
        sample["rgb"] = (rgb.clamp(0.0, 1.0) * gain.to(rgb.dtype)).clamp(0.0, 1.0)
        return sample


class Grayscale(_RgbTransform):
    """Convert ``rgb`` to 1 channel: luminance 0.299 R + 0.587 G + 0.114 B (seed 001).

    Uses ``kornia.color.rgb_to_grayscale`` (ITU-R BT.601 weights). A 1-channel image
    passes through. Output ``rgb`` is (1, H, W).
    """

    def apply_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        return _luminance(rgb)


# --------------------------------------------------------------------------- model range


def rgb_to_model_range(rgb: torch.Tensor) -> torch.Tensor:
    """Map an image from [0, 1] to [-1, 1] (``2 * rgb - 1``); any shape."""
    return rgb * 2.0 - 1.0


def rgb_from_model_range(x: torch.Tensor) -> torch.Tensor:
    """Map an image from [-1, 1] back to [0, 1] (``(x + 1) / 2``); any shape, no clamping."""
    return (x + 1.0) * 0.5


def depth_to_model_range(depth: torch.Tensor, depth_range: Sequence[float]) -> torch.Tensor:
    """Map depth linearly from ``depth_range`` = (lo, hi) to [-1, 1]: lo -> -1, hi -> +1.

    Args:
        depth: depth of any shape, in the dataset's units. Values outside (lo, hi) map
            outside [-1, 1] (no clamping here; :class:`ToModelRange` clips).
        depth_range: (lo, hi), lo < hi, in the dataset's units.

    Returns:
        Tensor of ``depth``'s shape and dtype. :func:`depth_from_model_range` inverts it.
    """
    lo, hi = _depth_range(depth_range)
    return (depth - lo) * (2.0 / (hi - lo)) - 1.0


def depth_from_model_range(x: torch.Tensor, depth_range: Sequence[float]) -> torch.Tensor:
    """Inverse of :func:`depth_to_model_range`: [-1, 1] -> depth in (lo, hi) units.

    Args:
        x: model-range depth of any shape (e.g. a (B, 1, H, W) prediction).
        depth_range: (lo, hi), lo < hi, in the dataset's units.

    Returns:
        Depth in the dataset's units, shape and dtype of ``x``; no clamping.
    """
    lo, hi = _depth_range(depth_range)
    return (x + 1.0) * ((hi - lo) / 2.0) + lo


class ToModelRange(Transform):
    """Map rgb [0, 1] -> [-1, 1] and depth ``depth_range`` -> [-1, 1]; invalid depth := fill.

    Valid depth is clipped to ``depth_range`` first when ``clip`` (so targets lie in the
    range of a tanh output); :func:`depth_from_model_range` is then the exact inverse on valid
    pixels whose depth lies in ``depth_range``. ``mask`` is unchanged.

    Args:
        depth_range: (lo, hi), lo < hi, in the dataset's depth units; lo -> -1, hi -> +1.
        fill: model-range value written at invalid pixels, in [-1, 1]; default +1 (the far
            end). Losses and metrics should use ``mask`` and never read these pixels.
        clip: clip valid depth to ``depth_range`` before mapping.
    """

    def __init__(
        self, depth_range: Sequence[float], *, fill: float = 1.0, clip: bool = True
    ) -> None:
        self.depth_range = _depth_range(depth_range)
        if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not -1.0 <= fill <= 1.0:
            raise InputError(f"ToModelRange fill: expected a number in [-1, 1], got {fill!r}")
        self.fill = float(fill)
        self.clip = bool(clip)

    def settings(self) -> dict[str, Any]:
        return {"depth_range": self.depth_range, "fill": self.fill, "clip": self.clip}

    def apply(self, sample: Sample, size: tuple[int, int]) -> Sample:
        if "rgb" in sample:
            sample["rgb"] = rgb_to_model_range(sample["rgb"])
        if "depth" in sample:
            depth = sample["depth"]
            if self.clip:
                depth = depth.clamp(*self.depth_range)
            x = depth_to_model_range(depth, self.depth_range)
            sample["depth"] = torch.where(sample["mask"], x, torch.full_like(x, self.fill))
        return sample


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    """A named training augmentation.

    Attributes:
        description: one line for listings and help.
        augment: builds the train-time geometric and photometric transforms for an output
            size (H, W); :func:`build_transforms` appends grayscale and :class:`ToModelRange`.
    """

    description: str
    augment: Callable[[tuple[int, int]], list[Transform]]


def _pix2pix(size: tuple[int, int]) -> list[Transform]:
    load = (round(size[0] * 286 / 256), round(size[1] * 286 / 256))
    return [RandomJitterCrop(load_size=load, crop_size=size), RandomHorizontalFlip()]


PRESETS: dict[str, Preset] = {
    "none": Preset("resize only", lambda size: [Resize(size)]),
    "pix2pix": Preset(
        "pix2pix: resize to 286/256 of the size, random crop, horizontal flip", _pix2pix
    ),
    "light_unet": Preset(
        "seed 004: horizontal flip, rotation up to 15 degrees",
        lambda size: [Resize(size), RandomHorizontalFlip(), RandomRotation(max_degrees=15.0)],
    ),
    "densedepth": Preset(
        "seed 003: horizontal flip, RGB channel swap with p = 0.25",
        lambda size: [Resize(size), RandomHorizontalFlip(), RandomChannelSwap(p=0.25)],
    ),
    "faces": Preset(
        "the seeds' augmentations for face photos: horizontal flip, rotation up to 10 degrees "
        "(004), RGB channel swap with p = 0.25 (003), gamma and Gaussian blur (000)",
        lambda size: [
            Resize(size),
            RandomHorizontalFlip(),
            RandomRotation(max_degrees=10.0),
            RandomChannelSwap(p=0.25),
            RandomGamma(),
            RandomGaussianBlur(),
        ],
    ),
    "faces-decals": Preset(
        "the faces preset plus depth-free marks on the albedo (RandomAlbedoDecals, p = 0.5): "
        "teaches that dark and bright marks are not depth",
        lambda size: [*PRESETS["faces"].augment(size), RandomAlbedoDecals()],
    ),
    "unsupervised": Preset(
        "seed 000: horizontal flip, gamma, histogram equalisation, Gaussian blur",
        lambda size: [
            Resize(size),
            RandomHorizontalFlip(),
            RandomGamma(),
            RandomHistogramEqualization(),
            RandomGaussianBlur(),
        ],
    ),
}
"""The transform presets, by name: the single source of truth for :func:`build_transforms`."""


def build_transforms(
    preset: str,
    *,
    size: int | Sequence[int],
    depth_range: Sequence[float],
    grayscale: bool = False,
    train: bool = True,
) -> Compose:
    """Build a sample pipeline from a preset of :data:`PRESETS`.

    ``train=True``: the preset's augmentation, then :class:`Grayscale` (if ``grayscale``),
    then :class:`ToModelRange`. ``train=False``: :class:`Resize`, optional grayscale,
    :class:`ToModelRange` (no randomness).

    Args:
        preset: a key of :data:`PRESETS`.
        size: output (H, W) in pixels, or an int n for (n, n).
        depth_range: (lo, hi) of the dataset's depth, mapped to [-1, 1].
        grayscale: convert rgb to 1 channel.
        train: include the random augmentation.

    Raises:
        InputError: an unknown preset or invalid size / depth_range.
    """
    if preset not in PRESETS:
        raise InputError(f"unknown transform preset {preset!r}; known presets: {sorted(PRESETS)}")
    hw = _size2(size, "size")
    transforms: list[Transform] = PRESETS[preset].augment(hw) if train else [Resize(hw)]
    if grayscale:
        transforms.append(Grayscale())
    transforms.append(ToModelRange(depth_range))
    return Compose(transforms)
