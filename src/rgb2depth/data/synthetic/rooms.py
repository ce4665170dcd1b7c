"""Indoor rooms seen by an NYU-like Kinect camera (seed 003, NYU Depth v2).

A group is one furnished room: an axis-aligned box (3-8 m wide and deep, 2.4-3.2 m
high) with materials for floor, ceiling and the four walls, a door and windows on
the walls (flat rectangles of other albedo; windows glow), ceiling lights, and
furniture made of primitives: boxes (optionally turned about the vertical axis),
vertical cylinders and spheres. Furniture depends on the room type (bedroom,
living room, office, kitchen, dining room): beds, sofas, tables with chairs,
desks with monitors, bookcases with books, cabinets, counters, fridges, lamps,
plants, rugs and pictures.

A view is one camera pose in the room (height 1.0-1.8 m, any yaw, a slight downward
pitch, a small roll). Every pixel is ray-cast with vectorised numpy (slab tests for
the room and the boxes, quadratics for cylinders and spheres, each tested only on
the pixels its projected bounding box covers). Depth is ``z`` along the optical
axis, not the ray length: rays are ``d = K^-1 (u, v, 1)`` in camera coordinates, so
the ray parameter of the hit is its depth. Invalid pixels (0) are where a Kinect
v1 reads nothing: nearer than 0.5 m or farther than 10 m, window glass, and the
projector shadows (thin bands left of foreground objects that the IR projector,
7.5 cm right of the camera, cannot light).

Shading: albedo from procedural textures in each primitive's own surface
coordinates (plain with mottling, planks, tiles, stripes, noise, books, panels),
anti-aliased against the pixel footprint; Lambert from point lights with a soft
distance falloff and hard shadows from the larger boxes, hemispherical ambient,
a faint specular term on glossy materials, emissive windows and lamp shades, then
auto-exposure, gamma and sensor noise.

Coordinates: world x and z span the floor (``[0, width] x [0, depth]``), y points
up (floor at 0, ceiling at ``height``). Camera frame as in
:mod:`rgb2depth.data.synthetic.base`: x right, y down, z forward.
"""

from __future__ import annotations

import colorsys
import math
from typing import Any, ClassVar

import numpy as np

from rgb2depth.data.synthetic.base import RenderedSample, SceneKind, View
from rgb2depth.errors import InputError
from rgb2depth.geometry import Intrinsics

KINECT_INTRINSICS = {
    "fx": 518.86,
    "fy": 519.47,
    "cx": 325.58,
    "cy": 253.74,
    "width": 640,
    "height": 480,
}
"""Kinect v1 colour intrinsics of NYU Depth v2 at 640 x 480 (pixels)."""

_VIEWS = ("paired", "rgb", "depth")
_MIN_SIZE = 8
_NEAR, _FAR = 0.5, 10.0
_BASELINE = 0.075  # m, Kinect camera to IR projector

_BOX, _CYLINDER, _SPHERE = 0, 1, 2
_SHAPES = {"box": _BOX, "cylinder": _CYLINDER, "sphere": _SPHERE}
_TEXTURES = ("plain", "noise", "stripes", "planks", "tiles", "books", "panels")
_TEX_ID = {name: i for i, name in enumerate(_TEXTURES)}
_NOT_TARGETS = ("ceiling lamp", "baseboard", "picture", "rug", "radiator")

# ---------------------------------------------------------------------------- helpers


