"""From a photo to 3D: the camera, a coloured mesh, its file and a turntable of views.

>>> from rgb2depth import Predictor
>>> from rgb2depth.inference.reconstruct import reconstruct, write_mesh_outputs
>>> p = Predictor.from_pretrained("faces-light")
>>> rec = reconstruct(p, "face.png", face=True)             # rec.mesh: a geometry.Mesh
>>> write_mesh_outputs("out", "face", rec, fmt="glb", views=12)

The camera (which decides the shape's proportions: a depth map alone does not):

- ``intrinsics`` given (``fx, fy, cx, cy`` in the photo's pixels), or a field of view
  ``fov`` across the photo's width: that camera for the whole photo (every face).
- Otherwise the camera the model was trained with (:func:`~rgb2depth.geometry.model_intrinsics`,
  e.g. 35° across the shorter side for the faces models), on what the network saw:
  the photo as the Predictor letterboxes it, or in face mode each face's crop window
  (so each face has its own camera, placed at its window in the photo).
- A model whose camera is unknown: :data:`DEFAULT_FOV_DEG` across the width.

The mesh is :func:`~rgb2depth.geometry.grid_mesh` over the depth map (triangles across
a relative depth jump above ``max_rel_jump`` dropped; in face mode each face meshed with
its own camera, only where its prediction was pasted), or ``"poisson"``: screened
Poisson of those vertices with their normals
(:func:`~rgb2depth.geometry.poisson_mesh`, the optional extra ``mesh``). The grid is
sampled so that it has at most :data:`MAX_GRID_SIDE` samples across (a photo is
predicted at the network's resolution; more vertices would add size, not detail).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rgb2depth.geometry import (
    Intrinsics,
    Mesh,
    grid_mesh,
    letterbox_intrinsics,
    merge_meshes,
    model_intrinsics,
    poisson_mesh,
    save_mesh,
    turntable,
    vertex_normals,
)

__all__ = [
    "DEFAULT_FOV_DEG",
    "MAX_GRID_SIDE",
    "MESH_KINDS",
    "Reconstruction",
    "image_cameras",
    "mesh_from_depth",
    "reconstruct",
    "reconstruct_depth",
    "render_views",
    "write_mesh_outputs",
]

MESH_KINDS = ("grid", "poisson")
DEFAULT_FOV_DEG = 60.0
"""Field of view across the width assumed when neither the user nor the model gives one."""
MAX_GRID_SIDE = 512
"""At most this many grid samples across the meshed region (the grid's step follows)."""
UNITS_TO_METRES = {"m": 1.0, "mm": 1e-3, "um": 1e-6}


@dataclass
class Reconstruction:
    """One photo in 3D.

    Attributes:
        mesh: the coloured mesh in camera coordinates (x right, y down, z forward), in
            ``units``.
        rgb: (H, W, 3) uint8 the photo.
        depth: (H, W) float32 depth in ``units``, NaN where there is none.
        cameras: the camera(s) in the photo's pixels: one, or in face mode one per face.
        camera_source: where the camera came from, in words.
        units: the depth's units (the model's).
        owner: (H, W) int16 camera index of each pixel, -1 none (face mode), or None.
        meta: facts for ``NAME_mesh.json`` (faces, mesh kind, grid step).
    """

    mesh: Mesh
    rgb: np.ndarray
    depth: np.ndarray
    cameras: list[Intrinsics]
    camera_source: str
    units: str
    owner: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def image_cameras(
    predictor: Any,
    image_size: tuple[int, int],
    *,
    windows: list[Any] | None = None,
    fov: float | None = None,
    intrinsics: Intrinsics | None = None,
) -> tuple[list[Intrinsics], str]:
    """The camera(s) of a photo of ``image_size`` (H, W) and where they came from.

    Args:
        predictor: the :class:`~rgb2depth.inference.predictor.Predictor` (its
            ``config`` and ``input_size``).
        image_size: the photo's (H, W).
        windows: face mode's crop windows (``FaceDepth.windows``): one camera each.
        fov: degrees across the photo's width, for the whole photo.
        intrinsics: the photo's camera, in its pixels.

    Returns:
        (cameras, source): one camera, or one per window.
    """
    h, w = image_size
    n = len(windows) if windows else 1
    if intrinsics is not None:
        return [intrinsics] * n, "given (fx, fy, cx, cy)"
    if fov is not None:
        return [Intrinsics.from_fov(h, w, fov)] * n, f"{fov:g}° across the width (given)"
    net = model_intrinsics(predictor.config)
    if net is None:
        default = Intrinsics.from_fov(h, w, DEFAULT_FOV_DEG)
        return [default] * n, (
            f"{DEFAULT_FOV_DEG:g}° across the width (default: the model's camera is unknown)"
        )
    kind = (predictor.config.get("trained") or {}).get("dataset_kind", "")
    source = f"the model's training camera ({kind or 'config.json'})"
    if not windows:
        return [letterbox_intrinsics(net, predictor.input_size, (h, w))], source
    cams = [
        letterbox_intrinsics(net, predictor.input_size, (int(win.height), int(win.width))).cropped(
            -float(win.left), -float(win.top)
        )
        for win in windows
    ]
    return cams, source + " on each face's crop window"


def mesh_from_depth(
    depth: np.ndarray,
    rgb: np.ndarray | None,
    cameras: list[Intrinsics],
    *,
    owner: np.ndarray | None = None,
    mesh: str = "grid",
    max_rel_jump: float = 0.05,
    step: int | None = None,
    poisson_depth: int = 8,
) -> tuple[Mesh, int]:
    """A coloured mesh of a depth map: see the module docstring.

    Args:
        depth: (H, W) depth, NaN / <= 0 where there is none.
        rgb: (H, W, 3) uint8 colours, or None.
        cameras: one camera, or one per owner index.
        owner: (H, W) int camera index per pixel (-1: none), when several cameras.
        mesh: ``"grid"`` or ``"poisson"``.
        max_rel_jump: see :func:`~rgb2depth.geometry.grid_mesh`.
        step: the grid's step; None: the smallest with at most :data:`MAX_GRID_SIDE`
            samples across the region with depth.
        poisson_depth: octree depth of the Poisson reconstruction.

    Returns:
        (the mesh, the grid step used).
    """
    if mesh not in MESH_KINDS:
        raise ValueError(f"unknown mesh {mesh!r}; use one of {', '.join(MESH_KINDS)}")
    valid = np.isfinite(depth) & (depth > 0)
    if step is None:
        rows, cols = np.nonzero(valid.any(axis=1))[0], np.nonzero(valid.any(axis=0))[0]
        extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) if rows.size else 1
        step = max(1, math.ceil(extent / MAX_GRID_SIDE))
    parts = []
    for i, cam in enumerate(cameras):
        mine = valid if owner is None or len(cameras) == 1 else valid & (owner == i)
        parts.append(
            grid_mesh(depth, cam, valid=mine, rgb=rgb, max_rel_jump=max_rel_jump, step=step)
        )
    grid = merge_meshes(parts)
    if mesh == "grid":
        return grid, step
    normals = np.concatenate([vertex_normals(p.vertices, p.faces) for p in parts])
    if len(grid.vertices) < 4:
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), None, None), step
    return poisson_mesh(grid.vertices, normals, grid.colors, depth=poisson_depth), step


