"""The method-agnostic trainer.

:class:`Trainer` runs any :class:`~rgb2depth.methods.Method`: for each training
step it runs the method's optimisation steps in order (each ``repeats`` times, each
on a fresh batch), with its own optimizer and learning-rate schedule. It owns
everything that is not the method: device placement, mixed precision, gradient
clipping, the progress bar, logging (:class:`~rgb2depth.engine.logging.RunLogger`),
periodic validation, checkpoints and resuming (:mod:`rgb2depth.engine.checkpoint`).
It never looks inside a batch or a loss.

On CPU a run resumed from a checkpoint continues with bit-identical results: the
batches depend only on the step (:mod:`rgb2depth.engine.data`), and the weights,
optimizer, scheduler and RNG states are all restored.

Under ``torchrun`` (a process group, :mod:`rgb2depth.engine.distributed`) the trainer
runs data-parallel: each process computes the gradients of its slice of the global
batch, they are averaged over the processes after every ``backward``, and every
process takes the same optimizer step. Rank 0 alone logs, validates and writes
checkpoints; every process resumes from the same checkpoint (docs/distributed.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from rgb2depth.devices import DEVICES, resolve_device
from rgb2depth.engine import distributed as ddp
from rgb2depth.engine.checkpoint import (
    capture_rng,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
    seed_all,
)
from rgb2depth.engine.data import global_batch_size, infinite_loader
from rgb2depth.engine.logging import RunLogger
from rgb2depth.engine.settings import TrainSettings
from rgb2depth.errors import InputError
from rgb2depth.methods import Method, OptimStep

# DEVICES and resolve_device live in rgb2depth.devices (inference uses them too); still
# importable from here.
__all__ = ["DEVICES", "Evaluator", "Trainer", "resolve_amp", "resolve_device"]

Evaluator = Callable[[Method, torch.device], tuple[dict[str, float], dict[str, np.ndarray]]]
"""Validation: (method in eval mode, device) -> (metrics, images for TensorBoard)."""

SCHEDULERS = ("constant", "cosine", "step")
OPTIMIZERS = ("adam", "adamw")
AMP_MODES = ("auto", "off", "bf16", "fp16")
"""The names each setting accepts, as :mod:`rgb2depth.config` checks them (the devices,
``DEVICES``, are in :mod:`rgb2depth.devices`)."""


def _or(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` (auto | off | bf16 | fp16) on ``device``, or None."""
    if amp not in AMP_MODES:
        raise InputError(f"unknown train.amp {amp!r}; use {_or(AMP_MODES)}")
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "fp16" and device.type != "cuda":
        raise InputError("train.amp=fp16 needs a CUDA device; on CPU use bf16 or off")
    return torch.bfloat16 if amp == "bf16" else torch.float16


