"""Converter for the Biwi Kinect Head Pose Database (``rgb2depth convert biwi SRC``).

The database (Fanelli et al., IJCV 2013) is published as ``kinect_head_pose_db.tgz``;
``SRC`` is its ``hpdb/`` folder (or the folder holding ``hpdb/``)::

    hpdb/01 .. hpdb/24/         one folder per recorded sequence
        depth.cal, rgb.cal      calibration of the depth and the RGB camera
        frame_NNNNN_rgb.png     640 x 480 colour image
        frame_NNNNN_depth.bin   depth in mm, run-length compressed (read_depth_bin)
        frame_NNNNN_pose.txt    3x3 head rotation, then the head centre (mm)

The RGB and depth cameras of a Kinect are not registered: the head centre of
``pose.txt`` is in the depth camera's frame. This converter registers the depth map
into the RGB camera (:func:`register_depth`: each valid depth pixel is lifted to 3-D
with ``depth.cal``, moved by the extrinsics into the RGB camera, projected with
``rgb.cal``, the nearest point winning where several land on one pixel), projects the
head centre into the RGB image, and cuts seed 001's face box (:mod:`._headcrop`) out
of the RGB image and the registered depth with the same pixels: the pairs written
are pixel-aligned. The calibration convention (``p_rgb = R p_depth + t``, extrinsics
of ``depth.cal`` applied first when they are not the identity) is documented in
``docs/sources/biwi.md``.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from rgb2depth.data.sources import _headcrop as hc
from rgb2depth.data.sources import register_source
from rgb2depth.data.sources._writer import DatasetWriter
from rgb2depth.errors import InputError
from rgb2depth.geometry import Intrinsics

NAME = "biwi"
TITLE = "Biwi Kinect Head Pose Database"
LAYOUT = (
    "the hpdb/ folder of kinect_head_pose_db.tgz (sequence folders 01..24 with "
    "frame_NNNNN_rgb.png, frame_NNNNN_depth.bin, frame_NNNNN_pose.txt, depth.cal, rgb.cal)"
)

SEQUENCE_SUBJECT = {
    "01": "F01", "02": "F02", "03": "F03", "04": "F04", "05": "F05", "06": "F06",
    "07": "M01", "08": "M02", "09": "M03", "10": "M04", "11": "M05", "12": "M06",
    "13": "M07", "14": "M08", "15": "F03", "16": "M09", "17": "M10", "18": "F05",
    "19": "M11", "20": "M12", "21": "F02", "22": "M01", "23": "M13", "24": "M14",
}  # fmt: skip
"""Sequence folder -> person: 24 sequences of 20 people, four recorded twice (the
database's own listing, as in the Hugging Face loader ``biwi_kinect_head_pose``)."""

TEST_SUBJECTS = ("M05", "M06")
"""Held out for testing: sequences 11 and 12, the test sequences of POSEidon's Biwi
code (``gdubrg/POSEidon-Biwi``, by seed 001's group); seed 001 names none."""

VAL_SUBJECTS = ("M07", "M08")
"""Held out for validation (sequences 13 and 14; our choice)."""

MAX_SIDE = 10_000
"""Largest width or height accepted in a ``.bin`` header."""

_FRAME = re.compile(r"frame_(\d+)_rgb\.png")


# --------------------------------------------------------------------------- reading
def read_depth_bin(path: str | Path) -> np.ndarray:
    """Read Biwi's run-length compressed depth (``frame_NNNNN_depth.bin``).

    Layout (little-endian): int32 width, int32 height, then pairs of runs until
    ``width * height`` pixels are filled: int32 number of empty pixels (depth 0),
    int32 number of full pixels, followed by that many int16 depth values in mm.
    Pixels run row by row from the top-left. Bytes after the last run are ignored
    (as the database's own reader does).

    Args:
        path: the ``.bin`` file.

    Returns:
        (height, width) int16 depth in mm; 0 where empty.

    Raises:
        InputError: missing, truncated, or a header or run count out of bounds; the
            message names the file and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (expected Biwi compressed depth, .bin)")
    data = path.read_bytes()
    what = "Biwi compressed depth (int32 width, int32 height, then run-length pairs)"
    if len(data) < 8:
        raise InputError(f"{path}: {len(data)} bytes, too short for {what}")
    width, height = struct.unpack_from("<ii", data, 0)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise InputError(
            f"{path}: header gives a {width} x {height} image; expected {what} with "
            f"width and height in 1..{MAX_SIDE}"
        )
    n = width * height
    pair = struct.Struct("<ii")
    # parse the run headers (sequential), then copy every value at once
    out_start: list[int] = []  # first pixel of each full run
    in_start: list[int] = []  # its first value, as an index of int16 words of the file
    length: list[int] = []
    p, pos = 0, 8
    while p < n:
        if pos + 8 > len(data):
            raise InputError(
                f"{path}: truncated at byte {pos} after {p} of {n} pixels; expected a "
                "pair of int32 run counts (empty, full)"
            )
        empty, full = pair.unpack_from(data, pos)
        pos += 8
        if empty < 0 or full < 0 or p + empty + full > n:
            raise InputError(
                f"{path}: bad run counts at byte {pos - 8} (empty {empty}, full {full}) "
                f"after {p} of {n} pixels; runs must be >= 0 and fill exactly "
                f"{width} x {height} pixels"
            )
        p += empty
        if full:
            end = pos + 2 * full
            if end > len(data):
                raise InputError(
                    f"{path}: truncated at byte {len(data)}: a run of {full} depth values "
                    f"(int16) needs bytes {pos}..{end}"
                )
            out_start.append(p)
            in_start.append(pos // 2)  # pos is even: 8 + 8 * pairs + 2 * values
            length.append(full)
            pos, p = end, p + full
    out = np.zeros(n, dtype=np.int16)
    if length:
        words = np.frombuffer(data, dtype="<i2", count=pos // 2)
        lengths = np.asarray(length, dtype=np.int64)
        first = np.cumsum(lengths) - lengths  # start of each run in the concatenation
        k = np.arange(int(lengths.sum()), dtype=np.int64)
        out[np.repeat(np.asarray(out_start) - first, lengths) + k] = words[
            np.repeat(np.asarray(in_start) - first, lengths) + k
        ]
    return out.reshape(height, width)


def _numbers(line: str, path: Path, what: str) -> list[float]:
    try:
        values = [float(v) for v in line.split()]
    except ValueError:
        raise InputError(f"{path}: {what}: expected numbers, got {line.strip()!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{path}: {what}: values must be finite, got {line.strip()!r}")
    return values


def _rows(lines: list[str], path: Path, what: str, n_rows: int, n_cols: int) -> np.ndarray:
    rows = [_numbers(line, path, what) for line in lines]
    if len(rows) != n_rows or any(len(r) != n_cols for r in rows):
        raise InputError(
            f"{path}: {what}: expected {n_rows} line(s) of {n_cols} numbers, got "
            f"{[len(r) for r in rows]} numbers per line"
        )
    return np.asarray(rows, dtype=np.float64)


def _check_rotation(r: np.ndarray, path: Path, what: str) -> None:
    if not np.allclose(r @ r.T, np.eye(3), atol=0.05) or np.linalg.det(r) < 0:
        raise InputError(f"{path}: {what} is not a rotation matrix (R R^T != I)")


class Calibration:
    """One Biwi camera's calibration file (``depth.cal`` or ``rgb.cal``).

    Layout: 3 lines of the 3x3 intrinsic matrix, 1 line of distortion coefficients
    (not used: the images are taken as they are), 3 lines of the rotation ``R`` and 1
    line of the translation ``t`` (mm) of the extrinsics, optionally 1 line with the
    image size; blank lines between them are ignored. ``p_cam = R p + t`` takes a
    point from the reference frame (the depth camera) into this camera.

    Attributes:
        k: (3, 3) intrinsic matrix (OpenCV convention: pixel centres at integers).
        rotation: (3, 3).
        translation: (3,) mm.

    Raises:
        InputError: a missing file or a malformed one, naming the file.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise InputError(
                f"{path}: no such file; every Biwi sequence folder needs depth.cal and rgb.cal"
            )
        try:
            lines = [ln for ln in path.read_text(encoding="ascii").splitlines() if ln.strip()]
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a text calibration file") from None
        if len(lines) not in (8, 9):
            raise InputError(
                f"{path}: {len(lines)} non-empty lines; expected a Biwi calibration file: 3 "
                "lines of the intrinsic matrix, 1 of distortion, 3 of the rotation, 1 of "
                "the translation (and optionally the image size)"
            )
        self.path = path
        self.k = _rows(lines[0:3], path, "intrinsic matrix", 3, 3)
        _numbers(lines[3], path, "distortion coefficients")
        self.rotation = _rows(lines[4:7], path, "rotation", 3, 3)
        self.translation = _rows(lines[7:8], path, "translation", 1, 3)[0]
        fx, fy = self.k[0, 0], self.k[1, 1]
        if not (fx > 0 and fy > 0 and np.allclose(self.k[2], [0.0, 0.0, 1.0])):
            raise InputError(
                f"{path}: intrinsic matrix must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] "
                f"with fx, fy > 0, got {self.k.tolist()}"
            )
        _check_rotation(self.rotation, path, "rotation")

    @property
    def intrinsics(self) -> Intrinsics:
        """The pinhole camera in continuous coordinates (principal point + 0.5)."""
        return Intrinsics(self.k[0, 0], self.k[1, 1], self.k[0, 2] + 0.5, self.k[1, 2] + 0.5)


def read_pose(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``frame_NNNNN_pose.txt``: 3 lines of the head rotation, then the head centre.

    Returns:
        rotation: (3, 3).
        center: (3,) head centre in mm, in the depth camera's frame.

    Raises:
        InputError: missing or malformed, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (every frame_NNNNN_rgb.png needs its pose.txt)")
    try:
        lines = [ln for ln in path.read_text(encoding="ascii").splitlines() if ln.strip()]
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text pose file") from None
    if len(lines) != 4:
        raise InputError(
            f"{path}: {len(lines)} non-empty lines; expected a Biwi pose: 3 lines of the "
            "rotation matrix, then 1 line with the head centre (mm)"
        )
    rotation = _rows(lines[0:3], path, "rotation", 3, 3)
    center = _rows(lines[3:4], path, "head centre", 1, 3)[0]
    _check_rotation(rotation, path, "head rotation")
    return rotation, center


def euler_degrees(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a Biwi head rotation.

    The convention of the usual Biwi evaluation code (Hopenet, FSA-Net): with
    ``R' = rotation^T``, pitch = atan2(R'[2,1], R'[2,2]), yaw = -atan2(-R'[2,0],
    hypot(R'[2,1], R'[2,2])), roll = -atan2(R'[1,0], R'[0,0]).
    """
    r = np.asarray(rotation, dtype=np.float64).T
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = -math.degrees(math.atan2(-r[2, 0], math.hypot(r[2, 1], r[2, 2])))
    roll = -math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


# --------------------------------------------------------------------------- geometry
def depth_to_rgb(depth_cal: Calibration, rgb_cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) with ``p_rgb = R p_depth + t`` (mm), from the two calibration files."""
    r_d, t_d = depth_cal.rotation, depth_cal.translation
    r_c, t_c = rgb_cal.rotation, rgb_cal.translation
    rotation = r_c @ r_d.T
    return rotation, t_c - rotation @ t_d


def register_depth(
    depth: np.ndarray,
    k_depth: np.ndarray,
    k_rgb: np.ndarray,
    rotation: np.ndarray,
    translation: np.ndarray,
    shape: tuple[int, int],
) -> np.ndarray:
    """Re-render a depth map from the RGB camera (forward warping with a z-buffer).

    Each valid pixel ``(u, v)`` of depth ``z`` is lifted to
    ``p = z K_d^-1 (u, v, 1)``, moved to ``q = R p + t`` and projected with ``K_rgb``
    to the nearest pixel; where several land on one pixel the nearest wins. Pixels no
    point lands on are invalid (0): disocclusions and the shadow beside the head.

    Args:
        depth: (H, W) depth in mm, 0 = invalid.
        k_depth: (3, 3) depth camera matrix (OpenCV convention).
        k_rgb: (3, 3) RGB camera matrix (OpenCV convention).
        rotation: (3, 3) and translation: (3,) mm, depth camera -> RGB camera.
        shape: (H, W) of the RGB image.

    Returns:
        (H_rgb, W_rgb) float64 depth in mm along the RGB camera's optical axis; 0 where
        no point lands.
    """
    v, u = np.nonzero(depth > 0)
    z = depth[v, u].astype(np.float64)
    x = (u - k_depth[0, 2]) * (z / k_depth[0, 0])
    y = (v - k_depth[1, 2]) * (z / k_depth[1, 1])
    r, t = np.asarray(rotation, dtype=np.float64), np.asarray(translation, dtype=np.float64)
    qx, qy, qz = (r[i, 0] * x + r[i, 1] * y + r[i, 2] * z + t[i] for i in range(3))
    front = qz > 0
    zs = np.where(front, qz, 1.0)
    col = np.rint(k_rgb[0, 0] * qx / zs + k_rgb[0, 2])
    row = np.rint(k_rgb[1, 1] * qy / zs + k_rgb[1, 2])
    h, w = shape
    inside = front & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    pixel = row[inside].astype(np.int64) * w + col[inside].astype(np.int64)
    out = np.full(h * w, np.inf)
    np.minimum.at(out, pixel, qz[inside])  # the nearest point wins
    out[np.isinf(out)] = 0.0
    return out.reshape(h, w)


def project(k: np.ndarray, point: np.ndarray) -> tuple[float, float] | None:
    """Continuous pixel coordinates of a 3-D point (mm), or None behind the camera."""
    if point[2] <= 0:
        return None
    return (
        float(k[0, 0] * point[0] / point[2] + k[0, 2] + 0.5),
        float(k[1, 1] * point[1] / point[2] + k[1, 2] + 0.5),
    )


# --------------------------------------------------------------------------- converter
def find_sequences(src: Path) -> list[Path]:
    """The sequence folders (``01`` .. ``24``) of ``src`` or ``src/hpdb``.

    Raises:
        InputError: ``src`` is not a folder, holds none, or holds a two-digit folder
            that is not a Biwi sequence.
    """
    if not src.is_dir():
        raise InputError(f"{src}: not a folder; expected {LAYOUT}")
    root = src
    if not any(re.fullmatch(r"\d\d", p.name) for p in src.iterdir() if p.is_dir()):
        if (src / "hpdb").is_dir():
            root = src / "hpdb"
    folders = sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d\d", p.name))
    if not folders:
        raise InputError(f"{src}: no sequence folder 01..24 found; expected {LAYOUT}")
    unknown = [p.name for p in folders if p.name not in SEQUENCE_SUBJECT]
    if unknown:
        raise InputError(
            f"{root}: folder(s) {', '.join(unknown)} are not Biwi sequences (01..24 only)"
        )
    return folders


def split_of(subject: str) -> str:
    """``test``, ``val`` or ``train`` for a Biwi person (``F01`` .. ``M14``)."""
    return hc.split_of_subject(subject, TEST_SUBJECTS, VAL_SUBJECTS)


@register_source(NAME, title=TITLE, layout=LAYOUT)
def convert_biwi(src: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Write seed 001's 96 x 96 face crops of every Biwi frame (see the module docstring).

    Frames whose head centre projects outside the RGB image or has no valid depth
    around it are skipped and counted in ``extra.skipped``.

    Raises:
        InputError: a missing or malformed file, naming it and what was expected.
    """
    from tqdm.auto import tqdm

    from rgb2depth.data.io import read_rgb

    src = Path(src)
    sequences = find_sequences(src)
    frames: list[tuple[Path, int]] = []
    cals: dict[str, tuple[Calibration, Calibration]] = {}
    for folder in sequences:
        cals[folder.name] = (Calibration(folder / "depth.cal"), Calibration(folder / "rgb.cal"))
        for p in sorted(folder.iterdir()):
            m = _FRAME.fullmatch(p.name)
            if m:
                frames.append((p, int(m.group(1))))
    if not frames:
        raise InputError(
            f"{src}: no frame_NNNNN_rgb.png in the sequence folders; expected {LAYOUT}"
        )

    focal = (hc.SEED001_FOCAL_PX[NAME],) * 2
    extra: dict[str, Any] = {
        "source": TITLE,
        "url": "https://data.vision.ee.ethz.ch/cvl/gfanelli/head_pose/head_forest.html",
        "licence": "non-commercial research and education only (see the database's README)",
        "crop": {
            "method": "seed 001 dynamic face crop (w = f*R/D, h = f*R/D)",
            "focal_px": focal[0],
            "face_size_mm": hc.FACE_SIZE_MM,
            "window_radius_px": hc.WINDOW_RADIUS,
            "out_size": hc.OUT_SIZE,
            "image": "RGB camera; depth registered into it",
        },
        "split": {"test": list(TEST_SUBJECTS), "val": list(VAL_SUBJECTS), "by": "person"},
    }
    writer.set_info(**hc.crop_dataset_info("Biwi Kinect Head Pose (seed 001 face crops)", extra))
    skipped = {"head_outside_rgb": 0, "no_depth_at_head": 0}
    groups: dict[str, set[str]] = {}
    lo, hi = hc.DEPTH_RANGE
    for rgb_path, frame in tqdm(frames, desc="biwi", unit="frame", disable=not progress):
        seq = rgb_path.parent.name
        stem = f"frame_{frame:05d}"
        depth_cal, rgb_cal = cals[seq]
        rotation, center = read_pose(rgb_path.parent / f"{stem}_pose.txt")
        raw = read_depth_bin(rgb_path.parent / f"{stem}_depth.bin")
        rgb = read_rgb(rgb_path)
        r, t = depth_to_rgb(depth_cal, rgb_cal)
        registered = register_depth(raw, depth_cal.k, rgb_cal.k, r, t, rgb.shape[:2])
        head = project(rgb_cal.k, r @ center + t)
        h, w = rgb.shape[:2]
        if head is None or not (0 <= head[0] < w and 0 <= head[1] < h):
            skipped["head_outside_rgb"] += 1
            continue
        valid = (registered >= lo) & (registered <= hi)
        box = hc.face_box(registered, valid, head, focal)
        if box is None:
            skipped["no_depth_at_head"] += 1
            continue
        depth_crop, valid_crop = hc.crop_depth(registered, valid, box)
        subject = SEQUENCE_SUBJECT[seq]
        split = split_of(subject)
        yaw, pitch, roll = euler_degrees(rotation)
        camera = hc.crop_intrinsics(rgb_cal.intrinsics, box)
        writer.add(
            split,
            f"{seq}_{frame:05d}",
            rgb=hc.crop_rgb(rgb, box),
            depth=depth_crop,
            valid=valid_crop,
            meta={
                "group": subject,
                "subject": subject,
                "sequence": seq,
                "frame": frame,
                "yaw_deg": yaw,
                "pitch_deg": pitch,
                "roll_deg": roll,
                "rotation": rotation.tolist(),
                "head_center_mm": center.tolist(),
                "head_distance_mm": box.distance,
                "face_box": box.as_list(),
                "intrinsics": camera.as_dict(),
            },
        )
        groups.setdefault(subject, set()).add(seq)
    for subject, seqs in sorted(groups.items()):
        writer.add_group(subject, split_of(subject), sequences=sorted(seqs))
    extra["skipped"] = skipped
    writer.set_info(**hc.crop_dataset_info("Biwi Kinect Head Pose (seed 001 face crops)", extra))
