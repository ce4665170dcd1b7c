"""Run logs: TensorBoard scalars and images, and a CSV of every scalar.

``<run>/log.csv`` is in long format (``step,phase,name,value``; phase is ``train`` or
``val``) so that methods with different loss terms share one layout; ``pandas``
pivots it in one line. TensorBoard event files go to ``<run>/tensorboard``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["RunLogger"]


class RunLogger:
    """Writes scalars to TensorBoard and ``log.csv``, images to TensorBoard.

    Args:
        run_dir: the run folder.
        resume_step: when resuming, rows of ``log.csv`` after this step (written by the
            interrupted run after its last checkpoint) are dropped so none is doubled.
        tensorboard: write TensorBoard event files.
    """

    def __init__(
        self, run_dir: str | Path, *, resume_step: int | None = None, tensorboard: bool = True
    ) -> None:
        self.path = Path(run_dir) / "log.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and self.path.is_file():
            with self.path.open(newline="", encoding="utf-8") as f:
                rows = [r for r in csv.reader(f)]
            kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= resume_step]
            with self.path.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(kept)
        elif resume_step is None or not self.path.is_file():
            with self.path.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(["step", "phase", "name", "value"])
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))

    def scalars(self, step: int, phase: str, values: Mapping[str, float]) -> None:
        with self.path.open("a", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            for name, value in values.items():
                w.writerow([step, phase, name, f"{float(value):.6g}"])
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{phase}/{name}", float(value), step)

    def images(self, step: int, images: Mapping[str, np.ndarray]) -> None:
        """``images``: name -> (H, W, 3) uint8."""
        if self.writer is not None:
            for name, img in images.items():
                self.writer.add_image(f"val/{name}", img, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
