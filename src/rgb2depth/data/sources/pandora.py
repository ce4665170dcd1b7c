"""Converter for the Pandora dataset (``rgb2depth convert pandora SRC``).

Pandora (Borghi et al., CVPR 2017, "POSEidon") holds Kinect One (v2) recordings of 22
subjects, 5 sequences each. ``SRC`` is the dataset's root folder::

    SRC/<subject>/              one folder per subject; its number is the digits of
                                the name (01 .. 22)
        <sequence>/             5 per subject: S1 .. S5 in natural name order
            RGB/                frames; the first number in a file name is the frame
            DEPTH/              16-bit PNG depth in mm, numbered like RGB/
            data.json           a list with one object per annotated frame

Every object of ``data.json`` gives ``frame_num``, the head angles in degrees as
``orientation.euler.{yaw, pitch, roll}``, and the head centre in depth-image pixels
(``head_center`` and the other spellings of :data:`HEAD_KEYS`: ``[x, y]``,
``[x, y, ...]`` or ``{"x": .., "y": ..}``). This layout is documented in
``docs/sources/pandora.md`` with what was and was not verified.

Seed 001's face crop (:mod:`._headcrop`, ``f = 365``) is cut around the head centre
from the depth map and, with the same pixels, from the RGB frame, which must
therefore be registered to the depth frame (the same size); else the conversion
stops with a message. Per-frame angles, the sequence and seed 001's subsets (angle
subsets A1 / A2, sequence sets S1-S3 / S4-S5) go to ``meta.jsonl``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from rgb2depth.data.sources import _headcrop as hc
from rgb2depth.data.sources import register_source
from rgb2depth.data.sources._writer import DatasetWriter
from rgb2depth.errors import InputError

NAME = "pandora"
TITLE = "Pandora"
LAYOUT = (
    "the Pandora root folder: <subject>/<sequence>/ (5 sequences per subject) with RGB/, "
    "DEPTH/ (16-bit PNG, mm) and data.json"
)

TEST_SUBJECTS = (10, 14, 16, 20)
"""Test subjects of seed 001 ("as reported in the original paper", POSEidon)."""

VAL_SUBJECTS = (9, 18, 21, 22)
"""Validation subjects of seed 001's group's Pandora face-verification code
(0-based ids 8, 17, 20, 21 beside the test ids 9, 13, 15, 19)."""

N_SEQUENCES = 5
"""Sequences per subject: S1, S2, S3 constrained movements, S4, S5 free ones."""

ANGLE_LIMIT_DEG = 10.0
"""Seed 001's A1: every one of yaw, pitch, roll within [-10, 10] degrees; else A2."""

HEAD_KEYS = ("head_center", "head_centre", "head_pos", "head_position", "head")
"""Keys of a ``data.json`` frame searched, in order, for the head centre (pixels)."""

_DIGITS = re.compile(r"\d+")


def _number(name: str) -> int | None:
    m = _DIGITS.search(name)
    return int(m.group()) if m else None


