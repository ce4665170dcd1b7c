"""``rgb2depth convert biwi``: fixtures written in the database's own formats.

Every fixture is made here: ``.bin`` depth with :mod:`struct` in Biwi's run-length
layout, ``depth.cal`` / ``rgb.cal`` and ``pose.txt`` as text, RGB as PNG.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.data.format import read_info
from rgb2depth.data.io import read_depth, read_rgb
from rgb2depth.data.sources import _headcrop as hc
from rgb2depth.data.sources import biwi, convert
from rgb2depth.errors import InputError

H, W = 48, 64
F = 100.0  # focal length of the fixtures' cameras, pixels
Z = 1480.0  # fixture plane depth, mm: seed 001's Biwi box is 370 * 320 / 1480 = 80 px


# --------------------------------------------------------------------------- writers
def encode_bin(depth: np.ndarray) -> bytes:
    """Biwi's run-length layout: width, height, then (empty, full, values...) pairs."""
    h, w = depth.shape
    flat = depth.astype("<i2").ravel()
    out = [struct.pack("<ii", w, h)]
    p = 0
    while p < flat.size:
        e = p
        while e < flat.size and flat[e] == 0:
            e += 1
        f = e
        while f < flat.size and flat[f] != 0:
            f += 1
        out.append(struct.pack("<ii", e - p, f - e))
        out.append(flat[e:f].tobytes())
        p = f
    return b"".join(out)


def write_cal(path: Path, k: np.ndarray, r: np.ndarray, t: np.ndarray) -> None:
    rows = lambda m: "\n".join(" ".join(f"{v:g}" for v in row) for row in m)  # noqa: E731
    path.write_text(
        f"{rows(k)}\n\n0 0 0 0\n\n{rows(r)}\n\n{' '.join(f'{v:g}' for v in t)}\n\n{W} {H}\n"
    )


def k_matrix(cx: float = (W - 1) / 2, cy: float = (H - 1) / 2) -> np.ndarray:
    return np.array([[F, 0.0, cx], [0.0, F, cy], [0.0, 0.0, 1.0]])


def write_pose(path: Path, rotation: np.ndarray, center: np.ndarray) -> None:
    lines = [" ".join(f"{v:g}" for v in row) + " " for row in rotation]
    path.write_text("\n".join(lines) + "\n\n" + " ".join(f"{v:g}" for v in center) + " \n")


def face_depth() -> np.ndarray:
    """A plane at Z mm with an asymmetric bump (top-left) and an invalid hole (bottom-right)."""
    d = np.full((H, W), Z)
    d[5:10, 3:12] = Z - 100  # nearer patch, top left
    d[40:46, 50:60] = 0  # hole, bottom right
    return d


def face_rgb() -> np.ndarray:
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, W).astype(np.uint8)[None, :]  # red grows to the right
    rgb[..., 1] = np.linspace(0, 255, H).astype(np.uint8)[:, None]  # green grows downwards
    return rgb


def make_sequence(
    root: Path,
    seq: str,
    frames: tuple[int, ...] = (3,),
    *,
    t: tuple[float, float, float] = (0.0, 0.0, 0.0),
    center: tuple[float, float, float] = (0.0, 0.0, 1000.0),
    depth: np.ndarray | None = None,
) -> Path:
    folder = root / seq
    folder.mkdir(parents=True)
    write_cal(folder / "depth.cal", k_matrix(), np.eye(3), np.zeros(3))
    write_cal(folder / "rgb.cal", k_matrix(), np.eye(3), np.array(t))
    for n in frames:
        stem = folder / f"frame_{n:05d}"
        Image.fromarray(face_rgb()).save(f"{stem}_rgb.png")
        (Path(f"{stem}_depth.bin")).write_bytes(
            encode_bin(face_depth() if depth is None else depth)
        )
        write_pose(Path(f"{stem}_pose.txt"), np.eye(3), np.array(center))
    return folder


