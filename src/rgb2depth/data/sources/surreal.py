"""SURREAL -> the folder format with seed 000's protocol (``rgb2depth convert surreal SRC``).

``SRC`` is the SURREAL folder as downloaded (``SURREAL/data/cmu``, or ``cmu`` itself, or
the folder holding either, or one split folder such as ``cmu/test``)::

    cmu/<split>/run<r>/<sequence>/<sequence>_c<NNNN>.mp4         RGB, 320 x 240, T frames
    cmu/<split>/run<r>/<sequence>/<sequence>_c<NNNN>_depth.mat   depth_1 .. depth_T
    cmu/<split>/run<r>/<sequence>/<sequence>_c<NNNN>_info.mat    optional (camLoc, joints3D, ...)

``split`` is ``train``, ``val`` or ``test`` (SURREAL's own split, the one of Varol et
al. 2017 that seed 000 uses; its README calls ``val`` a small subset of ``test``). A
depth ``.mat`` is MATLAB v5 (scipy.io) with one (240, 320) float array per frame in
metres, the renderer's depth of the body; the background is 1e10 and is written as
invalid (SURREAL's own code calls a pixel foreground when its depth is at most 1e3).

What is written (docs/sources/surreal.md has the details the evaluation relies on):

- ``test`` and ``val`` (paired): the **middle frame** ``t = ceil(T / 2)`` (1-based, 50
  of 100) of every clip, as SURREAL's test loader and seed 000 evaluate.
- ``train`` (unpaired, ``unpaired_splits: ["train"]``): seed 000's training set. 2500
  clips drawn at random (seeded) from the train clips; from each, 20 frames give only
  their RGB image and 20 other frames only their depth map, so that no RGB image has
  its depth map in the set.
- Depth is **absolute**, in metres, as rendered (16-bit PNG in millimetres); the
  background is invalid. Seed 000's median subtraction and its +-0.4725 m window are
  not applied to the files: each depth sample's ``meta.jsonl`` row holds ``median_m``
  (the median of its valid pixels) so that ``depth - median_m`` is the seed's value.
- Frames whose depth has no foreground pixel (the body outside the view) are skipped,
  and counted in ``dataset.json`` ``extra.skipped_empty``.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from rgb2depth.data.sources import register_source
from rgb2depth.data.sources._writer import DatasetWriter
from rgb2depth.errors import InputError

SPLITS = ("train", "val", "test")
FRAME_SIZE = (240, 320)
"""(H, W) of every SURREAL frame."""
INTRINSICS = {"fx": 600.0, "fy": 600.0, "cx": 160.0, "cy": 120.0}
"""SURREAL's Blender camera (60 mm lens, 32 mm sensor width) at 240 x 320, as in its
``datageneration/misc/3Dto2D/getIntrinsicBlender.m``."""
FOREGROUND_MAX_M = 1e3
"""Depth above this is background (SURREAL writes 1e10 there; its loader uses 1e3)."""
DEPTH_RANGE = (0.1, 30.0)
"""Metres; the camera's near clip is 0.1 m and it stands about 8 +- 1 m from the body."""
PNG_SCALE = 0.001
PROTOCOL_HALF_RANGE_M = 0.4725
"""Seed 000: depth minus its median is fitted into +-0.4725 m (recorded, not applied)."""
TRAIN_CLIPS = 2500
FRAMES_PER_DOMAIN = 20
SEED = 0

LAYOUT = (
    "the SURREAL folder (SURREAL/data/cmu, cmu, or one split folder like cmu/test) with "
    "<split>/run<r>/<sequence>/<sequence>_c<NNNN>.mp4 and ..._depth.mat per clip"
)
_CLIP = re.compile(r"^(?P<sequence>.+)_c(?P<clip>\d{4})$")
_RUN = re.compile(r"^run\d+$")


@dataclass(frozen=True)
class Clip:
    """One SURREAL clip.

    Attributes:
        split: ``train``, ``val`` or ``test``.
        run: the ``run<r>`` folder (clip overlap 30 / 50 / 70 %).
        sequence: the MoCap sequence (``01_01``); the sample's group.
        clip: the clip name, ``<sequence>_c<NNNN>``.
        video: the ``.mp4``.
    """

    split: str
    run: str
    sequence: str
    clip: str
    video: Path

    @property
    def depth_file(self) -> Path:
        return self.video.with_name(f"{self.clip}_depth.mat")

    @property
    def info_file(self) -> Path:
        return self.video.with_name(f"{self.clip}_info.mat")

    def sample_name(self, frame: int) -> str:
        """``<run>_<clip>_f<ttt>``: unique, as a clip name recurs in every run."""
        return f"{self.run}_{self.clip}_f{frame:03d}"


