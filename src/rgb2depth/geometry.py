"""Geometry: camera intrinsics, back-projection, grid meshes and novel views (numpy only).

Conventions (the same as the synthetic renderers, :mod:`rgb2depth.data.synthetic.base`):

- Camera coordinates: x right, y down, z forward along the optical axis; depth is z
  (not the distance along the ray), in whatever units the depth map has (mm, m, ...),
  and points come out in those units.
- Pixel ``(row, col)`` has its centre at ``(u, v) = (col + 0.5, row + 0.5)`` in
  continuous pixel coordinates, so the image spans ``[0, W] x [0, H]`` and a centred
  principal point is ``(W / 2, H / 2)``.
- A pinhole projects ``(x, y, z)`` to ``u = fx x / z + cx``, ``v = fy y / z + cy``.

A depth map becomes a point cloud (:func:`backproject`) or a mesh over its pixel grid
(:func:`grid_mesh`), which drops the triangles that span a depth discontinuity (the
silhouette of a head against the wall behind it) so that no skin is stretched across
the gap. :func:`render_mesh` draws a mesh, coloured or shaded, from a viewpoint turned
about the object's centre, with the project's z-buffer rasteriser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Intrinsics",
    "Mesh",
    "PointCloud",
    "Rendering",
    "backproject",
    "grid_mesh",
    "project",
    "render_mesh",
    "rotation_matrix",
    "vertex_normals",
]


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
        pixels: (V,) int64 flat pixel index each vertex came from.
    """

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray | None
    pixels: np.ndarray


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
