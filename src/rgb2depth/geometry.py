"""Geometry: camera intrinsics, back-projection, meshes, exports and novel views.

Conventions (the same as the synthetic renderers, :mod:`rgb2depth.data.synthetic.base`):

- Camera coordinates: x right, y down, z forward along the optical axis; depth is z
  (not the distance along the ray), in whatever units the depth map has (mm, m, ...),
  and points come out in those units.
- Pixel ``(row, col)`` has its centre at ``(u, v) = (col + 0.5, row + 0.5)`` in
  continuous pixel coordinates, so the image spans ``[0, W] x [0, H]`` and a centred
  principal point is ``(W / 2, H / 2)``.
- A pinhole projects ``(x, y, z)`` to ``u = fx x / z + cx``, ``v = fy y / z + cy``.

Where the camera comes from: given (:class:`Intrinsics`, :meth:`Intrinsics.parse` of
``"fx,fy,cx,cy"``), from a field of view (:meth:`Intrinsics.from_fov`), from a dataset's
metadata (:meth:`Intrinsics.from_dataset`: ``dataset.json``, or a face-framed sample's
line of ``meta.jsonl``), or the camera a saved model was trained with
(:func:`model_intrinsics`) carried through the Predictor's letterbox to the photo
(:func:`letterbox_intrinsics`).

A depth map becomes a point cloud (:func:`backproject`) or a mesh over its pixel grid
(:func:`grid_mesh`), which drops the triangles that span a depth discontinuity (the
silhouette of a head against the wall behind it) so that no skin is stretched across
the gap. :func:`poisson_mesh` reconstructs a watertight (then trimmed) surface from
oriented points with screened Poisson (the optional extra ``mesh``: pymeshlab).
:func:`render_mesh` draws a mesh, coloured or shaded, from a viewpoint turned about the
object's centre, with the project's z-buffer rasteriser; :func:`turntable` draws a
swing of such views. :func:`save_mesh` writes PLY, OBJ or GLB with vertex colours
(trimesh), in the frame viewers expect (y up, the camera looking down -z).

Everything here is numpy (plus scipy); trimesh is imported by the exports, pymeshlab
only by :func:`poisson_mesh`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rgb2depth.errors import InputError

__all__ = [
    "MESH_FORMATS",
    "Intrinsics",
    "Mesh",
    "PointCloud",
    "Rendering",
    "backproject",
    "grid_mesh",
    "letterbox_intrinsics",
    "merge_meshes",
    "mesh_bytes",
    "model_intrinsics",
    "poisson_available",
    "poisson_mesh",
    "project",
    "render_mesh",
    "rotation_matrix",
    "save_mesh",
    "turntable",
    "turntable_yaws",
    "vertex_normals",
]

MESH_FORMATS = ("glb", "ply", "obj")
"""The mesh file formats :func:`save_mesh` writes (all with vertex colours)."""

POISSON_EXTRA = "mesh"
"""The optional extra that brings screened Poisson (``pip install 'rgb2depth[mesh]'``)."""


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (see the module's conventions).

    Attributes:
        fx, fy: focal lengths in pixels.
        cx, cy: principal point in continuous pixel coordinates (``W / 2, H / 2``
            when centred).
    """

    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(math.isfinite(float(v)) for v in values):
            raise ValueError(f"intrinsics must be finite numbers, got {values}")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"focal lengths must be > 0 pixels, got fx={self.fx}, fy={self.fy}")

    @classmethod
    def from_fov(
        cls, height: int, width: int, fov_deg: float, *, axis: str = "horizontal"
    ) -> Intrinsics:
        """Square pixels, a centred principal point and a field of view.

        Args:
            height, width: image size in pixels.
            fov_deg: field of view in degrees, in (0, 180), across ``axis``.
            axis: ``"horizontal"`` (the width), ``"vertical"`` (the height) or
                ``"short"`` (the shorter side, as the synthetic faces are rendered:
                35° across the shorter side).
        """
        if height < 1 or width < 1:
            raise ValueError(f"image size must be at least 1 x 1, got {height} x {width}")
        if not 0.0 < fov_deg < 180.0:
            raise ValueError(f"field of view must be in (0, 180) degrees, got {fov_deg}")
        sides = {"horizontal": width, "vertical": height, "short": min(height, width)}
        if axis not in sides:
            raise ValueError(f"axis must be one of {', '.join(sides)}, got {axis!r}")
        f = sides[axis] / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
        return cls(f, f, width / 2.0, height / 2.0)

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> Intrinsics:
        """From ``{"fx", "fy", "cx", "cy"}`` (the synthetic kinds' ``intrinsics``)."""
        try:
            return cls(*(float(values[k]) for k in ("fx", "fy", "cx", "cy")))
        except KeyError as e:
            raise ValueError(f"intrinsics need fx, fy, cx and cy; missing {e.args[0]!r}") from None

    def as_dict(self) -> dict[str, float]:
        """``{"fx", "fy", "cx", "cy"}``."""
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy}

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) float64 camera matrix ``K``."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def scaled(self, sx: float, sy: float | None = None) -> Intrinsics:
        """The intrinsics of the same camera for an image resized by ``sx`` (x) and ``sy`` (y)."""
        sy = sx if sy is None else sy
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)

    def resized(self, from_size: tuple[int, int], to_size: tuple[int, int]) -> Intrinsics:
        """The same camera for the image resized from ``from_size`` to ``to_size`` (H, W):
        ``fx * W' / W`` and so on (computed in that order)."""
        (h0, w0), (h1, w1) = from_size, to_size
        return Intrinsics(
            self.fx * w1 / w0, self.fy * h1 / h0, self.cx * w1 / w0, self.cy * h1 / h0
        )

    def cropped(self, left: float, top: float) -> Intrinsics:
        """The camera of the crop whose top-left corner is ``(left, top)`` (pixels; may be
        negative or fractional): the principal point moves, the focal lengths stay."""
        return Intrinsics(self.fx, self.fy, self.cx - left, self.cy - top)

    @classmethod
    def parse(cls, text: str) -> Intrinsics:
        """From ``"fx,fy,cx,cy"`` (pixels), as ``--intrinsics`` takes it.

        Raises:
            ValueError: not four comma-separated finite numbers, or a focal length <= 0.
        """
        parts = [p.strip() for p in str(text).split(",")]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4:
            raise ValueError(f"intrinsics must be four numbers fx,fy,cx,cy (pixels), got {text!r}")
        return cls(*values)

    @classmethod
    def from_dataset(
        cls,
        root: str | Path,
        *,
        split: str | None = None,
        sample: str | None = None,
        size: tuple[int, int] | None = None,
    ) -> Intrinsics:
        """The camera of a dataset folder (``docs/dataset-format.md``).

        ``dataset.json``'s ``intrinsics`` (at its ``image_size``) when it has them;
        otherwise (face-framed data, where every sample has its own crop window's camera)
        the ``intrinsics`` on the line of ``split/meta.jsonl`` named ``sample``.

        Args:
            root: the dataset folder.
            split, sample: the sample, needed when ``dataset.json`` has no intrinsics.
            size: (H, W) to resize the camera to (default: ``image_size`` of ``dataset.json``).

        Raises:
            InputError: the dataset has no intrinsics for this sample, or a file is malformed.
        """
        from rgb2depth.data.format import read_info

        root = Path(root)
        info = read_info(root)
        values: Any = info.intrinsics
        where = f"{root / 'dataset.json'}"
        if values is None:
            if split is None or sample is None:
                raise InputError(
                    f"{where} has no intrinsics (face-framed data: each sample has its own "
                    "in meta.jsonl); name a split and a sample"
                )
            path = root / split / "meta.jsonl"
            where = f"{path} (sample {sample!r})"
            values = _meta_intrinsics(path, sample)
        try:
            k = cls.from_dict(values)
        except (ValueError, TypeError) as e:
            raise InputError(f"{where}: {e}") from None
        if size is not None and tuple(size) != info.image_size:
            if info.image_size is None:
                raise InputError(f"{where}: intrinsics without image_size cannot be resized")
            k = k.resized(info.image_size, (int(size[0]), int(size[1])))
        return k


