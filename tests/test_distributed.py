"""Distributed data-parallel training (docs/distributed.md): ``torchrun --nproc_per_node=2
-m rgb2depth train CONFIG`` on the CPU (gloo) against one process with the same global
batch.

Equality with one process holds up to float rounding for networks without BatchNorm
and without random draws inside a step (dropout, the gradient penalty's interpolation):
the configs here use ``norm: none`` on synthetic surfaces, whose depth is valid at every
pixel, so each loss (a mean over valid pixels) is the mean of the two halves' losses.
With a gradient penalty the processes draw their own interpolation weights; there the
tests check that a distributed run resumes bit-identically instead.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import training_procs as procs
from rgb2depth.config import load_config
from rgb2depth.engine import distributed as ddp
from rgb2depth.engine.checkpoint import latest_checkpoint, load_checkpoint
from rgb2depth.engine.data import ResumableBatchSampler
from rgb2depth.engine.run import train
from rgb2depth.errors import InputError

LR = 1e-3


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], steps: int) -> None:
    """Weights trained by two processes against one process's, after ``steps`` steps.

    Two processes sum each gradient in another order than one, so the gradients differ
    by float32 rounding (~1e-8). Adam divides each gradient by its own running RMS,
    which turns that rounding into a visible change of the update wherever the exact
    gradient is zero or a near-cancellation (a bias before a layer whose output the
    loss only sees through a mean, a GAN discriminator's output bias at
    initialisation): there a run may take a step of up to ``lr`` where the other takes
    none. So: at least 98 % of all weights within 1e-6, none further than a quarter of
    the distance Adam can travel (``steps * lr``). The per-step losses and gradient
    norms (:func:`assert_same_logs`) are the strict check of the averaging.
    """
    assert a.keys() == b.keys()
    diff = torch.cat([(a[k].double() - b[k].double()).abs().flatten() for k in a])
    close = float((diff <= 1e-6).double().mean())
    assert close >= 0.98, f"only {close:.2%} of the weights within 1e-6"
    worst = max(a, key=lambda k: float((a[k].double() - b[k].double()).abs().max()))
    assert float(diff.max()) <= 0.25 * steps * LR, f"{worst}: off by {float(diff.max()):.3g}"


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 synthetic surfaces at 32x32, depth valid everywhere (one split, train)."""
    from rgb2depth.data.synthetic import generate

    root = tmp_path_factory.mktemp("ddp") / "surfaces"
    generate("surfaces", root, n=16, size=32, seed=0, progress=False)
    return root


def write_config(path: Path, root: Path, **sections: dict[str, Any]) -> Path:
    """A tiny config on ``root``: a norm-free U-Net generator, global batch 4, CPU."""
    config: dict[str, Any] = {
        "data": {"root": str(root), "size": [32, 32], "preset": "densedepth", "val_split": "train"},
        "model": {"name": "unet_generator", "kwargs": {"base_width": 4, "norm": "none"}},
        "method": {"name": "supervised"},
        "train": {"lr": LR, "batch_size": 4, "device": "cpu"},
        "schedule": {"steps": 4, "scheduler": "constant"},
        "log": {"every": 1, "val_every": 0, "images": 1, "ckpt_every": 2, "val_max_images": 2},
    }
    for name, values in sections.items():
        config[name] = {**config[name], **values}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def single(config: Path, out: Path, *overrides: str, resume: bool = False) -> None:
    """One process, in this one (the reference)."""
    train(load_config(config, [f"log.out={out}", *overrides]), resume=resume, progress=False)


def distributed(config: Path, out: Path, *overrides: str, world: int = 2) -> list[str]:
    """``world`` processes with torchrun's environment; their outputs (all must succeed)."""
    argv: list[str | Path] = ["train", config, f"log.out={out}", "--quiet", *overrides]
    results = procs.run_distributed(argv, out.parent / f"{out.name}-logs", world)
    for rank, (code, text) in enumerate(results):
        assert code == 0, f"rank {rank} exited {code}:\n{text}"
    return [text for _, text in results]


def all_weights(run: Path) -> dict[str, torch.Tensor]:
    """Every network of the run's last checkpoint."""
    last = latest_checkpoint(run)
    assert last is not None, run
    return load_checkpoint(last)[0]


def logged(run: Path) -> dict[tuple[int, str], float]:
    """The losses and gradient norms (the global gradient's) logged at each step."""
    with (run / "log.csv").open(encoding="utf-8") as f:
        return {
            (int(r["step"]), r["name"]): float(r["value"])
            for r in csv.DictReader(f)
            if r["phase"] == "train" and r["name"].endswith(("loss", "grad_norm"))
        }


