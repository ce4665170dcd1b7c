"""Geometry: intrinsics, back-projection, grid meshes and novel views (rgb2depth.geometry)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rgb2depth.geometry import (
    Intrinsics,
    backproject,
    grid_mesh,
    project,
    render_mesh,
    rotation_matrix,
)


def test_intrinsics_from_fov():
    k = Intrinsics.from_fov(48, 64, 90.0)
    assert k.fx == pytest.approx(32.0) and k.fy == pytest.approx(32.0)
    assert (k.cx, k.cy) == (32.0, 24.0)
    assert Intrinsics.from_fov(48, 64, 90.0, axis="short").fx == pytest.approx(24.0)
    assert np.allclose(k.matrix, [[32, 0, 32], [0, 32, 24], [0, 0, 1]])
    assert Intrinsics.from_dict(k.as_dict()) == k
    assert np.allclose(k.scaled(2.0).matrix, [[64, 0, 64], [0, 64, 48], [0, 0, 1]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Intrinsics.from_fov(4, 4, 180.0), "field of view"),
        (lambda: Intrinsics.from_fov(4, 4, 60.0, axis="diagonal"), "axis"),
        (lambda: Intrinsics(0.0, 1.0, 0.0, 0.0), "focal"),
        (lambda: Intrinsics(1.0, 1.0, math.nan, 0.0), "finite"),
        (lambda: Intrinsics.from_dict({"fx": 1, "fy": 1, "cx": 0}), "cy"),
        (lambda: backproject(np.ones((3, 4, 1)), Intrinsics(1, 1, 0, 0)), r"\(H, W\) depth"),
        (
            lambda: backproject(np.ones((3, 4)), Intrinsics(1, 1, 0, 0), rgb=np.zeros((3, 4, 3))),
            "uint8",
        ),
        (lambda: grid_mesh(np.ones((3, 4)), Intrinsics(1, 1, 0, 0), max_rel_jump=0), "max_rel"),
        (lambda: grid_mesh(np.ones((3, 4)), Intrinsics(1, 1, 0, 0), step=0), "step"),
    ],
)
def test_bad_inputs_say_what_was_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_backprojection_round_trip():
    rng = np.random.default_rng(0)
    h, w = 7, 9
    depth = rng.uniform(0.5, 3.0, (h, w))
    depth[2, 3] = 0.0  # invalid: skipped
    valid = np.ones((h, w), bool)
    valid[5, 1] = False
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    k = Intrinsics(11.0, 13.0, 4.1, 3.7)
    cloud = backproject(depth, k, valid=valid, rgb=rgb)
    assert cloud.points.shape == (h * w - 2, 3)
    assert 2 * w + 3 not in cloud.pixels and 5 * w + 1 not in cloud.pixels
    uv, z = project(cloud.points, k)
    rows, cols = np.divmod(cloud.pixels, w)
    np.testing.assert_allclose(uv[:, 0], cols + 0.5, atol=1e-9)
    np.testing.assert_allclose(uv[:, 1], rows + 0.5, atol=1e-9)
    np.testing.assert_allclose(z, depth[rows, cols])
    np.testing.assert_array_equal(cloud.colors, rgb[rows, cols])


def test_grid_mesh_counts_and_discontinuity():
    h, w = 4, 5
    k = Intrinsics.from_fov(h, w, 60.0)
    flat = grid_mesh(np.full((h, w), 2.0), k)
    assert flat.vertices.shape == (h * w, 3)
    assert flat.faces.shape == (2 * (h - 1) * (w - 1), 3)
    # a step from 1 to 2 between columns 2 and 3: the 3 quads across it go, nothing else
    depth = np.where(np.arange(w)[None, :] <= 2, 1.0, 2.0) * np.ones((h, 1))
    mesh = grid_mesh(depth, k, max_rel_jump=0.1)
    assert mesh.faces.shape == (2 * (h - 1) * (w - 2), 3)
    assert mesh.vertices.shape == (h * w, 3)
    fz = mesh.vertices[mesh.faces, 2]
    assert np.all(fz.max(axis=1) - fz.min(axis=1) <= 0.1 * fz.min(axis=1))
    # a threshold above the jump keeps every triangle
    assert grid_mesh(depth, k, max_rel_jump=1.5).faces.shape[0] == 2 * (h - 1) * (w - 1)


def test_grid_mesh_invalid_pixels_and_step():
    k = Intrinsics.from_fov(5, 5, 60.0)
    depth = np.full((5, 5), 3.0)
    depth[0, 0] = np.nan  # a corner: the one triangle on it goes, and the corner vertex
    mesh = grid_mesh(depth, k)
    assert mesh.faces.shape[0] == 2 * 16 - 1
    assert mesh.vertices.shape[0] == 24
    assert 0 not in mesh.pixels
    coarse = grid_mesh(np.full((5, 5), 3.0), k, step=2)  # 3 x 3 samples
    assert coarse.vertices.shape[0] == 9 and coarse.faces.shape[0] == 8
    assert set(coarse.pixels.tolist()) == {0, 2, 4, 10, 12, 14, 20, 22, 24}


def test_render_without_turn_reproduces_the_depth_map():
    rng = np.random.default_rng(1)
    h, w = 12, 16
    yy, xx = np.mgrid[0:h, 0:w]
    depth = 2.0 + 0.1 * np.sin(xx / 3.0) + 0.05 * yy / h
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    k = Intrinsics.from_fov(h, w, 50.0)
    r = render_mesh(grid_mesh(depth, k, rgb=rgb), k, h, w)
    assert r.mask.all()
    np.testing.assert_allclose(r.depth, depth, rtol=1e-9)
    np.testing.assert_array_equal(r.image, rgb)


def test_novel_view_of_a_plane_matches_the_analytic_plane():
    h, w = 40, 48
    k = Intrinsics.from_fov(h, w, 60.0)
    z0 = 2.0
    mesh = grid_mesh(np.full((h, w), z0), k)
    center = np.array([0.0, 0.0, z0])
    yaw, pitch = 25.0, -10.0
    r = render_mesh(mesh, k, h, w, yaw_deg=yaw, pitch_deg=pitch, center=center, mode="relief")
    normal = rotation_matrix(yaw, pitch) @ np.array([0.0, 0.0, 1.0])
    u = (np.arange(w) + 0.5 - k.cx) / k.fx
    v = (np.arange(h) + 0.5 - k.cy) / k.fy
    rays = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.ones((h, w))), axis=-1)
    expected = (normal @ center) / (rays @ normal)  # z of the ray's hit (ray has z = 1)
    assert r.mask[h // 2, w // 2] and r.mask.mean() > 0.5
    np.testing.assert_allclose(r.depth[r.mask], expected[r.mask], rtol=1e-9)
    # turned 25 degrees, the plane no longer fills the width: some columns stay empty
    assert not r.mask.all()
    # a uniformly lit plane: one shade everywhere, not the background
    shades = r.image[r.mask]
    assert np.ptp(shades, axis=0).max() <= 1 and (shades != 255).any()
    # positive yaw brings the image-right side nearer
    row = r.depth[h // 2]
    assert row[r.mask[h // 2]][-1] < row[r.mask[h // 2]][0]


def test_render_supersampled_and_empty_mesh():
    k = Intrinsics.from_fov(8, 8, 60.0)
    mesh = grid_mesh(np.full((8, 8), 1.0), k)
    r = render_mesh(mesh, k, 8, 8, yaw_deg=10.0, supersample=2, background=(0, 0, 0))
    assert r.image.shape == (8, 8, 3) and r.depth.shape == (8, 8)
    empty = grid_mesh(np.zeros((8, 8)), k)
    assert empty.faces.shape == (0, 3)
    e = render_mesh(empty, k, 8, 8, background=(1, 2, 3))
    assert not e.mask.any() and (e.image == [1, 2, 3]).all()
    with pytest.raises(ValueError, match="mode"):
        render_mesh(mesh, k, 8, 8, mode="wireframe")


def _load_script(name: str):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_script_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_row_from_a_known_depth_map():
    """scripts/gallery.py: the default model is demo's, and a row shows a relief that is
    neither empty nor flat (a synthetic dome in a window of the photo)."""
    from rgb2depth.cli.main import build_parser

    gallery = _load_script("gallery")
    demo = build_parser().parse_args(["demo"])
    assert gallery.default_model() == demo.model
    h, w = 60, 80
    rgb = np.full((h, w, 3), 128, np.uint8)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    r2 = ((xx - 40) / 20) ** 2 + ((yy - 30) / 25) ** 2
    depth = np.where(r2 < 1, 1000.0 - 80.0 * np.sqrt(np.clip(1 - r2, 0, None)), np.nan)
    row = gallery.gallery_image(rgb, depth, (15, 0, 50, 60))
    assert row.shape[0] == gallery.TILE and row.shape[2] == 3 and row.dtype == np.uint8
    # the front relief tile (the third) is shaded: several grey levels, some background
    tile_w = round(50 * gallery.TILE / 60)
    start = 2 * 6 + round(w * gallery.TILE / h) + tile_w
    relief = row[:, start : start + tile_w]
    assert (relief == 255).all(axis=2).any()
    assert len(np.unique(relief[(relief != 255).any(axis=2)][:, 0])) > 10
