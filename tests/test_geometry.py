"""Geometry: intrinsics, back-projection, grid meshes and novel views (rgb2depth.geometry)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rgb2depth.errors import InputError
from rgb2depth.geometry import (
    Intrinsics,
    Mesh,
    backproject,
    grid_mesh,
    letterbox_intrinsics,
    merge_meshes,
    mesh_bytes,
    model_intrinsics,
    poisson_available,
    poisson_mesh,
    project,
    render_mesh,
    rotation_matrix,
    save_mesh,
    turntable,
    turntable_yaws,
    vertex_normals,
)


def test_intrinsics_from_fov():
    k = Intrinsics.from_fov(48, 64, 90.0)
    assert k.fx == pytest.approx(32.0) and k.fy == pytest.approx(32.0)
    assert (k.cx, k.cy) == (32.0, 24.0)
    assert Intrinsics.from_fov(48, 64, 90.0, axis="short").fx == pytest.approx(24.0)
    assert np.allclose(k.matrix, [[32, 0, 32], [0, 32, 24], [0, 0, 1]])
    assert Intrinsics.from_dict(k.as_dict()) == k
    assert np.allclose(k.scaled(2.0).matrix, [[64, 0, 64], [0, 64, 48], [0, 0, 1]])


def test_intrinsics_parse_crop_and_resize():
    k = Intrinsics.parse(" 500, 510.5 ,320,240 ")
    assert k == Intrinsics(500.0, 510.5, 320.0, 240.0)
    assert k.cropped(100, -20) == Intrinsics(500.0, 510.5, 220.0, 260.0)
    r = k.resized((480, 640), (240, 160))
    assert (r.fx, r.fy, r.cx, r.cy) == (125.0, 255.25, 80.0, 120.0)
    # a crop sees the same rays: a pixel of the crop and of the full image agree
    rng = np.random.default_rng(0)
    pts = rng.uniform([-1, -1, 2], [1, 1, 4], (20, 3))
    uv_full, _ = project(pts, k)
    uv_crop, _ = project(pts, k.cropped(100, -20))
    np.testing.assert_allclose(uv_crop, uv_full - [100, -20])


def test_letterbox_intrinsics_sees_the_rays_the_network_saw():
    """A pixel of a 30 x 80 image lands in a 64 x 64 input at ``(left, top) + scale * uv``;
    the network's camera there and the image's camera here give the same ray."""
    net = Intrinsics.from_fov(64, 64, 35.0, axis="short")
    k = letterbox_intrinsics(net, (64, 64), (30, 80))
    ih, iw = 24, 64  # fit_within((30, 80), (64, 64))
    top, left = (64 - ih) // 2, 0
    u, v = np.array([0.5, 40.0, 79.5]), np.array([0.5, 15.0, 29.5])
    ray_img = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy], axis=1)
    u_in, v_in = left + u * iw / 80, top + v * ih / 30
    ray_net = np.stack([(u_in - net.cx) / net.fx, (v_in - net.cy) / net.fy], axis=1)
    np.testing.assert_allclose(ray_img, ray_net, rtol=1e-12)
    # an image of the input's own shape: the network's camera, scaled
    same = letterbox_intrinsics(net, (64, 64), (128, 128))
    assert same == net.scaled(2.0)


def test_model_intrinsics_from_the_saved_config():
    faces = {"input": {"size": [48, 64]}, "trained": {"dataset_kind": "faces"}}
    assert model_intrinsics(faces) == Intrinsics.from_fov(48, 64, 35.0, axis="short")
    rooms = model_intrinsics({"input": {"size": [240, 320]}, "trained": {"dataset_kind": "rooms"}})
    assert rooms is not None and rooms.fx == pytest.approx(518.86 / 2)
    given = {"input": {"size": [8, 8], "intrinsics": {"fx": 9, "fy": 9, "cx": 4, "cy": 4}}}
    assert model_intrinsics(given) == Intrinsics(9.0, 9.0, 4.0, 4.0)
    assert model_intrinsics({"input": {"size": [8, 8]}, "trained": {"dataset_kind": "x"}}) is None
    surfaces = {"input": {"size": [8, 8]}, "trained": {"dataset_kind": "surfaces"}}
    assert model_intrinsics(surfaces) is None  # height maps: no pinhole
    assert model_intrinsics({}) is None


def test_intrinsics_from_a_datasets_metadata(tmp_path):
    import json

    from rgb2depth.data.format import DatasetInfo

    def write(root, intrinsics, rows=None):
        root.mkdir()
        info = DatasetInfo(
            name="d",
            kind="rooms",
            depth_units="m",
            depth_range=(0.5, 10.0),
            intrinsics=intrinsics,
            image_size=(240, 320),
            splits=["test"],
        )
        (root / "dataset.json").write_text(json.dumps(info.to_json()), encoding="utf-8")
        if rows is not None:
            (root / "test").mkdir()
            text = "\n".join(json.dumps(r) for r in rows) + "\n"
            (root / "test" / "meta.jsonl").write_text(text, encoding="utf-8")

    k = {"fx": 260.0, "fy": 261.0, "cx": 160.0, "cy": 120.0}
    write(tmp_path / "full", k)
    assert Intrinsics.from_dataset(tmp_path / "full") == Intrinsics(260.0, 261.0, 160.0, 120.0)
    half = Intrinsics.from_dataset(tmp_path / "full", size=(120, 160))
    assert half == Intrinsics(130.0, 130.5, 80.0, 60.0)
    # face-framed data: dataset.json has none, each sample's line of meta.jsonl has its own
    rows = [{"name": "000000", "intrinsics": k}, {"name": "000001", "intrinsics": k | {"cx": 7}}]
    write(tmp_path / "framed", None, rows)
    got = Intrinsics.from_dataset(tmp_path / "framed", split="test", sample="000001")
    assert got == Intrinsics(260.0, 261.0, 7.0, 120.0)
    with pytest.raises(InputError, match="name a split and a sample"):
        Intrinsics.from_dataset(tmp_path / "framed")
    with pytest.raises(InputError, match="no sample named '000009'"):
        Intrinsics.from_dataset(tmp_path / "framed", split="test", sample="000009")
    with pytest.raises(InputError, match=r"meta\.jsonl not found"):
        Intrinsics.from_dataset(tmp_path / "framed", split="train", sample="000000")


def test_intrinsics_from_a_generated_dataset(tmp_path):
    """The synthetic renderers and the geometry module share one camera: the rooms'
    dataset.json gives the Kinect intrinsics at the rendered size."""
    from rgb2depth.data.synthetic import generate, get_kind

    generate("rooms", tmp_path / "rooms", n=2, size=(24, 32), seed=0, progress=False)
    k = Intrinsics.from_dataset(tmp_path / "rooms")
    assert k.as_dict() == get_kind("rooms").intrinsics(24, 32)


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
        (lambda: Intrinsics.parse("500,500,20"), "four numbers fx,fy,cx,cy"),
        (lambda: Intrinsics.parse("a,b,c,d"), "four numbers"),
        (lambda: Intrinsics.parse("500,500,20,15,1"), "four numbers"),
        (lambda: Intrinsics.parse("500,-1,20,15"), "focal"),
        (lambda: Intrinsics.parse("500,500,nan,15"), "finite"),
        (lambda: turntable_yaws(0), "views"),
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


# ------------------------------------------------------------------------- meshes and files
def _colored_plane(h: int = 5, w: int = 6) -> tuple[Mesh, Intrinsics]:
    rng = np.random.default_rng(3)
    k = Intrinsics.from_fov(h, w, 60.0)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return grid_mesh(np.full((h, w), 2.0), k, rgb=rgb), k


def test_merge_meshes_reindexes_faces():
    a, _ = _colored_plane(3, 3)
    b, _ = _colored_plane(4, 2)
    m = merge_meshes([a, b])
    assert m.vertices.shape == (9 + 8, 3) and m.faces.shape == (8 + 6, 3)
    np.testing.assert_array_equal(m.faces[8:], b.faces + 9)
    np.testing.assert_array_equal(m.colors, np.concatenate([a.colors, b.colors]))
    assert merge_meshes([a, Mesh(b.vertices, b.faces, None)]).colors is None
    assert merge_meshes([]).faces.shape == (0, 3)


@pytest.mark.parametrize("fmt", ["ply", "obj", "glb"])
def test_exported_mesh_reloads_with_trimesh(tmp_path, fmt):
    trimesh = pytest.importorskip("trimesh")
    mesh, _ = _colored_plane()
    path = save_mesh(mesh, tmp_path / f"plane.{fmt}", scale=0.5)
    assert path.is_file() and not list(tmp_path.glob(".*.tmp"))
    loaded = trimesh.load(path, process=False, force="mesh")
    assert loaded.vertices.shape == mesh.vertices.shape
    assert loaded.faces.shape == mesh.faces.shape
    # y up, the camera looking down -z: a half turn about x, times the scale
    expected = mesh.vertices * [0.5, -0.5, -0.5]
    np.testing.assert_allclose(loaded.vertices, expected, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(loaded.visual.vertex_colors)[:, :3], mesh.colors)
    # the faces look at the viewer (+z, where the camera was)
    assert (loaded.face_normals[:, 2] > 0.99).all()


def test_mesh_bytes_refuses_unknown_formats_and_scales():
    mesh, _ = _colored_plane()
    with pytest.raises(ValueError, match="unknown mesh format 'stl'"):
        mesh_bytes(mesh, "stl")
    with pytest.raises(ValueError, match="scale"):
        mesh_bytes(mesh, "ply", scale=0.0)
    obj = mesh_bytes(mesh, "obj").decode()
    assert obj.count("\nv ") == len(mesh.vertices) and obj.count("\nf ") == len(mesh.faces)


def test_turntable_swings_and_loops():
    yaws = turntable_yaws(8, 20.0)
    assert (
        yaws[0] == 0.0 and yaws.max() == pytest.approx(20.0) and yaws.min() == pytest.approx(-20.0)
    )
    np.testing.assert_allclose(yaws[1:], -yaws[1:][::-1], atol=1e-12)  # left and right alike
    h, w = 16, 20
    yy, xx = np.mgrid[0:h, 0:w]
    depth = 2.0 + 0.2 * np.hypot(xx - w / 2, yy - h / 2) / w
    rgb = np.full((h, w, 3), 150, np.uint8)
    k = Intrinsics.from_fov(h, w, 50.0)
    mesh = grid_mesh(depth, k, rgb=rgb)
    frames = turntable(mesh, k, h, w, views=4, max_yaw_deg=25.0, mode="color", supersample=1)
    assert len(frames) == 4 and all(f.shape == (h, w, 3) for f in frames)
    np.testing.assert_array_equal(frames[0], render_mesh(mesh, k, h, w, mode="color").image)
    assert not np.array_equal(frames[1], frames[0])
    # views 1 and 3 turn by +25 and -25 degrees: the surface is symmetric, so they mirror
    assert np.abs(frames[1].astype(int) - frames[3][:, ::-1].astype(int)).mean() < 20


# ------------------------------------------------------------------------- Poisson
def _sphere(n: int = 2000, radius: float = 50.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    normals = rng.normal(size=(n, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    centre = np.array([0.0, 0.0, 500.0])
    colors = np.where(normals[:, :1] > 0, [200, 40, 40], [40, 40, 200]).astype(np.uint8)
    return centre + radius * normals, normals, colors, centre


def test_poisson_on_a_sphere_is_closed_and_near_the_sphere():
    pytest.importorskip("pymeshlab")
    trimesh = pytest.importorskip("trimesh")
    points, normals, colors, centre = _sphere()
    mesh = poisson_mesh(points, normals, colors, depth=6, trim=None)
    assert mesh.pixels is None and len(mesh.faces) > 1000
    closed = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    assert closed.is_watertight
    r = np.linalg.norm(mesh.vertices - centre, axis=1)
    assert np.abs(r / 50.0 - 1.0).max() < 0.02
    # our winding: vertex normals point out of the sphere (like a grid_mesh's, to its camera)
    n = vertex_normals(mesh.vertices, mesh.faces)
    assert (np.sum(n * (mesh.vertices - centre), axis=1) > 0).mean() > 0.99
    # colours follow the points: red on the +x side, blue on the -x side
    x = mesh.vertices[:, 0] - centre[0]
    assert (mesh.colors[x > 25, 0] > 150).all() and (mesh.colors[x < -25, 2] > 150).all()


def test_poisson_trims_the_back_of_a_relief():
    pytest.importorskip("pymeshlab")
    h, w = 40, 40
    k = Intrinsics.from_fov(h, w, 35.0)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    r2 = ((xx - 20) / 15) ** 2 + ((yy - 20) / 17) ** 2
    depth = np.where(r2 < 1, 600.0 - 60.0 * np.sqrt(np.clip(1 - r2, 0, None)), np.nan)
    grid = grid_mesh(depth, k)
    normals = vertex_normals(grid.vertices, grid.faces)
    closed = poisson_mesh(grid.vertices, normals, depth=6, trim=None)
    trimmed = poisson_mesh(grid.vertices, normals, depth=6)
    assert 0 < len(trimmed.faces) < 0.8 * len(closed.faces)
    # nothing is left behind the relief: every vertex is near a point of the depth map
    from scipy.spatial import cKDTree

    dist = cKDTree(grid.vertices).query(trimmed.vertices)[0]
    spacing = 600.0 / k.fx  # one pixel at the relief's depth
    assert dist.max() < 4 * spacing


def test_poisson_without_its_extra_says_which_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pymeshlab", None)  # import fails as if not installed
    assert not poisson_available()
    points, normals, _, _ = _sphere(50)
    with pytest.raises(InputError, match=r"pip install 'rgb2depth\[mesh\]'"):
        poisson_mesh(points, normals)