# --------------------------------------------------------------------------- finding clips
def _split_folders(src: Path) -> dict[str, Path]:
    """``{split: folder}`` for the SURREAL folder ``src`` (see the module docstring)."""
    if not src.is_dir():
        raise InputError(f"{src}: expected the SURREAL folder, got a file ({LAYOUT})")
    for base in (src / "data" / "cmu", src / "cmu", src):
        found = {s: base / s for s in SPLITS if (base / s).is_dir()}
        if found:
            return found
    if src.name in SPLITS and any(_RUN.match(p.name) for p in src.iterdir() if p.is_dir()):
        return {src.name: src}
    raise InputError(f"{src}: no train, val or test folder found; expected {LAYOUT}")


def find_clips(src: Path) -> list[Clip]:
    """Every clip (``.mp4``) under the SURREAL folder ``src``, in a stable order.

    Raises:
        InputError: no split folder, or no clip in any.
    """
    clips = []
    for split, folder in _split_folders(Path(src)).items():
        for video in sorted(folder.glob("run*/*/*.mp4")):
            run = video.parent.parent.name
            m = _CLIP.match(video.stem)
            if not _RUN.match(run) or m is None:
                continue
            clips.append(Clip(split, run, m.group("sequence"), video.stem, video))
    if not clips:
        raise InputError(
            f"{src}: no SURREAL clip (<split>/run<r>/<sequence>/<sequence>_c<NNNN>.mp4) found"
        )
    return clips


# --------------------------------------------------------------------------- reading a clip
def count_frames(path: Path) -> int:
    """The number of frames T of a depth ``.mat`` (its ``depth_1 .. depth_T``).

    Raises:
        InputError: missing, not a MATLAB v5 file, or not holding ``depth_1 .. depth_T``
            of shape (240, 320).
    """
    import scipy.io

    if not path.is_file():
        raise InputError(f"{path} not found: every SURREAL clip needs its _depth.mat")
    try:
        entries = scipy.io.whosmat(str(path))
    except (OSError, ValueError, NotImplementedError, TypeError) as e:
        raise InputError(f"{path}: not a readable MATLAB v5 .mat ({e})") from None
    shapes = {name: tuple(shape) for name, shape, _ in entries}
    numbers = sorted(int(k[6:]) for k in shapes if re.fullmatch(r"depth_\d+", k))
    if not numbers or numbers != list(range(1, len(numbers) + 1)):
        raise InputError(
            f"{path}: expected variables depth_1 .. depth_T (one per frame), found "
            f"{sorted(shapes)[:6]}"
        )
    for k in (1, len(numbers)):
        if shapes[f"depth_{k}"] != FRAME_SIZE:
            raise InputError(
                f"{path}: depth_{k} is {shapes[f'depth_{k}']}; expected {FRAME_SIZE} (H, W)"
            )
    return len(numbers)


def read_depth(path: Path, frames: Iterable[int]) -> dict[int, np.ndarray]:
    """``{t: (240, 320) float64 metres}`` for the 1-based frames ``t``; background NaN.

    Raises:
        InputError: a frame missing or of another shape.
    """
    import scipy.io

    wanted = sorted(set(frames))
    keys = [f"depth_{t}" for t in wanted]
    try:
        mat = scipy.io.loadmat(str(path), variable_names=keys)
    except (OSError, ValueError, NotImplementedError, TypeError) as e:
        raise InputError(f"{path}: not a readable MATLAB v5 .mat ({e})") from None
    out = {}
    for t, key in zip(wanted, keys, strict=True):
        if key not in mat:
            raise InputError(f"{path}: no {key!r}; expected depth_1 .. depth_T")
        d = np.asarray(mat[key], dtype=np.float64)
        if d.shape != FRAME_SIZE:
            raise InputError(f"{path}: {key} is {d.shape}; expected {FRAME_SIZE} (H, W)")
        d = d.copy()
        d[~(np.isfinite(d) & (d <= FOREGROUND_MAX_M))] = np.nan
        out[t] = d
    return out


