"""Backgrounds and camera effects that make the synthetic faces look photographed.

Backgrounds (:func:`background`, linear RGB, never part of the depth map):

* ``photo``: a crop of a real photograph shipped inside the scikit-image wheel (see
  :data:`PHOTOS` for the files and their licences; read from the installed package,
  nothing is downloaded), flipped, scaled, tinted (the grey textures), dimmed or
  brightened and put out of focus;
* ``room``: an indoor room of :mod:`rgb2depth.data.synthetic.rooms`, rendered small and
  out of focus (a cluttered place behind the person);
* ``wall`` (a procedural textured wall), ``flat`` (one colour), ``dark`` (near black).

Camera (:func:`sample_camera`, :func:`develop`): on the linear image, white balance (an
auto white balance that only partly removes the colour of the light), an exposure error,
vignetting, lens blur and sometimes motion blur, photon and read noise; then a tone
curve (gamma 2.2 with an S-shaped contrast), saturation, sometimes sharpening, 8-bit
quantisation and often JPEG compression at a random quality (Pillow).

Sizes of blurs are fractions of the shorter image side, so that an effect looks the same
at every resolution.
"""

from __future__ import annotations

import importlib.util
import io
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

BACKGROUNDS = ("photo", "room", "wall", "flat", "dark")
"""Background kinds, in the order of :data:`BACKGROUND_WEIGHTS`."""

BACKGROUND_WEIGHTS = (0.35, 0.25, 0.22, 0.1, 0.08)

PHOTOS: dict[str, str] = {
    "coffee.png": "CC0, photographer Rachel Michetti (skimage.data.coffee)",
    "rocket.jpg": "public domain, SpaceX (skimage.data.rocket)",
    "brick.png": "CC0, CC0Textures Bricks25 (skimage.data.brick)",
    "grass.png": "CC0, linolafett on DeviantArt (skimage.data.grass)",
    "clock_motion.png": "public domain, photographer Stefan van der Walt (skimage.data.clock)",
}
"""Photographs in scikit-image's ``data`` folder used as backgrounds, with the licence
that scikit-image's ``skimage.data`` docstrings state for each. Photos of people or
animals (astronaut, camera, cat: faces that are not the subject) are left out, and so
are pictures that are no plausible place behind a person (microscopy, space, gravel
seen from above)."""

_TEXTURES = ("brick.png", "grass.png")  # close-ups of a surface

_PHOTO_SIDE = 256  # photos are kept in memory with this shorter side

_SRGB_STEPS = 4096
_TO_LINEAR = ((np.arange(256) / 255.0) ** 2.2).astype(np.float32)


def _skimage_data() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def _photo(name: str) -> Image.Image | None:
    """The photo ``name`` as an sRGB PIL image with the shorter side reduced to
    ``_PHOTO_SIDE``, or None when it is not installed."""
    folder = _skimage_data()
    if folder is None or not (folder / name).is_file():
        return None
    with Image.open(folder / name) as opened:
        im: Image.Image = opened.convert("RGB")
        scale = _PHOTO_SIDE / min(im.size)
        if scale < 1.0:
            im = im.resize(
                (round(im.size[0] * scale), round(im.size[1] * scale)), Image.Resampling.BOX
            )
        im.load()
        return im


def photo_available(name: str) -> bool:
    """Whether the background photo ``name`` (a key of :data:`PHOTOS`) is installed."""
    return _photo(name) is not None


def sample_background(rng: np.random.Generator) -> tuple[str, str]:
    """Draw a background kind and, for ``photo``, the photo's file name."""
    kind = BACKGROUNDS[int(rng.choice(len(BACKGROUNDS), p=BACKGROUND_WEIGHTS))]
    source = sorted(PHOTOS)[int(rng.integers(len(PHOTOS)))] if kind == "photo" else ""
    return kind, source


