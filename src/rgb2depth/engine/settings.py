"""Training settings: one dataclass that the config schema and the trainer share.

:class:`TrainSettings` holds everything the trainer needs from a configuration
(optimisation, schedule, logging, data workers). Its fields, their defaults and
the config key each comes from are derived from :data:`rgb2depth.config.SCHEMA`
through :data:`CONFIG_KEYS`, so a default is written once, in the schema; the
checks on each value live there too (:func:`rgb2depth.config.check_config`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rgb2depth.config import SCHEMA

__all__ = ["CONFIG_KEYS", "TrainSettings"]

CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "steps": ("schedule", "steps"),
    "scheduler": ("schedule", "scheduler"),
    "warmup_steps": ("schedule", "warmup_steps"),
    "decay_every": ("schedule", "decay_every"),
    "decay_factor": ("schedule", "decay_factor"),
    "optimizer": ("train", "optimizer"),
    "lr": ("train", "lr"),
    "betas": ("train", "betas"),
    "weight_decay": ("train", "weight_decay"),
    "batch_size": ("train", "batch_size"),
    "grad_clip": ("train", "grad_clip"),
    "amp": ("train", "amp"),
    "device": ("train", "device"),
    "seed": ("train", "seed"),
    "workers": ("data", "workers"),
    "log_every": ("log", "every"),
    "val_every": ("log", "val_every"),
    "ckpt_every": ("log", "ckpt_every"),
    "keep_checkpoints": ("log", "keep_checkpoints"),
    "progress": ("log", "progress"),
}
"""Each field of :class:`TrainSettings` and the (section, key) of the config it reads."""


def _default(name: str) -> Any:
    section, key = CONFIG_KEYS[name]
    value = SCHEMA[section][key]
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class TrainSettings:
    """What the trainer runs with (see :data:`CONFIG_KEYS` for where each comes from).

    Attributes:
        steps: training steps (one step runs every optimisation step of the method,
            each as often as it repeats).
        scheduler, warmup_steps, decay_every, decay_factor: the learning-rate schedule.
        optimizer, lr, betas, weight_decay: the optimiser of every optimisation step
            (a step's own ``lr`` / ``betas`` take precedence).
        batch_size: samples per batch.
        grad_clip: maximum gradient norm per optimisation step; 0 or None: off (a
            step's own ``grad_clip`` takes precedence).
        amp: auto | off | bf16 | fp16.
        device: auto | cpu | cuda | cuda:N.
        seed: seeds the initial weights and the data order.
        workers: DataLoader worker processes.
        log_every, val_every, ckpt_every: intervals in steps (0: never; the last step
            is always validated and checkpointed).
        keep_checkpoints: how many checkpoints to keep.
        progress: show a progress bar.
    """

    steps: int = field(default=_default("steps"))
    scheduler: str = field(default=_default("scheduler"))
    warmup_steps: int = field(default=_default("warmup_steps"))
    decay_every: int = field(default=_default("decay_every"))
    decay_factor: float = field(default=_default("decay_factor"))
    optimizer: str = field(default=_default("optimizer"))
    lr: float = field(default=_default("lr"))
    betas: tuple[float, float] = field(default=_default("betas"))
    weight_decay: float = field(default=_default("weight_decay"))
    batch_size: int = field(default=_default("batch_size"))
    grad_clip: float | None = field(default=_default("grad_clip"))
    amp: str = field(default=_default("amp"))
    device: str = field(default=_default("device"))
    seed: int = field(default=_default("seed"))
    workers: int = field(default=_default("workers"))
    log_every: int = field(default=_default("log_every"))
    val_every: int = field(default=_default("val_every"))
    ckpt_every: int = field(default=_default("ckpt_every"))
    keep_checkpoints: int = field(default=_default("keep_checkpoints"))
    progress: bool = field(default=_default("progress"))

    @classmethod
    def from_config(cls, config: dict[str, Any], **changes: Any) -> TrainSettings:
        """The settings of a (checked) configuration, with ``changes`` on top."""
        values: dict[str, Any] = {}
        for name, (section, key) in CONFIG_KEYS.items():
            value = config[section][key]
            values[name] = tuple(value) if isinstance(value, list) else value
        return dataclasses.replace(cls(**values), **changes)
