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

from rgb2depth.data.io import atomic_path

__all__ = ["RunLogger"]

HEADER = ["step", "phase", "name", "value"]


def _complete(row: list[str]) -> bool:
    """A whole data row (a process killed while appending may leave a cut one)."""
    if len(row) != 4 or not row[0].isdigit():
        return False
    try:
        float(row[3])
    except ValueError:
        return False
    return True


class RunLogger:
    """Writes scalars to TensorBoard and ``log.csv``, images to TensorBoard.

    Args:
        run_dir: the run folder.
        resume_step: when resuming, rows of ``log.csv`` after this step (written by the
            interrupted run after its last checkpoint) are dropped so none is doubled,
            and so is a row cut short by a kill.
        tensorboard: write TensorBoard event files.
    """

    def __init__(
        self, run_dir: str | Path, *, resume_step: int | None = None, tensorboard: bool = True
    ) -> None:
        self.path = Path(run_dir) / "log.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = [HEADER]
        if resume_step is not None and self.path.is_file():
            with self.path.open(newline="", encoding="utf-8", errors="replace") as f:
                rows += [r for r in csv.reader(f) if _complete(r) and int(r[0]) <= resume_step]
        # Rewritten whole and renamed into place: a kill leaves the old log or the new one.
        with atomic_path(self.path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
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