def reconstruct_depth(
    predictor: Any,
    rgb: np.ndarray,
    depth: np.ndarray,
    *,
    faces: Any = None,
    mesh: str = "grid",
    fov: float | None = None,
    intrinsics: Intrinsics | None = None,
    max_rel_jump: float = 0.05,
) -> Reconstruction:
    """A :class:`Reconstruction` of a depth map the predictor made of ``rgb``.

    Args:
        predictor: the Predictor that made ``depth`` (its camera and units).
        rgb: (H, W, 3) uint8 the photo.
        depth: (H, W) depth in the predictor's units, NaN where there is none.
        faces: face mode's :class:`~rgb2depth.inference.faces.FaceDepth` of this photo,
            or None for a whole-image prediction.
        mesh, fov, intrinsics, max_rel_jump: see :func:`reconstruct`.
    """
    h, w = depth.shape
    windows = list(faces.windows) if faces is not None else None
    cameras, source = image_cameras(
        predictor, (h, w), windows=windows, fov=fov, intrinsics=intrinsics
    )
    owner = faces.owner if faces is not None else None
    if faces is not None and owner is None:  # a FaceDepth without owners: one camera
        cameras = cameras[:1]
    m, step = mesh_from_depth(
        depth, rgb, cameras, owner=owner, mesh=mesh, max_rel_jump=max_rel_jump
    )
    meta: dict[str, Any] = {"mesh": mesh, "grid_step": step, "max_rel_jump": max_rel_jump}
    if faces is not None:
        meta["faces"] = faces.to_json()
    return Reconstruction(m, rgb, depth, cameras, source, predictor.units, owner, meta)


def reconstruct(
    predictor: Any,
    image: Any,
    *,
    face: bool | None = None,
    mesh: str = "grid",
    fov: float | None = None,
    intrinsics: Intrinsics | None = None,
    max_rel_jump: float = 0.05,
    tta: str | None = None,
) -> Reconstruction:
    """Predict the depth of ``image`` and turn it into a coloured mesh.

    Args:
        predictor: a :class:`~rgb2depth.inference.predictor.Predictor`.
        image: a file path (read upright, full resolution), a PIL image or an (H, W, 3)
            uint8 array.
        face: face mode (each face predicted from its crop; no depth elsewhere); None:
            on for a model trained on face crops.
        mesh: ``"grid"`` or ``"poisson"`` (the optional extra ``mesh``).
        fov: field of view across the photo's width, degrees (instead of the model's camera).
        intrinsics: the photo's camera (instead of the model's).
        max_rel_jump: triangles across a larger relative depth jump are dropped.
        tta: test-time augmentation, passed to the predictor.

    Raises:
        InputError: an unreadable image, no face in face mode, Poisson without its extra.
    """
    from rgb2depth.inference.faces import _read_rgb

    rgb, _ = _read_rgb(image)
    if face is None:
        face = predictor.framing == "face"
    if mesh == "poisson":
        from rgb2depth.geometry import _poisson_missing, poisson_available

        if not poisson_available():
            raise _poisson_missing()
    # a file is read again by the predictor: the same depth as predict's, errors name it
    source = image if isinstance(image, (str, Path)) else rgb
    faces = predictor.predict_faces(source, tta=tta) if face else None
    depth = faces.depth if faces is not None else predictor.predict(source, tta=tta)
    return reconstruct_depth(
        predictor,
        rgb,
        depth,
        faces=faces,
        mesh=mesh,
        fov=fov,
        intrinsics=intrinsics,
        max_rel_jump=max_rel_jump,
    )


