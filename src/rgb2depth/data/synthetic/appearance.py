"""Skin, eyes, hair, make-up and glasses for the synthetic faces (albedo and overlays).

Every texture is a function of the surface coordinates of the face (the frontal rest
coordinates x, y in mm of :mod:`rgb2depth.data.synthetic.faces`), of an identity's
integer seed and of the pixel footprint ``foot`` (mm of surface per pixel): details
smaller than a pixel fade into their mean, so that a face looks the same at every
resolution and nothing aliases. All randomness comes from the seed: the same identity
gives the same freckles, moles and iris at every view.

* skin (:func:`skin_detail`): low-frequency redness and blotches, dark circles, pores
  (albedo and specular breakup), freckles on a jittered grid, moles and small red
  blemishes;
* hair (:func:`hair_strands`, :func:`stubble`): strand and clump textures stretched
  along the hair, beard and stubble density;
* eyes (:func:`iris`, :func:`catchlight`): radial iris fibres, a dark limbal ring, and
  the reflection of the key light on the cornea;
* make-up (:func:`sample_appearance`): lipstick, eye shadow, eyeliner and blush
  colours of an identity;
* overlays drawn into the image after shading (:func:`draw_segments`): glasses frames
  (:func:`glasses_polylines`, not in the depth map) and flyaway hairs at the hair's
  silhouette, anti-aliased and hidden behind nearer surfaces.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# A fixed table of hashed values in [-1, 1): bilinear lookups into it are the noise.
_TABLE = np.random.default_rng(0x5EED5).uniform(-1.0, 1.0, (256, 256)).astype(np.float32)


def noise2(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth value noise in [-1, 1] (float32) at lattice coordinates ``u, v`` (one unit
    per cell); ``seed`` shifts the table."""
    fu = np.floor(u)
    fv = np.floor(v)
    tu = (u - fu).astype(np.float32)
    tv = (v - fv).astype(np.float32)
    tu = tu * tu * (3.0 - 2.0 * tu)
    tv = tv * tv * (3.0 - 2.0 * tv)
    iu = (fu.astype(np.int64) + seed) & 255
    iv = (fv.astype(np.int64) + (seed >> 8) + 101) & 255
    iu1 = (iu + 1) & 255
    iv1 = (iv + 1) & 255
    t = _TABLE
    a = t[iv, iu] + (t[iv, iu1] - t[iv, iu]) * tu
    b = t[iv1, iu] + (t[iv1, iu1] - t[iv1, iu]) * tu
    return a + (b - a) * tv


def hash2(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    """Uniform [0, 1) float32 per integer cell ``(i, j)`` (a lookup, not smooth)."""
    k = (i.astype(np.int64) * 7919 + j.astype(np.int64) * 104729 + seed * 31) & 0xFFFF
    return 0.5 + 0.5 * _TABLE[k >> 8, k & 255]


def fade(cell: float, foot: np.ndarray) -> np.ndarray:
    """Weight (float32) of a detail of size ``cell`` (mm) seen with pixel footprint ``foot``:
    1 while a pixel is much smaller than the detail, 0 once it is as large."""
    return np.clip(cell / np.maximum(foot, 1e-6) - 1.0, 0.0, 1.0).astype(np.float32)


def _spot(d: np.ndarray, r: np.ndarray | float, foot: np.ndarray) -> np.ndarray:
    """Coverage of a disc of radius ``r`` at distance ``d`` by a pixel of width ``foot``,
    keeping the disc's mean darkening when it is smaller than a pixel."""
    w = np.maximum(0.5 * foot, 0.25)
    cov = np.clip((r - d) / w + 0.5, 0.0, 1.0)
    return (cov * np.minimum(1.0, (2.0 * r / np.maximum(foot, 1e-6)) ** 2)).astype(np.float32)


def _gauss(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2)).astype(np.float32)


