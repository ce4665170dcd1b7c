"""Procedural 3-D heads: RGB and metric depth (mm) of one face seen by a pinhole camera.

A *group* is an identity (skull and face proportions, nose, brows, cheekbones,
chin, eye sockets, lips, ears, skin tone, hair and brow colour, hairline). Each
view draws an expression (mouth open, smile), a head pose, a distance, 1 to 3
lights plus ambient, and a background (a textured far wall or an empty flat
one), and renders RGB and depth from the same triangle mesh with a z-buffer.

Geometry (head frame, millimetres, x right, y down, z away from the camera when
the head faces it; origin between the eyes, at the centre of the skull):

* the skull is a swept surface on a (phi, theta) grid, phi from the crown to
  below the chin, theta around the vertical axis; every horizontal section is
  an ellipse whose half width and front / back depth follow superellipse
  profiles (a domed cranium, a flat forehead, a tapering jaw);
* facial relief (eye sockets and eyeballs, brow ridge, nose bridge, tip and
  alae, cheekbones, lips, chin, the open mouth's cavity) is an additive
  displacement toward the camera, a function of the frontal (x, y) coordinates;
* hair is an outward offset of the scalp above the hairline;
* the ears are separate two-sided patches and the neck a separate tube, both
  entering the skull so that the silhouette has no gaps.

* the neck is a tube whose top follows the head and whose bottom follows a boxy
  torso in clothes (head and shoulders, as in portrait photos); the head turns
  about the top of the neck, the torso only follows the head's yaw a little.

Camera: pinhole, square pixels, a 35 degree field of view across the shorter
image side (``fx = fy = min(H, W) / (2 tan 17.5°)``, 203 px at 128 x 128), principal
point at the image centre; a head fills about 80% of the frame height at 0.5 m and
a quarter of it at 1.5 m. Depth is z along the optical axis in mm, 0.0 off the
figure (background, far wall). The ``distance_mm`` of a view is the depth of the
nearest point of the figure, so every valid depth lies in
``[distance_mm, distance_mm + DEPTH_EXTENT_MM]``.

Rendering (numpy only, see :mod:`rgb2depth.data.synthetic._raster`): the mesh is
rasterised with a z-buffer at the pixel centres, which gives the depth and, per
pixel, the surface point to shade: wrapped Lambert + Blinn-Phong specular in
linear RGB from 1 to 3 lights and an ambient term, soft cavity occlusion, skin,
hair and feature albedo evaluated at the surface coordinates of the pixel (small
features averaged over the pixel footprint). Silhouette pixels blend with the
background by their covered fraction (2 x 2 points), then gamma 2.2 and sensor
noise. Where a pixel spans more than 3.5 (7) mm of face, a skull mesh with half
(a quarter of) the rows and columns is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, overload

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from rgb2depth.data.synthetic._raster import (
    Raster,
    edge_coverage,
    grid_triangles,
    interpolate,
    rasterize,
)
from rgb2depth.data.synthetic.base import RenderedSample, SceneKind, View

FOV_DEG = 35.0
"""Field of view across the shorter image side, degrees."""

SUPERSAMPLE = 2
"""Silhouette pixels estimate their covered fraction from SUPERSAMPLE x SUPERSAMPLE points
(anti-aliasing of the RGB edges); depth and shading are sampled at the pixel centres."""

DISTANCE_RANGE_MM = (500.0, 1500.0)
"""Depth of the nearest point of the figure (mostly the nose tip), mm; drawn as
``lo * (hi / lo) ** (u ** 1.3)`` with u uniform, a log-uniform law leaning to the near end
(median about 0.78 m), so that most faces fill a good part of the frame."""

DEPTH_EXTENT_MM = 300.0
"""Upper bound of the visible depth extent of the figure (head, neck and shoulders: nearest
to farthest visible point, mm); about 215 mm is the most seen."""

YAW_MAX, PITCH_MAX, ROLL_MAX = 40.0, 25.0, 15.0
"""Pose limits, degrees (each drawn uniformly in +-limit)."""

BACKGROUNDS = ("wall", "flat", "dark")
"""Background types: a textured far wall, a flat colour, a near-black empty scene."""

# the skull grid: rows along phi (crown -> under the chin), columns along theta
_N_PHI, _N_THETA = 105, 132  # full detail; coarser levels take every 2nd / 4th
_N_EAR_R, _N_EAR_T = 9, 28
_N_NECK_Y, _N_NECK_T = 16, 40
_N_TORSO_PHI, _N_TORSO_T = 28, 64


def _warped_grid(n: int, lo: float, hi: float, density, *, periodic: bool) -> np.ndarray:
    """``n`` samples in [lo, hi] (or [lo, hi) if periodic) spaced as 1 / density."""
    fine = np.linspace(lo, hi, 4097)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density(fine[1:]) + density(fine[:-1])))])
    cdf /= cdf[-1]
    q = np.arange(n) / n if periodic else np.linspace(0.0, 1.0, n)
    return np.interp(q, cdf, fine)


_PHI = _warped_grid(
    _N_PHI, 0.0, math.pi, lambda p: 0.45 + np.exp(-0.5 * ((p - 1.95) / 0.55) ** 2), periodic=False
)
_THETA = _warped_grid(
    _N_THETA, -math.pi, math.pi, lambda t: 0.3 + np.exp(-0.5 * (t / 0.8) ** 2), periodic=True
)
_EAR_R = np.linspace(0.0, 1.0, _N_EAR_R)
_EAR_T = np.linspace(0.0, 2 * math.pi, _N_EAR_T, endpoint=False)
_NECK_V = np.linspace(0.0, 1.0, _N_NECK_Y)
_NECK_T = np.linspace(-math.pi, math.pi, _N_NECK_T, endpoint=False)
_TORSO_PHI = _warped_grid(
    _N_TORSO_PHI, 0.0, math.pi, lambda p: 0.3 + np.exp(-0.5 * (p / 0.5) ** 2), periodic=False
)
_TORSO_T = np.linspace(-math.pi, math.pi, _N_TORSO_T, endpoint=False)

# skin tones from light to dark (sRGB albedo)
_SKIN_TONES = np.array(
    [
        [0.97, 0.82, 0.73],
        [0.92, 0.72, 0.60],
        [0.80, 0.58, 0.44],
        [0.64, 0.44, 0.31],
        [0.46, 0.30, 0.20],
        [0.30, 0.19, 0.13],
    ]
)
_HAIR_COLOURS = np.array(
    [
        [0.04, 0.035, 0.03],  # black
        [0.13, 0.08, 0.05],  # dark brown
        [0.30, 0.19, 0.11],  # brown
        [0.62, 0.47, 0.28],  # blond
        [0.50, 0.21, 0.09],  # red
        [0.55, 0.54, 0.52],  # grey
    ]
)
_HAIR_WEIGHTS = np.array([0.3, 0.25, 0.17, 0.12, 0.06, 0.1])
_IRIS_COLOURS = np.array(
    [[0.18, 0.10, 0.05], [0.08, 0.05, 0.03], [0.25, 0.38, 0.52], [0.30, 0.38, 0.22]]
)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


@overload
def _smoothstep(e0: float, e1: float, x: float) -> float: ...
@overload
def _smoothstep(e0: float | np.ndarray, e1: float | np.ndarray, x: np.ndarray) -> np.ndarray: ...
def _smoothstep(
    e0: float | np.ndarray, e1: float | np.ndarray, x: float | np.ndarray
) -> float | np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def _superellipse(c: np.ndarray, p: float) -> np.ndarray:
    """``(1 - |c|^p)^(1/p)``: sin(phi) for p = 2, boxier for p > 2."""
    return np.clip(1.0 - np.abs(c) ** p, 0.0, 1.0) ** (1.0 / p)


def _to_linear(c: npt.ArrayLike) -> np.ndarray:
    return np.asarray(c, dtype=np.float64) ** 2.2


def _rotate(v: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """``v @ rot.T`` for (N, 3) ``v``, without BLAS (whose threads slow small products)."""
    return v[:, 0:1] * rot[:, 0] + v[:, 1:2] * rot[:, 1] + v[:, 2:3] * rot[:, 2]


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Head-to-camera rotation: yaw about y, then pitch about x, then roll about z (degrees).

    Positive yaw turns the face toward the image right, positive pitch lifts the chin
    (the face looks up), positive roll turns the head clockwise in the image.
    """
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), math.sin(b)], [0, -math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


class Faces(SceneKind):
    """Procedural heads: one identity per group, four views (pose, expression, light) each."""

    name: ClassVar[str] = "faces"
    description: ClassVar[str] = (
        "procedural 3-D heads (identity, expression, pose 0.5-1.5 m, lights); depth z in mm"
    )
    units: ClassVar[str] = "mm"
    depth_range: ClassVar[tuple[float, float]] = (
        DISTANCE_RANGE_MM[0],
        DISTANCE_RANGE_MM[1] + DEPTH_EXTENT_MM,
    )
    png_scale: ClassVar[float] = 0.05
    png_offset: ClassVar[float] = 0.0
    views_per_group: ClassVar[int] = 4
    group_label: ClassVar[str] = "identity"

    # ------------------------------------------------------------------ camera
    def intrinsics(self, height: int, width: int) -> dict[str, float]:
        """Pinhole intrinsics: 35° field of view across the shorter side, centred."""
        f = 0.5 * min(height, width) / math.tan(math.radians(FOV_DEG / 2))
        return {"fx": f, "fy": f, "cx": width / 2, "cy": height / 2}

    # ---------------------------------------------------------------- identity
    def sample_group(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw an identity: a flat dict of floats (mm, ratios, sRGB colours in [0, 1])."""
        tone = _u(rng, 0.0, 1.0)
        k = tone * (len(_SKIN_TONES) - 1)
        i = min(int(k), len(_SKIN_TONES) - 2)
        skin = _SKIN_TONES[i] * (i + 1 - k) + _SKIN_TONES[i + 1] * (k - i)
        skin = skin * np.array([1.0, 1.0 + _u(rng, -0.04, 0.04), 1.0 + _u(rng, -0.08, 0.08)])
        skin = np.clip(skin * _u(rng, 0.94, 1.04), 0.0, 1.0)
        hc = int(rng.choice(len(_HAIR_COLOURS), p=_HAIR_WEIGHTS))
        if tone > 0.55 and hc in (3, 4):  # mostly dark hair with dark skin
            hc = 0
        hair = np.clip(_HAIR_COLOURS[hc] * _u(rng, 0.8, 1.2), 0.0, 1.0)
        brow = np.clip(hair * _u(rng, 0.5, 0.9) + 0.02, 0.0, 1.0)
        if hc == 5:  # grey hair, darker brows
            brow = np.clip(hair * 0.6, 0.0, 1.0)
        iris = _IRIS_COLOURS[int(rng.integers(len(_IRIS_COLOURS)))] * _u(rng, 0.8, 1.2)
        hue = _u(rng, 0.0, 2 * math.pi) - np.array([0.0, 2.1, 4.2])
        cloth = _u(rng, 0.08, 0.75) * (1.0 + _u(rng, 0.0, 0.5) * np.cos(hue))
        cloth = np.clip(cloth, 0.02, 1.0)
        bald = rng.random() < 0.12
        idn = {
            # skull (mm)
            "head_width": _u(rng, 138.0, 162.0),
            "head_height": _u(rng, 215.0, 245.0),  # crown to chin
            "head_depth": _u(rng, 180.0, 205.0),
            "forehead": _u(rng, 2.2, 3.2),  # front profile exponent: larger is flatter
            "jaw_width": _u(rng, 0.76, 0.95),  # jaw angle width / head width
            "chin_height": _u(rng, 34.0, 44.0),  # mouth line to chin bottom
            "chin_protrusion": _u(rng, 2.0, 11.0),
            "chin_width": _u(rng, 14.0, 22.0),
            # eyes (mm): half the distance between the eye centres, opening, sockets
            "eye_spacing": _u(rng, 29.0, 34.0),
            "eye_width": _u(rng, 25.0, 31.0),
            "eye_opening": _u(rng, 3.5, 5.5),
            "eye_socket_depth": _u(rng, 6.0, 12.0),
            "brow_ridge": _u(rng, 2.0, 7.0),
            "brow_height": _u(rng, 15.0, 21.0),
            "brow_thickness": _u(rng, 4.0, 8.0),
            "brow_arch": _u(rng, 1.0, 5.0),
            # nose (mm)
            "nose_length": _u(rng, 40.0, 52.0),  # nasion to tip, vertical
            "nose_width": _u(rng, 14.0, 22.0),  # half width at the alae
            "nose_protrusion": _u(rng, 17.0, 28.0),
            "nose_bridge": _u(rng, 4.0, 12.0),
            "nose_tip": _u(rng, 5.0, 9.0),  # tip bulb radius
            # cheeks, mouth (mm)
            "cheekbones": _u(rng, 3.0, 10.0),
            "cheek_width": _u(rng, 40.0, 50.0),
            "mouth_width": _u(rng, 22.0, 28.0),  # half width
            "mouth_gap": _u(rng, 13.0, 19.0),  # nose base to mouth line
            "lip_fullness": _u(rng, 2.5, 7.0),
            "lip_upper": _u(rng, 5.0, 9.0),
            "lip_lower": _u(rng, 7.0, 12.0),
            # ears (mm, degrees)
            "ear_height": _u(rng, 55.0, 68.0),
            "ear_width": _u(rng, 28.0, 36.0),
            "ear_angle": _u(rng, 12.0, 32.0),
            "ear_offset": _u(rng, -5.0, 5.0),  # vertical
            # neck and shoulders (mm)
            "neck_length": _u(rng, 60.0, 85.0),  # chin to the top of the torso
            "neck_width": _u(rng, 105.0, 135.0),
            "shoulder_width": _u(rng, 330.0, 430.0),
            "chest_depth": _u(rng, 190.0, 250.0),
            # colours (sRGB in [0, 1])
            "skin_tone": tone,
            "skin_r": float(skin[0]),
            "skin_g": float(skin[1]),
            "skin_b": float(skin[2]),
            "skin_shine": _u(rng, 0.25, 1.0),
            "skin_blotch": _u(rng, 0.02, 0.08),
            "lip_tint": _u(rng, 0.0, 1.0),
            "hair_r": float(hair[0]),
            "hair_g": float(hair[1]),
            "hair_b": float(hair[2]),
            "brow_r": float(brow[0]),
            "brow_g": float(brow[1]),
            "brow_b": float(brow[2]),
            "iris_r": float(iris[0]),
            "iris_g": float(iris[1]),
            "iris_b": float(iris[2]),
            "cloth_r": float(cloth[0]),
            "cloth_g": float(cloth[1]),
            "cloth_b": float(cloth[2]),
            # hair region: front hairline (y, mm above the eyes), temple and nape
            "hairline": _u(rng, -130.0, -100.0) if bald else _u(rng, -82.0, -58.0),
            "hair_temple": _u(rng, -20.0, 15.0),
            "hair_nape": _u(rng, 50.0, 95.0),
            "hair_volume": _u(rng, 0.0, 4.0) if bald else _u(rng, 6.0, 28.0),
            "hair_density": _u(rng, 0.5, 0.8) if bald else _u(rng, 0.85, 1.0),
            "beard": _u(rng, 0.3, 1.0) if rng.random() < 0.25 else 0.0,  # 0: shaven
            "texture_seed": float(rng.integers(0, 2**31 - 1)),
        }
        return idn

    # -------------------------------------------------------------------- view
    def sample_view(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw the per-view parameters, which become the sample's ``meta`` (JSON-serialisable,
        independent of the identity):

        * ``yaw_deg``, ``pitch_deg``, ``roll_deg``: head pose, uniform within +-40, +-25 and
          +-15 degrees (positive yaw turns the face to the image right, positive pitch lifts
          the chin, positive roll is clockwise); ``body_yaw_deg``: the torso's yaw;
        * ``distance_mm``: depth of the nearest point of the figure; ``offset_x``,
          ``offset_y``: where the head centre projects, from the image centre, as a fraction
          of the shorter image side;
        * ``smile``, ``mouth_open``: expression in [0, 1] (each neutral half the time or more);
        * ``lights``: 1 to 3 dicts with ``direction`` (unit vector toward the light, camera
          frame), ``colour`` (RGB gains) and ``intensity``; ``ambient``, ``specular``
          (strength) and ``exposure`` (face brightness, linear);
        * ``background``: ``"wall"`` (textured), ``"flat"`` or ``"dark"``; ``noise_std``:
          Gaussian sensor noise (fraction of full scale); ``noise_seed``: seeds the
          background texture and the noise.
        """
        lo, hi = DISTANCE_RANGE_MM
        n_lights = int(rng.integers(1, 4))
        lights = []
        for j in range(n_lights):
            az = math.radians(_u(rng, -75.0, 75.0))
            el = math.radians(_u(rng, -15.0, 60.0) if j == 0 else _u(rng, -30.0, 70.0))
            direction = [
                math.sin(az) * math.cos(el),
                -math.sin(el),
                -math.cos(az) * math.cos(el),
            ]
            warmth = _u(rng, -1.0, 1.0)
            colour = [1.0 + 0.12 * warmth, 1.0, 1.0 - 0.18 * warmth]
            intensity = _u(rng, 0.7, 1.2) if j == 0 else _u(rng, 0.1, 0.6)
            lights.append({"direction": direction, "colour": colour, "intensity": intensity})
        bg = BACKGROUNDS[int(rng.choice(3, p=[0.55, 0.25, 0.2]))]
        smile = _u(rng, 0.0, 1.0) if rng.random() < 0.5 else 0.0
        mouth_open = _u(rng, 0.0, 1.0) if rng.random() < 0.35 else 0.0
        yaw = _u(rng, -YAW_MAX, YAW_MAX)
        return {
            "yaw_deg": yaw,
            "pitch_deg": _u(rng, -PITCH_MAX, PITCH_MAX),
            "roll_deg": _u(rng, -ROLL_MAX, ROLL_MAX),
            "body_yaw_deg": 0.3 * yaw + _u(rng, -10.0, 10.0),
            "distance_mm": float(lo * (hi / lo) ** (rng.random() ** 1.3)),
            "offset_x": _u(rng, -0.08, 0.08),  # head centre, fraction of the shorter side
            "offset_y": _u(rng, -0.08, 0.04),
            "smile": smile,
            "mouth_open": mouth_open,
            "lights": lights,  # direction: unit vector toward the light, camera frame
            "ambient": _u(rng, 0.08, 0.35),
            "specular": _u(rng, 0.3, 1.0),
            "exposure": _u(rng, 0.3, 0.5),  # mean linear luminance of the face
            "background": bg,
            "noise_std": _u(rng, 0.0, 0.012),
            "noise_seed": int(rng.integers(0, 2**31 - 1)),
        }

    def render(
        self,
        group: dict[str, Any],
        rng: np.random.Generator,
        height: int,
        width: int,
        view: View = "paired",
    ) -> RenderedSample:
        """Render one view of identity ``group``: a :meth:`sample_view` draw, then
        :meth:`render_view`. ``view`` does not change a face."""
        return self.render_view(group, self.sample_view(rng), height, width)

    def render_view(
        self, group: dict[str, Any], params: dict[str, Any], height: int, width: int
    ) -> RenderedSample:
        """Render identity ``group`` with explicit per-view ``params`` (see :meth:`sample_view`).

        Returns:
            RGB (H, W, 3) uint8, depth (H, W) float32 in mm (z, 0.0 off the head) and
            ``params`` as ``meta``.
        """
        if height < 8 or width < 8:
            raise ValueError(f"expected an image of at least 8x8 pixels, got {height}x{width}")
        intr = self.intrinsics(height, width)
        f, cx, cy = intr["fx"], intr["cx"], intr["cy"]

        # a coarser skull mesh where pixels are wide
        lod = int(np.searchsorted(LOD_MM_PER_PIXEL, params["distance_mm"] / f, side="right"))
        lay = _LAYOUTS[lod]
        verts, normals, attr, body_w = _build_mesh(group, params, lay)
        # the head turns about the top of the neck, the torso only follows its yaw a little
        rot_h = _rotation(params["yaw_deg"], params["pitch_deg"], params["roll_deg"])
        rot_b = _rotation(params["body_yaw_deg"], 0.0, 0.0)
        pivot = np.array([0.0, 35.0, 15.0])
        pc = _rotate(verts - pivot, rot_h) + pivot
        nc = _rotate(normals, rot_h)
        body = np.flatnonzero(body_w > 0)
        wb = body_w[body, None]
        pc[body] += wb * (_rotate(verts[body] - pivot, rot_b) + pivot - pc[body])
        nc[body] = _normalize(nc[body] + wb * (_rotate(normals[body], rot_b) - nc[body]))
        attr[:, 0:3] = nc
        # the nearest point at the drawn distance, the head origin at the drawn offset
        origin = pivot - _rotate(pivot[None, :], rot_h)[0]
        tz = params["distance_mm"] - pc[:, 2].min()
        short = min(height, width)
        tx = params["offset_x"] * short * (tz + origin[2]) / f - origin[0]
        ty = params["offset_y"] * short * (tz + origin[2]) / f - origin[1]
        pc += np.array([tx, ty, tz])
        xy = np.empty((len(pc), 2))
        xy[:, 0] = f * pc[:, 0] / pc[:, 2] + cx
        xy[:, 1] = f * pc[:, 1] / pc[:, 2] + cy

        # depth and shading at the pixel centres; the covered fraction of the edge pixels
        # blends the silhouette with the background
        ras = rasterize(xy, pc[:, 2], lay.tris, height, width, two_sided=lay.two_sided)
        cov = edge_coverage(ras, xy, lay.tris, samples=SUPERSAMPLE)
        lin = np.zeros((height * width, 3), np.float32)
        if ras.pixels.size:
            lin[ras.pixels] = _shade(group, params, ras, lay, attr, f, cx, cy, width)
        lin, lost = _extend_edges(lin.reshape(height, width, 3), ras.mask, cov > 0)
        cov[lost] = 0.0
        bg = _background(params, height, width)
        img = lin * cov[..., None] + (1.0 - cov)[..., None] * bg
        img = _encode(img, params["noise_std"], params["noise_seed"])
        depth = ras.depth
        return RenderedSample(rgb=img, depth=depth.astype(np.float32), meta=dict(params))


# ---------------------------------------------------------------------------- geometry
# per-vertex attributes, interpolated per pixel: camera-frame normal, frontal rest (x, y) of
# the skull, sin and cos of theta, cavity occlusion, identity noise, how much the skull faces
# down, y after the jaw drop
_A_NX, _A_NY, _A_NZ, _A_X, _A_Y, _A_ST, _A_CT, _A_AO, _A_NOISE, _A_DOWN, _A_YD = range(11)
_N_ATTR = 11
# parts of the mesh, in vertex order: skull, left ear, right ear, neck, torso
_HEAD, _EAR, _NECK, _TORSO = range(4)


@dataclass(frozen=True)
class _Layout:
    """The mesh at one level of detail: the skull grid takes every ``step``-th phi and
    theta sample; the triangles of all parts (wrapped grids), the part of each triangle,
    whether it is two-sided, and each part's vertex slice."""

    step: int
    phi: np.ndarray
    theta: np.ndarray
    tris: np.ndarray
    tri_part: np.ndarray
    two_sided: np.ndarray
    slices: tuple[slice, ...]

    @property
    def n_verts(self) -> int:
        return self.slices[-1].stop

    @classmethod
    def make(cls, step: int) -> _Layout:
        phi, theta = _PHI[::step], _THETA[::step]
        parts = (
            (_HEAD, len(phi), len(theta)),
            (_EAR, _N_EAR_R, _N_EAR_T),
            (_EAR, _N_EAR_R, _N_EAR_T),
            (_NECK, _N_NECK_Y, _N_NECK_T),
            (_TORSO, _N_TORSO_PHI, _N_TORSO_T),
        )
        tris, part, slices, off = [], [], [], 0
        for kind, rows, cols in parts:
            t = grid_triangles(rows, cols, wrap_cols=True)
            tris.append(t + off)
            part.append(np.full(len(t), kind, np.int8))
            slices.append(slice(off, off + rows * cols))
            off += rows * cols
        part_all = np.concatenate(part)
        return cls(
            step, phi, theta, np.concatenate(tris), part_all, part_all == _EAR, tuple(slices)
        )


_LAYOUTS = tuple(_Layout.make(step) for step in (1, 2, 4))
LOD_MM_PER_PIXEL = (3.5, 7.0)
"""A pixel this many mm wide (at the distance of the face) or more selects the next coarser
skull mesh (2.2 mm, 4.4 mm, 8.8 mm between rows at the face)."""


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def _normalize(v: np.ndarray) -> np.ndarray:
    norm = np.sqrt(np.einsum("...i,...i->...", v, v))
    return v / np.maximum(norm, 1e-12)[..., None]


def _grid_normals(p: np.ndarray, *, outward: float = 1.0) -> np.ndarray:
    """Unit normals of a (R, C, 3) vertex grid that wraps around its columns."""
    dc = np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)
    dr = np.empty_like(p)
    dr[1:-1] = p[2:] - p[:-2]
    dr[0] = p[1] - p[0]
    dr[-1] = p[-1] - p[-2]
    return _normalize(_cross(dr, dc) * outward)


def _mouth_line(idn: dict[str, Any]) -> tuple[float, float, float]:
    """y of the nose tip, the nose base and the mouth line (mm below the eyes)."""
    y_tip = idn["nose_length"] - 3.0
    y_base = y_tip + 8.0
    return y_tip, y_base, y_base + idn["mouth_gap"]


def _ear_frame(idn: dict[str, Any]) -> tuple[float, float, float]:
    """Centre height, half height and half width of the ears (mm)."""
    return 12.0 + idn["ear_offset"], 0.5 * idn["ear_height"], 0.5 * idn["ear_width"]


def _hairline(idn: dict[str, Any], ath: np.ndarray) -> np.ndarray:
    """y of the hairline (mm, hair above) at horizontal angle |theta| from the face: the
    forehead, the temples and sideburns, above the ears, the nape."""
    y_ear, eh, _ = _ear_frame(idn)
    over_ear = y_ear - eh - 3.0
    return (
        idn["hairline"]
        + (idn["hair_temple"] - idn["hairline"]) * _smoothstep(0.5, 1.1, ath)
        + (over_ear - idn["hair_temple"]) * _smoothstep(1.25, 1.5, ath)
        + (idn["hair_nape"] - over_ear) * _smoothstep(2.0, 2.6, ath)
    )


def _face_relief(
    x: np.ndarray, y: np.ndarray, idn: dict[str, Any], smile: float, drop: float
) -> np.ndarray:
    """Displacement toward the camera (mm) of the facial features at frontal (x, y)."""
    es = idn["eye_spacing"]
    y_tip, y_base, y_mouth = _mouth_line(idn)
    mw = idn["mouth_width"] * (1.0 + 0.12 * smile)
    ax = np.abs(x)
    d = 7.0 * _gauss(x, y, 0.0, y_mouth, 27.0, 16.0)  # dental arch
    y_chin = y_mouth + idn["chin_height"]
    d += idn["chin_protrusion"] * _gauss(x, y, 0.0, y_chin - 12.0, idn["chin_width"], 9.0)
    # eye sockets and eyeballs
    sock = idn["eye_socket_depth"]
    d -= sock * _gauss(ax, y, es, -1.0, 13.0, 9.5)
    d += 0.55 * sock * _gauss(ax, y, es, 0.5, 8.5, 5.5)
    # brow ridge and glabella
    yb = -idn["brow_height"] + 4.0
    d += idn["brow_ridge"] * _gauss(ax, y, es - 2.0, yb, 16.0, 6.0)
    d += 0.8 * idn["brow_ridge"] * _gauss(x, y, 0.0, yb + 3.0, 10.0, 8.0)
    # soft cheeks over the jaw
    d += 4.0 * _gauss(ax, y, 42.0, 52.0, 16.0, 18.0)
    # cheekbones (raised by a smile)
    cy = 24.0 - 5.0 * smile
    d += (idn["cheekbones"] + 3.0 * smile) * _gauss(ax, y, idn["cheek_width"] - 8.0, cy, 15.0, 12.0)
    # nose: ridge from the nasion to the tip, tip bulb, alae
    t = np.clip((y + 4.0) / (y_tip + 4.0), 0.0, 1.0)
    prot = idn["nose_protrusion"]
    under = 1.0 - _smoothstep(y_tip, y_base + 1.0, y)
    ridge = idn["nose_bridge"] + (prot - idn["nose_bridge"] - 3.0) * t**1.3
    ridge = ridge * _smoothstep(-14.0, -3.0, y) * under
    half = 5.5 + (idn["nose_width"] * 0.55 - 5.5) * t**1.5
    d += ridge * np.exp(-0.5 * (x / half) ** 2)
    tip_r = idn["nose_tip"]
    d += 4.0 * _gauss(x, y, 0.0, y_tip - 0.3 * tip_r, tip_r, 0.9 * tip_r) * under
    nw = idn["nose_width"]
    ala = 0.35 * prot * _gauss(ax, y, nw - 5.0, y_tip + 1.0, 4.5, 4.5)
    d += ala * (1.0 - _smoothstep(y_tip + 2.0, y_base + 3.0, y))
    # philtrum groove and nasolabial folds
    d -= _gauss(x, y, 0.0, y_base + 7.0, 3.0, 5.0)
    fold_x = nw + 2.0 + (y - y_tip) * 0.35
    fold = np.exp(-0.5 * ((ax - fold_x) / 3.0) ** 2 - 0.5 * ((y - y_base - 8.0) / 11.0) ** 2)
    d -= (1.0 + 2.0 * smile) * fold
    # lips, following the mouth line (corners raised by a smile)
    ym = y_mouth - smile * 5.0 * (x / mw) ** 2
    lf = idn["lip_fullness"]
    u = np.clip(1.0 - (x / mw) ** 2, 0.0, 1.0) ** 0.6
    d += lf * u * np.exp(-0.5 * ((y - (ym - 0.45 * idn["lip_upper"])) / 2.8) ** 2)
    d += 1.1 * lf * u * np.exp(-0.5 * ((y - (ym + 1.5 + 0.45 * idn["lip_lower"])) / 3.5) ** 2)
    # the slit between the lips (the band that an open mouth stretches), a cavity when open
    mouth = np.sqrt(np.clip(1.0 - (x / (0.9 * mw)) ** 2, 0.0, 1.0))
    d -= (1.5 + 1.2 * drop) * mouth * np.exp(-0.5 * ((y - ym - 0.5) / 0.9) ** 2)
    return d


def _build_mesh(
    idn: dict[str, Any], params: dict[str, Any], lay: _Layout
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The head, ears, neck and torso as one triangle mesh (``lay.tris``) in the head frame,
    neutral pose.

    Returns:
        verts (N, 3), normals (N, 3), attr (N, _N_ATTR) float32 (normal columns left
        empty) and body_w (N,): how much each vertex follows the torso rather than the
        head (0 on the head, 1 on the torso, blending along the neck).
    """
    smile = float(params["smile"])
    drop = 18.0 * float(params["mouth_open"])
    tex = np.random.default_rng(int(idn["texture_seed"]))
    verts = np.empty((lay.n_verts, 3))
    normals = np.empty((lay.n_verts, 3))
    attr = np.zeros((lay.n_verts, _N_ATTR), np.float32)
    body_w = np.zeros(lay.n_verts)
    s_head, s_ear_l, s_ear_r, s_neck, s_torso = lay.slices

    # --- skull: a swept surface, elliptic sections with superellipse profiles
    w0 = 0.5 * idn["head_width"]
    _, _, y_mouth = _mouth_line(idn)
    y_chin = y_mouth + idn["chin_height"]
    h_top = idn["head_height"] - y_chin
    h_bot = y_chin / 0.9
    cphi = np.cos(lay.phi)[:, None]
    st, ct = np.sin(lay.theta)[None, :], np.cos(lay.theta)[None, :]
    upper = cphi > 0
    yn = np.abs(cphi)
    y1 = np.where(upper, -h_top * cphi, -h_bot * cphi)
    jaw = 1.0 - (1.0 - idn["jaw_width"]) * _smoothstep(30.0, 105.0, y1)
    width = w0 * jaw * np.where(upper, _superellipse(yn, 2.5), _superellipse(yn, 2.6))
    front = np.where(upper, _superellipse(yn, idn["forehead"]), _superellipse(yn, 4.0))
    back = np.where(upper, _superellipse(yn, 2.1), _superellipse(yn, 1.6))
    front *= 0.5 * idn["head_depth"] - 4.0
    back *= 0.5 * idn["head_depth"] + 4.0
    shape = (len(lay.phi), len(lay.theta))
    p = np.empty((*shape, 3))
    p[..., 0] = width * st
    p[..., 1] = y1
    p[..., 2] = -ct * np.where(ct > 0, front, back)
    x_face = p[..., 0].copy()
    y_face = p[..., 1].copy()
    if drop > 0:  # the jaw drops with an open mouth
        # the band of rest coordinates y in [mouth line - 0.5, + 1.5] opens into the mouth;
        # the chin drops most, the jaw angles less
        ym = y_mouth - smile * 5.0 * (x_face / (idn["mouth_width"] * (1.0 + 0.12 * smile))) ** 2
        band = _smoothstep(-0.5, 1.5, y_face - ym)
        lateral = (1.0 - 0.5 * _smoothstep(20.0, 70.0, np.abs(x_face))) * _smoothstep(0.0, 0.6, ct)
        p[..., 1] += drop * band * lateral
    y_drop = p[..., 1].copy()
    # hair: an outward offset of the scalp, growing over 35 mm above the hairline
    if idn["hair_volume"] > 0:
        y_hl = _hairline(idn, np.abs(lay.theta))[None, :]
        vol = idn["hair_volume"] * _smoothstep(y_hl + 2.0, y_hl - 35.0, y_face)
        p += _grid_normals(p) * vol[..., None]
    # facial relief toward the camera, on the front only
    front_w = np.broadcast_to(_smoothstep(0.05, 0.55, ct), shape)
    sel = front_w > 0
    relief = np.zeros(shape)
    relief[sel] = _face_relief(x_face[sel], y_face[sel], idn, smile, drop) * front_w[sel]
    p[..., 2] -= relief
    n = _grid_normals(p)
    n[0] = [0.0, -1.0, 0.0]  # the degenerate poles
    n[-1] = [0.0, 1.0, 0.0]
    # cavity occlusion: how far a point lies below its smoothed neighbourhood
    blur: np.ndarray = ndimage.gaussian_filter(
        relief, 3.0 / lay.step, mode=("nearest", "wrap"), truncate=2.5
    )
    # identity texture on the full-detail grid, so that every level shows the same skin
    noise: np.ndarray = ndimage.gaussian_filter(
        tex.standard_normal((_N_PHI, _N_THETA)), (1.5, 2.0), mode=("nearest", "wrap"), truncate=2.5
    )[:: lay.step, :: lay.step]
    verts[s_head] = p.reshape(-1, 3)
    normals[s_head] = n.reshape(-1, 3)
    a = attr[s_head]
    a[:, _A_X] = x_face.ravel()
    a[:, _A_Y] = y_face.ravel()
    a[:, _A_ST] = np.broadcast_to(st, shape).ravel()
    a[:, _A_CT] = np.broadcast_to(ct, shape).ravel()
    a[:, _A_AO] = (0.45 + 0.55 * np.exp(-np.maximum(blur - relief, 0.0) / 5.0)).ravel()
    a[:, _A_NOISE] = 3.0 * noise.ravel()
    a[:, _A_DOWN] = np.clip(n[..., 1], 0.0, 1.0).ravel()
    a[:, _A_YD] = y_drop.ravel()

    # --- ears: two-sided patches attached at the side of the skull, built in a local
    # frame (b backwards, d downwards, h out of the ear plane)
    y_ear, eh, ew = _ear_frame(idn)
    side_w = float(width[int(np.argmin(np.abs(y1[:, 0] - y_ear))), 0])
    r = _EAR_R[:, None]
    cos_t, sin_t = np.cos(_EAR_T)[None, :], np.sin(_EAR_T)[None, :]
    b = ew * r * cos_t * np.where(cos_t < 0, 0.6, 1.0)
    b = b * (1.0 - 0.35 * _smoothstep(0.2, 1.0, sin_t))  # narrower lobe
    d = eh * r * sin_t
    helix = 1.0 - _smoothstep(0.0, 0.7, -cos_t) * _smoothstep(-0.3, 0.3, sin_t)
    rim = 4.0 * np.exp(-0.5 * ((r - 0.9) / 0.07) ** 2) * helix
    anti = 2.0 * np.exp(-0.5 * ((r - 0.6) / 0.09) ** 2) * _smoothstep(-0.2, 0.5, cos_t - sin_t)
    concha = -6.0 * np.exp(-0.5 * ((b + 0.1 * ew) ** 2 + (d - 0.15 * eh) ** 2) / 7.0**2)
    lobe = _smoothstep(0.3, 0.8, sin_t)
    h = (rim + anti + concha) * (1.0 - lobe) + 2.0 * (1.0 - r**2)
    ang = math.radians(idn["ear_angle"])
    for side, sl in ((-1.0, s_ear_l), (1.0, s_ear_r)):
        back_ax = np.array([side * math.sin(ang), 0.0, math.cos(ang)])
        out_ax = np.array([side * math.cos(ang), 0.0, -math.sin(ang)])
        centre = np.array([side * (side_w - 6.0), y_ear, 2.0]) + 0.6 * ew * back_ax
        ev = np.empty((*b.shape, 3))
        for k in range(3):
            ev[..., k] = centre[k] + b * back_ax[k] + h * out_ax[k]
        ev[..., 1] += d
        en = _grid_normals(ev, outward=side)
        en[0] = out_ax
        verts[sl] = ev.reshape(-1, 3)
        normals[sl] = en.reshape(-1, 3)
        attr[sl, _A_AO] = np.clip(1.0 + 0.09 * concha, 0.35, 1.0).ravel()
        attr[sl, _A_NOISE] = tex.standard_normal(b.size)

    # --- neck: a tube from inside the skull into the torso; its top follows the head,
    # its bottom the torso
    y_sh = y_chin + idn["neck_length"]  # top of the torso, at the base of the neck
    v = _NECK_V[:, None]
    nt = _NECK_T[None, :]
    neck_y = 30.0 + v * y_sh
    # narrow inside the skull (so that it never shows through the jaw), full width from
    # under the chin, flaring into the shoulders
    grow = 0.65 + 0.35 * _smoothstep(50.0, y_chin + 5.0, neck_y)
    rx = 0.5 * idn["neck_width"] * grow * (1.0 + 0.2 * _smoothstep(0.6, 1.0, v))
    rz = 0.5 * idn["neck_width"] * 1.05 * grow
    neck = np.empty((_N_NECK_Y, _N_NECK_T, 3))
    neck[..., 0] = rx * np.sin(nt)
    neck[..., 1] = neck_y
    neck[..., 2] = 16.0 + 12.0 * v - rz * np.cos(nt)
    verts[s_neck] = neck.reshape(-1, 3)
    normals[s_neck] = _grid_normals(neck).reshape(-1, 3)
    attr[s_neck, _A_AO] = np.repeat(0.65 + 0.35 * _smoothstep(0.0, 0.35, _NECK_V), _N_NECK_T)
    attr[s_neck, _A_NOISE] = tex.standard_normal(neck.shape[0] * neck.shape[1])
    body_w[s_neck] = np.repeat(_smoothstep(y_chin - 20.0, y_sh, neck_y[:, 0]), _N_NECK_T)

    # --- torso: a boxy swept surface under the neck, in clothes
    cphi = np.cos(_TORSO_PHI)[:, None]
    tt = _TORSO_T[None, :]
    torso = np.empty((_N_TORSO_PHI, _N_TORSO_T, 3))
    torso[..., 0] = 0.5 * idn["shoulder_width"] * _superellipse(cphi, 4.0) * np.sin(tt)
    torso[..., 1] = y_sh - 5.0 + 300.0 * (1.0 - cphi)
    torso[..., 2] = 35.0 - 0.5 * idn["chest_depth"] * _superellipse(cphi, 3.0) * np.cos(tt)
    tn = _grid_normals(torso)
    tn[0] = [0.0, -1.0, 0.0]
    tn[-1] = [0.0, 1.0, 0.0]
    verts[s_torso] = torso.reshape(-1, 3)
    normals[s_torso] = tn.reshape(-1, 3)
    attr[s_torso, _A_AO] = 1.0
    attr[s_torso, _A_NOISE] = tex.standard_normal(torso.shape[0] * torso.shape[1])
    body_w[s_torso] = 1.0
    return verts, normals, attr, body_w


# ---------------------------------------------------------------------------- shading
def _feature_albedo(
    idn: dict[str, Any],
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    y_drop: np.ndarray,
    down: np.ndarray,
    alb: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Paint brows, eyes, lips and nostrils onto the linear albedo ``alb`` (P, 3) of
    front-facing skin at frontal rest coordinates (x, y); ``y_drop`` is y after the jaw drop
    and ``down`` (P,) how much the surface faces down in the head frame (nostrils are only
    there). Returns the albedo and a specular weight (P,)."""
    alb = alb.astype(np.float32)
    smile = float(params["smile"])
    drop = 18.0 * float(params["mouth_open"])
    spec = np.ones(len(x))
    ax = np.abs(x)
    es = idn["eye_spacing"]
    brow_col = _to_linear([idn["brow_r"], idn["brow_g"], idn["brow_b"]])
    # brows: an arched band above each eye, thinning toward the temple
    yb = -idn["brow_height"] - 2.0 * smile
    bl = 0.5 * idn["eye_width"] + 6.0
    bx0 = es - 3.0
    sel = (np.abs(ax - bx0) < bl + 2.0) & (np.abs(y - yb) < 12.0)
    if sel.any():
        xs, ys = ax[sel], y[sel]
        q = (xs - bx0) / bl
        centre = yb - idn["brow_arch"] * (1.0 - q**2) + 1.5
        thick = 0.5 * idn["brow_thickness"] * (1.0 - 0.55 * _smoothstep(-0.6, 1.0, q))
        m = _smoothstep(thick + 1.0, thick - 0.5, np.abs(ys - centre))
        m *= _smoothstep(1.05, 0.85, np.abs(q + 0.05))
        m *= 0.8 * idn["hair_density"] + 0.1
        alb[sel] = alb[sel] * (1.0 - m[:, None]) + brow_col * m[:, None]
        spec[sel] *= 1.0 - 0.7 * m
    # eyes: almond opening with sclera, iris, pupil and a dark upper lash line
    hw = 0.5 * idn["eye_width"]
    eo = idn["eye_opening"] * (1.0 - 0.3 * smile)
    sel = (np.abs(ax - es) < hw + 2.0) & (np.abs(y) < eo + 4.0)
    if sel.any():
        xs, ys = ax[sel], y[sel]
        q = np.clip((xs - es) / hw, -1.0, 1.0)
        up = -eo * (1.0 - q**2) ** 0.7 * (1.0 + 0.15 * q) + 0.3
        lo = 0.7 * eo * (1.0 - q**2) ** 0.8 + 0.3
        inside = _smoothstep(-0.4, 0.4, ys - up) * _smoothstep(-0.4, 0.4, lo - ys)
        inside *= _smoothstep(1.0, 0.92, np.abs(q))
        r = np.hypot(xs - es, ys + 0.2)
        iris_col = _to_linear([idn["iris_r"], idn["iris_g"], idn["iris_b"]])
        sclera = np.array([0.45, 0.42, 0.40])
        iris = _smoothstep(5.6, 5.0, r)[:, None]
        pupil = _smoothstep(2.4, 1.8, r)[:, None]
        eye = sclera * (1.0 - iris) + iris_col * iris
        eye = eye * (1.0 - pupil) + 0.01 * pupil
        lash = _smoothstep(1.4, 0.2, np.abs(ys - up + 0.4)) * _smoothstep(1.1, 0.8, np.abs(q))
        lower = 0.35 * _smoothstep(0.8, 0.1, np.abs(ys - lo)) * _smoothstep(1.0, 0.6, np.abs(q))
        a = alb[sel] * (1.0 - inside[:, None]) + eye * inside[:, None]
        dark = np.maximum(lash, lower)[:, None]
        a = a * (1.0 - 0.9 * dark)
        alb[sel] = a
        spec[sel] = spec[sel] * (1.0 - inside) + 3.0 * inside
    # lips and mouth
    y_tip = idn["nose_length"] - 3.0
    y_base = y_tip + 8.0
    y_mouth = y_base + idn["mouth_gap"]
    mw = idn["mouth_width"] * (1.0 + 0.12 * smile)
    sel = (ax < mw + 3.0) & (y > y_mouth - 15.0) & (y < y_mouth + 18.0)
    if sel.any():
        xs, ys = x[sel], y[sel]
        ym = y_mouth - smile * 5.0 * (xs / mw) ** 2
        u = np.clip(1.0 - (xs / mw) ** 2, 0.0, 1.0)
        hu = idn["lip_upper"] * u**0.5 * (1.0 - 0.25 * np.exp(-0.5 * (xs / 3.0) ** 2))
        hl = idn["lip_lower"] * u**0.6
        # upper lip above the mouth line, the band that an open mouth stretches, lower lip
        m_up = _smoothstep(-0.6, 0.6, ys - (ym - hu)) * _smoothstep(1.9, 1.1, ys - ym)
        m_lo = _smoothstep(1.1, 1.9, ys - ym) * _smoothstep(-0.6, 0.6, ym + 1.5 + hl - ys)
        lip = (
            np.clip(m_up + m_lo, 0.0, 1.0)[:, None]
            * _smoothstep(1.0, 0.9, np.abs(xs) / mw)[:, None]
        )
        tint = idn["lip_tint"]
        lip_col = alb[sel] * np.array([0.85, 0.5 + 0.1 * tint, 0.55 + 0.1 * tint])
        a = alb[sel] * (1.0 - lip) + lip_col * lip
        # the opening, in y after the drop: a lens between the lips, upper teeth at its top
        t = y_drop[sel] - ym
        lens = np.sqrt(np.clip(1.0 - (xs / (0.92 * mw)) ** 2, 0.0, 1.0))
        half = (0.3 + 0.5 * drop) * lens
        centre = 0.5 + 0.5 * drop
        dark = _smoothstep(half + 0.25, half - 0.25, np.abs(t - centre)) * (lens > 0)
        top = centre - half
        teeth = _smoothstep(top - 0.2, top + 0.3, t) * _smoothstep(
            top + min(3.0, 0.3 * drop) + 0.3, top + min(3.0, 0.3 * drop) - 0.2, t
        )
        teeth *= _smoothstep(1.0, 3.0, drop) * _smoothstep(0.9, 0.5, np.abs(xs) / mw)
        inner = np.array([0.04, 0.01, 0.01]) * (1.0 - teeth[:, None]) + 0.4 * teeth[:, None]
        a = a * (1.0 - dark[:, None]) + inner * dark[:, None]
        alb[sel] = a
        spec[sel] *= 1.0 + 0.6 * lip[:, 0]
    # nostrils, on the underside of the nose
    nw = idn["nose_width"]
    sel = (ax < nw) & (y > y_tip) & (y < y_base + 3.0)
    if sel.any():
        xs, ys = ax[sel], y[sel]
        m = _gauss(xs, ys, 0.4 * nw, y_base - 2.0, 0.18 * nw, 2.0)
        m = np.clip(1.6 * m, 0.0, 1.0) * _smoothstep(0.3, 0.7, down[sel])
        alb[sel] = alb[sel] * (1.0 - 0.9 * m[:, None])
    return alb, spec


def _paint_beard(
    idn: dict[str, Any],
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    noise: np.ndarray,
    idx: np.ndarray,
    alb: np.ndarray,
    spec_w: np.ndarray,
) -> None:
    """Darken the jaw, chin and upper lip of the front skull pixels ``idx`` with a beard or
    stubble of the hair colour, leaving the lips free (in place)."""
    _, y_base, y_mouth = _mouth_line(idn)
    xs, ys = x[idx], y[idx]
    ax = np.abs(xs)
    # from under the nose, rising along the cheeks to the sideburns, down under the chin
    top = y_base + 4.0 - 0.9 * np.maximum(ax - 25.0, 0.0)
    m = _smoothstep(top - 5.0, top + 6.0, ys) * _smoothstep(70.0, 60.0, ax)
    m *= _smoothstep(y_mouth + idn["chin_height"] + 35.0, y_mouth + idn["chin_height"] + 20.0, ys)
    mw = idn["mouth_width"] * (1.0 + 0.12 * float(params["smile"]))
    lips = _smoothstep(mw + 2.0, mw, ax) * _smoothstep(
        y_mouth - idn["lip_upper"] - 1.5, y_mouth - idn["lip_upper"] + 0.5, ys
    )
    lips *= _smoothstep(y_mouth + idn["lip_lower"] + 3.5, y_mouth + idn["lip_lower"] + 1.5, ys)
    m *= (1.0 - lips) * idn["beard"] * np.clip(0.9 + 0.15 * noise[idx], 0.0, 1.0)
    hair_col = _to_linear([idn["hair_r"], idn["hair_g"], idn["hair_b"]]).astype(np.float32)
    tint = hair_col * (0.95 + 0.1 * noise[idx])[:, None]
    alb[idx] = alb[idx] * (1.0 - 0.9 * m[:, None]) + 0.9 * m[:, None] * tint
    spec_w[idx] *= 1.0 - 0.6 * m


def _shade(
    idn: dict[str, Any],
    params: dict[str, Any],
    ras: Raster,
    lay: _Layout,
    attr: np.ndarray,
    f: float,
    cx: float,
    cy: float,
    width: int,
) -> np.ndarray:
    """Linear RGB (P, 3) float32 of the covered pixels ``ras.pixels``.

    ``attr`` holds the camera-frame vertex normals in its first three columns; ``f``,
    ``cx``, ``cy`` and ``width`` describe the (supersampled) image.
    """
    a = interpolate(attr, lay.tris, ras)
    part = lay.tri_part[ras.tri]
    n = _normalize(a[:, 0:3])
    # view direction (toward the camera) per pixel
    rows, cols = np.divmod(ras.pixels, width)
    vdir = np.empty_like(n)
    vdir[:, 0] = (cx - cols - 0.5) / f
    vdir[:, 1] = (cy - rows - 0.5) / f
    vdir[:, 2] = -1.0
    vdir = _normalize(vdir)
    n[np.einsum("ij,ij->i", n, vdir) < 0] *= -1.0  # two-sided ears face the camera
    x, y = a[:, _A_X], a[:, _A_Y]
    noise, ao = a[:, _A_NOISE], a[:, _A_AO]
    head = np.flatnonzero(part == _HEAD)

    skin = _to_linear([idn["skin_r"], idn["skin_g"], idn["skin_b"]]).astype(np.float32)
    alb = skin[None, :] * (1.0 + idn["skin_blotch"] * noise)[:, None]
    spec_w = np.ones(len(x), np.float32)
    # rosier cheeks and nose, ears; a slightly darker neck; clothes on the torso
    xh, yh = x[head], y[head]
    rosy = 0.5 * _gauss(np.abs(xh), yh, 40.0, 30.0, 14.0, 12.0)
    rosy += 0.4 * _gauss(xh, yh, 0.0, idn["nose_length"] - 5.0, 8.0, 8.0)
    redden = np.array([0.0, 0.14, 0.11], np.float32)
    alb[head] *= 1.0 - rosy[:, None] * redden
    alb[part == _EAR] *= 1.0 - 0.5 * redden
    alb[part == _NECK] *= 0.88
    worn = part == _TORSO
    cloth_col = _to_linear([idn["cloth_r"], idn["cloth_g"], idn["cloth_b"]]).astype(np.float32)
    alb[worn] = cloth_col[None, :] * (1.0 + 0.08 * noise[worn])[:, None]
    spec_w[worn] = 0.15
    # brows, eyes, lips, nostrils on the front of the skull
    face = head[(a[head, _A_CT] > 0.05) & (np.abs(xh) < 60.0) & (yh > -45.0) & (yh < 110.0)]
    if face.size:
        # averaged over 2 points of the pixel footprint (about depth / f mm wide) so that
        # small features (lash lines, iris) alias less
        foot = 0.25 * ras.depth.ravel()[ras.pixels[face]] / f
        fa = np.zeros((face.size, 3), np.float32)
        fs = np.zeros(face.size, np.float32)
        for o in (-1.0, 1.0):
            ta, ts = _feature_albedo(
                idn,
                params,
                x[face] + o * foot,
                y[face] + o * foot,
                a[face, _A_YD] + o * foot,
                a[face, _A_DOWN],
                alb[face],
            )
            fa += ta
            fs += ts
        alb[face], spec_w[face] = 0.5 * fa, 0.5 * fs
    # hair above the hairline, strands combed down from the crown
    th = np.arctan2(a[head, _A_ST], a[head, _A_CT])
    y_hl = _hairline(idn, np.abs(th)) + 1.5 * noise[head]
    hair = _smoothstep(y_hl + 1.5, y_hl - 1.5, yh) * idn["hair_density"]
    on = hair > 0
    hair, th, hidx = hair[on], th[on], head[on]
    # fine strands (a 3.8 mm period) fade out where a pixel is too coarse to show them
    fine = np.clip(1.5 - 0.5 * ras.depth.ravel()[ras.pixels[hidx]] / f, 0.0, 1.0)
    strands = 1.0 + 0.22 * fine * np.sin(th * 150.0 + 2.0 * noise[hidx]) + 0.12 * noise[hidx]
    hair_col = _to_linear([idn["hair_r"], idn["hair_g"], idn["hair_b"]]).astype(np.float32)
    hm = hair[:, None]
    alb[hidx] = alb[hidx] * (1.0 - hm) + hair_col[None, :] * strands[:, None] * hm
    spec_w[hidx] *= 1.0 - 0.7 * hair
    if idn["beard"] > 0:
        _paint_beard(idn, params, x, y, noise, head[a[head, _A_CT] > 0.0], alb, spec_w)
    alb *= ao[:, None]

    shine = (0.02 + 0.05 * idn["skin_shine"]) * params["specular"]
    squarings = 4 if idn["skin_shine"] < 0.6 else 5  # Blinn-Phong exponent 16 or 32
    diffuse = np.full((len(x), 3), params["ambient"], np.float32)
    specular = np.zeros((len(x), 3), np.float32)
    for light in params["lights"]:
        ldir = np.asarray(light["direction"], dtype=np.float32)  # toward the light
        ldir /= np.linalg.norm(ldir)
        col = np.asarray(light["colour"], np.float32) * np.float32(light["intensity"])
        ndl = n[:, 0] * ldir[0] + n[:, 1] * ldir[1] + n[:, 2] * ldir[2]
        wrap = np.clip((ndl + 0.25) * 0.8, 0.0, 1.0)  # wrapped Lambert: softer skin
        diffuse += wrap[:, None] * col
        lit = np.flatnonzero(ndl > 0)
        hv = _normalize(vdir[lit] + ldir)
        ndh = np.clip(np.einsum("ij,ij->i", n[lit], hv), 0.0, 1.0)
        for _ in range(squarings):
            ndh *= ndh
        specular[lit] += (shine * ndh * spec_w[lit])[:, None] * col
    rgb = alb * diffuse + specular * ao[:, None]
    # auto-exposure on the irradiance, partly compensating the skin tone (dark skin stays darker)
    lum_w = np.array([0.2126, 0.7152, 0.0722], np.float32)
    irradiance = max(float(np.einsum("ij,j->i", diffuse, lum_w).mean()), 1e-6)
    skin_lum = float(skin @ lum_w)
    rgb *= np.float32(params["exposure"] / (irradiance * 0.35 * (skin_lum / 0.35) ** 0.2))
    return rgb


def _extend_edges(
    rgb: np.ndarray, have: np.ndarray, need: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Give the pixels in ``need`` but not in ``have`` (partly covered pixels whose centre
    misses the surface) the colour of a neighbour in ``have``.

    Returns:
        The colours and the (H, W) mask of the pixels that no neighbour could fill.
    """
    todo = need & ~have
    if not todo.any():
        return rgb, todo
    h, w = have.shape
    out = rgb.copy()
    pad = np.pad(rgb, ((1, 1), (1, 1), (0, 0)))
    pad_have = np.pad(have, 1)
    for dy, dx in ((0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)):
        src = pad_have[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] & todo
        out[src] = pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w][src]
        todo &= ~src
    return out, todo


def _value_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: a coarse random grid, bilinearly upsampled to (h, w)."""
    g = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1))

    def weights(n: int) -> np.ndarray:
        t = np.linspace(0.0, cells, n)
        return np.maximum(0.0, 1.0 - np.abs(t[:, None] - np.arange(cells + 1)[None, :]))

    rows = np.einsum("ij,jk->ik", weights(h), g)  # einsum, not BLAS: bit-stable everywhere
    return np.einsum("ik,lk->il", rows, weights(w))


def _background(params: dict[str, Any], h: int, w: int) -> np.ndarray:
    """Linear RGB (h, w, 3) float32 of the background: a textured far wall, a flat colour
    or darkness."""
    rng = np.random.default_rng([params["noise_seed"], 0])
    kind = params["background"]
    if kind == "dark":
        level = rng.uniform(0.0, 0.004) * rng.uniform(0.7, 1.0, 3)
        return np.broadcast_to(level.astype(np.float32), (h, w, 3))
    base = rng.uniform(0.05, 0.7) * rng.uniform(0.7, 1.0, 3)
    if kind == "flat":
        return np.broadcast_to((base**2.2).astype(np.float32), (h, w, 3))
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
    elif pattern == 3:  # fine grain
        tex = tex + 0.1 * rng.standard_normal((h, w))
    light = 1.0 + 0.4 * (xx - 0.5) * rng.uniform(-1, 1) + 0.3 * (yy - 0.5) * rng.uniform(-1, 1)
    wall = np.clip((1.0 + tex) * light, 0.0, None)[..., None] * base
    return (np.clip(wall, 0.0, 1.0) ** 2.2).astype(np.float32)


_SRGB_STEPS = 4096
_SRGB_LUT = (np.linspace(0.0, 1.0, _SRGB_STEPS) ** (1.0 / 2.2)).astype(np.float32)


def _encode(lin: np.ndarray, noise_std: float, noise_seed: int) -> np.ndarray:
    """Linear RGB in [0, 1] -> gamma 2.2 uint8, with optional Gaussian sensor noise."""
    q = np.clip(lin * (_SRGB_STEPS - 1) + 0.5, 0, _SRGB_STEPS - 1).astype(np.int32)
    img = _SRGB_LUT[q]
    if noise_std > 0:
        nrng = np.random.default_rng([noise_seed, 1])
        img = img + nrng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_std)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
