"""Scoring depth against a dataset's ground truth: one protocol for every caller.

Training validation, ``rgb2depth evaluate --model`` and ``rgb2depth evaluate --pred``
all use :func:`metric_settings` (which pixels count and which metrics apply for a
dataset) or a named protocol (:mod:`rgb2depth.metrics.protocols`: ``nyu-eigen``,
``kitti-garg``, ``texas``, ``surreal``, ``faces-relative``, ``surfaces``) and
:class:`~rgb2depth.metrics.DepthMetricAccumulator`.

Default protocol (``"dataset"``): metrics are computed in the dataset's units
(``dataset.json``), on the ground truth's valid pixels within its ``depth_range``
(inclusive), per image and then averaged over images. ``evaluate`` scores at the ground
truth's own resolution; validation during training scores at the training size.

Scale: :func:`evaluate_predictor` and :func:`evaluate_predictions` stream the split
through a :class:`torch.utils.data.DataLoader` whose worker processes read the ground
truth and the RGB image (or the prediction file) of each image; the model runs in the
calling process. Images are scored one at a time, in the split's (sorted) order
whatever the number of workers; only the accumulator's sums are kept, so memory does
not grow with the number of images. Per-image values can be written to a CSV file as
they come.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from rgb2depth.data.format import DatasetInfo
from rgb2depth.errors import InputError
from rgb2depth.metrics import DepthMetricAccumulator
from rgb2depth.metrics.protocols import accumulator_settings, resolve_protocol

__all__ = [
    "ALIGNS",
    "PRED_SUFFIXES",
    "default_workers",
    "evaluate_predictions",
    "evaluate_predictor",
    "evaluation_protocol",
    "find_prediction",
    "locate_predictions",
    "metric_settings",
    "read_prediction",
]

ALIGNS = ("none", "median", "median_shift", "lstsq")
PRED_SUFFIXES = (".npy", ".png", ".tif", ".tiff")

Protocol = str | Mapping[str, Any] | None
"""A protocol name, a :func:`evaluation_protocol` result, or None (the default)."""


def metric_settings(depth_range: Sequence[float], *, align: str = "none") -> dict[str, Any]:
    """Keyword arguments of the metric functions for depth within ``depth_range``.

    ``depth_range`` is a dataset's (``DatasetInfo.depth_range``) or a model's.
    Positive depth: valid where ``lo <= gt <= hi``. Signed values (a negative ``lo``,
    e.g. surface heights): the signed metric set (linear errors only). This is the
    ``"dataset"`` protocol of :mod:`rgb2depth.metrics.protocols`.
    """
    if align not in ALIGNS:
        raise InputError(f"unknown alignment {align!r}; use one of {', '.join(ALIGNS)}")
    resolved = resolve_protocol(None, depth_range=depth_range, depth_units="", align=align)
    return accumulator_settings(resolved)


def evaluation_protocol(
    root: str | Path | DatasetInfo, protocol: str | None = None, *, align: str | None = None
) -> dict[str, Any]:
    """Every setting of ``protocol`` for the dataset at ``root`` (see
    :func:`rgb2depth.metrics.protocols.resolve_protocol`).

    Args:
        root: a dataset folder, or its :class:`~rgb2depth.data.format.DatasetInfo`.
        protocol: a protocol name, or None for the default (``"dataset"``).
        align: an explicit alignment (one of :data:`ALIGNS`), or None for the protocol's.
            A protocol that fixes its alignment refuses a different one.

    Raises:
        InputError: a bad folder, an unknown protocol or alignment, a protocol for other
            depth units than the dataset's, or an alignment that contradicts it.
    """
    from rgb2depth.data.format import read_info

    info = root if isinstance(root, DatasetInfo) else read_info(root)
    if align is not None and align not in ALIGNS:
        raise InputError(f"unknown alignment {align!r}; use one of {', '.join(ALIGNS)}")
    return resolve_protocol(
        protocol, depth_range=info.depth_range, depth_units=info.depth_units, align=align
    )


def _resolved(info: DatasetInfo, protocol: Protocol, align: str | None) -> dict[str, Any]:
    if isinstance(protocol, Mapping):
        if align is not None and align != protocol["align"]:
            raise InputError(
                f"align {align!r} contradicts protocol {protocol['name']!r}, which aligns by "
                f"{protocol['align']!r}; leave align out to use the protocol's, or use no "
                "protocol"
            )
        if protocol["units"] != info.depth_units:
            raise InputError(
                f"protocol {protocol['name']!r} was resolved for depth in {protocol['units']} "
                f"but the dataset's depth is in {info.depth_units}"
            )
        return dict(protocol)
    return evaluation_protocol(info, protocol, align=align)


def default_workers() -> int:
    """Loader processes ``evaluate`` uses by default: 2 (reading and decoding overlap with
    the model), or 0 (read in the calling process) where only one core is usable."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return 2 if cores > 1 else 0