def _view_camera(rec: Reconstruction, size: int) -> tuple[Intrinsics, int, int]:
    """The camera and (H, W) of the views: the first camera, cropped to the region with
    depth (plus a margin of 10 %) and scaled so that its long side is at most ``size``."""
    valid = np.isfinite(rec.depth) & (rec.depth > 0)
    h, w = valid.shape
    rows, cols = np.nonzero(valid.any(axis=1))[0], np.nonzero(valid.any(axis=0))[0]
    if rows.size:
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    else:
        top, bottom, left, right = 0, h, 0, w
    pad = round(0.1 * max(bottom - top, right - left))
    top, left = top - pad, left - pad
    height, width = bottom + pad - top, right + pad - left
    s = min(1.0, size / max(height, width))
    oh, ow = max(1, round(height * s)), max(1, round(width * s))
    cam = rec.cameras[0].cropped(left, top).scaled(ow / width, oh / height)
    return cam, oh, ow


def render_views(
    rec: Reconstruction,
    views: int,
    *,
    size: int = 384,
    max_yaw_deg: float = 30.0,
    mode: str = "shaded",
) -> list[np.ndarray]:
    """``views`` frames of a turntable of the mesh (:func:`~rgb2depth.geometry.turntable`),
    seen by the photo's camera framed on the region with depth, long side ``size``."""
    cam, oh, ow = _view_camera(rec, size)
    return turntable(rec.mesh, cam, oh, ow, views=views, max_yaw_deg=max_yaw_deg, mode=mode)


def write_mesh_outputs(
    out: str | Path,
    stem: str,
    rec: Reconstruction,
    *,
    fmt: str = "glb",
    views: int = 0,
    gif: bool = False,
    size: int = 384,
    max_yaw_deg: float = 30.0,
    frame_ms: int = 100,
) -> list[Path]:
    """Write ``NAME_mesh.FMT``, ``NAME_mesh.json`` and with ``views`` the turntable's
    ``NAME_view_00.png`` ... (and ``NAME_turntable.gif``); all or none, each atomically.

    A GLB is in metres (glTF's unit) when the depth's units are m, mm or um; PLY and OBJ
    keep the depth's units. All are in the frame viewers expect (y up, the camera at the
    origin looking down -z; :func:`~rgb2depth.geometry.mesh_bytes`).

    Returns:
        The paths written.
    """
    from rgb2depth.data.io import atomic_path, save_png

    out = Path(out)
    written: list[Path] = []
    try:
        scale, units = 1.0, rec.units
        if fmt == "glb" and rec.units in UNITS_TO_METRES:
            scale, units = UNITS_TO_METRES[rec.units], "m"
        path = save_mesh(rec.mesh, out / f"{stem}_mesh.{fmt}", fmt=fmt, scale=scale)
        written.append(path)
        frames = render_views(rec, views, size=size, max_yaw_deg=max_yaw_deg) if views else []
        for i, frame in enumerate(frames):
            path = out / f"{stem}_view_{i:02d}.png"
            save_png(path, frame)
            written.append(path)
        if gif and frames:
            from PIL import Image

            path = out / f"{stem}_turntable.gif"
            images = [Image.fromarray(f) for f in frames]
            with atomic_path(path) as tmp:
                images[0].save(
                    tmp,
                    format="GIF",
                    save_all=True,
                    append_images=images[1:],
                    duration=frame_ms,
                    loop=0,
                    optimize=True,
                )
            written.append(path)
        meta = {
            "file": f"{stem}_mesh.{fmt}",
            "units": units,
            "frame": "x right, y up, z to the viewer; the camera at the origin, looking down -z",
            "vertices": len(rec.mesh.vertices),
            "triangles": len(rec.mesh.faces),
            "camera": rec.camera_source,
            "intrinsics": [c.as_dict() for c in rec.cameras],
            "image_size": [int(rec.depth.shape[1]), int(rec.depth.shape[0])],
        } | rec.meta
        if frames:
            meta["views"] = {"count": len(frames), "max_yaw_deg": max_yaw_deg}
        path = out / f"{stem}_mesh.json"
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    except BaseException:  # all or nothing
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return written