def _meta_intrinsics(path: Path, sample: str) -> Any:
    """The ``intrinsics`` of the line of ``meta.jsonl`` whose ``name`` is ``sample``."""
    if not path.is_file():
        raise InputError(f"{path} not found: the sample's intrinsics are there")
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise InputError(f"{path}:{i}: not JSON") from None
            if isinstance(row, dict) and str(row.get("name")) == sample:
                if not isinstance(row.get("intrinsics"), dict):
                    raise InputError(f"{path}:{i}: sample {sample!r} has no intrinsics")
                return row["intrinsics"]
    raise InputError(f"{path}: no sample named {sample!r}")


def model_intrinsics(config: dict[str, Any]) -> Intrinsics | None:
    """The camera a saved model was trained with, at its input size, or None if unknown.

    From the model's ``config.json``: ``input.intrinsics`` (``{"fx", "fy", "cx", "cy"}``
    at ``input.size``) when present, else the synthetic scene kind it was trained on
    (``trained.dataset_kind``: ``faces`` 35° across the shorter side, ``rooms`` the
    Kinect of NYU Depth v2; ``surfaces`` has no pinhole). For a model trained on face
    crops (``input.framing == "face"``) the crops' cameras varied; the kind's camera at
    the input size is then an approximation.
    """
    inp = config.get("input") or {}
    try:
        height, width = (int(v) for v in inp["size"])
    except (KeyError, TypeError, ValueError):
        return None
    if isinstance(inp.get("intrinsics"), dict):
        return Intrinsics.from_dict(inp["intrinsics"])
    kind = (config.get("trained") or {}).get("dataset_kind")
    from rgb2depth.data.synthetic import SCENE_KINDS

    if kind not in SCENE_KINDS:
        return None
    values = SCENE_KINDS[kind]().intrinsics(height, width)
    return None if values is None else Intrinsics.from_dict(values)