def _natural(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def subject_folders(src: Path) -> dict[int, Path]:
    """Subject number -> folder, for the folders of ``src`` whose name holds a number.

    Raises:
        InputError: ``src`` is not a folder, holds no subject folder, or two folders
            give the same number.
    """
    if not src.is_dir():
        raise InputError(f"{src}: not a folder; expected {LAYOUT}")
    subjects: dict[int, Path] = {}
    for p in sorted(src.iterdir()):
        n = _number(p.name) if p.is_dir() else None
        if n is None:
            continue
        if n in subjects:
            raise InputError(f"{src}: folders {subjects[n].name} and {p.name} are both subject {n}")
        subjects[n] = p
    if not subjects:
        raise InputError(f"{src}: no subject folder (01 .. 22) found; expected {LAYOUT}")
    return subjects


def sequence_folders(subject: Path) -> list[Path]:
    """The 5 sequence folders of a subject, S1 .. S5 in natural name order.

    Raises:
        InputError: not exactly 5 folders holding a ``data.json``.
    """
    found = sorted(
        (p for p in subject.iterdir() if p.is_dir() and (p / "data.json").is_file()),
        key=lambda p: _natural(p.name),
    )
    if len(found) != N_SEQUENCES:
        names = ", ".join(p.name for p in found) or "none"
        raise InputError(
            f"{subject}: {len(found)} sequence folder(s) with a data.json ({names}); "
            f"expected {N_SEQUENCES} (S1 .. S5, in name order)"
        )
    return found


def _frames(folder: Path) -> dict[int, Path]:
    """Frame number -> image file (.png, .jpg) in ``folder``."""
    out: dict[int, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        n = _number(p.stem)
        if n is None:
            continue
        if n in out:
            raise InputError(f"{folder}: files {out[n].name} and {p.name} are both frame {n}")
        out[n] = p
    return out


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, dict) and "x" in value and "y" in value:
        value = [value["x"], value["y"]]
    if isinstance(value, (list, tuple)) and len(value) >= 2:
        try:
            x, y = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
        if math.isfinite(x) and math.isfinite(y):
            return x, y
    return None


def _angle(euler: Any, key: str) -> float | None:
    try:
        v = float(euler[key])
    except (KeyError, TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_annotations(path: Path) -> dict[int, dict[str, Any]]:
    """Read a ``data.json``: frame number -> ``{"yaw", "pitch", "roll", "head"}``.

    ``head`` is the head centre (x, y) as given: pixel indices of the depth image.

    Raises:
        InputError: malformed JSON, not a list of objects, or a frame without
            ``frame_num``, the three angles or a head centre (the message names the
            file, the frame and the keys it has).
    """
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: malformed JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{path}: expected a JSON list with one object per frame")
    out: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        frame = row.get("frame_num")
        if isinstance(frame, bool) or not isinstance(frame, (int, float)) or frame != int(frame):
            raise InputError(f"{path}: object {i} has no integer 'frame_num' (keys: {sorted(row)})")
        frame = int(frame)
        if frame in out:
            raise InputError(f"{path}: frame_num {frame} appears twice")
        orientation = row.get("orientation")
        euler = orientation.get("euler") if isinstance(orientation, dict) else None
        angles = {k: _angle(euler, k) for k in ("yaw", "pitch", "roll")}
        if any(v is None for v in angles.values()):
            raise InputError(
                f"{path}: frame {frame}: expected the head angles in degrees as "
                f"orientation.euler.{{yaw, pitch, roll}} (keys: {sorted(row)})"
            )
        head = next((p for k in HEAD_KEYS if k in row and (p := _point(row[k]))), None)
        if head is None:
            raise InputError(
                f"{path}: frame {frame}: no head centre in depth pixels; expected one of "
                f"{', '.join(HEAD_KEYS)} as [x, y] or {{'x', 'y'}} (keys: {sorted(row)})"
            )
        out[frame] = {**angles, "head": head}
    return out


def angle_subset(yaw: float, pitch: float, roll: float) -> str:
    """Seed 001's equation (7): ``A1`` when all three angles are in [-10, 10] degrees."""
    limit = ANGLE_LIMIT_DEG
    return "A1" if all(-limit <= a <= limit for a in (yaw, pitch, roll)) else "A2"


def sequence_set(index: int) -> str:
    """Seed 001's sequence sets: ``S1-S3`` (constrained) or ``S4-S5`` (free, occlusions)."""
    return "S1-S3" if index <= 3 else "S4-S5"


def split_of(subject: int) -> str:
    """``test``, ``val`` or ``train`` for a Pandora subject number."""
    return hc.split_of_subject(subject, TEST_SUBJECTS, VAL_SUBJECTS)


@register_source(NAME, title=TITLE, layout=LAYOUT)
def convert_pandora(src: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Write seed 001's 96 x 96 face crops of every annotated Pandora frame.

    Frames without an RGB or depth file, and frames with no valid depth around the
    head centre, are skipped and counted in ``extra.skipped``.

    Raises:
        InputError: a missing or malformed file, naming it and what was expected.
    """
    from tqdm.auto import tqdm

    from rgb2depth.data.io import read_depth, read_rgb

    src = Path(src)
    jobs: list[tuple[int, int, Path, int, dict[str, Any], Path, Path]] = []
    skipped = {"no_rgb": 0, "no_depth": 0, "no_depth_at_head": 0}
    for subject, folder in subject_folders(src).items():
        for index, seq in enumerate(sequence_folders(folder), start=1):
            notes = read_annotations(seq / "data.json")
            for sub in ("RGB", "DEPTH"):
                if not (seq / sub).is_dir():
                    raise InputError(f"{seq}: no {sub}/ folder beside data.json; expected {LAYOUT}")
            rgb_files, depth_files = _frames(seq / "RGB"), _frames(seq / "DEPTH")
            for frame, note in sorted(notes.items()):
                if frame not in rgb_files:
                    skipped["no_rgb"] += 1
                elif frame not in depth_files:
                    skipped["no_depth"] += 1
                else:
                    jobs.append(
                        (subject, index, seq, frame, note, rgb_files[frame], depth_files[frame])
                    )
    if not jobs:
        raise InputError(f"{src}: no annotated frame has both an RGB and a DEPTH image")

    focal = (hc.SEED001_FOCAL_PX[NAME],) * 2
    extra: dict[str, Any] = {
        "source": TITLE,
        "url": "https://aimagelab.ing.unimore.it (the Pandora page of AImageLab)",
        "licence": "research use, on request from AImageLab (see the dataset's page)",
        "crop": {
            "method": "seed 001 dynamic face crop (w = f*R/D, h = f*R/D)",
            "focal_px": focal[0],
            "face_size_mm": hc.FACE_SIZE_MM,
            "window_radius_px": hc.WINDOW_RADIUS,
            "out_size": hc.OUT_SIZE,
            "image": "depth frame (RGB registered to it)",
        },
        "split": {"test": list(TEST_SUBJECTS), "val": list(VAL_SUBJECTS), "by": "subject"},
        "subsets": {
            "angle": "A1: yaw, pitch and roll all in [-10, 10] degrees; A2: the others",
            "sequence": "S1-S3: sequences 1-3 (constrained); S4-S5: sequences 4-5",
        },
    }
    writer.set_info(**hc.crop_dataset_info("Pandora (seed 001 face crops)", extra))
    lo, hi = hc.DEPTH_RANGE
    seen: dict[int, set[str]] = {}
    for subject, index, seq, frame, note, rgb_path, depth_path in tqdm(
        jobs, desc="pandora", unit="frame", disable=not progress
    ):
        depth, valid = read_depth(depth_path, png_scale=1.0)
        h, w = depth.shape
        hx, hy = note["head"]
        if not (0 <= hx < w and 0 <= hy < h):
            raise InputError(
                f"{seq / 'data.json'}: frame {frame}: head centre ({hx:g}, {hy:g}) lies outside "
                f"the {w} x {h} depth image {depth_path.name}; expected depth-image pixels"
            )
        rgb = read_rgb(rgb_path)
        if rgb.shape[:2] != (h, w):
            raise InputError(
                f"{rgb_path}: RGB is {rgb.shape[1]} x {rgb.shape[0]} but the depth map "
                f"{depth_path.name} is {w} x {h}; the converter needs RGB frames registered "
                "to the depth frames (the same size)"
            )
        in_range = valid & (depth >= lo) & (depth <= hi)
        box = hc.face_box(depth, in_range, (hx + 0.5, hy + 0.5), focal)
        if box is None:
            skipped["no_depth_at_head"] += 1
            continue
        depth_crop, valid_crop = hc.crop_depth(depth, in_range, box)
        yaw, pitch, roll = note["yaw"], note["pitch"], note["roll"]
        writer.add(
            split_of(subject),
            f"{subject:02d}_{index}_{frame:06d}",
            rgb=hc.crop_rgb(rgb, box),
            depth=depth_crop,
            valid=valid_crop,
            meta={
                "group": subject,
                "subject": subject,
                "sequence": seq.name,
                "sequence_index": index,
                "sequence_set": sequence_set(index),
                "frame": frame,
                "yaw_deg": yaw,
                "pitch_deg": pitch,
                "roll_deg": roll,
                "angle_subset": angle_subset(yaw, pitch, roll),
                "head_px": [hx, hy],
                "head_distance_mm": box.distance,
                "face_box": box.as_list(),
            },
        )
        seen.setdefault(subject, set()).add(seq.name)
    for subject, seqs in sorted(seen.items()):
        writer.add_group(subject, split_of(subject), sequences=sorted(seqs, key=_natural))
    extra["skipped"] = skipped
    writer.set_info(**hc.crop_dataset_info("Pandora (seed 001 face crops)", extra))
