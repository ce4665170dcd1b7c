"""Face mode: detection, the crop window, crop -> predict -> paste, and ``--face`` on the CLI.

The paste-back geometry is checked with a fake predictor whose "depth" is the code of
each pixel's position in the photo, so a depth pasted one pixel off shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from rgb2depth import Predictor
from rgb2depth.cli.main import main
from rgb2depth.data.face_detection import (
    FACE_MARGIN,
    FACE_RAISE,
    CropWindow,
    FaceBox,
    crop_window,
    detect_faces,
    drop_weak_neighbours,
    face_window,
)
from rgb2depth.data.io import read_depth
from rgb2depth.inference.faces import NoFaceError, predict_faces


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut()


class CodePredictor:
    """A fake predictor: depth = R + 256 G of its input, at the input's own size."""

    def __init__(self, input_size: tuple[int, int] = (64, 64)) -> None:
        self.input_size = input_size
        self.calls: list[tuple[int, int]] = []

    def predict(self, rgb: np.ndarray, *, tta: str | None = None) -> np.ndarray:
        self.calls.append(rgb.shape[:2])
        return rgb[..., 0].astype(np.float32) + 256.0 * rgb[..., 1].astype(np.float32)


class ConstantPredictor:
    """A fake predictor that answers its n-th call with the constant 100 n."""

    input_size = (32, 32)

    def __init__(self) -> None:
        self.n = 0

    def predict(self, rgb: np.ndarray, *, tta: str | None = None) -> np.ndarray:
        self.n += 1
        return np.full(rgb.shape[:2], 100.0 * self.n, np.float32)


