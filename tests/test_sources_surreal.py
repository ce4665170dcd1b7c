"""``rgb2depth convert surreal``: SURREAL clips -> seed 000's protocol.

The fixture is a SURREAL folder in the published layout, written here:
``cmu/<split>/run<r>/<seq>/<seq>_c<NNNN>.mp4`` (320 x 240, written with OpenCV's
``mp4v`` codec; the real files are H.264, which this OpenCV build cannot write but
reads the same way), ``..._depth.mat`` (MATLAB v5 via scipy.io.savemat, compressed,
``depth_1 .. depth_T`` of (240, 320) float32 metres, background 1e10) and
``..._info.mat`` (``camLoc``, ``joints3D``, ``camDist``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rgb2depth.cli.main import main
from rgb2depth.data.format import read_info
from rgb2depth.data.io import read_depth, read_rgb
from rgb2depth.data.sources import convert
from rgb2depth.data.sources.surreal import (
    Clip,
    find_clips,
    middle_frame,
    pick_train_clips,
    split_frames,
)
from rgb2depth.errors import InputError

cv2 = pytest.importorskip("cv2")
savemat = pytest.importorskip("scipy.io").savemat

H, W = 240, 320
BACKGROUND = 1e10


def frame_rgb(t: int) -> np.ndarray:
    """Frame ``t`` (1-based): blocks that differ along rows and columns, and a red level
    that names the frame, so a wrong frame, a transposed or a BGR frame cannot pass."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:120, :160] = (30 * t, 0, 200)  # top left: red encodes t, blue high
    img[:120, 160:] = (0, 220, 0)  # top right: green
    img[120:, :] = (240, 240, 60)  # bottom: yellow
    return img


def frame_depth(t: int, *, empty: bool = False) -> np.ndarray:
    """A body-shaped foreground (rows 40..199, columns 100..179) at about 8 m."""
    d = np.full((H, W), BACKGROUND, np.float32)
    if not empty:
        y, x = np.mgrid[40:200, 100:180]
        d[40:200, 100:180] = 7.5 + 0.01 * t + 0.002 * (x - 100) + 0.001 * (y - 40)
    return d


def write_clip(
    root: Path,
    split: str,
    run: str,
    seq: str,
    clip: int,
    frames: int,
    *,
    empty: tuple[int, ...] = (),
    video_frames: int | None = None,
    info: bool = True,
) -> Path:
    folder = root / "cmu" / split / run / seq
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{seq}_c{clip:04d}"
    writer = cv2.VideoWriter(f"{stem}.mp4", cv2.VideoWriter_fourcc(*"mp4v"), 30, (W, H))
    assert writer.isOpened()
    for t in range(1, (video_frames or frames) + 1):
        writer.write(np.ascontiguousarray(frame_rgb(t)[..., ::-1]))  # OpenCV writes BGR
    writer.release()
    depth = {f"depth_{t}": frame_depth(t, empty=t in empty) for t in range(1, frames + 1)}
    savemat(f"{stem}_depth.mat", depth, do_compression=True)
    if info:
        joints = np.zeros((3, 24, frames), np.float32)
        joints[0, 0, :] = 0.25 + 0.01 * np.arange(frames)  # pelvis x per frame
        savemat(
            f"{stem}_info.mat",
            {"camLoc": np.array([[8.0], [-1.0], [0.0]]), "joints3D": joints, "camDist": 8.0},
        )
    return Path(f"{stem}.mp4")


@pytest.fixture
def surreal(tmp_path: Path) -> Path:
    root = tmp_path / "SURREAL" / "data"
    write_clip(root, "train", "run0", "01_01", 1, 8, empty=(2,))
    write_clip(root, "train", "run1", "02_03", 2, 8, info=False)
    write_clip(root, "test", "run0", "ung_104_46", 11, 6)
    write_clip(root, "test", "run1", "ung_104_46", 11, 7)  # same clip name, another run
    write_clip(root, "test", "run2", "ung_105_01", 1, 6, empty=(3,))  # empty middle frame
    write_clip(root, "val", "run0", "ung_104_46", 11, 6)
    return tmp_path / "SURREAL"


