"""A small vectorised z-buffer triangle rasteriser (numpy only).

Used by the procedural scene kinds to render RGB and depth from the same mesh.
Pixel ``(row, col)`` has its centre at ``(col + 0.5, row + 0.5)`` in continuous
pixel coordinates, as in :mod:`rgb2depth.data.synthetic.base`. A pixel belongs to
every triangle whose closed area contains its centre (up to a 1e-6 pixel
tolerance), so a mesh without gaps rasterises without cracks; the nearest
fragment wins.

Triangles are scan-converted in one pass for the whole mesh: each (triangle,
pixel row) pair gives a span of pixel centres between the triangle's left and
right edges, and each pixel of a span is a fragment. Shading is deferred:
:func:`rasterize` returns, per covered pixel, the winning triangle and its
perspective-correct barycentric weights, and :func:`interpolate` turns per-vertex
attributes into per-pixel ones. :func:`edge_coverage` estimates the covered fraction
of the pixels along the silhouette (for anti-aliased edges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Raster:
    """The result of :func:`rasterize`.

    Attributes:
        depth: (H, W) float64 z of the nearest surface, 0.0 where nothing was drawn.
        pixels: (P,) int64 flat indices (``row * W + col``) of the covered pixels.
        tri: (P,) int64 winning triangle of each covered pixel.
        bary: (P, 3) float64 perspective-correct barycentric weights (sum to 1).
    """

    depth: np.ndarray
    pixels: np.ndarray
    tri: np.ndarray
    bary: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool: True where a triangle was drawn."""
        return self.depth > 0.0


@dataclass
class _Fragments:
    """Every (triangle, pixel) pair of a mesh, with the affine barycentric coefficients
    ``w_i = ex[i] * x + ey[i] * y + ec[i]`` of the visible triangles ``tri``."""

    pix: np.ndarray  # (F,) flat pixel index
    ft: np.ndarray  # (F,) index into tri
    x: np.ndarray  # (F,) pixel centre
    y: np.ndarray
    tri: np.ndarray  # (T,) triangle index into the mesh
    ex: list[np.ndarray]  # 3 x (T,)
    ey: list[np.ndarray]
    ec: list[np.ndarray]
    inv_z: np.ndarray  # (3, T) 1 / vertex depth


