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
  are interrupted. A pixel's cut is the deepest of the grooves over it; each groove
  is evaluated only on the short run of pixels it covers in every column (row);
* pores (small, steep, possibly elongated like graphite flakes) and pits (larger,
  sparser bowls): at most one per cell of a hashed lattice, so they need no storage;
  each is evaluated on the pixel box around it and overlapping holes combine by
  their minimum;
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

import copy
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

_F32 = np.float32


def _mix32(x: np.ndarray) -> np.ndarray:
    """Integer hash (lowbias32) of a uint32 array, elementwise."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def _mix32_inplace(x: np.ndarray) -> np.ndarray:
    """:func:`_mix32` of a uint32 array, computed in place (for large arrays)."""
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def _salt(seed: int, k: int) -> np.uint32:
    return np.uint32((seed * 0x9E3779B1 + k * 0x85EBCA77 + 0x27D4EB2F) & 0xFFFFFFFF)


def _hash_uniform(jj: np.ndarray, ii: np.ndarray, salt: np.ndarray | np.uint32) -> np.ndarray:
    """Uniform [0, 1) float32 values hashed from integer lattice coordinates.

    ``jj`` and ``ii`` broadcast against each other (and against ``salt``); the
    values are multiples of 2**-24, so float32 holds them exactly.
    """
    j = (jj + 65536).astype(np.uint32)
    i = (ii + 65536).astype(np.uint32)
    h = _mix32_inplace(i ^ _mix32(j ^ _mix32(np.array(salt, dtype=np.uint32, ndmin=1))))
    h >>= np.uint32(8)
    u = h.astype(_F32)
    u *= _F32(1.0 / (1 << 24))
    return u


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
    f = (g - i).astype(_F32)
    first = int(i[0])
    f2 = f * f
    w = np.empty((4, f.size), _F32)
    np.multiply(f2, f, out=w[3])
    w[3] *= _F32(1.0 / 6.0)  # f^3 / 6
    np.subtract(_F32(1.0), f, out=w[0])
    np.multiply(w[0], w[0], out=w[2])
    w[0] *= w[2]
    w[0] *= _F32(1.0 / 6.0)  # (1 - f)^3 / 6
    np.multiply(w[3], _F32(3.0), out=w[1])
    w[1] -= f2
    w[1] += _F32(2.0 / 3.0)  # (3 f^3 - 6 f^2 + 4) / 6
    np.subtract(_F32(1.0), w[0], out=w[2])
    w[2] -= w[1]
    w[2] -= w[3]  # the weights sum to one
    return (i - first).astype(np.intp), w, first - 1, int(i[-1]) - first + 4


def _lattice(i0: int, ni: int, j0: int, nj: int, salts: np.ndarray, scale: float) -> np.ndarray:
    """Lattice values of value noise on global nodes, (len(salts), ni, nj) float32.

    ``[c, i - i0, j - j0]`` holds node (i, j) (i along x, j along y) of the field
    with salt ``salts[c]``: ``scale`` times a uniform [0, 1] value hashed from
    (j, i, salt) alone (the caller removes the mean).
    """
    j = (np.arange(j0, j0 + nj, dtype=np.int64) + 65536).astype(np.uint32)
    i = (np.arange(i0, i0 + ni, dtype=np.int64) + 65536).astype(np.uint32)
    inner = _mix32(j[None, :] ^ _mix32(salts)[:, None])  # (C, nj)
    v = _mix32_inplace(i[None, :, None] ^ inner[:, None, :]).astype(_F32)
    v *= _F32(scale / 2.0**32)
    return v


def _refine(a: np.ndarray, axis: int) -> np.ndarray:
    """The same cubic B-spline on a lattice of half the spacing along ``axis``.

    Knot insertion: control points on nodes ``n0 .. n1`` (spacing c) give the
    control points on nodes ``2 n0 + 2 .. 2 n1 - 1`` (spacing c / 2) of the same
    function, ``(a[n-1] + 6 a[n] + a[n+1]) / 8`` at node 2n and
    ``(a[n] + a[n+1]) / 2`` at node 2n + 1.
    """

    def sl(s: slice) -> tuple[slice, ...]:
        idx = [slice(None)] * a.ndim
        idx[axis] = s
        return tuple(idx)

    n = a.shape[axis]
    shape = list(a.shape)
    shape[axis] = 2 * n - 4
    out = np.empty(shape, _F32)
    even, odd = out[sl(slice(0, None, 2))], out[sl(slice(1, None, 2))]
    lo, mid, hi = a[sl(slice(None, -2))], a[sl(slice(1, -1))], a[sl(slice(2, None))]
    np.add(lo, hi, out=even)
    even *= _F32(1.0 / 6.0)
    even += mid
    even *= _F32(0.75)
    np.add(mid, hi, out=odd)
    odd *= _F32(0.5)
    return out


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
    """Fractal sums of value-noise octaves, one per salt: (len(salts), H, W) float32.

    Octave ``o`` is cubic B-spline value noise (unit variance) on a lattice of
    spacing ``cell / 2**o`` whose node values are hashed from global node indices,
    so the field is a fixed function of the coordinates (mm). The sum is unit
    variance at fine resolution. Octaves whose lattice spacing is below two pixels
    fade out (band limit), so a coarse render sees the area average of the
    surface, not aliasing.

    The octaves are summed on the lattice, not on the pixels: a cubic B-spline is
    exactly a cubic B-spline on a lattice of half its spacing (:func:`_refine`),
    so the coarse octaves are refined down to the finest one in use and the sum is
    interpolated once, with two separable 4-tap passes.
    """
    weights = []
    norm = 0.0
    amp = 1.0
    for o in range(octaves):
        norm += amp * amp
        weights.append(amp * min(max(cell / (2.0**o) / pix - 1.0, 0.0), 1.0))
        amp *= gain
    used = [o for o in range(octaves) if weights[o] > 0.0]
    if not used:
        return np.zeros((len(salts), ys.size, xs.size), _F32)
    fine = used[-1]
    ix, wx, ix0, nx = _spline_taps(xs, cell / 2.0**fine)
    iy, wy, iy0, ny = _spline_taps(ys, cell / 2.0**fine)
    # Node ranges (first and last, along x and y) needed at each octave's level.
    ranges = [(ix0, ix0 + nx - 1, iy0, iy0 + ny - 1)]
    for _ in range(fine):
        i_lo, i_hi, j_lo, j_hi = ranges[0]
        ranges.insert(0, ((i_lo - 2) // 2, (i_hi + 2) // 2, (j_lo - 2) // 2, (j_hi + 2) // 2))
    scale = _NOISE_NORM / math.sqrt(norm)
    ctrl = None
    for o in range(fine + 1):
        i_lo, i_hi, j_lo, j_hi = ranges[o]
        if ctrl is not None:
            ctrl = _refine(_refine(ctrl, 1), 2)
            oi = i_lo - 2 * ranges[o - 1][0] - 2
            oj = j_lo - 2 * ranges[o - 1][2] - 2
            ctrl = ctrl[:, oi : oi + i_hi - i_lo + 1, oj : oj + j_hi - j_lo + 1]
        if weights[o] > 0.0:
            octave_salts = np.array([_salt(seed, k * 16 + o) for k in salts], np.uint32)
            ni, nj = i_hi - i_lo + 1, j_hi - j_lo + 1
            lat = _lattice(i_lo, ni, j_lo, nj, octave_salts, weights[o] * scale)
            if ctrl is None:  # the coarsest octave takes the mean of all of them
                lat -= _F32(0.5 * scale * sum(weights))
                ctrl = lat
            else:
                ctrl = np.add(ctrl, lat, out=lat)
    assert ctrl is not None
    # x pass on the x-major control lattice (whole rows of nodes are gathered),
    # then the y pass on the transposed result: (C, nx, ny) -> (C, W, ny) -> (C, H, W).
    rows = np.empty((len(salts), xs.size, ny), _F32)
    _spline_pass(ctrl, ix, wx, rows)
    cols = np.ascontiguousarray(rows.transpose(0, 2, 1))
    out = np.empty((len(salts), ys.size, xs.size), _F32)
    _spline_pass(cols, iy, wy, out)
    return out


def _spline_pass(src: np.ndarray, first: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    """``out[:, k] = sum_a w[a, k] * src[:, first[k] + a]``: a 4-tap pass along axis 1.

    Gathers whole rows of ``src`` (C, nodes, n) into ``out`` (C, len(first), n).
    """
    tap = np.empty_like(out)
    n = src.shape[2]
    for a in range(4):
        dst = out if a == 0 else tap
        np.take(src, first + a if a else first, axis=1, out=dst, mode="clip")
        dst *= np.repeat(w[a], n).reshape(-1, n)
        if a:
            out += tap


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    """Smoothstep of ``x`` from ``lo`` to ``hi``, float32."""
    t = (x - _F32(lo)) * _F32(1.0 / (hi - lo))
    np.clip(t, 0.0, 1.0, out=t)
    return t * t * (_F32(3.0) - _F32(2.0) * t)


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

    def band(self, pix: float) -> tuple[float, float, int]:
        """Footprint, reach and longest pixel run of the grooves at pixel pitch ``pix``.

        The footprint (mm) is the half-width a pixel adds across the grooves, the
        reach (mm) the effective half-width of the widest groove, and the run the
        most pixels a groove covers in one column (row) of :func:`_groove_cut`.
        """
        nx, ny = self.normal
        footprint = 0.5 * pix * (abs(nx) + abs(ny))
        widest = float(self.halfwidth.max()) if self.halfwidth.size else 0.0
        reach = math.sqrt(widest * widest + footprint * footprint)
        return footprint, reach, int(2.0 * reach / (max(abs(nx), abs(ny)) * pix)) + 1


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
    w_lo, w_hi = sc["halfwidth_mm"]
    d_lo, d_hi = sc["depth_um"]
    half_w = rng.uniform(w_lo, w_hi, n)
    depth = rng.uniform(d_lo, d_hi, n)
    return np.stack([cx, cy, np.cos(ang), np.sin(ang), half_len, half_w, depth], axis=1)


def _realise(group: dict[str, Any]) -> _Liner:
    rng = np.random.default_rng(group["seed"])
    families = [_realise_family(f, rng) for f in group["grooves"]]
    scratches = _realise_scratches(group["scratches"], rng)
    return _Liner(families, scratches)


# ------------------------------------------------------------------------- features


def _groove_cut(
    fam: _Family, xs: np.ndarray, ys: np.ndarray, pix: float, out: np.ndarray, pad: int
) -> None:
    """Cut (<= 0, um) of one groove family into ``out`` in place (elementwise minimum).

    ``out`` is the cut of the window with a border of ``pad`` >= ``fam.band(pix)[2]``
    pixels on every side that takes the samples falling off the window. Every
    groove that reaches the window is evaluated in a band across it: along the
    image axis on which the family's normal has the larger component (y for
    grooves flatter than 45 deg), each column (row) meets the groove on a short
    run of pixels, and only those are evaluated. Grooves that overlap combine by
    their minimum.
    """
    nx, ny = fam.normal
    ux, uy = fam.along
    width = out.shape[1] - 2 * pad
    footprint, reach, _ = fam.band(pix)
    ends = [ys[0] * ny + xs[0] * nx, ys[0] * ny + xs[-1] * nx]
    ends += [ys[-1] * ny + xs[0] * nx, ys[-1] * ny + xs[-1] * nx]
    g0, g1 = (int(g) for g in np.searchsorted(fam.pos, (min(ends) - reach, max(ends) + reach)))
    if g1 <= g0:
        return
    sel = slice(g0, g1)
    hw = fam.halfwidth[sel]
    hw_eff = np.sqrt(hw * hw + footprint * footprint)
    if abs(ny) >= abs(nx):  # runs go down the columns: a = y (rows), b = x
        a, na, ua, b, nb, ub = ys, ny, uy, xs, nx, ux
        stride_a, stride_b = width + 2 * pad, 1
    else:  # runs go along the rows: a = x (columns), b = y
        a, na, ua, b, nb, ub = xs, nx, ux, ys, ny, uy
        stride_a, stride_b = 1, width + 2 * pad
    pos = fam.pos[sel]
    # Centre of each groove on the a axis at each b (mm), and in pixel-index units.
    centre = (pos[:, None] - nb * b[None, :]) / na  # (G, Nb)
    c_idx = (centre - a[0]) / pix
    half = hw_eff / (abs(na) * pix)  # half run length, pixels
    first = np.floor(c_idx - half[:, None])
    first += 1.0  # first pixel of the run
    # a-coordinate of the run's first pixel relative to the centre, mm (small: float32)
    delta = ((first - c_idx) * pix).astype(_F32)
    # Flat index of the run's first pixel; runs off the window start in the border.
    np.clip(first, -pad, a.size, out=first)
    first += pad
    start = first.astype(np.intp)
    start *= stride_a
    start += (np.arange(pad, pad + b.size) * stride_b)[None, :]
    omega = fam.omega[sel]
    phase0 = omega[:, None] * (ua * centre + ub * b[None, :]) + fam.phase[sel][:, None]
    phase0 -= (2.0 * np.pi) * np.floor(phase0 * (0.5 / np.pi))  # the phase at the centre
    # Ragged runs: groove ``ge`` and step ``k`` along the run, one row per pair.
    run = (2.0 * half).astype(np.intp) + 1
    ge = np.repeat(np.arange(g1 - g0), run)
    k = np.arange(ge.size) - np.repeat(np.cumsum(run) - run, run)
    # Per-groove constants: cut = -D * max(1 - (1 - u) r - u r^2, 0) * gate with
    # r = |distance| / hw_eff and gate = clip(gb + gk * cos(phase), 0, 1).
    depth = fam.depth[sel] * (hw / hw_eff)
    ushape = fam.ushape[sel]
    per_groove = np.stack(
        [
            abs(na) / hw_eff,  # r per mm along a
            depth * ushape,
            depth * (1.0 - ushape),
            depth,
            omega * ua,  # phase per mm along a
            fam.gate_b[sel] + 0.5 * fam.gate_k[sel],
            0.5 * fam.gate_k[sel],
        ]
    ).astype(_F32)
    r_scale, d_u, d_v, d_all, w_a, gate_b, gate_k = np.take(per_groove, ge, axis=1)[:, :, None]
    e = np.take(delta, ge, axis=0)  # (E, Nb): a-distance from the centre, mm
    e += (k * pix).astype(_F32)[:, None]
    r = np.abs(e)
    r *= r_scale
    cut = r * d_u
    cut += d_v
    cut *= r
    cut -= d_all
    np.minimum(cut, 0.0, out=cut)  # -D * profile
    gate = e * w_a
    gate += np.take(phase0.astype(_F32), ge, axis=0)
    np.cos(gate, out=gate)
    gate *= gate_k
    gate += gate_b
    np.clip(gate, 0.0, 1.0, out=gate)
    cut *= gate
    idx = np.take(start, ge, axis=0)
    idx += (k * stride_a)[:, None]
    np.minimum.at(out.reshape(-1), idx.reshape(-1), cut.reshape(-1))


def _cell_cut(
    layer: dict[str, Any],
    seed: int,
    salt: int,
    xs: np.ndarray,
    ys: np.ndarray,
    pix: float,
    out: np.ndarray,
) -> None:
    """Cut (<= 0, um) of pores or pits into ``out`` (H, W) in place (minimum).

    At most one elliptic hole per cell of a hashed lattice (so they need no
    storage); each hole is evaluated on the pixel box around it.
    """
    density = layer["density_per_mm2"]
    if density <= 0.0:
        return
    r_lo, r_hi = layer["radius_mm"]
    aspect_max = layer["aspect_max"]
    cell = 2.4 * r_hi * aspect_max
    p = min(density * cell * cell, 0.9)
    fp = 0.5 * pix
    reach = math.sqrt((r_hi * aspect_max) ** 2 + fp * fp)  # farthest a hole reaches
    # The cells whose hole can reach a pixel centre.
    ci = np.arange(math.floor((xs[0] - reach) / cell), math.floor((xs[-1] + reach) / cell) + 1)
    cj = np.arange(math.floor((ys[0] - reach) / cell), math.floor((ys[-1] + reach) / cell) + 1)
    # One hash per cell, then one more per attribute, and only for cells with a hole.
    salts = np.array([_salt(seed, salt + q) for q in range(8)], np.uint32)
    row_hash = _mix32((cj + 65536).astype(np.uint32) ^ _mix32(salts[:1]))
    cell_hash = _mix32((ci + 65536).astype(np.uint32)[None, :] ^ row_hash[:, None]).ravel()
    present = _mix32(cell_hash ^ salts[1])
    present >>= np.uint32(8)
    present = np.flatnonzero(present < p * (1 << 24))  # uniform [0, 1) < p
    if present.size == 0:
        return
    u = _unit(_mix32(cell_hash[present][None, :] ^ salts[2:, None]))  # (6, holes)
    r = r_lo + (r_hi - r_lo) * u[0] ** 2
    aspect = 1.0 + (aspect_max - 1.0) * u[1] ** 2
    major = r * aspect
    ang = np.pi * u[2]
    margin = 1.0 - 2.0 * major / cell
    hj, hi = np.divmod(present, ci.size)
    cx = (ci[hi] + 0.5 + (u[3] - 0.5) * margin) * cell
    cy = (cj[hj] + 0.5 + (u[4] - 0.5) * margin) * cell
    d_lo, d_hi = layer["depth_um"]
    a_eff2 = major * major + fp * fp
    b_eff2 = r * r + fp * fp
    depth = (d_lo + (d_hi - d_lo) * u[5]) * (major * r) / np.sqrt(a_eff2 * b_eff2)
    # The blurred ellipse u^2 / a_eff2 + v^2 / b_eff2 <= 1 (u along the major
    # axis) as a quadratic form in (dx, dy), and its bounding box.
    ca, sa = np.cos(ang), np.sin(ang)
    c2, s2 = ca * ca, sa * sa
    inv_a, inv_b = 1.0 / a_eff2, 1.0 / b_eff2
    qxx = c2 * inv_a + s2 * inv_b
    qyy = s2 * inv_a + c2 * inv_b
    qxy = 2.0 * ca * sa * (inv_b - inv_a)
    ex = np.sqrt(a_eff2 * c2 + b_eff2 * s2)
    ey = np.sqrt(a_eff2 * s2 + b_eff2 * c2)
    height, width = out.shape
    c0 = np.floor((cx - ex - xs[0]) * (1.0 / pix)) + 1.0  # first column of the box
    r0 = np.floor((cy - ey - ys[0]) * (1.0 / pix)) + 1.0
    # Box offsets (mm) from the centre; pixels off the window are pushed out of
    # the ellipse and their index is clamped.
    bx = np.arange(int(2.0 * ex.max() / pix) + 1)
    by = np.arange(int(2.0 * ey.max() / pix) + 1)
    col = c0[:, None] + bx
    row = r0[:, None] + by
    dx = (c0 * pix + (xs[0] - cx))[:, None] + bx * pix
    dy = (r0 * pix + (ys[0] - cy))[:, None] + by * pix
    fx = qxx[:, None] * dx * dx
    fx[(col < 0.0) | (col >= width)] = 1e6
    fy = qyy[:, None] * dy * dy
    fy[(row < 0.0) | (row >= height)] = 1e6
    q = dy.astype(_F32)[:, :, None] * (qxy[:, None] * dx).astype(_F32)[:, None, :]
    q += fx.astype(_F32)[:, None, :]
    q += fy.astype(_F32)[:, :, None]
    np.subtract(_F32(1.0), q, out=q)
    np.maximum(q, 0.0, out=q)
    power = layer["profile_power"]
    if power == 0.5:
        np.sqrt(q, out=q)
    elif power != 1.0:
        np.power(q, _F32(power), out=q)
    q *= (-depth).astype(_F32)[:, None, None]
    np.clip(col, 0.0, width - 1.0, out=col)
    np.clip(row, 0.0, height - 1.0, out=row)
    row *= width
    idx = (row.astype(np.intp)[:, :, None]) + col.astype(np.intp)[:, None, :]
    np.minimum.at(out.reshape(-1), idx.reshape(-1), q.reshape(-1))


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


def _same(a: Any, b: Any) -> bool:
    """Equal JSON-like values of the same types throughout (1 != 1.0, 0.0 != -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def _gradient(h: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """``np.gradient(h, spacing)`` of an (H, W) float32 array, as float32 (y, x)."""
    inv = _F32(1.0 / spacing)
    half = _F32(0.5 / spacing)
    gy = np.empty_like(h)
    np.subtract(h[2:], h[:-2], out=gy[1:-1])
    gy[1:-1] *= half
    np.subtract(h[1], h[0], out=gy[0])
    np.subtract(h[-1], h[-2], out=gy[-1])
    gy[0] *= inv
    gy[-1] *= inv
    gx = np.empty_like(h)
    np.subtract(h[:, 2:], h[:, :-2], out=gx[:, 1:-1])
    gx[:, 1:-1] *= half
    np.subtract(h[:, 1], h[:, 0], out=gx[:, 0])
    np.subtract(h[:, -1], h[:, -2], out=gx[:, -1])
    gx[:, 0] *= inv
    gx[:, -1] *= inv
    return gy, gx


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
    group_label: ClassVar[str] = "liner"
    all_valid: ClassVar[bool] = True  # a height of 0.0 um is the plateau, not a hole

    def __init__(self, *, cache_size: int = 32) -> None:
        self._cache: OrderedDict[int, tuple[dict[str, Any], _Liner]] = OrderedDict()
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
        """The realised grooves and scratches of ``group``, cached by content.

        The realisation reads ``seed``, ``grooves`` and ``scratches`` only; a cached
        liner is reused when those are identical (same values and types).
        """
        spec = {k: group[k] for k in ("seed", "grooves", "scratches")}
        key = spec["seed"]
        hit = self._cache.get(key)
        if hit is not None and _same(hit[0], spec):
            self._cache.move_to_end(key)
            return hit[1]
        liner = _realise(group)
        self._cache[key] = (copy.deepcopy(spec), liner)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
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
        plateau = rough * _F32(pl["roughness_um"])
        peaks -= _F32(1.2)
        np.maximum(peaks, 0.0, out=peaks)
        peaks *= np.sqrt(peaks)  # ** 1.5
        peaks *= _F32(pl["peak_um"])
        plateau += peaks
        wear_p = group["wear"]
        # Wear patches, waviness and the albedo blotches share one lattice scale.
        salts = [_SALT_WEAR, _SALT_WAVY, _SALT_ALBEDO, _SALT_OIL]
        fields = _fbm(xs, ys, wear_p["cell_mm"], 2, 0.45, seed, salts, pix)
        wavy = fields[1]
        wavy *= _F32(pl["waviness_um"])
        plateau += wavy
        worn = wear_p["coverage"] > 0.0
        if worn:
            thr = NormalDist().inv_cdf(1.0 - wear_p["coverage"])
            wear = _smoothstep(thr - 0.2, thr + 0.2, fields[0])
            flatten = wear * _F32(-wear_p["strength"])
            flatten += _F32(1.0)
            # the positive part is compressed by ``flatten``, the negative by half as much
            plateau *= np.where(plateau > 0.0, flatten, _F32(0.5) * flatten + _F32(0.5))
        else:
            wear = np.zeros_like(plateau)
        pad = max(fam.band(pix)[2] for fam in liner.families) + 1
        border = np.zeros((height + 2 * pad, width + 2 * pad), _F32)
        for fam in liner.families:
            _groove_cut(fam, xs, ys, pix, border, pad)
        cut = border[pad:-pad, pad:-pad]
        if worn:  # worn areas also lose some groove depth
            cut = cut * (wear * _F32(-0.25 * wear_p["strength"]) + _F32(1.0))
        else:
            cut = cut.copy()
        _cell_cut(group["pores"], seed, _SALT_PORES, xs, ys, pix, cut)
        _cell_cut(group["pits"], seed, _SALT_PITS, xs, ys, pix, cut)
        _scratch_cut(liner.scratches, cut, xs, ys, pix)
        cut += plateau
        lo, hi = self.depth_range
        np.clip(cut, lo, hi, out=cut)
        return cut, wear, fields[2:], xs, ys, pix

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
        # Normals of the exaggerated height field; image axes x right, y down, z up.
        gy, gx = _gradient(h, pix * 1000.0 / ap["relief"])
        nz = gx * gx
        nz += gy * gy
        nz += _F32(1.0)
        np.sqrt(nz, out=nz)
        np.divide(_F32(1.0), nz, out=nz)
        lx, ly, lz = light
        lambert = gx * _F32(-lx)
        lambert -= gy * _F32(ly)
        lambert += _F32(lz)
        np.maximum(lambert, 0.0, out=lambert)
        lambert *= nz
        diffuse = lambert
        diffuse *= _F32((1.0 - ring) * 0.8 / lz)
        diffuse += nz * _F32(ring)
        hx, hy, hz = lx, ly, lz + 1.0
        hn = math.sqrt(hx * hx + hy * hy + hz * hz)
        ndh = gx * _F32(-hx / hn)
        ndh -= gy * _F32(hy / hn)
        ndh += _F32(hz / hn)
        np.maximum(ndh, 0.0, out=ndh)
        ndh *= nz

        # Albedo: bronze with blotches and an oil film; grooves hold dark oil/carbon.
        hneg = np.minimum(h, 0.0)
        darkening = ap["groove_darkening"]
        cavity = np.exp(hneg * _F32(1.0 / 1.5))  # 1 - darkening * (1 - exp(h / 1.5))
        cavity *= _F32(darkening)
        cavity += _F32(1.0 - darkening)
        var = blotch[0] * _F32(ap["albedo_variation"])
        var += _F32(1.0)
        var *= cavity
        oil_mask = _smoothstep(-0.3, 1.2, blotch[1])
        oil_mask *= _F32(ap["oil_strength"])
        # albedo = lerp(base * var, oil * cavity, oil_mask)
        keep = np.subtract(_F32(1.0), oil_mask)
        keep *= var
        oil_w = cavity
        oil_w *= oil_mask

        plateau = hneg
        plateau *= _F32(1.0 / 0.6)
        np.exp(plateau, out=plateau)
        # Blinn-Phong lobe ndh ** shininess, as exp(shininess * log(ndh))
        lobe = np.maximum(ndh, _F32(1e-30))
        np.log(lobe, out=lobe)
        lobe *= _F32(ap["shininess"])
        np.exp(lobe, out=lobe)
        spec = wear * _F32(1.5 * ap["specular"])
        spec += _F32(ap["specular"])
        spec *= plateau
        spec *= lobe
        if ap["glint"] > 0.0:  # micro-facet sparkles: hashed per 12 um cell (or pixel)
            cell = max(0.012, pix)
            spark = _hash_uniform(
                np.floor(ys / cell).astype(np.int64)[:, None],
                np.floor(xs / cell).astype(np.int64)[None, :],
                _salt(seed, _SALT_GLINT),
            )
            spark -= _F32(0.985)
            spark *= _F32(100.0)
            np.clip(spark, 0.0, 1.0, out=spark)
            sharp = ndh * ndh  # ndh ** 8
            sharp *= sharp
            sharp *= sharp
            spark *= sharp
            spark *= plateau
            spark *= _F32(ap["glint"] * 2.0)
            spec += spark

        ambient = _F32(rng.uniform(0.12, 0.3))
        light_rgb = [1.0, 1.0 - rng.uniform(0.0, 0.12), 1.0 - rng.uniform(0.0, 0.25)]
        # Vignetting around a slightly off-centre optical axis, and exposure.
        cxv, cyv = rng.uniform(0.4, 0.6, 2)
        vig = float(rng.uniform(0.15, 0.55))
        exposure = float(rng.uniform(0.9, 1.5))
        rx = ((np.arange(width) + 0.5) / width - cxv) * (width / max(height, width))
        ry = ((np.arange(height) + 0.5) / height - cyv) * (height / max(height, width))
        gain = (ry * ry).astype(_F32)[:, None] + (rx * rx).astype(_F32)[None, :]
        gain *= _F32(-2.0 * vig * exposure)
        gain += _F32(exposure)
        shading = diffuse
        shading += ambient
        shading *= gain
        keep *= shading  # diffuse light on the metal
        oil_w *= shading  # and on the oil
        spec *= gain
        lin = np.empty((3, height, width), _F32)
        base, oil = ap["albedo_rgb"], ap["oil_rgb"]
        for c in range(3):
            np.multiply(keep, _F32(base[c] * light_rgb[c]), out=lin[c])
            lin[c] += oil_w * _F32(oil[c] * light_rgb[c])
            lin[c] += spec * _F32(light_rgb[c])

        # Slight defocus: a 3-tap binomial-like blur, separable, edges replicated.
        a = float(rng.uniform(0.0, 0.22))
        if a > 0.02:
            side = np.empty_like(lin)  # sum of the two neighbours
            np.add(lin[:, :, :-2], lin[:, :, 2:], out=side[:, :, 1:-1])
            np.add(lin[:, :, 0], lin[:, :, 1], out=side[:, :, 0])
            np.add(lin[:, :, -2], lin[:, :, -1], out=side[:, :, -1])
            side *= _F32(a)
            lin *= _F32(1.0 - 2.0 * a)
            lin += side
            np.add(lin[:, :-2], lin[:, 2:], out=side[:, 1:-1])
            np.add(lin[:, 0], lin[:, 1], out=side[:, 0])
            np.add(lin[:, -2], lin[:, -1], out=side[:, -1])
            side *= _F32(a)
            lin *= _F32(1.0 - 2.0 * a)
            lin += side
        # Sensor noise (uniform with the drawn standard deviation, 8-bit steps), gamma, 8 bit.
        noise_sd = rng.uniform(0.004, 0.02) * math.sqrt(12.0)
        raw = rng.bit_generator.random_raw((lin.size + 7) // 8).astype("<u8", copy=False)
        grain = raw.view(np.uint8)[: lin.size].reshape(lin.shape)
        lin += np.multiply(grain, _F32(noise_sd / 256.0), dtype=_F32)
        lin += _F32(noise_sd * (0.5 / 256.0 - 0.5))
        np.clip(lin, _F32(1e-12), _F32(1.0), out=lin)
        np.log(lin, out=lin)  # lin ** (1 / 2.2) as exp(log(lin) / 2.2)
        lin *= _F32(1.0 / 2.2)
        np.exp(lin, out=lin)
        lin *= _F32(255.0)
        np.rint(lin, out=lin)
        rgb = np.empty((height, width, 3), np.uint8)
        for c in range(3):
            rgb[:, :, c] = lin[c]
        return rgb
