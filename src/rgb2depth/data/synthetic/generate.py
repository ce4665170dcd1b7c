"""Write a synthetic RGB-D dataset folder: seeding, splits, domains, files, preview.

Seeding: group ``g`` of kind ``K`` draws its parameters from
``SeedSequence([seed, crc32(K), 0, g])`` and sample ``i`` renders with
``SeedSequence([seed, crc32(K), 1, i])``, so every file depends only on the
arguments and the same arguments give byte-identical folders.

Splits are by group (face identity, liner, room): no group appears in two
splits. About 10% of the groups go to ``val`` and 10% to ``test`` (at least one
each once there are 3 groups), the rest to ``train``.

Unpaired sets (``unpaired=True``): the train groups alternate between the
RGB-only and the depth-only domain (as seed 000 prepares Texas-3DFRD), each view
rendered for its domain (``surfaces`` takes RGB at 4.2 mm and depth at 1.9 mm);
``val`` and ``test`` stay paired so that results can be measured.

Framing (``framing="face"``, faces only): each sample is cropped around its face as
face mode (``predict --face``) crops a photo, see :mod:`rgb2depth.data.synthetic.framing`;
each sample then has its own intrinsics (in ``meta.jsonl``), and ``dataset.json`` none.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import re
import signal
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from rgb2depth.data.format import DatasetInfo
from rgb2depth.data.io import atomic_dir, default_valid, encode_depth_png, save_png
from rgb2depth.data.synthetic.base import RenderedSample, SceneKind, View
from rgb2depth.errors import InputError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class PlannedSample:
    """Where sample ``index`` goes: its group, split and domain."""

    index: int
    group: int
    split: str
    view: View

    @property
    def name(self) -> str:
        return f"{self.index:06d}"


def scene_rng(seed: int, kind: str, stream: int, index: int) -> np.random.Generator:
    """The RNG of group ``index`` (``stream`` 0) or sample ``index`` (``stream`` 1)."""
    key = zlib.crc32(kind.encode())
    return np.random.default_rng(np.random.SeedSequence([seed, key, stream, index]))


def split_groups(n_groups: int) -> list[str]:
    """The split of each group: ~80/10/10, val and test at the end of the list."""
    if n_groups >= 3:
        n_val = max(1, round(0.1 * n_groups))
        n_test = max(1, round(0.1 * n_groups))
    else:
        n_val = n_test = 0
    n_train = n_groups - n_val - n_test
    return ["train"] * n_train + ["val"] * n_val + ["test"] * n_test


def plan(kind: SceneKind, n: int, *, unpaired: bool = False) -> list[PlannedSample]:
    """Assign ``n`` samples to groups, splits and domains."""
    vpg = kind.views_per_group
    n_groups = math.ceil(n / vpg)
    splits = split_groups(n_groups)
    out = []
    for i in range(n):
        g = i // vpg
        split = splits[g]
        view: View = "paired"
        if unpaired and split == "train":
            view = "rgb" if g % 2 == 0 else "depth"
        out.append(PlannedSample(i, g, split, view))
    return out


def parse_size(size: int | str | tuple[int, int]) -> tuple[int, int]:
    """``128`` / ``"128"`` -> (128, 128); ``"160x128"`` (W x H) -> (128, 160) as (H, W)."""
    if isinstance(size, tuple):
        h, w = size
    elif isinstance(size, int):
        h = w = size
    else:
        text = str(size).lower().strip()
        try:
            if "x" in text:
                w_s, h_s = text.split("x")
                w, h = int(w_s), int(h_s)
            else:
                h = w = int(text)
        except ValueError:
            raise InputError(
                f"size must be S or WxH in pixels (e.g. 128, 160x128), got {size!r}"
            ) from None
    if not (16 <= h <= 4096 and 16 <= w <= 4096):
        raise InputError(f"size must be between 16 and 4096 pixels per side, got {w}x{h} (WxH)")
    return int(h), int(w)


def sample_valid(kind: SceneKind, sample: RenderedSample) -> np.ndarray:
    """The valid-depth mask of a rendered sample."""
    if kind.all_valid:
        return np.ones(sample.depth.shape, dtype=bool)
    return default_valid(sample.depth)


def _write_png(path: Path, array: np.ndarray) -> None:
    # Inside the writer's temporary folder: the folder rename is the atomic step.
    Image.fromarray(array).save(path, format="PNG", compress_level=_PNG_LEVEL)


_PNG_LEVEL = 3  # zlib level: as small as 6 on these images within 1%, and faster
_JOB: dict[str, Any] = {}


def _render_group(chunk: list[PlannedSample]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Render and write the views of one group; return its parameters and meta rows.

    Runs in a worker process (or in-process for one worker); the job settings
    are in ``_JOB`` (set before the pool starts, inherited by the workers).
    """
    from rgb2depth.data.synthetic.framing import render_framed

    k: SceneKind = _JOB["kind"]
    seed, height, width, root = _JOB["seed"], _JOB["height"], _JOB["width"], _JOB["root"]
    group = k.sample_group(scene_rng(seed, k.name, 0, chunk[0].group))
    rows = []
    for p in chunk:
        rng = scene_rng(seed, k.name, 1, p.index)
        if _JOB["framing"] == "face":
            sample = render_framed(k, group, rng, height, width)
        else:
            sample = k.render(group, rng, height, width, p.view)
        if p.view in ("paired", "rgb"):
            _write_png(root / p.split / "rgb" / f"{p.name}.png", sample.rgb)
        if p.view in ("paired", "depth"):
            counts = encode_depth_png(
                sample.depth,
                scale=k.png_scale,
                offset=k.png_offset,
                valid=sample_valid(k, sample),
            )
            _write_png(root / p.split / "depth" / f"{p.name}.png", counts)
        rows.append(
            {"name": p.name, "group": p.group, k.group_label: p.group, "view": p.view} | sample.meta
        )
    return group, rows


