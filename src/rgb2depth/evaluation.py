"""Scoring depth against a dataset's ground truth: one protocol for every caller.

Training validation, ``rgb2depth evaluate --model`` and ``rgb2depth evaluate --pred``
all use :func:`metric_settings` (which pixels count and which metrics apply for a
dataset) and :class:`~rgb2depth.metrics.DepthMetricAccumulator`.

Protocol: metrics are computed in the dataset's units (``dataset.json``), on the
ground truth's valid pixels within its ``depth_range`` (inclusive), per image and then
averaged over images. ``evaluate`` scores at the ground truth's own resolution;
validation during training scores at the training size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rgb2depth.errors import InputError
from rgb2depth.metrics import (
    DEFAULT_METRICS,
    SIGNED_DEFAULT_METRICS,
    DepthMetricAccumulator,
)

__all__ = [
    "ALIGNS",
    "PRED_SUFFIXES",
    "evaluate_predictions",
    "evaluate_predictor",
    "find_prediction",
    "metric_settings",
]

ALIGNS = ("none", "median", "lstsq")
PRED_SUFFIXES = (".npy", ".png", ".tif", ".tiff")


def metric_settings(depth_range: Sequence[float], *, align: str = "none") -> dict[str, Any]:
    """Keyword arguments of the metric functions for depth within ``depth_range``.

    ``depth_range`` is a dataset's (``DatasetInfo.depth_range``) or a model's.
    Positive depth: valid where ``lo <= gt <= hi``. Signed values (a negative ``lo``,
    e.g. surface heights): the signed metric set (linear errors only).
    """
    if align not in ALIGNS:
        raise InputError(f"unknown alignment {align!r}; use one of {', '.join(ALIGNS)}")
    lo, hi = (float(v) for v in depth_range)
    signed = lo < 0
    return {
        "min_depth": lo if signed else max(lo, 1e-6),
        "max_depth": hi,
        "inclusive": True,
        "invalid_value": None,  # invalid pixels come as a mask from the dataset layer
        "align": align,
        "metrics": SIGNED_DEFAULT_METRICS if signed else DEFAULT_METRICS,
    }


def _progress(items: Iterable[Any], total: int, desc: str, show: bool) -> Iterable[Any]:
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit="img", disable=not show, leave=False)


def evaluate_predictor(
    predict: Callable[[np.ndarray], np.ndarray],
    root: str | Path,
    *,
    split: str = "test",
    align: str = "none",
    progress: bool = True,
) -> dict[str, float]:
    """Score ``predict`` ((H, W, 3) uint8 RGB -> (H, W) depth in the dataset's units).

    Raises:
        InputError: a bad dataset folder or split.
    """
    from rgb2depth.data import PairedDepthDataset
    from rgb2depth.data.io import read_rgb

    ds = PairedDepthDataset(root, split)
    return _score(
        ds, lambda i: (predict(read_rgb(ds.rgb_files[i])), "the predictor"), align, progress
    )


def _score(
    ds: Any,
    prediction: Callable[[int], tuple[np.ndarray, Any]],
    align: str,
    progress: bool,
) -> dict[str, float]:
    """Accumulate the metrics of ``prediction(i) -> ((H, W) depth, its source)`` over ``ds``.

    Reads only the ground-truth depth of each sample (never its RGB image) and refuses a
    prediction whose size differs from it.
    """
    from rgb2depth.data.datasets import load_depth

    acc = DepthMetricAccumulator(**metric_settings(ds.info.depth_range, align=align))
    for i in _progress(range(len(ds)), len(ds), f"evaluate {ds.split}", progress):
        depth, mask = load_depth(ds.depth_files[i], ds.info)
        pred, source = prediction(i)
        pred = np.asarray(pred, dtype=np.float32)
        if pred.shape != tuple(depth.shape[-2:]):
            raise InputError(
                f"{source}: prediction is {pred.shape} (H, W) but the ground truth "
                f"{ds.names[i]} is {tuple(depth.shape[-2:])}"
            )
        acc.update(torch.from_numpy(pred)[None, None], depth[None], mask=mask[None])
    return {**acc.compute(), "n_files": float(len(ds))}


def find_prediction(pred_dir: Path, name: str) -> Path | None:
    """The prediction file for ground-truth stem ``name`` in ``pred_dir`` (or None).

    Looks for ``NAME.npy``, ``NAME.png``, ``NAME.tif(f)``, then the names
    ``rgb2depth predict`` writes (``NAME_depth.npy``, ``NAME_depth.png``).
    """
    for stem in (name, f"{name}_depth"):
        for suffix in PRED_SUFFIXES:
            p = pred_dir / f"{stem}{suffix}"
            if p.is_file():
                return p
    return None


def _sidecar_encoding(path: Path, units: str, *, required: bool) -> tuple[float, float] | None:
    """The encoding written beside a PNG (``NAME_depth.json`` by ``rgb2depth predict``).

    Returns None when there is no JSON file and it is not ``required``.

    Raises:
        InputError: a ``required`` JSON file is missing, one is unreadable, or one
            states other units than ``units``.
    """
    import json

    side = path.with_suffix(".json")
    if not side.is_file():
        if not required:
            return None
        raise InputError(
            f"{path}: a NAME_depth.png (rgb2depth predict's naming) is decoded with the "
            f"scale and offset of its {side.name}, which is missing; copy it beside the PNG, "
            "or name the file NAME.png to use the dataset's PNG encoding"
        )
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
        scale, offset = float(meta["scale"]), float(meta["offset"])
    except (ValueError, KeyError, TypeError, OSError):
        raise InputError(f"{side}: expected JSON with scale and offset") from None
    got = meta.get("units")
    if got is not None and str(got) != units:
        raise InputError(f"{side}: prediction in {got} but the dataset's depth is in {units}")
    return scale, offset


def evaluate_predictions(
    pred_dir: str | Path,
    root: str | Path,
    *,
    split: str = "test",
    align: str = "none",
    png_scale: float | None = None,
    png_offset: float | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Score depth files made by any system against a dataset split.

    ``pred_dir`` holds one file per ground-truth image, named like it (its stem) with
    suffix ``.npy`` (float, the dataset's units), a 16-bit ``.png`` or ``.tif``; the
    files ``rgb2depth predict`` writes (``NAME_depth.png`` / ``.npy``) work as they are.

    How a 16-bit PNG is decoded (unless ``png_scale`` is given: it then applies to
    every PNG, with ``png_offset`` or the dataset's offset):

    - ``NAME_depth.png`` (``rgb2depth predict``'s naming): with the ``scale`` and
      ``offset`` of the ``NAME_depth.json`` beside it; without it the file is refused
      (its encoding is the model's, not the dataset's).
    - ``NAME.png``: with the ``scale`` and ``offset`` of a ``NAME.json`` beside it if
      there is one, else with the dataset's encoding (``png_scale``/``png_offset`` of
      its ``dataset.json``).

    A JSON file that states other ``units`` than the dataset's is refused.

    Raises:
        InputError: a missing folder, missing predictions (the first few are named),
            a ``NAME_depth.png`` without its JSON file, a prediction whose size differs
            from its ground truth, NaN in a prediction.
    """
    from rgb2depth.data import PairedDepthDataset
    from rgb2depth.data.io import read_depth

    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise InputError(f"prediction folder not found: {pred_dir}")
    ds = PairedDepthDataset(root, split)
    files = {n: find_prediction(pred_dir, n) for n in ds.names}
    missing = [n for n, p in files.items() if p is None]
    if missing:
        raise InputError(
            f"{pred_dir}: {len(missing)} of {len(ds)} predictions missing "
            f"(e.g. {', '.join(missing[:3])}; expected NAME.npy or NAME.png)"
        )
    scale = ds.info.png_scale if png_scale is None else png_scale
    offset = ds.info.png_offset if png_offset is None else png_offset
    encodings: dict[str, tuple[float, float]] = {}  # all checked before scoring anything
    for name, path in files.items():
        if path is not None and png_scale is None and path.suffix.lower() == ".png":
            found = _sidecar_encoding(
                path, ds.info.depth_units, required=path.stem == f"{name}_depth"
            )
            if found is not None:
                encodings[name] = found

    def prediction(i: int) -> tuple[np.ndarray, Path]:
        path = files[ds.names[i]]
        assert path is not None
        file_scale, file_offset = encodings.get(ds.names[i], (scale, offset))
        pred, _ = read_depth(
            path,
            png_scale=file_scale,
            png_offset=file_offset,
            invalid_value=None,
            allow_negative=True,
            allow_nan=False,
        )
        return pred, path

    return _score(ds, prediction, align, progress)