# ---------------------------------------------------------------------------- identity
def sample_appearance(
    rng: np.random.Generator, *, tone: float, beard: float, hair_grey: bool
) -> dict[str, float]:
    """Draw the appearance keys of an identity (floats; colours sRGB in [0, 1]).

    ``tone`` is the skin tone (0 light to 1 dark), ``beard`` the beard density already
    drawn (0 shaven); ``hair_grey`` an older identity.
    """
    light = 1.0 - tone
    stubble = float(rng.uniform(0.4, 1.0)) if beard == 0 and rng.random() < 0.22 else 0.0
    makeup = 0.0
    if beard == 0 and stubble == 0 and rng.random() < 0.4:
        makeup = float(rng.uniform(0.3, 1.0))
    lip_hue = float(rng.uniform(0.0, 1.0))
    lipstick = np.array([0.6, 0.16, 0.18]) * (1 - lip_hue) + np.array([0.58, 0.28, 0.33]) * lip_hue
    lipstick *= rng.uniform(0.55, 1.05)
    shadow_hue = float(rng.uniform(0.0, 2 * math.pi))
    eyeshadow = 0.35 + 0.12 * np.cos(shadow_hue - np.array([0.0, 2.1, 4.2]))
    eyeshadow *= rng.uniform(0.5, 1.1)
    frame = [
        [0.03, 0.03, 0.03],
        [0.25, 0.14, 0.07],
        [0.55, 0.55, 0.57],
        [0.6, 0.45, 0.2],
        [0.1, 0.12, 0.25],
    ][int(rng.integers(5))]
    wears_glasses = rng.random() < 0.15
    return {
        "skin_sss": float(rng.uniform(0.6, 1.0)),
        "redness": float(rng.uniform(0.2, 1.0)),
        "dark_circles": float(rng.uniform(0.0, 1.0)),
        "pores": float(rng.uniform(0.3, 1.0)),
        "freckles": float(rng.uniform(0.2, 1.0)) if rng.random() < 0.45 * light else 0.0,
        "moles": float(rng.integers(0, 5)),
        "blemishes": float(rng.uniform(0.0, 1.0)) if rng.random() < 0.3 else 0.0,
        "stubble": stubble,
        "makeup": makeup,
        "lipstick_r": float(np.clip(lipstick[0], 0, 1)),
        "lipstick_g": float(np.clip(lipstick[1], 0, 1)),
        "lipstick_b": float(np.clip(lipstick[2], 0, 1)),
        "eyeshadow_r": float(np.clip(eyeshadow[0], 0, 1)),
        "eyeshadow_g": float(np.clip(eyeshadow[1], 0, 1)),
        "eyeshadow_b": float(np.clip(eyeshadow[2], 0, 1)),
        "eyeliner": float(rng.uniform(0.0, 1.0)) if makeup > 0 else 0.0,
        "blush": float(rng.uniform(0.0, 1.0)) if makeup > 0 else 0.0,
        "hair_shine": float(rng.uniform(0.2, 1.0)) * (0.5 if hair_grey else 1.0),
        "hair_frizz": float(rng.uniform(0.0, 1.0)),
        "hair_wave": float(rng.uniform(0.0, 1.0)),
        "glasses": 1.0 if wears_glasses else 0.0,
        "glasses_r": float(frame[0]),
        "glasses_g": float(frame[1]),
        "glasses_b": float(frame[2]),
        "glasses_frame": float(rng.uniform(1.0, 3.0)),  # rim thickness (mm)
        "glasses_width": float(rng.uniform(21.0, 27.0)),  # lens half width (mm)
        "glasses_height": float(rng.uniform(13.0, 21.0)),  # lens half height (mm)
        "glasses_shape": float(rng.uniform(2.0, 6.0)),  # 2 oval .. 6 rectangular
    }