def _progress(items: Iterable[Any], total: int, desc: str, show: bool) -> Iterator[Any]:
    """``items`` with a progress bar, iterated exactly once.

    The bar is updated by hand rather than given the iterable: ``tqdm.auto``'s class
    calls ``iter()`` on an iterable when it is made (for ``async for``) and again when
    iterated, and a second iterator of a DataLoader starts a second set of workers.
    """
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="img", disable=not show, leave=False) as bar:
        for item in items:
            yield item
            bar.update(1)


class _Items(Dataset):
    """What a loader worker reads for image ``i`` (never the model's work).

    Each item is a dict: ``index``; ``depth`` (1, H, W) float32 and ``mask`` (1, H, W)
    bool, the ground truth; ``rgb`` (H, W, 3) uint8 when ``rgb_files`` is given;
    ``pred`` (H, W) float32 when ``pred_files`` is given. A bad file gives
    ``{"index": i, "error": message}`` instead, raised as an :class:`InputError` in the
    calling process (an exception raised in a worker would reach it with the worker's
    traceback in its message).

    Args:
        info: the dataset's ``dataset.json``.
        depth_files: ground-truth files, in scoring order.
        rgb_files: RGB images in the same order, or None.
        pred_files: ``(path, png_scale, png_offset)`` of each prediction, or None.
    """

    def __init__(
        self,
        info: DatasetInfo,
        depth_files: Sequence[Path],
        *,
        rgb_files: Sequence[Path] | None = None,
        pred_files: Sequence[tuple[Path, float, float]] | None = None,
    ) -> None:
        self.info = info
        self.depth_files = list(depth_files)
        self.rgb_files = None if rgb_files is None else list(rgb_files)
        self.pred_files = None if pred_files is None else list(pred_files)

    def __len__(self) -> int:
        return len(self.depth_files)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from rgb2depth.data.datasets import load_depth
        from rgb2depth.data.io import read_rgb

        try:
            depth, mask = load_depth(self.depth_files[i], self.info)
            item: dict[str, Any] = {"index": i, "depth": depth, "mask": mask}
            if self.rgb_files is not None:
                rgb = np.require(read_rgb(self.rgb_files[i]), requirements="W")  # PIL's: read-only
                item["rgb"] = torch.from_numpy(rgb)
            if self.pred_files is not None:
                path, scale, offset = self.pred_files[i]
                item["pred"] = torch.from_numpy(read_prediction(path, scale, offset))
        except InputError as e:
            return {"index": i, "error": str(e)}
        return item


def _one(item: Any) -> Any:
    """The loader's collate function: items pass through one at a time, as they are
    (``batch_size=None``: the loader hands it single items, not lists)."""
    return item


@contextlib.contextmanager
def _csv_rows(
    path: str | Path | None, columns: Sequence[str]
) -> Iterator[Callable[[str, Mapping[str, float]], None]]:
    """A function writing one row per image (``name``, then ``columns``) to ``path`` as
    they come; the file is renamed into place only when every row is written."""
    if path is None:
        yield lambda name, values: None
        return
    import csv

    from rgb2depth.data.io import atomic_path

    with atomic_path(Path(path)) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["name", *columns])

        def write(name: str, values: Mapping[str, float]) -> None:
            writer.writerow([name, *(repr(float(values[c])) for c in columns)])

        yield write


def _score(
    names: Sequence[str],
    items: _Items,
    prediction: Callable[[dict[str, Any]], tuple[np.ndarray, str]],
    settings: Mapping[str, Any],
    *,
    desc: str,
    progress: bool,
    workers: int | None,
    csv_path: str | Path | None,
) -> dict[str, float]:
    """Accumulate the metrics of ``prediction(item) -> ((H, W) depth, its source)``.

    Streams ``items`` through a DataLoader (``workers`` processes; None: the
    default), in order; refuses a prediction whose size differs from its ground truth.
    """
    from torch.utils.data import DataLoader

    n_workers = default_workers() if workers is None else int(workers)
    if n_workers < 0:
        raise InputError(f"workers must be >= 0, got {n_workers}")
    acc = DepthMetricAccumulator(**accumulator_settings(dict(settings)))
    loader = DataLoader(
        items,
        batch_size=None,
        shuffle=False,
        num_workers=n_workers,
        collate_fn=_one,
        generator=torch.Generator().manual_seed(0),  # leave the global RNG alone
    )
    with _csv_rows(csv_path, [*acc.metrics, "n_pixels"]) as write_row:
        for item in _progress(loader, len(items), desc, progress):
            i = int(item["index"])
            if "error" in item:
                raise InputError(item["error"])
            depth, mask = item["depth"], item["mask"]
            pred, source = prediction(item)
            pred = np.asarray(pred, dtype=np.float32)
            if pred.shape != tuple(depth.shape[-2:]):
                raise InputError(
                    f"{source}: prediction is {pred.shape} (H, W) but the ground truth "
                    f"{names[i]} is {tuple(depth.shape[-2:])}"
                )
            values = acc.update(torch.from_numpy(pred)[None, None], depth[None], mask=mask[None])
            write_row(names[i], {k: float(v[0]) for k, v in values.items()})
    return {**acc.compute(), "n_files": float(len(items))}