def coded_image(h: int, w: int) -> np.ndarray:
    """R = column, G = row: each pixel's code R + 256 G is its position."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx, yy, np.zeros_like(xx)], axis=-1).astype(np.uint8)


# ------------------------------------------------------------------------- detection
def test_detects_the_astronaut_once_at_her_face(astronaut: np.ndarray) -> None:
    boxes = detect_faces(astronaut)
    assert len(boxes) == 1
    (box,) = boxes
    cx, cy = box.centre
    # her face is in the upper middle of the 512 x 512 photo, about 100 pixels wide
    assert 190 < cx < 260 and 80 < cy < 150, box
    assert 60 < box.w < 140 and box.kind == "frontal", box
    assert detect_faces(astronaut) == boxes  # deterministic


def test_two_faces_side_by_side_left_to_right(astronaut: np.ndarray) -> None:
    pair = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    boxes = detect_faces(pair)
    assert len(boxes) == 2
    assert boxes[0].centre[0] < 512 < boxes[1].centre[0]
    # the mirrored face is found at the mirrored place, within a few pixels
    assert abs((1024 - boxes[1].centre[0]) - boxes[0].centre[0]) < 12
    result = predict_faces(ConstantPredictor(), pair)
    values = np.unique(result.depth[result.valid])
    assert values.tolist() == [100.0, 200.0]  # two regions, one per face
    left, right = (result.depth == v for v in values)
    assert left[:, 512:].sum() == 0 and right[:, :512].sum() == 0


def test_a_weak_box_inside_a_strong_faces_window_is_dropped() -> None:
    strong = FaceBox(100, 100, 100, 100, "frontal", 30)
    win = face_window(strong)  # 180 px square around (150, 140): y from 50 to 230
    below = FaceBox(120, 190, 60, 60, "frontal", 9)  # centre (150, 220): inside the window
    assert win.top + win.height == 230
    far = FaceBox(400, 100, 60, 60, "frontal", 9)  # outside any window
    assert drop_weak_neighbours([below, strong, far]) == [strong, far]
    # as strong (not twice as strong): a real neighbour, kept
    near_equal = FaceBox(120, 190, 60, 60, "frontal", 16)
    assert drop_weak_neighbours([strong, near_equal]) == [strong, near_equal]
    assert drop_weak_neighbours([strong, near_equal], ratio=1.5) == [strong]
    # just outside the window's bottom edge: kept
    edge = win.top + win.height
    outside = FaceBox(120, edge - 30 + 0.5, 60, 60, "frontal", 1)
    assert drop_weak_neighbours([strong, outside]) == [strong, outside]
    # given boxes (score 0) never drop each other
    given = [FaceBox(100, 100, 100, 100), FaceBox(120, 190, 60, 60)]
    assert drop_weak_neighbours(given) == given
    # nor does a detected face drop a given one
    assert drop_weak_neighbours([strong, given[1]]) == [strong, given[1]]


def test_a_portrait_with_a_false_face_on_the_collar_gives_one_face() -> None:
    # a gallery photo (public domain) where the frontal cascade also fires, weakly, on
    # the collar beside the chin: 2 boxes before the weak-neighbour rule
    path = Path(__file__).parents[1] / "docs" / "gallery" / "photos" / "congress_B000911.jpg"
    rgb = np.asarray(Image.open(path).convert("RGB"))
    boxes = detect_faces(rgb)
    assert len(boxes) == 1, boxes
    (box,) = boxes
    assert 80 < box.centre[0] < 120 and 120 < box.centre[1] < 160, box


def test_count_faces_script_shows_the_rule(tmp_path: Path, capsys) -> None:
    import importlib.util

    script = Path(__file__).parents[1] / "scripts" / "count_faces.py"
    spec = importlib.util.spec_from_file_location("_script_count_faces", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    photos = Path(__file__).parents[1] / "docs" / "gallery" / "photos"
    for name in ("congress_B000911.jpg", "astronaut.jpg"):
        (tmp_path / name).write_bytes((photos / name).read_bytes())
    noise = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "wall.png")
    assert module.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| detect_faces (weak ratio 2) | 1 | 2 | 0 |" in out
    assert "| cascade boxes, merged, no weak rule | 1 | 1 | 1 |" in out
    assert module.main([str(tmp_path), "--every", "0"]) == 2
    assert "--every must be at least 1" in capsys.readouterr().err


def test_no_face_is_a_clear_error(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    assert detect_faces(noise) == []
    path = tmp_path / "wall.png"
    Image.fromarray(noise).save(path)
    with pytest.raises(NoFaceError, match=r"wall\.png: no face found \(80x60\)"):
        predict_faces(CodePredictor(), path)


def test_detect_refuses_what_is_not_an_image() -> None:
    with pytest.raises(ValueError, match="uint8"):
        detect_faces(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        detect_faces(np.zeros((32, 32, 2), np.uint8))


# ------------------------------------------------------------------------- window
@pytest.mark.parametrize("aspect", [1.0, 4 / 3, 0.75])
def test_window_margin_aspect_and_centre(aspect: float) -> None:
    box = FaceBox(40.0, 30.0, 50.0, 50.0)
    win = face_window(box, aspect=aspect)
    short = min(win.width, win.height)
    assert short == pytest.approx((1 + 2 * FACE_MARGIN) * 50.0)
    assert win.width / win.height == pytest.approx(aspect)
    assert win.left + win.width / 2 == pytest.approx(65.0)
    assert win.top + win.height / 2 == pytest.approx(55.0 - FACE_RAISE * 50.0)
    px = face_window(FaceBox(40.3, 30.6, 50.2, 50.2)).pixels()
    assert px.width == px.height and float(px.left).is_integer()


def test_crop_reflects_beyond_the_edges_as_numpy_pad() -> None:
    img = coded_image(7, 9)
    win = CropWindow(-5, -3, 20, 16)
    padded = np.pad(img, ((3, 16 - 3 - 7), (5, 20 - 5 - 9), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(crop_window(img, win), padded)
    far = CropWindow(-30, 2, 8, 3)  # more than a whole image beyond the edge
    np.testing.assert_array_equal(
        crop_window(img, far), np.pad(img, ((0, 0), (30, 0), (0, 0)), mode="reflect")[2:5, :8]
    )


# ------------------------------------------------------------------------- paste back
@pytest.mark.parametrize(
    "box",
    [
        FaceBox(60.0, 40.0, 20.0, 20.0),  # inside
        FaceBox(-6.0, -4.0, 24.0, 24.0),  # over the top-left corner
        FaceBox(140.0, 100.0, 30.0, 30.0),  # over the bottom-right corner
        FaceBox(-40.0, 50.0, 60.0, 60.0),  # wider than the image's edge band
    ],
    ids=["inside", "top-left", "bottom-right", "left"],
)
def test_paste_back_is_exact(box: FaceBox) -> None:
    h, w = 120, 160
    img = coded_image(h, w)
    fake = CodePredictor()
    result = predict_faces(fake, img, faces=[box])
    (win,) = result.windows
    assert win == face_window(box).pixels()
    expected = np.full((h, w), np.nan, np.float32)
    top, left = int(win.top), int(win.left)
    r0, r1 = max(0, top), min(h, top + int(win.height))
    c0, c1 = max(0, left), min(w, left + int(win.width))
    expected[r0:r1, c0:c1] = img[r0:r1, c0:c1, 0] + 256.0 * img[r0:r1, c0:c1, 1]
    np.testing.assert_array_equal(result.depth, expected)
    assert fake.calls == [(int(win.height), int(win.width))]


def test_window_at_the_models_aspect() -> None:
    fake = CodePredictor(input_size=(48, 64))
    result = predict_faces(fake, coded_image(120, 160), faces=[FaceBox(60.0, 40.0, 30.0, 30.0)])
    (win,) = result.windows
    assert (win.width, win.height) == (72, 54)  # 1.8 box sides high, 4:3


def test_overlapping_faces_nearest_box_centre_wins() -> None:
    img = coded_image(100, 160)
    a, b = FaceBox(30.0, 30.0, 40.0, 40.0), FaceBox(80.0, 40.0, 20.0, 20.0)
    result = predict_faces(ConstantPredictor(), img, faces=[a, b])
    d = result.depth
    assert d[50, 50] == 100.0  # a's centre
    assert d[50, 90] == 200.0  # b's centre
    # between them: a's distance is measured in a's (larger) box sides
    assert d[50, 75] == 100.0  # 25 px from a (0.625 sides), 15 px from b (0.75 sides)
    assert d[50, 80] == 200.0  # 30 px from a (0.75 sides), 10 px from b (0.5 sides)
    assert np.isnan(d[0, 159]) and np.isfinite(d).sum() > 0


def test_bundled_model_in_face_mode(astronaut: np.ndarray) -> None:
    predictor = Predictor.from_pretrained("faces-light", device="cpu")
    result = predictor.predict_faces(astronaut[::2, ::2])
    assert result.depth.shape == (256, 256) and result.depth.dtype == np.float32
    assert len(result.faces) == 1
    (win,) = result.windows
    inside = np.zeros((256, 256), bool)
    inside[
        max(0, int(win.top)) : int(win.top + win.height),
        max(0, int(win.left)) : int(win.left + win.width),
    ] = True
    np.testing.assert_array_equal(result.valid, inside)
    lo, hi = predictor.depth_range
    assert lo <= result.depth[inside].min() and result.depth[inside].max() <= hi


# ------------------------------------------------------------------------- CLI
def test_cli_predict_face(tmp_path: Path, astronaut: np.ndarray, capsys) -> None:
    Image.fromarray(astronaut[::2, ::2]).save(tmp_path / "astro.png")
    noise = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "wall.png")
    out = tmp_path / "out"
    argv = ["predict", str(tmp_path / "astro.png"), str(tmp_path / "wall.png")]
    code = main([*argv, "--face", "--npy", "--quiet", "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "wall.png: no face found" in err and "1 of 2 input(s) failed" in err
    assert sorted(p.name for p in out.iterdir()) == [
        "astro_depth.json",
        "astro_depth.npy",
        "astro_depth.png",
        "astro_depth_color.png",
    ]
    meta = json.loads((out / "astro_depth.json").read_text(encoding="utf-8"))
    assert meta["size"] == [256, 256] and len(meta["faces"]) == 1
    left, top, width, height = meta["faces"][0]["window"]
    npy = np.load(out / "astro_depth.npy")
    png, valid = read_depth(
        out / "astro_depth.png", png_scale=meta["scale"], png_offset=meta["offset"]
    )
    assert npy.shape == png.shape == (256, 256)
    inside = np.zeros((256, 256), bool)
    inside[max(0, int(top)) : int(top + height), max(0, int(left)) : int(left + width)] = True
    np.testing.assert_array_equal(np.isfinite(npy), inside)
    np.testing.assert_array_equal(valid, inside)  # count 0 outside the face's window
    np.testing.assert_allclose(png[inside], npy[inside], atol=meta["scale"])
    color = np.asarray(Image.open(out / "astro_depth_color.png"))
    assert color[~inside].max() == 0 and color[inside].max() > 0


def test_cli_demo_face(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--face", "--out", str(tmp_path / "demo")]) == 0
    stdout = capsys.readouterr().out
    assert "astronaut: 1 face(s): frontal" in stdout
    npy = np.load(tmp_path / "demo" / "astronaut_depth.npy")
    assert npy.shape == (512, 512) and 0 < np.isfinite(npy).mean() < 0.5