def letterbox_intrinsics(
    net: Intrinsics, input_size: tuple[int, int], image_size: tuple[int, int]
) -> Intrinsics:
    """The camera of an image that the Predictor letterboxes into a network input.

    The Predictor scales an (H, W) image to fit ``input_size`` keeping its aspect and
    centres it, padded (:meth:`~rgb2depth.inference.predictor.Predictor.predict`); a
    network that assumes camera ``net`` on its input therefore assumes, on the image,
    ``net`` cropped to the image's place in the input and scaled back to (H, W).
    """
    from rgb2depth.data.io import fit_within

    h, w = image_size
    H, W = input_size
    ih, iw = fit_within((h, w), (H, W))
    top, left = (H - ih) // 2, (W - iw) // 2
    return net.cropped(left, top).scaled(w / iw, h / ih)


@dataclass
class PointCloud:
    """Points in camera coordinates, from :func:`backproject`.

    Attributes:
        points: (N, 3) float64 x, y, z in the depth map's units.
        colors: (N, 3) uint8 RGB, or None.
        pixels: (N,) int64 flat index ``row * W + col`` of the pixel each point came from.
    """

    points: np.ndarray
    colors: np.ndarray | None
    pixels: np.ndarray


@dataclass
class Mesh:
    """A triangle mesh, from :func:`grid_mesh`.

    Attributes:
        vertices: (V, 3) float64 camera coordinates.
        faces: (F, 3) int64 vertex indices; seen from the camera that took the depth map,
            each triangle is clockwise on screen (x right, y down).
        colors: (V, 3) uint8 RGB, or None.
        pixels: (V,) int64 flat pixel index each vertex came from (None for a mesh that
            does not come from a pixel grid, e.g. :func:`poisson_mesh`).
    """

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray | None
    pixels: np.ndarray | None = None


@dataclass
class Rendering:
    """An image of a mesh, from :func:`render_mesh`.

    Attributes:
        image: (H, W, 3) uint8.
        depth: (H, W) float64 z of the visible surface in the new view, 0 where empty.
        mask: (H, W) bool, True where the mesh covers the pixel.
    """

    image: np.ndarray
    depth: np.ndarray
    mask: np.ndarray


