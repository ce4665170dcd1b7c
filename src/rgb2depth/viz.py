"""Colourised depth and contact sheets (uint8 images for people to look at)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rgb2depth.data.io import default_valid


def colorize_depth(
    depth: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "turbo",
) -> np.ndarray:
    """Map depth to colour: small values warm (near), large values cool; invalid black.

    Args:
        depth: (H, W) depth in any units.
        valid: (H, W) bool; default :func:`rgb2depth.data.io.default_valid`.
        vmin, vmax: colour range; default the 2nd and 98th percentiles of valid depth.
        cmap: a matplotlib colormap name.

    Returns:
        (H, W, 3) uint8.
    """
    from matplotlib import colormaps

    depth = np.asarray(depth, dtype=np.float64)
    if valid is None:
        valid = default_valid(depth)
    out = np.zeros((*depth.shape, 3), dtype=np.uint8)
    if not valid.any():
        return out
    v = depth[valid]
    lo = float(np.percentile(v, 2)) if vmin is None else vmin
    hi = float(np.percentile(v, 98)) if vmax is None else vmax
    if hi <= lo:
        hi = lo + 1e-6
    t = np.clip((hi - depth) / (hi - lo), 0.0, 1.0)
    rgba = colormaps[cmap](t[valid])
    out[valid] = np.round(rgba[:, :3] * 255).astype(np.uint8)
    return out


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray]], *, pad: int = 2, columns: int = 4
) -> np.ndarray:
    """Tile groups of same-size uint8 images: each group side by side, groups in a grid.

    Args:
        rows: a sequence of groups; each group is a sequence of (H, W, 3) uint8
            images of one size (e.g. RGB and colourised depth of one sample).
        pad: gap in pixels between tiles.
        columns: groups per row of the sheet.

    Returns:
        (H', W', 3) uint8 sheet with a dark grey background.
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one group")
    h = max(img.shape[0] for g in rows for img in g)
    w = max(img.shape[1] for g in rows for img in g)
    k = max(len(g) for g in rows)
    cols = min(columns, len(rows))
    nrow = -(-len(rows) // cols)
    cell_w = k * w + (k - 1) * pad
    sheet = np.full(
        (nrow * h + (nrow + 1) * pad * 2, cols * cell_w + (cols + 1) * pad * 4, 3), 40, np.uint8
    )
    for idx, group in enumerate(rows):
        r, c = divmod(idx, cols)
        y = pad * 2 + r * (h + pad * 2)
        x0 = pad * 4 + c * (cell_w + pad * 4)
        for j, img in enumerate(group):
            x = x0 + j * (w + pad)
            sheet[y : y + img.shape[0], x : x + img.shape[1]] = img
    return sheet
