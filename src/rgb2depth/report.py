"""A report page across training runs: metrics, differing settings, curves and examples.

>>> from rgb2depth.report import write_report
>>> write_report(["runs/a", "runs/b"], "report-ab")          # report-ab/report.md

What ``rgb2depth report RUN_DIR... --out DIR`` writes into ``DIR`` (atomically: the
folder appears complete or not at all):

- ``report.md``: the runs (folder, method, network, data, steps), the settings that
  differ between their ``config.yaml`` files, a metrics table, the figures below with
  relative links, and the command that made the page.
- ``report.json``: the same facts for programs (every metric of each run and where it
  came from); it also marks the folder as a report's, the only kind of folder
  ``overwrite=True`` replaces.
- ``curves-train.png``, ``curves-val.png``: every quantity ``log.csv`` holds for each
  phase (losses, validation metrics, the learning rate; not the timings and counts of
  :data:`NOT_CURVES`) over training steps, one panel per quantity, one line per run.
- ``examples.png``: ``examples`` test images in rows: the input, each run's
  prediction, the ground truth (one depth colour scale for all of them), then each
  run's absolute error on the valid pixels (one error colour scale).
- ``view-3d.png``: the first example's ground truth and each run's prediction as
  shaded meshes (:func:`~rgb2depth.geometry.grid_mesh` on the ground truth's valid
  pixels, :func:`~rgb2depth.geometry.render_mesh` from a viewpoint turned by
  :data:`VIEW_YAW_DEG` / :data:`VIEW_PITCH_DEG`), through the dataset's camera (or
  :data:`~rgb2depth.inference.reconstruct.DEFAULT_FOV_DEG` across the width when the
  dataset states none).

A run folder is what ``rgb2depth train`` writes (:mod:`rgb2depth.engine.run`):
``config.yaml``, ``log.csv`` and ``model/`` (plus ``checkpoints/`` and
``tensorboard/``, not read here).

Metrics: each run's ``model/`` is scored with :func:`rgb2depth.evaluation.evaluate_predictor`
(the one protocol of ``rgb2depth evaluate --model``) on the run's own ``data.root``
and its ``test`` split, or on the ``data`` / ``split`` given. Where that is not possible
without a ``data`` given (the run's data folder is gone, it has no such split, or the
method's network does not predict depth from an image), the table shows the
validation metrics logged last in ``log.csv`` and says so in its ``source`` column.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rgb2depth.config import flatten_config
from rgb2depth.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rgb2depth.data.format import DatasetInfo
    from rgb2depth.inference.predictor import Predictor

__all__ = [
    "NOT_CURVES",
    "REPORT_FILES",
    "TABLE_METRICS",
    "Run",
    "RunMetrics",
    "curve_data",
    "differing_config",
    "last_logged",
    "load_run",
    "load_runs",
    "not_replaceable",
    "plot_curves",
    "read_log",
    "write_report",
]

REPORT_FORMAT = "rgb2depth-report"
"""The ``format`` of ``report.json``: marks a folder that :func:`write_report` wrote."""

REPORT_FILES = (
    "report.md",
    "report.json",
    "curves-train.png",
    "curves-val.png",
    "examples.png",
    "view-3d.png",
)
"""Every file a report folder may hold (which of the figures depends on the runs)."""

TABLE_METRICS = (
    "abs_rel",
    "sq_rel",
    "rmse",
    "rmse_log",
    "log10",
    "mae",
    "delta1",
    "delta2",
    "delta3",
)
"""The metrics of the page's table, in order (those a run has); ``report.json`` has all."""

NOT_CURVES = frozenset({"steps_per_s", "n_images", "n_skipped", "n_pixels", "n_files"})
"""Names in ``log.csv`` that are timings or counts, not training curves."""

VIEW_YAW_DEG = 35.0
"""The 3D view's turn about the vertical axis (degrees; the image's right side comes forward)."""
VIEW_PITCH_DEG = 15.0
"""The 3D view's turn about the horizontal axis (degrees; seen from above)."""
VIEW_SIDE = 240
"""About this many pixels on the long side of each 3D view."""
VIEW_MAX_REL_JUMP = 0.1
"""The 3D view's meshes drop triangles across a larger relative depth jump
(:func:`~rgb2depth.geometry.grid_mesh`); looser than ``reconstruct``'s 0.05 because test
images are small, so neighbouring pixels on a steep face (a nose's side) lie further apart."""

