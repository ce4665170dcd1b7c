"""Rerun the papers' comparisons at CPU scale and write docs/results.md from what they measure.

    python scripts/reproduce.py                      # every experiment (hours on 2 cores)
    python scripts/reproduce.py --only cgan-cpu mse-cpu
    python scripts/reproduce.py --steps 3 --out /tmp/results.md   # a smoke run of the script

Each experiment is a committed config in ``configs/`` trained with ``rgb2depth train``
(into ``runs/repro/NAME``; a finished run is reused unless ``--force``) and scored with
``rgb2depth evaluate``'s protocol on the test split of its own dataset (held-out
identities, liners; paired, so unsupervised models are measured against true depth).
The page lists, for every number, the command that made it and where it ran.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("rmse", "mae", "abs_rel", "delta1", "rmse_aligned")
"""The metrics of the tables (``-`` where one does not apply: signed surface heights get
the linear metrics only); ``rmse_aligned``: RMSE after aligning each prediction to its
ground truth (``rgb2depth evaluate --align``): by median(gt) / median(pred) for depth,
by a least-squares scale and shift for signed heights; it measures shape, not scale."""


def _with_aligned(predict: Any, root: str | Path) -> dict[str, float]:
    from rgb2depth.data.format import read_info
    from rgb2depth.evaluation import evaluate_predictor

    align = "median" if read_info(root).depth_range[0] >= 0 else "lstsq"
    metrics = evaluate_predictor(predict, root, split="test", progress=False)
    aligned = evaluate_predictor(predict, root, split="test", align=align, progress=False)
    return {**metrics, "rmse_aligned": aligned["rmse"]}


@dataclass(frozen=True)
class Experiment:
    name: str
    group: str
    config: str
    what: str
    overrides: tuple[str, ...] = field(default=())


EXPERIMENTS: list[Experiment] = []
"""Filled in by the groups below, in the order of docs/results.md."""

GROUPS = {
    "seed000-faces": "Seed 000, Tables 1-2: unpaired faces (RGB from one half of the training "
    "identities, depth from the other), perceptual reconstruction against the cycle baseline",
    "seed000-surfaces": "Seed 000, Tables 1-2: unpaired surfaces (RGB views of 4.2 mm, depth "
    "crops of 1.9 mm), perceptual reconstruction against the cycle baseline",
    "seed001": "Seed 001, Table 1: the cGAN against the same generator trained as a plain "
    "autoencoder (MSE)",
    "seed002": "Seed 002: pix2pix on paired faces against the supervised light U-Net",
}


def add(group: str, name: str, config: str, what: str, *overrides: str) -> None:
    EXPERIMENTS.append(Experiment(name, group, config, what, tuple(overrides)))


add(
    "seed000-faces",
    "faces-unsupervised",
    "configs/faces-unsupervised-cpu.yaml",
    "perceptual reconstruction (critic features + psi)",
)
add(
    "seed000-faces",
    "faces-cycle",
    "configs/faces-cycle-cpu.yaml",
    "cycle-consistency baseline (plain MAE)",
)
add(
    "seed000-surfaces",
    "surfaces-unsupervised",
    "configs/surfaces-unsupervised-cpu.yaml",
    "perceptual reconstruction (critic features + psi)",
    "schedule.steps=2000",  # half the config's 4000 (and gamma's ramp): fits one session
    "method.gamma_steps=2000",
)
add(
    "seed000-surfaces",
    "surfaces-cycle",
    "configs/surfaces-cycle-cpu.yaml",
    "cycle-consistency baseline (plain MAE)",
    "schedule.steps=2000",
)
add("seed001", "cgan", "configs/faces-cgan-cpu.yaml", "cGAN: BCE + 100 MSE")
add(
    "seed001",
    "autoencoder-mse",
    "configs/faces-autoencoder-mse-cpu.yaml",
    "the same generator, MSE only",
)
add("seed002", "pix2pix", "configs/faces-pix2pix-cpu.yaml", "pix2pix: BCE + 100 L1")
add("seed002", "light-unet", "configs/faces-light-256-cpu.yaml", "light U-Net, seed 004's loss")


RUNS = ROOT / "runs" / "repro"
"""Where the runs go (``runs/repro-smoke`` for a ``--steps`` smoke run)."""


def run_dir(e: Experiment) -> Path:
    return RUNS / e.name


def command(e: Experiment, steps: int | None) -> str:
    extra = [*e.overrides, *([f"schedule.steps={steps}"] if steps else [])]
    return " ".join(
        ["rgb2depth train", e.config, *extra, f"log.out={run_dir(e).relative_to(ROOT)}"]
    )


def train(e: Experiment, steps: int | None, force: bool) -> tuple[dict, float | None]:
    """Train ``e`` (unless its model exists) and return (its config, seconds or None)."""
    from rgb2depth.config import load_config
    from rgb2depth.engine.run import train as train_run

    out = run_dir(e)
    overrides = [*e.overrides, f"log.out={out}", "log.progress=false"]
    if steps:
        overrides.append(f"schedule.steps={steps}")
    config = load_config(ROOT / e.config, overrides)
    if (out / "model" / "config.json").is_file() and not force:
        return config, None
    if force and out.exists():
        import shutil

        shutil.rmtree(out)
    t0 = time.perf_counter()
    train_run(config, progress=sys.stderr.isatty())
    return config, time.perf_counter() - t0


def logged_seconds(log: Path) -> float | None:
    """Training time from a run's ``log.csv``: its last step over its logged steps/s."""
    import csv

    last = None
    if log.is_file():
        with log.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["name"] == "steps_per_s":
                    last = row
    return int(last["step"]) / float(last["value"]) if last else None