def _value_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: a coarse random grid, bilinearly upsampled to (h, w)."""
    g = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1))

    def weights(n: int) -> np.ndarray:
        t = np.linspace(0.0, cells, n)
        return np.maximum(0.0, 1.0 - np.abs(t[:, None] - np.arange(cells + 1)[None, :]))

    rows = np.einsum("ij,jk->ik", weights(h), g)  # einsum, not BLAS: bit-stable everywhere
    return np.einsum("ik,lk->il", rows, weights(w))


def _wall(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured far wall (sRGB in [0, 1]): smooth blotches and stripes, tiles or plaster."""
    base = rng.uniform(0.05, 0.7) * rng.uniform(0.7, 1.0, 3)
    tex = 0.25 * _value_noise(rng, h, w, 3) + 0.12 * _value_noise(rng, h, w, 12)
    pattern = int(rng.integers(4))
    yy = np.arange(h)[:, None] / max(h, w)
    xx = np.arange(w)[None, :] / max(h, w)
    if pattern == 1:  # stripes
        period = rng.uniform(0.05, 0.3)
        along = xx if rng.random() < 0.7 else yy
        tex = tex + 0.15 * np.sign(np.sin(2 * math.pi * along / period))
    elif pattern == 2:  # tiles
        period = rng.uniform(0.08, 0.3)
        tex = tex - 0.3 * (((xx / period) % 1.0 < 0.06) | ((yy / period) % 1.0 < 0.06))
    elif pattern == 3:  # plaster: blotches at a finer scale
        tex = tex + 0.12 * _value_noise(rng, h, w, 40)
    light = 1.0 + 0.4 * (xx - 0.5) * rng.uniform(-1, 1) + 0.3 * (yy - 0.5) * rng.uniform(-1, 1)
    return np.clip((1.0 + tex) * light, 0.0, None)[..., None] * base