def read_frames(path: Path, frames: Iterable[int]) -> dict[int, np.ndarray]:
    """``{t: (240, 320, 3) uint8 RGB}`` for the 1-based frames ``t`` of a video.

    The video is decoded from its start (exact frames, unlike seeking in H.264).

    Raises:
        InputError: the video cannot be opened or ends before the last frame wanted,
            or its frames are not 240 x 320.
    """
    import cv2

    wanted = set(frames)
    last = max(wanted)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: cannot be opened as a video")
        out = {}
        for t in range(1, last + 1):
            if t in wanted:
                ok, bgr = cap.read()
                if ok:
                    if bgr.shape[:2] != FRAME_SIZE:
                        raise InputError(
                            f"{path}: frames are {bgr.shape[:2]} (H, W); expected {FRAME_SIZE}"
                        )
                    out[t] = np.ascontiguousarray(bgr[..., ::-1])
            else:
                ok = cap.grab()
            if not ok:
                raise InputError(
                    f"{path}: the video ends after {t - 1} frame(s) but frame {t} is needed "
                    "(its _depth.mat has more frames)"
                )
        return out
    finally:
        cap.release()


def read_info(path: Path) -> dict[str, np.ndarray]:
    """``camLoc``, ``joints3D`` and ``camDist`` of a clip's ``_info.mat``; {} without one.

    Raises:
        InputError: the file exists but is not a readable MATLAB file.
    """
    if not path.is_file():
        return {}
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path), variable_names=["camLoc", "joints3D", "camDist"])
    except (OSError, ValueError, NotImplementedError, TypeError) as e:
        raise InputError(f"{path}: not a readable MATLAB v5 .mat ({e})") from None
    return {k: np.asarray(v) for k, v in mat.items() if not k.startswith("__")}


def frame_info(info: dict[str, np.ndarray], frame: int) -> dict[str, Any]:
    """What a clip's info says about ``frame`` (1-based): ``cam_dist_m`` and
    ``pelvis_depth_m`` (the depth SURREAL's own code aligns its depth classes to)."""
    out: dict[str, Any] = {}
    if "camDist" in info and info["camDist"].size == 1:
        out["cam_dist_m"] = round(float(info["camDist"].ravel()[0]), 6)
    cam = np.asarray(info.get("camLoc", []), dtype=np.float64).ravel()
    joints = np.asarray(info.get("joints3D", []), dtype=np.float64)
    if cam.size == 3 and joints.ndim == 3 and joints.shape[:2] == (3, 24):
        if frame <= joints.shape[2]:
            # the camera looks along -x, so the pelvis (joint 0) lies camLoc_x - pelvis_x
            # in front of it
            out["pelvis_depth_m"] = round(float(cam[0] - joints[0, 0, frame - 1]), 6)
    return out


def foreground_stats(depth: np.ndarray) -> dict[str, Any] | None:
    """``median_m`` and ``bbox`` [x, y, w, h] of the valid pixels; None when there is none."""
    valid = np.isfinite(depth)
    if not valid.any():
        return None
    rows = np.flatnonzero(valid.any(axis=1))
    cols = np.flatnonzero(valid.any(axis=0))
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]), int(rows[0]), int(rows[-1])
    return {
        "median_m": round(float(np.median(depth[valid])), 6),
        "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1],
    }


# --------------------------------------------------------------------------- the protocol
def middle_frame(frames: int) -> int:
    """The 1-based middle frame ``ceil(T / 2)`` (SURREAL's test loader; 50 of 100)."""
    return max(1, math.ceil(frames / 2))


def pick_train_clips(clips: list[Clip], n: int = TRAIN_CLIPS, seed: int = SEED) -> list[Clip]:
    """``n`` clips drawn without replacement (all when there are fewer), in input order."""
    if len(clips) <= n:
        return list(clips)
    keep = np.random.default_rng(seed).choice(len(clips), size=n, replace=False)
    return [clips[i] for i in sorted(keep.tolist())]


