"""Procedural 3-D heads: RGB and metric depth (mm) of one face seen by a pinhole camera.

A *group* is an identity (the face's shape from a morphable model of real faces, skull
proportions fitted to it, ears, skin tone, hair and brow colour, hairline). Each
view draws an expression (the model's smile, anger, disgust, fear, sadness, surprise,
an open jaw), a head pose, a distance, a lighting environment (window, office, sun,
overcast, studio, lamp or flash: 1 to 3 coloured lights and a coloured ambient), a
background (a real photograph, a rendered room, a textured wall, a flat colour or
darkness) and a camera, and renders RGB and depth from the same triangle mesh with a
z-buffer.

Geometry (head frame, millimetres, x right, y down, z away from the camera when
the head faces it; origin between the eyes, at the centre of the skull):

* the skull is a swept surface on a (phi, theta) grid, phi from the crown to
  below the chin, theta around the vertical axis; every horizontal section is
  an ellipse whose half width and front / back depth follow superellipse
  profiles (a domed cranium, a flat forehead, a tapering jaw);
* the face is the Surrey Face Model (:mod:`rgb2depth.data.synthetic.face_model`: 63
  identity components and 6 expressions learnt from 3-D scans of real faces), seen
  from the front as a heightfield over (x, y) (rasterised with a z-buffer; an open
  mouth becomes a cavity behind the lips) and set onto the front of the skull as a
  displacement toward the camera, blended into the skull over the 12 mm inside its
  outline and below the hairline; its forehead sits on the skull's, whose width and
  jaw are fitted to the face's sides, and the skull's chin follows the face's;
* the albedo's features (eyes, brows, nostrils, lips) are placed from the model's
  landmarks and painted in the neutral face's coordinates, so they follow the
  expression;
* hair is an outward offset of the scalp above the hairline; long hair (``hair_length``,
  :data:`LONG_HAIR` of those with hair) is a further sheet of locks hanging from inside it
  round the sides and the back, straight down from the widest section (:func:`_locks`);
* an open mouth shows teeth (``teeth_upper``, ``teeth_lower``: the fraction of the opening
  they fill) set just behind the lips in the depth, the rest of the opening a cavity
  (:func:`_mouth_opening`);
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
pixel, the surface point to shade, in linear RGB
(:mod:`~rgb2depth.data.synthetic.lighting`): a coloured ambient hemisphere, Lambert
wrapped further in red than in blue on skin (light scattered under the skin), the key
light's hard or soft shadows from a shadow map of the mesh (the nose, brows and chin
cast them), Blinn-Phong with a Fresnel rise and a grazing sheen on skin, a highlight
along the strands on hair, the key light's reflection in the eyes, soft cavity
occlusion. The albedo (:mod:`~rgb2depth.data.synthetic.appearance`) is evaluated at
the surface coordinates of the pixel, details smaller than the pixel fading into their
mean: skin with redness, blotches, pores, freckles, moles and blemishes, beards and
stubble, brows of single hairs, lash lines, iris fibres, make-up, hair strands and
clumps. Silhouette pixels blend with the background by their covered fraction (2 x 2
points), ragged and fuzzy where they are hair, with flyaway hairs; glasses are drawn
as thin frames (in the image only, not in the depth map); then the camera
(:mod:`~rgb2depth.data.synthetic.photo`: white balance, exposure, vignetting, blur,
noise, tone curve, JPEG). Nothing drawn after the rasterisation reaches the depth.
Where a pixel spans more than 3.5 (7) mm of face, a skull mesh with half (a quarter
of) the rows and columns is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, overload

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from rgb2depth.data.synthetic import appearance as look
from rgb2depth.data.synthetic import lighting, photo
from rgb2depth.data.synthetic._raster import (
    Raster,
    edge_coverage,
    grid_triangles,
    interpolate,
    rasterize,
)
from rgb2depth.data.synthetic.base import RenderedSample, SceneKind, View
from rgb2depth.data.synthetic.face_model import EXPRESSIONS, JAW_OPEN_MM, load_face_model
from rgb2depth.errors import InputError
from rgb2depth.geometry import Intrinsics, project

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

BACKGROUNDS = photo.BACKGROUNDS
"""Background types: a real photograph, a rendered room, a textured far wall, a flat
colour, a near-black empty scene (:mod:`rgb2depth.data.synthetic.photo`)."""

# the skull grid: rows along phi (crown -> under the chin), columns along theta
_N_PHI, _N_THETA = 105, 132  # full detail; coarser levels take every 2nd / 4th
_N_EAR_R, _N_EAR_T = 9, 28
_N_NECK_Y, _N_NECK_T = 16, 40
_N_TORSO_PHI, _N_TORSO_T = 28, 64
_N_LOCK_Y, _N_LOCK_T = 20, 48  # long hair: the curtain hanging at the sides and the back


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


FACES_VERSIONS = {
    1: "short hair only, a thin band of teeth in an open mouth (the faces until 2026-12-07)",
    2: "long hair on 40% of those with hair, teeth filling open mouths",
}
"""The generator's versions: what each adds. A version draws and renders the same faces
forever, so that data, models and figures made with it can be made again."""

FACES_VERSION = max(FACES_VERSIONS)
"""The version :class:`Faces` renders unless told otherwise."""


def describe_faces_versions() -> str:
    """Every version and what it adds, on one line (for messages and help texts)."""
    return "; ".join(f"{k}: {v}" for k, v in FACES_VERSIONS.items())


def check_faces_version(version: object) -> int:
    """``version`` if it is one of :data:`FACES_VERSIONS`.

    Raises:
        InputError: anything else; the message lists the versions.
    """
    if isinstance(version, bool) or version not in FACES_VERSIONS:
        known = describe_faces_versions()
        raise InputError(f"unknown faces version {version!r}; known versions: {known}")
    return int(version)  # type: ignore[call-overload]


class Faces(SceneKind):
    """Procedural heads: one identity per group, four views (pose, expression, light) each.

    ``version`` (:data:`FACES_VERSIONS`, default :data:`FACES_VERSION`) selects which faces:
    version 1 identities have no style keys (``hair_length``, ``teeth_*``) and render as
    they did before those existed.
    """

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

    def __init__(self, version: int = FACES_VERSION) -> None:
        self.version = check_faces_version(version)

    # ------------------------------------------------------------------ camera
    def intrinsics(self, height: int, width: int) -> dict[str, float]:
        """Pinhole intrinsics: 35° field of view across the shorter side, centred."""
        return Intrinsics.from_fov(height, width, FOV_DEG, axis="short").as_dict()

    # ---------------------------------------------------------------- identity
    def sample_group(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw an identity: a flat dict of floats (mm, ratios, sRGB colours in [0, 1]).

        ``sfm_00`` ... ``sfm_62`` are the face's shape, identity coefficients of the face
        model (:data:`SFM_TRUNCATION`); the eye, brow, nose and mouth keys (head frame, mm)
        are read off its landmarks, and the skull's width and jaw are fitted to it.
        """
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
        # face shape: identity coefficients of the Surrey Face Model; the features that
        # the albedo draws and the skull's proportions are read off its landmarks
        model = load_face_model()
        coeffs = model.sample_identity(rng, SFM_TRUNCATION)
        idn: dict[str, Any] = {f"sfm_{k:02d}": float(c) for k, c in enumerate(coeffs)}
        neutral = model.neutral(coeffs)
        idn.update(_face_features(neutral, model.landmarks(neutral)))
        idn.update(
            {
                # skull (mm)
                "head_width": idn["face_width"],  # fitted to the face below
                "head_height": _u(rng, 215.0, 245.0),  # crown to chin
                "head_depth": _u(rng, 180.0, 205.0),
                "forehead": _u(rng, 2.2, 3.2),  # front profile exponent: larger is flatter
                "brow_thickness": _u(rng, 4.0, 8.0),
            }
        )
        idn["head_width"], idn["jaw_width"] = _fit_skull(idn, neutral)
        idn |= {
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
        # skin detail, make-up, hair texture, glasses: a stream of their own (seeded by
        # the texture seed), so that they never change the shape of an identity
        arng = np.random.default_rng([int(idn["texture_seed"]), 1])
        idn |= look.sample_appearance(arng, tone=tone, beard=idn["beard"], hair_grey=hc == 5)
        # long hair and teeth (version 2): a third stream, so the keys above stay as they were
        if self.version >= 2:
            srng = np.random.default_rng([int(idn["texture_seed"]), 2])
            idn |= _sample_style(srng, bald=bald)
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
        * the expression, weights of the face model's blendshapes in [0, 1]: ``smile``
          (happiness), ``anger``, ``disgust``, ``fear``, ``sadness``, ``surprise`` (neutral
          40% of the time, else one of them at 0.2 to 1, a third of the time with a little of
          a second one) and ``jaw_open`` (a quarter of the time: the mouth alone opens, by up
          to 18 mm); ``mouth_open``: how far the lips part at the centre, / 18 mm, clipped
          to [0, 1] (follows from the weights; what the albedo's mouth reads);
        * ``light_preset`` (window, office, outdoor, overcast, studio, lamp, flash),
          ``lights``: 1 to 3 dicts with ``direction`` (unit vector toward the light, camera
          frame), ``colour`` (linear RGB gains), ``intensity`` and ``size_deg`` (angular
          radius: the softness of its shadows; the first light casts them); ``ambient``,
          ``ambient_sky``, ``ambient_ground`` (a coloured hemisphere), ``specular``
          (strength) and ``exposure`` (face brightness, linear), see
          :mod:`rgb2depth.data.synthetic.lighting`;
        * ``background``: one of :data:`BACKGROUNDS`, ``background_photo`` (the photo's file
          for ``"photo"``), ``background_gain``; ``camera``: white balance, exposure error,
          vignetting, blurs, noise, tone and JPEG quality
          (:func:`rgb2depth.data.synthetic.photo.sample_camera`); ``noise_seed``: seeds
          all of these draws, the background and the noise.
        """
        lo, hi = DISTANCE_RANGE_MM
        expression = _sample_expression(rng)
        yaw = _u(rng, -YAW_MAX, YAW_MAX)
        return {
            "yaw_deg": yaw,
            "pitch_deg": _u(rng, -PITCH_MAX, PITCH_MAX),
            "roll_deg": _u(rng, -ROLL_MAX, ROLL_MAX),
            "body_yaw_deg": 0.3 * yaw + _u(rng, -10.0, 10.0),
            "distance_mm": float(lo * (hi / lo) ** (rng.random() ** 1.3)),
            "offset_x": _u(rng, -0.08, 0.08),  # head centre, fraction of the shorter side
            "offset_y": _u(rng, -0.08, 0.04),
            **expression,
            # lights, background and camera: a stream of their own (seeded by noise_seed),
            # so that they never change the geometry of a view
            **_sample_look(int(rng.integers(0, 2**31 - 1))),
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
        self,
        group: dict[str, Any],
        params: dict[str, Any],
        height: int,
        width: int,
        *,
        intrinsics: dict[str, float] | None = None,
    ) -> RenderedSample:
        """Render identity ``group`` with explicit per-view ``params`` (see :meth:`sample_view`).

        ``intrinsics`` (``{"fx", "fy", "cx", "cy"}`` with ``fx == fy``, pixels of the
        (height, width) image) sees the same scene through another pinhole, such as a crop
        window of the full frame (:mod:`rgb2depth.data.synthetic.framing`): the head is
        placed as in the full frame of :meth:`intrinsics`, only the projection changes,
        so the depth stays exact. Default: :meth:`intrinsics`.

        Returns:
            RGB (H, W, 3) uint8, depth (H, W) float32 in mm (z, 0.0 off the head) and
            ``params`` as ``meta``.
        """
        if height < 8 or width < 8:
            raise ValueError(f"expected an image of at least 8x8 pixels, got {height}x{width}")
        intr = self.intrinsics(height, width)
        f0 = intr["fx"]  # the full frame's camera places the head (offset_x, offset_y)
        if intrinsics is not None:
            intr = intrinsics
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
        tx = params["offset_x"] * short * (tz + origin[2]) / f0 - origin[0]
        ty = params["offset_y"] * short * (tz + origin[2]) / f0 - origin[1]
        pc += np.array([tx, ty, tz])
        xy, _ = project(pc, Intrinsics(f, f, cx, cy))

        # depth and shading at the pixel centres; the covered fraction of the edge pixels
        # blends the silhouette with the background
        ras = rasterize(xy, pc[:, 2], lay.tris, height, width, two_sided=lay.two_sided)
        cov = edge_coverage(ras, xy, lay.tris, samples=SUPERSAMPLE)
        img = _photograph(group, params, ras, cov, lay, verts, pc, attr, (f, cx, cy))
        depth = ras.depth
        return RenderedSample(rgb=img, depth=depth.astype(np.float32), meta=dict(params))


# ---------------------------------------------------------------------------- geometry
# per-vertex attributes, interpolated per pixel: camera-frame normal, texture coordinates
# (x, y) (on the face: where the point is on the neutral face, so that painted features follow
# the expression; elsewhere the skull's frontal rest x, y), sin and cos of theta, cavity
# occlusion, identity noise, how much the skull faces down, texture y plus the mouth's
# opening below the lips (18 * mouth_open mm)
_A_NX, _A_NY, _A_NZ, _A_X, _A_Y, _A_ST, _A_CT, _A_AO, _A_NOISE, _A_DOWN, _A_YD = range(11)
_N_ATTR = 11
# parts of the mesh, in vertex order: skull, left ear, right ear, neck, torso, long hair
_HEAD, _EAR, _NECK, _TORSO, _LOCKS = range(5)


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
            (_LOCKS, _N_LOCK_Y, _N_LOCK_T),
        )
        tris, part, slices, off = [], [], [], 0
        for kind, rows, cols in parts:
            t = grid_triangles(rows, cols, wrap_cols=kind != _LOCKS)
            tris.append(t + off)
            part.append(np.full(len(t), kind, np.int8))
            slices.append(slice(off, off + rows * cols))
            off += rows * cols
        part_all = np.concatenate(part)
        two_sided = (part_all == _EAR) | (part_all == _LOCKS)
        return cls(step, phi, theta, np.concatenate(tris), part_all, two_sided, tuple(slices))


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
    """y of the nose tip, the nose base (subnasale) and the mouth line (where the lips meet
    at the centre), mm below the eyes, of the neutral face."""
    y_tip = idn["nose_length"] - 3.0
    return y_tip, idn["nose_base"], y_tip + 8.0 + idn["mouth_gap"]


TEETH_DEPTH_MM = (1.5, 10.0)
"""Depth of the front teeth behind the surface joining the lips' edges: at the centre,
and how much more at the mouth's corners (the dental arch curves back)."""


_TOOTH_EDGES = np.array([0.0, 8.5, 15.0, 22.0])
"""mm from the middle where one front tooth meets the next, in a mouth 25 mm wide each side
(scaled to the identity's mouth)."""
_ENAMEL = np.array([0.5, 0.46, 0.38], np.float32)
"""Linear albedo of clean teeth, before ``teeth_shade`` and the corners' shadow."""


def _mouth_opening(
    idn: dict[str, Any], t: np.ndarray, xs: np.ndarray, drop: float
) -> tuple[np.ndarray, np.ndarray]:
    """The open mouth at points ``t`` mm below the mouth line (y after the jaw's ``drop``,
    mm) and ``xs`` mm from the face's middle, on the neutral face: the opening between the
    lips (a lens, in [0, 1]) and the teeth in it (in [0, 1]): the upper teeth fill the top
    ``teeth_upper`` of the opening (at most 10.5 mm, a crown's height), the lower teeth the
    bottom ``teeth_lower``, both fading toward the corners. The albedo paints them and
    :func:`_face_field` sets them just behind the lips (:data:`TEETH_DEPTH_MM`), the rest of
    the opening a deeper cavity."""
    mw = idn["mouth_width"]
    lens = np.sqrt(np.clip(1.0 - (xs / (0.92 * mw)) ** 2, 0.0, 1.0))
    half = (0.3 + 0.5 * drop) * lens
    centre = 0.5 + 0.5 * drop
    dark = _smoothstep(half + 0.25, half - 0.25, np.abs(t - centre)) * (lens > 0)
    top, bottom = centre - half, centre + half
    if "teeth_upper" not in idn:  # version 1: a band of at most 3 mm, no lower teeth
        hu = min(3.0, 0.3 * drop)
        teeth = _smoothstep(top - 0.2, top + 0.3, t) * _smoothstep(
            top + hu + 0.3, top + hu - 0.2, t
        )
        teeth *= _smoothstep(1.0, 3.0, drop) * _smoothstep(0.9, 0.5, np.abs(xs) / mw)
        return dark, teeth
    hu = np.minimum(idn["teeth_upper"] * 2.0 * half, 10.5)
    hl = np.minimum(idn["teeth_lower"] * 2.0 * half, 7.0)
    upper = _smoothstep(top - 0.2, top + 0.3, t) * _smoothstep(top + hu + 0.3, top + hu - 0.2, t)
    lower = _smoothstep(bottom + 0.2, bottom - 0.3, t) * _smoothstep(
        bottom - hl - 0.3, bottom - hl + 0.2, t
    )
    lower *= hl > 0.3
    teeth = np.clip(upper + lower, 0.0, 1.0) * _smoothstep(1.0, 3.0, drop)
    teeth *= _smoothstep(0.95, 0.6, np.abs(xs) / mw)
    return dark, teeth


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


# --- the face: the Surrey Face Model, fused into the front of the skull as a heightfield
SFM_TRUNCATION = 2.5
"""Identity coefficients of the face model are N(0, 1) truncated to +-this (no caricatures)."""

_HF_X0, _HF_Y0 = -87.0, -120.0  # head frame position of the face grid's corner (mm)
_HF_SIZE = (174.0, 279.0)  # its width and height (mm): the face, an open jaw, the margins
_HF_BLEND_MM = 12.0  # the face blends into the skull over this much inside its outline
_HF_CAVITY = 20.0  # mm: the deepest an open mouth goes behind the lips


@dataclass(frozen=True)
class _FieldGrid:
    """Cells of ``res`` mm over the face in the head frame's (x, y): cell (i, j) (index
    ``i * w + j``) has its centre at ``(_HF_X0 + (j + 0.5) res, _HF_Y0 + (i + 0.5) res)``."""

    res: float
    w: int
    h: int

    @classmethod
    def make(cls, res: float) -> _FieldGrid:
        return cls(res, math.ceil(_HF_SIZE[0] / res), math.ceil(_HF_SIZE[1] / res))

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x (w,) and y (h,) of the cell centres."""
        return (
            _HF_X0 + (np.arange(self.w) + 0.5) * self.res,
            _HF_Y0 + (np.arange(self.h) + 0.5) * self.res,
        )


_FIELD_GRIDS = {step: _FieldGrid.make(1.5 * step) for step in (1, 2, 4)}
"""The face grid of each skull level of detail (its ``step``): 1.5, 3 and 6 mm cells."""


@dataclass(frozen=True)
class _FaceField:
    """The face seen from the front (:func:`_face_field`): ``values`` (5, h * w) on ``grid``."""

    grid: _FieldGrid
    values: np.ndarray


_EXPRESSION_KEYS = {  # view parameter -> face model expression
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "smile": "happiness",
    "sadness": "sadness",
    "surprise": "surprise",
    "jaw_open": "jaw",
}


LONG_HAIR = 0.4
"""Fraction of the identities (not bald) with long hair (:func:`_locks`)."""


def _sample_style(rng: np.random.Generator, *, bald: bool) -> dict[str, float]:
    """Hair length and teeth of an identity: ``hair_length`` (mm below the eyes where long
    hair ends, 90 to 200; 0 for short hair), ``hair_front`` (radians from the face where it
    starts), ``hair_lumps`` (how lumpy: locks and curls); ``teeth_upper`` and
    ``teeth_lower`` (the fraction of an open mouth that the upper and lower teeth fill, the
    lower ones half of the time) and ``teeth_shade`` (brightness)."""
    long = rng.random() < LONG_HAIR and not bald
    length = float(rng.uniform(90.0, 200.0))
    style = {
        "hair_length": length if long else 0.0,
        "hair_front": float(rng.uniform(0.95, 1.3)),
        "hair_lumps": float(rng.uniform(0.0, 1.0)),
        "teeth_upper": float(rng.uniform(0.35, 0.8)),
        "teeth_lower": float(rng.uniform(0.1, 0.3)),
        "teeth_shade": float(rng.uniform(0.6, 1.0)),
    }
    if rng.random() < 0.5:
        style["teeth_lower"] = 0.0
    return style


def _sample_expression(rng: np.random.Generator) -> dict[str, float]:
    """Expression weights of one view (see :meth:`Faces.sample_view`) and ``mouth_open``."""
    w = dict.fromkeys(_EXPRESSION_KEYS, 0.0)
    names = [k for k in _EXPRESSION_KEYS if k != "jaw_open"]
    u = rng.random()
    if u < 0.3:
        w["smile"] = _u(rng, 0.2, 1.0)
    elif u < 0.6:
        w[names[int(rng.integers(len(names)))]] = _u(rng, 0.2, 1.0)
    if u < 0.6 and rng.random() < 0.33:
        w[names[int(rng.integers(len(names)))]] += _u(rng, 0.0, 0.3)
    if rng.random() < 0.25:
        w["jaw_open"] = _u(rng, 0.0, 1.0)
    w = {k: min(v, 1.0) for k, v in w.items()}
    gap = load_face_model().lip_gap
    opening = sum(float(gap[EXPRESSIONS.index(e)]) * w[k] for k, e in _EXPRESSION_KEYS.items())
    return {**w, "mouth_open": float(np.clip(opening / JAW_OPEN_MM, 0.0, 1.0))}


def _face_features(verts: np.ndarray, lm: dict[int, np.ndarray]) -> dict[str, float]:
    """Identity keys read off a neutral face (head frame ``verts`` and its iBUG-68 landmarks):
    where the albedo draws the eyes, brows, nostrils and lips, and the face's outline."""

    def x(i: int) -> float:
        return float(lm[i][0])

    def y(*ids: int) -> float:
        return float(np.mean([lm[i][1] for i in ids]))

    y_tip, y_mouth = y(31), y(63, 67)
    brow_ends, brow_mid = y(18, 22, 23, 27), y(20, 25)
    return {
        # eyes: half the distance between the eye centres, width, half opening
        "eye_spacing": 0.25 * (abs(x(37) + x(40)) + abs(x(43) + x(46))),
        "eye_width": 0.5 * (abs(x(40) - x(37)) + abs(x(46) - x(43))),
        "eye_opening": (y(41, 42, 47, 48) - y(38, 39, 44, 45)) / 1.7,
        "brow_height": 1.5 - brow_ends,  # mm above the eyes
        "brow_arch": brow_ends - brow_mid,
        # nose: the tip is at nose_length - 3, the nostrils' outer ends at +-0.74 nose_width
        "nose_length": y_tip + 3.0,
        "nose_base": y(34),
        "nose_width": 0.675 * (abs(x(32)) + abs(x(36))),
        # mouth: half width, line at nose_length + 5 + mouth_gap, lip heights at the centre
        "mouth_width": 0.5 * abs(x(55) - x(49)),
        "mouth_gap": y_mouth - (y_tip + 8.0),
        "lip_upper": (y_mouth - y(52)) / 0.75,
        "lip_lower": max(y(58) - y_mouth - 1.5, 2.0),
        "chin_height": y(9) - y_mouth,  # mouth line to the chin's lowest point
        "face_width": float(np.ptp(verts[:, 0])),
    }


def _skull_sections(
    idn: dict[str, Any], y: np.ndarray, h_top: float, h_bot: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half width and front / back depth of the skull's horizontal sections at height ``y``
    (mm, from the eye line; the crown at ``-h_top``, the bottom at ``h_bot``)."""
    upper = y < 0
    yn = np.clip(np.where(upper, -y / h_top, y / h_bot), 0.0, 1.0)
    jaw = 1.0 - (1.0 - idn["jaw_width"]) * _smoothstep(30.0, 105.0, y)
    width = 0.5 * idn["head_width"] * jaw
    width = width * np.where(upper, _superellipse(yn, 2.5), _superellipse(yn, 2.6))
    front = np.where(upper, _superellipse(yn, idn["forehead"]), _superellipse(yn, 4.0))
    back = np.where(upper, _superellipse(yn, 2.1), _superellipse(yn, 1.6))
    return width, front * (0.5 * idn["head_depth"] - 4.0), back * (0.5 * idn["head_depth"] + 4.0)


def _skull_heights(idn: dict[str, Any]) -> tuple[float, float]:
    """``h_top`` (eye line to crown) and ``h_bot`` (to the bottom of the skull), mm."""
    _, _, y_mouth = _mouth_line(idn)
    y_chin = y_mouth + idn["chin_height"]
    return idn["head_height"] - y_chin, y_chin / 0.9


def _fit_skull(idn: dict[str, Any], neutral: np.ndarray) -> tuple[float, float]:
    """Head width (mm) and jaw width (ratio) whose skull meets the sides of the neutral face
    (temples, cheeks; jaw) where the face blends into it, so that the seam has no step."""
    idn = {**idn, "jaw_width": 1.0, "hairline": -1e3}
    grid = _FIELD_GRIDS[2]
    field = _face_field(idn, {}, neutral, neutral, grid).values
    xc, yc = grid.centres()
    x, y = np.tile(xc, grid.h), np.repeat(yc, grid.w)
    ring = np.flatnonzero((field[0] > 0.02) & (field[0] < 0.5))
    h_top, h_bot = _skull_heights(idn)
    width, front, _ = _skull_sections(idn, y[ring], h_top, h_bot)
    # the width of the section ellipse through each ring cell: |x| / sqrt(1 - (z / front)^2)
    q = 1.0 - (field[1, ring] / field[0, ring] / front) ** 2
    ratio = np.abs(x[ring]) / np.sqrt(np.maximum(q, 1e-3)) / width
    ys = y[ring]
    upper = (q > 0.05) & (ys > -30.0) & (ys < 30.0)
    head_width = float(idn["head_width"])
    if upper.sum() >= 10:
        head_width = float(np.clip(head_width * np.median(ratio[upper]), 125.0, 180.0))
    # the jaw: 1 - (1 - jaw_width) * taper(y) = section width / the untapered one
    jaw = (q > 0.05) & (ys > 45.0) & (ys < 95.0)
    if jaw.sum() < 10:
        return head_width, 0.85
    taper = _smoothstep(30.0, 105.0, ys[jaw])
    implied = 1.0 - (1.0 - ratio[jaw] * idn["head_width"] / head_width) / taper
    return head_width, float(np.clip(np.median(implied), 0.65, 1.0))


def _sfm_faces(idn: dict[str, Any], params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The identity's neutral face and the view's expression, (V, 3) each, head frame."""
    model = load_face_model()
    coeffs = np.array([idn[f"sfm_{k:02d}"] for k in range(model.n_components)])
    weights = {e: float(params.get(k, 0.0)) for k, e in _EXPRESSION_KEYS.items()}
    neutral = model.neutral(coeffs)
    return neutral, neutral + model.expression_offset(weights)


def _sfm_depth_offset(idn: dict[str, Any], neutral: np.ndarray) -> float:
    """Shift along z that sets the neutral face's forehead onto the skull's (mm)."""
    fh = neutral[(np.abs(neutral[:, 0]) < 25.0) & (neutral[:, 1] > -55.0) & (neutral[:, 1] < -30.0)]
    h_top, h_bot = _skull_heights(idn)
    width, front, _ = _skull_sections(idn, fh[:, 1], h_top, h_bot)
    z = -front * np.sqrt(np.clip(1.0 - (fh[:, 0] / width) ** 2, 0.0, 1.0))
    return float(np.mean(z - fh[:, 2]))


def _face_field(
    idn: dict[str, Any],
    params: dict[str, Any],
    neutral: np.ndarray,
    face: np.ndarray,
    grid: _FieldGrid,
) -> _FaceField:
    """The face as seen from the front, on ``grid``.

    Args:
        neutral, face: (V, 3) the identity's neutral face and the view's (with its
            expression), head frame up to the depth, which :func:`_sfm_depth_offset` sets.

    Returns:
        The field, whose values are (5, h * w) float64: the blend weight w into the skull
        (1 inside, falling to 0 at the face's outline, 0 above the hairline), then, times
        w: z of the face; x and y of the same point on the neutral face (the albedo's
        texture coordinates, which follow the expression); that y plus the mouth's opening
        below the lips (``18 * mouth_open`` mm, what the albedo's open mouth reads).
    """
    model = load_face_model()
    z0 = _sfm_depth_offset(idn, neutral)
    res, gw, gh = grid.res, grid.w, grid.h
    xy = (face[:, :2] - np.array([_HF_X0, _HF_Y0])) / res
    both = np.ones(len(model.triangles), bool)
    ras = rasterize(xy, face[:, 2] + 1000.0, model.triangles, gh, gw, two_sided=both)
    attr = np.stack([neutral[:, 0], neutral[:, 1], model.lower_face], axis=1)
    out = np.zeros((5, gh * gw))
    out[1, ras.pixels] = ras.depth.ravel()[ras.pixels] - 1000.0 + z0
    out[2:, ras.pixels] = interpolate(attr, model.triangles, ras).T
    mask = ras.mask
    filled: np.ndarray = ndimage.binary_fill_holes(mask)
    hole = filled & ~mask
    drop = JAW_OPEN_MM * float(params.get("mouth_open", 0.0))
    if hole.any():  # the open mouth (or a crack): across it from the upper lip to the lower
        rows = np.arange(gh)[:, None]
        above = np.maximum.accumulate(np.where(hole, -1, rows), axis=0)
        below = np.minimum.accumulate(np.where(hole, gh, rows)[::-1], axis=0)[::-1]
        r, c = np.nonzero(hole)
        up, lo = above[r, c] * gw + c, below[r, c] * gw + c
        frac = (r - above[r, c]) / (below[r, c] - above[r, c])
        k = r * gw + c
        out[1:4, k] = out[1:4, up] * (1.0 - frac) + out[1:4, lo] * frac
        out[4, k] = frac  # 0 at the upper lip, 1 at the lower
        rim = np.minimum(r - above[r, c], below[r, c] - r)
        cavity = np.clip(1.5 * res * (rim - 1.0), 0.0, _HF_CAVITY)
        if "teeth_upper" in idn:  # the teeth the albedo paints stand just behind the lips
            t = out[3, k] + drop * frac - _mouth_line(idn)[2]
            _, teeth = _mouth_opening(idn, t, out[2, k], drop)
            c0, c1 = TEETH_DEPTH_MM
            arch = c0 + c1 * (out[2, k] / idn["mouth_width"]) ** 2  # curving back
            cavity += teeth * (np.minimum(arch, cavity) - cavity)
        out[1, k] += cavity
    out[4] = out[3] + drop * out[4]
    # a shallow groove where the lips meet (placed in the neutral face's coordinates)
    lx = neutral[model.lip_upper, 0]
    ly = 0.5 * (neutral[model.lip_upper, 1] + np.interp(lx, *neutral[model.lip_lower, :2].T))
    half, xc = 0.5 * (lx[-1] - lx[0]) + 2.0, 0.5 * (lx[-1] + lx[0])
    near = np.flatnonzero((np.abs(out[2] - xc) < half) & (np.abs(out[3] - ly.mean()) < 12.0))
    t = (out[3, near] - np.interp(out[2, near], lx, ly)) / 0.8
    ends = _smoothstep(half, half - 5.0, np.abs(out[2, near] - xc))
    out[1, near] += 1.5 * np.exp(-0.5 * t * t) * ends
    # blend weight: a tent-filtered outline, 0.5 on it, 1 from _HF_BLEND_MM inside
    size = round(_HF_BLEND_MM / res) + 1
    soft = ndimage.uniform_filter(filled.astype(np.float32), size, mode="constant")
    soft = ndimage.uniform_filter(soft, size, mode="constant")
    w = _smoothstep(0.5, 1.0, soft.astype(np.float64)) * filled
    y_cell = grid.centres()[1]
    w *= _smoothstep(idn["hairline"] + 6.0, idn["hairline"] + 20.0, y_cell)[:, None]
    out[0] = w.ravel()
    out[1:] *= out[0]
    return _FaceField(grid, out)


def _sample_field(field: _FaceField, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(5, P) bilinear samples of a face field at head frame points (x, y), 0 off its grid."""
    g, f = field.grid, field.values
    u = (x - _HF_X0) / g.res - 0.5
    v = (y - _HF_Y0) / g.res - 0.5
    j = np.clip(np.floor(u), 0, g.w - 2).astype(np.int64)
    i = np.clip(np.floor(v), 0, g.h - 2).astype(np.int64)
    fu = np.clip(u - j, 0.0, 1.0)
    fv = np.clip(v - i, 0.0, 1.0)
    k = i * g.w + j
    out = (f[:, k] * (1.0 - fu) + f[:, k + 1] * fu) * (1.0 - fv)
    out += (f[:, k + g.w] * (1.0 - fu) + f[:, k + g.w + 1] * fu) * fv
    out *= (u > -0.5) & (u < g.w - 0.5) & (v > -0.5) & (v < g.h - 0.5)
    return out


def _face_relief(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, field: _FaceField
) -> tuple[np.ndarray, np.ndarray]:
    """Displacement toward the camera (mm) that moves the skull points at frontal rest
    coordinates (x, y) and depth z onto the face of ``field`` (:func:`_face_field`), blended
    into the skull at its outline; and the albedo's texture coordinates (3, P) of those
    points (x, y and y below an open mouth, :func:`_face_field`), blended the same way."""
    s = _sample_field(field, x, y)
    w = s[0]
    tex = np.stack([x, y, y]) * (1.0 - w) + s[2:]
    return w * z - s[1], tex


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
    tex = np.random.default_rng(int(idn["texture_seed"]))
    verts = np.empty((lay.n_verts, 3))
    normals = np.empty((lay.n_verts, 3))
    attr = np.zeros((lay.n_verts, _N_ATTR), np.float32)
    body_w = np.zeros(lay.n_verts)
    s_head, s_ear_l, s_ear_r, s_neck, s_torso, s_locks = lay.slices

    # --- skull: a swept surface, elliptic sections with superellipse profiles; its bottom
    # follows the chin of the face, which an open mouth lowers
    neutral, face = _sfm_faces(idn, params)
    chin = load_face_model().ibug[9]
    h_top, h_bot = _skull_heights(idn)
    y_chin = 0.9 * h_bot
    h_bot += max(face[chin, 1] - neutral[chin, 1], 0.0) / 0.9
    cphi = np.cos(lay.phi)[:, None]
    st, ct = np.sin(lay.theta)[None, :], np.cos(lay.theta)[None, :]
    y1 = np.where(cphi > 0, -h_top * cphi, -h_bot * cphi)
    width, front, back = _skull_sections(idn, y1, h_top, h_bot)
    shape = (len(lay.phi), len(lay.theta))
    p = np.empty((*shape, 3))
    p[..., 0] = width * st
    p[..., 1] = y1
    p[..., 2] = -ct * np.where(ct > 0, front, back)
    x_face = p[..., 0].copy()
    y_face = p[..., 1].copy()
    # hair: an outward offset of the scalp, growing over 35 mm above the hairline
    if idn["hair_volume"] > 0:
        y_hl = _hairline(idn, np.abs(lay.theta))[None, :]
        vol = idn["hair_volume"] * _smoothstep(y_hl + 2.0, y_hl - 35.0, y_face)
        p += _grid_normals(p) * vol[..., None]
    # the face (Surrey Face Model) replaces the front of the skull, as a displacement toward
    # the camera; uv: the albedo's texture coordinates (x, y, y below an open mouth)
    uv = np.stack([x_face, y_face, y_face])
    relief = np.zeros(shape)
    sel = np.broadcast_to(ct > 0.0, shape)
    front_w = np.broadcast_to(_smoothstep(0.0, 0.3, ct), shape)[sel]
    field = _face_field(idn, params, neutral, face, _FIELD_GRIDS[lay.step])
    d, t = _face_relief(x_face[sel], y_face[sel], p[..., 2][sel], field)
    relief[sel] = d * front_w
    uv[:, sel] += front_w * (t - uv[:, sel])
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
    a[:, _A_X] = uv[0].ravel()
    a[:, _A_Y] = uv[1].ravel()
    a[:, _A_ST] = np.broadcast_to(st, shape).ravel()
    a[:, _A_CT] = np.broadcast_to(ct, shape).ravel()
    a[:, _A_AO] = (0.45 + 0.55 * np.exp(-np.maximum(blur - relief, 0.0) / 5.0)).ravel()
    a[:, _A_NOISE] = 3.0 * noise.ravel()
    a[:, _A_DOWN] = np.clip(n[..., 1], 0.0, 1.0).ravel()
    a[:, _A_YD] = uv[2].ravel()

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

    # --- long hair: a sheet hanging from inside the hair on the skull, round the sides and
    # the back, straight down from the widest section (hidden inside the skull when short)
    lv, ln, la = _locks(idn, h_top, h_bot, tex)
    verts[s_locks] = lv
    normals[s_locks] = ln
    attr[s_locks] = la
    return verts, normals, attr, body_w


def _locks(
    idn: dict[str, Any], h_top: float, h_bot: float, tex: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, normals and attributes (the ``_LOCKS`` part of the mesh) of long hair: a
    sheet from ``hair_front`` radians beside the face round the back to the other side, from
    above the ears down to ``hair_length`` mm below the eyes (ragged ends), hanging straight
    down from the skull's widest section plus the hair's volume, lumpy by ``hair_lumps``
    (locks and curls 10 to 30 mm across). Without long hair (``hair_length`` 0) every vertex
    is the head frame's origin, inside the skull: no triangle has an area."""
    length = float(idn.get("hair_length", 0.0))
    v = np.linspace(0.0, 1.0, _N_LOCK_Y)[:, None]
    a0 = float(idn.get("hair_front", 1.1))
    u = np.linspace(0.0, 1.0, _N_LOCK_T)[None, :]
    th = a0 + u * (2.0 * math.pi - 2.0 * a0) - 0.12 * v * np.cos(2.0 * math.pi * u)
    y_ear, eh, _ = _ear_frame(idn)
    y_top = min(idn["hair_temple"], y_ear - eh) - 12.0
    noise = tex.standard_normal(_N_LOCK_T)
    if length <= 0.0:  # short hair: the sheet collapses to a point inside the skull
        p = np.zeros((_N_LOCK_Y * _N_LOCK_T, 3))
        n = np.zeros_like(p)
        n[:, 2] = -1.0
        return p, n, np.zeros((len(p), _N_ATTR), np.float32)
    # ragged ends: each column ends within +-12 mm of the length, smoothly along the sheet
    ends = length + 12.0 * ndimage.gaussian_filter1d(noise, 1.5, mode="nearest")
    y = y_top + v * (ends[None, :] - y_top)
    # sections of the skull at these heights, widest-so-far going down (hair falls straight)
    ys = np.minimum(y[:, 0], 0.85 * h_bot)
    width, front, back = _skull_sections(idn, ys, h_top, h_bot)
    width, front, back = (np.maximum.accumulate(q)[:, None] for q in (width, front, back))
    vol = max(idn["hair_volume"], 12.0)
    # the sheet leaves the skull's hair (a little inside it) and thins toward its front edge
    grow = 0.55 + 0.45 * _smoothstep(0.0, 0.25, v)
    edge = 0.4 + 0.6 * _smoothstep(0.0, 0.12, np.minimum(u, 1.0 - u))
    lumps = ndimage.gaussian_filter(
        tex.standard_normal((_N_LOCK_Y, _N_LOCK_T)), (1.2, 1.5), mode="nearest"
    )
    lumps *= 0.6 * idn.get("hair_lumps", 0.5) * vol / max(float(np.abs(lumps).max()), 1e-6)
    flare = 0.05 * np.maximum(y - y_ear, 0.0)  # hair spreads a little as it falls
    out_r = vol * grow * edge + lumps * _smoothstep(0.0, 0.3, v) + flare
    st, ct = np.sin(th), np.cos(th)
    p = np.empty((_N_LOCK_Y, _N_LOCK_T, 3))
    p[..., 0] = (width + out_r) * st
    p[..., 1] = y
    p[..., 2] = -ct * (np.where(ct > 0, front, back) + out_r)
    n = _grid_normals(p)
    n[:, 0], n[:, -1] = n[:, 1], n[:, -2]  # the sheet does not wrap: its edge columns
    radial = np.stack([st, np.zeros_like(st), -ct], axis=-1)
    if np.einsum("...i,...i->...", n, np.broadcast_to(radial, n.shape)).mean() < 0:
        n = -n
    out = np.zeros((_N_LOCK_Y, _N_LOCK_T, _N_ATTR), np.float32)
    out[..., _A_X] = p[..., 0]
    out[..., _A_Y] = y
    out[..., _A_YD] = y
    out[..., _A_ST] = st
    out[..., _A_CT] = ct
    out[..., _A_AO] = 0.6 + 0.4 * _smoothstep(0.0, 0.3, v)  # darker where it leaves the head
    out[..., _A_NOISE] = tex.standard_normal((_N_LOCK_Y, _N_LOCK_T))
    out[..., _A_DOWN] = np.clip(n[..., 1], 0.0, 1.0)
    return p.reshape(-1, 3), n.reshape(-1, 3), out.reshape(-1, _N_ATTR)


# ---------------------------------------------------------------------------- shading
def _feature_albedo(
    idn: dict[str, Any],
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    y_drop: np.ndarray,
    down: np.ndarray,
    alb: np.ndarray,
    foot: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint brows, eyes, lips, nostrils and make-up onto the linear albedo ``alb`` (P, 3)
    of front-facing skin at frontal rest coordinates (x, y); ``y_drop`` is y after the jaw
    drop, ``down`` (P,) how much the surface faces down in the head frame (nostrils are
    only there), ``foot`` (P,) the pixel footprint (mm) and ``seed`` the identity's texture
    seed.

    Returns:
        The albedo, a specular weight (P,) and the eye opening (P,) in [0, 1] (where the
        cornea can reflect a light).
    """
    alb = alb.astype(np.float32)
    # the texture coordinates are positions on the neutral face, so the features
    # already follow the expression; only the open mouth needs its drop
    drop = 18.0 * float(params["mouth_open"])
    spec = np.ones(len(x), np.float32)
    eye_w = np.zeros(len(x), np.float32)
    ax = np.abs(x)
    es = idn["eye_spacing"]
    makeup = float(idn.get("makeup", 0.0))
    brow_col = _to_linear([idn["brow_r"], idn["brow_g"], idn["brow_b"]]).astype(np.float32)
    # brows: an arched band of hairs above each eye, thinning toward the temple, ragged at
    # the edges; the hairs point up at the inner end and along the brow further out
    yb = -idn["brow_height"]
    bl = 0.5 * idn["eye_width"] + 6.0
    bx0 = es - 3.0
    sel = (np.abs(ax - bx0) < bl + 3.0) & (np.abs(y - yb) < 13.0)
    if sel.any():
        xs, ys, fs = ax[sel], y[sel], foot[sel]
        q = (xs - bx0) / bl
        centre = yb - idn["brow_arch"] * (1.0 - q**2) + 1.5
        thick = 0.5 * idn["brow_thickness"] * (1.0 - 0.55 * _smoothstep(-0.6, 1.0, q))
        ragged = 0.9 * look.noise2(x[sel] / 1.5, ys / 1.5, seed + 71)
        m = _smoothstep(thick + 1.0 + ragged, thick - 0.5, np.abs(ys - centre))
        m *= _smoothstep(1.05, 0.85, np.abs(q + 0.05 + 0.06 * ragged))
        ang = np.radians(-75.0 + 60.0 * _smoothstep(-1.0, 0.2, q))  # hair direction
        along = xs * np.cos(ang) + ys * np.sin(ang)
        across = -xs * np.sin(ang) + ys * np.cos(ang) + 50.0 * (x[sel] > 0)
        hairs = look.noise2(across / 0.45, along / 3.0, seed + 73) * look.fade(0.9, fs)
        m *= np.clip((0.8 * idn["hair_density"] + 0.1) * (1.0 + 0.5 * hairs), 0.0, 1.0)
        col = brow_col * (1.0 + 0.25 * hairs)[:, None]
        alb[sel] = alb[sel] * (1.0 - m[:, None]) + col * m[:, None]
        spec[sel] *= 1.0 - 0.7 * m
    # eyes: lids (crease, eye shadow), the almond opening with sclera (pinker at the
    # corners, shaded under the upper lid), a textured iris, the pupil, lash lines
    hw = 0.5 * idn["eye_width"]
    eo = idn["eye_opening"]
    sel = (np.abs(ax - es) < hw + 4.0) & (y > -eo - 13.0) & (y < eo + 4.0)
    if sel.any():
        xs, ys, fs = ax[sel], y[sel], foot[sel]
        qq = (xs - es) / hw
        q = np.clip(qq, -1.0, 1.0)
        up = -eo * (1.0 - q**2) ** 0.7 * (1.0 + 0.15 * q) + 0.3
        lo = 0.7 * eo * (1.0 - q**2) ** 0.8 + 0.3
        inside = _smoothstep(-0.4, 0.4, ys - up) * _smoothstep(-0.4, 0.4, lo - ys)
        inside *= _smoothstep(1.0, 0.92, np.abs(q))
        a = alb[sel]
        crease = _smoothstep(1.6, 0.0, np.abs(ys - (up - 0.9 * eo - 1.5)))
        a = a * (1.0 - 0.12 * crease * _smoothstep(1.05, 0.6, np.abs(q)))[:, None]
        if makeup > 0:
            lid = _smoothstep(up + 0.3, up - 1.0, ys) * _smoothstep(up - 11.0, up - 3.0, ys)
            lid *= _smoothstep(1.25, 0.7, np.abs(q)) * 0.75 * makeup
            tint = _to_linear([idn["eyeshadow_r"], idn["eyeshadow_g"], idn["eyeshadow_b"]])
            a = a * (1.0 - lid[:, None]) + tint.astype(np.float32) * lid[:, None]
        r = np.hypot(xs - es, ys + 0.2)
        iris_col = _to_linear([idn["iris_r"], idn["iris_g"], idn["iris_b"]]).astype(np.float32)
        corner = _smoothstep(0.55, 1.0, np.abs(q))[:, None]
        sclera = np.array([0.32, 0.29, 0.27], np.float32) * (
            1.0 - corner * np.array([0.1, 0.35, 0.35], np.float32)
        )
        iris_m = _smoothstep(5.6, 5.0, r)[:, None]
        pupil = _smoothstep(2.4, 1.8, r)[:, None]
        texture = look.iris(r, np.arctan2(ys + 0.2, xs - es), fs, seed)[:, None]
        eye = sclera * (1.0 - iris_m) + iris_col * texture * iris_m
        eye = eye * (1.0 - pupil) + 0.01 * pupil
        eye *= (0.35 + 0.65 * _smoothstep(up, up + 0.8 * (lo - up) + 0.05, ys))[:, None]
        liner = float(idn.get("eyeliner", 0.0))
        width = 1.6 + 0.8 * liner
        lash = _smoothstep(width, 0.2, np.abs(ys - up + 0.5)) * _smoothstep(1.1, 0.8, np.abs(q))
        if liner > 0:  # a wing at the outer corner
            wing_y = 0.3 - (qq - 1.0) * hw * 0.5
            wing = _smoothstep(0.85, 1.0, qq) * _smoothstep(1.3, 1.1, qq)
            lash = np.maximum(lash, liner * wing * _smoothstep(1.0, 0.3, np.abs(ys - wing_y)))
        lower = 0.35 * _smoothstep(0.8, 0.1, np.abs(ys - lo)) * _smoothstep(1.0, 0.6, np.abs(q))
        a = a * (1.0 - inside[:, None]) + eye * inside[:, None]
        a = a * (1.0 - 0.92 * np.maximum(lash, lower))[:, None]
        alb[sel] = a
        spec[sel] = spec[sel] * (1.0 - inside) + 1.2 * inside
        eye_w[sel] = inside
    # lips (natural or lipstick, with vertical creases) and the mouth
    y_tip, y_base, y_mouth = _mouth_line(idn)
    mw = idn["mouth_width"]
    sel = (ax < mw + 3.0) & (y > y_mouth - 15.0) & (y < y_mouth + 18.0)
    if sel.any():
        xs, ys = x[sel], y[sel]
        ym = np.full_like(xs, y_mouth)
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
        lip_col = alb[sel] * np.array([0.85, 0.5 + 0.1 * tint, 0.55 + 0.1 * tint], np.float32)
        if makeup > 0:
            stick = _to_linear([idn["lipstick_r"], idn["lipstick_g"], idn["lipstick_b"]])
            k = np.float32(0.7 * makeup)
            lip_col = lip_col * (1.0 - k) + stick.astype(np.float32) * k
        creases = look.noise2(xs / 0.8, ys / 4.0, seed + 79) * look.fade(1.5, foot[sel])
        lip_col *= (1.0 + 0.15 * creases)[:, None]
        a = alb[sel] * (1.0 - lip) + lip_col * lip
        # the opening, in y after the drop: a lens between the lips, teeth at its top
        # (and bottom), with dark gaps between them and darker toward the corners
        dark, teeth = _mouth_opening(idn, y_drop[sel] - ym, xs, drop)
        if "teeth_upper" in idn:  # version 2
            gaps = np.abs(np.abs(xs) / mw * 25.0 - _TOOTH_EDGES[:, None]).min(axis=0)
            teeth *= 1.0 - 0.6 * _smoothstep(0.5, 0.15, gaps) * look.fade(0.6, foot[sel])
            shade = idn["teeth_shade"] * _smoothstep(1.0, 0.3, np.abs(xs) / mw)
            enamel = _ENAMEL[None, :] * (0.35 + 0.65 * shade)[:, None]
        else:  # version 1
            enamel = np.full((1, 3), 0.4)
        inner = np.array([0.04, 0.01, 0.01]) * (1.0 - teeth[:, None]) + enamel * teeth[:, None]
        a = a * (1.0 - dark[:, None]) + inner * dark[:, None]
        alb[sel] = a
        wet = 1.5 * teeth * dark if "teeth_upper" in idn else 0.0  # teeth shine (version 2)
        spec[sel] *= 1.0 + (0.6 + 1.5 * makeup) * lip[:, 0] + wet
    # nostrils, on the underside of the nose
    nw = idn["nose_width"]
    sel = (ax < nw) & (y > y_tip) & (y < y_base + 3.0)
    if sel.any():
        xs, ys = ax[sel], y[sel]
        m = _gauss(xs, ys, 0.4 * nw, y_base - 2.0, 0.18 * nw, 2.0)
        m = np.clip(1.6 * m, 0.0, 1.0) * _smoothstep(0.3, 0.7, down[sel])
        alb[sel] = alb[sel] * (1.0 - 0.9 * m[:, None])
    return alb, spec, eye_w


def _paint_beard(
    idn: dict[str, Any],
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    foot: np.ndarray,
    idx: np.ndarray,
    alb: np.ndarray,
    spec_w: np.ndarray,
    seed: int,
) -> None:
    """Paint a beard (strands of the hair colour) or stubble (short hairs: speckle close
    up, a grey-blue shadow from afar) on the jaw, chin and upper lip of the front skull
    pixels ``idx``, leaving the lips free (in place)."""
    _, y_base, y_mouth = _mouth_line(idn)
    xs, ys, fs = x[idx], y[idx], foot[idx]
    ax = np.abs(xs)
    # from under the nose, rising along the cheeks to the sideburns, down under the chin;
    # the edges are ragged
    rag = look.noise2(xs / 4.0, ys / 4.0, seed + 83)
    top = y_base + 4.0 - 0.9 * np.maximum(ax - 25.0, 0.0) + 2.5 * rag
    soft = 4.0 if idn["beard"] > 0 else 9.0  # stubble fades out over the cheeks
    m = _smoothstep(top - soft, top + soft, ys) * _smoothstep(70.0 + 3.0 * rag, 60.0, ax)
    m *= _smoothstep(y_mouth + idn["chin_height"] + 35.0, y_mouth + idn["chin_height"] + 20.0, ys)
    mw = idn["mouth_width"]
    lips = _smoothstep(mw + 2.0, mw, ax) * _smoothstep(
        y_mouth - idn["lip_upper"] - 1.5, y_mouth - idn["lip_upper"] + 0.5, ys
    )
    lips *= _smoothstep(y_mouth + idn["lip_lower"] + 3.5, y_mouth + idn["lip_lower"] + 1.5, ys)
    m *= (1.0 - lips) * look.stubble(xs, ys, fs, seed)
    hair_col = _to_linear([idn["hair_r"], idn["hair_g"], idn["hair_b"]]).astype(np.float32)
    a = alb[idx]
    if idn["beard"] > 0:
        cover = (m * idn["beard"]).astype(np.float32)[:, None]
        strands = look.hair_strands(xs, ys, fs, seed + 89, 0.6)[:, None]
        alb[idx] = a * (1.0 - 0.92 * cover) + 0.92 * cover * hair_col * strands
        spec_w[idx] *= 1.0 - 0.7 * cover[:, 0]
    else:
        cover = (m * float(idn.get("stubble", 0.0))).astype(np.float32)[:, None]
        # dark hairs leave a grey-blue shadow, fair ones hardly show
        skin_lum = float(a.mean()) + 1e-6
        fair = min(float(hair_col.mean()) / skin_lum, 1.0)
        shadow = a * (np.array([0.45, 0.5, 0.58], np.float32) * (1.0 - fair) + fair)
        alb[idx] = a * (1.0 - 0.8 * cover) + 0.8 * cover * shadow
        spec_w[idx] *= 1.0 - 0.4 * cover[:, 0]


@dataclass
class _Shaded:
    """What :func:`_shade` gives: linear RGB (P, 3) of the covered pixels, their hair
    coverage (P,), and the mean irradiance on the figure after exposure (3,), which lights
    the overlays (glasses)."""

    rgb: np.ndarray
    hair: np.ndarray
    irradiance: np.ndarray


def _shade(
    idn: dict[str, Any],
    params: dict[str, Any],
    ras: Raster,
    lay: _Layout,
    attr: np.ndarray,
    verts: np.ndarray,
    f: float,
    cx: float,
    cy: float,
) -> _Shaded:
    """Shade the covered pixels ``ras.pixels``.

    ``attr`` holds the camera-frame vertex normals in its first three columns, ``verts``
    (N, 3) are the camera-frame vertices (the key light's shadow map), ``f``, ``cx``,
    ``cy`` the intrinsics of the image.
    """
    width = ras.depth.shape[1]
    a = interpolate(attr, lay.tris, ras)
    part = lay.tri_part[ras.tri]
    n = _normalize(a[:, 0:3])
    # the surface point of each pixel and the view direction (toward the camera)
    rows, cols = np.divmod(ras.pixels, width)
    z = ras.depth.ravel()[ras.pixels]
    pts = np.empty((len(z), 3))
    pts[:, 0] = (cols + 0.5 - cx) / f * z
    pts[:, 1] = (rows + 0.5 - cy) / f * z
    pts[:, 2] = z
    vdir = _normalize(-pts)
    n[np.einsum("ij,ij->i", n, vdir) < 0] *= -1.0  # two-sided ears face the camera
    foot = (z / f).astype(np.float32)  # mm of surface per pixel
    x, y = a[:, _A_X], a[:, _A_Y]
    noise, ao = a[:, _A_NOISE], a[:, _A_AO]
    head = np.flatnonzero(part == _HEAD)
    seed = int(idn["texture_seed"]) & 0xFFFFF

    skin = _to_linear([idn["skin_r"], idn["skin_g"], idn["skin_b"]]).astype(np.float32)
    alb = skin[None, :] * (1.0 + idn["skin_blotch"] * noise)[:, None]
    spec_w = np.ones(len(x), np.float32)
    # rosier cheeks and nose, ears; a slightly darker neck; skin detail on the skull
    xh, yh = x[head], y[head]
    rosy = 0.5 * _gauss(np.abs(xh), yh, 40.0, 30.0, 14.0, 12.0)
    rosy += 0.4 * _gauss(xh, yh, 0.0, idn["nose_length"] - 5.0, 8.0, 8.0)
    redden = np.array([0.0, 0.14, 0.11], np.float32)
    alb[head] *= 1.0 - rosy[:, None] * redden
    alb[part == _EAR] *= 1.0 - 0.5 * redden
    alb[part == _NECK] *= 0.88
    ah, sh = alb[head], spec_w[head]
    look.skin_detail(idn, xh, yh, foot[head], ah, sh, seed)
    alb[head], spec_w[head] = ah, sh
    # clothes: the cloth colour with folds and a weave (in camera coordinates)
    worn = np.flatnonzero(part == _TORSO)
    cloth_col = _to_linear([idn["cloth_r"], idn["cloth_g"], idn["cloth_b"]]).astype(np.float32)
    px, py = pts[worn, 0], pts[worn, 1]
    folds = look.noise2(px / 45.0, py / 30.0, seed + 97)
    weave = look.noise2(px / 1.2, py / 1.2, seed + 101) * look.fade(2.0, foot[worn])
    alb[worn] = cloth_col * (1.0 + 0.08 * noise[worn] + 0.15 * folds + 0.15 * weave)[:, None]
    spec_w[worn] = 0.15
    # brows, eyes, lips, nostrils on the front of the skull
    eye_w = np.zeros(len(x), np.float32)
    face = head[(a[head, _A_CT] > 0.05) & (np.abs(xh) < 60.0) & (yh > -45.0) & (yh < 110.0)]
    if face.size:
        # averaged over 2 points of the pixel footprint so that small features (lash
        # lines, iris) alias less
        off = 0.25 * foot[face]
        fa = np.zeros((face.size, 3), np.float32)
        fs = np.zeros(face.size, np.float32)
        fe = np.zeros(face.size, np.float32)
        for o in (-1.0, 1.0):
            ta, ts, te = _feature_albedo(
                idn,
                params,
                x[face] + o * off,
                y[face] + o * off,
                a[face, _A_YD] + o * off,
                a[face, _A_DOWN],
                alb[face],
                foot[face],
                seed,
            )
            fa += ta
            fs += ts
            fe += te
        alb[face], spec_w[face], eye_w[face] = 0.5 * fa, 0.5 * fs, 0.5 * fe
    # hair above a wispy hairline: strands and clumps combed down from the crown
    th = np.arctan2(a[head, _A_ST], a[head, _A_CT])
    # (sparse hairs over a few mm: strand-like streaks along the hair, skin in between)
    y_hl = _hairline(idn, np.abs(th)) + 1.5 * noise[head]
    ramp = _smoothstep(y_hl + 5.0, y_hl - 4.0, yh)
    streaks = look.noise2(th * 70.0, yh / 5.0, seed + 103) * look.fade(1.2, foot[head])
    hair = _smoothstep(0.0, 1.0, 1.4 * ramp - 0.2 + 0.5 * streaks) * idn["hair_density"]
    on = hair > 0
    hair, th, hidx = hair[on].astype(np.float32), th[on], head[on]
    locks = np.flatnonzero(part == _LOCKS)  # long hair: hair all over
    if locks.size:
        hidx = np.concatenate([hidx, locks])
        th = np.concatenate([th, np.arctan2(a[locks, _A_ST], a[locks, _A_CT])])
        hair = np.concatenate([hair, np.ones(locks.size, np.float32)])
    around = th * (0.5 * idn["head_width"] + idn["hair_volume"])  # mm around the head
    strands = look.hair_strands(around, y[hidx], foot[hidx], seed, idn.get("hair_wave", 0.5))
    strands *= 1.0 + 0.08 * noise[hidx]
    hair_col = _to_linear([idn["hair_r"], idn["hair_g"], idn["hair_b"]]).astype(np.float32)
    hm = hair[:, None]
    alb[hidx] = alb[hidx] * (1.0 - hm) + hair_col[None, :] * strands[:, None] * hm
    spec_w[hidx] *= 1.0 - 0.85 * hair
    hair_w = np.zeros(len(x), np.float32)
    hair_w[hidx] = hair
    if idn["beard"] > 0 or idn.get("stubble", 0.0) > 0:
        _paint_beard(idn, params, x, y, foot, head[a[head, _A_CT] > 0.0], alb, spec_w, seed)
    alb *= ao[:, None]

    # light: a coloured ambient hemisphere and directional lights, wrapped further in red
    # on skin; the key light's shadows; Blinn-Phong with a Fresnel rise on skin, a
    # strand-aligned highlight on hair (Kajiya-Kay), the key light's glint in the eyes
    wrap = np.empty((len(x), 3), np.float32)
    wrap[:] = np.array([0.55, 0.32, 0.22], np.float32) * idn.get("skin_sss", 0.8)
    wrap[worn] = 0.15
    wrap[hidx] = wrap[hidx] * (1.0 - hm) + 0.2 * hm
    diffuse = np.float32(params["ambient"]) * lighting.hemisphere(
        n, params.get("ambient_sky", [1.0] * 3), params.get("ambient_ground", [0.6] * 3)
    )
    ambient = diffuse.copy()
    specular = np.zeros((len(x), 3), np.float32)
    shine = (0.02 + 0.05 * idn["skin_shine"]) * params["specular"]
    squarings = 4 if idn["skin_shine"] < 0.6 else 5  # Blinn-Phong exponent 16 or 32
    rot_h = _rotation(params["yaw_deg"], params["pitch_deg"], params["roll_deg"])
    # hair strands run down the head: its down axis, projected onto the surface
    down = rot_h[:, 1]
    tangent = _normalize(down - np.einsum("ij,j->i", n[hidx], down)[:, None] * n[hidx])
    hair_shine = 0.12 * idn.get("hair_shine", 0.5) * params["specular"]
    for j, light in enumerate(params["lights"]):
        ldir = np.asarray(light["direction"], dtype=np.float64)  # toward the light
        ldir /= np.linalg.norm(ldir)
        col = np.asarray(light["colour"], np.float32) * np.float32(light["intensity"])
        ndl = n @ ldir
        d = lighting.wrapped_diffuse(ndl, wrap)
        vis = np.ones(len(x), np.float32)
        if j == 0:  # the key light casts shadows; skin's red scatters into their edges
            vis = _key_shadow(params, light, verts, lay, pts, n, f)
            # past the terminator only the wrapped (scattered) light is left, and no shadow
            vis = 1.0 - (1.0 - vis) * _smoothstep(-0.2, 0.05, ndl).astype(np.float32)
            d *= vis[:, None] ** np.array([0.7, 0.88, 1.0], np.float32)
        diffuse += d * col
        hv_all = _normalize(vdir + ldir)
        lit = np.flatnonzero(ndl > 0)
        hv = hv_all[lit]
        ndh = np.clip(np.einsum("ij,ij->i", n[lit], hv), 0.0, 1.0)
        fresnel = 1.0 + 4.0 * (1.0 - np.clip(np.einsum("ij,ij->i", vdir[lit], hv), 0, 1)) ** 5
        for _ in range(squarings):
            ndh *= ndh
        sharp = ndh * ndh
        sharp *= sharp  # exponent 64 or 128: the oily glint
        lobe = (ndh + 0.5 * idn["skin_shine"] * sharp) * fresnel
        lobe *= _smoothstep(0.0, 0.15, ndl[lit]) * vis[lit]
        specular[lit] += (shine * lobe * spec_w[lit])[:, None] * col
        if hidx.size:
            hvh = hv_all[hidx]
            for shift, power, tint in ((0.12, 64, None), (-0.1, 12, hair_col)):
                t = _normalize(tangent + shift * n[hidx])
                sin_th = np.sqrt(np.clip(1.0 - np.einsum("ij,ij->i", t, hvh) ** 2, 0.0, 1.0))
                kk = sin_th**power * _smoothstep(-0.1, 0.3, ndl[hidx]) * vis[hidx] * hair
                colour = col if tint is None else col * tint / max(float(tint.max()), 1e-3)
                specular[hidx] += (hair_shine * kk)[:, None] * colour
        if j == 0 and eye_w.any():
            e = np.flatnonzero(eye_w > 0)
            half_head = rot_h.T @ _normalize(vdir[e].mean(axis=0) + ldir)
            glint = np.zeros(e.size, np.float32)
            for side in (-1.0, 1.0):
                glint += look.catchlight(
                    x[e],
                    y[e],
                    side * idn["eye_spacing"],
                    -0.2,
                    half_head,
                    float(light.get("size_deg", 5.0)),
                    foot[e],
                )
            specular[e] += (glint * eye_w[e] * vis[e])[:, None] * col
    # a sheen of the ambient light at grazing angles (Fresnel), mostly on skin
    grazing = (1.0 - np.clip(np.einsum("ij,ij->i", n, vdir), 0.0, 1.0)) ** 5
    sheen = (0.04 + 0.25 * grazing) * spec_w * np.float32(0.5 * shine / 0.045)
    specular += sheen[:, None] * ambient
    rgb = alb * diffuse + specular * ao[:, None]
    # auto-exposure on the irradiance, partly compensating the skin tone (dark skin stays darker)
    lum_w = np.array([0.2126, 0.7152, 0.0722], np.float32)
    irradiance = max(float(np.einsum("ij,j->i", diffuse, lum_w).mean()), 1e-6)
    skin_lum = float(skin @ lum_w)
    gain = np.float32(params["exposure"] / (irradiance * 0.35 * (skin_lum / 0.35) ** 0.2))
    rgb *= gain
    return _Shaded(rgb.astype(np.float32), hair_w, diffuse.mean(axis=0) * gain)


def _key_shadow(
    params: dict[str, Any],
    light: dict[str, Any],
    verts: np.ndarray,
    lay: _Layout,
    pts: np.ndarray,
    normals: np.ndarray,
    f: float,
) -> np.ndarray:
    """Visibility (P,) of the key ``light`` at the surface points ``pts`` with unit
    ``normals`` (camera frame): a shadow map of the mesh with texels about as large as the
    image's pixels at the face."""
    texel = max(params["distance_mm"] / f, 1.0)
    smap = lighting.ShadowMap(
        verts,
        lay.tris,
        lay.two_sided,
        np.asarray(light["direction"], np.float64),
        pts,
        texel=texel,
        margin=15.0,
    )
    return smap.visibility(pts, float(light.get("size_deg", 5.0)), normals)


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


def _photograph(
    idn: dict[str, Any],
    params: dict[str, Any],
    ras: Raster,
    cov: np.ndarray,
    lay: _Layout,
    verts: np.ndarray,
    pc: np.ndarray,
    attr: np.ndarray,
    camera: tuple[float, float, float],
) -> np.ndarray:
    """The photograph (H, W, 3) uint8 of a rasterised view.

    Shading (:func:`_shade`), the silhouette blended with the background by its covered
    fraction ``cov`` (ragged and fuzzy where it is hair, with flyaway hairs), glasses, then
    the camera (:func:`rgb2depth.data.synthetic.photo.develop`). ``verts`` and ``pc`` are
    the head-frame and camera-frame vertices, ``camera`` is (f, cx, cy). The depth map is
    not touched: nothing drawn here (background, hair fuzz, glasses) is in it.
    """
    h, w = ras.depth.shape
    f, cx, cy = camera
    lin = np.zeros((h * w, 3), np.float32)
    hair = np.zeros(h * w, np.float32)
    shaded = None
    if ras.pixels.size:
        shaded = _shade(idn, params, ras, lay, attr, pc, f, cx, cy)
        lin[ras.pixels] = shaded.rgb
        hair[ras.pixels] = shaded.hair
    img, lost = _extend_edges(lin.reshape(h, w, 3), ras.mask, cov > 0)
    cov = np.where(lost, 0.0, cov).astype(np.float32)
    rng = np.random.default_rng([int(params["noise_seed"]), 3])
    hairy = (hair.reshape(h, w) > 0.5) & ras.mask
    if hairy.any():
        img, cov, fly = _fuzzy_hair(idn, img, cov, hairy, ras.mask, rng)
    bg = _background(params, h, w)
    img = img * cov[..., None] + (1.0 - cov)[..., None] * bg
    if hairy.any():
        _flyaways(idn, img, ras.depth, fly, ras.mask, rng, f)
    if shaded is not None and idn.get("glasses", 0.0) > 0:
        _glasses(idn, params, img, ras.depth, verts, pc, lay, attr, camera, shaded.irradiance)
    return _encode(img, params)


def _fuzzy_hair(
    idn: dict[str, Any],
    img: np.ndarray,
    cov: np.ndarray,
    hairy: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ragged hair silhouette: the hair's edge pixels lose some coverage and a fringe of
    pixels just outside it gains a little, in the colour of the hair next to them.

    Returns the colours, the coverage and the (H, W) mask of the hair's edge pixels.
    """
    edge = hairy & ndimage.binary_dilation(~mask)
    fringe = ndimage.binary_dilation(edge) & ~mask & (cov < 0.5)
    frizz = float(idn.get("hair_frizz", 0.5))
    cov = cov.copy()
    cov[edge] *= rng.uniform(0.45, 1.0, int(edge.sum())).astype(np.float32)
    img, lost = _extend_edges(img, mask, fringe)
    add = rng.uniform(0.0, 0.2 + 0.3 * frizz, int(fringe.sum())).astype(np.float32)
    cov[fringe] = np.maximum(cov[fringe], add * ~lost[fringe])
    return img, cov, edge


def _flyaways(
    idn: dict[str, Any],
    img: np.ndarray,
    depth: np.ndarray,
    edge: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    f: float,
) -> None:
    """Draw flyaway hairs: thin curved strands leaving the hair's edge pixels outward, in
    the (slightly brighter, backlit) colour of the hair where they start (in place)."""
    rows, cols = np.nonzero(edge)
    count = min(round(len(rows) * 0.25 * idn.get("hair_frizz", 0.5)), 60)
    if count == 0:
        return
    pick = np.sort(rng.choice(len(rows), count, replace=False))
    r0, c0 = rows[pick], cols[pick]
    soft = ndimage.gaussian_filter(mask.astype(np.float32), 2.0, truncate=2.0)
    gy, gx = np.gradient(soft)
    ox, oy = -gx[r0, c0], -gy[r0, c0]
    norm = np.maximum(np.hypot(ox, oy), 1e-6)
    ang = np.arctan2(oy / norm, ox / norm) + rng.uniform(-0.7, 0.7, count)
    z = depth[r0, c0]
    length = rng.uniform(6.0, 30.0, count) * f / z  # mm -> pixels
    curl = rng.uniform(-0.5, 0.5, count)
    colour = img[r0, c0] * rng.uniform(1.0, 1.5, count)[:, None].astype(np.float32)
    alpha = rng.uniform(0.25, 0.6, count).astype(np.float32)
    steps = 4
    px, py = c0 + 0.5, r0 + 0.5
    p0, p1 = [], []
    for _ in range(steps):
        nx = px + np.cos(ang) * length / steps
        ny = py + np.sin(ang) * length / steps
        p0.append(np.stack([px, py], 1))
        p1.append(np.stack([nx, ny], 1))
        px, py, ang = nx, ny, ang + curl
    zz = np.tile(z, steps)
    fading = np.concatenate([alpha * (1.0 - k / steps) for k in range(steps)])
    look.draw_segments(
        img,
        depth,
        np.concatenate(p0),
        np.concatenate(p1),
        zz,
        zz,
        np.full(count * steps, 0.3),
        np.tile(colour, (steps, 1)),
        fading,
        tolerance=30.0,
    )


def _glasses(
    idn: dict[str, Any],
    params: dict[str, Any],
    img: np.ndarray,
    depth: np.ndarray,
    verts: np.ndarray,
    pc: np.ndarray,
    lay: _Layout,
    attr: np.ndarray,
    camera: tuple[float, float, float],
    irradiance: np.ndarray,
) -> None:
    """Draw the frames of the identity's glasses (in place). They sit on the face found in
    the head-frame mesh ``verts`` (in front of the eyes and the brows, on the nose bridge,
    over the ears), turn with the head (``pc`` are the same vertices in the camera frame),
    hide behind nearer surfaces, and are not part of the depth map."""
    s = lay.slices[0]
    hv, ha = verts[s], attr[s]
    xr, yr = ha[:, _A_X], ha[:, _A_Y]
    front = ha[:, _A_CT] > 0.3
    es = idn["eye_spacing"]

    def nearest_z(x0: float, y0: float) -> float:
        near = front & (np.abs(np.abs(xr) - x0) < 5.0) & (np.abs(yr - y0) < 5.0)
        return float(hv[near, 2].min()) if near.any() else float(hv[front, 2].min()) + 30.0

    ath = np.abs(np.arctan2(ha[:, _A_ST], ha[:, _A_CT]))
    skin = yr > _hairline(idn, ath) + 3.0
    band = np.abs(yr + 8.0) < 6.0
    sides = hv[band & skin, 0] if (band & skin).any() else hv[band, 0]
    y_ear, eh, _ = _ear_frame(idn)
    lines = look.glasses_polylines(
        idn,
        eye_z=nearest_z(es, 0.0),
        bridge_z=nearest_z(0.0, -4.0),
        brow_z=nearest_z(es - 2.0, -idn["brow_height"] + 4.0),
        side_x=float(np.abs(sides).max()),
        ear_top=(y_ear - eh + 5.0, 5.0),
    )
    rot = _rotation(params["yaw_deg"], params["pitch_deg"], params["roll_deg"])
    shift = pc[s][0] - rot @ hv[0]  # the head's rigid motion: pc = rot @ v + shift
    f, cx, cy = camera
    albedo = _to_linear([idn["glasses_r"], idn["glasses_g"], idn["glasses_b"]])
    base = (albedo * irradiance).astype(np.float32)
    p0, p1, z0, z1, rad, col = [], [], [], [], [], []
    for k, line in enumerate(lines):
        cam = _rotate(line, rot) + shift
        uv = np.stack([f * cam[:, 0] / cam[:, 2] + cx, f * cam[:, 1] / cam[:, 2] + cy], 1)
        thick = idn["glasses_frame"] * (0.6 if k >= 3 else 1.0)  # temples are thinner
        p0.append(uv[:-1])
        p1.append(uv[1:])
        z0.append(cam[:-1, 2])
        z1.append(cam[1:, 2])
        rad.append(0.5 * thick * f / cam[:-1, 2])
        # the top of a rim catches more light
        up = np.clip(-(line[:-1, 1] - line[:, 1].mean()) / 15.0, -1.0, 1.0)
        col.append(base * (1.0 + 0.5 * up)[:, None] + 0.04 * irradiance * (up > 0.6)[:, None])
    look.draw_segments(
        img,
        depth,
        np.concatenate(p0),
        np.concatenate(p1),
        np.concatenate(z0),
        np.concatenate(z1),
        np.concatenate(rad),
        np.concatenate(col).astype(np.float32),
        np.ones(sum(len(p) for p in p0), np.float32),
        tolerance=3.0,
    )


_BACKGROUND_LEVEL = {
    "window": 0.2,
    "office": 0.0,
    "outdoor": 0.5,
    "overcast": 0.3,
    "studio": -0.6,
    "lamp": -0.7,
    "flash": -1.1,
}
"""Mean log brightness of the background under each light preset (backlit by day, dark
behind a flash)."""


def _sample_look(seed: int) -> dict[str, Any]:
    """The lights, background and camera of a view (see :meth:`Faces.sample_view`), drawn
    from ``seed``, which is kept as ``noise_seed``."""
    rng = np.random.default_rng([seed, 7])
    light = lighting.sample_lighting(rng)
    kind, source = photo.sample_background(rng)
    return {
        "light_preset": light["preset"],
        "lights": light["lights"],
        "ambient": light["ambient"],
        "ambient_sky": light["ambient_sky"],
        "ambient_ground": light["ambient_ground"],
        "specular": _u(rng, 0.3, 1.0),
        "exposure": _u(rng, 0.3, 0.5),  # mean linear luminance of the face
        "background": kind,
        "background_photo": source,
        "background_gain": float(np.exp(rng.normal(_BACKGROUND_LEVEL[light["preset"]], 0.45))),
        "camera": photo.sample_camera(rng, _illuminant(params=light)),
        "noise_seed": seed,
    }


def _illuminant(params: dict[str, Any]) -> list[float]:
    """The mean colour of the light in a scene (linear RGB, green 1): lights weighted by
    their intensity, plus the ambient hemisphere."""
    total = np.zeros(3)
    for light in params["lights"]:
        total += np.asarray(light["colour"]) * light["intensity"]
    sky = np.asarray(params.get("ambient_sky", [1.0] * 3))
    ground = np.asarray(params.get("ambient_ground", [1.0] * 3))
    total += params["ambient"] * 0.5 * (sky + ground)
    return [float(c) for c in total / total[1]]


def _background(params: dict[str, Any], h: int, w: int) -> np.ndarray:
    """Linear RGB (h, w, 3) float32 of the background, lit by the scene's light colour and
    out of focus (:func:`rgb2depth.data.synthetic.photo.background`)."""
    camera = params.get("camera", {})
    gain = np.asarray(_illuminant(params)) * params.get("background_gain", 1.0)
    return photo.background(
        params["background"],
        params.get("background_photo", ""),
        int(params["noise_seed"]),
        h,
        w,
        defocus=float(camera.get("defocus", 0.0)),
        gain=gain,
    )


def _encode(lin: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """The linear image through the view's camera: uint8 sRGB
    (:func:`rgb2depth.data.synthetic.photo.develop`); views without a ``camera`` get a
    neutral one with their ``noise_std`` as read noise."""
    camera = params.get("camera")
    if camera is None:
        camera = {**photo.NEUTRAL_CAMERA, "read_noise": float(params.get("noise_std", 0.0))}
    return photo.develop(lin, camera, int(params["noise_seed"]))
