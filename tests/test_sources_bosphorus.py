"""``rgb2depth convert bosphorus``: .bnt scans drawn into their photos, split by subject."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.data import PairedDepthDataset
from rgb2depth.data.format import read_info
from rgb2depth.data.sources import convert
from rgb2depth.data.sources.bosphorus import DEPTH_SPAN_MM, read_bnt, relative_depth
from rgb2depth.errors import InputError

H, W = 30, 24  # the photo
NR, NC = 16, 12  # the .bnt grid
ZMIN = -1.0e9
Z0 = -1500.0  # scanner z of the nearest grid point


def write_bnt(
    path: Path,
    planes: np.ndarray,
    *,
    zmin: float = ZMIN,
    name: str | None = None,
    count: int | None = None,
) -> None:
    """Write a .bnt exactly as the database lays it out: uint16 nrows, uint16 ncols,
    float64 zmin, uint16 len + image name, uint32 count, then 5 float64 planes, each
    row by row with the bottom row first (``planes`` is upright, (5, nrows, ncols))."""
    _, nrows, ncols = planes.shape
    name = f"{path.stem}.png" if name is None else name
    head = struct.pack("<HHdH", nrows, ncols, zmin, len(name)) + name.encode("latin-1")
    head += struct.pack("<I", 5 * nrows * ncols if count is None else count)
    path.write_bytes(head + planes[:, ::-1, :].astype("<f8").tobytes())


def pixel_xy() -> tuple[np.ndarray, np.ndarray]:
    """The photo pixel (column, row) each grid point lies on (u, v from the top)."""
    jj, ii = np.meshgrid(np.arange(NC), np.arange(NR))
    return (jj + 0.5) / NC * W - 0.5, (ii + 0.5) / NR * H - 0.5


def z_at(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Scanner z (mm): linear and asymmetric in the photo's rows and columns."""
    return Z0 - 2.0 * row - 0.75 * col


def scan_planes(*, hole: bool = True, v_bottom_up: bool = False) -> np.ndarray:
    jj, ii = np.meshgrid(np.arange(NC), np.arange(NR))
    col, row = pixel_xy()
    u = (jj + 0.5) / NC
    v = (ii + 0.5) / NR
    z = z_at(col, row)
    x, y = col * 0.5, -row * 0.5
    if hole:  # background in the grid's top-left corner
        z[:4, :4] = ZMIN
    return np.stack([x, y, z, u, 1 - v if v_bottom_up else v])