def _worker_init() -> None:
    """Set up a pool worker: Ctrl-C is left to the main process, and it dies with it.

    A Ctrl-C at a terminal reaches every process of the group; the main process
    stops the pool (SIGTERM) and removes its temporary folder, so the workers
    ignore SIGINT instead of each printing a traceback. If the main process is
    killed, the kernel sends each worker SIGTERM (Linux ``PR_SET_PDEATHSIG``), so
    none keeps writing into the temporary folder that the next run removes.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no libc prctl: workers end at the next task
            pass
    if os.getppid() != _JOB.get("parent"):  # the main process died before prctl
        os._exit(1)


def _preview(root: Path, info: DatasetInfo, limit: int = 24) -> np.ndarray:
    """A contact sheet of the first paired samples, read back from the written files."""
    from rgb2depth.data.datasets import PairedDepthDataset
    from rgb2depth.viz import colorize_depth, contact_sheet

    tiles: list[list[np.ndarray]] = []
    for split in info.splits:
        if not info.is_paired(split):
            continue
        ds = PairedDepthDataset(root, split)
        for i in range(min(len(ds), limit - len(tiles))):
            s = ds.load(i)
            rgb = (s["rgb"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            tiles.append([rgb, colorize_depth(s["depth"][0].numpy(), s["mask"][0].numpy())])
    return contact_sheet(tiles, columns=4)


GENERATED_FILES = ("dataset.json", "groups.jsonl", "preview.png")
"""The files ``generate`` writes at the top of a dataset folder, beside the split folders."""
_SAMPLE_FILE = re.compile(r"\d{6,}\.png")
_ACCEPTED = (
    "--overwrite replaces only a dataset folder that rgb2depth generate wrote "
    "(dataset.json, groups.jsonl, preview.png and train/val/test folders, nothing else)"
)


def _foreign_entry(out: Path) -> str | None:
    """The first thing in ``out`` that ``generate`` does not write, or None."""
    for entry in sorted(out.iterdir()):
        rel = entry.relative_to(out)
        if entry.is_symlink():
            return f"the link {rel}"
        if entry.name in GENERATED_FILES:
            if not entry.is_file():
                return str(rel)
            continue
        if entry.name not in SPLITS or not entry.is_dir():
            return str(rel)
        for sub in sorted(entry.iterdir()):
            srel = sub.relative_to(out)
            if sub.is_symlink():
                return f"the link {srel}"
            if sub.name == "meta.jsonl" and sub.is_file():
                continue
            if sub.name not in ("rgb", "depth") or not sub.is_dir():
                return str(srel)
            for f in sorted(sub.iterdir()):
                if f.is_symlink() or not f.is_file() or not _SAMPLE_FILE.fullmatch(f.name):
                    return str(f.relative_to(out))
    return None


def not_replaceable(out: str | Path) -> str | None:
    """Why ``generate --overwrite`` must not replace ``out``, or None when it may.

    It may replace nothing, an empty folder, or a folder holding a ``dataset.json``
    with the generator's record and nothing but what ``generate`` writes
    (``dataset.json``, ``groups.jsonl``, ``preview.png``, split folders of ``rgb/``
    and ``depth/`` PNGs and ``meta.jsonl``). Anything else might be the user's.
    """
    out = Path(out)
    try:
        return _not_replaceable(out)
    except OSError as e:
        return f"it cannot be read ({e.strerror or e})"


def _empty_folder(out: Path) -> bool:
    try:
        return out.is_dir() and not out.is_symlink() and not any(out.iterdir())
    except OSError:
        return False


def _not_replaceable(out: Path) -> str | None:
    if not os.path.lexists(out):
        return None
    why = None
    if out.is_symlink():
        why = "it is a symbolic link"
    elif not out.is_dir():
        why = "it is a file, not a folder"
    elif _empty_folder(out):
        return None
    else:
        try:
            data = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            why = "it is a folder without a dataset.json"
        except (OSError, UnicodeDecodeError, ValueError):
            why = "its dataset.json is not readable JSON"
        else:
            extra = data.get("extra") if isinstance(data, dict) else None
            if not isinstance(extra, dict) or not isinstance(extra.get("generator"), dict):
                why = "its dataset.json was not written by rgb2depth generate"
            else:
                foreign = _foreign_entry(out)
                if foreign is not None:
                    why = f"it holds {foreign}, which rgb2depth generate does not write"
    return why


def check_replaceable(out: str | Path) -> None:
    """Refuse to replace ``out`` unless :func:`not_replaceable` finds no reason.

    Raises:
        InputError: one line saying what ``out`` holds and what is accepted.
    """
    why = not_replaceable(out)
    if why is not None:
        raise InputError(
            f"refusing to overwrite {out}: {why}; {_ACCEPTED}; choose another --out "
            "or move it away yourself"
        )


def default_workers() -> int:
    """Processes ``generate`` uses by default: every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def generate(
    kind: str | SceneKind,
    out: str | Path,
    *,
    n: int,
    size: int | str | tuple[int, int] = 128,
    seed: int = 0,
    unpaired: bool = False,
    preview: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    workers: int = 1,
    framing: str = "full",
    faces_version: int | None = None,
) -> DatasetInfo:
    """Render ``n`` samples of ``kind`` into the dataset folder ``out``.

    The folder is assembled under a temporary name and renamed at the end, so an
    interrupted run leaves nothing at ``out``. Every file depends only on the
    arguments, not on ``workers``.

    Args:
        kind: a kind name (``faces``, ``surfaces``, ``rooms``) or instance.
        out: dataset folder to create; must not exist (or be empty) unless ``overwrite``.
        n: number of samples (views) over all splits, >= 1.
        size: ``S`` or ``"WxH"`` in pixels, or ``(H, W)``.
        seed: base seed; the same arguments give byte-identical files.
        unpaired: train split as two unaligned domains (see module docstring).
        preview: also write ``preview.png``, a contact sheet of RGB and colourised
            depth of the first paired samples.
        overwrite: replace an existing ``out``, but only a dataset folder that
            ``generate`` wrote (see :func:`check_replaceable`); anything else is refused.
        progress: show a progress bar.
        workers: processes rendering groups in parallel (1: in this process).
        framing: ``"full"`` (the whole frame) or, for ``faces``, ``"face"``: each sample
            cropped around its face as ``predict --face`` crops a photo (see
            :mod:`rgb2depth.data.synthetic.framing`).
        faces_version: for ``faces`` given by name, which faces
            (:data:`~rgb2depth.data.synthetic.faces.FACES_VERSIONS`; default the latest),
            recorded in ``dataset.json``.

    Returns:
        The :class:`DatasetInfo` written to ``out/dataset.json``.
    """
    from rgb2depth.data.synthetic import get_kind
    from rgb2depth.data.synthetic.faces import Faces, check_faces_version
    from rgb2depth.data.synthetic.framing import check_framing, framing_record

    if faces_version is not None:
        if kind != "faces":
            raise InputError(
                f"faces_version (--faces-version) is for the faces kind only, got kind {kind!r}"
            )
        k: SceneKind = Faces(check_faces_version(faces_version))
    else:
        k = get_kind(kind) if isinstance(kind, str) else kind
    check_framing(k, framing)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    height, width = parse_size(size)
    planned = plan(k, n, unpaired=unpaired)
    splits = [s for s in SPLITS if any(p.split == s for p in planned)]
    chunks: list[list[PlannedSample]] = []
    for p in planned:
        if chunks and chunks[-1][0].group == p.group:
            chunks[-1].append(p)
        else:
            chunks.append([p])
    out = Path(out)
    if not overwrite and os.path.lexists(out) and not _empty_folder(out):
        why = not_replaceable(out)
        if why is not None:
            what = "output folder" if out.is_dir() and not out.is_symlink() else "--out"
            exists = "exists and is not empty" if what == "output folder" else "exists"
            raise InputError(
                f"{what} {out} {exists}: {why}; not even --overwrite would replace it "
                "(it replaces only a dataset folder that rgb2depth generate wrote); "
                "choose another --out"
            )
        raise InputError(f"output folder {out} exists and is not empty (pass --overwrite)")

    with atomic_dir(out, overwrite=overwrite, replaceable=check_replaceable) as tmp:
        for s in splits:
            (tmp / s / "rgb").mkdir(parents=True)
            (tmp / s / "depth").mkdir(parents=True)
        _JOB.update(
            kind=k,
            seed=seed,
            height=height,
            width=width,
            root=tmp,
            parent=os.getpid(),
            framing=framing,
        )
        bar = tqdm(total=n, desc=f"generate {k.name}", unit="sample", disable=not progress)
        results: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        try:
            if workers == 1:
                for chunk in chunks:
                    results.append(_render_group(chunk))
                    bar.update(len(chunk))
            else:
                import multiprocessing

                ctx = multiprocessing.get_context("fork")
                with ctx.Pool(workers, initializer=_worker_init) as pool:
                    for result in pool.imap(_render_group, chunks):
                        results.append(result)
                        bar.update(len(result[1]))
        finally:
            bar.close()
            _JOB.clear()
        metas: dict[str, list[dict[str, Any]]] = {s: [] for s in splits}
        counts = {s: {"rgb": 0, "depth": 0} for s in splits}
        for chunk, (_, rows) in zip(chunks, results, strict=True):
            for p, row in zip(chunk, rows, strict=True):
                metas[p.split].append(row)
                counts[p.split]["rgb"] += p.view in ("paired", "rgb")
                counts[p.split]["depth"] += p.view in ("paired", "depth")
        for s in splits:
            lines = [json.dumps(m, sort_keys=True) for m in metas[s]]
            (tmp / s / "meta.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        with open(tmp / "groups.jsonl", "w", encoding="utf-8") as f:
            for chunk, (params, _) in zip(chunks, results, strict=True):
                g = chunk[0].group
                row = {"group": g, k.group_label: g, "split": chunk[0].split, "params": params}
                f.write(json.dumps(row, sort_keys=True) + "\n")
        info = DatasetInfo(
            name=f"synthetic-{k.name}",
            kind=k.name,
            depth_units=k.units,
            depth_range=k.depth_range,
            png_scale=k.png_scale,
            png_offset=k.png_offset,
            invalid_value=0.0,
            intrinsics=k.intrinsics(height, width) if framing == "full" else None,
            image_size=(height, width),
            paired=not unpaired,
            unpaired_splits=["train"] if unpaired and "train" in splits else [],
            splits=splits,
            extra={
                "generator": {
                    "kind": k.name,
                    "n": n,
                    "size": [height, width],
                    "seed": seed,
                    "unpaired": unpaired,
                }
                | ({"faces_version": k.version} if isinstance(k, Faces) else {})
                | framing_record(framing, [r for s in splits for r in metas[s]]),
                "description": k.description,
                "counts": counts,
                "all_valid": k.all_valid,
            },
        )
        (tmp / "dataset.json").write_text(
            json.dumps(info.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        if preview and any(info.is_paired(s) for s in splits):
            save_png(tmp / "preview.png", _preview(tmp, info))
    return info