def _check_depth(depth: np.ndarray, valid: np.ndarray | None, rgb: np.ndarray | None) -> tuple:
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 2 or depth.size == 0:
        raise ValueError(f"expected an (H, W) depth map, got shape {depth.shape}")
    ok = np.isfinite(depth) & (depth > 0)
    if valid is not None:
        valid = np.asarray(valid)
        if valid.shape != depth.shape or valid.dtype != bool:
            raise ValueError(
                f"expected an (H, W) bool valid mask of shape {depth.shape}, "
                f"got {valid.dtype} {valid.shape}"
            )
        ok &= valid
    if rgb is not None:
        rgb = np.asarray(rgb)
        if rgb.shape != (*depth.shape, 3) or rgb.dtype != np.uint8:
            raise ValueError(
                f"expected an (H, W, 3) uint8 image of shape {(*depth.shape, 3)}, "
                f"got {rgb.dtype} {rgb.shape}"
            )
    return depth, ok, rgb


def _pixel_rays(height: int, width: int, intrinsics: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) x / z and y / z of the ray through each pixel centre."""
    u = (np.arange(width) + 0.5 - intrinsics.cx) / intrinsics.fx
    v = (np.arange(height) + 0.5 - intrinsics.cy) / intrinsics.fy
    return np.broadcast_to(u[None, :], (height, width)), np.broadcast_to(
        v[:, None], (height, width)
    )


def backproject(
    depth: np.ndarray,
    intrinsics: Intrinsics,
    *,
    valid: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
) -> PointCloud:
    """Lift a depth map to a point cloud in camera coordinates.

    Args:
        depth: (H, W) depth (z) in any units; pixels that are not finite or ``<= 0``
            are skipped.
        intrinsics: the camera that saw it, for this image size.
        valid: optional (H, W) bool, False for more pixels to skip.
        rgb: optional (H, W, 3) uint8 colours for the points.

    Returns:
        A :class:`PointCloud`, points in row-major pixel order.
    """
    depth, ok, rgb = _check_depth(depth, valid, rgb)
    height, width = depth.shape
    xr, yr = _pixel_rays(height, width, intrinsics)
    pixels = np.flatnonzero(ok)
    z = depth.ravel()[pixels]
    points = np.stack([xr.ravel()[pixels] * z, yr.ravel()[pixels] * z, z], axis=1)
    colors = None if rgb is None else rgb.reshape(-1, 3)[pixels]
    return PointCloud(points, colors, pixels)


def project(points: np.ndarray, intrinsics: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Project camera-coordinate points to the image.

    Args:
        points: (N, 3) x, y, z with z > 0 (others give inf / nan).
        intrinsics: the camera.

    Returns:
        (N, 2) continuous pixel coordinates ``(u, v)`` and (N,) depth z.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"expected (N, 3) points, got shape {points.shape}")
    z = points[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = np.stack(
            [
                intrinsics.fx * points[:, 0] / z + intrinsics.cx,
                intrinsics.fy * points[:, 1] / z + intrinsics.cy,
            ],
            axis=1,
        )
    return uv, z.copy()


def grid_mesh(
    depth: np.ndarray,
    intrinsics: Intrinsics,
    *,
    valid: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
    max_rel_jump: float = 0.05,
    step: int = 1,
) -> Mesh:
    """Triangulate a depth map over its pixel grid, dropping triangles across discontinuities.

    Each 2 x 2 block of neighbouring (sampled) pixels gives two triangles. A triangle is
    kept only if its three pixels are valid and its depths agree:
    ``(max z - min z) / min z <= max_rel_jump``. The relative threshold keeps a
    surface seen at a grazing angle far away and cuts the step from a near object to
    the background. Vertices used by no triangle are dropped.

    Args:
        depth: (H, W) depth (z); pixels that are not finite or ``<= 0`` are invalid.
        intrinsics: the camera for this image size.
        valid: optional (H, W) bool, False for more invalid pixels.
        rgb: optional (H, W, 3) uint8 vertex colours.
        max_rel_jump: largest relative depth spread within a triangle, > 0.
        step: use every ``step``-th row and column (a coarser mesh of the same surface).

    Returns:
        A :class:`Mesh`.
    """
    depth, ok, rgb = _check_depth(depth, valid, rgb)
    if not max_rel_jump > 0:
        raise ValueError(f"max_rel_jump must be > 0, got {max_rel_jump}")
    if int(step) != step or step < 1:
        raise ValueError(f"step must be a positive integer, got {step}")
    height, width = depth.shape
    rows = np.arange(0, height, step)
    cols = np.arange(0, width, step)
    flat = (rows[:, None] * width + cols[None, :]).ravel()
    from rgb2depth.data.synthetic._raster import grid_triangles

    tris = grid_triangles(rows.size, cols.size) if rows.size > 1 and cols.size > 1 else None
    if tris is None:
        tris = np.zeros((0, 3), np.int64)
    z = depth.ravel()[flat]
    good = ok.ravel()[flat]
    tz = np.where(good, z, np.nan)[tris]
    with np.errstate(invalid="ignore"):
        zmin = tz.min(axis=1)
        keep = good[tris].all(axis=1) & ((tz.max(axis=1) - zmin) <= max_rel_jump * zmin)
    tris = tris[keep]
    used = np.zeros(flat.size, bool)
    used[tris.ravel()] = True
    new_index = np.cumsum(used) - 1
    pixels = flat[used]
    xr, yr = _pixel_rays(height, width, intrinsics)
    zu = depth.ravel()[pixels]
    vertices = np.stack([xr.ravel()[pixels] * zu, yr.ravel()[pixels] * zu, zu], axis=1)
    colors = None if rgb is None else rgb.reshape(-1, 3)[pixels]
    return Mesh(vertices, new_index[tris].astype(np.int64), colors, pixels)


def rotation_matrix(
    yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0
) -> np.ndarray:
    """(3, 3) rotation in camera coordinates: roll about z, then pitch about x, then yaw about y.

    A positive yaw turns the object's image-right side towards the camera (as if the
    viewer walked to the right around it); a positive pitch turns its top towards the
    camera (the viewer looks from above).
    """
    a, b, c = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), math.sin(b)], [0, -math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return ry @ rx @ rz


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals, pointing towards a camera that sees the
    faces clockwise (x right, y down), i.e. out of the surface a :func:`grid_mesh` describes.
    Vertices on no face get (0, 0, -1)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    fn = np.cross(v[f[:, 2]] - v[f[:, 0]], v[f[:, 1]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(length > 0, n / np.maximum(length, 1e-300), np.array([0.0, 0.0, -1.0]))


def render_mesh(
    mesh: Mesh,
    intrinsics: Intrinsics,
    height: int,
    width: int,
    *,
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    center: np.ndarray | None = None,
    mode: str = "color",
    light: tuple[float, float, float] = (-0.4, -0.6, -1.0),
    ambient: float = 0.35,
    base_color: tuple[int, int, int] = (205, 200, 190),
    background: tuple[int, int, int] = (255, 255, 255),
    supersample: int = 1,
) -> Rendering:
    """Draw a mesh from a viewpoint turned about the object's centre.

    The mesh is rotated by :func:`rotation_matrix` ``(yaw_deg, pitch_deg)`` about
    ``center`` and seen by the same camera; with no rotation a :func:`grid_mesh`
    re-renders the depth map it came from. Triangles are drawn from both sides.

    Args:
        mesh: the mesh, in camera coordinates.
        intrinsics: the camera, for an image of ``height x width``.
        height, width: output size in pixels.
        yaw_deg, pitch_deg: the turn, in degrees.
        center: (3,) the point to turn about; default the median of the vertices.
        mode: ``"color"`` (vertex colours, unlit), ``"shaded"`` (vertex colours times
            Lambert shading) or ``"relief"`` (``base_color`` times Lambert shading).
        light: direction towards the light in camera coordinates (default: from the
            upper left, in front).
        ambient: the shading floor, in [0, 1].
        base_color: RGB of the surface in ``"relief"`` mode (and when the mesh has no colours).
        background: RGB where nothing is drawn.
        supersample: render at this many times the size and average down (anti-aliasing).

    Returns:
        A :class:`Rendering`.
    """
    from rgb2depth.data.synthetic._raster import interpolate, rasterize

    if mode not in ("color", "shaded", "relief"):
        raise ValueError(f"mode must be one of color, shaded, relief; got {mode!r}")
    if height < 1 or width < 1:
        raise ValueError(f"image size must be at least 1 x 1, got {height} x {width}")
    if int(supersample) != supersample or supersample < 1:
        raise ValueError(f"supersample must be a positive integer, got {supersample}")
    if not 0.0 <= ambient <= 1.0:
        raise ValueError(f"ambient must be in [0, 1], got {ambient}")
    s = int(supersample)
    hs, ws = height * s, width * s
    bg = np.asarray(background, dtype=np.float64)
    image = np.broadcast_to(bg, (hs, ws, 3)).copy()
    depth = np.zeros((hs, ws))
    if mesh.faces.shape[0] > 0:
        verts = np.asarray(mesh.vertices, dtype=np.float64)
        c = np.median(verts, axis=0) if center is None else np.asarray(center, dtype=np.float64)
        rot = rotation_matrix(yaw_deg, pitch_deg)
        verts = (verts - c) @ rot.T + c
        uv, z = project(verts, intrinsics.scaled(s))
        uv = np.where(np.isfinite(uv), uv, -1e9)
        ras = rasterize(uv, z, mesh.faces, hs, ws, two_sided=np.ones(len(mesh.faces), bool))
        if ras.pixels.size:
            if mesh.colors is None or mode == "relief":
                color = np.broadcast_to(np.asarray(base_color, np.float64), (ras.pixels.size, 3))
            else:
                color = interpolate(mesh.colors.astype(np.float64), mesh.faces, ras)
            if mode != "color":
                n = interpolate(vertex_normals(verts, mesh.faces), mesh.faces, ras)
                n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
                # the point seen at each pixel, to turn normals of back faces towards the viewer
                rows, cols = np.divmod(ras.pixels, ws)
                k = intrinsics.scaled(s)
                p = np.stack(
                    [(cols + 0.5 - k.cx) / k.fx, (rows + 0.5 - k.cy) / k.fy, np.ones(rows.size)],
                    axis=1,
                )
                n *= np.where(np.sum(n * p, axis=1, keepdims=True) > 0, -1.0, 1.0)
                to_light = np.asarray(light, np.float64) / np.linalg.norm(light)
                lambert = np.clip(n @ to_light, 0.0, 1.0)
                color = color * (ambient + (1.0 - ambient) * lambert)[:, None]
            image.reshape(-1, 3)[ras.pixels] = color
            depth = ras.depth
    mask = depth > 0
    if s > 1:
        image = image.reshape(height, s, width, s, 3).mean(axis=(1, 3))
        cover = mask.reshape(height, s, width, s).mean(axis=(1, 3))
        dsum = depth.reshape(height, s, width, s).sum(axis=(1, 3))
        mask = cover > 0
        depth = np.where(mask, dsum / np.maximum(cover * s * s, 1), 0.0)
    out = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return Rendering(out, depth, mask)


def merge_meshes(meshes: Sequence[Mesh]) -> Mesh:
    """One mesh holding all of ``meshes`` (vertices concatenated, faces re-indexed).

    Colours are kept only if every mesh has them, pixels only if every mesh has them.
    """
    if not meshes:
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), None, np.zeros(0, np.int64))
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    vertices = np.concatenate([np.asarray(m.vertices, np.float64) for m in meshes])
    faces = np.concatenate(
        [np.asarray(m.faces, np.int64) + o for m, o in zip(meshes, offsets, strict=True)]
    )
    colors = (
        np.concatenate([m.colors for m in meshes])
        if all(m.colors is not None for m in meshes)
        else None
    )
    pixels = (
        np.concatenate([m.pixels for m in meshes])
        if all(m.pixels is not None for m in meshes)
        else None
    )
    return Mesh(vertices, faces.reshape(-1, 3), colors, pixels)


def poisson_available() -> bool:
    """Whether :func:`poisson_mesh` can run (the optional extra ``mesh`` is installed)."""
    import importlib.util

    return importlib.util.find_spec("pymeshlab") is not None


def _poisson_missing() -> InputError:
    return InputError(
        f"screened Poisson needs the optional extra '{POISSON_EXTRA}' (pymeshlab): "
        f"pip install 'rgb2depth[{POISSON_EXTRA}]'"
    )


def poisson_mesh(
    points: np.ndarray,
    normals: np.ndarray,
    colors: np.ndarray | None = None,
    *,
    depth: int = 8,
    trim: float | None = 3.0,
    threads: int = 1,
) -> Mesh:
    """Screened Poisson surface reconstruction of oriented points (pymeshlab).

    Poisson fits a watertight surface to the points; seen from one camera, most of it
    closes the back of the relief far from any point. ``trim`` removes that part: a
    triangle is kept only if its three vertices lie within ``trim`` times the median
    spacing of the points (the distance from a point to its nearest neighbour) from a
    point. ``trim=None`` keeps the closed surface.

    Args:
        points: (N, 3) positions (any units), N >= 4.
        normals: (N, 3) normals pointing out of the surface (towards the camera for a
            depth map: :func:`vertex_normals` of a :func:`grid_mesh`); need not be unit.
        colors: optional (N, 3) uint8; the surface's vertices get interpolated colours.
        depth: octree depth of the reconstruction (detail: 2**depth cells across), 1..12.
        trim: see above, > 0, or None.
        threads: pymeshlab's worker threads. One by default: its threads wait busily, and
            on cores that other work keeps busy two threads were seen to be 10-20 times
            slower than one.

    Returns:
        A :class:`Mesh` without pixels. Its faces are wound like a :func:`grid_mesh`
        (clockwise seen from outside, with x right and y down).

    Raises:
        InputError: pymeshlab (the optional extra ``mesh``) is not installed.
        ValueError: bad shapes or settings.
    """
    points = np.asarray(points, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 4:
        raise ValueError(f"expected (N, 3) points with N >= 4, got shape {points.shape}")
    if normals.shape != points.shape:
        raise ValueError(f"expected normals of shape {points.shape}, got {normals.shape}")
    if not (np.isfinite(points).all() and np.isfinite(normals).all()):
        raise ValueError("points and normals must be finite")
    if colors is not None:
        colors = np.asarray(colors)
        if colors.shape != points.shape or colors.dtype != np.uint8:
            raise ValueError(
                f"expected (N, 3) uint8 colours of shape {points.shape}, "
                f"got {colors.dtype} {colors.shape}"
            )
    if int(depth) != depth or not 1 <= depth <= 12:
        raise ValueError(f"depth must be an integer in 1..12, got {depth}")
    if trim is not None and not trim > 0:
        raise ValueError(f"trim must be > 0 or None, got {trim}")
    if int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads}")
    try:
        import pymeshlab
    except ImportError:
        raise _poisson_missing() from None

    # pymeshlab works in float64 but its octree is happiest near unit size: centre and
    # scale the points, undo it afterwards
    centre = points.mean(axis=0)
    size = float(np.ptp(points, axis=0).max()) or 1.0
    kwargs: dict[str, Any] = {
        "vertex_matrix": (points - centre) / size,
        "v_normals_matrix": normals,
    }
    if colors is not None:
        rgba = np.ones((len(points), 4))
        rgba[:, :3] = colors / 255.0
        kwargs["v_color_matrix"] = rgba
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(**kwargs))
    ms.generate_surface_reconstruction_screened_poisson(
        depth=int(depth), preclean=True, threads=int(threads)
    )
    out = ms.current_mesh()
    vertices = out.vertex_matrix() * size + centre
    # meshlab's right-hand face normals point out of the surface; ours point in (a
    # grid_mesh is clockwise seen from the camera; vertex_normals takes the reverse
    # cross product): the same triangles in our convention are (0, 2, 1)
    faces = np.asarray(out.face_matrix(), dtype=np.int64)[:, [0, 2, 1]]
    out_colors = None
    if colors is not None and out.has_vertex_color():
        out_colors = np.clip(np.round(out.vertex_color_matrix()[:, :3] * 255.0), 0, 255)
        out_colors = out_colors.astype(np.uint8)
    if trim is not None and len(faces):
        from scipy.spatial import cKDTree

        tree = cKDTree(points)
        spacing = float(np.median(tree.query(points, k=2)[0][:, 1]))
        near = tree.query(vertices, k=1)[0] <= trim * max(spacing, 1e-12)
        faces = faces[near[faces].all(axis=1)]
        used = np.zeros(len(vertices), bool)
        used[faces.ravel()] = True
        new_index = np.cumsum(used) - 1
        vertices, faces = vertices[used], new_index[faces]
        out_colors = None if out_colors is None else out_colors[used]
    return Mesh(vertices, faces.astype(np.int64), out_colors, None)


def _gl_frame(vertices: np.ndarray) -> np.ndarray:
    """Camera coordinates (x right, y down, z forward) -> x right, y up, z towards the
    viewer (glTF, OpenGL): a half turn about x, which keeps the winding's handedness."""
    return vertices * np.array([1.0, -1.0, -1.0])