def assert_same_logs(one: Path, two: Path, rel: float = 1e-4) -> None:
    """Each step's losses and gradient norms agree (a Wasserstein generator loss near 0
    is a difference of terms of ~0.1: it gets an absolute tolerance)."""
    want, got = logged(one), logged(two)
    assert got and got.keys() <= want.keys()  # (one may have run on further)
    for key, value in got.items():
        assert value == pytest.approx(want[key], rel=rel, abs=1e-5), key


# ---------------------------------------------------------------- without processes


@pytest.mark.parametrize(("n", "batch", "world"), [(16, 4, 2), (10, 6, 3), (16, 8, 4), (3, 8, 3)])
def test_rank_slices_make_up_the_single_process_batch(n: int, batch: int, world: int) -> None:
    whole = iter(ResumableBatchSampler(n, batch, seed=7, start=5))
    parts = [
        iter(ResumableBatchSampler(n, batch, seed=7, start=5, rank=r, world_size=world))
        for r in range(world)
    ]
    for _ in range(12):  # several epochs
        want = next(whole)
        got = [next(p) for p in parts]
        assert [k for part in got for k in part] == want
        assert len({len(part) for part in got}) == 1


def test_global_batch_must_divide_by_the_processes(surfaces: Path, tmp_path: Path) -> None:
    from rgb2depth.engine.trainer import Trainer
    from rgb2depth.methods import MethodContext, build_method
    from rgb2depth.models import create_model

    method = build_method(
        {"name": "supervised"},
        create_model("unet_generator", base_width=2, norm="none"),
        MethodContext(3, "um", (0.0, 1.0)),
    )
    data = list(range(16))
    two = ddp.Distributed(rank=0, world_size=2)
    with pytest.raises(InputError, match=r"^train.batch_size=5 cannot be split evenly over 2"):
        Trainer(method, data, tmp_path, batch_size=5, device="cpu", dist=two)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"only 3 samples, so each batch holds all 3"):
        Trainer(method, data[:3], tmp_path, batch_size=4, device="cpu", dist=two)  # type: ignore[arg-type]


def test_environment_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert ddp.from_env() == ddp.Distributed()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not ddp.from_env().enabled
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(InputError, match=r"RANK, LOCAL_RANK not set.*torchrun"):
        ddp.from_env()
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(InputError, match=r"RANK=2 / LOCAL_RANK=0 out of range"):
        ddp.from_env()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(InputError, match=r"RANK='x' is not an integer"):
        ddp.from_env()
    monkeypatch.setenv("RANK", "1")
    ctx = ddp.from_env()
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.is_main) == (1, 2, 0, False)
    assert ddp.process_device("cpu", ctx) == "cpu"
    assert ddp.process_device("cpu", ddp.Distributed()) == "cpu"
    with pytest.raises(InputError, match=r"train.device=cuda:1 names one GPU"):
        ddp.process_device("cuda:1", ctx)
    assert ddp.rank_seed(5, 0) == 5
    assert len({ddp.rank_seed(5, r) for r in range(4)}) == 4


# ---------------------------------------------------------------- two processes