# ---------------------------------------------------------------------------- skin
def skin_detail(
    idn: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    foot: np.ndarray,
    alb: np.ndarray,
    spec: np.ndarray,
    seed: int,
) -> None:
    """Paint skin detail onto the linear albedo ``alb`` (P, 3) and specular weight
    ``spec`` (P,) of skull pixels at rest coordinates (x, y) mm (in place)."""
    es = idn["eye_spacing"]
    ax = np.abs(x)
    # redness: low-frequency patches, strongest on the cheeks, nose and chin
    red = 0.5 + 0.5 * noise2(x / 22.0, y / 22.0, seed + 3) + 0.25 * noise2(x / 7, y / 7, seed + 5)
    zones = (
        0.7 * _gauss(ax, y, 38.0, 32.0, 16.0, 14.0)
        + 0.6 * _gauss(x, y, 0.0, idn["nose_length"] - 6.0, 9.0, 10.0)
        + 0.4 * _gauss(x, y, 0.0, idn["nose_length"] + idn["mouth_gap"] + 32.0, 18.0, 10.0)
        + 0.25
    )
    r = (0.12 * idn["redness"]) * red * zones
    alb *= np.stack([1.0 - 0.2 * r, 1.0 - r, 1.0 - 0.8 * r], axis=1)
    # lightness blotches
    alb *= (1.0 + 0.05 * noise2(x / 11.0, y / 11.0, seed + 7))[:, None]
    # dark circles under the eyes, a slightly darker, cooler band
    dc = 0.14 * idn["dark_circles"] * _gauss(ax, y, es + 1.0, 8.5, 10.0, 3.5)
    alb *= np.stack([1.0 - 0.8 * dc, 1.0 - dc, 1.0 - 0.5 * dc], axis=1)
    # pores: fine noise, more on the nose and cheeks; they break up the specular most
    w = fade(1.2, foot) * idn["pores"]
    if w.any():
        p = noise2(x / 0.6, y / 0.6, seed + 11) * w
        alb *= (1.0 + 0.04 * p)[:, None]
        spec *= 1.0 + 0.35 * p
    # mid-scale skin texture that survives at low resolution (specular only)
    spec *= 1.0 + 0.25 * noise2(x / 3.0, y / 3.0, seed + 13) * fade(4.0, foot)
    # freckles: spots on a jittered 2.6 mm grid, densest over the nose and cheeks
    if idn.get("freckles", 0.0) > 0:
        cell = 2.6
        ci, cj = np.floor(x / cell), np.floor(y / cell)
        h1, h2, h3 = hash2(ci, cj, seed + 17), hash2(ci, cj, seed + 19), hash2(ci, cj, seed + 23)
        zone = _gauss(ax, y, 20.0, 22.0, 24.0, 16.0) + 0.5 * _gauss(x, y, 0.0, -40.0, 40.0, 20.0)
        present = h1 < idn["freckles"] * np.clip(zone, 0.0, 1.0) * 0.8
        if present.any():
            cx = (ci + 0.3 + 0.4 * h2) * cell
            cy = (cj + 0.3 + 0.4 * h3) * cell
            rad = 0.35 + 0.5 * h2 * h3
            m = _spot(np.hypot(x - cx, y - cy), rad, foot) * present * (0.25 + 0.35 * h3)
            alb *= 1.0 - m[:, None] * np.array([0.35, 0.5, 0.6], np.float32)
    # moles (dark, round) and blemishes (small, red): a few per identity at fixed places
    prng = np.random.default_rng([seed, 29])
    for _ in range(int(idn.get("moles", 0.0))):
        mx, my = prng.uniform(-60.0, 60.0), prng.uniform(-50.0, 110.0)
        rad = prng.uniform(0.6, 1.6)
        m = _spot(np.hypot(x - mx, y - my), rad, foot) * prng.uniform(0.4, 0.8)
        alb *= 1.0 - m[:, None] * np.array([0.55, 0.65, 0.7], np.float32)
    for _ in range(round(8 * idn.get("blemishes", 0.0))):
        bx, by = prng.uniform(-50.0, 50.0), prng.uniform(-50.0, 100.0)
        rad = prng.uniform(0.8, 2.0)
        m = _spot(np.hypot(x - bx, y - by), rad, foot) * prng.uniform(0.2, 0.5)
        alb *= 1.0 - m[:, None] * np.array([0.0, 0.35, 0.3], np.float32)


def stubble(x: np.ndarray, y: np.ndarray, foot: np.ndarray, seed: int) -> np.ndarray:
    """Density (P,) in [0, 1] of beard hair: patchy growth, and short hairs that show as
    speckle while a pixel is small enough."""
    patch = np.clip(0.92 + 0.2 * noise2(x / 9.0, y / 9.0, seed + 31), 0.0, 1.0)
    dots = noise2(x / 0.7, y / 0.7, seed + 37) * fade(1.5, foot)
    return np.clip(patch * (1.0 + 0.5 * dots), 0.0, 1.0).astype(np.float32)


def hair_strands(
    across: np.ndarray, along: np.ndarray, foot: np.ndarray, seed: int, wave: float
) -> np.ndarray:
    """Brightness multiplier (P,) of hair: strands 0.5 mm apart and clumps 3-8 mm wide,
    stretched ``along`` the hair (mm); fine strands fade with the pixel ``foot``."""
    bend = wave * 4.0 * noise2(along / 18.0, across / 25.0, seed + 41)
    a = across + bend
    clumps = noise2(a / 3.0, along / 30.0, seed + 43) + 0.5 * noise2(a / 8.0, along / 60, seed + 47)
    fine = noise2(a / 0.5, along / 12.0, seed + 53) * fade(0.9, foot)
    mid = noise2(a / 1.4, along / 20.0, seed + 59) * fade(2.5, foot)
    return np.clip(1.0 + 0.45 * clumps + 0.5 * fine + 0.4 * mid, 0.25, 2.0).astype(np.float32)