def _rows(path: Path) -> dict[str, dict]:
    return {(r := json.loads(line))["name"]: r for line in path.read_text().splitlines() if line}


def test_middle_frame_is_surreal_test_loaders() -> None:
    assert middle_frame(100) == 50 and middle_frame(7) == 4 and middle_frame(1) == 1


def test_round_trip(surreal: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    info = convert("surreal", surreal, out, progress=False)
    assert info.depth_units == "m" and info.png_scale == 0.001
    assert info.intrinsics == {"fx": 600.0, "fy": 600.0, "cx": 160.0, "cy": 120.0}
    assert info.image_size == (240, 320)
    assert info.unpaired_splits == ["train"]
    assert info.extra["skipped_empty"] == {"train": 1, "test": 1}
    assert info.extra["counts"]["test"] == {"rgb": 2, "depth": 2}
    assert info.extra["counts"]["val"] == {"rgb": 1, "depth": 1}

    test = _rows(out / "test" / "meta.jsonl")
    assert sorted(test) == ["run0_ung_104_46_c0011_f003", "run1_ung_104_46_c0011_f004"]
    for name, row in test.items():
        t = row["frame"]
        assert t == math.ceil(row["frames"] / 2)
        assert row["group"] == "ung_104_46" and row["clip"] == "ung_104_46_c0011"
        rgb = read_rgb(out / "test" / "rgb" / f"{name}.png")
        assert rgb.shape == (H, W, 3)
        err = np.abs(rgb.astype(int) - frame_rgb(t)).mean(axis=2)
        assert np.median(err) < 4  # mp4v is lossy; the right frame, upright, in RGB order
        assert np.abs(rgb[:100, :140, 0].astype(int) - 30 * t).max() < 12
        depth, valid = read_depth(out / "test" / "depth" / f"{name}.png", png_scale=0.001)
        truth = frame_depth(t).astype(np.float64)
        fg = truth < 1e3
        assert np.array_equal(valid, fg)  # the 1e10 background is invalid
        assert np.abs(depth[fg] - truth[fg]).max() <= 0.0005 + 2e-6
        assert row["median_m"] == pytest.approx(np.median(truth[fg]), abs=1e-6)
        assert row["bbox"] == [100, 40, 80, 160]
        assert row["pelvis_depth_m"] == pytest.approx(8.0 - (0.25 + 0.01 * (t - 1)), abs=1e-6)
        assert row["cam_dist_m"] == 8.0

    train = _rows(out / "train" / "meta.jsonl")
    rgb_names = {p.stem for p in (out / "train" / "rgb").iterdir()}
    depth_names = {p.stem for p in (out / "train" / "depth").iterdir()}
    assert not rgb_names & depth_names  # no RGB image has its depth map in the set
    # k = min(20, frames with a body // 2) each: 7 -> 3 + 3 (frame 2 is empty), 8 -> 4 + 4
    for clip, k in (("run0_01_01_c0001", 3), ("run1_02_03_c0002", 4)):
        r = {n for n in rgb_names if n.startswith(clip)}
        d = {n for n in depth_names if n.startswith(clip)}
        assert len(r) == len(d) == k
    assert all(train[n]["frame"] != 2 for n in train if n.startswith("run0_01_01"))
    for name in depth_names:
        row = train[name]
        assert row["domain"] == "depth" and "median_m" in row
        depth, valid = read_depth(out / "train" / "depth" / f"{name}.png", png_scale=0.001)
        truth = frame_depth(row["frame"]).astype(np.float64)
        assert np.abs(depth[valid] - truth[valid]).max() <= 0.0005 + 2e-6
    for name in rgb_names:
        row = train[name]
        assert row["domain"] == "rgb" and "median_m" not in row
        rgb = read_rgb(out / "train" / "rgb" / f"{name}.png")
        assert np.abs(rgb[:100, :140, 0].astype(int) - 30 * row["frame"]).max() < 12
    assert "pelvis_depth_m" not in next(  # no _info.mat for this clip
        row for n, row in train.items() if n.startswith("run1_02_03") and row["domain"] == "depth"
    )
    groups = {
        (g := json.loads(line))["group"]: g
        for line in (out / "groups.jsonl").read_text().splitlines()
    }
    assert groups["ung_104_46"]["split"] == "test+val"
    assert groups["01_01"]["split"] == "train"
    assert main(["check", str(out)]) == 0


def test_src_may_be_cmu_or_one_split(surreal: Path, tmp_path: Path) -> None:
    info = convert("surreal", surreal / "data" / "cmu" / "test", tmp_path / "a", progress=False)
    assert info.splits == ["test"]
    info = convert("surreal", surreal / "data" / "cmu", tmp_path / "b", progress=False)
    assert info.splits == ["train", "val", "test"]
    assert read_info(tmp_path / "b").extra["counts"]["test"]["rgb"] == 2


def test_train_draw_is_seeded_and_disjoint(tmp_path: Path) -> None:
    clips = [Clip("train", "run0", f"{i:02d}_01", f"{i:02d}_01_c0001", tmp_path) for i in range(9)]
    a, b = pick_train_clips(clips, 4, seed=0), pick_train_clips(clips, 4, seed=0)
    assert a == b and len(a) == 4 and len(set(a)) == 4
    assert pick_train_clips(clips, 4, seed=1) != a or pick_train_clips(clips, 4, seed=2) != a
    assert pick_train_clips(clips, 20) == clips
    rgb, depth = split_frames(clips[0], list(range(1, 101)), 20, seed=0)
    assert len(rgb) == len(depth) == 20 and not set(rgb) & set(depth)
    assert (rgb, depth) == split_frames(clips[0], list(range(1, 101)), 20, seed=0)
    rgb, depth = split_frames(clips[0], [1, 2, 3], 20)
    assert len(rgb) == len(depth) == 1 and rgb != depth and {*rgb, *depth} <= {1, 2, 3}


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("no_depth", r"_c0011_depth\.mat not found: every SURREAL clip needs its _depth\.mat"),
        ("gap", r"_c0011_depth\.mat: expected variables depth_1 \.\. depth_T"),
        ("shape", r"_c0011_depth\.mat: depth_1 is \(320, 240\); expected \(240, 320\) \(H, W\)"),
        ("short_video", r"_c0011\.mp4: the video ends after 3 frame\(s\) but frame 4 is needed"),
        ("garbage_video", r"_c0011\.mp4: cannot be opened as a video"),
        ("garbage_depth", r"_c0011_depth\.mat: not a readable MATLAB v5 \.mat"),
    ],
)
def test_malformed_clip(tmp_path: Path, breakage: str, message: str) -> None:
    root = tmp_path / "SURREAL"
    video = write_clip(
        root,
        "test",
        "run0",
        "ung_104_46",
        11,
        7,
        video_frames=3 if breakage == "short_video" else None,
    )
    depth = video.with_name("ung_104_46_c0011_depth.mat")
    if breakage == "no_depth":
        depth.unlink()
    elif breakage == "gap":
        savemat(depth, {"depth_1": frame_depth(1), "depth_3": frame_depth(3)})
    elif breakage == "shape":
        savemat(depth, {"depth_1": frame_depth(1).T})
    elif breakage == "garbage_video":
        video.write_bytes(b"not a video at all" * 10)
    elif breakage == "garbage_depth":
        depth.write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(200))
    with pytest.raises(InputError, match=message):
        convert("surreal", root, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_no_clip_found(tmp_path: Path) -> None:
    (tmp_path / "SURREAL" / "cmu" / "test" / "run0").mkdir(parents=True)
    with pytest.raises(InputError, match=r"no SURREAL clip .*\.mp4\) found"):
        find_clips(tmp_path / "SURREAL")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(InputError, match=r"elsewhere: no train, val or test folder found"):
        find_clips(tmp_path / "elsewhere")


def test_cli(surreal: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["convert", "surreal", str(surreal), "--out", str(out), "--quiet"]) == 0
    assert "SURREAL" in capsys.readouterr().out
    assert main(["check", str(out)]) == 0
    capsys.readouterr()
    assert main(["convert", "surreal", str(tmp_path), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no train, val or test folder found" in err[0]
