"""Honed cylinder-liner surfaces: micrometre height maps and handheld-microscope photos.

Seed 000 (section 4.1) measures the inner surface of cylinder liners twice: a
confocal microscope gives height profiles of 1.9 x 1.9 mm in micrometres relative
to the core (plateau) area, within [-7.4, 1.8] um, and a handheld microscope gives
RGB photos of 4.2 x 4.2 mm at other positions, so the two domains never align.

This module draws one *liner* per group and renders crops of it. The height of a
liner is a function of continuous coordinates in millimetres on a square patch of
``EXTENT_MM`` x ``EXTENT_MM`` (x right along the circumference, y down along the
cylinder axis, as the image shows them), so any window can be evaluated at any
resolution and overlapping windows agree. The height is

    h = plateau + min(groove cut of family 1, of family 2, pores, pits, scratches)

* plateau: band-limited value-noise roughness (plus sparse peaks and a faint
  waviness) near 0 um; inside polished wear patches its positive part is
  compressed and its roughness reduced;
* cross-hatch: two families of straight honing grooves at ``+angle_deg`` and
  ``-angle_deg`` (20-40 deg either side of the horizontal; positive angles rise to
  the right in the image). Each groove has its own position, depth, half-width and
  profile (between V and U) and a depth modulation along the groove; some grooves
  are interrupted. A pixel's cut is found from its projection onto the family's
  normal direction, through a 1-D table of the two deepest grooves near it;
* pores (small, steep, possibly elongated like graphite flakes) and pits (larger,
  sparser bowls): at most one per cell of a hashed lattice, so they need no storage;
* scratches: thin long V lines, mostly axial (piston-ring wear).

Features thinner than a pixel are pre-filtered analytically (widened to the pixel
footprint with their cross-section area kept), so small renders average the height
like a downscaled confocal profile instead of aliasing.

The RGB image imitates a handheld microscope: brownish/bronze albedo with blotches
and an oil film, darker grooves (cavity term), Lambert shading from an oblique
and/or ring light on normals of the height field (height exaggerated by the liner's
``relief`` factor), Blinn-Phong specular highlights and glints on the plateau and
the polished patches, vignetting, slight defocus and sensor noise.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np

from rgb2depth.data.synthetic.base import RenderedSample, SceneKind, View
from rgb2depth.errors import InputError

EXTENT_MM = 10.0
"""Side of the square liner patch that all windows of a group are cut from (mm)."""

DEPTH_WINDOW_MM = 1.9
"""Field of view of ``paired`` and ``depth`` views (the confocal microscope), mm."""

RGB_WINDOW_MM = 4.2
"""Field of view of ``rgb`` views (the handheld microscope), mm."""

_VIEWS = ("paired", "rgb", "depth")
_MIN_SIZE = 8

# Standard deviation of the cubic B-spline interpolation of i.i.d. uniform [0, 1)
# lattice values is sqrt((151/315)^2 / 12); this factor makes the noise unit-variance.
_NOISE_NORM = 1.0 / math.sqrt((151.0 / 315.0) ** 2 / 12.0)

# Salts of the hashed noise fields (combined with the liner seed).
_SALT_PLATEAU, _SALT_PEAKS, _SALT_WAVY, _SALT_WEAR = 1, 2, 3, 4
_SALT_ALBEDO, _SALT_OIL, _SALT_GLINT = 5, 6, 7
_SALT_PORES, _SALT_PITS = 100, 200


# ----------------------------------------------------------------------------- noise


def _mix32(x: np.ndarray) -> np.ndarray:
    """Integer hash (lowbias32) of a uint32 array, elementwise."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def _salt(seed: int, k: int) -> np.uint32:
    return np.uint32((seed * 0x9E3779B1 + k * 0x85EBCA77 + 0x27D4EB2F) & 0xFFFFFFFF)


def _hash_uniform(jj: np.ndarray, ii: np.ndarray, salt: np.ndarray | np.uint32) -> np.ndarray:
    """Uniform [0, 1) float64 values hashed from integer lattice coordinates.

    ``jj`` and ``ii`` broadcast against each other (and against ``salt``).
    """
    j = (jj + 65536).astype(np.uint32)
    i = (ii + 65536).astype(np.uint32)
    h = _mix32(i ^ _mix32(j ^ _mix32(np.array(salt, dtype=np.uint32, ndmin=1))))
    return (h >> np.uint32(8)).astype(np.float64) * (1.0 / (1 << 24))


