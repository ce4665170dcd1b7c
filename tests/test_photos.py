"""Photos as cameras write them: EXIF orientation, any aspect ratio, many megapixels,
and several inputs of which some are bad.

The images are real files written by PIL (JPEG with an EXIF orientation tag, PNG).
The networks are stubs whose output is known, so that geometry can be checked exactly:
``mean`` returns the mean of the RGB channels (depth follows brightness), ``rows``
returns the row coordinate of the network's input (-1 at its top row, 1 at its bottom);
both record the input they were given.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rgb2depth import Predictor
from rgb2depth.cli.main import main
from rgb2depth.data.io import read_rgb

RANGE = (500.0, 1800.0)
ORIENTATION = 0x0112


class Stub(torch.nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.seen: torch.Tensor | None = None
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the module a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = x.detach().cpu().clone()
        if self.kind == "mean":
            return x.mean(1, keepdim=True) + self.anchor
        b, _, h, w = x.shape
        rows = torch.linspace(-1.0, 1.0, h, device=x.device).view(1, 1, h, 1)
        return rows.expand(b, 1, h, w) + self.anchor


def stub_predictor(kind: str, size: tuple[int, int] = (32, 32)) -> Predictor:
    config = {"depth": {"units": "mm", "range": list(RANGE)}, "input": {"size": list(size)}}
    return Predictor(Stub(kind), config, device="cpu", source=f"stub-{kind}")


def to_depth(model_value: float) -> float:
    lo, hi = RANGE
    return (model_value + 1.0) / 2.0 * (hi - lo) + lo


def save_jpeg_with_orientation(path: Path, stored: np.ndarray, orientation: int) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    Image.fromarray(stored).save(path, format="JPEG", quality=95, exif=exif.tobytes())


@pytest.fixture
def portrait_jpeg(tmp_path: Path) -> Path:
    """A phone's portrait photo: stored 40 wide x 20 high, black left and white right,
    with EXIF orientation 6 (rotate 90 degrees clockwise to display): displayed 20 wide
    x 40 high, black on top and white below."""
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, 20:] = 255
    path = tmp_path / "portrait.jpg"
    save_jpeg_with_orientation(path, stored, 6)
    assert Image.open(path).size == (40, 20)  # as stored
    return path


# ---------------------------------------------------------------- EXIF orientation


def test_read_rgb_applies_exif_orientation(portrait_jpeg: Path) -> None:
    rgb = read_rgb(portrait_jpeg)
    assert rgb.shape == (40, 20, 3)  # displayed: 20 wide, 40 high
    assert rgb[:18].max() < 40 and rgb[22:].min() > 215  # black on top, white below


@pytest.mark.parametrize("orientation", [3, 5, 6, 7, 8])
def test_read_rgb_matches_pillow_for_every_orientation(tmp_path: Path, orientation: int) -> None:
    from PIL import ImageOps

    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 256, (12, 18, 3), dtype=np.uint8)
    path = tmp_path / "o.jpg"
    save_jpeg_with_orientation(path, stored, orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    np.testing.assert_array_equal(read_rgb(path), expected)
    assert read_rgb(path).shape[:2] == ((18, 12) if orientation >= 5 else (12, 18))


def test_predict_depth_is_upright(portrait_jpeg: Path) -> None:
    predictor = stub_predictor("mean")
    depth = predictor.predict(portrait_jpeg)
    assert depth.shape == (40, 20)  # the displayed size, not the stored 20 x 40
    assert depth[:16].max() < to_depth(-0.7)  # dark on top: near
    assert depth[24:].min() > to_depth(0.7)  # bright below: far
    # the same as predicting the upright pixels
    np.testing.assert_array_equal(depth, predictor.predict(read_rgb(portrait_jpeg)))


def test_dataset_reads_rgb_upright(planes_dataset: Path) -> None:
    """A dataset's JPEG with an orientation tag pairs with depth of its displayed size."""
    from rgb2depth.data import PairedDepthDataset

    rgb_dir = planes_dataset / "test" / "rgb"
    first = sorted(rgb_dir.iterdir())[0]
    upright = np.asarray(Image.open(first).convert("RGB"))  # 24 x 32, like its depth
    first.unlink()
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # displayed after 90 deg clockwise
    save_jpeg_with_orientation(rgb_dir / f"{first.stem}.jpg", stored, 6)
    sample = PairedDepthDataset(planes_dataset, "test")[0]
    assert tuple(sample["rgb"].shape[-2:]) == tuple(sample["depth"].shape[-2:]) == (24, 32)