@pytest.fixture
def hpdb(tmp_path: Path) -> Path:
    root = tmp_path / "hpdb"
    make_sequence(root, "01", (3, 4))  # F01: train
    make_sequence(root, "21", (5,))  # F02 again (also sequence 02): train
    make_sequence(root, "11", (3,))  # M05: test
    make_sequence(root, "13", (7,))  # M07: val
    return root


def rows(out: Path, split: str) -> list[dict]:
    lines = (out / split / "meta.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


# --------------------------------------------------------------------------- .bin
@pytest.mark.parametrize(
    "pattern",
    ["full_start_and_end", "empty_start_and_end", "all_empty", "all_full"],
)
def test_bin_round_trip(tmp_path: Path, pattern: str) -> None:
    rng = np.random.default_rng(0)
    d = rng.integers(400, 3000, size=(7, 9)).astype(np.int16)
    d[rng.random(d.shape) < 0.3] = 0
    if pattern == "full_start_and_end":
        d[0, 0], d[-1, -1] = 812, 1234  # a full run first (empty count 0) and last
    elif pattern == "empty_start_and_end":
        d[0, :3], d[-1, -4:] = 0, 0  # the last pair has a full count of 0
    elif pattern == "all_empty":
        d[:] = 0
    else:
        d[:] = np.arange(d.size, dtype=np.int16).reshape(d.shape) + 500
    path = tmp_path / "frame_00003_depth.bin"
    path.write_bytes(encode_bin(d))
    got = biwi.read_depth_bin(path)
    assert got.shape == (7, 9) and got.dtype == np.int16
    np.testing.assert_array_equal(got, d)


def test_bin_hand_written_runs(tmp_path: Path) -> None:
    """A 4 x 2 image written run by run: 1 empty, 2 full, 3 empty, 2 full."""
    data = struct.pack("<ii", 4, 2)
    data += struct.pack("<ii", 1, 2) + struct.pack("<hh", 700, 701)
    data += struct.pack("<ii", 3, 2) + struct.pack("<hh", 900, 901)
    path = tmp_path / "d.bin"
    path.write_bytes(data)
    np.testing.assert_array_equal(biwi.read_depth_bin(path), [[0, 700, 701, 0], [0, 0, 900, 901]])


def _bad(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "frame_00009_depth.bin"
    path.write_bytes(data)
    with pytest.raises(InputError) as e:
        biwi.read_depth_bin(path)
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_bin_malformed(tmp_path: Path) -> None:
    good = encode_bin(face_depth())
    assert "too short" in _bad(tmp_path, good[:6])
    assert "truncated" in _bad(tmp_path, good[:-3])  # inside the last values
    assert "truncated" in _bad(tmp_path, struct.pack("<ii", 2, 2) + struct.pack("<ii", 1, 1))
    assert "truncated" in _bad(tmp_path, struct.pack("<ii", 2, 2) + struct.pack("<i", 1))
    msg = _bad(tmp_path, struct.pack("<ii", 2, 2) + struct.pack("<ii", 3, 2) + b"\0" * 4)
    assert "bad run counts" in msg and "2 x 2" in msg
    assert "bad run counts" in _bad(tmp_path, struct.pack("<iiii", 2, 2, -1, 5))
    assert "width and height" in _bad(tmp_path, struct.pack("<ii", 0, 480))
    assert "width and height" in _bad(tmp_path, struct.pack("<ii", 640, -480))


# --------------------------------------------------------------------------- text files
def test_calibration_and_pose(tmp_path: Path) -> None:
    r = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    write_cal(tmp_path / "rgb.cal", k_matrix(320, 240.5), r, np.array([-24.0, 5.9, -13.2]))
    cal = biwi.Calibration(tmp_path / "rgb.cal")
    np.testing.assert_allclose(cal.k, k_matrix(320, 240.5))
    np.testing.assert_allclose(cal.rotation, r)
    np.testing.assert_allclose(cal.translation, [-24.0, 5.9, -13.2])
    assert cal.intrinsics.cx == 320.5 and cal.intrinsics.cy == 241.0  # continuous coordinates
    write_pose(tmp_path / "p.txt", r, np.array([54.0787, -4.08399, 898.066]))
    rot, center = biwi.read_pose(tmp_path / "p.txt")
    np.testing.assert_allclose(rot, r)
    np.testing.assert_allclose(center, [54.0787, -4.08399, 898.066])


def test_euler_angles_hand_computed() -> None:
    """A pure yaw of 30 degrees, a pure pitch of -20 and a pure roll of 15."""
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    yaw_only = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    yaw, pitch, roll = biwi.euler_degrees(yaw_only.T)  # the file holds R, the code uses R^T
    assert yaw == pytest.approx(-30.0) and pitch == pytest.approx(0.0, abs=1e-9)
    assert roll == pytest.approx(0.0, abs=1e-9)
    c, s = math.cos(math.radians(-20)), math.sin(math.radians(-20))
    pitch_only = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    assert biwi.euler_degrees(pitch_only.T)[1] == pytest.approx(-20.0)
    c, s = math.cos(math.radians(15)), math.sin(math.radians(15))
    roll_only = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    assert biwi.euler_degrees(roll_only.T)[2] == pytest.approx(-15.0)


def test_malformed_text_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"rgb\.cal: no such file.*depth\.cal and rgb\.cal"):
        biwi.Calibration(tmp_path / "rgb.cal")
    (tmp_path / "depth.cal").write_text("575 0 320\n0 575 240\n0 0 1\n")
    with pytest.raises(InputError, match=r"depth\.cal: 3 non-empty lines; expected"):
        biwi.Calibration(tmp_path / "depth.cal")
    write_cal(tmp_path / "depth.cal", k_matrix(), np.eye(3) * 2, np.zeros(3))
    with pytest.raises(InputError, match="not a rotation matrix"):
        biwi.Calibration(tmp_path / "depth.cal")
    (tmp_path / "p.txt").write_text("1 0 0\n0 1 0\n0 0 1\n\n1 2\n")
    with pytest.raises(InputError, match=r"p\.txt: head centre: expected 1 line\(s\) of 3"):
        biwi.read_pose(tmp_path / "p.txt")
    (tmp_path / "p.txt").write_text("1 0 0\n0 1 zero\n0 0 1\n\n1 2 3\n")
    with pytest.raises(InputError, match="expected numbers"):
        biwi.read_pose(tmp_path / "p.txt")


# --------------------------------------------------------------------------- geometry
def test_register_depth_shift_hand_computed() -> None:
    """The RGB camera 14.8 mm to the right of and 80 mm ahead of the depth camera."""
    depth = face_depth()
    t = np.array([-Z / F, 0.0, -80.0])  # x shift of -14.8 mm: F * -14.8 / (Z - 80) px
    out = biwi.register_depth(depth, k_matrix(), k_matrix(), np.eye(3), t, (H, W))
    # a point (u, v) at depth Z lands at column cx + F * ((u - cx) Z / F - Z / F) / (Z - 80)
    u, v = 30, 20
    col = (W - 1) / 2 + ((u - (W - 1) / 2) * Z - Z) / (Z - 80)
    assert out[v, round(col)] == pytest.approx(Z - 80)
    # the nearer patch stays nearer, and the hole stays invalid
    assert out[7, 5] == pytest.approx(Z - 180)
    assert (out[41:45, 53:58] == 0).all()


def test_register_depth_identity_and_zbuffer() -> None:
    depth = face_depth()
    out = biwi.register_depth(depth, k_matrix(), k_matrix(), np.eye(3), np.zeros(3), (H, W))
    np.testing.assert_allclose(out, depth)  # same camera: unchanged, orientation included
    # two points landing on one pixel: the nearer one wins
    two = np.zeros((1, 2))
    two[0] = [1000.0, 500.0]
    k = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    out = biwi.register_depth(two, k, np.diag([1e-6, 1e-6, 1.0]), np.eye(3), np.zeros(3), (1, 1))
    assert out[0, 0] == 500.0


# --------------------------------------------------------------------------- converter
def test_convert_end_to_end(hpdb: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    info = convert("biwi", hpdb, out, progress=False)
    assert info.splits == ["train", "val", "test"]
    assert info.extra["counts"]["train"] == {"rgb": 3, "depth": 3}
    assert info.extra["counts"]["test"] == {"rgb": 1, "depth": 1}
    assert info.extra["skipped"] == {"head_outside_rgb": 0, "no_depth_at_head": 0}
    assert read_info(out).depth_units == "mm"
    train = rows(out, "train")
    assert {r["name"] for r in train} == {"01_00003", "01_00004", "21_00005"}
    assert {r["group"] for r in train} == {"F01", "F02"}  # 21 is the second recording of F02
    assert rows(out, "test")[0]["group"] == "M05" and rows(out, "val")[0]["group"] == "M07"
    groups = [json.loads(x) for x in (out / "groups.jsonl").read_text().splitlines()]
    assert {g["group"]: g["split"] for g in groups} == {
        "F01": "train", "F02": "train", "M05": "test", "M07": "val"
    }  # fmt: skip

    row = train[0]
    # hand computation: head at the principal point, (31.5 + 0.5, 23.5 + 0.5) continuous;
    # D = Z (the window holds only the plane); box 370 * 320 / 1480 = 80 px
    assert row["head_distance_mm"] == pytest.approx(Z)
    assert row["face_box"] == pytest.approx([32 - 40, 24 - 40, 80, 80])
    assert row["intrinsics"]["fx"] == pytest.approx(F * 96 / 80)
    assert row["intrinsics"]["cx"] == pytest.approx((32 - (32 - 40)) * 96 / 80)

    depth, valid = read_depth(out / "train/depth/01_00003.png", png_scale=info.png_scale)
    rgb = read_rgb(out / "train/rgb/01_00003.png")
    assert depth.shape == (96, 96) and rgb.shape == (96, 96, 3)
    # output pixel j samples x = -8 + (j + 0.5) * 80 / 96: column floor(x)
    col = lambda j: math.floor(-8 + (j + 0.5) * 80 / 96)  # noqa: E731
    row_ = lambda i: math.floor(-16 + (i + 0.5) * 80 / 96)  # noqa: E731
    assert col(9) == -1 and col(10) == 0
    assert not valid[:, 9].any() and valid[30, 10]  # left of the image: invalid
    assert not valid[18, 30] and valid[19, 30]  # above the image: invalid
    # the nearer patch (rows 5..9, cols 3..11) is at the top left, not mirrored
    i, j = next((i, j) for i in range(96) for j in range(96) if row_(i) == 6 and col(j) == 5)
    assert depth[i, j] == pytest.approx(Z - 100)
    assert depth[i, 95 - j] == pytest.approx(Z)
    # the hole (rows 40..45, cols 50..59) is invalid, bottom right
    i, j = next((i, j) for i in range(96) for j in range(96) if row_(i) == 42 and col(j) == 55)
    assert not valid[i, j] and valid[i, 95 - j]
    # RGB: red grows to the right, green downwards, black outside the image
    assert rgb[40, 80, 0] > rgb[40, 20, 0] and rgb[70, 40, 1] > rgb[30, 40, 1]
    assert (rgb[:, :5] == 0).all() and (rgb[:15] == 0).all()

    assert main(["check", str(out), "--quiet"]) == 0


def test_convert_registers_depth_to_rgb(tmp_path: Path) -> None:
    """With the RGB camera 14.8 mm to the left the depth patch moves 1 px right in RGB."""
    src = tmp_path / "hpdb"
    make_sequence(src, "01", t=(Z / F, 0.0, 0.0))
    info = convert("biwi", src, tmp_path / "out", progress=False)
    row = rows(tmp_path / "out", "train")[0]
    # head (0, 0, 1000) moves to (14.8, 0, 1000): column 31.5 + 1.48 (+ 0.5 continuous)
    assert row["face_box"][0] == pytest.approx(31.5 + F * (Z / F) / 1000 + 0.5 - 40)
    depth, valid = read_depth(tmp_path / "out/train/depth/01_00003.png", png_scale=info.png_scale)
    x0 = row["face_box"][0]
    # registered patch: columns 3..11 of the depth map land on 4..12 of the RGB image
    col = lambda j: math.floor(x0 + (j + 0.5) * 80 / 96)  # noqa: E731
    row_ = lambda i: math.floor(-16 + (i + 0.5) * 80 / 96)  # noqa: E731
    i = next(i for i in range(96) if row_(i) == 7)
    js = [j for j in range(96) if depth[i, j] == pytest.approx(Z - 100)]
    assert {col(j) for j in js} == set(range(4, 13))
    # no depth point lands on the RGB image's first column: it is invalid, the next is not
    j0 = next(j for j in range(96) if col(j) == 0)
    assert not valid[i, j0] and valid[i, j0 + 2]


def test_frames_without_depth_at_head_are_skipped(tmp_path: Path) -> None:
    src = tmp_path / "hpdb"
    hole = face_depth()
    hole[15:35, 20:45] = 0  # no depth around the head centre
    make_sequence(src, "01", (3,), depth=hole)
    make_sequence(src, "02", (3,))
    info = convert("biwi", src, tmp_path / "out", progress=False)
    assert info.extra["skipped"]["no_depth_at_head"] == 1
    assert info.extra["counts"]["train"]["depth"] == 1


def test_accepts_the_folder_above_hpdb(hpdb: Path, tmp_path: Path) -> None:
    info = convert("biwi", hpdb.parent, tmp_path / "out", progress=False)
    assert info.extra["counts"]["train"]["rgb"] == 3


@pytest.mark.parametrize(
    "damage, fragments",
    [
        (lambda s: (s / "01/rgb.cal").unlink(), ["01/rgb.cal: no such file"]),
        (lambda s: (s / "01/frame_00004_depth.bin").unlink(), ["frame_00004_depth.bin: no such"]),
        (
            lambda s: (s / "01/frame_00004_depth.bin").write_bytes(encode_bin(face_depth())[:-10]),
            ["frame_00004_depth.bin: truncated"],
        ),
        (lambda s: (s / "01/frame_00003_pose.txt").write_text("1 0 0\n"), ["pose.txt: 1 non"]),
        (lambda s: (s / "25").mkdir(), ["25 are not Biwi sequences"]),
    ],
)
def test_malformed_sources(hpdb: Path, tmp_path: Path, damage, fragments) -> None:
    damage(hpdb)
    out = tmp_path / "out"
    with pytest.raises(InputError) as e:
        convert("biwi", hpdb, out, progress=False)
    for fragment in fragments:
        assert fragment in str(e.value)
    assert not out.exists()


def test_cli(hpdb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["convert", "biwi", str(hpdb), "--out", str(out), "--quiet"]) == 0
    assert "Biwi Kinect Head Pose Database" in capsys.readouterr().out
    assert main(["check", str(out), "--quiet"]) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert", "biwi", str(empty), "--out", str(tmp_path / "o2"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no sequence folder 01..24" in err and "Traceback" not in err
    assert not (tmp_path / "o2").exists()


def test_crop_formula_matches_the_seed() -> None:
    """Seed 001, eq. (6): w = fx * Rx / D with Rx = 320 mm, fx = 370 px for Biwi."""
    assert hc.box_size(1000.0, (370.0, 370.0)) == pytest.approx((118.4, 118.4))
    assert hc.SEED001_FOCAL_PX["biwi"] == 370.0 and hc.OUT_SIZE == 96