def iris(r: np.ndarray, ang: np.ndarray, foot: np.ndarray, seed: int) -> np.ndarray:
    """Brightness multiplier (P,) of the iris at radius ``r`` (mm from its centre, radius
    about 5.6) and angle ``ang``: radial fibres, a lighter ring round the pupil, a dark
    limbal ring."""
    fibres = noise2(ang * 9.0, r / 1.2, seed + 61) * fade(0.8, foot)
    ring = 0.35 * np.exp(-0.5 * ((r - 2.7) / 0.6) ** 2)
    limbal = 0.55 * np.clip((r - 4.4) / 1.0, 0.0, 1.0)
    return np.clip(1.0 + 0.35 * fibres + ring - limbal, 0.2, 2.0).astype(np.float32)


def catchlight(
    x: np.ndarray,
    y: np.ndarray,
    eye_x: float,
    eye_y: float,
    half_head: np.ndarray,
    size_deg: float,
    foot: np.ndarray,
) -> np.ndarray:
    """The key light's reflection on the cornea of the eye at (eye_x, eye_y): its radiance
    (P,) at rest coordinates (x, y), relative to the light's irradiance.

    ``half_head`` is the half vector of the light and the view (toward the light plus
    toward the camera, normalised) in the head frame: the cornea (a sphere of 8 mm) shows
    the highlight where its normal equals it, as an image of the source (angular radius
    ``size_deg``) of radius ``8 sin(size) / 2`` mm. A small source is bright (the sun, a
    flash: a sharp point), a window dim and wide: 2.5 % reflected of a radiance of
    ``1 / (pi sin^2(size))``. Smaller than a pixel, the highlight keeps its energy spread
    over the pixel.
    """
    if half_head[2] > -0.2:  # the light would reflect off the side of the eye
        return np.zeros(len(x), np.float32)
    hx, hy = 8.0 * half_head[0], 8.0 * half_head[1]
    sin_s = math.sin(math.radians(min(max(size_deg, 0.3), 40.0)))
    rad = 0.25 + 4.0 * sin_s
    peak = min(0.025 / (math.pi * sin_s**2), 6.0)
    d = np.hypot(x - (eye_x + hx), y - (eye_y + hy))
    wide = np.sqrt(rad**2 + (0.5 * foot) ** 2)
    return (peak * np.exp(-0.5 * (d / wide) ** 2) * (rad / wide) ** 2).astype(np.float32)


