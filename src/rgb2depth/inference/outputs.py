"""The files ``rgb2depth predict`` writes for one image, each written atomically.

``NAME_depth.png``: 16-bit counts, ``depth = offset + scale * count`` in the model's
units (count 0 is reserved for "no depth" and never written by a prediction);
``NAME_depth.json``: that scale, offset and the units; ``NAME_depth_color.png``: the
depth colourised over the model's depth range (near = warm); ``NAME_depth.npy``
(optional): float32 depth in the model's units.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rgb2depth.data.io import atomic_path, encode_depth_png, save_png
from rgb2depth.errors import InputError

__all__ = ["check_writable", "png_encoding", "write_depth_outputs"]


def png_encoding(depth_range: tuple[float, float]) -> tuple[float, float]:
    """(scale, offset) of a 16-bit PNG spanning ``depth_range`` with a round scale.

    The scale is the smallest 1, 2 or 5 times a power of ten that fits the range into
    counts 1..65535; count 1 is the range's low end.
    """
    lo, hi = depth_range
    need = (hi - lo) / 65000.0
    exp = math.floor(math.log10(need))
    scale = next(m * 10.0**exp for m in (1, 2, 5, 10) if m * 10.0**exp >= need)
    scale = float(f"{scale:.6g}")
    return scale, float(f"{lo - scale:.6g}")


def check_writable(out: Path) -> None:
    """Create ``out`` if needed and make sure files can be written there.

    Raises:
        InputError: ``out`` is a file or cannot be created or written.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"cannot write to output folder {out}: it is a file")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"cannot write to output folder {out}: {e.strerror or e}") from None


def write_depth_outputs(
    out: Path, stem: str, depth: np.ndarray, predictor: Any, *, npy: bool = False
) -> list[Path]:
    """Write the files of one prediction; return their paths."""
    from rgb2depth.viz import colorize_depth

    lo, hi = predictor.depth_range
    scale, offset = png_encoding((lo, hi))
    valid = np.ones(depth.shape, dtype=bool)
    counts = encode_depth_png(np.clip(depth, lo, hi), scale=scale, offset=offset, valid=valid)
    written = []
    path = out / f"{stem}_depth.png"
    save_png(path, counts)
    written.append(path)
    meta = {
        "units": predictor.units,
        "scale": scale,
        "offset": offset,
        "formula": "depth = offset + scale * count; count 0 = no depth",
        "model": predictor.source,
        "size": [int(depth.shape[1]), int(depth.shape[0])],
    }
    path = out / f"{stem}_depth.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    written.append(path)
    path = out / f"{stem}_depth_color.png"
    save_png(path, colorize_depth(depth, valid, vmin=lo, vmax=hi))
    written.append(path)
    if npy:
        path = out / f"{stem}_depth.npy"
        with atomic_path(path) as tmp:
            with tmp.open("wb") as f:
                np.save(f, depth.astype(np.float32), allow_pickle=False)
        written.append(path)
    return written