def photo(seed: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.stack([yy * 8, xx * 10, np.full_like(yy, seed)], -1).astype(np.uint8)


def make_bosphorus(
    root: Path, subjects: int = 8, scans: tuple[str, ...] = ("E_ANGER_0",), nested: bool = False
) -> Path:
    base = root / "BosphorusDB" if nested else root / "bosphorus"
    for s in range(subjects):
        folder = base / f"bs{s:03d}"
        folder.mkdir(parents=True)
        for k, scan in enumerate(scans):
            stem = f"bs{s:03d}_{scan}"
            write_bnt(folder / f"{stem}.bnt", scan_planes())
            Image.fromarray(photo(s * 10 + k)).save(folder / f"{stem}.png")
            (folder / f"{stem}.lm3").write_text("landmarks: ignored\n")
    return root if nested else base


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bosphorus")
    src = make_bosphorus(root, scans=("E_ANGER_0", "YR_R10_0"))
    out = root / "out"
    convert("bosphorus", src, out, progress=False)
    return src, out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_read_bnt_round_trip(tmp_path: Path) -> None:
    planes = scan_planes()
    write_bnt(tmp_path / "bs000_N_N_0.bnt", planes)
    scan = read_bnt(tmp_path / "bs000_N_N_0.bnt")
    for got, want in zip((scan.x, scan.y, scan.z, scan.u, scan.v), planes, strict=True):
        np.testing.assert_array_equal(got, want)
    assert scan.zmin == ZMIN and scan.image_name == "bs000_N_N_0.png"
    assert scan.valid.sum() == NR * NC - 16 and not scan.valid[:4, :4].any()


def test_split_by_subject(converted) -> None:
    _, out = converted
    info = read_info(out)
    assert (info.depth_units, info.depth_range, info.paired) == ("relative", (0.0, 1.0), True)
    assert info.splits == ["train", "test"]
    assert info.extra["counts"] == {
        "train": {"rgb": 14, "depth": 14},
        "test": {"rgb": 2, "depth": 2},
    }
    test = {r["group"] for r in rows(out / "test" / "meta.jsonl")}
    train = {r["group"] for r in rows(out / "train" / "meta.jsonl")}
    assert test == {"bs006"} and not test & train and len(train) == 7
    row = next(r for r in rows(out / "test" / "meta.jsonl") if r["name"] == "bs006_YR_R10_0")
    assert (row["class"], row["code"], row["take"], row["v_origin"]) == ("YR", "R10", 0, "top")
    assert row["z_near_mm"] == pytest.approx(
        float(z_at(*pixel_xy())[scan_planes()[2] > ZMIN].max())
    )
    groups = {g["group"]: g["split"] for g in rows(out / "groups.jsonl")}
    assert groups["bs006"] == "test" and groups["bs000"] == "train"


def expected_depth() -> tuple[np.ndarray, np.ndarray]:
    """What the photo's pixels should hold: the plane's z, and which pixels the valid
    grid cells cover (inside the grid, away from the background corner)."""
    col, row = pixel_xy()
    rr, cc = np.mgrid[0:H, 0:W].astype(float)
    z_near = z_at(col, row)[scan_planes()[2] > ZMIN].max()
    depth = 1 - (z_near - z_at(cc, rr)) / DEPTH_SPAN_MM
    inside = (cc >= col[0, 0]) & (cc <= col[0, -1]) & (rr >= row[0, 0]) & (rr <= row[-1, 0])
    return depth, inside


def test_depth_values_orientation_and_background(converted) -> None:
    src, out = converted
    info = read_info(out)
    ds = PairedDepthDataset(out, "test")
    want, inside = expected_depth()
    col, row = pixel_xy()
    for i, name in enumerate(ds.names):
        sample = ds.load(i)
        depth, mask = sample["depth"][0].numpy(), sample["mask"][0].numpy()
        assert depth.shape == (H, W)
        assert not mask[~inside].any()
        rr, cc = np.mgrid[0:H, 0:W]
        hole = (rr < row[3, 0]) & (cc < col[0, 3])
        far = (rr > row[4, 0]) | (cc > col[0, 4])
        assert not mask[hole].any()
        assert mask[inside & far].all()
        np.testing.assert_allclose(depth[mask], want[mask], atol=info.png_scale / 2 + 1e-6)
        assert (out / "test" / "rgb" / f"{name}.png").read_bytes() == (
            src / "bs006" / f"{name}.png"
        ).read_bytes()


def test_v_counted_from_the_bottom_gives_the_same_depth(tmp_path: Path) -> None:
    src = make_bosphorus(tmp_path / "a", subjects=7)
    write_bnt(src / "bs006" / "bs006_E_ANGER_0.bnt", scan_planes(v_bottom_up=True))
    out = tmp_path / "out"
    convert("bosphorus", src, out, progress=False)
    ds = PairedDepthDataset(out, "test")
    sample = ds.load(0)
    depth, mask = sample["depth"][0].numpy(), sample["mask"][0].numpy()
    want, _ = expected_depth()
    assert mask.sum() > 0.6 * H * W
    np.testing.assert_allclose(depth[mask], want[mask], atol=1e-4)
    assert rows(out / "test" / "meta.jsonl")[0]["v_origin"] == "bottom"


def test_points_far_behind_are_invalid() -> None:
    z = np.array([[-1000.0, -1100.0, -1299.0, -1301.0, -np.inf]])
    depth, valid = relative_depth(z, -1000.0)
    np.testing.assert_array_equal(valid, [[True, True, True, False, False]])
    np.testing.assert_allclose(depth[valid], [1.0, 1 - 100 / 300, 1 - 299 / 300])


def test_nested_bosphorusdb_and_cli(tmp_path: Path, capsys) -> None:
    src = make_bosphorus(tmp_path / "dl", subjects=7, nested=True)
    out = tmp_path / "o"
    assert main(["convert", "bosphorus", str(src), "--out", str(out), "--quiet"]) == 0
    assert "Bosphorus" in capsys.readouterr().out
    assert main(["check", str(out), "--quiet"]) == 0
    assert main(["convert", "bosphorus", str(tmp_path / "o"), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no subject folder bsNNN/" in err[0]


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncated", r"bs002_E_ANGER_0.bnt: truncated .bnt \(\d+ bytes, expected \d+"),
        ("short_header", r"bs002_E_ANGER_0.bnt: truncated .bnt \(10 bytes"),
        ("count", r"bs002_E_ANGER_0.bnt: .bnt header says 7 values, expected 5 planes of 16x12"),
        ("header_name", r"bs002_E_ANGER_0.bnt: its header names the image 'bs099_N_N_0.png'"),
        ("bad_name", r"bs002_anger.bnt: expected a name bs002_<class>_<code>_<take>.bnt"),
        ("other_subject", r"bs002/bs003_E_ANGER_0.png: expected a name bs002_"),
        ("no_png", r"bs002_E_ANGER_0.bnt: no bs002_E_ANGER_0.png beside it"),
        ("empty_subject", r"bs002: no .bnt scan in it"),
        ("few_subjects", r"found 6 subject\(s\).*at least 7"),
    ],
)
def test_malformed_sources(tmp_path: Path, damage: str, message: str) -> None:
    src = make_bosphorus(tmp_path, subjects=6 if damage == "few_subjects" else 8)
    folder = src / "bs002"
    bnt = folder / "bs002_E_ANGER_0.bnt"
    if damage == "truncated":
        bnt.write_bytes(bnt.read_bytes()[:-9])
    elif damage == "short_header":
        bnt.write_bytes(bnt.read_bytes()[:10])
    elif damage == "count":
        write_bnt(bnt, scan_planes(), count=7)
    elif damage == "header_name":
        write_bnt(bnt, scan_planes(), name="bs099_N_N_0.png")
    elif damage == "bad_name":
        bnt.rename(folder / "bs002_anger.bnt")
    elif damage == "other_subject":
        Image.fromarray(photo(0)).save(folder / "bs003_E_ANGER_0.png")
    elif damage == "no_png":
        (folder / "bs002_E_ANGER_0.png").unlink()
    elif damage == "empty_subject":
        for p in folder.iterdir():
            p.unlink()
    out = tmp_path / "out"
    with pytest.raises(InputError, match=message):
        convert("bosphorus", src, out, progress=False)
    assert not out.exists()
