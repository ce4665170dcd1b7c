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
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from rgb2depth.data.format import DatasetInfo
from rgb2depth.data.io import atomic_dir, encode_depth_png, save_png
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


def render_one(
    kind: SceneKind,
    seed: int,
    p: PlannedSample,
    height: int,
    width: int,
    group_params: dict[str, Any],
) -> RenderedSample:
    """Render planned sample ``p`` (its RNG depends only on seed, kind and index)."""
    return kind.render(group_params, scene_rng(seed, kind.name, 1, p.index), height, width, p.view)


def sample_valid(kind: SceneKind, sample: RenderedSample) -> np.ndarray:
    """The valid-depth mask of a rendered sample."""
    if kind.all_valid:
        return np.ones(sample.depth.shape, dtype=bool)
    return np.isfinite(sample.depth) & (sample.depth != 0)


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
) -> DatasetInfo:
    """Render ``n`` samples of ``kind`` into the dataset folder ``out``.

    The folder is assembled under a temporary name and renamed at the end, so an
    interrupted run leaves nothing at ``out``.

    Args:
        kind: a kind name (``faces``, ``surfaces``, ``rooms``) or instance.
        out: dataset folder to create; must not exist (or be empty) unless ``overwrite``.
        n: number of samples (views) over all splits, >= 1.
        size: ``S`` or ``"WxH"`` in pixels, or ``(H, W)``.
        seed: base seed; the same arguments give byte-identical files.
        unpaired: train split as two unaligned domains (see module docstring).
        preview: also write ``preview.png``, a contact sheet of RGB and colourised depth.
        overwrite: replace an existing ``out``.
        progress: show a progress bar.

    Returns:
        The :class:`DatasetInfo` written to ``out/dataset.json``.
    """
    from rgb2depth.data.synthetic import get_kind

    k = get_kind(kind) if isinstance(kind, str) else kind
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    height, width = parse_size(size)
    planned = plan(k, n, unpaired=unpaired)
    splits = [s for s in SPLITS if any(p.split == s for p in planned)]
    counts = {s: {"rgb": 0, "depth": 0} for s in splits}
    groups: dict[int, dict[str, Any]] = {}
    previews: list[list[np.ndarray]] = []
    out = Path(out)

    with atomic_dir(out, overwrite=overwrite) as tmp:
        for s in splits:
            (tmp / s / "rgb").mkdir(parents=True)
            (tmp / s / "depth").mkdir(parents=True)
        metas = {s: [] for s in splits}
        bar = tqdm(planned, desc=f"generate {k.name}", unit="sample", disable=not progress)
        for p in bar:
            if p.group not in groups:
                groups[p.group] = k.sample_group(scene_rng(seed, k.name, 0, p.group))
            sample = render_one(k, seed, p, height, width, groups[p.group])
            valid = sample_valid(k, sample)
            if p.view in ("paired", "rgb"):
                save_png(tmp / p.split / "rgb" / f"{p.name}.png", sample.rgb)
                counts[p.split]["rgb"] += 1
            if p.view in ("paired", "depth"):
                counts_png = encode_depth_png(
                    sample.depth, scale=k.png_scale, offset=k.png_offset, valid=valid
                )
                save_png(tmp / p.split / "depth" / f"{p.name}.png", counts_png)
                counts[p.split]["depth"] += 1
            metas[p.split].append({"name": p.name, "group": p.group, "view": p.view, **sample.meta})
            if preview and len(previews) < 24 and p.view == "paired":
                from rgb2depth.viz import colorize_depth

                previews.append([sample.rgb, colorize_depth(sample.depth, valid)])
        for s in splits:
            lines = [json.dumps(m, sort_keys=True) for m in metas[s]]
            (tmp / s / "meta.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        group_split = {p.group: p.split for p in planned}
        with open(tmp / "groups.jsonl", "w", encoding="utf-8") as f:
            for g, params in groups.items():
                row = {"group": g, "split": group_split[g], "params": params}
                f.write(json.dumps(row, sort_keys=True))
                f.write("\n")
        info = DatasetInfo(
            name=f"synthetic-{k.name}",
            kind=k.name,
            depth_units=k.units,
            depth_range=k.depth_range,
            png_scale=k.png_scale,
            png_offset=k.png_offset,
            invalid_value=0.0,
            intrinsics=k.intrinsics(height, width),
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
                },
                "description": k.description,
                "counts": counts,
                "all_valid": k.all_valid,
            },
        )
        (tmp / "dataset.json").write_text(
            json.dumps(info.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        if preview and previews:
            from rgb2depth.viz import contact_sheet

            save_png(tmp / "preview.png", contact_sheet(previews, columns=4))
    return info
