"""The files ``rgb2depth predict`` writes for one image, each written atomically.

``NAME_depth.png``: 16-bit counts, ``depth = offset + scale * count`` in the model's
units (count 0 is "no depth": written only where the depth map holds NaN, as face
mode does outside the faces); ``NAME_depth.json``: that scale, offset and the units
(and, in face mode, the faces); ``NAME_depth_color.png``: the depth colourised over
the model's depth range (near = warm; no depth black); ``NAME_depth.npy`` (optional):
float32 depth in the model's units, NaN where there is none.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rgb2depth.data.io import atomic_path, check_writable, encode_depth_png, save_png

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


def write_depth_outputs(
    out: Path,
    stem: str,
    depth: np.ndarray,
    predictor: Any,
    *,
    npy: bool = False,
    extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the files of one prediction, all or none; return their paths.

    ``depth`` is (H, W) in the predictor's units, NaN where there is no depth; ``extra``
    is added to ``NAME_depth.json`` (e.g. face mode's ``"faces"``).

    Memory: besides ``depth`` itself, the full-size arrays are the 16-bit counts and
    the 8-bit colour image (one at a time); the float temporaries of the encoding and
    the colouring are made one band of rows at a time.
    """
    lo, hi = predictor.depth_range
    scale, offset = png_encoding((lo, hi))
    written: list[Path] = []
    try:
        _write_all(out, stem, depth, predictor, scale, offset, npy, extra or {}, written)
    except BaseException:  # all or nothing: no image left with only some of its files
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


_BAND_PIXELS = 1 << 18  # 262,144 pixels per band: a few MB of temporaries


def _by_rows(depth: np.ndarray, fn: Any, dtype: Any, channels: int = 0) -> np.ndarray:
    """``fn`` (a per-pixel map) applied to bands of rows of ``depth``, so that its
    float64 temporaries stay the size of a band (``_BAND_PIXELS``), not of the photo."""
    h, w = depth.shape
    out = np.empty((h, w, channels) if channels else (h, w), dtype=dtype)
    step = max(1, _BAND_PIXELS // max(1, w))
    for r in range(0, h, step):
        out[r : r + step] = fn(depth[r : r + step])
    return out


def _write_all(
    out: Path,
    stem: str,
    depth: np.ndarray,
    predictor: Any,
    scale: float,
    offset: float,
    npy: bool,
    extra: dict[str, Any],
    written: list[Path],
) -> None:
    from rgb2depth.viz import colorize_depth

    lo, hi = predictor.depth_range
    counts = _by_rows(
        depth,
        lambda d: encode_depth_png(
            np.clip(d, lo, hi), scale=scale, offset=offset, valid=np.isfinite(d)
        ),
        np.uint16,
    )
    path = out / f"{stem}_depth.png"
    save_png(path, counts)
    written.append(path)
    del counts
    meta = {
        "units": predictor.units,
        "scale": scale,
        "offset": offset,
        "formula": "depth = offset + scale * count; count 0 = no depth",
        "model": predictor.source,
        "size": [int(depth.shape[1]), int(depth.shape[0])],
    } | extra
    path = out / f"{stem}_depth.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    written.append(path)
    color = _by_rows(
        depth,
        lambda d: colorize_depth(d, np.isfinite(d), vmin=lo, vmax=hi),
        np.uint8,
        channels=3,
    )
    path = out / f"{stem}_depth_color.png"
    save_png(path, color)
    written.append(path)
    del color
    if npy:
        path = out / f"{stem}_depth.npy"
        with atomic_path(path) as tmp:
            with tmp.open("wb") as f:
                np.save(f, np.asarray(depth, dtype=np.float32), allow_pickle=False)
        written.append(path)