def _photo_crop(rng: np.random.Generator, name: str, h: int, w: int) -> np.ndarray | None:
    """A random crop of photo ``name`` resampled to (h, w): linear RGB float32."""
    im = _photo(name)
    if im is None:
        return None
    pw, ph = im.size
    # a crop with the output's aspect, 30-100 % of what fits
    fit = min(pw / w, ph / h)
    s = fit * rng.uniform(0.3, 1.0)
    cw, ch = w * s, h * s
    x0, y0 = rng.uniform(0.0, pw - cw), rng.uniform(0.0, ph - ch)
    crop = im.resize((w, h), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    lin = _TO_LINEAR[np.asarray(crop)]
    grey = float(np.ptp(lin.mean(axis=(0, 1)))) < 1e-3  # the grey textures get a colour
    if grey:
        lin = lin * (0.6 + 0.4 * rng.uniform(0.3, 1.0, 3)).astype(np.float32)
    else:
        lin = lin * (1.0 + rng.uniform(-0.1, 0.1, 3)).astype(np.float32)
    return lin


def _room(seed: int, h: int, w: int) -> np.ndarray:
    """A small rendering of a furnished room, resampled to (h, w): linear RGB float32."""
    from rgb2depth.data.synthetic.rooms import Rooms  # heavy; only when a room is drawn

    rooms = Rooms(cache_size=1)
    rng = np.random.default_rng([seed, 5])
    scale = min(1.0, 48.0 / max(h, w))  # out of focus anyway: small is enough
    rh, rw = max(8, round(h * scale)), max(8, round(w * scale))
    rgb = rooms.render(rooms.sample_group(rng), rng, rh, rw).rgb
    img = Image.fromarray(rgb).resize((w, h), Image.Resampling.BILINEAR)
    return _TO_LINEAR[np.asarray(img)]


def background(
    kind: str,
    source: str,
    seed: int,
    h: int,
    w: int,
    *,
    defocus: float = 0.0,
    gain: float | np.ndarray = 1.0,
) -> np.ndarray:
    """The background image, linear RGB (h, w, 3) float32.

    Args:
        kind: one of :data:`BACKGROUNDS`; ``source``: the photo of a ``photo`` (a key of
            :data:`PHOTOS`; a photo that is not installed gives a ``wall``).
        seed: seeds the crop, the room or the wall.
        defocus: Gaussian blur sigma as a fraction of the shorter side (out of focus).
        gain: brightness factor, or RGB factors (the light of the place).
    """
    rng = np.random.default_rng([seed, 0])
    if kind == "dark":
        level = rng.uniform(0.0, 0.004) * rng.uniform(0.7, 1.0, 3)
        return np.broadcast_to(level.astype(np.float32), (h, w, 3))
    if kind == "flat":
        base = rng.uniform(0.05, 0.7) * rng.uniform(0.7, 1.0, 3)
        flat = (base**2.2 * np.asarray(gain)).astype(np.float32)
        return np.broadcast_to(flat, (h, w, 3))
    img: np.ndarray | None = None
    if kind == "photo":
        img = _photo_crop(rng, source, h, w)
        # close-ups of a fine texture (grass, bricks) read as noise when sharp
        defocus = max(defocus, 0.025 if source in _TEXTURES else 0.004)
    elif kind == "room":
        img = _room(seed, h, w)
    if img is None:
        img = (np.clip(_wall(rng, h, w), 0.0, 1.0) ** 2.2).astype(np.float32)
    img = img * np.asarray(gain, np.float32)
    sigma = defocus * min(h, w)
    if sigma > 0.3:
        img = ndimage.gaussian_filter(img, (sigma, sigma, 0), mode="reflect", truncate=2.5)
    return img.astype(np.float32)


# ---------------------------------------------------------------------------- camera
NEUTRAL_CAMERA: dict[str, Any] = {
    "white_balance": [1.0, 1.0, 1.0],
    "exposure_ev": 0.0,
    "vignetting": 0.0,
    "defocus": 0.0,
    "blur": 0.0,
    "motion": 0.0,
    "motion_deg": 0.0,
    "read_noise": 0.0,
    "shot_noise": 0.0,
    "contrast": 0.0,
    "saturation": 1.0,
    "sharpen": 0.0,
    "jpeg_quality": 0,
}
"""A camera that adds nothing: gamma 2.2 and 8-bit quantisation only."""


def sample_camera(rng: np.random.Generator, illuminant: list[float]) -> dict[str, Any]:
    """Draw the camera of a view; ``illuminant`` is the scene's mean light colour (linear
    RGB), which the auto white balance removes only partly.

    Keys: ``white_balance`` (RGB gains), ``exposure_ev``, ``vignetting`` (darkening of the
    corners), ``defocus`` (background blur), ``blur`` (lens blur of the whole image),
    ``motion`` and ``motion_deg`` (motion blur length and direction; blurs are fractions
    of the shorter side), ``read_noise`` and ``shot_noise`` (linear), ``contrast``,
    ``saturation``, ``sharpen`` and ``jpeg_quality`` (0: no JPEG).
    """
    ill = np.asarray(illuminant, np.float64)
    ill = ill / ill[1]
    k = rng.uniform(0.5, 1.0)
    wb = ill ** (-k) * np.exp(rng.normal(0.0, 0.04, 3))
    wb = wb / wb[1]
    motion = rng.uniform(0.004, 0.02) if rng.random() < 0.12 else 0.0
    return {
        "white_balance": [float(c) for c in wb],
        "exposure_ev": float(np.clip(rng.normal(0.0, 0.35), -1.0, 1.0)),
        "vignetting": float(rng.uniform(0.0, 0.5)) if rng.random() < 0.7 else 0.0,
        "defocus": float(rng.uniform(0.0, 0.03)),
        "blur": float(rng.uniform(0.0, 0.005)) if rng.random() < 0.5 else 0.0,
        "motion": float(motion),
        "motion_deg": float(rng.uniform(0.0, 180.0)),
        "read_noise": float(rng.uniform(0.0005, 0.006)),
        "shot_noise": float(rng.uniform(0.0, 0.004)),
        "contrast": float(rng.uniform(0.0, 0.35)),
        "saturation": float(rng.uniform(0.85, 1.15)),
        "sharpen": float(rng.uniform(0.2, 0.8)) if rng.random() < 0.35 else 0.0,
        "jpeg_quality": int(rng.integers(35, 96)) if rng.random() < 0.75 else 0,
    }


def _tone_lut(contrast: float) -> np.ndarray:
    """Linear [0, 1] in ``_SRGB_STEPS`` steps -> display value in [0, 1]: gamma 2.2, then
    a blend toward an S-curve by ``contrast``."""
    y = np.linspace(0.0, 1.0, _SRGB_STEPS) ** (1.0 / 2.2)
    return ((1.0 - contrast) * y + contrast * y * y * (3.0 - 2.0 * y)).astype(np.float32)


def _motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised line kernel of ``length`` pixels at ``angle_deg``, anti-aliased."""
    r = math.ceil(length / 2) + 1
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    a = math.radians(angle_deg)
    along = xx * math.cos(a) + yy * math.sin(a)
    across = -xx * math.sin(a) + yy * math.cos(a)
    k = np.clip(1.0 - np.abs(across), 0.0, 1.0) * np.clip(length / 2 + 0.5 - np.abs(along), 0, 1)
    return (k / k.sum()).astype(np.float32)


def develop(lin: np.ndarray, camera: dict[str, Any], seed: int) -> np.ndarray:
    """The photograph of a linear RGB scene (H, W, 3) through ``camera``: uint8 sRGB.

    ``seed`` seeds the sensor noise. The result depends only on the arguments (JPEG
    through the installed Pillow).
    """
    h, w = lin.shape[:2]
    short = min(h, w)
    gain = np.asarray(camera["white_balance"], np.float32) * np.float32(
        2.0 ** camera["exposure_ev"]
    )
    img = lin * gain
    if camera["vignetting"] > 0:
        yy = (np.arange(h, dtype=np.float32) + 0.5 - h / 2) / (0.5 * math.hypot(h, w))
        xx = (np.arange(w, dtype=np.float32) + 0.5 - w / 2) / (0.5 * math.hypot(h, w))
        r2 = yy[:, None] ** 2 + xx[None, :] ** 2
        img = img * (1.0 - np.float32(camera["vignetting"]) * r2 * (2.0 - r2))[..., None]
    sigma = camera["blur"] * short
    if sigma > 0.25:
        img = ndimage.gaussian_filter(img, (sigma, sigma, 0), mode="nearest", truncate=2.5)
    length = camera["motion"] * short
    if length >= 1.0:
        k = _motion_kernel(length, camera["motion_deg"])
        img = ndimage.correlate(img, k[..., None], mode="nearest")
    nrng = np.random.default_rng([seed, 1])
    std = np.sqrt(camera["shot_noise"] * np.clip(img, 0.0, None) + camera["read_noise"] ** 2)
    img = img + nrng.standard_normal(img.shape, dtype=np.float32) * std.astype(np.float32)
    q = np.clip(img * (_SRGB_STEPS - 1) + 0.5, 0, _SRGB_STEPS - 1).astype(np.int32)
    out = _tone_lut(float(camera["contrast"]))[q]
    if camera["saturation"] != 1.0:
        grey = out.mean(axis=2, keepdims=True)
        out = grey + np.float32(camera["saturation"]) * (out - grey)
    if camera["sharpen"] > 0:
        soft = ndimage.gaussian_filter(out, (0.8, 0.8, 0), mode="nearest", truncate=2.5)
        out = out + np.float32(camera["sharpen"]) * (out - soft)
    rgb = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    quality = int(camera["jpeg_quality"])
    if quality > 0:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        with Image.open(buf) as im:
            rgb = np.asarray(im.convert("RGB")).copy()
    return rgb
