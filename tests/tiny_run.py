"""A tiny training config for the tests that run ``rgb2depth train`` (with the
``tiny_faces`` fixture of conftest.py as its data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_tiny_config(path: Path, data_root: Path, *, steps: int, **log: Any) -> Path:
    """A training config for ``data_root``: a light U-Net with channels 4-8-8-8-8 at
    32x32, batch 4, lr 1e-3 on the CPU, ``steps`` steps; ``log`` adds log settings."""
    config = {
        "data": {"root": str(data_root), "size": [32, 32]},
        "model": {"name": "light_unet", "kwargs": {"channels": [4, 8, 8, 8, 8]}},
        "method": {"name": "supervised"},
        "train": {"lr": 1.0e-3, "batch_size": 4, "device": "cpu"},
        "schedule": {"steps": steps},
        "log": {"every": 1, "val_every": 0, "images": 1, "progress": False, **log},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