def evaluate_predictor(
    predict: Callable[[np.ndarray], np.ndarray],
    root: str | Path,
    *,
    split: str = "test",
    align: str | None = None,
    protocol: Protocol = None,
    workers: int | None = None,
    csv: str | Path | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Score ``predict`` ((H, W, 3) uint8 RGB -> (H, W) depth in the dataset's units).

    Args:
        predict: the model; it runs in the calling process, one image at a time.
        root: dataset folder.
        split: split to score.
        align: one of :data:`ALIGNS`, or None for the protocol's (``"none"`` by default).
        protocol: a protocol name (:data:`rgb2depth.metrics.protocols.PROTOCOL_NAMES`), an
            :func:`evaluation_protocol` result, or None for the default (``"dataset"``).
        workers: loader processes reading the ground truth and RGB images (0: read in
            the calling process; None: :func:`default_workers`).
        csv: write one row per image (``name``, every metric, ``n_pixels``) to this file,
            atomically.
        progress: show a progress bar.

    Returns:
        Metric name -> value (those of the protocol), ``n_images``, ``n_skipped``,
        ``n_pixels`` and ``n_files``.

    Raises:
        InputError: a bad dataset folder or split, a bad protocol (see
            :func:`evaluation_protocol`), an unreadable file, a prediction whose size
            differs from its ground truth.
    """
    from rgb2depth.data import PairedDepthDataset

    ds = PairedDepthDataset(root, split)
    settings = _resolved(ds.info, protocol, align)
    items = _Items(ds.info, ds.depth_files, rgb_files=ds.rgb_files)
    return _score(
        ds.names,
        items,
        lambda item: (predict(item["rgb"].numpy()), "the predictor"),
        settings,
        desc=f"evaluate {split}",
        progress=progress,
        workers=workers,
        csv_path=csv,
    )


def locate_predictions(
    pred_dir: Path,
    names: Sequence[str],
    info: Any,
    *,
    png_scale: float | None = None,
    png_offset: float | None = None,
    what: str = "predictions",
) -> list[tuple[Path, float, float]]:
    """The prediction file of each ground-truth name and the (scale, offset) decoding it.

    All are located and their encodings read before any is scored, so that a missing
    file or JSON is reported first. ``png_scale`` / ``png_offset`` override every PNG's
    encoding; otherwise a PNG uses its JSON file (see :func:`find_prediction`) or the
    dataset's ``info.png_scale`` / ``info.png_offset``.

    Raises:
        InputError: missing predictions (the first few are named), or a
            ``NAME_depth.png`` without its JSON file.
    """
    files = {n: find_prediction(pred_dir, n) for n in names}
    missing = [n for n, p in files.items() if p is None]
    if missing:
        raise InputError(
            f"{pred_dir}: {len(missing)} of {len(names)} {what} missing "
            f"(e.g. {', '.join(missing[:3])}; expected NAME.npy or NAME.png)"
        )
    scale = info.png_scale if png_scale is None else png_scale
    offset = info.png_offset if png_offset is None else png_offset
    located: list[tuple[Path, float, float]] = []
    for name in names:
        path = files[name]
        assert path is not None
        encoding = None
        if png_scale is None and path.suffix.lower() == ".png":
            encoding = _sidecar_encoding(
                path, info.depth_units, required=path.stem == f"{name}_depth"
            )
        file_scale, file_offset = (scale, offset) if encoding is None else encoding
        located.append((path, file_scale, file_offset))
    return located


def read_prediction(path: Path, scale: float, offset: float) -> np.ndarray:
    """One prediction file as (H, W) float depth in the dataset's units (see
    :func:`locate_predictions` for ``scale`` / ``offset``); NaN is refused."""
    from rgb2depth.data.io import read_depth

    pred, _ = read_depth(
        path,
        png_scale=scale,
        png_offset=offset,
        invalid_value=None,
        allow_negative=True,
        allow_nan=False,
    )
    return pred


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
    align: str | None = None,
    protocol: Protocol = None,
    png_scale: float | None = None,
    png_offset: float | None = None,
    workers: int | None = None,
    csv: str | Path | None = None,
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
    ``align``, ``protocol``, ``workers`` (which read the ground truth and the
    prediction files here), ``csv`` and ``progress`` as in :func:`evaluate_predictor`.

    Raises:
        InputError: a missing folder, missing predictions (the first few are named),
            a ``NAME_depth.png`` without its JSON file, a prediction whose size differs
            from its ground truth, NaN in a prediction, a bad protocol.
    """
    from rgb2depth.data import PairedDepthDataset

    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise InputError(f"prediction folder not found: {pred_dir}")
    ds = PairedDepthDataset(root, split)
    settings = _resolved(ds.info, protocol, align)
    pred_files = locate_predictions(
        pred_dir, ds.names, ds.info, png_scale=png_scale, png_offset=png_offset
    )
    items = _Items(ds.info, ds.depth_files, pred_files=pred_files)
    return _score(
        ds.names,
        items,
        lambda item: (item["pred"].numpy(), str(pred_files[int(item["index"])][0])),
        settings,
        desc=f"evaluate {split}",
        progress=progress,
        workers=workers,
        csv_path=csv,
    )
