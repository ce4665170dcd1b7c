"""Honed cylinder-liner surfaces (seed 000, section 4.1)."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from rgb2depth.data.synthetic import surfaces
from rgb2depth.data.synthetic.surfaces import (
    DEPTH_WINDOW_MM,
    RGB_WINDOW_MM,
    Surfaces,
)
from rgb2depth.errors import InputError


@pytest.fixture(scope="module")
def kind() -> Surfaces:
    return Surfaces()


@pytest.fixture(scope="module")
def group(kind: Surfaces) -> dict:
    return kind.sample_group(np.random.default_rng(0))


def test_encoding_covers_the_range_with_count_zero_reserved(kind: Surfaces) -> None:
    lo, hi = kind.depth_range
    assert (lo, hi) == (-7.4, 1.8)
    assert kind.units == "um"
    assert kind.all_valid
    assert kind.intrinsics(64, 64) is None
    count_lo = round((lo - kind.png_offset) / kind.png_scale)
    count_hi = round((hi - kind.png_offset) / kind.png_scale)
    assert count_lo >= 1
    assert count_hi <= 65535
    assert kind.png_scale <= 0.001 + 1e-12


@pytest.mark.parametrize("size", [(64, 64), (96, 128), (128, 96)])
@pytest.mark.parametrize("view", ["paired", "rgb", "depth"])
def test_shapes_dtypes_and_range(kind: Surfaces, group: dict, size, view) -> None:
    h, w = size
    s = kind.render(group, np.random.default_rng(1), h, w, view)
    assert s.rgb.shape == (h, w, 3) and s.rgb.dtype == np.uint8
    assert s.depth.shape == (h, w) and s.depth.dtype == np.float32
    assert np.isfinite(s.depth).all()
    lo, hi = kind.depth_range
    assert s.depth.min() >= lo and s.depth.max() <= hi
    json.dumps(s.meta)
    assert s.meta["view"] == view
    assert s.meta["window"]["size_mm"] == (RGB_WINDOW_MM if view == "rgb" else DEPTH_WINDOW_MM)


def test_render_is_deterministic_and_independent_of_the_cache(group: dict) -> None:
    a = Surfaces().render(group, np.random.default_rng(7), 64, 80, "paired")
    warm = Surfaces()
    warm.render(group, np.random.default_rng(3), 32, 32)
    b = warm.render(group, np.random.default_rng(7), 64, 80, "paired")
    assert a.rgb.tobytes() == b.rgb.tobytes()
    assert a.depth.tobytes() == b.depth.tobytes()
    assert a.meta == b.meta


def test_group_is_json_serialisable_and_round_trips(kind: Surfaces) -> None:
    g = kind.sample_group(np.random.default_rng(11))
    g2 = json.loads(json.dumps(g))
    a = kind.render(g, np.random.default_rng(2), 48, 48)
    b = Surfaces().render(g2, np.random.default_rng(2), 48, 48)
    assert a.depth.tobytes() == b.depth.tobytes()
    assert a.rgb.tobytes() == b.rgb.tobytes()


def test_two_groove_families_cross_at_20_to_40_degrees(kind: Surfaces) -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        fams = kind.sample_group(rng)["grooves"]
        assert len(fams) == 2
        a, b = (f["angle_deg"] for f in fams)
        assert 20.0 <= abs(a) <= 40.0 and 20.0 <= abs(b) <= 40.0
        assert a * b < 0  # one family each side of the horizontal


def _wedge_energy(depth: np.ndarray, angle_deg: float, half_width_deg: float = 3.0) -> float:
    """Spectral energy of ``depth`` at frequencies within a wedge around ``angle_deg``."""
    d = depth - depth.mean()
    p = np.abs(np.fft.fft2(d * np.outer(np.hanning(d.shape[0]), np.hanning(d.shape[1])))) ** 2
    fy = np.fft.fftfreq(d.shape[0])[:, None]
    fx = np.fft.fftfreq(d.shape[1])[None, :]
    radius = np.hypot(fx, fy)
    ang = np.degrees(np.arctan2(fy, fx)) % 180.0
    diff = np.abs((ang - angle_deg + 90.0) % 180.0 - 90.0)
    band = (radius > 0.03) & (radius < 0.45)
    return float(p[band & (diff < half_width_deg)].mean())


def test_height_spectrum_shows_the_cross_hatch(kind: Surfaces) -> None:
    rng = np.random.default_rng(8)
    g = kind.sample_group(rng)
    depth = kind.render(g, rng, 128, 128, "depth").depth
    # Grooves along (cos a, -sin a) in image axes (y down) put their energy at
    # frequencies along the normal (sin a, cos a).
    normals = [np.degrees(np.arctan2(np.cos(np.radians(f["angle_deg"])),
                                     np.sin(np.radians(f["angle_deg"])))) % 180.0
               for f in g["grooves"]]  # fmt: skip
    others = [_wedge_energy(depth, a) for a in np.arange(0.0, 180.0, 6.0)]
    for n in normals:
        assert _wedge_energy(depth, n) > 3.0 * np.median(others)


def test_paired_rgb_is_darker_in_grooves(kind: Surfaces) -> None:
    rng = np.random.default_rng(9)
    for _ in range(4):
        g = kind.sample_group(rng)
        s = kind.render(g, rng, 96, 96, "paired")
        lum = s.rgb.astype(np.float64).mean(axis=-1)
        corr = np.corrcoef(lum.ravel(), s.depth.ravel().astype(np.float64))[0, 1]
        assert corr > 0.15


def test_rgb_views_cover_another_window_than_depth_views(kind: Surfaces, group: dict) -> None:
    rgb = kind.render(group, np.random.default_rng(4), 64, 64, "rgb").meta["window"]
    dep = kind.render(group, np.random.default_rng(4), 64, 64, "depth").meta["window"]
    assert rgb["size_mm"] == RGB_WINDOW_MM and dep["size_mm"] == DEPTH_WINDOW_MM
    c_rgb = np.array([rgb["x0_mm"], rgb["y0_mm"]]) + RGB_WINDOW_MM / 2
    c_dep = np.array([dep["x0_mm"], dep["y0_mm"]]) + DEPTH_WINDOW_MM / 2
    assert np.abs(c_rgb - c_dep).max() > 0.1


def test_depth_is_the_height_map_of_the_window(kind: Surfaces, group: dict) -> None:
    s = kind.render(group, np.random.default_rng(12), 40, 56, "paired")
    win = s.meta["window"]
    h = kind.height_map(group, win["x0_mm"], win["y0_mm"], win["size_mm"], 40, 56)
    np.testing.assert_array_equal(h, s.depth)


def test_height_is_a_function_of_position(kind: Surfaces, group: dict) -> None:
    size = 1.0
    n = 64
    pix = size / n
    a = kind.height_map(group, 2.0, 3.0, size, n, n)
    b = kind.height_map(group, 2.0 + 10 * pix, 3.0 + 6 * pix, size, n, n)
    np.testing.assert_allclose(a[6:, 10:], b[:-6, :-10], atol=1e-3)


def test_bad_arguments_raise(kind: Surfaces, group: dict) -> None:
    with pytest.raises(InputError, match="view"):
        kind.render(group, np.random.default_rng(0), 32, 32, "stereo")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="height"):
        kind.render(group, np.random.default_rng(0), 0, 32)


def _cubic_bspline(t: np.ndarray) -> np.ndarray:
    """The centred cubic B-spline (support [-2, 2])."""
    t = np.abs(t)
    return np.where(
        t < 1.0, (4.0 - 6.0 * t**2 + 3.0 * t**3) / 6.0, np.clip(2.0 - t, 0, None) ** 3 / 6.0
    )


def test_fbm_equals_the_sum_of_its_octaves(kind: Surfaces) -> None:
    # The renderer refines coarse octaves onto the finest lattice and interpolates
    # once; the reference interpolates every octave's hashed lattice on its own.
    g = kind.sample_group(np.random.default_rng(21))
    for cell, octaves, gain, salts in [(0.05, 3, 0.55, [1, 2]), (0.7, 2, 0.45, [4, 3, 5, 6])]:
        for size, n in [(0.4, 24), (0.9, 20)]:
            xs, ys, pix = Surfaces.window_grid(3.1, 5.7, size, n, n + 3)
            got = surfaces._fbm(xs, ys, cell, octaves, gain, g["seed"], salts, pix)
            want = np.zeros(got.shape)
            norm = sum(gain ** (2 * o) for o in range(octaves))
            for o in range(octaves):
                c = cell / 2.0**o
                weight = gain**o * min(max(c / pix - 1.0, 0.0), 1.0) / np.sqrt(norm)
                if weight == 0.0:
                    continue
                i0, j0 = int(np.floor(xs[0] / c)) - 1, int(np.floor(ys[0] / c)) - 1
                ni, nj = int(np.floor(xs[-1] / c)) + 3 - i0, int(np.floor(ys[-1] / c)) + 3 - j0
                octave_salts = np.array([surfaces._salt(g["seed"], k * 16 + o) for k in salts])
                lat = surfaces._lattice(i0, ni, j0, nj, octave_salts.astype(np.uint32), 1.0)
                lat = (lat.astype(np.float64) - 0.5) * surfaces._NOISE_NORM
                bx = _cubic_bspline(xs[:, None] / c - np.arange(i0, i0 + ni)[None, :])
                by = _cubic_bspline(ys[:, None] / c - np.arange(j0, j0 + nj)[None, :])
                want += weight * np.einsum("hj,cij,wi->chw", by, lat, bx)
            np.testing.assert_allclose(got, want, atol=2e-5)


def _all_grooves_cut(fam, xs: np.ndarray, ys: np.ndarray, pix: float) -> np.ndarray:
    """Reference groove cut: every groove of the family on every pixel, minimum."""
    nx, ny = fam.normal
    ux, uy = fam.along
    footprint = 0.5 * pix * (abs(nx) + abs(ny))
    s = ys[:, None] * ny + xs[None, :] * nx
    t = ys[:, None] * uy + xs[None, :] * ux
    out = np.zeros(s.shape)
    for g in range(fam.pos.size):
        hw_eff = np.hypot(fam.halfwidth[g], footprint)
        r = np.abs(s - fam.pos[g]) / hw_eff
        a = fam.ushape[g]
        prof = np.maximum(1.0 - (1.0 - a) * r - a * r * r, 0.0)
        m = 0.5 + 0.5 * np.cos(fam.omega[g] * t + fam.phase[g])
        gate = np.clip(fam.gate_b[g] + fam.gate_k[g] * m, 0.0, 1.0)
        out = np.minimum(out, -fam.depth[g] * fam.halfwidth[g] / hw_eff * prof * gate)
    return out


@pytest.mark.parametrize("angle", [None, 65.0, -80.0])  # sampled angles, and steep ones
def test_grooves_are_the_deepest_groove_over_each_pixel(kind: Surfaces, angle) -> None:
    g = kind.sample_group(np.random.default_rng(22))
    for fam in Surfaces()._liner(g).families:
        if angle is not None:  # runs along the rows instead of down the columns
            th = np.radians(angle)
            fam = dataclasses.replace(fam, normal=(np.sin(th), np.cos(th)),
                                      along=(np.cos(th), -np.sin(th)))  # fmt: skip
        for size, h, w in [(1.9, 48, 40), (4.2, 30, 37), (0.5, 9, 8)]:
            xs, ys, pix = Surfaces.window_grid(2.3, 4.1, size, h, w)
            pad = fam.band(pix)[2] + 1
            out = np.zeros((h + 2 * pad, w + 2 * pad), np.float32)
            surfaces._groove_cut(fam, xs, ys, pix, out, pad)
            want = _all_grooves_cut(fam, xs, ys, pix)
            np.testing.assert_allclose(out[pad:-pad, pad:-pad], want, atol=1e-4)


def test_cache_never_serves_another_liner(group: dict) -> None:
    warm = Surfaces()
    first = warm.render(group, np.random.default_rng(5), 40, 40)
    other = copy.deepcopy(group)  # same seed, other grooves
    other["grooves"][0]["spacing_mm"] *= 2.0
    a = warm.render(other, np.random.default_rng(5), 40, 40)
    b = Surfaces().render(other, np.random.default_rng(5), 40, 40)
    assert a.depth.tobytes() == b.depth.tobytes()
    assert a.depth.tobytes() != first.depth.tobytes()
    again = warm.render(group, np.random.default_rng(5), 40, 40)
    assert again.depth.tobytes() == first.depth.tobytes()