def split_frames(
    clip: Clip, candidates: list[int], k: int = FRAMES_PER_DOMAIN, seed: int = SEED
) -> tuple[list[int], list[int]]:
    """Disjoint RGB and depth frames of a train clip: ``k`` each (fewer when the clip has
    fewer than ``2 k`` candidate frames), drawn by a generator seeded with ``seed`` and
    the clip's run and name, so each clip's draw does not depend on the others."""
    k = min(k, len(candidates) // 2)
    rng = np.random.default_rng([seed, zlib.crc32(f"{clip.run}/{clip.clip}".encode())])
    drawn = rng.choice(np.asarray(candidates), size=2 * k, replace=False).tolist()
    return sorted(drawn[:k]), sorted(drawn[k:])


def _meta(clip: Clip, frame: int, frames: int, **extra: Any) -> dict[str, Any]:
    return {
        "group": clip.sequence,
        "clip": clip.clip,
        "run": clip.run,
        "frame": frame,
        "frames": frames,
        **extra,
    }


@register_source("surreal", title="SURREAL", layout=LAYOUT)
def convert_surreal(
    src: Path,
    writer: DatasetWriter,
    *,
    progress: bool,
    train_clips: int = TRAIN_CLIPS,
    frames_per_domain: int = FRAMES_PER_DOMAIN,
    seed: int = SEED,
) -> None:
    """Convert SURREAL with seed 000's protocol (see the module docstring).

    Args:
        src: the SURREAL folder.
        writer: the output.
        progress: show a progress bar.
        train_clips: train clips drawn (seed 000: 2500).
        frames_per_domain: RGB-only and depth-only frames per train clip (seed 000: 20).
        seed: the random draw of train clips and frames.

    Raises:
        InputError: no clip found; a clip's ``_depth.mat`` missing or malformed; a video
            that cannot be read or is shorter than its depth.
    """
    clips = find_clips(Path(src))
    train = [c for c in clips if c.split == "train"]
    chosen = pick_train_clips(train, train_clips, seed)
    work = [c for c in clips if c.split != "train"] + chosen
    skipped: dict[str, int] = {}
    fields: dict[str, Any] = {
        "name": "SURREAL",
        "kind": "bodies",
        "depth_units": "m",
        "depth_range": list(DEPTH_RANGE),
        "png_scale": PNG_SCALE,
        "png_offset": 0.0,
        "intrinsics": dict(INTRINSICS),
        "image_size": list(FRAME_SIZE),
        "extra": {
            "dataset": "SURREAL: Learning from Synthetic Humans (Varol et al., CVPR 2017)",
            "url": "https://www.di.ens.fr/willow/research/surreal/data/",
            "depth": "absolute depth in metres as rendered; background (1e10) invalid; "
            "meta.jsonl median_m = median of the sample's valid depth",
            "protocol": {
                "seed": "000",
                "eval_frame": "middle, ceil(T/2), 1-based",
                "depth_minus_median_range_m": [-PROTOCOL_HALF_RANGE_M, PROTOCOL_HALF_RANGE_M],
                "train_clips": len(chosen),
                "train_clips_available": len(train),
                "frames_per_domain": frames_per_domain,
                "random_seed": seed,
            },
            "skipped_empty": skipped,
        },
    }
    writer.set_info(**fields)
    if chosen:
        writer.mark_unpaired("train")
    sequences: dict[str, dict[str, Any]] = {}
    for clip in tqdm(work, desc="surreal", unit="clip", disable=not progress):
        n_frames = count_frames(clip.depth_file)
        info = read_info(clip.info_file)
        if clip.split == "train":
            depth = read_depth(clip.depth_file, range(1, n_frames + 1))
            stats = {t: foreground_stats(d) for t, d in depth.items()}
            candidates = [t for t, st in stats.items() if st is not None]
            skipped["train"] = skipped.get("train", 0) + n_frames - len(candidates)
            rgb_frames, depth_frames = split_frames(clip, candidates, frames_per_domain, seed)
            rgb = read_frames(clip.video, rgb_frames) if rgb_frames else {}
            for t in rgb_frames:
                st = stats[t]
                assert st is not None
                meta = _meta(clip, t, n_frames, domain="rgb", bbox=st["bbox"])
                writer.add("train", clip.sample_name(t), rgb=rgb[t], meta=meta)
            for t in depth_frames:
                st = stats[t]
                assert st is not None
                meta = _meta(clip, t, n_frames, domain="depth", **st, **frame_info(info, t))
                d = depth[t]
                writer.add("train", clip.sample_name(t), depth=d, valid=np.isfinite(d), meta=meta)
            used = len(rgb_frames) + len(depth_frames)
        else:
            t = middle_frame(n_frames)
            d = read_depth(clip.depth_file, [t])[t]
            st = foreground_stats(d)
            if st is None:
                skipped[clip.split] = skipped.get(clip.split, 0) + 1
                continue
            rgb = read_frames(clip.video, [t])
            meta = _meta(clip, t, n_frames, **st, **frame_info(info, t))
            writer.add(
                clip.split,
                clip.sample_name(t),
                rgb=rgb[t],
                depth=d,
                valid=np.isfinite(d),
                meta=meta,
            )
            used = 1
        if used:
            g = sequences.setdefault(clip.sequence, {"splits": set(), "clips": 0})
            g["splits"].add(clip.split)
            g["clips"] += 1
    for sequence, g in sorted(sequences.items()):
        writer.add_group(sequence, "+".join(sorted(g["splits"])), clips=g["clips"])
    writer.set_info(**fields)  # now with the counts of skipped frames
