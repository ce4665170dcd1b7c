"""The training engine: trainer, resumable data streams, checkpoints, logs, runs."""

from rgb2depth.engine.trainer import Trainer, resolve_amp, resolve_device

__all__ = ["Trainer", "resolve_amp", "resolve_device"]
