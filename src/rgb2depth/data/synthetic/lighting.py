"""Lighting for the synthetic faces: environment presets, skin shading and shadow maps.

A *lighting* is a JSON-serialisable dict drawn by :func:`sample_lighting` from one of
the :data:`PRESETS` (a window, an office ceiling, sun, overcast sky, a studio, a
table lamp, an on-camera flash):

* ``lights``: 1 to 3 directional lights, each with ``direction`` (unit vector toward
  the light, camera frame: x right, y down, z forward), ``colour`` (linear RGB gains
  of its colour temperature, green 1), ``intensity`` and ``size_deg`` (the angular
  radius of the source: 0.3 for the sun, 15-30 for a window or a softbox), which sets
  the width of its shadows' penumbra. The first light (the key) casts shadows.
* ``ambient`` (strength), ``ambient_sky`` and ``ambient_ground`` (linear RGB): a
  hemisphere of coloured ambient light, sky colour from above and ground bounce from
  below (a first-order spherical-harmonics environment).

Shading (:func:`wrapped_diffuse`) wraps the Lambert term of skin further in red than in
blue, as light scattered under the skin reaches past the terminator (subsurface-like).
Shadows (:class:`ShadowMap`): the mesh is rasterised orthographically along the key
light with the z-buffer rasteriser of :mod:`rgb2depth.data.synthetic._raster`, keeping
the faces turned away from the light (a back-face map: no self-shadowing acne on lit
surfaces), and each shaded point is tested against it with percentage-closer filtering
whose radius grows with the distance to the occluder (contact-hardening penumbrae:
hard under the nose tip, softer far from it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rgb2depth.data.synthetic._raster import rasterize

PRESETS = ("window", "office", "outdoor", "overcast", "studio", "lamp", "flash")
"""Environment presets, in the order of :data:`PRESET_WEIGHTS`."""

PRESET_WEIGHTS = (0.22, 0.18, 0.17, 0.1, 0.12, 0.13, 0.08)

# colour temperature (K) -> linear RGB gains relative to D65 white, green = 1
_KELVIN = np.array([2000.0, 2700.0, 3200.0, 4000.0, 5000.0, 6500.0, 8000.0, 10000.0, 14000.0])
_KELVIN_RGB = np.array(
    [
        [1.75, 1.0, 0.22],
        [1.45, 1.0, 0.45],
        [1.30, 1.0, 0.60],
        [1.15, 1.0, 0.78],
        [1.06, 1.0, 0.90],
        [1.0, 1.0, 1.0],
        [0.92, 1.0, 1.10],
        [0.86, 1.0, 1.20],
        [0.80, 1.0, 1.32],
    ]
)

MAX_SHADOW_TEXELS = 160
"""The shadow map has at most this many texels along each side."""


def kelvin_rgb(kelvin: float) -> list[float]:
    """Linear RGB gains (green 1) of a light of colour temperature ``kelvin``,
    interpolated in mired between tabulated values (2000-14000 K)."""
    mired = 1e6 / np.clip(kelvin, _KELVIN[0], _KELVIN[-1])
    m = 1e6 / _KELVIN  # decreasing
    return [float(np.interp(mired, m[::-1], _KELVIN_RGB[::-1, c])) for c in range(3)]


def direction(azimuth_deg: float, elevation_deg: float) -> list[float]:
    """Unit vector toward a light in the camera frame: azimuth 0 at the camera, positive
    to the image right (beyond 90 behind the subject), elevation positive above."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return [math.sin(az) * math.cos(el), -math.sin(el), -math.cos(az) * math.cos(el)]


def _tint(rgb: list[float], rng: np.random.Generator, amount: float) -> list[float]:
    """``rgb`` with a small random green-magenta tint."""
    g = 1.0 + float(rng.uniform(-amount, amount))
    return [rgb[0], rgb[1] * g, rgb[2]]


