"""scripts/crop_faces.py: face crops of real photos as face mode frames them.

A real photograph (scikit-image's astronaut, bundled with it) must give the crop that
face mode's detector and window cut (reflected beyond the photo), scaled as the
Predictor scales its input; a photo without a face is listed and skipped; the
``--every`` selection is scripts/face_proxy_eval.py's and ``--skip-every`` its
complement; the folder is written whole or refused in one line.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from rgb2depth.data.face_detection import crop_window, detect_faces, face_window

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_script_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def astronaut() -> np.ndarray:
    """scikit-image's astronaut with its top 50 rows cut: the face's window then reaches
    above the photo."""
    return np.ascontiguousarray(skdata.astronaut()[50:])


@pytest.fixture(scope="module")
def crop_faces() -> ModuleType:
    return load("crop_faces")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The astronaut (a face near the top edge), a flat gray picture (no face) and a
    photo in a sub-folder (not read: the folder's own photos only)."""
    folder = tmp_path_factory.mktemp("crops") / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(astronaut()).save(folder / "astronaut.png")
    Image.fromarray(np.full((60, 50, 3), 128, np.uint8)).save(folder / "flat.jpg")
    Image.fromarray(skdata.astronaut()).save(folder / "sub" / "inner.png")
    return folder


def test_crops_are_face_modes_windows(crop_faces: ModuleType, photos: Path, tmp_path: Path):
    out = tmp_path / "crops"
    assert crop_faces.main([str(photos), "--out", str(out), "--size", "64", "--quiet"]) == 0
    manifest = json.loads((out / "crops.json").read_text(encoding="utf-8"))
    assert manifest["no_face"] == ["flat.jpg"] and manifest["photos"] == 2
    rgb = astronaut()
    boxes = detect_faces(rgb)
    assert len(boxes) >= 1
    assert [c["file"] for c in manifest["crops"]] == [
        f"astronaut_face{k}.png" for k in range(len(boxes))
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["crops.json"] + [c["file"] for c in manifest["crops"]]
    )
    window = face_window(boxes[0], aspect=1.0).pixels()
    assert window.top < 0  # the window reaches beyond the photo: filled by reflection
    assert manifest["crops"][0]["window"] == window.to_json()
    want = Image.fromarray(crop_window(rgb, window)).resize((64, 64), Image.Resampling.BILINEAR)
    got = np.asarray(Image.open(out / "astronaut_face0.png"))
    assert got.shape == (64, 64, 3) and np.array_equal(got, np.asarray(want))


def test_every_selects_the_proxy_evaluations_photos_and_skip_every_the_rest(
    crop_faces: ModuleType, tmp_path: Path
):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(np.full((20, 20, 3), 10 * i, np.uint8)).save(folder / f"p{7 - i}.png")
    proxy = load("face_proxy_eval")
    held = crop_faces.select(folder, 3)
    assert held == proxy.select_photos(folder, 3, 0)
    assert [p.name for p in held] == ["p0.png", "p3.png", "p6.png"]
    rest = crop_faces.select(folder, 3, skip=True)
    assert [p.name for p in rest] == ["p1.png", "p2.png", "p4.png", "p5.png", "p7.png"]
    assert [p.name for p in crop_faces.select(folder, 3, 1, skip=True)][:2] == ["p0.png", "p2.png"]
    with pytest.raises(crop_faces.Fail, match="no photo left"):
        crop_faces.select(folder, 1, skip=True)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--every", "0"], "--every must be >= 1 and --offset >= 0"),
        (["--size", "8"], "--size must be between 16 and 4096 pixels, got 8"),
        (["--every", "1", "--skip-every"], "no photo left"),
    ],
)
def test_bad_arguments_are_one_line(
    crop_faces, photos: Path, tmp_path: Path, capsys, argv, fragment
):
    out = tmp_path / "out"
    assert crop_faces.main([str(photos), "--out", str(out), "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("crop_faces: error: ") and fragment in err[0]
    assert not out.exists()


def test_an_existing_folder_is_kept_unless_overwrite(
    crop_faces, photos: Path, tmp_path: Path, capsys
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    assert crop_faces.main([str(tmp_path / "nowhere"), "--out", str(out), "--quiet"]) == 2
    assert "photo folder not found" in capsys.readouterr().err
    assert crop_faces.main([str(photos), "--out", str(out), "--quiet", "--largest"]) == 2
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep"
    capsys.readouterr()
    argv = [str(photos), "--out", str(out), "--quiet", "--largest", "--overwrite"]
    assert crop_faces.main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["astronaut_face0.png", "crops.json"]
    assert (
        "1 face crops of 128x128 from 2 photos; no face in 1: flat.jpg" in capsys.readouterr().out
    )