RUN_FOLDER = (
    "a run folder (the log.out of rgb2depth train) holds config.yaml, log.csv and, once "
    "training has finished, model/"
)


# --------------------------------------------------------------------------- runs
@dataclass
class Run:
    """One training run folder.

    Attributes:
        path: the folder, as given.
        name: its name on the page (the folder's name; parents added to tell runs apart).
        config: its ``config.yaml`` (the resolved configuration the run saved).
        model_dir: its ``model/`` folder (the deployable network).
    """

    path: Path
    name: str
    config: dict[str, Any]
    model_dir: Path

    @property
    def method(self) -> str:
        return str((self.config.get("method") or {}).get("name", "?"))

    @property
    def model(self) -> str:
        return str((self.config.get("model") or {}).get("name", "?"))

    @property
    def data_root(self) -> str | None:
        root = (self.config.get("data") or {}).get("root")
        return None if root is None else str(root)


def load_run(path: str | Path, *, name: str | None = None) -> Run:
    """Read a run folder's ``config.yaml`` and find its ``model/``.

    ``data.root`` in the config is, like every path of a config, relative to the
    folder the command runs in (:func:`rgb2depth.config.load_config`).

    Raises:
        InputError: not a folder, no ``config.yaml`` or no ``model/config.json`` (the
            message says what a run folder holds), or an unreadable ``config.yaml``.
    """
    import yaml

    path = Path(path)
    if not path.is_dir():
        why = "no such folder" if not path.exists() else "not a folder"
        raise InputError(f"{path}: not a training run ({why}); {RUN_FOLDER}")
    missing = []
    if not (path / "config.yaml").is_file():
        missing.append("config.yaml")
    if not (path / "model" / "config.json").is_file():
        missing.append("model/")
    if missing:
        raise InputError(
            f"{path}: not a training run (no {' and no '.join(missing)}); {RUN_FOLDER}"
        )
    try:
        config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path / 'config.yaml'}: not readable YAML ({reason})") from None
    if not isinstance(config, dict):
        raise InputError(f"{path / 'config.yaml'}: expected a mapping of config sections")
    return Run(path, name or path.name, config, path / "model")


def _names(paths: Sequence[Path]) -> list[str]:
    """Short unique names: the folder's name, with as many parents as tell them apart."""
    parts = [Path(os.path.abspath(p)).parts for p in paths]
    depth = 1
    while True:
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names) or depth >= max(len(p) for p in parts):
            return names
        depth += 1


def load_runs(paths: Iterable[str | Path]) -> list[Run]:
    """:func:`load_run` for each path, with unique names.

    Raises:
        InputError: no path, a path given twice, or a folder that is not a run.
    """
    given = [Path(p) for p in paths]
    if not given:
        raise InputError(f"no run folder given; {RUN_FOLDER}")
    seen: dict[str, Path] = {}
    for p in given:
        key = os.path.realpath(p)
        if key in seen:
            raise InputError(f"run folder {p} is given twice (also as {seen[key]})")
        seen[key] = p
    return [load_run(p, name=n) for p, n in zip(given, _names(given), strict=True)]


# --------------------------------------------------------------------------- log.csv
def read_log(run_dir: str | Path) -> list[tuple[int, str, str, float]]:
    """The rows of a run's ``log.csv`` (:mod:`rgb2depth.engine.logging`) as
    ``(step, phase, name, value)``; a missing file gives none.

    A row cut short (a run killed while appending) is skipped; so is a value that is
    not a number.

    Raises:
        InputError: the file exists but is not a run log (another header).
    """
    path = Path(run_dir) / "log.csv"
    if not path.is_file():
        return []
    rows: list[tuple[int, str, str, float]] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return []
        if header != ["step", "phase", "name", "value"]:
            raise InputError(
                f"{path}: not a run log (its header is {','.join(header)!r}; "
                "expected step,phase,name,value)"
            )
        for r in reader:
            if len(r) != 4 or not r[0].isdigit():
                continue
            try:
                value = float(r[3])
            except ValueError:
                continue
            rows.append((int(r[0]), r[1], r[2], value))
    return rows