def _light(
    rng: np.random.Generator,
    az: tuple[float, float],
    el: tuple[float, float],
    kelvin: tuple[float, float],
    intensity: tuple[float, float],
    size: tuple[float, float],
    *,
    either_side: bool = True,
) -> dict[str, Any]:
    a = float(rng.uniform(*az))
    if either_side and rng.random() < 0.5:
        a = -a
    return {
        "direction": direction(a, float(rng.uniform(*el))),
        "colour": _tint(kelvin_rgb(float(rng.uniform(*kelvin))), rng, 0.03),
        "intensity": float(rng.uniform(*intensity)),
        "size_deg": float(rng.uniform(*size)),
    }


def sample_lighting(rng: np.random.Generator) -> dict[str, Any]:
    """Draw a lighting environment (see the module docstring for the keys)."""
    preset = PRESETS[int(rng.choice(len(PRESETS), p=PRESET_WEIGHTS))]
    lights: list[dict[str, Any]] = []
    if preset == "window":  # a large daylight source to one side, warm room bounce
        lights.append(_light(rng, (25, 95), (-10, 35), (5500, 9000), (0.9, 1.2), (12, 28)))
        if rng.random() < 0.5:
            key_x = lights[0]["direction"][0]
            fill = _light(rng, (30, 80), (-10, 20), (3000, 4500), (0.08, 0.25), (25, 40))
            fill["direction"][0] = -math.copysign(abs(fill["direction"][0]), key_x)
            lights.append(fill)
        ambient = float(rng.uniform(0.12, 0.3))
        sky = kelvin_rgb(float(rng.uniform(6500, 11000)))
        ground = [c * g for c, g in zip(kelvin_rgb(3500), (0.8, 0.65, 0.5), strict=True)]
    elif preset == "office":  # ceiling panels
        lights.append(_light(rng, (0, 40), (40, 75), (3800, 5200), (0.8, 1.0), (15, 30)))
        if rng.random() < 0.6:
            lights.append(_light(rng, (20, 90), (35, 70), (3800, 5200), (0.25, 0.5), (15, 30)))
        ambient = float(rng.uniform(0.2, 0.4))
        sky = _tint(kelvin_rgb(float(rng.uniform(4000, 5500))), rng, 0.05)
        ground = [0.55, 0.53, 0.5]
    elif preset == "outdoor":  # the sun, blue sky, ground bounce
        lights.append(_light(rng, (0, 85), (20, 70), (4800, 5800), (1.0, 1.4), (0.3, 1.5)))
        ambient = float(rng.uniform(0.25, 0.45))
        sky = kelvin_rgb(float(rng.uniform(9000, 14000)))
        ground = [[0.45, 0.55, 0.3], [0.55, 0.5, 0.42], [0.5, 0.5, 0.5]][int(rng.integers(3))]
    elif preset == "overcast":  # a bright soft sky from above
        lights.append(_light(rng, (0, 50), (45, 80), (6000, 7500), (0.4, 0.7), (35, 50)))
        ambient = float(rng.uniform(0.4, 0.6))
        sky = kelvin_rgb(float(rng.uniform(6500, 8500)))
        ground = [0.45, 0.45, 0.45]
    elif preset == "studio":  # key, fill and a rim light from behind
        lights.append(_light(rng, (20, 60), (10, 45), (5000, 6000), (0.9, 1.2), (6, 16)))
        lights.append(_light(rng, (30, 70), (0, 30), (5000, 6000), (0.15, 0.4), (15, 30)))
        lights[1]["direction"][0] = -math.copysign(
            abs(lights[1]["direction"][0]), lights[0]["direction"][0]
        )
        if rng.random() < 0.7:
            lights.append(_light(rng, (120, 160), (10, 45), (4500, 9000), (0.4, 1.0), (5, 15)))
        ambient = float(rng.uniform(0.03, 0.1))
        sky = [1.0, 1.0, 1.0]
        ground = [0.6, 0.6, 0.6]
    elif preset == "lamp":  # tungsten indoors at night
        lights.append(_light(rng, (15, 85), (-10, 40), (2500, 3300), (0.9, 1.2), (3, 10)))
        if rng.random() < 0.4:
            lights.append(_light(rng, (40, 100), (10, 60), (2500, 3500), (0.15, 0.4), (5, 15)))
        ambient = float(rng.uniform(0.05, 0.18))
        sky = kelvin_rgb(float(rng.uniform(2800, 3500)))
        ground = [c * 0.6 for c in kelvin_rgb(3000)]
    else:  # "flash": on-camera flash, hard shadows behind, dim warm ambient
        lights.append(_light(rng, (0, 8), (0, 12), (5500, 6000), (1.0, 1.3), (1.0, 3.0)))
        ambient = float(rng.uniform(0.04, 0.15))
        sky = kelvin_rgb(float(rng.uniform(2800, 4000)))
        ground = [c * 0.7 for c in sky]
    return {
        "preset": preset,
        "lights": lights,
        "ambient": ambient,
        "ambient_sky": [float(c) for c in sky],
        "ambient_ground": [float(c) for c in ground],
    }