def _mix32(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def _hash(a: np.ndarray, b: np.ndarray, seed: np.ndarray | np.integer) -> np.ndarray:
    """Uniform [0, 1) float32 hashed from integer arrays ``a``, ``b`` and ``seed``."""
    a = (a.astype(np.int64) + (1 << 20)).astype(np.uint32)
    b = (b.astype(np.int64) + (1 << 20)).astype(np.uint32)
    h = _mix32(a ^ _mix32(b ^ _mix32(np.array(seed, ndmin=1).astype(np.uint32))))
    return (h >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / (1 << 24))


# A fixed 256 x 256 table of hashed values in [-1, 1) for texture noise (a constant
# of the module): bilinear lookups into it are cheaper than hashing every pixel.
_NOISE_TABLE = (
    _hash(np.arange(256)[:, None], np.arange(256)[None, :], np.uint32(0x5EED)) * 2.0 - 1.0
).astype(np.float32)


def _value_noise(u: np.ndarray, v: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Smooth noise in [-1, 1] at lattice coordinates ``u, v`` (one unit per cell)."""
    fu = np.floor(u)
    fv = np.floor(v)
    tu = u - fu
    tv = v - fv
    tu = tu * tu * (3.0 - 2.0 * tu)
    tv = tv * tv * (3.0 - 2.0 * tv)
    iu = (fu.astype(np.int64) + offset) & 255
    iv = (fv.astype(np.int64) + offset * 7) & 255
    iu1 = (iu + 1) & 255
    iv1 = (iv + 1) & 255
    t = _NOISE_TABLE
    a = t[iv, iu] + (t[iv, iu1] - t[iv, iu]) * tu
    b = t[iv1, iu] + (t[iv1, iu1] - t[iv1, iu]) * tu
    return a + (b - a) * tv


def _fade(cell: np.ndarray | float, fp: np.ndarray) -> np.ndarray:
    """Weight of a texture detail of size ``cell`` seen with pixel footprint ``fp``."""
    return np.clip(cell / np.maximum(fp, 1e-6) - 1.0, 0.0, 1.0)


def _line(dist: np.ndarray, half_width: float, fp: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of a line of ``half_width`` at distance ``dist`` (m)."""
    w = np.maximum(half_width, 0.5 * fp)
    return np.clip(1.0 - dist / w, 0.0, 1.0) * (half_width / w)


def _srgb_to_linear(c: list[float]) -> list[float]:
    return [float(x) ** 2.2 for x in c]


def _rounded(obj: Any, digits: int = 4) -> Any:
    """``obj`` with every float rounded (dicts and lists recursively)."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v, digits) for v in obj]
    return obj


def _check_size(height: int, width: int) -> None:
    for name, v in (("height", height), ("width", width)):
        if not isinstance(v, (int, np.integer)) or v < _MIN_SIZE:
            raise InputError(f"{name} must be an integer >= {_MIN_SIZE}, got {v!r}")


# -------------------------------------------------------------------------- textures


def _texture(
    tex: int,
    u: np.ndarray,
    v: np.ndarray,
    fp: np.ndarray,
    c1: np.ndarray,
    c2: np.ndarray,
    su: np.ndarray,
    sv: np.ndarray,
    seed: np.ndarray,
) -> np.ndarray:
    """Albedo (n, 3) of texture ``tex`` at surface coordinates ``u, v`` (m).

    ``fp`` is the pixel footprint on the surface (m); ``c1, c2`` (n, 3) the two
    colours, ``su, sv`` (n,) the pattern scales along u and v (m), ``seed`` (n,) int.
    """
    name = _TEXTURES[tex]
    off = seed.astype(np.int64)
    if name == "plain":
        n = _value_noise(u / 0.6, v / 0.6, off) + 0.5 * _value_noise(u / 0.15, v / 0.15, off + 3)
        return c1 * (1.0 + 0.05 * n * _fade(0.15, fp))[:, None]
    if name == "noise":
        n = _value_noise(u / su, v / sv, off) * 0.65
        n += 0.35 * _value_noise(u * 3.1 / su, v * 3.1 / sv, off + 5) * _fade(su / 3.1, fp)
        m = np.clip(0.5 + 0.7 * n * _fade(su, fp), 0.0, 1.0)
        return c1 + (c2 - c1) * m[:, None]
    if name == "stripes":
        s = u / su
        f = s - np.floor(s)
        aa = np.maximum(fp / su, 1e-4)
        m = np.clip(0.5 + (np.abs(f - 0.5) - 0.25) / (2.0 * aa), 0.0, 1.0)
        m = 0.5 + (m - 0.5) * np.clip(0.25 / aa - 1.0, 0.0, 1.0)  # grey out when too fine
        return c1 + (c2 - c1) * m[:, None]
    if name == "planks":
        row = np.floor(v / sv)
        shift = _hash(row, row * 0 + 7, off) * su
        s = (u + shift) / su
        col = np.floor(s)
        h = _hash(row, col, off + 11)
        base = c1 + (c2 - c1) * h[:, None]
        grain = _value_noise(u / 0.4, v / 0.01 + row * 17.0, off + 13) * _fade(0.01, fp)
        fv = v / sv - row
        d_seam = np.minimum(fv, 1.0 - fv) * sv
        d_joint = np.minimum(s - col, 1.0 - (s - col)) * su
        seam = np.maximum(_line(d_seam, 0.0025, fp), _line(d_joint, 0.0025, fp))
        return base * ((1.0 + 0.12 * grain) * (1.0 - 0.55 * seam))[:, None]
    if name == "tiles":
        cu = np.floor(u / su)
        cv = np.floor(v / sv)
        h = _hash(cu, cv, off)
        base = c1 * (0.92 + 0.16 * h)[:, None]
        fu = u / su - cu
        fv = v / sv - cv
        d = np.minimum(np.minimum(fu, 1.0 - fu) * su, np.minimum(fv, 1.0 - fv) * sv)
        grout = _line(d, 0.003, fp)[:, None]
        return base + (c2 - base) * grout
    if name == "books":
        # Shelf rows of height sv; books of ~su width with hashed colours and heights.
        row = np.floor(v / sv)
        s = u / su + _hash(row, row * 0 + 3, off) * 10.0
        book = np.floor(s)
        h1 = _hash(book, row, off + 1)
        h2 = _hash(book, row, off + 2)
        h3 = _hash(book, row, off + 5)
        rgb = np.empty((u.size, 3), np.float32)
        hue = h1
        sat = 0.25 + 0.5 * h2
        val = 0.15 + 0.55 * h3
        # HSV to RGB, vectorised.
        k = (hue * 6.0)[:, None] + np.array([5.0, 3.0, 1.0], np.float32)
        k = np.mod(k, 6.0)
        rgb[:] = val[:, None] * (1.0 - sat[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0))
        rgb = rgb**2.2
        top = 0.55 + 0.4 * _hash(book, row, off + 9)
        fv = v / sv - row
        gap = np.clip((fv - top) * sv / np.maximum(fp, 1e-3) + 0.5, 0.0, 1.0)
        fs = s - book
        edge = _line(np.minimum(fs, 1.0 - fs) * su, 0.002, fp)
        rgb *= (1.0 - 0.5 * edge)[:, None]
        return rgb + (c2 - rgb) * gap[:, None]
    # panels: doors and drawers separated by dark grooves.
    fu = u / su - np.floor(u / su)
    fv = v / sv - np.floor(v / sv)
    d = np.minimum(np.minimum(fu, 1.0 - fu) * su, np.minimum(fv, 1.0 - fv) * sv)
    groove = _line(d, 0.004, fp)
    return c1 * (1.0 - 0.6 * groove)[:, None]


# ------------------------------------------------------------------------ room plans


def _material(
    rng: np.random.Generator,
    texture: str,
    color: list[float],
    color2: list[float] | None = None,
    scale: tuple[float, float] = (1.0, 1.0),
    gloss: float = 0.0,
    emit: float = 0.0,
) -> dict[str, Any]:
    c1 = [float(np.clip(c, 0.0, 1.0)) for c in color]
    c2 = [float(np.clip(c, 0.0, 1.0)) for c in (color2 if color2 is not None else color)]
    return {
        "texture": texture,
        "color": c1,
        "color2": c2,
        "scale": [float(scale[0]), float(scale[1])],
        "seed": int(rng.integers(0, 1 << 20)),
        "gloss": float(gloss),
        "emit": float(emit),
    }


def _hsv(rng: np.random.Generator, h: tuple, s: tuple, v: tuple) -> list[float]:
    r, g, b = colorsys.hsv_to_rgb(
        float(rng.uniform(*h)) % 1.0, float(rng.uniform(*s)), float(rng.uniform(*v))
    )
    return [r, g, b]


def _wood(rng: np.random.Generator) -> list[float]:
    return _hsv(rng, (0.05, 0.1), (0.35, 0.7), (0.25, 0.75))


def _fabric(rng: np.random.Generator) -> list[float]:
    return _hsv(rng, (0.0, 1.0), (0.1, 0.55), (0.2, 0.8))


def _neutral(rng: np.random.Generator, lo: float, hi: float) -> list[float]:
    return _hsv(rng, (0.05, 0.15), (0.0, 0.12), (lo, hi))


def _scale(c: list[float], f: float) -> list[float]:
    return [x * f for x in c]


def _box(center, half, material, label, yaw=0.0) -> dict[str, Any]:
    return {
        "shape": "box",
        "center": [float(c) for c in center],
        "half": [float(h) for h in half],
        "yaw": float(yaw),
        "material": material,
        "label": label,
    }


def _cylinder(center, radius, half_height, material, label) -> dict[str, Any]:
    return {
        "shape": "cylinder",
        "center": [float(c) for c in center],
        "half": [float(radius), float(half_height), float(radius)],
        "yaw": 0.0,
        "material": material,
        "label": label,
    }


def _sphere(center, radius, material, label) -> dict[str, Any]:
    return {
        "shape": "sphere",
        "center": [float(c) for c in center],
        "half": [float(radius)] * 3,
        "yaw": 0.0,
        "material": material,
        "label": label,
    }


def _clutter(rng, top, w, d, n_max=4):
    """Small objects (book stacks, boxes, cups, vases, bottles) on a surface at ``top``."""
    parts = []
    for _ in range(int(rng.integers(0, n_max + 1))):
        kind = rng.random()
        x = float(rng.uniform(-w / 2 + 0.1, w / 2 - 0.1))
        z = float(rng.uniform(-d / 2 + 0.08, d / 2 - 0.08))
        room_x = w / 2 - abs(x) - 0.01  # keep objects on the surface
        room_z = d / 2 - abs(z) - 0.01
        if kind < 0.45:
            hw, hh, hd = (
                min(float(rng.uniform(0.05, 0.2)), room_x),
                float(rng.uniform(0.01, 0.08)),
                min(float(rng.uniform(0.05, 0.15)), room_z),
            )
            mat = _material(rng, "plain", _fabric(rng))
            part = _box((x, top + hh, z), (hw, hh, hd), mat, "object")
            part["yaw"] = float(rng.uniform(-0.5, 0.5))
            parts.append(part)
        elif kind < 0.85:
            r = min(float(rng.uniform(0.03, 0.08)), room_x, room_z)
            hh = float(rng.uniform(0.04, 0.15))
            mat = _material(rng, "plain", _fabric(rng), gloss=0.5)
            parts.append(_cylinder((x, top + hh, z), r, hh, mat, "object"))
        else:
            r = min(float(rng.uniform(0.04, 0.1)), room_x, room_z)
            mat = _material(rng, "plain", _fabric(rng), gloss=0.3)
            parts.append(_sphere((x, top + r, z), r, mat, "object"))
    return parts


# Item templates: parts in the item's frame (origin on the floor at the footprint
# centre, +z is the item's front, x to its side). Each returns (parts, (w, d)).


def _legs(w, d, h, t, mat, label, inset=0.03):
    parts = []
    for sx in (-1, 1):
        for sz in (-1, 1):
            c = (sx * (w / 2 - t / 2 - inset), h / 2, sz * (d / 2 - t / 2 - inset))
            parts.append(_box(c, (t / 2, h / 2, t / 2), mat, label))
    return parts


def _table(rng, w=None, d=None, h=None, mat=None, label="table"):
    w = w or float(rng.uniform(0.8, 1.8))
    d = d or float(rng.uniform(0.6, min(1.0, w)))
    h = h or float(rng.uniform(0.7, 0.78))
    mat = mat or _material(
        rng, "planks" if rng.random() < 0.3 else "plain", _wood(rng), scale=(0.6, 0.1), gloss=0.3
    )
    top = 0.035
    parts = [_box((0, h - top / 2, 0), (w / 2, top / 2, d / 2), mat, label)]
    parts += _legs(w, d, h - top, float(rng.uniform(0.04, 0.07)), mat, label)
    parts += _clutter(rng, h, w, d, 3)
    return parts, (w, d)


def _chair(rng, mat=None):
    w = float(rng.uniform(0.4, 0.5))
    seat_h = float(rng.uniform(0.42, 0.48))
    mat = mat or _material(rng, "plain", _wood(rng) if rng.random() < 0.6 else _fabric(rng))
    parts = [_box((0, seat_h, 0), (w / 2, 0.025, w / 2), mat, "chair")]
    parts += _legs(w, w, seat_h - 0.025, 0.035, mat, "chair", inset=0.01)
    back_h = float(rng.uniform(0.35, 0.5))
    parts.append(
        _box((0, seat_h + back_h / 2, -w / 2 + 0.02), (w / 2, back_h / 2, 0.02), mat, "chair")
    )
    return parts, (w, w)


def _bed(rng):
    w = float(rng.choice([0.95, 1.45, 1.65, 1.85]))
    d = float(rng.uniform(1.95, 2.15))
    frame = _material(rng, "plain", _wood(rng), gloss=0.2)
    sheet = _material(rng, "noise", _fabric(rng), None, (0.3, 0.3))
    sheet["color2"] = [c * 0.8 for c in sheet["color"]]
    base_h = float(rng.uniform(0.25, 0.35))
    mat_h = float(rng.uniform(0.18, 0.25))
    parts = [
        _box((0, base_h / 2, 0), (w / 2, base_h / 2, d / 2), frame, "bed"),
        _box((0, base_h + mat_h / 2, 0.02), (w / 2 - 0.02, mat_h / 2, d / 2 - 0.04), sheet, "bed"),
    ]
    head_h = float(rng.uniform(0.8, 1.2))
    parts.append(
        _box((0, head_h / 2, -d / 2 + 0.03), (w / 2 + 0.02, head_h / 2, 0.03), frame, "bed")
    )
    pillow = _material(rng, "plain", _neutral(rng, 0.75, 0.95))
    n_p = 1 if w < 1.2 else 2
    for i in range(n_p):
        x = 0.0 if n_p == 1 else (i - 0.5) * w / 2
        parts.append(
            _box(
                (x, base_h + mat_h + 0.06, -d / 2 + 0.3),
                (w / (2 * n_p) - 0.06, 0.06, 0.2),
                pillow,
                "pillow",
            )
        )
    return parts, (w + 0.04, d)


def _sofa(rng):
    w = float(rng.uniform(1.5, 2.4))
    d = float(rng.uniform(0.8, 0.95))
    fab = _material(rng, "noise", _fabric(rng), None, (0.15, 0.15))
    fab["color2"] = [c * 0.85 for c in fab["color"]]
    seat_h = float(rng.uniform(0.38, 0.46))
    back_h = float(rng.uniform(0.75, 0.9))
    arm_h = float(rng.uniform(0.55, 0.65))
    arm_w = 0.18
    parts = [
        _box((0, seat_h / 2, 0.05), (w / 2 - arm_w, seat_h / 2, d / 2 - 0.05), fab, "sofa"),
        _box((0, back_h / 2, -d / 2 + 0.1), (w / 2, back_h / 2, 0.1), fab, "sofa"),
    ]
    for sx in (-1, 1):
        parts.append(
            _box(
                (sx * (w / 2 - arm_w / 2), arm_h / 2, 0), (arm_w / 2, arm_h / 2, d / 2), fab, "sofa"
            )
        )
    return parts, (w, d)


def _cabinet(rng, w=None, d=None, h=None, label="cabinet", color=None):
    w = w or float(rng.uniform(0.5, 1.6))
    d = d or float(rng.uniform(0.35, 0.6))
    h = h or float(rng.uniform(0.5, 1.2))
    color = color or (_wood(rng) if rng.random() < 0.6 else _neutral(rng, 0.3, 0.95))
    n_cols = max(1, round(w / 0.5))
    n_rows = max(1, round(h / float(rng.uniform(0.25, 0.7))))
    mat = _material(rng, "panels", color, scale=(w / n_cols, h / n_rows), gloss=0.25)
    parts = [_box((0, h / 2, 0), (w / 2, h / 2, d / 2), mat, label)]
    if h < 1.5:
        parts += _clutter(rng, h, w, d, 3)
    return parts, (w, d)


def _bookcase(rng):
    w = float(rng.uniform(0.6, 1.5))
    d = float(rng.uniform(0.28, 0.4))
    h = float(rng.uniform(1.2, 2.2))
    wood = _material(rng, "plain", _wood(rng) if rng.random() < 0.7 else _neutral(rng, 0.8, 0.95))
    t = 0.02
    parts = [
        _box((-w / 2 + t / 2, h / 2, 0), (t / 2, h / 2, d / 2), wood, "bookcase"),
        _box((w / 2 - t / 2, h / 2, 0), (t / 2, h / 2, d / 2), wood, "bookcase"),
        _box((0, h - t / 2, 0), (w / 2, t / 2, d / 2), wood, "bookcase"),
        _box((0, h / 2, -d / 2 + t / 2), (w / 2, h / 2, t / 2), wood, "bookcase"),
    ]
    n = max(2, int(h / float(rng.uniform(0.3, 0.4))))
    shelf = (h - t) / n
    for i in range(n):
        y = i * shelf
        parts.append(_box((0, y + t / 2, 0), (w / 2 - t, t / 2, d / 2 - t), wood, "bookcase"))
        if rng.random() < 0.85:
            bd = float(rng.uniform(0.15, d - 0.06))
            books = _material(
                rng,
                "books",
                [0.3] * 3,
                [c * 0.35 for c in wood["color"]],
                (float(rng.uniform(0.025, 0.05)), shelf - t),
            )
            parts.append(
                _box(
                    (0, y + t + (shelf - t) / 2 - 0.005, -d / 2 + t + bd / 2),
                    (w / 2 - t - 0.005, (shelf - t) / 2 - 0.005, bd / 2),
                    books,
                    "books",
                )
            )
    return parts, (w, d)


def _desk(rng):
    parts, (w, d) = _table(
        rng, w=float(rng.uniform(1.0, 1.6)), d=float(rng.uniform(0.6, 0.8)), label="desk"
    )
    h = parts[0]["center"][1] + parts[0]["half"][1]
    if rng.random() < 0.7:  # a monitor
        dark = _material(rng, "plain", _neutral(rng, 0.03, 0.12), gloss=0.6)
        mw = float(rng.uniform(0.45, 0.65))
        parts.append(_box((0, h + 0.1 + 0.17, -d / 4), (mw / 2, 0.17, 0.015), dark, "monitor"))
        parts.append(_box((0, h + 0.05, -d / 4), (0.03, 0.05, 0.03), dark, "monitor"))
    if rng.random() < 0.6:
        drawers, _ = _cabinet(rng, w=0.4, d=d - 0.1, h=h - 0.05, label="desk")
        drawers[0]["center"][0] = w / 2 - 0.25
        parts += drawers[:1]
    if rng.random() < 0.75:  # a chair in front, turned towards the desk
        chair, _ = _chair(rng)
        z = d / 2 + float(rng.uniform(0.05, 0.3))
        x = float(rng.uniform(-0.2, 0.2))
        for p in chair:
            lx, ly, lz = p["center"]
            p["center"] = [x - lx, ly, z - lz]
            p["yaw"] = float(p["yaw"] + math.pi)
        parts += chair
        # re-centre the footprint on desk + chair
        for p in parts:
            p["center"][2] -= 0.3
        return parts, (w, d + 0.6)
    return parts, (w, d)


def _tv_stand(rng):
    parts, (w, d) = _cabinet(
        rng, w=float(rng.uniform(1.0, 1.8)), d=0.4, h=float(rng.uniform(0.4, 0.6)), label="tv stand"
    )
    h = parts[0]["half"][1] * 2
    tw = min(w, float(rng.uniform(0.8, 1.4)))
    th = tw * 0.58
    dark = _material(rng, "plain", _neutral(rng, 0.02, 0.06), gloss=0.8)
    parts.append(_box((0, h + 0.05 + th / 2, -0.05), (tw / 2, th / 2, 0.03), dark, "tv"))
    parts.append(_box((0, h + 0.025, -0.05), (0.15, 0.025, 0.08), dark, "tv"))
    return parts, (w, d)


def _fridge(rng):
    w = float(rng.uniform(0.6, 0.8))
    h = float(rng.uniform(1.6, 1.95))
    mat = _material(rng, "panels", _neutral(rng, 0.75, 0.95), scale=(w, h * 0.35), gloss=0.5)
    return [_box((0, h / 2, 0), (w / 2, h / 2, 0.33), mat, "fridge")], (w, 0.66)


def _counter(rng, length):
    d = 0.6
    body = _material(
        rng,
        "panels",
        _wood(rng) if rng.random() < 0.5 else _neutral(rng, 0.5, 0.95),
        scale=(float(rng.uniform(0.4, 0.6)), 0.7),
        gloss=0.3,
    )
    top = _material(rng, "noise", _neutral(rng, 0.2, 0.9), None, (0.05, 0.05), gloss=0.5)
    top["color2"] = [c * 0.8 for c in top["color"]]
    parts = [
        _box((0, 0.43, 0), (length / 2, 0.43, d / 2 - 0.02), body, "counter"),
        _box((0, 0.88, 0.01), (length / 2, 0.02, d / 2), top, "counter"),
    ]
    parts += _clutter(rng, 0.9, length, d, 5)
    if rng.random() < 0.7:  # wall cabinets
        parts.append(_box((0, 1.85, -d / 2 + 0.18), (length / 2, 0.35, 0.17), body, "cabinet"))
    return parts, (length, d)


def _floor_lamp(rng):
    metal = _material(rng, "plain", _neutral(rng, 0.1, 0.6), gloss=0.5)
    shade = _material(rng, "plain", _neutral(rng, 0.7, 0.95), emit=float(rng.uniform(0.3, 0.8)))
    h = float(rng.uniform(1.3, 1.7))
    return [
        _cylinder((0, 0.015, 0), 0.14, 0.015, metal, "lamp"),
        _cylinder((0, h / 2, 0), 0.012, h / 2, metal, "lamp"),
        _cylinder((0, h + 0.1, 0), float(rng.uniform(0.15, 0.22)), 0.13, shade, "lamp"),
    ], (0.4, 0.4)


def _plant(rng):
    pot = _material(rng, "plain", _hsv(rng, (0.0, 0.1), (0.2, 0.7), (0.2, 0.8)))
    leaves = _material(
        rng, "noise", _hsv(rng, (0.22, 0.38), (0.4, 0.8), (0.15, 0.45)), None, (0.04, 0.04)
    )
    leaves["color2"] = [c * 0.4 for c in leaves["color"]]
    r = float(rng.uniform(0.1, 0.2))
    ph = float(rng.uniform(0.2, 0.45))
    fr = float(rng.uniform(0.2, 0.4))
    return [
        _cylinder((0, ph / 2, 0), r, ph / 2, pot, "plant"),
        _sphere((0, ph + fr * 0.8, 0), fr, leaves, "plant"),
    ], (2 * max(r, fr), 2 * max(r, fr))


def _bin(rng):
    mat = _material(rng, "plain", _hsv(rng, (0.0, 1.0), (0.0, 0.6), (0.1, 0.8)), gloss=0.3)
    r = float(rng.uniform(0.12, 0.2))
    h = float(rng.uniform(0.3, 0.5))
    return [_cylinder((0, h / 2, 0), r, h / 2, mat, "bin")], (2 * r, 2 * r)


def _storage(rng):
    w, h, d = (
        float(rng.uniform(0.3, 0.7)),
        float(rng.uniform(0.2, 0.6)),
        float(rng.uniform(0.3, 0.5)),
    )
    mat = _material(rng, "plain", _hsv(rng, (0.05, 0.12), (0.2, 0.6), (0.3, 0.8)))
    parts = [_box((0, h / 2, 0), (w / 2, h / 2, d / 2), mat, "box")]
    if rng.random() < 0.4:
        h2 = float(rng.uniform(0.15, 0.35))
        mat2 = _material(rng, "plain", _hsv(rng, (0.05, 0.12), (0.2, 0.6), (0.3, 0.8)))
        part = _box((0, h + h2 / 2, 0), (w / 2 - 0.03, h2 / 2, d / 2 - 0.03), mat2, "box")
        part["yaw"] = float(rng.uniform(-0.3, 0.3))
        parts.append(part)
    return parts, (w, d)


def _rug(rng, w, d):
    tex = "stripes" if rng.random() < 0.4 else "noise"
    mat = _material(rng, tex, _fabric(rng), _fabric(rng), (float(rng.uniform(0.1, 0.4)),) * 2)
    return [_box((0, 0.006, 0), (w / 2, 0.006, d / 2), mat, "rug")], (w, d)


_ROOM_ITEMS: dict[str, list[tuple[str, float]]] = {
    # (item, probability); items placed in order, skipped when they do not fit.
    "bedroom": [
        ("bed", 1.0),
        ("nightstand", 0.8),
        ("cabinet", 0.9),
        ("nightstand", 0.4),
        ("desk", 0.5),
        ("bookcase", 0.5),
        ("rug", 0.5),
        ("floor_lamp", 0.4),
        ("plant", 0.3),
        ("chair", 0.4),
        ("bin", 0.4),
        ("storage", 0.5),
        ("cabinet", 0.4),
        ("storage", 0.3),
    ],
    "living": [
        ("sofa", 1.0),
        ("coffee_table", 0.9),
        ("tv_stand", 0.8),
        ("bookcase", 0.7),
        ("sofa", 0.4),
        ("rug", 0.7),
        ("floor_lamp", 0.6),
        ("plant", 0.6),
        ("cabinet", 0.6),
        ("chair", 0.4),
        ("plant", 0.4),
        ("bookcase", 0.3),
        ("storage", 0.3),
        ("side_table", 0.5),
    ],
    "office": [
        ("desk", 1.0),
        ("desk", 0.8),
        ("bookcase", 0.8),
        ("cabinet", 0.8),
        ("bookcase", 0.5),
        ("desk", 0.5),
        ("plant", 0.4),
        ("bin", 0.7),
        ("cabinet", 0.5),
        ("storage", 0.6),
        ("chair", 0.5),
        ("storage", 0.4),
        ("dining_set", 0.25),
    ],
    "kitchen": [
        ("counter", 1.0),
        ("fridge", 0.9),
        ("counter", 0.7),
        ("dining_set", 0.7),
        ("bin", 0.6),
        ("plant", 0.3),
        ("cabinet", 0.5),
        ("storage", 0.3),
        ("counter", 0.3),
    ],
    "dining": [
        ("dining_set", 1.0),
        ("cabinet", 0.9),
        ("bookcase", 0.4),
        ("plant", 0.6),
        ("floor_lamp", 0.4),
        ("rug", 0.4),
        ("cabinet", 0.4),
        ("side_table", 0.4),
        ("storage", 0.3),
        ("plant", 0.3),
    ],
}


class _Planner:
    """Places items on the floor without overlaps (axis-aligned footprints)."""

    def __init__(self, rng: np.random.Generator, w: float, d: float, h: float) -> None:
        self.rng = rng
        self.w, self.d, self.h = w, d, h
        self.rects: list[tuple[float, float, float, float]] = []  # x0, z0, x1, z1
        self.windows: dict[int, list[tuple[float, float, float]]] = {k: [] for k in range(4)}
        self.tall: dict[int, list[tuple[float, float, float]]] = {k: [] for k in range(4)}
        self.parts: list[dict[str, Any]] = []

    def wall_length(self, wall: int) -> float:
        return self.d if wall < 2 else self.w

    def frame(self, wall: int, along: float, depth: float, gap: float):
        """Item origin and yaw for an item against ``wall`` (front facing the room)."""
        if wall == 0:
            return (gap + depth / 2, along), math.pi / 2
        if wall == 1:
            return (self.w - gap - depth / 2, along), -math.pi / 2
        if wall == 2:
            return (along, gap + depth / 2), 0.0
        return (along, self.d - gap - depth / 2), math.pi

    def footprint(self, pos, yaw, size, margin=0.0):
        w, d = size
        c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
        hx = (w * c + d * s) / 2 + margin
        hz = (w * s + d * c) / 2 + margin
        return (pos[0] - hx, pos[1] - hz, pos[0] + hx, pos[1] + hz)

    def free(self, rect) -> bool:
        x0, z0, x1, z1 = rect
        if x0 < 0.0 or z0 < 0.0 or x1 > self.w or z1 > self.d:
            return False
        return all(x1 <= a0 or x0 >= a1 or z1 <= b0 or z0 >= b1 for a0, b0, a1, b1 in self.rects)

    def add(self, parts, pos, yaw, size, margin=0.0, block=True) -> None:
        c, s = math.cos(yaw), math.sin(yaw)
        for p in parts:
            lx, ly, lz = p["center"]
            p["center"] = [pos[0] + c * lx + s * lz, ly, pos[1] - s * lx + c * lz]
            p["yaw"] = float(p["yaw"] + yaw)
            self.parts.append(p)
        if block:
            self.rects.append(self.footprint(pos, yaw, size, margin))

    def against_wall(self, parts, size, tries=12, gap=0.01) -> bool:
        w, d = size
        top = max(p["center"][1] + p["half"][1] for p in parts)
        for _ in range(tries):
            wall = int(self.rng.integers(4))
            length = self.wall_length(wall)
            if w + 0.1 > length:
                continue
            along = float(self.rng.uniform(w / 2 + 0.05, length - w / 2 - 0.05))
            if any(
                along - w / 2 < u1 and u0 < along + w / 2 and top > v0 - 0.05
                for u0, u1, v0 in self.windows[wall]
            ):
                continue
            pos, yaw = self.frame(wall, along, d, gap)
            if self.free(self.footprint(pos, yaw, size)):
                self.add(parts, pos, yaw, size)
                self.tall[wall].append((along - w / 2, along + w / 2, top))
                return True
        return False

    def free_standing(self, parts, size, margin=0.4, tries=12, snap=True) -> bool:
        for _ in range(tries):
            x = float(self.rng.uniform(0.5, self.w - 0.5))
            z = float(self.rng.uniform(0.5, self.d - 0.5))
            yaw = float(self.rng.integers(4)) * math.pi / 2
            yaw += float(self.rng.normal(0.0, 0.08)) if not snap else 0.0
            rect = self.footprint((x, z), yaw, size, margin)
            if self.free(rect):
                self.add(parts, (x, z), yaw, size, margin)
                return True
        return False


def _dining_set(rng, planner: _Planner) -> None:
    parts, (w, d) = _table(rng)
    n_chairs = int(rng.integers(2, 7))
    chair_mat = _material(rng, "plain", _wood(rng) if rng.random() < 0.6 else _fabric(rng))
    size = (w + 1.0, d + 1.0)
    if size[0] + 0.4 >= min(planner.w, planner.d) or size[1] + 0.4 >= min(planner.w, planner.d):
        return
    for _ in range(12):
        x = float(rng.uniform(size[0] / 2 + 0.2, planner.w - size[0] / 2 - 0.2))
        z = float(rng.uniform(size[1] / 2 + 0.2, planner.d - size[1] / 2 - 0.2))
        yaw = float(rng.normal(0.0, 0.05)) + float(rng.integers(2)) * math.pi / 2
        if planner.free(planner.footprint((x, z), yaw, size)):
            break
    else:
        return
    seats = [(0, d / 2 + 0.15, math.pi), (0, -d / 2 - 0.15, 0.0)]
    seats += [(w / 2 + 0.15, 0, -math.pi / 2), (-w / 2 - 0.15, 0, math.pi / 2)]
    if w > 1.3:
        seats = [
            (-w / 4, d / 2 + 0.15, math.pi),
            (w / 4, -d / 2 - 0.15, 0.0),
            (w / 4, d / 2 + 0.15, math.pi),
            (-w / 4, -d / 2 - 0.15, 0.0),
            *seats[2:],
        ]
    for sx, sz, sy in seats[:n_chairs]:
        cparts, _ = _chair(rng, chair_mat)
        c, s = math.cos(sy), math.sin(sy)
        jitter = float(rng.uniform(0.0, 0.15))
        for p in cparts:
            lx, ly, lz = p["center"]
            lz -= jitter
            p["center"] = [sx + c * lx + s * lz, ly, sz - s * lx + c * lz]
            p["yaw"] = float(p["yaw"] + sy)
        parts += cparts
    planner.add(parts, (x, z), yaw, size)


def _wall_openings(rng, planner: _Planner) -> list[dict[str, Any]]:
    """A door and 0-2 windows as rectangles on walls: wall, u0, u1, v0, v1 (m)."""
    openings: list[dict[str, Any]] = []
    door_wall = int(rng.integers(4))
    length = planner.wall_length(door_wall)
    dw = float(rng.uniform(0.8, 0.95))
    du = float(rng.uniform(0.2, length - dw - 0.2))
    door_color = _wood(rng) if rng.random() < 0.6 else _neutral(rng, 0.75, 0.95)
    openings.append(
        {
            "kind": "door",
            "wall": door_wall,
            "u0": du,
            "u1": du + dw,
            "v0": 0.0,
            "v1": float(rng.uniform(2.0, 2.15)),
            "color": door_color,
        }
    )
    # keep the floor in front of the door free
    pos, yaw = planner.frame(door_wall, du + dw / 2, 0.9, 0.0)
    planner.rects.append(planner.footprint(pos, yaw, (dw + 0.1, 0.9)))
    n_win = int(rng.integers(0, 3))
    for _ in range(n_win):
        wall = int(rng.integers(4))
        length = planner.wall_length(wall)
        ww = float(rng.uniform(0.8, min(2.4, length - 0.6)))
        u0 = float(rng.uniform(0.3, length - ww - 0.3))
        v0 = float(rng.uniform(0.75, 1.0))
        v1 = min(planner.h - 0.2, v0 + float(rng.uniform(1.0, 1.6)))
        if any(
            o["wall"] == wall and u0 < o["u1"] + 0.2 and o["u0"] - 0.2 < u0 + ww for o in openings
        ):
            continue
        openings.append(
            {
                "kind": "window",
                "wall": wall,
                "u0": u0,
                "u1": u0 + ww,
                "v0": v0,
                "v1": v1,
                "color": _hsv(rng, (0.53, 0.62), (0.1, 0.45), (0.85, 1.0)),
            }
        )
        planner.windows[wall].append((u0, u0 + ww, v0))
    return openings


def _sample_room(rng: np.random.Generator) -> dict[str, Any]:
    kind = str(rng.choice(list(_ROOM_ITEMS)))
    w = 3.0 + 5.0 * float(rng.random()) ** 1.5
    d = 3.0 + 5.0 * float(rng.random()) ** 1.5
    h = float(rng.uniform(2.4, 3.2))
    planner = _Planner(rng, w, d, h)

    wall_tex = str(rng.choice(["plain", "plain", "plain", "stripes", "noise"]))
    wall_color = _hsv(rng, (0.0, 1.0), (0.0, 0.25), (0.6, 0.95))
    if wall_tex == "stripes":
        wall_scale = (float(rng.uniform(0.05, 0.3)),) * 2
        wall_color2 = _scale(wall_color, float(rng.uniform(0.75, 0.92)))
    else:
        wall_scale = (float(rng.uniform(0.3, 1.0)),) * 2
        wall_color2 = _scale(wall_color, float(rng.uniform(0.88, 0.96)))
    wall_mat = _material(rng, wall_tex, wall_color, wall_color2, wall_scale)
    walls = []
    for _ in range(4):
        m = dict(wall_mat)
        if rng.random() < 0.15:  # an accent wall
            c = _hsv(rng, (0.0, 1.0), (0.1, 0.5), (0.4, 0.9))
            m = _material(rng, "plain", c)
        walls.append(m)
    if kind in ("kitchen",) or rng.random() < 0.15:
        c = _neutral(rng, 0.4, 0.9)
        floor = _material(
            rng, "tiles", c, _scale(c, 0.7), (float(rng.uniform(0.3, 0.6)),) * 2, gloss=0.4
        )
        floor["scale"][1] = floor["scale"][0]
    elif rng.random() < 0.6:
        c = _wood(rng)
        floor = _material(
            rng,
            "planks",
            c,
            _scale(c, float(rng.uniform(0.7, 0.95))),
            (float(rng.uniform(0.8, 1.6)), float(rng.uniform(0.1, 0.22))),
            gloss=0.3,
        )
    else:
        c = _fabric(rng)
        floor = _material(rng, "noise", c, _scale(c, 0.8), (0.05, 0.05))
    ceiling = _material(rng, "plain", _neutral(rng, 0.8, 0.97))

    openings = _wall_openings(rng, planner)
    for item, p in _ROOM_ITEMS[kind]:
        if rng.random() > p:
            continue
        if item == "dining_set":
            _dining_set(rng, planner)
            continue
        if item == "rug":
            parts, size = _rug(
                rng,
                float(rng.uniform(1.2, min(3.0, w - 1))),
                float(rng.uniform(1.0, min(2.2, d - 1))),
            )
            x = float(rng.uniform(size[0] / 2 + 0.3, w - size[0] / 2 - 0.3))
            z = float(rng.uniform(size[1] / 2 + 0.3, d - size[1] / 2 - 0.3))
            planner.add(parts, (x, z), 0.0, size, block=False)
            continue
        maker = {
            "bed": _bed,
            "sofa": _sofa,
            "desk": _desk,
            "bookcase": _bookcase,
            "cabinet": _cabinet,
            "tv_stand": _tv_stand,
            "fridge": _fridge,
            "floor_lamp": _floor_lamp,
            "plant": _plant,
            "bin": _bin,
            "chair": _chair,
            "nightstand": lambda r: _cabinet(r, w=0.45, d=0.4, h=0.55, label="nightstand"),
            "coffee_table": lambda r: _table(
                r,
                w=float(r.uniform(0.8, 1.3)),
                d=float(r.uniform(0.5, 0.7)),
                h=float(r.uniform(0.38, 0.48)),
                label="table",
            ),
            "counter": lambda r: _counter(r, float(r.uniform(1.2, min(3.5, max(w, d) - 0.5)))),
            "side_table": lambda r: _table(
                r,
                w=float(r.uniform(0.4, 0.6)),
                d=float(r.uniform(0.4, 0.6)),
                h=float(r.uniform(0.45, 0.65)),
                label="table",
            ),
            "storage": _storage,
        }[item]
        parts, size = maker(rng)
        if item in ("coffee_table", "chair"):
            planner.free_standing(parts, size, margin=0.35, snap=item == "coffee_table")
        elif item in ("floor_lamp", "plant", "bin", "side_table", "storage"):
            planner.against_wall(parts, size, gap=0.05) or planner.free_standing(parts, size, 0.2)
        else:
            planner.against_wall(parts, size)

    # Radiators under windows, baseboards along the walls.
    for o in openings:
        if o["kind"] != "window" or rng.random() < 0.5:
            continue
        rw = min(o["u1"] - o["u0"] - 0.1, float(rng.uniform(0.6, 1.2)))
        rh = min(o["v0"] - 0.2, float(rng.uniform(0.4, 0.6)))
        mat = _material(rng, "stripes", _neutral(rng, 0.85, 0.95), None, (0.05, 0.05))
        mat["color2"] = [c * 0.75 for c in mat["color"]]
        part = _box((0, 0.12 + rh / 2, 0), (rw / 2, rh / 2, 0.04), mat, "radiator")
        pos, yaw = planner.frame(o["wall"], 0.5 * (o["u0"] + o["u1"]), 0.08, 0.03)
        planner.add([part], pos, yaw, (rw, 0.08), block=False)
    if rng.random() < 0.7:
        base = _material(
            rng, "plain", _neutral(rng, 0.85, 0.97) if rng.random() < 0.6 else _wood(rng)
        )
        bh = float(rng.uniform(0.05, 0.1))
        for wall in range(4):
            length = planner.wall_length(wall)
            part = _box((0, bh / 2, 0), (length / 2, bh / 2, 0.008), base, "baseboard")
            pos, yaw = planner.frame(wall, length / 2, 0.016, 0.0)
            planner.add([part], pos, yaw, (length, 0.016), block=False)

    # Pictures on walls (thin boxes), avoiding openings.
    for _ in range(int(rng.integers(0, 4))):
        wall = int(rng.integers(4))
        length = planner.wall_length(wall)
        pw, ph = float(rng.uniform(0.3, 1.0)), float(rng.uniform(0.25, 0.8))
        if pw + 0.4 > length:
            continue
        along = float(rng.uniform(pw / 2 + 0.2, length - pw / 2 - 0.2))
        if any(
            o["wall"] == wall and along - pw / 2 < o["u1"] and o["u0"] < along + pw / 2
            for o in openings
        ):
            continue
        yc = float(rng.uniform(1.3, min(1.9, h - ph / 2 - 0.1)))
        if any(
            along - pw / 2 < u1 and u0 < along + pw / 2 and top > yc - ph / 2
            for u0, u1, top in planner.tall[wall]
        ):
            continue
        art = _material(
            rng,
            "noise" if rng.random() < 0.7 else "stripes",
            _fabric(rng),
            _fabric(rng),
            (float(rng.uniform(0.05, 0.3)),) * 2,
        )
        part = _box((0, yc, 0), (pw / 2, ph / 2, 0.015), art, "picture")
        pos, yaw = planner.frame(wall, along, 0.03, 0.0)
        planner.add([part], pos, yaw, (pw, 0.03), block=False)

    lights = []
    for _ in range(int(rng.integers(1, 3))):
        lx = float(rng.uniform(0.25, 0.75)) * w
        lz = float(rng.uniform(0.25, 0.75)) * d
        ly = h - 0.12
        color = _hsv(rng, (0.07, 0.13), (0.0, 0.35), (1.0, 1.0))
        lights.append(
            {"position": [lx, ly, lz], "color": color, "intensity": float(rng.uniform(2.0, 5.0))}
        )
        shade = _material(rng, "plain", [1.0, 1.0, 0.95], emit=1.5)
        planner.parts.append(_sphere((lx, h - 0.1, lz), 0.12, shade, "ceiling lamp"))

    return {
        "type": kind,
        "size": [w, h, d],
        "materials": {"floor": floor, "ceiling": ceiling, "walls": walls},
        "openings": openings,
        "lights": lights,
        "objects": planner.parts,
        "keepout": [[float(v) for v in r] for r in planner.rects],
    }


# ------------------------------------------------------------------------ ray casting


class _Scene:
    """The group's primitives as arrays (cached per group)."""

    def __init__(self, group: dict[str, Any]) -> None:
        w, h, d = group["size"]
        self.size = (w, h, d)
        objs = group["objects"]
        n = len(objs)
        self.shape = np.array([_SHAPES[o["shape"]] for o in objs], np.int32)
        self.center = np.array([o["center"] for o in objs], np.float64).reshape(n, 3)
        self.half = np.array([o["half"] for o in objs], np.float64).reshape(n, 3)
        yaw = np.array([o["yaw"] for o in objs], np.float64)
        self.cos = np.cos(yaw)
        self.sin = np.sin(yaw)
        m = group["materials"]
        mats = [
            m["walls"][0],
            m["walls"][1],
            m["floor"],
            m["ceiling"],
            m["walls"][2],
            m["walls"][3],
        ]
        mats += [o["material"] for o in objs]
        self.tex = np.array([_TEX_ID[mm["texture"]] for mm in mats], np.int32)
        self.c1 = np.array([_srgb_to_linear(mm["color"]) for mm in mats], np.float32)
        self.c2 = np.array([_srgb_to_linear(mm["color2"]) for mm in mats], np.float32)
        self.scale = np.array([mm["scale"] for mm in mats], np.float32)
        self.seed = np.array([mm["seed"] for mm in mats], np.int64)
        self.gloss = np.array([mm["gloss"] for mm in mats], np.float32)
        self.emit = np.array([mm["emit"] for mm in mats], np.float32)
        # Boxes large enough to cast shadows worth computing.
        vol = self.half[:, 0] * self.half[:, 1] * self.half[:, 2]
        self.casters = np.flatnonzero(
            (self.shape == _BOX) & (vol > 0.004) & (self.half[:, 1] > 0.02)
        )
        # Objects that stand on the floor darken it around their footprint; the
        # darkening fades with the height of the object's underside.
        bottom = self.center[:, 1] - self.half[:, 1]
        top = self.center[:, 1] + self.half[:, 1]
        self.grounded = np.flatnonzero((top > 0.05) & (bottom < 0.9) & (self.half[:, 0] > 0.015))
        self.contact = (0.45 * np.exp(-bottom / 0.5)).astype(np.float32)
        # Corners of every primitive's bounding box, for screen-space culling.
        sx = np.array([-1, 1, -1, 1, -1, 1, -1, 1], np.float64)
        sy = np.array([-1, -1, 1, 1, -1, -1, 1, 1], np.float64)
        sz = np.array([-1, -1, -1, -1, 1, 1, 1, 1], np.float64)
        lx = self.half[:, :1] * sx
        ly = self.half[:, 1:2] * sy
        lz = self.half[:, 2:] * sz
        c, s = self.cos[:, None], self.sin[:, None]
        self.corners = np.stack(
            [
                self.center[:, :1] + c * lx + s * lz,
                self.center[:, 1:2] + ly,
                self.center[:, 2:] - s * lx + c * lz,
            ],
            axis=-1,
        )  # (n, 8, 3)
        self.lights = group["lights"]
        self.openings = group["openings"]
        self.keepout = group.get("keepout", [])


def _camera_basis(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rows: world directions of the camera's x (right), y (down) and z (forward)."""
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    f = np.array([sy * cp, sp, cy * cp])
    r = np.array([cy, 0.0, -sy])
    u = np.cross(f, r)
    cr, sr = math.cos(roll), math.sin(roll)
    r2 = cr * r + sr * u
    u2 = -sr * r + cr * u
    return np.stack([r2, -u2, f])


class Rooms(SceneKind):
    """Furnished indoor rooms through an NYU-like Kinect camera (seed 003).

    ``depth`` is z along the optical axis in metres, valid in [0.5, 10]; 0 outside
    that range, on window glass and in the IR projector's shadows (module docstring).
    The camera is a pinhole with the Kinect intrinsics of NYU Depth v2 scaled per
    axis to the requested size (``fx * W / 640``, ``fy * H / 480``, ``cx * W / 640``,
    ``cy * H / 480``), so a non-4:3 size stretches the field of view like a resize.
    All three views render the same way.
    """

    name: ClassVar[str] = "rooms"
    description: ClassVar[str] = (
        "furnished indoor rooms (bedroom, living room, office, kitchen, dining room) "
        "ray-cast through NYU Depth v2 Kinect intrinsics; depth is z in metres"
    )
    units: ClassVar[str] = "m"
    depth_range: ClassVar[tuple[float, float]] = (_NEAR, _FAR)
    png_scale: ClassVar[float] = 0.001  # mm steps, as NYU's 16-bit depth PNGs
    png_offset: ClassVar[float] = 0.0
    views_per_group: ClassVar[int] = 4
    group_label: ClassVar[str] = "room"

    def __init__(self, *, cache_size: int = 16) -> None:
        self._cache: dict[int, tuple[dict[str, Any], _Scene]] = {}
        self._cache_size = cache_size

    def intrinsics(self, height: int, width: int) -> dict[str, float]:
        """Kinect intrinsics of NYU Depth v2 (640 x 480) scaled to ``height x width``."""
        _check_size(height, width)
        k = KINECT_INTRINSICS
        kinect_size = (int(k["height"]), int(k["width"]))
        return Intrinsics.from_dict(k).resized(kinect_size, (height, width)).as_dict()

    def sample_group(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one furnished room.

        Keys: ``type``, ``size`` ([width x, height y, depth z] m), ``materials``
        (``floor``, ``ceiling``, ``walls`` x4 in the order x=0, x=W, z=0, z=D),
        ``openings`` (doors/windows: wall, u0, u1, v0, v1 in m along the wall and
        up), ``lights`` (point lights), ``objects`` (primitives: ``shape`` box /
        cylinder / sphere, ``center``, ``half`` extents, ``yaw`` in rad,
        ``material``, ``label``) and ``keepout`` (floor rectangles the camera
        avoids). Colours are sRGB in [0, 1]. Floats are rounded to 4 decimals
        (0.1 mm) to keep ``groups.jsonl`` small; rendering uses the rounded values.
        """
        return _rounded(_sample_room(rng))

    def _scene(self, group: dict[str, Any]) -> _Scene:
        key = id(group)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is group:
            return hit[1]
        scene = _Scene(group)
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (group, scene)
        return scene

    # ------------------------------------------------------------------ poses

    def sample_pose(self, group: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Draw a camera pose inside the room, away from furniture and walls.

        Returns ``position`` [x, y, z] (m, y up), ``yaw`` (rad about y, 0 looks
        along +z, pi/2 along +x), ``pitch`` (rad, positive looks up), ``roll`` (rad).
        """
        w, _, d = group["size"]
        keep = group.get("keepout", [])
        x, z = w / 2, d / 2
        for _ in range(30):
            x = float(rng.uniform(0.4, w - 0.4))
            z = float(rng.uniform(0.4, d - 0.4))
            if all(
                not (r[0] - 0.35 < x < r[2] + 0.35 and r[1] - 0.35 < z < r[3] + 0.35) for r in keep
            ):
                break
        # Of a few candidate aims, keep the one that sees farthest and most furniture.
        targets = [o["center"] for o in group["objects"] if o["label"] not in _NOT_TARGETS]
        best_score, yaw = -1.0, 0.0
        for _ in range(5):
            if targets and rng.random() < 0.7:
                tx, _, tz = targets[int(rng.integers(len(targets)))]
            else:
                tx, tz = float(rng.uniform(0.2, 0.8)) * w, float(rng.uniform(0.2, 0.8)) * d
            cand = math.atan2(tx - x, tz - z) + float(rng.normal(0.0, 0.3))
            fx, fz = math.sin(cand), math.cos(cand)
            reach = min(
                ((w - x) / fx if fx > 1e-9 else -x / fx if fx < -1e-9 else math.inf),
                ((d - z) / fz if fz > 1e-9 else -z / fz if fz < -1e-9 else math.inf),
            )
            seen = 0
            for ox, _, oz in targets:
                dist = math.hypot(ox - x, oz - z)
                if 0.8 < dist < 8.0 and ((ox - x) * fx + (oz - z) * fz) > 0.85 * dist:
                    seen += 1
            score = min(reach, 6.0) + 0.4 * min(seen, 8)
            if score > best_score:
                best_score, yaw = score, cand
        y = float(rng.uniform(1.0, 1.8))
        pitch = math.radians(float(rng.uniform(-25.0, 3.0)))
        roll = math.radians(float(np.clip(rng.normal(0.0, 1.5), -4.0, 4.0)))
        return {"position": [x, y, z], "yaw": yaw, "pitch": pitch, "roll": roll}

    def render(
        self,
        group: dict[str, Any],
        rng: np.random.Generator,
        height: int,
        width: int,
        view: View = "paired",
    ) -> RenderedSample:
        """Render one camera pose (drawn from ``rng``) of the room.

        ``meta``: ``pose`` (see :meth:`sample_pose`), ``intrinsics``, ``room_type``
        and ``view``. Returns ``rgb`` (H, W, 3) uint8 and ``depth`` (H, W) float32
        z-depth in metres, 0 where invalid.
        """
        _check_size(height, width)
        if view not in _VIEWS:
            raise InputError(f"view must be one of {_VIEWS}, got {view!r}")
        pose = self.sample_pose(group, rng)
        sample = self.render_pose(group, pose, rng, height, width)
        sample.meta["view"] = view
        return sample

    # ------------------------------------------------------------------ render

    def render_pose(
        self,
        group: dict[str, Any],
        pose: dict[str, Any],
        rng: np.random.Generator,
        height: int,
        width: int,
    ) -> RenderedSample:
        """Render the room from a given camera ``pose`` (``rng`` draws exposure and noise)."""
        _check_size(height, width)
        scene = self._scene(group)
        k = self.intrinsics(height, width)
        basis = _camera_basis(pose["yaw"], pose["pitch"], pose["roll"])
        origin = np.array(pose["position"], np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t, pid, dirs = self._cast(scene, origin, basis, k, height, width)
            rgb, glass = self._shade(scene, origin, t, pid, dirs, k, rng)
        valid = (t >= _NEAR) & (t <= _FAR) & ~glass & ~_projector_shadow(t, k["fx"])
        depth = np.where(valid, t, 0.0).astype(np.float32)
        meta = {
            "pose": {
                key: (list(v) if isinstance(v, list) else float(v)) for key, v in pose.items()
            },
            "intrinsics": k,
            "room_type": group.get("type", ""),
        }
        return RenderedSample(rgb=rgb, depth=depth, meta=meta)

    def _cast(self, scene: _Scene, origin, basis, k, height, width):
        f32 = np.float32
        xc = ((np.arange(width) + 0.5 - k["cx"]) / k["fx"]).astype(f32)
        yc = ((np.arange(height) + 0.5 - k["cy"]) / k["fy"]).astype(f32)
        b = basis.astype(f32)
        # World direction of each pixel's ray, scaled so that its camera z is 1.
        dirs = [xc[None, :] * b[0, a] + yc[:, None] * b[1, a] + b[2, a] for a in range(3)]
        w, h, d = scene.size
        ox, oy, oz = (float(v) for v in origin)
        # Room shell: exit distance along each axis; face ids 0..5 (x-, x+, y-, y+, z-, z+).
        best = None
        pid = None
        for axis, (o, hi) in enumerate(((ox, w), (oy, h), (oz, d))):
            da = dirs[axis]
            pos = da > 0
            ta = np.where(pos, (hi - o) / da, -o / da).astype(f32)
            ta[da == 0] = np.inf
            face = (2 * axis + pos).astype(np.int32)
            if best is None:
                best, pid = ta, face
            else:
                closer = ta < best
                best = np.where(closer, ta, best)
                pid = np.where(closer, face, pid)
        assert best is not None and pid is not None  # set by the first of the three axes
        # Objects: each tested on the pixels its projected bounding box covers.
        rel = scene.corners - origin  # (n, 8, 3)
        cam = rel @ basis.T  # (n, 8, 3) camera coordinates
        for i in range(scene.shape.size):
            cz = cam[i, :, 2]
            if cz.max() <= 0.01:
                continue
            if cz.min() > 0.01:
                u = cam[i, :, 0] / cz * k["fx"] + k["cx"]
                v = cam[i, :, 1] / cz * k["fy"] + k["cy"]
                c0 = max(math.floor(u.min()), 0)
                c1 = min(math.ceil(u.max()), width)
                r0 = max(math.floor(v.min()), 0)
                r1 = min(math.ceil(v.max()), height)
                if c1 <= c0 or r1 <= r0:
                    continue
            else:
                r0, r1, c0, c1 = 0, height, 0, width
            sl = (slice(r0, r1), slice(c0, c1))
            dx, dy, dz = dirs[0][sl], dirs[1][sl], dirs[2][sl]
            th = _hit(scene, i, ox, oy, oz, dx, dy, dz)
            cur = best[sl]
            closer = th < cur
            if closer.any():
                cur[closer] = th[closer]
                pid[sl][closer] = i + 6
        return best, pid, dirs

    def _shade(self, scene: _Scene, origin, t, pid, dirs, k, rng):
        f32 = np.float32
        height, width = t.shape
        n = t.size
        tf = t.ravel()
        ids = pid.ravel()
        dx, dy, dz = (a.ravel() for a in dirs)
        px = f32(origin[0]) + tf * dx
        py = f32(origin[1]) + tf * dy
        pz = f32(origin[2]) + tf * dz
        nx = np.zeros(n, f32)
        ny = np.zeros(n, f32)
        nz = np.zeros(n, f32)
        u = np.zeros(n, f32)
        v = np.zeros(n, f32)
        # Room faces.
        room = ids < 6
        axis = ids // 2
        sign = np.where(ids % 2 == 1, -1.0, 1.0).astype(f32)  # inward normal
        nx[room & (axis == 0)] = sign[room & (axis == 0)]
        ny[room & (axis == 1)] = sign[room & (axis == 1)]
        nz[room & (axis == 2)] = sign[room & (axis == 2)]
        xw = room & (axis == 0)
        u[xw], v[xw] = pz[xw], py[xw]
        fl = room & (axis == 1)
        u[fl], v[fl] = px[fl], pz[fl]
        zw = room & (axis == 2)
        u[zw], v[zw] = px[zw], py[zw]
        # Objects.
        oid = ids - 6
        obj = ~room
        if obj.any():
            sel = np.flatnonzero(obj)
            o = oid[sel]
            shape = scene.shape[o]
            cx, cy, cz = (scene.center[o, a].astype(f32) for a in range(3))
            hx, hy, hz = (scene.half[o, a].astype(f32) for a in range(3))
            co = scene.cos[o].astype(f32)
            si = scene.sin[o].astype(f32)
            rx, ry, rz = px[sel] - cx, py[sel] - cy, pz[sel] - cz
            lx = co * rx - si * rz
            lz = si * rx + co * rz
            ly = ry
            # boxes: the face is the axis where the point is closest to the slab.
            qx, qy, qz = np.abs(lx) / hx, np.abs(ly) / hy, np.abs(lz) / hz
            ax = np.where((qx >= qy) & (qx >= qz), 0, np.where(qy >= qz, 1, 2))
            nlx = np.where(ax == 0, np.sign(lx), 0.0)
            nly = np.where(ax == 1, np.sign(ly), 0.0)
            nlz = np.where(ax == 2, np.sign(lz), 0.0)
            uu = np.where(ax == 0, lz + hz, lx + hx)
            vv = np.where(ax == 1, lz + hz, ly + hy)
            # cylinders: radial normal on the side, axial on the caps.
            cyl = shape == _CYLINDER
            if cyl.any():
                rr = np.sqrt(lx * lx + lz * lz) + 1e-9
                cap = np.abs(ly) > hy - 1e-3
                nlx = np.where(cyl, np.where(cap, 0.0, lx / rr), nlx)
                nlz = np.where(cyl, np.where(cap, 0.0, lz / rr), nlz)
                nly = np.where(cyl, np.where(cap, np.sign(ly), 0.0), nly)
                uu = np.where(cyl, np.arctan2(lz, lx) * hx, uu)
                vv = np.where(cyl, ly + hy, vv)
            sph = shape == _SPHERE
            if sph.any():
                inv = 1.0 / hx
                nlx = np.where(sph, lx * inv, nlx)
                nly = np.where(sph, ly * inv, nly)
                nlz = np.where(sph, lz * inv, nlz)
                uu = np.where(sph, np.arctan2(lz, lx) * hx, uu)
                vv = np.where(sph, ly + hy, vv)
            nx[sel] = co * nlx + si * nlz
            ny[sel] = nly
            nz[sel] = -si * nlx + co * nlz
            u[sel] = uu
            v[sel] = vv
        # Pixel footprint on the surface (m): z / f, stretched by the grazing angle.
        inv_len = 1.0 / np.sqrt(dx * dx + dy * dy + dz * dz)
        cos_i = np.abs(nx * dx + ny * dy + nz * dz) * inv_len
        fp = tf / f32(min(k["fx"], k["fy"])) / np.maximum(cos_i, 0.15)
        # Albedo per texture type.
        albedo = np.empty((n, 3), f32)
        mat = ids
        tex = scene.tex[mat]
        for ti in np.unique(tex):
            s = np.flatnonzero(tex == ti)
            m = mat[s]
            albedo[s] = _texture(
                int(ti),
                u[s],
                v[s],
                fp[s],
                scene.c1[m],
                scene.c2[m],
                scene.scale[m, 0],
                scene.scale[m, 1],
                scene.seed[m],
            )
        emit = scene.emit[mat].copy()
        glass = np.zeros(n, bool)
        # Doors and windows on the walls.
        walls = (ids < 6) & (axis != 1)
        wall_of = np.array([0, 1, -1, -1, 2, 3], np.int32)[np.minimum(ids, 5)]
        for op in scene.openings:
            s = np.flatnonzero(walls & (wall_of == op["wall"]))
            if s.size == 0:
                continue
            us, vs = u[s], v[s]
            inside = (us > op["u0"]) & (us < op["u1"]) & (vs > op["v0"]) & (vs < op["v1"])
            s = s[inside]
            if s.size == 0:
                continue
            us, vs, fps = u[s], v[s], fp[s]
            col = np.array(_srgb_to_linear(op["color"]), f32)
            edge = np.minimum(
                np.minimum(us - op["u0"], op["u1"] - us), np.minimum(vs - op["v0"], op["v1"] - vs)
            )
            frame = _line(edge, 0.05, fps)
            if op["kind"] == "window":
                mid_u = 0.5 * (op["u0"] + op["u1"])
                mid_v = op["v0"] + 0.6 * (op["v1"] - op["v0"])
                bar = np.maximum(
                    _line(np.abs(us - mid_u), 0.025, fps), _line(np.abs(vs - mid_v), 0.025, fps)
                )
                frame = np.maximum(frame, bar)
                sky = col * (0.8 + 0.2 * ((vs - op["v0"]) / (op["v1"] - op["v0"])))[:, None]
                white = np.array([0.85, 0.85, 0.82], f32)
                albedo[s] = sky + (white - sky) * frame[:, None]
                emit[s] = 2.5 * (1.0 - frame)
                glass[s[frame < 0.5]] = True
            else:
                albedo[s] = col * (1.0 - 0.35 * frame)[:, None]
        # Lighting: hemispherical ambient + point lights with shadows from big boxes.
        amb = f32(rng.uniform(0.25, 0.45))
        shading = np.empty((n, 3), f32)
        shading[:] = (amb * (0.8 + 0.2 * ny))[:, None]
        spec = np.zeros(n, f32)
        gloss = scene.gloss[mat]
        for light in scene.lights:
            lp = light["position"]
            lx_, ly_, lz_ = lp[0] - px, lp[1] - py, lp[2] - pz
            d2 = lx_ * lx_ + ly_ * ly_ + lz_ * lz_
            inv = 1.0 / np.sqrt(d2)
            ndl = np.maximum((nx * lx_ + ny * ly_ + nz * lz_) * inv, 0.0)
            vis = _shadow(scene, px, py, pz, lx_, ly_, lz_, ndl > 0)
            power = f32(light["intensity"]) / (1.0 + d2 * f32(0.25))
            col = np.array(_srgb_to_linear(light["color"]), f32)
            shading += (ndl * vis * power)[:, None] * col
            # Blinn-Phong with the view direction -dir.
            hx_ = lx_ * inv - dx * inv_len
            hy_ = ly_ * inv - dy * inv_len
            hz_ = lz_ * inv - dz * inv_len
            hn = 1.0 / np.sqrt(hx_ * hx_ + hy_ * hy_ + hz_ * hz_ + 1e-12)
            ndh = np.maximum((nx * hx_ + ny * hy_ + nz * hz_) * hn, 0.0)
            spec += gloss * vis * power * ndh**40
        shading *= _occlusion(scene, ids, px, py, pz)[:, None]
        lin = albedo * shading + spec[:, None] + albedo * emit[:, None]
        # Auto-exposure on the mean luminance, then gamma and sensor noise.
        lum = float(lin.mean())
        lin *= f32(rng.uniform(0.25, 0.4) / max(lum, 1e-4))
        lin = lin.reshape(height, width, 3)
        noise = rng.random((height, width, 3), dtype=f32) - f32(0.5)
        lin += f32(rng.uniform(0.003, 0.012) * math.sqrt(12.0)) * noise
        srgb = np.clip(lin, 0.0, 1.0) ** f32(1.0 / 2.2)
        return np.round(srgb * 255.0).astype(np.uint8), glass.reshape(height, width)


def _hit(scene: _Scene, i: int, ox: float, oy: float, oz: float, dx, dy, dz) -> np.ndarray:
    """Ray parameter (inf where missed) of object ``i`` for rays from the origin."""
    f32 = np.float32
    cx, cy, cz = scene.center[i]
    hx, hy, hz = scene.half[i]
    rx, ry, rz = ox - cx, oy - cy, oz - cz
    shape = scene.shape[i]
    if shape == _BOX:
        c, s = scene.cos[i], scene.sin[i]
        lox, loz = c * rx - s * rz, s * rx + c * rz
        if s != 0.0:
            ldx = f32(c) * dx - f32(s) * dz
            ldz = f32(s) * dx + f32(c) * dz
        else:
            ldx, ldz = (dx, dz) if c > 0 else (-dx, -dz)
            lox, loz = (rx, rz) if c > 0 else (-rx, -rz)
        ix, iy, iz = 1.0 / ldx, 1.0 / dy, 1.0 / ldz
        t1, t2 = f32(-hx - lox) * ix, f32(hx - lox) * ix
        near, far = np.minimum(t1, t2), np.maximum(t1, t2)
        t1, t2 = f32(-hy - ry) * iy, f32(hy - ry) * iy
        near = np.maximum(near, np.minimum(t1, t2))
        far = np.minimum(far, np.maximum(t1, t2))
        t1, t2 = f32(-hz - loz) * iz, f32(hz - loz) * iz
        near = np.maximum(near, np.minimum(t1, t2))
        far = np.minimum(far, np.maximum(t1, t2))
        return np.where((near <= far) & (near > 1e-4), near, np.inf).astype(f32)
    if shape == _CYLINDER:
        a = dx * dx + dz * dz
        b = f32(2.0 * rx) * dx + f32(2.0 * rz) * dz
        c = f32(rx * rx + rz * rz - hx * hx)
        disc = b * b - 4.0 * a * c
        t = (-b - np.sqrt(disc)) / (2.0 * a)
        y = f32(ry) + t * dy
        t = np.where((disc >= 0) & (t > 1e-4) & (np.abs(y) <= hy), t, np.inf)
        for cap in (hy, -hy):  # caps
            tc = f32(cap - ry) / dy
            qx = f32(rx) + tc * dx
            qz = f32(rz) + tc * dz
            ok = (tc > 1e-4) & (qx * qx + qz * qz <= hx * hx)
            t = np.where(ok & (tc < t), tc, t)
        return t.astype(f32)
    a = dx * dx + dy * dy + dz * dz
    b = f32(2.0 * rx) * dx + f32(2.0 * ry) * dy + f32(2.0 * rz) * dz
    c = f32(rx * rx + ry * ry + rz * rz - hx * hx)
    disc = b * b - 4.0 * a * c
    t = (-b - np.sqrt(disc)) / (2.0 * a)
    return np.where((disc >= 0) & (t > 1e-4), t, np.inf).astype(f32)


def _projector_shadow(t: np.ndarray, fx: float) -> np.ndarray:
    """Pixels the Kinect's IR projector cannot see (no depth there), (H, W) bool.

    The projector sits ``_BASELINE`` to the right of the camera: a point at depth
    ``z`` in column ``u`` lies in projector column ``u - fx * b / z``. Along a row,
    projector columns grow left to right on surfaces the projector lights; a pixel
    is in shadow where a pixel to its right maps at or left of its column (a
    nearer surface hides it), which leaves the invalid bands left of foreground
    objects that NYU's raw depth shows.
    """
    height, width = t.shape
    up = np.arange(width, dtype=np.float32)[None, :] - np.float32(fx * _BASELINE) / t
    right_min = np.minimum.accumulate(up[:, ::-1], axis=1)[:, ::-1]
    right_min = np.concatenate([right_min[:, 1:], np.full((height, 1), np.inf, up.dtype)], axis=1)
    return right_min < up - 0.5


def _occlusion(scene: _Scene, ids, px, py, pz) -> np.ndarray:
    """Ambient occlusion of room corners and contact shadows of furniture on the floor."""
    f32 = np.float32
    w, h, d = scene.size
    ao = np.ones(px.size, f32)
    room = np.flatnonzero(ids < 6)
    if room.size:
        x, y, z = px[room], py[room], pz[room]
        axis = ids[room] // 2
        big = f32(1e3)
        dx = np.where(axis == 0, big, np.minimum(x, f32(w) - x))
        dy = np.where(axis == 1, big, np.minimum(y, f32(h) - y))
        dz = np.where(axis == 2, big, np.minimum(z, f32(d) - z))
        dist = np.minimum(np.minimum(dx, dy), dz)
        ao[room] = 1.0 - 0.35 * np.exp(-dist * f32(1.0 / 0.25))
    floor = np.flatnonzero(ids == 2)
    if floor.size == 0:
        return ao
    x, z = px[floor], pz[floor]
    occ = np.ones(floor.size, f32)
    for i in scene.grounded:
        cx, _, cz = scene.center[i]
        hx, _, hz = scene.half[i]
        reach = math.hypot(hx, hz) + 0.3
        j = np.flatnonzero((np.abs(x - f32(cx)) < reach) & (np.abs(z - f32(cz)) < reach))
        if j.size == 0:
            continue
        c, s = scene.cos[i], scene.sin[i]
        rx, rz = x[j] - f32(cx), z[j] - f32(cz)
        lx = np.maximum(np.abs(f32(c) * rx - f32(s) * rz) - f32(hx), 0.0)
        lz = np.maximum(np.abs(f32(s) * rx + f32(c) * rz) - f32(hz), 0.0)
        dist = np.sqrt(lx * lx + lz * lz)
        occ[j] *= 1.0 - scene.contact[i] * np.exp(-dist * f32(1.0 / 0.08))
    ao[floor] *= occ
    return ao


def _shadow(scene: _Scene, px, py, pz, lx, ly, lz, lit) -> np.ndarray:
    """Visibility (1 lit, 0 shadowed) of the light along segments P -> P + (lx, ly, lz)."""
    f32 = np.float32
    vis = np.ones(px.size, f32)
    idx = np.flatnonzero(lit)
    if idx.size == 0 or scene.casters.size == 0:
        return vis
    qx, qy, qz = px[idx], py[idx], pz[idx]
    sx, sy, sz = lx[idx], ly[idx], lz[idx]
    blocked = np.zeros(idx.size, bool)
    for i in scene.casters:
        cx, cy, cz = scene.center[i]
        hx, hy, hz = scene.half[i]
        c, s = scene.cos[i], scene.sin[i]
        # cheap reject: the segment's bounding box against the box's bounding sphere
        rad = math.sqrt(hx * hx + hy * hy + hz * hz)
        mx0 = np.minimum(qx, qx + sx)
        mx1 = np.maximum(qx, qx + sx)
        mz0 = np.minimum(qz, qz + sz)
        mz1 = np.maximum(qz, qz + sz)
        cand = (mx0 < cx + rad) & (mx1 > cx - rad) & (mz0 < cz + rad) & (mz1 > cz - rad)
        cand &= (np.minimum(qy, qy + sy) < cy + rad) & ~blocked
        j = np.flatnonzero(cand)
        if j.size == 0:
            continue
        rx, ry, rz = qx[j] - f32(cx), qy[j] - f32(cy), qz[j] - f32(cz)
        ox = f32(c) * rx - f32(s) * rz
        oz = f32(s) * rx + f32(c) * rz
        ddx = f32(c) * sx[j] - f32(s) * sz[j]
        ddz = f32(s) * sx[j] + f32(c) * sz[j]
        ddy = sy[j]
        near = np.full(j.size, f32(0.0))
        far = np.full(j.size, f32(1.0))
        for o, dd, hh in ((ox, ddx, hx), (ry, ddy, hy), (oz, ddz, hz)):
            inv = 1.0 / dd
            t1 = (f32(-hh) - o) * inv
            t2 = (f32(hh) - o) * inv
            near = np.maximum(near, np.minimum(t1, t2))
            far = np.minimum(far, np.maximum(t1, t2))
        blocked[j] |= (near <= far) & (near > 1e-3)
    vis[idx[blocked]] = 0.0
    return vis