Curves = dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]
"""``"phase/name"`` -> run name -> ((N,) int64 steps, (N,) float64 values), by step."""


def curve_data(runs: Sequence[Run]) -> Curves:
    """Every training curve in the runs' ``log.csv`` files.

    Quantities are keyed ``"train/loss"``, ``"val/abs_rel"`` and so on, in the order
    they first appear; :data:`NOT_CURVES` are left out. Where a step is logged twice
    (it should not be), the later row wins.

    Returns:
        ``"phase/name"`` -> run name -> (steps, values), steps increasing.
    """
    out: Curves = {}
    for run in runs:
        series: dict[str, dict[int, float]] = {}
        for step, phase, name, value in read_log(run.path):
            if name in NOT_CURVES:
                continue
            series.setdefault(f"{phase}/{name}", {})[step] = value
        for key, points in series.items():
            steps = np.array(sorted(points), dtype=np.int64)
            values = np.array([points[s] for s in steps], dtype=np.float64)
            out.setdefault(key, {})[run.name] = (steps, values)
    return out


def last_logged(run: Run, phase: str = "val") -> tuple[int, dict[str, float]] | None:
    """The values of ``phase`` logged at the last step that has any, or None."""
    rows = [r for r in read_log(run.path) if r[1] == phase]
    if not rows:
        return None
    step = max(r[0] for r in rows)
    return step, {name: value for s, _, name, value in rows if s == step}


# --------------------------------------------------------------------------- configs
_UNSET = "(unset)"


def differing_config(
    runs: Sequence[Run], *, ignore: Iterable[str] = ("log.out",)
) -> dict[str, list[Any]]:
    """The config keys whose values differ between the runs.

    Nested sections are flattened to dotted keys (``train.lr``, ``model.kwargs.channels``);
    a list is one value. A key one run lacks counts as ``"(unset)"``. ``log.out`` (the
    run folder itself) is ignored by default.

    Returns:
        dotted key -> one value per run (in the runs' order), keys in the order they
        first appear.
    """
    flat = [flatten_config(r.config) for r in runs]
    skip = set(ignore)
    keys = [k for k in dict.fromkeys(k for f in flat for k in f) if k not in skip]

    def canon(v: Any) -> str:
        return json.dumps(v, sort_keys=True, default=str)

    out: dict[str, list[Any]] = {}
    for key in keys:
        values = [f.get(key, _UNSET) for f in flat]
        if len({canon(v) for v in values}) > 1:
            out[key] = values
    return out


# --------------------------------------------------------------------------- metrics
@dataclass
class RunMetrics:
    """A run's line of the metrics table.

    Attributes:
        metrics: metric name -> value (the dataset's units); empty when there are none.
        source: ``"evaluated"``, ``"logged"`` (the last validation in ``log.csv``) or ``"none"``.
        note: where the numbers come from, in words (and why not evaluated).
        data, split: the dataset folder and split evaluated on (None unless evaluated).
    """

    metrics: dict[str, float]
    source: str
    note: str
    data: str | None = None
    split: str | None = None


@dataclass
class _Target:
    """Where a run is scored: a dataset folder, its info and a split."""

    root: str
    info: DatasetInfo
    split: str


def _predicts_from_rgb(run: Run) -> bool:
    from rgb2depth.methods import METHODS

    entry = METHODS.get(run.method)
    return entry is None or bool(entry.predicts_depth_from_rgb)


def _target(root: str, split: str) -> _Target:
    """Check that ``root`` holds a paired ``split`` with samples (InputError otherwise)."""
    from rgb2depth.data import PairedDepthDataset

    ds = PairedDepthDataset(root, split)
    if len(ds) == 0:
        raise InputError(f"{root}: split {split!r} has no samples")
    return _Target(root, ds.info, split)


def _fallback(run: Run, why: str) -> RunMetrics:
    logged = last_logged(run, "val")
    if logged is None:
        return RunMetrics({}, "none", f"not evaluated ({why}); no validation in log.csv")
    step, values = logged
    return RunMetrics(values, "logged", f"validation logged at step {step} ({why})")