# ---------------------------------------------------------------- aspect ratio


def disc_photo(h: int, w: int, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2 <= radius**2
    img = np.full((h, w, 3), 255, np.uint8)
    img[disc] = 0
    return img


@pytest.mark.parametrize(("h", "w"), [(48, 64), (64, 48)])  # 4:3 landscape and portrait
def test_letterbox_keeps_the_aspect_ratio(tmp_path: Path, h: int, w: int) -> None:
    path = tmp_path / "disc.png"
    Image.fromarray(disc_photo(h, w, radius=10)).save(path)
    predictor = stub_predictor("rows")
    depth = predictor.predict(path)
    assert depth.shape == (h, w) and depth.dtype == np.float32

    # the network saw a circle, not an ellipse: the disc is as wide as it is high
    seen = predictor.model.seen[0, 0].numpy()  # (32, 32) in [-1, 1]
    dark = seen < 0
    rows, cols = np.flatnonzero(dark.any(1)), np.flatnonzero(dark.any(0))
    assert abs(len(rows) - len(cols)) <= 1, (len(rows), len(cols))
    assert 9 <= len(rows) <= 12  # radius 10 at a scale of 32/64
    # the padding (4 rows or columns each side) mirrors the image, it is not black
    if h < w:
        np.testing.assert_array_equal(seen[:4], seen[8:4:-1])
        np.testing.assert_array_equal(seen[28:], seen[26:22:-1])
    else:
        np.testing.assert_array_equal(seen[:, :4], seen[:, 8:4:-1])
    assert (seen[:4, :4] > 0.9).all()  # white, as the photo's corner

    # the padding is cropped off the prediction: the photo's top row is the
    # network's row 4 (of 0..31) when padded above and below, row 0 otherwise
    ramp = np.linspace(-1.0, 1.0, 32)
    first, last = (4, 27) if h < w else (0, 31)
    assert depth[0, 0] == pytest.approx(to_depth(ramp[first]), abs=1e-3)
    assert depth[-1, -1] == pytest.approx(to_depth(ramp[last]), abs=1e-3)


def test_letterbox_of_an_array_and_a_pil_image_agree() -> None:
    predictor = stub_predictor("mean", size=(16, 24))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (30, 17, 3), dtype=np.uint8)
    a = predictor.predict(img)
    b = predictor.predict(Image.fromarray(img))
    assert a.shape == (30, 17)
    np.testing.assert_array_equal(a, b)
    # an image already at the network's size is not resampled at all
    same = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    expected = to_depth(-1.0) + same.mean(-1) / 255.0 * (RANGE[1] - RANGE[0])
    np.testing.assert_allclose(predictor.predict(same), expected, rtol=1e-5)


# ---------------------------------------------------------------- memory