def hemisphere(n: np.ndarray, sky: list[float], ground: list[float]) -> np.ndarray:
    """Irradiance (P, 3) float32 of the coloured ambient hemisphere at unit normals ``n``
    (camera frame, up is -y): sky colour facing up, ground colour facing down."""
    t = (0.5 - 0.5 * n[:, 1]).astype(np.float32)[:, None]
    s = np.asarray(sky, np.float32)
    g = np.asarray(ground, np.float32)
    return g + (s - g) * t


def wrapped_diffuse(ndl: np.ndarray, wrap: np.ndarray) -> np.ndarray:
    """Energy-normalised wrapped Lambert ``max(0, (n.l + w) / (1 + w))`` per channel.

    Args:
        ndl: (P,) cosine between normal and light direction.
        wrap: (P, 3) or (3,) wrap per channel (0 is plain Lambert; skin wraps red the
            most, as light scattered under the skin reaches past the terminator).

    Returns:
        (P, 3) float32.
    """
    w = np.asarray(wrap, np.float32)
    return np.clip((ndl[:, None] + w) / (1.0 + w), 0.0, None).astype(np.float32)


def _basis(to_light: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (u, v, w) with w along the light's travel and u x v = w."""
    w = -to_light / np.linalg.norm(to_light)
    a = np.array([0.0, 1.0, 0.0]) if abs(w[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(a, w)
    u /= np.linalg.norm(u)
    return u, np.cross(w, u), w


# 12 taps of a Vogel spiral in the unit disc (percentage-closer filtering)
_TAPS = 12
_TAP_R = np.sqrt((np.arange(_TAPS) + 0.5) / _TAPS)
_TAP_A = np.arange(_TAPS) * 2.399963229728653  # golden angle


class ShadowMap:
    """An orthographic back-face depth map of a mesh along one directional light.

    Args:
        verts: (N, 3) camera-frame vertex positions (mm).
        tris: (M, 3) triangles (the winding of :func:`~rgb2depth.data.synthetic._raster.rasterize`:
            clockwise on screen when they face the camera).
        two_sided: optional (M,) bool for triangles kept whatever their winding.
        to_light: (3,) direction toward the light (camera frame).
        receivers: (P, 3) points that will be tested; the map covers their extent.
        texel: wanted texel size (mm); larger if the receivers need more than
            :data:`MAX_SHADOW_TEXELS` texels along a side.
        margin: extra border (mm) around the receivers (the filter radius).
    """

    def __init__(
        self,
        verts: np.ndarray,
        tris: np.ndarray,
        two_sided: np.ndarray | None,
        to_light: np.ndarray,
        receivers: np.ndarray,
        *,
        texel: float,
        margin: float,
    ) -> None:
        self.u, self.v, self.w = _basis(np.asarray(to_light, np.float64))
        ru, rv = receivers @ self.u, receivers @ self.v
        lo_u, hi_u = float(ru.min()) - margin, float(ru.max()) + margin
        lo_v, hi_v = float(rv.min()) - margin, float(rv.max()) + margin
        span = max(hi_u - lo_u, hi_v - lo_v)
        self.texel = max(texel, span / MAX_SHADOW_TEXELS)
        self.origin = (lo_u, lo_v)
        self.shape = (
            max(math.ceil((hi_u - lo_u) / self.texel), 1),
            max(math.ceil((hi_v - lo_v) / self.texel), 1),
        )
        vz = verts @ self.w
        self.z0 = float(vz.min()) - 10.0
        # rows along u, columns along v: a mirror image of the light's view (u x v = w),
        # so that the rasteriser keeps the triangles facing away from the light
        xy = np.empty((len(verts), 2))
        xy[:, 0] = (verts @ self.v - lo_v) / self.texel
        xy[:, 1] = (verts @ self.u - lo_u) / self.texel
        ras = rasterize(xy, vz - self.z0, tris, *self.shape, two_sided=two_sided)
        self.depth = np.where(ras.depth > 0, ras.depth, np.inf).astype(np.float32)

    def _lookup(self, su: np.ndarray, sv: np.ndarray) -> np.ndarray:
        iu = np.clip(((su - self.origin[0]) / self.texel).astype(np.int64), 0, self.shape[0] - 1)
        iv = np.clip(((sv - self.origin[1]) / self.texel).astype(np.int64), 0, self.shape[1] - 1)
        return self.depth[iu, iv]

    def visibility(
        self,
        points: np.ndarray,
        size_deg: float,
        normals: np.ndarray | None = None,
        *,
        bias: float = 2.0,
        max_radius: float = 15.0,
    ) -> np.ndarray:
        """Fraction (P,) float32 in [0, 1] of the light that reaches each point.

        A blocker search over a disc guesses the distance to the occluder; the filter
        radius is that distance times ``tan(size_deg)`` (the penumbra of a source of
        angular radius ``size_deg``), at least 0.8 texel, at most ``max_radius`` mm.
        Each point is moved ``bias`` mm plus a texel toward the light and, given its unit
        ``normals``, one and a half texels off its surface, so that a surface does not
        shadow itself (occluders nearer than that are ignored).
        """
        if normals is not None:
            points = points + (1.5 * self.texel) * normals
        pu, pv = points @ self.u, points @ self.v
        pz = (points @ self.w - self.z0 - bias - self.texel).astype(np.float32)
        spread = math.tan(math.radians(size_deg))
        rot = np.arange(len(points)) * 0.7548776662466927 * 2.0 * math.pi  # per-point turn
        # blocker search within the widest penumbra an occluder 40 mm away could give
        search = float(np.clip(40.0 * spread, self.texel, max_radius))
        blocked_sum = np.zeros(len(points), np.float32)
        blocked_n = np.zeros(len(points), np.float32)
        centre = self._lookup(pu, pv)
        hit = centre < pz
        blocked_sum += np.where(hit, pz - centre, 0.0)
        blocked_n += hit
        for r, a in zip(_TAP_R[::2], _TAP_A[::2], strict=True):
            d = self._lookup(pu + search * r * np.cos(a + rot), pv + search * r * np.sin(a + rot))
            hit = d < pz
            blocked_sum += np.where(hit, pz - d, 0.0)
            blocked_n += hit
        vis = np.ones(len(points), np.float32)
        some = np.flatnonzero(blocked_n > 0)
        if some.size == 0:
            return vis
        dist = blocked_sum[some] / blocked_n[some]
        radius = np.clip(dist * spread, 0.8 * self.texel, max_radius)
        su, sv, sz, sr = pu[some], pv[some], pz[some], rot[some]
        lit = (self._lookup(su, sv) >= sz).astype(np.float32)
        for r, a in zip(_TAP_R, _TAP_A, strict=True):
            d = self._lookup(su + radius * r * np.cos(a + sr), sv + radius * r * np.sin(a + sr))
            lit += d >= sz
        vis[some] = lit / (_TAPS + 1)
        return vis