def _load_predictor(run: Run, device: str) -> Predictor:
    from rgb2depth.inference.predictor import Predictor

    try:
        return Predictor.from_pretrained(run.model_dir, device=device)
    except InputError as e:
        raise InputError(f"run {run.path}: its model/ cannot be loaded: {e}") from None


# --------------------------------------------------------------------------- figures
def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, path: Path, dpi: int = 100) -> None:
    fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def plot_curves(curves: Curves, phase: str, *, columns: int = 4) -> Figure | None:
    """One panel per quantity of ``phase`` in :func:`curve_data`'s ``curves``, one line
    per run (the same colour for a run in every panel); None when ``phase`` has none.

    Long noisy curves (over 200 points) are drawn faintly with a moving average over
    them. A panel of positive values spanning over 20x has a log scale.
    """
    keys = [k for k in curves if k.split("/", 1)[0] == phase]
    if not keys:
        return None
    runs = list(dict.fromkeys(r for k in keys for r in curves[k]))
    from matplotlib import colormaps
    from matplotlib.ticker import MaxNLocator

    palette = colormaps["tab10"]
    colour = {r: palette(i % 10) for i, r in enumerate(runs)}
    cols = min(columns, len(keys))
    rows = -(-len(keys) // cols)
    fig = _figure(3.0 * cols, 2.3 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, key in zip(axes.ravel(), keys, strict=False):
        lo, hi = math.inf, -math.inf
        for run, (steps, values) in curves[key].items():
            if len(values) > 200:
                ax.plot(steps, values, color=colour[run], alpha=0.25, linewidth=0.8)
                shown = _moving_average(values, max(2, len(values) // 50))
                ax.plot(steps, shown, color=colour[run], linewidth=1.5, label=run)
            else:
                marker = "o" if len(values) < 20 else None
                ax.plot(steps, values, color=colour[run], linewidth=1.5, marker=marker, ms=3)
            finite = values[np.isfinite(values)]
            if finite.size:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if lo > 0 and hi / lo > 20:
            ax.set_yscale("log")
        else:
            ax.ticklabel_format(axis="y", useOffset=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(key.split("/", 1)[1], fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(keys) :]:
        ax.set_axis_off()
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colour[r], linewidth=2) for r in runs]
    fig.legend(handles, runs, loc="outside upper center", ncols=min(len(runs), 6), fontsize=9)
    return fig


@dataclass
class _Example:
    """One test sample and each run's prediction, at the ground truth's size."""

    name: str
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, dataset units
    valid: np.ndarray  # (H, W) bool: the pixels the evaluation scores
    preds: dict[str, np.ndarray] = field(default_factory=dict)  # run -> (H, W) float32


def _examples(target: _Target, predictors: Mapping[str, Predictor], count: int) -> list[_Example]:
    from rgb2depth.data import PairedDepthDataset
    from rgb2depth.data.datasets import load_depth
    from rgb2depth.data.io import read_rgb
    from rgb2depth.evaluation import metric_settings

    ds = PairedDepthDataset(target.root, target.split)
    settings = metric_settings(target.info.depth_range)
    spread = np.linspace(0, len(ds) - 1, min(count, len(ds))).round().astype(np.int64)
    picks = sorted({int(i) for i in spread})
    out = []
    for i in picks:
        rgb = read_rgb(ds.rgb_files[i])
        depth, mask = load_depth(ds.depth_files[i], target.info)
        d = depth[0].numpy()
        valid = mask[0].numpy() & (d >= settings["min_depth"]) & (d <= settings["max_depth"])
        ex = _Example(ds.names[i], rgb, d, valid)
        for run, p in predictors.items():
            ex.preds[run] = np.asarray(p.predict(rgb), dtype=np.float32)
        out.append(ex)
    return out


def _plot_examples(examples: Sequence[_Example], runs: Sequence[str], units: str) -> Figure:
    """Rows of input | each run's prediction | ground truth | each run's |error|."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from rgb2depth.viz import colorize_depth

    shown = [e.depth[e.valid] for e in examples]
    shown += [e.preds[r][e.valid] for e in examples for r in runs]
    values = np.concatenate(shown)
    values = values[np.isfinite(values)]
    if values.size:
        lo, hi = (float(v) for v in np.percentile(values, [2, 98]))
    else:
        lo, hi = 0.0, 1.0
    hi = max(hi, lo + 1e-6)
    errors = [np.abs(e.preds[r] - e.depth)[e.valid] for e in examples for r in runs]
    all_err = np.concatenate(errors) if errors else np.zeros(0)
    emax = float(np.percentile(all_err, 98)) if all_err.size else 1.0
    emax = max(emax, 1e-6)
    err_cmap = colormaps["magma"].with_extremes(bad="black")
    n_cols = 2 + 2 * len(runs)
    h, w = examples[0].depth.shape
    panel = 1.7
    fig = _figure(panel * n_cols * min(1.6, w / h) + 1.6, panel * len(examples) + 0.6)
    axes = fig.subplots(len(examples), n_cols, squeeze=False)
    titles = ["input", *runs, "ground truth", *[f"|error| {r}" for r in runs]]
    for row, ex in zip(axes, examples, strict=True):
        every = np.ones_like(ex.valid)
        images = [
            ex.rgb,
            *[colorize_depth(ex.preds[r], every, vmin=lo, vmax=hi) for r in runs],
            colorize_depth(ex.depth, ex.valid, vmin=lo, vmax=hi),
        ]
        for ax, img in zip(row, images, strict=False):
            ax.imshow(img, interpolation="nearest")
        for j, r in enumerate(runs):
            ax = row[2 + len(runs) + j]
            err = np.where(ex.valid, np.abs(ex.preds[r] - ex.depth), np.nan)
            ax.imshow(err, cmap=err_cmap, vmin=0.0, vmax=emax, interpolation="nearest")
            mae = float(np.nanmean(err)) if ex.valid.any() else float("nan")
            ax.text(
                0.03,
                0.97,
                f"mae {mae:.3g}",
                transform=ax.transAxes,
                va="top",
                fontsize=7,
                color="white",
                bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "linewidth": 0},
            )
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(ex.name, fontsize=8)
    for ax, title in zip(axes[0], titles, strict=True):
        ax.set_title(title, fontsize=9)
    depth_axes = list(axes[:, 1 : 2 + len(runs)].ravel())
    err_axes = list(axes[:, 2 + len(runs) :].ravel())
    depth_sm = ScalarMappable(Normalize(lo, hi), colormaps["turbo_r"])
    fig.colorbar(depth_sm, ax=depth_axes, label=f"depth ({units})", shrink=0.8, pad=0.01)
    err_sm = ScalarMappable(Normalize(0.0, emax), err_cmap)
    fig.colorbar(err_sm, ax=err_axes, label=f"|error| ({units})", shrink=0.8, pad=0.01)
    return fig


def _camera(target: _Target, example: _Example) -> tuple[Any, str]:
    from rgb2depth.geometry import Intrinsics
    from rgb2depth.inference.reconstruct import DEFAULT_FOV_DEG

    h, w = example.depth.shape
    try:
        cam = Intrinsics.from_dataset(
            target.root, split=target.split, sample=example.name, size=(h, w)
        )
        return cam, "the dataset's camera"
    except InputError:
        return Intrinsics.from_fov(h, w, DEFAULT_FOV_DEG), (
            f"{DEFAULT_FOV_DEG:g}° across the width (the dataset states no camera)"
        )


def _plot_3d(example: _Example, runs: Sequence[str], camera: Any) -> Figure:
    """The example's ground truth and each run's prediction as shaded meshes, each turned
    about its own centre (the median of its vertices)."""
    from rgb2depth.geometry import grid_mesh, render_mesh

    h, w = example.depth.shape
    step = max(1, math.ceil(max(h, w) / VIEW_SIDE))
    scale = VIEW_SIDE / max(h, w)
    vh, vw = max(1, round(h * scale)), max(1, round(w * scale))
    cam = camera.scaled(vw / w, vh / h)
    surfaces = {"ground truth": example.depth, **{r: example.preds[r] for r in runs}}
    fig = _figure(2.6 * len(surfaces), 2.9)
    axes = fig.subplots(1, len(surfaces), squeeze=False)[0]
    for ax, (title, depth) in zip(axes, surfaces.items(), strict=True):
        mesh = grid_mesh(
            depth, camera, valid=example.valid, step=step, max_rel_jump=VIEW_MAX_REL_JUMP
        )
        view = render_mesh(
            mesh,
            cam,
            vh,
            vw,
            yaw_deg=VIEW_YAW_DEG,
            pitch_deg=VIEW_PITCH_DEG,
            mode="relief",
            supersample=2,
        )
        ax.imshow(view.image)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    return fig


# --------------------------------------------------------------------------- the page
def _md(text: Any) -> str:
    """A table cell: pipes escaped, one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, str):
        return v
    return json.dumps(v, default=str)


def _fmt(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.4g}"


def not_replaceable(out: str | Path) -> str | None:
    """Why ``overwrite=True`` must not replace ``out``, or None when it may.

    It may replace nothing, an empty folder, or a folder whose ``report.json`` says
    :func:`write_report` wrote it and that holds only :data:`REPORT_FILES`.
    """
    out = Path(out)
    if not os.path.lexists(out):
        return None
    if out.is_symlink() or not out.is_dir():
        return "it is not a folder"
    try:
        entries = sorted(p.name for p in out.iterdir())
        if not entries:
            return None
        meta = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "it has no report.json"
    except (OSError, UnicodeDecodeError, ValueError):
        return "its report.json is not readable JSON"
    if not isinstance(meta, dict) or meta.get("format") != REPORT_FORMAT:
        return "its report.json was not written by rgb2depth report"
    foreign = [n for n in entries if n not in REPORT_FILES]
    if foreign:
        return f"it holds {foreign[0]}, which rgb2depth report does not write"
    return None


def _check_replaceable(out: Path) -> None:
    why = not_replaceable(out)
    if why is not None:
        raise InputError(
            f"refusing to overwrite {out}: {why}; --overwrite replaces only a folder that "
            "rgb2depth report wrote; choose another --out or move it away yourself"
        )


def write_report(
    run_dirs: Sequence[str | Path],
    out: str | Path,
    *,
    data: str | Path | None = None,
    split: str | None = None,
    examples: int = 4,
    device: str = "auto",
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
) -> dict[str, Any]:
    """Write the report folder ``out`` for the runs in ``run_dirs`` (see the module docstring).

    Args:
        run_dirs: training run folders (``log.out`` of ``rgb2depth train``).
        out: the folder to create.
        data: the dataset folder to score every run on (default: each run's own ``data.root``).
        split: the split to score (default ``test``).
        examples: test images in ``examples.png`` (0: no examples and no 3D view).
        device: where the models run (auto, cpu, cuda, cuda:N).
        overwrite: replace an existing ``out``, only if a report wrote it.
        progress: progress bars while evaluating.
        command: the command line to record on the page.

    Returns:
        What ``report.json`` holds: ``runs`` (name, path, method, model, data, steps,
        ``metrics``, ``source``, ``note``, ``evaluated_on``), ``differing_config`` (key ->
        run name -> value), ``figures`` (file -> caption), ``notes``.

    Raises:
        InputError: a folder that is not a run, a broken ``model/``, a bad ``data`` /
            ``split`` (or a run's own data when ``split`` is given), a model whose depth
            units differ from ``data``'s, a non-empty ``out`` without ``overwrite`` (or
            one that a report did not write). Nothing is written then.
    """
    from tqdm.auto import tqdm

    from rgb2depth import __version__
    from rgb2depth.data.io import atomic_dir
    from rgb2depth.devices import resolve_device
    from rgb2depth.evaluation import evaluate_predictor

    if examples < 0:
        raise InputError(f"examples must be >= 0, got {examples}")
    out = Path(out)
    runs = load_runs(run_dirs)
    try:
        resolve_device(device)
    except InputError as e:
        raise InputError(f"--device: {e}") from None
    for run in runs:  # refuse an output inside a run before reading anything heavy
        if os.path.realpath(out) == os.path.realpath(run.path):
            raise InputError(f"--out {out} is the run folder {run.path}; choose another folder")
    if os.path.lexists(out) and overwrite:
        _check_replaceable(out)
    elif os.path.lexists(out) and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"output folder {out} exists and is not empty (pass --overwrite)")
    explicit = data is not None or split is not None
    split_name = split or "test"
    shared = _target(str(data), split_name) if data is not None else None
    predictors: dict[str, Predictor] = {}
    targets: dict[str, _Target | None] = {}
    results: dict[str, RunMetrics] = {}
    for run in runs:
        if not _predicts_from_rgb(run):
            targets[run.name] = None
            results[run.name] = _fallback(
                run, f"method {run.method} does not predict depth from an image"
            )
            continue
        target = shared
        if target is None:
            root = run.data_root
            try:
                if root is None:
                    raise InputError("its config.yaml names no data.root")
                target = _target(root, split_name)
            except InputError as e:
                if explicit:
                    raise InputError(f"run {run.path}: data.root {root}: {e}") from None
                targets[run.name] = None
                results[run.name] = _fallback(run, f"{e}; give --data to evaluate it")
                continue
        predictor = predictors[run.name] = _load_predictor(run, device)
        if predictor.units != target.info.depth_units:
            raise InputError(
                f"run {run.path}: its model predicts {predictor.units} but {target.root} "
                f"holds {target.info.depth_units}; give --data with {predictor.units} depth"
            )
        targets[run.name] = target

    # Everything that can be refused has been; the work happens in a temporary folder.
    with atomic_dir(out, overwrite=overwrite, replaceable=_check_replaceable) as tmp:
        bar = tqdm(runs, desc="report", unit="run", disable=not progress, leave=False)
        for run in bar:
            target = targets[run.name]
            if target is None:
                continue
            bar.set_postfix_str(run.name)
            predictor = predictors[run.name]
            metrics = evaluate_predictor(
                predictor.predict, target.root, split=target.split, progress=progress
            )
            n = int(metrics.get("n_images", metrics.get("n_files", 0)))
            results[run.name] = RunMetrics(
                {k: float(v) for k, v in metrics.items()},
                "evaluated",
                f"evaluated on {target.root} [{target.split}], {n} images",
                target.root,
                target.split,
            )
        bar.close()

        figures: dict[str, str] = {}
        notes: list[str] = []

        def save(fig: Figure | None, name: str, caption: str) -> None:
            if fig is None:
                return
            _save(fig, tmp / name)
            figures[name] = caption

        curves = curve_data(runs)
        for phase in ("train", "val"):
            save(
                plot_curves(curves, phase),
                f"curves-{phase}.png",
                f"{'Training losses' if phase == 'train' else 'Validation metrics'} "
                "from log.csv over training steps, one line per run.",
            )
        shown = [r for r in runs if targets[r.name] is not None]
        left_out = [r.name for r in runs if targets[r.name] is None]
        first = next((targets[r.name] for r in shown), None)
        if examples and first is not None:
            same = [r for r in shown if _same_target(targets[r.name], first)]
            left_out += [r.name for r in shown if r not in same]
            ex = _examples(first, {r.name: predictors[r.name] for r in same}, examples)
            names = [r.name for r in same]
            units = first.info.depth_units
            save(
                _plot_examples(ex, names, units),
                "examples.png",
                f"{len(ex)} images of {first.root} [{first.split}]: the input, each run's "
                "prediction and the ground truth (one depth scale, black: no ground truth), "
                "then each run's absolute error on the pixels the metrics score "
                "(one error scale; mae: that image's mean).",
            )
            if first.info.depth_range[0] < 0:
                notes.append(
                    "No 3D view: the depth is a signed height map, not depth along a "
                    "pinhole camera's rays."
                )
            else:
                camera, cam_source = _camera(first, ex[0])
                save(
                    _plot_3d(ex[0], names, camera),
                    "view-3d.png",
                    f"{ex[0].name}: the ground truth and each run's prediction as meshes on "
                    f"the ground truth's valid pixels, turned {VIEW_YAW_DEG:g}° sideways and "
                    f"{VIEW_PITCH_DEG:g}° down; camera: {cam_source}.",
                )
        elif examples and runs:
            notes.append("No example images: no run could be evaluated on a dataset.")
        if left_out and "examples.png" in figures:
            notes.append(
                "Not in the example figures (not evaluated on the same data): "
                + ", ".join(left_out)
                + "."
            )
        summary = {
            "format": REPORT_FORMAT,
            "format_version": 1,
            "rgb2depth": __version__,
            "command": command,
            "runs": [
                {
                    "name": r.name,
                    "path": str(r.path),
                    "method": r.method,
                    "model": r.model,
                    "data": r.data_root,
                    "steps": _steps(r),
                    "metrics": results[r.name].metrics,
                    "source": results[r.name].source,
                    "note": results[r.name].note,
                    "evaluated_on": (
                        {"data": results[r.name].data, "split": results[r.name].split}
                        if results[r.name].source == "evaluated"
                        else None
                    ),
                }
                for r in runs
            ],
            "differing_config": {
                k: dict(zip([r.name for r in runs], v, strict=True))
                for k, v in differing_config(runs).items()
            },
            "figures": figures,
            "notes": notes,
        }
        (tmp / "report.json").write_text(
            json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
        )
        (tmp / "report.md").write_text(_page(runs, results, summary), encoding="utf-8")
    return summary


def _same_target(a: _Target | None, b: _Target) -> bool:
    return (
        a is not None
        and os.path.realpath(a.root) == os.path.realpath(b.root)
        and a.split == b.split
    )


def _steps(run: Run) -> int | None:
    try:
        from rgb2depth.models import read_model_config

        steps = (read_model_config(run.model_dir).get("trained") or {}).get("steps")
        return None if steps is None else int(steps)
    except (InputError, TypeError, ValueError):
        return None


def _page(runs: Sequence[Run], results: Mapping[str, RunMetrics], summary: dict) -> str:
    from rgb2depth.metrics import METRIC_INFO

    lines = ["# Training report", ""]
    if summary["command"]:
        lines += [f"Made by `{summary['command']}` (rgb2depth {summary['rgb2depth']}).", ""]
    lines += ["## Runs", "", "| run | folder | method | network | data | steps |"]
    lines += ["|---|---|---|---|---|---|"]
    for r, info in zip(runs, summary["runs"], strict=True):
        cells = [r.name, f"`{r.path}`", r.method, r.model, r.data_root, info["steps"]]
        lines.append("| " + " | ".join(_md("—" if c is None else c) for c in cells) + " |")
    lines += ["", "## Settings that differ", ""]
    diff = summary["differing_config"]
    if len(runs) < 2:
        lines.append("(one run: nothing to compare)")
    elif not diff:
        lines.append("The runs' config.yaml files agree on every key (log.out aside).")
    else:
        lines.append("| key | " + " | ".join(_md(r.name) for r in runs) + " |")
        lines.append("|---|" + "---|" * len(runs))
        for key, values in diff.items():
            cells = [f"`{_md(_value(values[r.name]))}`" for r in runs]
            lines.append(f"| {_md(key)} | " + " | ".join(cells) + " |")
    lines += ["", "## Metrics", ""]
    names = [m for m in TABLE_METRICS if any(m in results[r.name].metrics for r in runs)]
    arrows = ["↑" if METRIC_INFO[m].higher_is_better else "↓" for m in names]
    head = [f"{m} {a}" for m, a in zip(names, arrows, strict=True)]
    lines.append("| run | " + " | ".join(head) + " | source |")
    lines.append("|---|" + "---:|" * len(names) + "---|")
    for r in runs:
        res = results[r.name]
        cells = [_fmt(res.metrics.get(m)) for m in names]
        lines.append(f"| {_md(r.name)} | " + " | ".join(cells) + f" | {_md(res.note)} |")
    lines += [
        "",
        "In the dataset's depth units: metrics as `rgb2depth evaluate` computes them "
        "(docs/metrics.md); ↓ lower is better, ↑ higher is better.",
    ]
    captions = summary["figures"]
    sections = [
        ("Training curves", ("curves-train.png", "curves-val.png")),
        ("Examples", ("examples.png",)),
        ("3D view", ("view-3d.png",)),
    ]
    for title, files in sections:
        present = [f for f in files if f in captions]
        if not present:
            continue
        lines += ["", f"## {title}"]
        for f in present:
            lines += ["", f"![{f}]({f})", "", captions[f]]
    if summary["notes"]:
        lines += ["", "## Notes", ""]
        lines += [f"- {n}" for n in summary["notes"]]
    return "\n".join(lines) + "\n"