def _trimesh(mesh: Mesh, scale: float) -> Any:
    import trimesh

    vertices = _gl_frame(np.asarray(mesh.vertices, np.float64) * scale)
    # ours are clockwise seen from the camera (x right, y down): their right-hand normal
    # points away from it. Files want it out of the surface, towards the viewer (front
    # faces are counter-clockwise in glTF, OBJ and PLY): reverse each triangle
    return trimesh.Trimesh(
        vertices=vertices,
        faces=np.asarray(mesh.faces, np.int64)[:, [0, 2, 1]],
        vertex_colors=None if mesh.colors is None else np.asarray(mesh.colors, np.uint8),
        process=False,
    )


def mesh_bytes(mesh: Mesh, fmt: str, *, scale: float = 1.0) -> bytes:
    """A mesh as the bytes of a PLY (binary), OBJ or GLB file, with vertex colours.

    The file's frame is the one viewers expect: x right, y up, z towards the viewer (the
    camera that took the depth map sits at the origin and looks down -z); vertices are
    multiplied by ``scale`` (e.g. 0.001 from mm to the metres of glTF).
    """
    if fmt not in MESH_FORMATS:
        raise ValueError(f"unknown mesh format {fmt!r}; use one of {', '.join(MESH_FORMATS)}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    data = _trimesh(mesh, scale).export(file_type=fmt)
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def save_mesh(mesh: Mesh, path: str | Path, *, fmt: str | None = None, scale: float = 1.0) -> Path:
    """Write ``mesh`` to ``path`` (atomically) as :func:`mesh_bytes` describes.

    Args:
        mesh: the mesh.
        path: the file; its suffix gives the format unless ``fmt`` does.
        fmt: one of :data:`MESH_FORMATS`, or None for the suffix's.
        scale: factor on the vertices (units).

    Returns:
        ``path``.
    """
    from rgb2depth.data.io import atomic_path

    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    data = mesh_bytes(mesh, fmt, scale=scale)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def turntable_yaws(views: int, max_yaw_deg: float = 30.0) -> np.ndarray:
    """(views,) yaw angles of a swing that loops: ``max_yaw * sin(2 pi k / views)``,
    starting with the front view (0)."""
    if int(views) != views or views < 1:
        raise ValueError(f"views must be a positive integer, got {views}")
    k = np.arange(int(views))
    return max_yaw_deg * np.sin(2.0 * np.pi * k / int(views))


def turntable(
    mesh: Mesh,
    intrinsics: Intrinsics,
    height: int,
    width: int,
    *,
    views: int,
    max_yaw_deg: float = 30.0,
    pitch_deg: float = 0.0,
    center: np.ndarray | None = None,
    mode: str = "shaded",
    supersample: int = 2,
    background: tuple[int, int, int] = (255, 255, 255),
) -> list[np.ndarray]:
    """``views`` frames of the mesh swung left and right about its centre (a loop).

    Each frame is :func:`render_mesh` at a yaw of :func:`turntable_yaws`; all turn about
    the same ``center`` (default: the median of the vertices).

    Returns:
        ``views`` (H, W, 3) uint8 images.
    """
    if center is None and len(mesh.vertices):
        center = np.median(np.asarray(mesh.vertices, np.float64), axis=0)
    return [
        render_mesh(
            mesh,
            intrinsics,
            height,
            width,
            yaw_deg=float(yaw),
            pitch_deg=pitch_deg,
            center=center,
            mode=mode,
            supersample=supersample,
            background=background,
        ).image
        for yaw in turntable_yaws(views, max_yaw_deg)
    ]