def _sort_by_y(*v: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort the vertices (x0, y0, x1, y1, x2, y2) of each triangle by y (a sorting network)."""
    x0, y0, x1, y1, x2, y2 = v

    def swap(xa, ya, xb, yb):
        c = yb < ya
        return np.where(c, xb, xa), np.where(c, yb, ya), np.where(c, xa, xb), np.where(c, ya, yb)

    x0, y0, x1, y1 = swap(x0, y0, x1, y1)
    x1, y1, x2, y2 = swap(x1, y1, x2, y2)
    x0, y0, x1, y1 = swap(x0, y0, x1, y1)
    return x0, y0, x1, y1, x2, y2


def _check(xy: np.ndarray, z: np.ndarray, tris: np.ndarray) -> None:
    if xy.ndim != 2 or xy.shape[1] != 2 or z.shape != (xy.shape[0],):
        raise ValueError(f"expected xy (N, 2) and z (N,), got {xy.shape} and {z.shape}")
    if tris.ndim != 2 or tris.shape[1] != 3:
        raise ValueError(f"expected tris (M, 3), got {tris.shape}")


def _fragments(
    xy: np.ndarray,
    z: np.ndarray,
    tris: np.ndarray,
    height: int,
    width: int,
    two_sided: np.ndarray | None,
) -> _Fragments | None:
    """Scan-convert the visible triangles; None when no pixel is covered."""
    vx, vy = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    t0, t1, t2 = np.ascontiguousarray(tris.T)
    x0, y0, x1, y1, x2, y2 = vx[t0], vy[t0], vx[t1], vy[t1], vx[t2], vy[t2]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    keep = area > 1e-12 if two_sided is None else (area > 1e-12) | (two_sided & (area < -1e-12))
    keep &= np.minimum(np.minimum(z[t0], z[t1]), z[t2]) > 0.0
    # rows of pixel centres inside the bounding box: row + 0.5 in [ymin, ymax]
    ymin = np.minimum(np.minimum(y0, y1), y2)
    ymax = np.maximum(np.maximum(y0, y1), y2)
    r0 = np.maximum(np.ceil(ymin - 0.5), 0)
    r1 = np.minimum(np.floor(ymax - 0.5), height - 1)
    keep &= (r1 >= r0) & (np.maximum(np.maximum(x0, x1), x2) > 0.0)
    keep &= np.minimum(np.minimum(x0, x1), x2) < width
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return None
    x0, y0, x1, y1, x2, y2 = x0[idx], y0[idx], x1[idx], y1[idx], x2[idx], y2[idx]
    r0 = r0[idx].astype(np.int64)
    ny = r1[idx].astype(np.int64) - r0 + 1
    # one span of pixel centres per (triangle, row): with the vertices sorted top (t), middle
    # (m), bottom (b), a row meets the long edge t-b on one side and t-m or m-b on the other
    xt, yt, xm, ym, xb, yb = _sort_by_y(x0, y0, x1, y1, x2, y2)
    s_long = (xb - xt) / np.where(yb > yt, yb - yt, 1.0)
    s_tm = (xm - xt) / np.where(ym > yt, ym - yt, 1.0)
    s_mb = (xb - xm) / np.where(yb > ym, yb - ym, 1.0)
    long_left = xt + (ym - yt) * s_long <= xm
    n_pairs = int(ny.sum())
    pair_tri = np.repeat(np.arange(idx.size), ny)
    prow = r0[pair_tri] + (np.arange(n_pairs) - (np.cumsum(ny) - ny)[pair_tri])
    yc = prow + 0.5
    x_long = xt[pair_tri] + (yc - yt[pair_tri]) * s_long[pair_tri]
    x_short = np.where(
        yc < ym[pair_tri],
        xt[pair_tri] + (yc - yt[pair_tri]) * s_tm[pair_tri],
        xm[pair_tri] + (yc - ym[pair_tri]) * s_mb[pair_tri],
    )
    ll = long_left[pair_tri]
    xl = np.where(ll, x_long, x_short)
    xr = np.where(ll, x_short, x_long)
    cs = np.maximum(np.ceil(xl - 0.5 - 1e-6), 0).astype(np.int64)
    ce = np.minimum(np.floor(xr - 0.5 + 1e-6), width - 1).astype(np.int64)
    count = np.maximum(ce - cs + 1, 0)
    n_frag = int(count.sum())
    if n_frag == 0:
        return None
    pair = np.repeat(np.arange(n_pairs), count)
    fcol = cs[pair] + (np.arange(n_frag) - (np.cumsum(count) - count)[pair])
    frow = prow[pair]
    inv_area = 1.0 / area[idx]
    return _Fragments(
        pix=frow * width + fcol,
        ft=pair_tri[pair],
        x=fcol + 0.5,
        y=frow + 0.5,
        tri=idx,
        ex=[(y1 - y2) * inv_area, (y2 - y0) * inv_area, (y0 - y1) * inv_area],
        ey=[(x2 - x1) * inv_area, (x0 - x2) * inv_area, (x1 - x0) * inv_area],
        ec=[
            (x1 * y2 - x2 * y1) * inv_area,
            (x2 * y0 - x0 * y2) * inv_area,
            (x0 * y1 - x1 * y0) * inv_area,
        ],
        inv_z=1.0 / np.stack([z[t0[idx]], z[t1[idx]], z[t2[idx]]]),
    )


def _empty(height: int, width: int) -> Raster:
    none = np.zeros(0, np.int64)
    return Raster(np.zeros((height, width)), none, none, np.zeros((0, 3)))


def rasterize(
    xy: np.ndarray,
    z: np.ndarray,
    tris: np.ndarray,
    height: int,
    width: int,
    *,
    two_sided: np.ndarray | None = None,
) -> Raster:
    """Rasterise a triangle mesh into a z-buffer.

    Args:
        xy: (N, 2) projected vertex positions in continuous pixel coordinates (x, y).
        z: (N,) vertex depth along the optical axis, > 0 (vertices with z <= 0
            invalidate their triangles).
        tris: (M, 3) int vertex indices. One-sided triangles are kept only when their
            vertices appear clockwise on screen (x right, y down), i.e. when the
            signed area ``(x1-x0)(y2-y0) - (x2-x0)(y1-y0)`` is positive.
        height, width: output size in pixels.
        two_sided: optional (M,) bool, True for triangles drawn whatever their winding.

    Returns:
        A :class:`Raster`.
    """
    _check(xy, z, tris)
    fr = _fragments(xy, z, tris, height, width, two_sided)
    if fr is None:
        return _empty(height, width)
    ft = fr.ft
    # perspective-correct interpolation: 1/z is affine on screen
    q = [
        np.maximum(fr.ex[i][ft] * fr.x + fr.ey[i][ft] * fr.y + fr.ec[i][ft], 0.0) * fr.inv_z[i][ft]
        for i in range(3)
    ]
    zf = 1.0 / np.maximum(q[0] + q[1] + q[2], 1e-30)
    # z-buffer: the nearest fragment of each pixel wins
    n_pix = height * width
    zbuf = np.full(n_pix, np.inf)
    np.minimum.at(zbuf, fr.pix, zf)
    win = np.flatnonzero(zf <= zbuf[fr.pix])
    owner = np.full(n_pix, -1, np.int64)
    owner[fr.pix[win]] = win  # ties (equal z) resolve deterministically to one fragment
    pixels = np.flatnonzero(owner >= 0)
    frag = owner[pixels]
    bary = np.stack([q[0][frag], q[1][frag], q[2][frag]], axis=1) * zf[frag, None]
    depth = np.zeros(n_pix)
    depth[pixels] = zbuf[pixels]
    return Raster(depth.reshape(height, width), pixels, fr.tri[ft[frag]], bary)


def edge_coverage(
    raster: Raster,
    xy: np.ndarray,
    tris: np.ndarray,
    *,
    samples: int = 2,
) -> np.ndarray:
    """Fraction of each pixel covered by the mesh, for anti-aliased silhouettes.

    Pixels inside the drawn region count as covered, pixels away from it as empty. A pixel
    on its border (a 3 x 3 neighbourhood with both) tests a ``samples`` x ``samples``
    grid of points against the triangles that won its 3 x 3 neighbourhood: thin slivers
    that win no pixel centre near the edge are missed, a slight under-estimate.

    Args:
        raster: the result of :func:`rasterize` for ``xy`` and ``tris``.
        xy: (N, 2) projected vertex positions, as given to :func:`rasterize`.
        tris: (M, 3) the triangles given to :func:`rasterize`.
        samples: points per pixel side.

    Returns:
        (H, W) float32 coverage in [0, 1].
    """
    height, width = raster.depth.shape
    mask = raster.mask
    cov = mask.astype(np.float32)
    owner = np.full(height * width, -1, np.int64)
    owner[raster.pixels] = raster.tri
    owner = np.pad(owner.reshape(height, width), 1, constant_values=-1)
    pad = np.pad(mask, 1)
    near = np.zeros_like(mask)
    full = np.ones_like(mask)
    for dy in range(3):
        for dx in range(3):
            near |= pad[dy : dy + height, dx : dx + width]
            full &= pad[dy : dy + height, dx : dx + width]
    rows, cols = np.nonzero(near & ~full)
    if rows.size == 0:
        return cov
    # (B, 9) candidate triangles and (B, S) sample points
    cand = np.stack([owner[rows + dy, cols + dx] for dy in range(3) for dx in range(3)], axis=1)
    offs = (np.arange(samples) + 0.5) / samples
    sx = (cols[:, None] + np.tile(offs, samples)[None, :])[:, None, :]
    sy = (rows[:, None] + np.repeat(offs, samples)[None, :])[:, None, :]
    v = tris[np.maximum(cand, 0)]
    x0, y0 = xy[v[..., 0], 0][..., None], xy[v[..., 0], 1][..., None]
    x1, y1 = xy[v[..., 1], 0][..., None], xy[v[..., 1], 1][..., None]
    x2, y2 = xy[v[..., 2], 0][..., None], xy[v[..., 2], 1][..., None]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    area = np.where(np.abs(area) > 1e-12, area, np.inf)
    w0 = ((x1 - sx) * (y2 - sy) - (x2 - sx) * (y1 - sy)) / area
    w1 = ((x2 - sx) * (y0 - sy) - (x0 - sx) * (y2 - sy)) / area
    inside = (w0 >= -1e-6) & (w1 >= -1e-6) & (w0 + w1 <= 1.0 + 1e-6) & (cand >= 0)[..., None]
    cov[rows, cols] = inside.any(axis=1).mean(axis=1)
    return cov


def interpolate(attr: np.ndarray, tris: np.ndarray, raster: Raster) -> np.ndarray:
    """Per-pixel values of per-vertex attributes for the covered pixels.

    Args:
        attr: (N, C) per-vertex attributes.
        tris: (M, 3) the triangles given to :func:`rasterize`.
        raster: its result.

    Returns:
        (P, C) attributes at ``raster.pixels`` (same order), in ``attr``'s dtype.
    """
    v = tris[raster.tri]
    b = raster.bary.astype(attr.dtype)
    out = attr[v[:, 0]] * b[:, 0:1]
    out += attr[v[:, 1]] * b[:, 1:2]
    out += attr[v[:, 2]] * b[:, 2:3]
    return out


def grid_triangles(n_rows: int, n_cols: int, *, wrap_cols: bool = False) -> np.ndarray:
    """Triangles of a regular vertex grid (vertex ``(i, j)`` has index ``i * n_cols + j``).

    Each quad ``(i, j), (i, j+1), (i+1, j), (i+1, j+1)`` is split into two
    triangles with the same winding (clockwise on screen when rows go down and
    columns go right). ``wrap_cols`` closes the grid around its columns (a
    periodic angle).

    Returns:
        (2 * (n_rows - 1) * n_quads_per_row, 3) int64 vertex indices.
    """
    nq = n_cols if wrap_cols else n_cols - 1
    gi, gj = np.meshgrid(np.arange(n_rows - 1), np.arange(nq), indexing="ij")
    i = gi.ravel()
    j = gj.ravel()
    jn = (j + 1) % n_cols
    a = i * n_cols + j
    b = i * n_cols + jn
    c = (i + 1) * n_cols + j
    d = (i + 1) * n_cols + jn
    return np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)]).astype(np.int64)