def _lr_lambda(scheduler: str, steps: int, warmup: int, every: int, factor: float):
    if scheduler not in SCHEDULERS:
        raise InputError(
            f"unknown schedule.scheduler {scheduler!r}; known: {', '.join(SCHEDULERS)}"
        )

    def f(step: int) -> float:
        scale = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
        if scheduler == "cosine":
            t = min(1.0, max(0, step - warmup) / max(1, steps - warmup))
            scale *= 0.5 * (1.0 + math.cos(math.pi * t))
        elif scheduler == "step" and every > 0:
            scale *= factor ** (step // every)
        return scale

    return f


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


class Trainer:
    """Runs a method's optimisation steps; owns devices, AMP, logs and checkpoints.

    Args:
        method: what to train (its networks, steps and losses).
        train_data: a map-style dataset of samples (:mod:`rgb2depth.data.contract`).
        run_dir: where logs and checkpoints go.
        settings: what to run with (:class:`~rgb2depth.engine.settings.TrainSettings`;
            its defaults are the config schema's).
        evaluator: validation, called every ``val_every`` steps and at the end.
        tensorboard: write TensorBoard event files.
        dist: this process's place in a distributed run; None: the process group
            :func:`torch.distributed.init_process_group` made, if any (else one process).
        **changes: fields of ``settings`` to change (``steps=10, lr=1e-3``).

    Raises:
        InputError: bad settings, an empty training split, or a global batch
            (``batch_size``) that does not divide by the number of processes.
    """

    def __init__(
        self,
        method: Method,
        train_data: Dataset,
        run_dir: str | Path,
        *,
        settings: TrainSettings | None = None,
        evaluator: Evaluator | None = None,
        tensorboard: bool = True,
        dist: ddp.Distributed | None = None,
        **changes: Any,
    ) -> None:
        try:
            cfg = dataclasses.replace(settings or TrainSettings(), **changes)
        except TypeError as e:  # an unknown setting
            raise InputError(f"Trainer: {e}") from None
        if cfg.steps < 1 or cfg.batch_size < 1:
            raise InputError(
                f"steps and batch_size must be >= 1, got {cfg.steps} and {cfg.batch_size}"
            )
        if cfg.optimizer not in OPTIMIZERS:
            raise InputError(
                f"unknown train.optimizer {cfg.optimizer!r}; known: {', '.join(OPTIMIZERS)}"
            )
        if len(train_data) == 0:  # type: ignore[arg-type]
            raise InputError("the training split is empty")
        self.dist = dist if dist is not None else ddp.current()
        n, world = len(train_data), self.dist.world_size  # type: ignore[arg-type]
        if global_batch_size(n, cfg.batch_size) % world:
            few = (
                f" (the training split has only {n} samples, so each batch holds all {n})"
                if n < cfg.batch_size
                else ""
            )
            raise InputError(
                f"train.batch_size={cfg.batch_size}{few} cannot be split evenly over "
                f"{world} processes; it is the global batch, divided among them: use a "
                f"multiple of {world}"
            )
        self.settings = cfg
        self.method = method
        self.train_data = train_data
        self.run_dir = Path(run_dir)
        self.evaluator = evaluator
        self.steps, self.batch_size, self.seed, self.lr = (
            cfg.steps,
            cfg.batch_size,
            cfg.seed,
            cfg.lr,
        )
        self.grad_clip = cfg.grad_clip or 0.0
        self.device = resolve_device(cfg.device)
        self.amp_dtype = resolve_amp(cfg.amp, self.device)
        self.log_every, self.val_every, self.ckpt_every = (
            cfg.log_every,
            cfg.val_every,
            cfg.ckpt_every,
        )
        self.keep_checkpoints, self.workers = cfg.keep_checkpoints, cfg.workers
        self.progress, self.tensorboard = cfg.progress, tensorboard

        self.method.to(self.device)
        # every process starts from rank 0's weights and buffers (the same seed made
        # them the same already; a network initialised otherwise is made so here)
        ddp.broadcast_tensors_(self.method.state_dict().values(), self.dist)
        self.optim_steps = method.optim_steps()
        if not self.optim_steps:
            raise InputError(f"method {method.name!r} declares no optimisation step")
        opt_cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        self.optimizers = [
            opt_cls(
                s.parameters,
                lr=s.lr if s.lr is not None else cfg.lr,
                betas=tuple(s.betas if s.betas is not None else cfg.betas),  # type: ignore[arg-type]
                weight_decay=cfg.weight_decay,
            )
            for s in self.optim_steps
        ]
        f = _lr_lambda(
            cfg.scheduler, cfg.steps, cfg.warmup_steps, cfg.decay_every, cfg.decay_factor
        )
        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(o, f) for o in self.optimizers]
        use_scaler = self.amp_dtype == torch.float16
        self.scalers = [
            torch.amp.GradScaler(self.device.type, enabled=use_scaler) for _ in self.optimizers
        ]
        self._trainable = [p for p in method.parameters() if p.requires_grad]
        self._step_ids = {s.name: {id(p) for p in s.parameters} for s in self.optim_steps}
        self.step = 0
        self.batches = 0
        self.last_metrics: dict[str, float] = {}

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """Everything but the weights: optimizers, schedulers, scalers, counters, RNG."""
        return {
            "step": self.step,
            "batches": self.batches,
            "optimizers": [o.state_dict() for o in self.optimizers],
            "schedulers": [s.state_dict() for s in self.schedulers],
            "scalers": [s.state_dict() for s in self.scalers],
            "rng": capture_rng(),
            "metrics": dict(self.last_metrics),
        }

    def save(self) -> Path:
        """Write a checkpoint of the current step (in a distributed run: every process
        calls this; rank 0 writes, with every process's RNG states)."""
        rngs = ddp.gather_objects(capture_rng(), self.dist) if self.dist.enabled else None
        if not self.dist.is_main:
            return self.run_dir / "checkpoints" / f"step_{self.step:08d}"
        state = self.state_dict()
        if rngs is not None:
            state["world_size"] = self.dist.world_size
            state["rng_ranks"] = rngs
        return save_checkpoint(
            self.run_dir,
            self.step,
            self.method.state_dict(),
            state,
            keep=self.keep_checkpoints,
        )

    def _restore_rng(self, state: dict[str, Any]) -> None:
        """Each process's RNG states from a checkpoint saved by as many processes; with
        another number of processes rank 0 takes the saved (rank 0's) states and the
        others fresh streams seeded from (seed, rank, step)."""
        ranks = state.get("rng_ranks")
        if self.dist.world_size == int(state.get("world_size", 1)):
            restore_rng(ranks[self.dist.rank] if ranks is not None else state["rng"])
        elif self.dist.is_main:
            restore_rng(state["rng"])
        else:
            seed_all(ddp.rank_seed(self.seed, self.dist.rank, self.step))

    def load(self, path: str | Path) -> None:
        """Restore weights and training state from a checkpoint folder.

        Raises:
            InputError: a missing, incomplete or corrupt checkpoint (the message names
                the file, and the older checkpoint to fall back on, if any), or one of
                other networks.
        """
        try:
            weights, state = load_checkpoint(path)
        except InputError as e:
            older = [p for p in list_checkpoints(Path(path).parent) if p.name < Path(path).name]
            if not older:
                raise
            raise InputError(
                f"{e}; to resume from the checkpoint before it, delete {path} "
                f"({older[-1].name} remains)"
            ) from None
        own = self.method.state_dict()
        missing = sorted(set(own) - set(weights))
        unexpected = sorted(set(weights) - set(own))
        reshaped = sorted(k for k in set(own) & set(weights) if own[k].shape != weights[k].shape)
        if missing or unexpected or reshaped:
            raise InputError(
                f"{path} does not match this run's networks: {len(missing)} missing, "
                f"{len(unexpected)} unexpected and {len(reshaped)} differently shaped tensors "
                f"(e.g. {(missing or unexpected or reshaped)[0]}); "
                "was it saved with another config?"
            )
        self.method.load_state_dict(weights, strict=True)
        if len(state["optimizers"]) != len(self.optimizers):
            raise InputError(
                f"{path} has {len(state['optimizers'])} optimizers, expected {len(self.optimizers)}"
            )
        for opt, sd in zip(self.optimizers, state["optimizers"], strict=True):
            opt.load_state_dict(sd)
        for sched, sd in zip(self.schedulers, state["schedulers"], strict=True):
            sched.load_state_dict(sd)
        for scaler, sd in zip(self.scalers, state["scalers"], strict=True):
            scaler.load_state_dict(sd)
        self.step, self.batches = int(state["step"]), int(state["batches"])
        self.last_metrics = dict(state.get("metrics", {}))
        self._restore_rng(state)

    # ------------------------------------------------------------------ loop

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _train_step(self, data: Iterator[dict[str, Any]]) -> dict[str, float]:
        logs: dict[str, float] = {}
        single = len(self.optim_steps) == 1
        batch: dict[str, Any] | None = None
        norm: torch.Tensor | None
        upcoming = self.step + 1
        log_now = bool(self.log_every) and (
            upcoming % self.log_every == 0 or upcoming == self.steps
        )
        self.method.train()
        self.method.on_step(self.step)  # a method's own schedules (repeats, loss weights)
        steps = zip(self.optim_steps, self.optimizers, self.scalers, strict=True)
        for ostep, opt, scaler in steps:
            clip = self.grad_clip if ostep.grad_clip is None else ostep.grad_clip
            norm = None
            # only this step's parameters collect gradients (a generator step does not
            # fill the critic's); parameters frozen by the method stay frozen
            others = [p for p in self._trainable if id(p) not in self._step_ids[ostep.name]]
            if not ostep.freeze_others:
                others = []
            for p in others:
                p.requires_grad_(False)
            try:
                for repeat in range(ostep.repeats):
                    if not (ostep.shares_batch and repeat == 0 and batch is not None):
                        batch = _to_device(next(data), self.device)
                        self.batches += 1
                    self.method.zero_grad(set_to_none=True)
                    with self._autocast():
                        loss, terms = self.method.loss(ostep.name, batch)
                    if self.dist.enabled:
                        scaler.scale(loss).backward()
                        # the mean loss travels with the gradients, so every process
                        # sees a divergence on any of them and stops alike
                        self._average_gradients(ostep, loss)
                    elif not torch.isfinite(loss):
                        raise FloatingPointError(self._divergence(ostep.name, float(loss.detach())))
                    else:
                        scaler.scale(loss).backward()
                    if clip and clip > 0:
                        scaler.unscale_(opt)
                        norm = torch.nn.utils.clip_grad_norm_(ostep.parameters, clip)
                    elif log_now:  # the norm is logged; without clipping, only then paid for
                        scaler.unscale_(opt)
                        norm = torch.nn.utils.get_total_norm(
                            [p.grad for p in ostep.parameters if p.grad is not None]
                        )
                    scaler.step(opt)
                    scaler.update()
            finally:
                for p in others:
                    p.requires_grad_(True)
            prefix = "" if single else f"{ostep.name}/"
            logs[f"{prefix}loss"] = float(loss.detach())
            logs.update({f"{prefix}{k}": float(v) for k, v in terms.items()})
            if norm is not None:
                logs[f"{prefix}grad_norm"] = float(norm)
        for s in self.schedulers:
            s.step()
        if self.dist.enabled:
            ddp.average_norm_buffers(self.method, self.dist)
            logs = self._average_logs(logs)
        self.step += 1
        return logs

    def _average_gradients(self, ostep: OptimStep, loss: torch.Tensor) -> None:
        """Average the gradients of ``ostep``'s parameters (and the loss) over the
        processes; raise FloatingPointError on every process if the mean loss is not
        finite."""
        grads = [p.grad for p in ostep.parameters if p.grad is not None]
        mean = loss.detach().float().reshape(1).clone()
        ddp.average_([*grads, mean], self.dist)
        if not torch.isfinite(mean).all():
            raise FloatingPointError(self._divergence(ostep.name, float(mean)))

    def _average_logs(self, logs: dict[str, float]) -> dict[str, float]:
        """The logged values averaged over the processes (each is a mean over its slice)."""
        keys = sorted(logs)
        values = torch.tensor([logs[k] for k in keys], dtype=torch.float64, device=self.device)
        ddp.average_([values], self.dist)
        mean = dict(zip(keys, values.tolist(), strict=True))
        return {k: mean[k] for k in logs}

    def _divergence(self, name: str, loss: float) -> str:
        """What happened, what to change (only advice that applies) and what is saved."""
        change = f"lower train.lr (now {self.lr:g})"
        if self.grad_clip <= 0:
            change += " and turn on gradient clipping (train.grad_clip, now off)"
        last = latest_checkpoint(self.run_dir)
        saved = f"the last checkpoint is {last}" if last else "no checkpoint was saved"
        return (
            f"the {name!r} loss is {loss} at step {self.step + 1}; {change}, then train "
            f"again in a new log.out (--resume keeps a run's settings); {saved}"
        )

    def validate(self, logger: RunLogger | None = None) -> dict[str, float]:
        """Run the evaluator (on rank 0 only in a distributed run); log and return its
        metrics."""
        if self.evaluator is None or not self.dist.is_main:
            return {}
        self.method.eval()
        with torch.no_grad(), self._autocast():
            metrics, images = self.evaluator(self.method, self.device)
        self.method.train()
        self.last_metrics = dict(metrics)
        if logger is not None:
            logger.scalars(self.step, "val", metrics)
            logger.images(self.step, images)
        return metrics

    def fit(
        self, *, resume: bool = False, on_start: Callable[[], None] | None = None
    ) -> dict[str, float]:
        """Train until ``steps``; with ``resume``, continue from the latest checkpoint.

        Args:
            resume: continue from the latest checkpoint of ``run_dir``.
            on_start: called once the checkpoint (if any) has loaded, before anything
                is written to ``run_dir`` (a run writes its ``config.yaml`` there).

        Returns:
            The last validation metrics ({} without an evaluator).
        """
        resume_step = None
        main = self.dist.is_main
        if resume:
            # every process resumes from the checkpoint rank 0 found
            last = ddp.broadcast_object(latest_checkpoint(self.run_dir), self.dist)
            if last is None:
                raise InputError(f"--resume: no checkpoint in {self.run_dir / 'checkpoints'}")
            self.load(last)
            resume_step = self.step
        else:
            seed_all(ddp.rank_seed(self.seed, self.dist.rank))
        ddp.barrier(self.dist)  # all have loaded before rank 0 writes to run_dir
        if on_start is not None and main:
            on_start()
        logger = (
            RunLogger(self.run_dir, resume_step=resume_step, tensorboard=self.tensorboard)
            if main
            else None
        )
        data = infinite_loader(
            self.train_data,
            batch_size=self.batch_size,
            seed=self.seed,
            start=self.batches,
            workers=self.workers,
            pin_memory=self.device.type == "cuda",
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        bar = tqdm(
            total=self.steps,
            initial=self.step,
            desc="train",
            unit="step",
            disable=not (self.progress and main),
            dynamic_ncols=True,
        )
        t0, step0 = time.perf_counter(), self.step
        try:
            while self.step < self.steps:
                logs = self._train_step(data)
                final = self.step == self.steps
                if (
                    logger is not None
                    and self.log_every
                    and (self.step % self.log_every == 0 or final)
                ):
                    rate = (self.step - step0) / max(1e-9, time.perf_counter() - t0)
                    lr = self.optimizers[0].param_groups[0]["lr"]
                    logger.scalars(self.step, "train", {**logs, "lr": lr, "steps_per_s": rate})
                bar.set_postfix({k: f"{v:.4g}" for k, v in list(logs.items())[:3]})
                bar.update(1)
                if (self.val_every and self.step % self.val_every == 0) or final:
                    metrics = self.validate(logger)
                    if metrics:
                        bar.write(
                            f"step {self.step}: "
                            + ", ".join(f"{k} {v:.4g}" for k, v in list(metrics.items())[:4])
                        )
                if (self.ckpt_every and self.step % self.ckpt_every == 0) or final:
                    self.save()
        finally:
            bar.close()
            if logger is not None:
                logger.close()
        return self.last_metrics
