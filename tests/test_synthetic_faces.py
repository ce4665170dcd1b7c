"""The procedural faces kind: contract, determinism, geometry and silhouettes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from rgb2depth.data.synthetic._raster import edge_coverage, grid_triangles, rasterize
from rgb2depth.data.synthetic.base import RenderedSample, SceneKind
from rgb2depth.data.synthetic.faces import (
    BACKGROUNDS,
    DEPTH_EXTENT_MM,
    DISTANCE_RANGE_MM,
    PITCH_MAX,
    ROLL_MAX,
    YAW_MAX,
    Faces,
)


@pytest.fixture(scope="module")
def faces() -> Faces:
    return Faces()


def _render(faces: Faces, seed: int, height: int = 48, width: int = 48) -> RenderedSample:
    group = faces.sample_group(np.random.default_rng([seed, 0]))
    return faces.render(group, np.random.default_rng([seed, 1]), height, width)


def _frontal(faces: Faces, seed: int = 0, **overrides: float) -> tuple[dict, dict]:
    group = faces.sample_group(np.random.default_rng([seed, 0]))
    params = faces.sample_view(np.random.default_rng([seed, 1]))
    params.update(
        yaw_deg=0.0, pitch_deg=0.0, roll_deg=0.0, body_yaw_deg=0.0, offset_x=0.0, offset_y=0.0
    )
    params.update(overrides)
    return group, params


def test_class_attributes(faces: Faces) -> None:
    assert isinstance(faces, SceneKind)
    assert faces.name == "faces" and faces.units == "mm"
    assert faces.views_per_group == 4 and faces.description
    lo, hi = faces.depth_range
    assert lo <= DISTANCE_RANGE_MM[0] and hi >= DISTANCE_RANGE_MM[1] + DEPTH_EXTENT_MM
    # the 16-bit PNG covers the range with sub-millimetre steps
    assert faces.png_scale < 1.0
    assert faces.png_offset + faces.png_scale * 65535 >= hi
    assert faces.png_offset + faces.png_scale <= lo


def test_intrinsics(faces: Faces) -> None:
    k = faces.intrinsics(96, 128)
    assert k["fx"] == k["fy"] and k["cx"] == 64.0 and k["cy"] == 48.0
    fov = 2 * np.degrees(np.arctan(0.5 * 96 / k["fy"]))  # across the shorter side
    assert 30.0 <= fov <= 40.0


@pytest.mark.parametrize(("height", "width"), [(48, 48), (32, 64), (64, 40)])
def test_shapes_and_dtypes(faces: Faces, height: int, width: int) -> None:
    s = _render(faces, 1, height, width)
    assert s.rgb.shape == (height, width, 3) and s.rgb.dtype == np.uint8
    assert s.depth.shape == (height, width) and s.depth.dtype == np.float32
    assert (s.depth > 0).any() and (s.depth == 0).any()
    assert np.isfinite(s.depth).all()


def test_deterministic(faces: Faces) -> None:
    a, b, c = _render(faces, 3), _render(faces, 3), _render(faces, 4)
    assert a.rgb.tobytes() == b.rgb.tobytes()
    assert a.depth.tobytes() == b.depth.tobytes()
    assert json.dumps(a.meta, sort_keys=True) == json.dumps(b.meta, sort_keys=True)
    assert a.rgb.tobytes() != c.rgb.tobytes()
    assert a.depth.tobytes() != c.depth.tobytes()


def test_identity_is_json_floats(faces: Faces) -> None:
    group = faces.sample_group(np.random.default_rng(5))
    assert all(isinstance(v, float) for v in group.values())
    assert json.loads(json.dumps(group)) == group
    # skin tones span light to dark
    tones = [faces.sample_group(np.random.default_rng(i))["skin_r"] for i in range(40)]
    assert min(tones) < 0.45 and max(tones) > 0.85


def test_view_meta(faces: Faces) -> None:
    group = faces.sample_group(np.random.default_rng(0))
    for seed in range(12):
        meta = faces.render(group, np.random.default_rng(seed), 32, 32).meta
        json.dumps(meta)
        assert abs(meta["yaw_deg"]) <= YAW_MAX
        assert abs(meta["pitch_deg"]) <= PITCH_MAX
        assert abs(meta["roll_deg"]) <= ROLL_MAX
        assert DISTANCE_RANGE_MM[0] <= meta["distance_mm"] <= DISTANCE_RANGE_MM[1]
        assert 1 <= len(meta["lights"]) <= 3
        assert meta["background"] in BACKGROUNDS
        expression = ("smile", "anger", "disgust", "fear", "sadness", "surprise", "jaw_open")
        assert all(0.0 <= meta[k] <= 1.0 for k in (*expression, "mouth_open"))
        assert not {"name", "group", "view"} & meta.keys()  # keys the writer adds


def test_view_argument_does_not_change_a_face(faces: Faces) -> None:
    group = faces.sample_group(np.random.default_rng(2))
    a = faces.render(group, np.random.default_rng(9), 32, 32, "rgb")
    b = faces.render(group, np.random.default_rng(9), 32, 32, "depth")
    assert a.rgb.tobytes() == b.rgb.tobytes() and a.depth.tobytes() == b.depth.tobytes()


def test_valid_depth_range(faces: Faces) -> None:
    lo, hi = faces.depth_range
    for seed in range(8):
        s = _render(faces, 10 + seed, 40, 40)
        d = s.depth[s.depth > 0]
        dist = s.meta["distance_mm"]
        assert lo <= d.min() and d.max() <= hi
        # the nearest point is at the distance (up to the sampling: ~1 cm per pixel here)
        assert dist - 0.01 <= d.min() <= dist + 25.0
        assert d.max() <= dist + DEPTH_EXTENT_MM


def test_background_corners_invalid(faces: Faces) -> None:
    group, params = _frontal(faces, 1, distance_mm=1000.0)
    s = faces.render_view(group, params, 48, 48)
    assert (s.depth[[0, 0, -1, -1], [0, -1, 0, -1]] == 0).all()
    assert (s.depth[20:28, 21:27] > 0).all()  # the face, around the image centre


def test_depth_is_z_not_ray_length(faces: Faces) -> None:
    # frontal and centred: the nearest pixel is the nose tip, just below the image centre
    group, params = _frontal(faces, 2, distance_mm=800.0)
    s = faces.render_view(group, params, 64, 64)
    r, c = np.unravel_index(np.argmin(np.where(s.depth > 0, s.depth, np.inf)), s.depth.shape)
    assert abs(c - 31.5) <= 3 and 0 <= r - 31.5 <= 12
    # off the optical axis a ray to the nose tip is ~14 mm longer than its z; the nearest
    # valid depth still equals (up to the pixel sampling) the distance of the nearest point
    group, params = _frontal(faces, 2, distance_mm=800.0, offset_x=0.3, offset_y=-0.1)
    s = faces.render_view(group, params, 64, 64)
    k = faces.intrinsics(64, 64)
    ray_factor = np.hypot(1.0, np.hypot(0.3 * 64, 0.1 * 64) / k["fx"])
    assert 800.0 * ray_factor - 800.0 > 12.0
    assert 800.0 <= s.depth[s.depth > 0].min() <= 805.0


def test_turning_the_head_moves_the_nose(faces: Faces) -> None:
    group, params = _frontal(faces, 3, distance_mm=700.0)
    cols = []
    for yaw in (-30.0, 0.0, 30.0):
        s = faces.render_view(group, {**params, "yaw_deg": yaw}, 64, 64)
        nearest = np.argmin(np.where(s.depth > 0, s.depth, np.inf))
        cols.append(np.unravel_index(nearest, s.depth.shape)[1])
    assert cols[0] < cols[1] < cols[2]  # positive yaw turns the face toward the image right


@pytest.mark.parametrize("size", [(40, 40), (48, 64)])
def test_silhouette_has_no_holes(faces: Faces, size: tuple[int, int]) -> None:
    for seed in range(10):
        s = _render(faces, 100 + seed, *size)
        mask = s.depth > 0
        assert (ndimage.binary_fill_holes(mask) == mask).all(), f"hole in seed {100 + seed}"


def test_rasterize_closed_mesh_has_no_cracks() -> None:
    # a sphere as a wrapped grid: the rasterised disc must be solid and its depth exact
    rows, cols = 40, 64
    phi = np.linspace(0.0, np.pi, rows)[:, None]
    th = np.linspace(-np.pi, np.pi, cols, endpoint=False)[None, :]
    r = 100.0
    x = r * np.sin(phi) * np.sin(th)
    y = -r * np.cos(phi) * np.ones_like(th)
    z = 500.0 - r * np.sin(phi) * np.cos(th)
    f, c = 200.0, 50.0
    xy = np.stack([f * x / z + c, f * y / z + c], -1).reshape(-1, 2)
    ras = rasterize(xy, z.ravel(), grid_triangles(rows, cols, wrap_cols=True), 100, 100)
    mask = ras.mask
    assert mask.sum() > 1000
    assert (ndimage.binary_fill_holes(mask) == mask).all()
    assert ras.depth[mask].min() == pytest.approx(400.0, abs=1.0)
    assert np.allclose(ras.bary.sum(axis=1), 1.0)


def test_edge_coverage_is_a_fraction() -> None:
    # a square from (10.3, 10.3) to (30.4, 30.4): border pixels are partly covered
    xy = np.array([[10.3, 10.3], [30.4, 10.3], [10.3, 30.4], [30.4, 30.4]])
    z = np.full(4, 100.0)
    tris = grid_triangles(2, 2)
    ras = rasterize(xy, z, tris, 40, 40)
    cov = edge_coverage(ras, xy, tris, samples=2)
    assert cov.dtype == np.float32 and cov.min() >= 0.0 and cov.max() <= 1.0
    assert (cov[12:29, 12:29] == 1.0).all() and cov[0, 0] == 0.0
    # half the sample points; the pixel centre decides whether the depth is valid
    assert cov[20, 10] == 0.5 and ras.mask[20, 10]
    assert cov[20, 30] == 0.5 and not ras.mask[20, 30]
    assert cov[10, 10] == 0.25