def _unit(h: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) float64 values from uint32 hashes."""
    return (h >> np.uint32(8)).astype(np.float64) * (1.0 / (1 << 24))


def _spline_taps(coords: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Cubic B-spline taps from lattice nodes (spacing ``cell``) to sorted ``coords``.

    Returns the index of each coordinate's first tap into the local node range,
    the (4, n) float32 weights, the global index of the first node and the number
    of nodes.
    """
    g = coords / cell
    i = np.floor(g)
    f = g - i
    i = i.astype(np.int64)
    start = int(i[0]) - 1
    f2 = f * f
    f3 = f2 * f
    w = np.stack(
        [
            (1.0 - f) ** 3,
            3.0 * f3 - 6.0 * f2 + 4.0,
            -3.0 * f3 + 3.0 * f2 + 3.0 * f + 1.0,
            f3,
        ]
    )
    return i - start - 1, (w / 6.0).astype(np.float32), start, int(i[-1]) - start + 3


def _noise(xs: np.ndarray, ys: np.ndarray, cell: float, salts: list[np.uint32]) -> np.ndarray:
    """Smooth value noise, zero mean and unit variance, on the grid ``ys x xs`` (mm).

    One field per salt: returns (len(salts), H, W) float32. The field is a fixed
    function of the coordinates (lattice values hashed from global node indices,
    cubic B-spline interpolation done as two separable 4-tap passes).
    """
    ix, wx, ix0, nx = _spline_taps(xs, cell)
    iy, wy, iy0, ny = _spline_taps(ys, cell)
    ii = np.arange(ix0, ix0 + nx, dtype=np.int64)[None, None, :]
    jj = np.arange(iy0, iy0 + ny, dtype=np.int64)[None, :, None]
    salt = np.array(salts, dtype=np.uint32)[:, None, None]
    lattice = ((_hash_uniform(jj, ii, salt) - 0.5) * _NOISE_NORM).astype(np.float32)
    # Few nodes (coarse noise): contract with the dense weight matrix (numpy's own
    # einsum loop, no BLAS threads); many nodes: four gathers per axis.
    if nx <= _DENSE_NODES:
        rows = np.einsum("cji,wi->cjw", lattice, _dense(ix, wx, nx))
    else:
        rows = np.take(lattice, ix, axis=2) * wx[0]
        for a in range(1, 4):
            rows += np.take(lattice, ix + a, axis=2) * wx[a]
    if ny <= _DENSE_NODES:
        return np.einsum("hj,cjw->chw", _dense(iy, wy, ny), rows)
    out = np.take(rows, iy, axis=1) * wy[0][:, None]
    for a in range(1, 4):
        out += np.take(rows, iy + a, axis=1) * wy[a][:, None]
    return out


_DENSE_NODES = 12


