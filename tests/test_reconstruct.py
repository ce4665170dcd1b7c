"""From a photo to 3D: cameras, meshes per face, files, turntables, and the commands
(``rgb2depth reconstruct`` and ``predict --mesh``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from rgb2depth import Predictor
from rgb2depth.cli.main import main
from rgb2depth.data.face_detection import CropWindow
from rgb2depth.geometry import Intrinsics
from rgb2depth.inference.reconstruct import (
    DEFAULT_FOV_DEG,
    image_cameras,
    mesh_from_depth,
    reconstruct,
    render_views,
)


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_pretrained("faces-light", device="cpu")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small photo of a face (the astronaut at half size) and one without a face."""
    root = tmp_path_factory.mktemp("photos")
    Image.fromarray(skdata.astronaut()[::2, ::2]).save(root / "astro.png")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(root / "wall.png")
    return root


class _Fake:
    """What image_cameras needs of a Predictor."""

    def __init__(self, config: dict, input_size: tuple[int, int] = (64, 64)) -> None:
        self.config = config | {"input": {"size": list(input_size)}}
        self.input_size = input_size


def test_cameras_given_fov_model_and_default() -> None:
    faces = _Fake({"trained": {"dataset_kind": "faces"}})
    k = Intrinsics(100.0, 100.0, 20.0, 15.0)
    assert image_cameras(faces, (30, 40), intrinsics=k)[0] == [k]
    (fov,), source = image_cameras(faces, (30, 40), fov=90.0)
    assert fov.fx == pytest.approx(20.0) and "90° across the width" in source
    # the model's camera: 35° across the shorter side of the (square) input, which a
    # 30 x 40 photo fills across its width
    (cam,), source = image_cameras(faces, (30, 40))
    assert cam.fx == pytest.approx(20.0 / math.tan(math.radians(17.5)))
    assert (cam.cx, cam.cy) == pytest.approx((20.0, 15.0)) and "faces" in source
    (default,), source = image_cameras(_Fake({}), (30, 40))
    assert default == Intrinsics.from_fov(30, 40, DEFAULT_FOV_DEG) and "unknown" in source


def test_face_mode_gives_each_window_its_camera() -> None:
    faces = _Fake({"trained": {"dataset_kind": "faces"}}, input_size=(48, 64))
    windows = [CropWindow(-10, 20, 64, 48), CropWindow(100, 5, 32, 24)]
    cams, source = image_cameras(faces, (120, 200), windows=windows)
    assert len(cams) == 2 and "crop window" in source
    for cam, win in zip(cams, windows, strict=True):
        # 35° across the window's shorter side, the principal point at its centre
        f = 0.5 * win.height / math.tan(math.radians(17.5))
        assert cam.fx == pytest.approx(f) and cam.fy == pytest.approx(f)
        assert cam.cx == pytest.approx(win.left + win.width / 2)
        assert cam.cy == pytest.approx(win.top + win.height / 2)
    # a camera the user gives is the photo's: every face uses it
    k = Intrinsics(300.0, 300.0, 100.0, 60.0)
    assert image_cameras(faces, (120, 200), windows=windows, intrinsics=k)[0] == [k, k]


def test_each_face_is_meshed_with_its_own_camera() -> None:
    h, w = 20, 40
    depth = np.full((h, w), 500.0)
    depth[:, 18:22] = np.nan
    owner = np.where(np.arange(w) < 20, 0, 1).astype(np.int16)[None, :].repeat(h, axis=0)
    owner[:, 18:22] = -1
    a, b = Intrinsics(50.0, 50.0, 10.0, 10.0), Intrinsics(80.0, 80.0, 30.0, 10.0)
    mesh, step = mesh_from_depth(depth, None, [a, b], owner=owner)
    assert step == 1
    assert len(mesh.vertices) == h * 18 * 2 and len(mesh.faces) == 2 * (h - 1) * 17 * 2
    cols = mesh.pixels % w
    left = cols < 20
    np.testing.assert_allclose(mesh.vertices[left, 0], (cols[left] + 0.5 - 10.0) / 50.0 * 500.0)
    np.testing.assert_allclose(mesh.vertices[~left, 0], (cols[~left] + 0.5 - 30.0) / 80.0 * 500.0)
    # no triangle joins the two faces
    side = left[np.searchsorted(np.arange(len(left)), mesh.faces)]
    assert (side.all(axis=1) | ~side.any(axis=1)).all()
    with pytest.raises(ValueError, match="unknown mesh 'voxels'"):
        mesh_from_depth(depth, None, [a], mesh="voxels")


def test_the_grid_step_keeps_big_photos_light() -> None:
    depth = np.full((600, 1100), 2.0)
    mesh, step = mesh_from_depth(depth, None, [Intrinsics.from_fov(600, 1100, 60.0)])
    assert step == 3 and len(mesh.vertices) == 200 * 367