@pytest.mark.slow
def test_torchrun_supervised_equals_one_process(surfaces: Path, tmp_path: Path) -> None:
    """The documented command; then one process resumes the two-process run."""
    config = write_config(tmp_path / "c.yaml", surfaces)
    single(config, tmp_path / "one", "schedule.steps=6")
    out = tmp_path / "two"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = ["--nproc_per_node=2", "-m", "rgb2depth", "train", str(config), f"log.out={out}"]
    proc = subprocess.run(
        [*torchrun, *command, "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("trained 4 steps") == 1, proc.stdout  # rank 0 alone prints
    one = tmp_path / "one" / "checkpoints" / "step_00000004"
    assert_close(load_checkpoint(one)[0], all_weights(out), 4)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step_00000002",
        "step_00000004",
    ]
    _, state = load_checkpoint(out / "checkpoints" / "step_00000004")
    assert state["world_size"] == 2 and len(state["rng_ranks"]) == 2
    assert sorted(logged(out)) == [(s, n) for s in range(1, 5) for n in ("grad_norm", "loss")]
    assert_same_logs(tmp_path / "one", out, rel=1e-5)
    meta = yaml.safe_load((out / "model" / "config.json").read_text())
    assert meta["trained"]["processes"] == 2 and meta["trained"]["batch_size"] == 4
    # one process goes on from the two processes' checkpoint: the same data, the same sums
    single(config, out, "schedule.steps=6", resume=True)
    assert_close(all_weights(tmp_path / "one"), all_weights(out), 6)


@pytest.mark.slow
def test_pix2pix_two_processes_equal_one(surfaces: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        surfaces,
        data={"size": [256, 256]},
        model={
            "name": "pix2pix_unet",
            "kwargs": {"base_width": 2, "norm": "none", "dropout": False},
        },
        method={"name": "pix2pix", "discriminator_kwargs": {"base_width": 2, "norm": "none"}},
        schedule={"steps": 3},
        log={"ckpt_every": 0},
    )
    single(config, tmp_path / "one")
    distributed(config, tmp_path / "two")
    weights = all_weights(tmp_path / "two")
    assert any(k.startswith("discriminator.") for k in weights)
    assert_close(all_weights(tmp_path / "one"), weights, 3)
    assert logged(tmp_path / "one").keys() == logged(tmp_path / "two").keys()
    assert {name for _, name in logged(tmp_path / "two")} == {
        f"{net}/{x}" for net in ("discriminator", "generator") for x in ("loss", "grad_norm")
    }
    assert_same_logs(tmp_path / "one", tmp_path / "two")


UNSUPERVISED = {
    "model": {
        "name": "style_generator",
        "kwargs": {"base_width": 4, "n_blocks": 1, "norm": "none"},
    },
    "method": {
        "name": "unsupervised",
        "critic_kwargs": {"base_width": 2, "norm": "none"},
        "n_critic": 2,
        "n_critic_halve_after": 2,
        "gamma_steps": 2,
        "lambda_rec": 10.0,
    },
}


@pytest.mark.slow
def test_unsupervised_two_processes_equal_one_without_gradient_penalty(
    surfaces: Path, tmp_path: Path
) -> None:
    """Two WGAN optimisation steps, the critics' repeated (2, then halved to 1)."""
    method = {**UNSUPERVISED["method"], "gp_weight": 0.0}
    config = write_config(tmp_path / "c.yaml", surfaces, model=UNSUPERVISED["model"], method=method)
    single(config, tmp_path / "one")
    distributed(config, tmp_path / "two")
    assert_close(all_weights(tmp_path / "one"), all_weights(tmp_path / "two"), 4)
    assert logged(tmp_path / "one").keys() == logged(tmp_path / "two").keys()
    assert_same_logs(tmp_path / "one", tmp_path / "two")


@pytest.mark.slow
def test_gradient_penalty_run_resumes_bit_identically(surfaces: Path, tmp_path: Path) -> None:
    """With the gradient penalty (a gradient of a gradient, and random interpolates
    drawn by each process) a two-process run stopped after its checkpoint and resumed
    by two processes ends exactly where the uninterrupted one does."""
    config = write_config(tmp_path / "c.yaml", surfaces, **UNSUPERVISED)
    distributed(config, tmp_path / "whole")
    distributed(config, tmp_path / "cut", "schedule.steps=2")
    distributed(config, tmp_path / "cut", "--resume")
    a, b = all_weights(tmp_path / "whole"), all_weights(tmp_path / "cut")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ"
    _, state = load_checkpoint(latest_checkpoint(tmp_path / "cut"))
    ranks = state["rng_ranks"]
    assert len(ranks) == 2 and not torch.equal(ranks[0]["torch"], ranks[1]["torch"])
    with (tmp_path / "cut" / "log.csv").open(encoding="utf-8") as f:
        gp = [r for r in csv.DictReader(f) if r["name"] == "critics/depth/gp"]
    assert [int(r["step"]) for r in gp] == [1, 2, 3, 4]


@pytest.mark.slow
def test_indivisible_batch_is_one_line_on_every_process(surfaces: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", surfaces, train={"batch_size": 3})
    argv: list[str | Path] = ["train", config, f"log.out={tmp_path / 'run'}", "--quiet"]
    for code, text in procs.run_distributed(argv, tmp_path / "logs", 2):
        assert code == 2, text
        assert text.strip().splitlines() == [
            "rgb2depth train: error: train.batch_size=3 cannot be split evenly over 2 "
            "processes; it is the global batch, divided among them: use a multiple of 2"
        ]
    assert not (tmp_path / "run").exists()