# ---------------------------------------------------------------------------- overlays
def draw_segments(
    img: np.ndarray,
    depth: np.ndarray,
    p0: np.ndarray,
    p1: np.ndarray,
    z0: np.ndarray,
    z1: np.ndarray,
    radius: np.ndarray,
    colour: np.ndarray,
    alpha: np.ndarray,
    *,
    tolerance: float = 4.0,
) -> np.ndarray:
    """Draw anti-aliased line segments over the linear image ``img`` (H, W, 3) (in place).

    Args:
        depth: (H, W) depth of the scene (0 where empty): a segment point farther than
            the surface under it (by more than ``tolerance``) is hidden.
        p0, p1: (S, 2) end points in pixel coordinates (x, y); ``z0``, ``z1``: (S,) their
            depth (same units as ``depth``).
        radius: (S,) half width in pixels; thinner than half a pixel keeps its coverage
            (fainter, not thicker).
        colour: (S, 3) linear RGB; ``alpha``: (S,) opacity.

    Returns:
        The (H, W) coverage drawn.
    """
    h, w = depth.shape
    out = np.zeros(h * w, np.float32)
    if len(p0) == 0:
        return out.reshape(h, w)
    reach = np.maximum(radius, 0.5) + 1.0
    x_lo = np.clip(np.floor(np.minimum(p0[:, 0], p1[:, 0]) - reach), 0, w - 1).astype(np.int64)
    x_hi = np.clip(np.ceil(np.maximum(p0[:, 0], p1[:, 0]) + reach), 0, w - 1).astype(np.int64)
    y_lo = np.clip(np.floor(np.minimum(p0[:, 1], p1[:, 1]) - reach), 0, h - 1).astype(np.int64)
    y_hi = np.clip(np.ceil(np.maximum(p0[:, 1], p1[:, 1]) + reach), 0, h - 1).astype(np.int64)
    nx, ny = x_hi - x_lo + 1, y_hi - y_lo + 1
    count = np.where((nx > 0) & (ny > 0), nx * ny, 0)
    seg = np.repeat(np.arange(len(p0)), count)
    if seg.size == 0:
        return out.reshape(h, w)
    k = np.arange(seg.size) - np.repeat(np.cumsum(count) - count, count)
    px = x_lo[seg] + k % nx[seg]
    py = y_lo[seg] + k // nx[seg]
    # distance from the pixel centre to the segment
    dx, dy = p1[seg, 0] - p0[seg, 0], p1[seg, 1] - p0[seg, 1]
    qx, qy = px + 0.5 - p0[seg, 0], py + 0.5 - p0[seg, 1]
    t = np.clip((qx * dx + qy * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    d = np.hypot(qx - t * dx, qy - t * dy)
    hw = np.maximum(radius[seg], 0.5)
    cov = np.clip(hw + 0.5 - d, 0.0, 1.0) * (radius[seg] / hw) * alpha[seg]
    z = z0[seg] + t * (z1[seg] - z0[seg])
    pix = py * w + px
    under = depth.ravel()[pix]
    cov = np.where((under <= 0) | (z <= under + tolerance), cov, 0.0).astype(np.float32)
    np.maximum.at(out, pix, cov)
    acc = np.zeros((h * w, 3), np.float32)
    wsum = np.zeros(h * w, np.float32)
    np.add.at(acc, pix, colour[seg] * cov[:, None])
    np.add.at(wsum, pix, cov)
    on = np.flatnonzero(out > 0)
    a = out[on, None]
    flat = img.reshape(-1, 3)
    flat[on] = flat[on] * (1.0 - a) + a * acc[on] / wsum[on, None]
    return out.reshape(h, w)


def glasses_polylines(
    idn: dict[str, Any],
    eye_z: float,
    bridge_z: float,
    brow_z: float,
    side_x: float,
    ear_top: tuple[float, float],
) -> list[np.ndarray]:
    """The frames of a pair of glasses as polylines (each (K, 3), head frame, mm).

    Args:
        idn: the identity (eye spacing and the ``glasses_*`` keys).
        eye_z: z of the front of the eyes; ``bridge_z`` of the nose bridge between them;
            ``brow_z`` of the brow ridge (z grows away from the camera).
        side_x: half width of the head at the temples.
        ear_top: (y, z) where the temples rest on the ears.
    """
    es = idn["eye_spacing"]
    a = min(idn["glasses_width"], es - 4.0)
    b = idn["glasses_height"]
    p = idn["glasses_shape"]
    cx, cy = es + 1.0, -3.0
    rim_z = min(eye_z - 13.0, brow_z - 4.0)
    t = np.linspace(0.0, 2 * math.pi, 41)
    c, s = np.cos(t), np.sin(t)
    ex = np.sign(c) * np.abs(c) ** (2.0 / p)
    ey = np.sign(s) * np.abs(s) ** (2.0 / p)
    ey = np.where(ey > 0, ey * 0.85, ey)  # flatter at the bottom
    lines = []
    for side in (-1.0, 1.0):
        lx = side * (cx + a * ex)
        lz = rim_z + 0.012 * (lx - side * cx) ** 2 + 0.01 * (side * lx - cx) * 2.0
        lines.append(np.stack([lx, cy + b * ey, lz], axis=1))
    # bridge: an arc over the nose between the inner rims
    bx = np.linspace(-(cx - a), cx - a, 7)
    bz = np.minimum(rim_z, bridge_z - 3.0) - 2.0 * (1.0 - (bx / max(cx - a, 1.0)) ** 2)
    lines.append(np.stack([bx, np.full_like(bx, cy - 0.45 * b), bz], axis=1))
    # temples: from the hinges back over the ears
    for side in (-1.0, 1.0):
        hinge = np.array([side * (cx + a + 1.0), cy - 0.4 * b, rim_z + 2.0])
        mid = np.array([side * (side_x + 2.5), cy - 0.4 * b + 4.0, rim_z + 40.0])
        end = np.array([side * (side_x + 1.5), ear_top[0], ear_top[1]])
        lines.append(np.stack([hinge, mid, end]))
    return lines