def test_reconstruct_a_face_and_render_its_turntable(predictor: Predictor, photos: Path) -> None:
    rec = reconstruct(predictor, photos / "astro.png", face=True)
    assert rec.units == "mm" and rec.depth.shape == (256, 256) and len(rec.cameras) == 1
    assert rec.owner is not None and set(np.unique(rec.owner)) == {-1, 0}
    assert len(rec.mesh.faces) > 1000 and rec.mesh.colors is not None
    # the mesh lies where the face's depth is, within the model's range
    lo, hi = predictor.depth_range
    z = rec.mesh.vertices[:, 2]
    assert lo <= z.min() and z.max() <= hi
    frames = render_views(rec, 3, size=48)
    assert len(frames) == 3 and max(frames[0].shape[:2]) == 48
    assert (frames[0] != 255).any(axis=2).mean() > 0.5  # the face fills the view


def test_cli_reconstruct_end_to_end(photos: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    argv = ["reconstruct", str(photos / "astro.png"), str(photos / "wall.png")]
    argv += ["--model", "faces-light", "--face", "--views", "3", "--gif", "--view-size", "40"]
    code = main([*argv, "--format", "ply", "--quiet", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2  # wall.png has no face: reported, astro.png still done
    assert "wall.png: no face found" in captured.err and "1 of 2 input(s) failed" in captured.err
    assert "meshes of 1 image(s)" in captured.out
    names = sorted(p.name for p in out.iterdir())
    views = [f"astro_view_{i:02d}.png" for i in range(3)]
    assert names == sorted(["astro_mesh.ply", "astro_mesh.json", "astro_turntable.gif", *views])
    meta = json.loads((out / "astro_mesh.json").read_text(encoding="utf-8"))
    assert meta["units"] == "mm" and meta["mesh"] == "grid" and len(meta["faces"]) == 1
    assert meta["views"]["count"] == 3 and len(meta["intrinsics"]) == 1
    trimesh = pytest.importorskip("trimesh")
    ply = trimesh.load(out / "astro_mesh.ply", process=False, force="mesh")
    assert len(ply.vertices) == meta["vertices"] and len(ply.faces) == meta["triangles"]
    with Image.open(out / "astro_turntable.gif") as gif:
        assert gif.n_frames == 3 and max(gif.size) == 40


def test_cli_reconstruct_whole_image_with_given_intrinsics(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["reconstruct", str(photos / "wall.png"), "--model", "faces-light", "--no-face"]
    argv += ["--intrinsics", "50,50,20,15", "--max-jump", "100"]  # keep every triangle
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    meta = json.loads((out / "wall_mesh.json").read_text(encoding="utf-8"))
    assert meta["intrinsics"] == [{"fx": 50.0, "fy": 50.0, "cx": 20.0, "cy": 15.0}]
    assert meta["units"] == "m"  # GLB: metres
    assert meta["vertices"] == 30 * 40 and meta["triangles"] == 2 * 29 * 39
    assert (out / "wall_mesh.glb").is_file()


def test_cli_predict_with_a_mesh(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["predict", str(photos / "wall.png"), "--model", "faces-light", "--no-face"]
    assert main([*argv, "--mesh", "grid", "--format", "obj", "--quiet", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "wall_mesh.obj" in names and "wall_mesh.json" in names and "wall_depth.png" in names


@pytest.mark.parametrize(
    "option, message",
    [
        ("500,500,20", "four numbers fx,fy,cx,cy (pixels), got '500,500,20'"),
        ("1,2,3,x", "four numbers"),
        ("0,5,1,1", "focal lengths must be > 0"),
        ("inf,5,1,1", "finite"),
    ],
)
def test_cli_bad_intrinsics(option: str, message: str, tmp_path: Path, capsys) -> None:
    argv = ["reconstruct", "x.png", "--intrinsics", option, "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and message in err[0]
    assert err[0].startswith("rgb2depth reconstruct: error: argument --intrinsics")
    assert not (tmp_path / "o").exists()


def test_cli_poisson_without_its_extra(monkeypatch, photos: Path, tmp_path: Path, capsys) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pymeshlab", None)  # as if not installed
    out = tmp_path / "o"
    for command in ("reconstruct", "predict"):
        argv = [command, str(photos / "wall.png"), "--model", "faces-light", "--mesh", "poisson"]
        assert main([*argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "pip install 'rgb2depth[mesh]'" in err[0], err
        assert err[0].startswith(f"rgb2depth {command}: error: --mesh poisson")
    assert not out.exists()


def test_cli_reconstruct_poisson(photos: Path, tmp_path: Path) -> None:
    pytest.importorskip("pymeshlab")
    out = tmp_path / "out"
    argv = ["reconstruct", str(photos / "wall.png"), "--model", "faces-light", "--no-face"]
    assert main([*argv, "--mesh", "poisson", "--quiet", "--out", str(out)]) == 0
    meta = json.loads((out / "wall_mesh.json").read_text(encoding="utf-8"))
    assert meta["mesh"] == "poisson" and meta["triangles"] > 100