def test_memory_follows_the_network_not_the_photo(tmp_path: Path) -> None:
    """Predicting a 4000 x 3000 JPEG with a 32 x 32 network allocates (numpy, Python)
    less than a quarter of one float32 map at the photo's size.

    The image is decoded at reduced scale and shrunk as 8-bit before any float copy; the
    depth returned is the one full-size array (allocated by torch, which tracemalloc
    does not see). The code before this test read the whole photo into numpy and copied
    the depth once more: 84 MB traced here.
    """
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    path = tmp_path / "big.jpg"
    Image.fromarray(small).resize((4000, 3000), Image.NEAREST).save(path, quality=80)
    predictor = stub_predictor("mean")
    predictor.predict(path)  # warm up (imports, first-call caches)
    tracemalloc.start()
    try:
        depth = predictor.predict(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert depth.shape == (3000, 4000) and depth.dtype == np.float32
    one_map = 3000 * 4000 * 4
    assert peak < one_map / 4, f"traced peak {peak / 1e6:.1f} MB"
    assert predictor.model.seen.shape[-2:] == (32, 32)


def _vm(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak RSS reset")
def test_peak_resident_memory_of_a_large_photo(tmp_path: Path) -> None:
    """The process's peak resident memory while predicting a 4000 x 3000 JPEG grows by
    less than twice the depth map returned (48 MB); before, by about 6 times."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    path = tmp_path / "big.jpg"
    Image.fromarray(small).resize((4000, 3000), Image.NEAREST).save(path, quality=80)
    predictor = stub_predictor("mean")
    predictor.predict(path)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current resident size
    except OSError:
        pytest.skip("cannot reset the peak resident size here")
    before = _vm("VmRSS")
    depth = predictor.predict(path)
    grown = _vm("VmHWM") - before
    assert depth.shape == (3000, 4000)
    assert grown < 2 * depth.nbytes, f"peak RSS grew by {grown / 1e6:.0f} MB"


# ---------------------------------------------------------------- several inputs


def test_predict_reports_every_bad_input_and_predicts_the_rest(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "c"):
        Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(
            folder / f"{name}.png"
        )
    (folder / "b.png").write_bytes(b"not an image at all")
    (folder / "d.jpg").write_bytes((folder / "a.png").read_bytes()[:60])  # truncated
    stub = stub_predictor("mean")
    monkeypatch.setattr(Predictor, "from_pretrained", classmethod(lambda cls, *a, **k: stub))
    out = tmp_path / "out"
    inputs = [tmp_path / "nope.png", *(folder / n for n in ("a.png", "b.png", "c.png", "d.jpg"))]
    code = main(["predict", *map(str, inputs), "--out", str(out), "--quiet"])
    stdout, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(line.startswith("rgb2depth predict: error: ") for line in lines), lines
    assert len(lines) == 4, lines  # one per bad input, then the summary
    assert "nope.png" in lines[0] and "input not found" in lines[0]
    assert "b.png" in lines[1] and "not an image" in lines[1]
    assert "d.jpg" in lines[2]
    assert "3 of 5 input(s) failed" in lines[3] and "2 succeeded" in lines[3]
    assert "wrote depth for 2 image(s)" in stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{s}_depth{x}" for s in "ac" for x in (".json", ".png", "_color.png")]
    for s in "ac":
        assert np.asarray(Image.open(out / f"{s}_depth.png")).shape == (20, 30)


def test_predict_all_good_inputs_exit_zero(tmp_path: Path, capsys, monkeypatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.full((8, 10, 3), 100, np.uint8)).save(folder / f"{name}.png")
    stub = stub_predictor("mean")
    monkeypatch.setattr(Predictor, "from_pretrained", classmethod(lambda cls, *a, **k: stub))
    out = tmp_path / "out"
    code = main(["predict", str(folder), "--out", str(out), "--quiet"])
    stdout, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "wrote depth for 2 image(s)" in stdout
    assert len(list(out.iterdir())) == 6


def test_a_failed_write_leaves_no_partial_set(tmp_path: Path, monkeypatch) -> None:
    """write_depth_outputs writes all of an image's files or none."""
    import rgb2depth.inference.outputs as outputs

    predictor = stub_predictor("mean")
    calls = {"n": 0}
    real = outputs.save_png

    def second_fails(path, array, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, array, **kwargs)

    monkeypatch.setattr(outputs, "save_png", second_fails)
    out = tmp_path / "out"
    out.mkdir()
    depth = np.full((6, 8), 1000.0, np.float32)
    with pytest.raises(OSError):
        outputs.write_depth_outputs(out, "x", depth, predictor)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("n_bad", [1, 2])
def test_predict_with_only_bad_inputs_creates_no_folder(
    tmp_path: Path, capsys, monkeypatch, n_bad: int
) -> None:
    stub = stub_predictor("mean")
    monkeypatch.setattr(Predictor, "from_pretrained", classmethod(lambda cls, *a, **k: stub))
    bad = []
    for i in range(n_bad):
        bad.append(tmp_path / f"bad{i}.png")
        bad[-1].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG header, then nothing
    out = tmp_path / "deeper" / "out"
    code = main(["predict", *map(str, bad), "--out", str(out), "--quiet"])
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == (1 if n_bad == 1 else n_bad + 1), err
    assert not (tmp_path / "deeper").exists()