def _dense(idx: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """The (len(idx), n) matrix of 4-tap weights ``w`` starting at nodes ``idx``."""
    m = np.zeros((idx.size, n), np.float32)
    rows = np.arange(idx.size)
    for a in range(4):
        m[rows, idx + a] = w[a]
    return m


def _fbm(
    xs: np.ndarray,
    ys: np.ndarray,
    cell: float,
    octaves: int,
    gain: float,
    seed: int,
    salts: list[int],
    pix: float,
) -> np.ndarray:
    """Fractal sums of :func:`_noise` octaves, one per salt: (len(salts), H, W).

    Unit variance at fine resolution. Octaves whose lattice spacing is below two
    pixels fade out (band limit), so a coarse render sees the area average of the
    surface, not aliasing.
    """
    total = np.zeros((len(salts), ys.size, xs.size), np.float32)
    norm = 0.0
    amp = 1.0
    for o in range(octaves):
        c = cell / (2.0**o)
        norm += amp * amp
        weight = amp * min(max(c / pix - 1.0, 0.0), 1.0)
        if weight > 0.0:
            total += weight * _noise(xs, ys, c, [_salt(seed, k * 16 + o) for k in salts])
        amp *= gain
    return total / math.sqrt(norm)


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ----------------------------------------------------------------------- realisation


@dataclass
class _Family:
    """One realised groove family; arrays are per groove, sorted by position."""

    normal: tuple[float, float]  # unit (x, y) across the grooves
    along: tuple[float, float]  # unit (x, y) along the grooves
    pos: np.ndarray  # position along ``normal`` (mm)
    depth: np.ndarray  # um
    halfwidth: np.ndarray  # mm
    ushape: np.ndarray  # 0: V profile, 1: parabolic U profile
    omega: np.ndarray  # along-groove modulation, rad/mm
    phase: np.ndarray  # rad
    gate_b: np.ndarray  # depth factor = clip(gate_b + gate_k * m, 0, 1), m in [0, 1]
    gate_k: np.ndarray


@dataclass
class _Liner:
    families: list[_Family]
    scratches: np.ndarray  # (n, 7): cx, cy, ux, uy, half_length (mm), half_width (mm), depth


def _realise_family(fam: dict[str, Any], rng: np.random.Generator) -> _Family:
    theta = math.radians(fam["angle_deg"])
    along = (math.cos(theta), -math.sin(theta))  # y points down in the image
    normal = (math.sin(theta), math.cos(theta))
    corners = [0.0, EXTENT_MM * normal[0], EXTENT_MM * normal[1], EXTENT_MM * sum(normal)]
    lo, hi = min(corners) - 0.5, max(corners) + 0.5
    mean = fam["spacing_mm"]
    k = 1.0 / fam["spacing_cv"] ** 2
    n = int((hi - lo) / mean * 1.5) + 16
    pos = lo + np.cumsum(rng.gamma(k, mean / k, n))
    pos = pos[pos < hi]
    n = pos.size
    depth = fam["depth_um"] * rng.lognormal(0.0, fam["depth_sigma"], n)
    depth = np.minimum(depth, 7.4)
    halfwidth = (
        fam["halfwidth_mm"]
        * np.sqrt(depth / fam["depth_um"])
        * rng.lognormal(0.0, fam["width_sigma"], n)
    )
    u_lo, u_hi = fam["u_shape"]
    ushape = rng.uniform(u_lo, u_hi, n)
    omega = 2.0 * np.pi / rng.uniform(0.3, 3.0, n)
    phase = rng.uniform(0.0, 2.0 * np.pi, n)
    amp = rng.uniform(0.0, fam["modulation"], n)
    gate_b = 1.0 - amp
    gate_k = amp.copy()
    cut = rng.random(n) < fam["interrupt_prob"]
    thresh = rng.uniform(0.25, 0.75, n)
    sharp = rng.uniform(4.0, 12.0, n)
    gate_b[cut] = -thresh[cut] * sharp[cut]
    gate_k[cut] = sharp[cut]
    return _Family(normal, along, pos, depth, halfwidth, ushape, omega, phase, gate_b, gate_k)


def _realise_scratches(sc: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    n = int(rng.poisson(sc["density_per_mm2"] * EXTENT_MM**2))
    cx = rng.uniform(0.0, EXTENT_MM, n)
    cy = rng.uniform(0.0, EXTENT_MM, n)
    axial = rng.random(n) < sc["axial_fraction"]
    ang = np.where(axial, np.pi / 2 + rng.normal(0.0, 0.06, n), rng.uniform(0.0, np.pi, n))
    half_len = 0.5 * sc["length_mm"] * rng.lognormal(0.0, 0.6, n)
    half_w = rng.uniform(*sc["halfwidth_mm"], n)
    depth = rng.uniform(*sc["depth_um"], n)
    return np.stack([cx, cy, np.cos(ang), np.sin(ang), half_len, half_w, depth], axis=1)


def _realise(group: dict[str, Any]) -> _Liner:
    rng = np.random.default_rng(group["seed"])
    families = [_realise_family(f, rng) for f in group["grooves"]]
    scratches = _realise_scratches(group["scratches"], rng)
    return _Liner(families, scratches)


# ------------------------------------------------------------------------- features


def _groove_cut(fam: _Family, xs: np.ndarray, ys: np.ndarray, pix: float) -> np.ndarray:
    """Cut (<= 0, um) of one groove family on the pixel grid, (H, W) float32."""
    nx, ny = fam.normal
    ux, uy = fam.along
    ends = [ys[0] * ny + xs[0] * nx, ys[0] * ny + xs[-1] * nx]
    ends += [ys[-1] * ny + xs[0] * nx, ys[-1] * ny + xs[-1] * nx]
    # A 1-D table along the normal (a global grid of step ds, so that a position
    # gets the same entry in every window) names the two deepest grooves near
    # each s; each pixel then evaluates those two grooves exactly.
    ds = pix / 8.0
    k0 = math.floor(min(ends) / ds) - 2
    s0 = k0 * ds
    n_tab = int((max(ends) - s0) / ds) + 4
    s_tab = s0 + ds * np.arange(n_tab)
    n = fam.pos.size
    j = np.searchsorted(fam.pos, s_tab)
    cand = np.clip(j[:, None] + np.arange(-2, 2)[None, :], 0, n - 1)  # (n_tab, 4)
    footprint = 0.5 * pix * (abs(nx) + abs(ny))
    hw = fam.halfwidth[cand]
    hw_eff = np.sqrt(hw * hw + footprint * footprint)
    r = np.abs(s_tab[:, None] - fam.pos[cand]) / hw_eff
    a = fam.ushape[cand]
    prof = np.maximum(1.0 - (1.0 - a) * r - a * r * r, 0.0)
    cut = -fam.depth[cand] * (hw / hw_eff) * prof
    order = np.argsort(cut, axis=1, kind="stable")[:, :2]
    best = np.take_along_axis(cand, order, axis=1)  # (n_tab, 2) groove indices
    g0 = int(best.min())
    g1 = int(best.max()) + 1
    hw = fam.halfwidth[g0:g1]
    hw_eff = np.sqrt(hw * hw + footprint * footprint)
    params = np.stack(
        [
            fam.pos[g0:g1] - s0,
            1.0 / hw_eff,
            fam.depth[g0:g1] * (hw / hw_eff),
            fam.ushape[g0:g1],
            fam.omega[g0:g1],
            fam.phase[g0:g1],
            fam.gate_b[g0:g1],
            fam.gate_k[g0:g1],
        ]
    ).astype(np.float32)  # (8, grooves near the window)
    # position along the normal relative to s0 (float32 is ample: |s_rel| < 10 mm)
    s_rel = (ys * ny).astype(np.float32)[:, None] + (xs * nx - s0).astype(np.float32)[None, :]
    k = (s_rel * np.float32(1.0 / ds) + np.float32(0.5)).astype(np.intp)
    np.clip(k, 0, n_tab - 1, out=k)
    ids = np.take(np.ascontiguousarray((best - g0).T), k, axis=1)  # (2, H, W)
    tab = np.take(params, ids, axis=1)  # (8, 2, H, W)
    r = np.abs(s_rel - tab[0]) * tab[1]
    a = tab[3]
    prof = np.maximum(1.0 - (1.0 - a) * r - a * r * r, 0.0)
    t = (ys * uy).astype(np.float32)[:, None] + (xs * ux).astype(np.float32)[None, :]
    m = np.cos(tab[4] * t + tab[5])
    gate = np.clip(tab[6] + tab[7] * (0.5 + 0.5 * m), 0.0, 1.0)
    c = -tab[2] * prof * gate
    return np.minimum(c[0], c[1])


def _cell_cut(
    layer: dict[str, Any], seed: int, salt: int, xs: np.ndarray, ys: np.ndarray, pix: float
) -> np.ndarray:
    """Cut (<= 0, um) of pores or pits: at most one elliptic hole per lattice cell."""
    density = layer["density_per_mm2"]
    if density <= 0.0:
        return np.zeros((ys.size, xs.size), np.float32)
    r_lo, r_hi = layer["radius_mm"]
    aspect_max = layer["aspect_max"]
    cell = 2.4 * r_hi * aspect_max
    p = min(density * cell * cell, 0.9)
    # Only the cells that hold a pixel centre matter (fewer than the lattice when
    # cells are smaller than pixels).
    ci, ci_inv = np.unique(np.floor(xs / cell).astype(np.int64), return_inverse=True)
    cj, cj_inv = np.unique(np.floor(ys / cell).astype(np.int64), return_inverse=True)
    # One hash per cell, then one more per attribute, and only for cells with a hole.
    cell_hash = _mix32(
        (ci + 65536).astype(np.uint32)[None, :]
        ^ _mix32((cj + 65536).astype(np.uint32)[:, None] ^ _mix32(np.array([_salt(seed, salt)])))
    ).ravel()
    present = np.flatnonzero(_unit(_mix32(cell_hash ^ _salt(seed, salt + 1))) < p)
    out = np.zeros(ys.size * xs.size, np.float32)
    if present.size == 0:
        return out.reshape(ys.size, xs.size)
    salts = np.array([_salt(seed, salt + q) for q in range(2, 8)], dtype=np.uint32)[:, None]
    u = _unit(_mix32(cell_hash[present][None, :] ^ salts))  # (6, holes)
    r = r_lo + (r_hi - r_lo) * u[0] ** 2
    aspect = 1.0 + (aspect_max - 1.0) * u[1] ** 2
    major = r * aspect
    ang = np.pi * u[2]
    margin = 1.0 - 2.0 * major / cell
    hj, hi = np.divmod(present, ci.size)
    cx = (ci[hi] + 0.5 + (u[3] - 0.5) * margin) * cell
    cy = (cj[hj] + 0.5 + (u[4] - 0.5) * margin) * cell
    d_lo, d_hi = layer["depth_um"]
    fp = 0.5 * pix
    a_eff2 = major * major + fp * fp
    b_eff2 = r * r + fp * fp
    depth = (d_lo + (d_hi - d_lo) * u[5]) * (major * r) / np.sqrt(a_eff2 * b_eff2)
    # Evaluate only the pixels whose cell holds a hole.
    lut = np.full(cj.size * ci.size, -1, np.intp)
    lut[present] = np.arange(present.size)
    hole = np.take(lut, (cj_inv[:, None] * ci.size + ci_inv[None, :]).ravel())
    sel = np.flatnonzero(hole >= 0)
    if sel.size:
        k = hole[sel]
        row, col = np.divmod(sel, xs.size)
        dx = xs[col] - cx[k]
        dy = ys[row] - cy[k]
        ca = np.cos(ang[k])
        sa = np.sin(ang[k])
        u_ = dx * ca - dy * sa
        v_ = dx * sa + dy * ca
        q = np.clip(1.0 - (u_ * u_ / a_eff2[k] + v_ * v_ / b_eff2[k]), 0.0, 1.0)
        prof = np.sqrt(q) if layer["profile_power"] == 0.5 else q ** layer["profile_power"]
        out[sel] = -depth[k] * prof
    return out.reshape(ys.size, xs.size)


def _scratch_cut(
    scratches: np.ndarray, out: np.ndarray, xs: np.ndarray, ys: np.ndarray, pix: float
) -> None:
    """Cut scratches that cross the window into ``out`` (H, W) in place."""
    if scratches.shape[0] == 0:
        return
    cx, cy, ux, uy, hl, hw, depth = scratches.T
    hw_eff = np.sqrt(hw * hw + (0.5 * pix) ** 2)
    reach_x = np.abs(ux) * hl + hw_eff
    reach_y = np.abs(uy) * hl + hw_eff
    x_lo, x_hi = xs[0] - pix, xs[-1] + pix
    y_lo, y_hi = ys[0] - pix, ys[-1] + pix
    hit = (cx + reach_x > x_lo) & (cx - reach_x < x_hi)
    hit &= (cy + reach_y > y_lo) & (cy - reach_y < y_hi)
    for k in np.flatnonzero(hit):
        c0 = max(int(np.searchsorted(xs, cx[k] - reach_x[k])), 0)
        c1 = int(np.searchsorted(xs, cx[k] + reach_x[k]))
        r0 = max(int(np.searchsorted(ys, cy[k] - reach_y[k])), 0)
        r1 = int(np.searchsorted(ys, cy[k] + reach_y[k]))
        if c1 <= c0 or r1 <= r0:
            continue
        dx = xs[None, c0:c1] - cx[k]
        dy = ys[r0:r1, None] - cy[k]
        along = dx * ux[k] + dy * uy[k]
        across = np.abs(dx * uy[k] - dy * ux[k])
        ends = np.clip((hl[k] - np.abs(along)) / (0.3 * hl[k]), 0.0, 1.0)  # taper
        prof = np.maximum(1.0 - across / hw_eff[k], 0.0) * ends
        cut = (-depth[k] * hw[k] / hw_eff[k]) * prof
        np.minimum(out[r0:r1, c0:c1], cut, out=out[r0:r1, c0:c1])


# ------------------------------------------------------------------------ the kind


def _check_size(height: int, width: int) -> None:
    for name, v in (("height", height), ("width", width)):
        if not isinstance(v, (int, np.integer)) or v < _MIN_SIZE:
            raise InputError(f"{name} must be an integer >= {_MIN_SIZE}, got {v!r}")


class Surfaces(SceneKind):
    """Honed cylinder-liner surfaces (seed 000, section 4.1).

    ``depth`` is the surface *height* in micrometres, positive towards the viewer,
    with the plateau (core area) near 0 and every pixel valid and inside
    ``depth_range``. Views are orthographic microscope crops: ``paired`` and
    ``depth`` views cover 1.9 mm, ``rgb`` views 4.2 mm at an independent position
    (along the longer image side; pixels stay square). See the module docstring
    for the model of the surface and of the photo.
    """

    name: ClassVar[str] = "surfaces"
    description: ClassVar[str] = (
        "plateau-honed cylinder-liner surfaces: height in um from a 1.9 mm confocal crop, "
        "RGB from a 4.2 mm handheld-microscope view (seed 000, section 4.1)"
    )
    units: ClassVar[str] = "um"
    depth_range: ClassVar[tuple[float, float]] = (-7.4, 1.8)
    png_scale: ClassVar[float] = 0.001  # um per count: 9201 counts span the range
    png_offset: ClassVar[float] = -7.401  # so -7.4 um is count 1 (0 means invalid)
    views_per_group: ClassVar[int] = 8
    all_valid: ClassVar[bool] = True  # a height of 0.0 um is the plateau, not a hole

    def __init__(self, *, cache_size: int = 32) -> None:
        self._cache: OrderedDict[str, _Liner] = OrderedDict()
        self._cache_size = cache_size

    def intrinsics(self, height: int, width: int) -> None:
        """None: the microscopes are orthographic (see ``meta['window']``)."""
        return None

    # ------------------------------------------------------------------ groups

    def sample_group(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one liner: distributions of its features and the seed of their layout.

        Keys: ``seed`` (int; the per-groove, per-scratch layout and all hashed noise
        derive from it), ``plateau``, ``grooves`` (two families), ``pores``, ``pits``,
        ``scratches``, ``wear`` and ``appearance``; lengths in mm, heights in um.
        """

        def u(lo: float, hi: float) -> float:
            return float(rng.uniform(lo, hi))

        families = []
        spacing = u(0.05, 0.16)
        depth = u(1.6, 4.2)
        for sign in (1.0, -1.0):
            families.append(
                {
                    "angle_deg": sign * u(20.0, 40.0),
                    "spacing_mm": spacing * u(0.75, 1.33),
                    "spacing_cv": u(0.35, 1.0),
                    "depth_um": depth * u(0.8, 1.25),
                    "depth_sigma": u(0.3, 0.6),
                    "halfwidth_mm": u(0.008, 0.022),
                    "width_sigma": u(0.15, 0.35),
                    "u_shape": sorted([u(0.0, 1.0), u(0.0, 1.0)]),
                    "modulation": u(0.1, 0.6),
                    "interrupt_prob": u(0.0, 0.35),
                }
            )
        wear_cov = u(0.0, 0.5) if rng.random() < 0.7 else 0.0
        # Linear-light colours: bronze/brown metal (sRGB roughly 150, 110, 70) and
        # a darker amber or greyish oil film.
        base_lum = u(0.3, 0.55)
        green = u(0.5, 0.68)
        albedo = [base_lum, base_lum * green, base_lum * green * u(0.35, 0.6)]
        oil_lum = u(0.12, 0.3)
        oil_green = u(0.45, 0.8)
        oil = [oil_lum, oil_lum * oil_green, oil_lum * oil_green * u(0.3, 0.6)]
        return {
            "seed": int(rng.integers(0, 2**31 - 1)),
            "plateau": {
                "roughness_um": u(0.08, 0.3),
                "cell_mm": u(0.03, 0.1),
                "peak_um": u(0.0, 1.2),
                "waviness_um": u(0.0, 0.25),
            },
            "grooves": families,
            "pores": {
                "density_per_mm2": u(5.0, 60.0),
                "radius_mm": [0.004, u(0.01, 0.022)],
                "depth_um": [1.0, u(2.5, 6.0)],
                "aspect_max": u(1.0, 3.0),
                "profile_power": 0.5,
            },
            "pits": {
                "density_per_mm2": u(0.0, 3.0),
                "radius_mm": [0.02, u(0.035, 0.08)],
                "depth_um": [1.5, u(3.0, 7.0)],
                "aspect_max": u(1.0, 1.8),
                "profile_power": 1.0,
            },
            "scratches": {
                "density_per_mm2": u(0.0, 0.3),
                "length_mm": u(0.5, 2.5),
                "halfwidth_mm": [0.002, u(0.005, 0.014)],
                "depth_um": [0.3, u(0.8, 2.5)],
                "axial_fraction": u(0.5, 1.0),
            },
            "wear": {
                "coverage": wear_cov,
                "strength": u(0.5, 0.95),
                "cell_mm": u(0.6, 2.0),
            },
            "appearance": {
                "albedo_rgb": albedo,
                "albedo_variation": u(0.05, 0.25),
                "oil_rgb": oil,
                "oil_strength": u(0.0, 0.6),
                "groove_darkening": u(0.3, 0.75),
                "relief": u(3.0, 7.0),
                "specular": u(0.15, 0.6),
                "shininess": u(15.0, 60.0),
                "glint": u(0.0, 0.6),
            },
        }

    def _liner(self, group: dict[str, Any]) -> _Liner:
        key = json.dumps(group, sort_keys=True)
        liner = self._cache.get(key)
        if liner is None:
            liner = _realise(group)
            self._cache[key] = liner
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return liner

    # ------------------------------------------------------------------ height

    @staticmethod
    def window_grid(
        x0: float, y0: float, size: float, height: int, width: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Pixel-centre coordinates (mm) of a window: ``size`` spans the longer side.

        Returns ``xs`` (W,), ``ys`` (H,) and the pixel pitch in mm.
        """
        pix = size / max(height, width)
        xs = x0 + (np.arange(width) + 0.5) * pix
        ys = y0 + (np.arange(height) + 0.5) * pix
        return xs, ys, pix

    def height_map(
        self, group: dict[str, Any], x0: float, y0: float, size: float, height: int, width: int
    ) -> np.ndarray:
        """Surface height (um, clipped to ``depth_range``) of a window, (H, W) float32.

        ``(x0, y0)`` is the window's top-left corner on the liner patch (mm) and
        ``size`` its extent along the longer image side (mm). A pure function of
        the group and the window.
        """
        _check_size(height, width)
        return self._height(group, x0, y0, size, height, width)[0]

    def _height(
        self, group: dict[str, Any], x0: float, y0: float, size: float, height: int, width: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """Height (um), wear mask, albedo blotch fields (2, H, W), xs, ys, pixel pitch."""
        liner = self._liner(group)
        seed = group["seed"]
        xs, ys, pix = self.window_grid(x0, y0, size, height, width)
        pl = group["plateau"]
        rough, peaks = _fbm(xs, ys, pl["cell_mm"], 3, 0.55, seed, [_SALT_PLATEAU, _SALT_PEAKS], pix)
        plateau = pl["roughness_um"] * rough + pl["peak_um"] * np.maximum(peaks - 1.2, 0.0) ** 1.5
        wear_p = group["wear"]
        # Wear patches, waviness and the albedo blotches share one lattice scale.
        salts = [_SALT_WEAR, _SALT_WAVY, _SALT_ALBEDO, _SALT_OIL]
        wn, wavy, *blotch = _fbm(xs, ys, wear_p["cell_mm"], 2, 0.45, seed, salts, pix)
        plateau += pl["waviness_um"] * wavy
        if wear_p["coverage"] > 0.0:
            thr = NormalDist().inv_cdf(1.0 - wear_p["coverage"])
            wear = _smoothstep(thr - 0.2, thr + 0.2, wn)
            flatten = 1.0 - wear_p["strength"] * wear
            plateau = np.where(plateau > 0.0, plateau * flatten, plateau * (0.5 + 0.5 * flatten))
        else:
            wear = np.zeros_like(plateau)
        cut = _groove_cut(liner.families[0], xs, ys, pix)
        for fam in liner.families[1:]:
            np.minimum(cut, _groove_cut(fam, xs, ys, pix), out=cut)
        if wear_p["coverage"] > 0.0:  # worn areas also lose some groove depth
            cut *= (1.0 - 0.25 * wear_p["strength"] * wear).astype(np.float32)
        np.minimum(cut, _cell_cut(group["pores"], seed, _SALT_PORES, xs, ys, pix), out=cut)
        np.minimum(cut, _cell_cut(group["pits"], seed, _SALT_PITS, xs, ys, pix), out=cut)
        _scratch_cut(liner.scratches, cut, xs, ys, pix)
        lo, hi = self.depth_range
        h = np.clip(plateau + cut, lo, hi).astype(np.float32)
        return h, wear, np.stack(blotch), xs, ys, pix

    # ------------------------------------------------------------------ render

    def render(
        self,
        group: dict[str, Any],
        rng: np.random.Generator,
        height: int,
        width: int,
        view: View = "paired",
    ) -> RenderedSample:
        """Render one crop of the liner: height map and handheld-microscope RGB.

        The window is drawn from ``rng``: ``paired`` and ``depth`` views take a
        1.9 mm window, ``rgb`` views a 4.2 mm window at an independent position
        (different draws of the same ``rng`` state), then light, exposure, blur
        and noise are drawn. ``meta`` holds ``window`` (``x0_mm``, ``y0_mm``,
        ``size_mm``, ``width_mm``, ``height_mm``, ``pixel_um``), ``light``
        (``azimuth_deg``, ``elevation_deg``, ``direction`` as a unit vector from the
        surface to the light in image axes x right, y down, z towards the viewer,
        ``ring_fraction``) and ``view``.

        Returns:
            ``rgb`` (H, W, 3) uint8 and ``depth`` (H, W) float32 height in um.
        """
        _check_size(height, width)
        if view not in _VIEWS:
            raise InputError(f"view must be one of {_VIEWS}, got {view!r}")
        u = rng.random(4)
        size = RGB_WINDOW_MM if view == "rgb" else DEPTH_WINDOW_MM
        fx, fy = (u[2], u[3]) if view == "rgb" else (u[0], u[1])
        pix = size / max(height, width)
        w_mm, h_mm = width * pix, height * pix
        x0 = float(fx * (EXTENT_MM - w_mm))
        y0 = float(fy * (EXTENT_MM - h_mm))
        h, wear, blotch, xs, ys, pix = self._height(group, x0, y0, size, height, width)

        az = float(rng.uniform(0.0, 360.0))
        el = float(rng.uniform(25.0, 65.0))
        ring = float(rng.uniform(0.0, 0.6))
        light = (
            math.cos(math.radians(el)) * math.cos(math.radians(az)),
            math.cos(math.radians(el)) * math.sin(math.radians(az)),
            math.sin(math.radians(el)),
        )
        rgb = self._shade(group, rng, h, wear, blotch, xs, ys, pix, light, ring)
        meta = {
            "view": view,
            "window": {
                "x0_mm": x0,
                "y0_mm": y0,
                "size_mm": size,
                "width_mm": w_mm,
                "height_mm": h_mm,
                "pixel_um": pix * 1000.0,
            },
            "light": {
                "azimuth_deg": az,
                "elevation_deg": el,
                "direction": [float(c) for c in light],
                "ring_fraction": ring,
            },
        }
        return RenderedSample(rgb=rgb, depth=h, meta=meta)

    def _shade(
        self,
        group: dict[str, Any],
        rng: np.random.Generator,
        h: np.ndarray,
        wear: np.ndarray,
        blotch: np.ndarray,
        xs: np.ndarray,
        ys: np.ndarray,
        pix: float,
        light: tuple[float, float, float],
        ring: float,
    ) -> np.ndarray:
        """The handheld-microscope photo of height ``h`` (um), (H, W, 3) uint8."""
        ap = group["appearance"]
        seed = group["seed"]
        height, width = h.shape
        f32 = np.float32
        # Normals of the exaggerated height field; image axes x right, y down, z up.
        gy, gx = np.gradient(h, f32(pix * 1000.0 / ap["relief"]))
        nz = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
        lx, ly, lz = light
        lambert = np.maximum(lz - gx * lx - gy * ly, 0.0) * nz
        diffuse = f32((1.0 - ring) * 0.8 / lz) * lambert + f32(ring) * nz
        hx, hy, hz = lx, ly, lz + 1.0
        hn = math.sqrt(hx * hx + hy * hy + hz * hz)
        ndh = np.maximum(f32(hz / hn) - gx * f32(hx / hn) - gy * f32(hy / hn), 0.0) * nz

        # Albedo: bronze with blotches and an oil film; grooves hold dark oil/carbon.
        base = np.array(ap["albedo_rgb"], f32)[:, None, None]
        oil = np.array(ap["oil_rgb"], f32)[:, None, None]
        hneg = np.minimum(h, 0.0)
        cavity = 1.0 - f32(ap["groove_darkening"]) * (1.0 - np.exp(hneg * f32(1.0 / 1.5)))
        var = (1.0 + f32(ap["albedo_variation"]) * blotch[0]) * cavity
        oil_mask = f32(ap["oil_strength"]) * _smoothstep(-0.3, 1.2, blotch[1])
        # albedo = lerp(base * var, oil * cavity, oil_mask)
        keep = var * (1.0 - oil_mask)
        oil_w = cavity * oil_mask

        plateau = np.exp(hneg * f32(1.0 / 0.6))
        spec = f32(ap["specular"]) * (1.0 + f32(1.5) * wear) * plateau * ndh ** f32(ap["shininess"])
        if ap["glint"] > 0.0:  # micro-facet sparkles: hashed per 12 um cell (or pixel)
            cell = max(0.012, pix)
            sparkle = _hash_uniform(
                np.floor(ys / cell).astype(np.int64)[:, None],
                np.floor(xs / cell).astype(np.int64)[None, :],
                _salt(seed, _SALT_GLINT),
            ).astype(f32)
            spark = np.clip((sparkle - f32(0.985)) * f32(100.0), 0.0, 1.0)
            spec += f32(ap["glint"] * 2.0) * spark * plateau * ndh**8

        ambient = f32(rng.uniform(0.12, 0.3))
        light_rgb = np.array(
            [1.0, 1.0 - rng.uniform(0.0, 0.12), 1.0 - rng.uniform(0.0, 0.25)], f32
        )[:, None, None]
        # Vignetting around a slightly off-centre optical axis, and exposure.
        cxv, cyv = rng.uniform(0.4, 0.6, 2)
        vig = float(rng.uniform(0.15, 0.55))
        exposure = float(rng.uniform(0.9, 1.5))
        rx = ((np.arange(width) + 0.5) / width - cxv) * (width / max(height, width))
        ry = ((np.arange(height) + 0.5) / height - cyv) * (height / max(height, width))
        gain = ((1.0 - 2.0 * vig * (ry[:, None] ** 2 + rx[None, :] ** 2)) * exposure).astype(f32)
        shading = (ambient + diffuse) * gain
        lin = (base * (keep * shading) + oil * (oil_w * shading) + spec * gain) * light_rgb

        # Slight defocus: a 3-tap binomial-like blur, separable, edges replicated.
        a = f32(rng.uniform(0.0, 0.22))
        if a > 0.02:
            pad = np.concatenate([lin[:, :, :1], lin, lin[:, :, -1:]], axis=2)
            lin = (1.0 - 2.0 * a) * lin + a * (pad[:, :, :-2] + pad[:, :, 2:])
            pad = np.concatenate([lin[:, :1], lin, lin[:, -1:]], axis=1)
            lin = (1.0 - 2.0 * a) * lin + a * (pad[:, :-2] + pad[:, 2:])
        # Sensor noise (uniform with the drawn standard deviation), gamma, 8 bit.
        noise_sd = f32(rng.uniform(0.004, 0.02) * math.sqrt(12.0))
        lin += noise_sd * (rng.random((3, height, width), dtype=f32) - f32(0.5))
        srgb = np.clip(lin, 0.0, 1.0) ** f32(1.0 / 2.2)
        return np.ascontiguousarray(np.round(srgb * 255.0).astype(np.uint8).transpose(1, 2, 0))