def result_file(e: Experiment) -> Path:
    return run_dir(e) / "result.json"


def score(e: Experiment, config: dict) -> dict[str, float]:
    from rgb2depth import Predictor

    predictor = Predictor.from_pretrained(run_dir(e) / "model", device="cpu")
    return _with_aligned(predictor.predict, config["data"]["root"])


def best_constant(root: str | Path) -> dict[str, float]:
    """The training split's mean depth map (its depth domain, when unpaired), scored on the
    test split like the runs: what a network must beat to have learnt anything."""
    from rgb2depth.baselines import MeanDepthMap
    from rgb2depth.data import PairedDepthDataset, UnpairedDepthDataset
    from rgb2depth.data.datasets import load_depth
    from rgb2depth.data.format import read_info

    info = read_info(root)
    if info.is_paired("train"):
        samples: Any = PairedDepthDataset(root, "train")
    else:
        files = UnpairedDepthDataset(root, "train").depth_files
        samples = (dict(zip(("depth", "mask"), load_depth(f, info), strict=True)) for f in files)
    const = MeanDepthMap.fit(samples).mean[0].numpy()
    return _with_aligned(lambda rgb: const, root)


def _cell(metrics: dict[str, float], key: str) -> str:
    return f"{metrics[key]:.4g}" if key in metrics else "-"


def render(rows: list[tuple[Experiment, dict, dict[str, float], float | None]], steps) -> str:
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
    )
    lines = [
        "# Results: the papers' comparisons at CPU scale",
        "",
        "Written by `python scripts/reproduce.py` from what it measured; every row names the",
        "config and the command that trained it. Scores follow `rgb2depth evaluate`'s protocol",
        "(the dataset's units, valid pixels, per-image metrics averaged over images, no",
        "alignment; the last column aligns each prediction first, by median(gt) /",
        "median(pred), or by a least-squares scale and shift for signed surface heights,",
        "so it measures shape rather than scale) on the test split of each run's",
        "own dataset. A best-constant row (the training depth maps' mean) shows what a",
        "network must beat to have learnt anything. CPU-scale configs shrink the",
        "papers' settings (each config says how), so the numbers compare methods under one",
        "budget here; they are not the papers' numbers.",
        "",
        f"Machine: {machine}, device cpu."
        + (f" Smoke run: every experiment cut to {steps} steps." if steps else ""),
    ]
    for group, title in GROUPS.items():
        chosen = [r for r in rows if r[0].group == group]
        if not chosen:
            continue
        lines += ["", f"## {title}", ""]
        lines.append("| run | what | steps | train time | " + " | ".join(SHOWN) + " |")
        lines.append("|---|---|---:|---:|" + "---:|" * len(SHOWN))
        root = chosen[0][1]["data"]["root"]
        const = best_constant(root)
        lines.append(
            f"| best constant | the training depth maps' mean, `{Path(root).name}` | - | - | "
            + " | ".join(_cell(const, k) for k in SHOWN)
            + " |"
        )
        for e, config, m, seconds in chosen:
            took = f"{seconds / 60:.1f} min" if seconds is not None else "-"
            cells = [_cell(m, k) for k in SHOWN]
            lines.append(
                f"| {e.name} | {e.what} | {config['schedule']['steps']} | {took} | "
                + " | ".join(cells)
                + " |"
            )
        lines += ["", "Commands:", "", "```bash"]
        lines += [command(e, steps) for e, *_ in chosen]
        lines += ["```"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="experiment names (default: all)")
    ap.add_argument("--steps", type=int, help="cut every run to this many steps (a smoke run)")
    ap.add_argument("--force", action="store_true", help="retrain runs that exist")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    ap.add_argument("--list", action="store_true", help="list the experiments and exit")
    ap.add_argument(
        "--render-only", action="store_true", help="write the page from the stored results"
    )
    args = ap.parse_args()
    global RUNS
    if args.steps:
        RUNS = ROOT / "runs" / "repro-smoke"
    if args.list:
        for e in EXPERIMENTS:
            print(f"{e.name:<28} {e.group:<18} {command(e, args.steps)}")
        return 0
    known = {e.name for e in EXPERIMENTS}
    unknown = sorted(set(args.only or ()) - known)
    if unknown:
        print(
            f"unknown experiment(s) {unknown}; known: {', '.join(sorted(known))}", file=sys.stderr
        )
        return 2
    from rgb2depth.data.io import atomic_path

    for e in EXPERIMENTS:
        if args.render_only or (args.only and e.name not in args.only):
            continue
        print(f"== {e.name}: {command(e, args.steps)}", flush=True)
        config, seconds = train(e, args.steps, args.force)
        if seconds is None and result_file(e).is_file():  # reused: keep its training time
            seconds = json.loads(result_file(e).read_text(encoding="utf-8"))["seconds"]
        if seconds is None:  # reused, never scored: the training's own rate from its log
            seconds = logged_seconds(run_dir(e) / "log.csv")
        metrics = score(e, config)
        print(json.dumps({k: round(metrics[k], 4) for k in SHOWN if k in metrics}), flush=True)
        record = {"config": config, "metrics": metrics, "seconds": seconds}
        with atomic_path(result_file(e)) as tmp:
            tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    rows = []  # every experiment that has a result, run now or before
    for e in EXPERIMENTS:
        if result_file(e).is_file():
            r = json.loads(result_file(e).read_text(encoding="utf-8"))
            rows.append((e, r["config"], r["metrics"], r["seconds"]))

    with atomic_path(args.out) as tmp:
        tmp.write_text(render(rows, args.steps), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
