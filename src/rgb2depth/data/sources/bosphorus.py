"""Bosphorus Database for 3D Face Analysis -> the folder format.

What ``SRC`` must be (``rgb2depth convert bosphorus SRC``): the folder holding the
subject folders ``bs000/``, ``bs001/``, ... (or holding ``BosphorusDB/`` with them).
Each subject folder holds, per scan, ``bsNNN_<class>_<code>_<take>.bnt`` (the 3D scan)
and ``bsNNN_<class>_<code>_<take>.png`` (the colour image); landmark files (``.lm2``,
``.lm3``) and anything else are ignored.

The ``.bnt`` file (little-endian; layout of the database's own ``read_bntfile``)::

    uint16 nrows, uint16 ncols      the (subsampled) grid of the scan
    float64 zmin                    the value that marks background
    uint16 len, len bytes           the name of the scan's image file
    uint32 n                        must be 5 * nrows * ncols
    n float64                       5 planes of nrows * ncols values: x, y, z (mm),
                                    u, v (the point's position in the image, in [0, 1]);
                                    each plane row by row, bottom row first

A point is background where ``z <= zmin``.

Depth at the image's pixels: the grid is a range image in the scanner's coordinates,
so it is drawn into the colour image as a surface: each grid cell whose corners are
valid points is split into two triangles, placed at the corners' texture coordinates
(column ``u * W - 0.5``, row ``v * H - 0.5`` with ``v`` counted from the top, or
``(1 - v) * H - 0.5`` when ``v`` runs bottom-up, which is read from the data: ``v``
must grow down the upright grid), and ``z`` is interpolated linearly inside each
triangle (where two triangles cover a pixel, the nearer wins). Pixels no triangle
covers are invalid. So depth is pixel-aligned with the photo at its full size, and
nothing is guessed where the scanner saw nothing.

Depth units (``"relative"``, ``depth_range`` [0, 1], seed 000 Appendix C: "absolute
depth ... preprocessed to the range [0, 1]"): ``z`` grows toward the camera, and its
origin is the scanner's; each scan is measured from its nearest point ``z_near``::

    depth = 1 - (z_near - z) / 300 mm

so 1 is the scan's nearest point (the nose tip), every 0.1 is 30 mm farther, as in
Texas-3DFRD **larger is nearer**, and points more than 300 mm behind the nearest one
(shoulders, stray points) are invalid. The scale is the same for every scan (millimetres
are kept); ``z_near`` of each scan is in its ``meta.jsonl`` row, so
``z = z_near - 300 * (1 - depth)`` gives the scanner's ``z`` back.

Split: subjects in number order, every 7th (the 7th, 14th, ...) is ``test``, the others
``train``, both paired; ``meta.jsonl`` names the subject under ``group`` and the scan's
class (``E`` emotion, ``LFAU``/``UFAU``/``CAU`` action units, ``YR``/``PR``/``CR``
rotations, ``O`` occlusions, ``N`` neutral, ...), code and take.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from rgb2depth.data.sources import register_source
from rgb2depth.data.sources._writer import DatasetWriter
from rgb2depth.data.sources.texas import TEST_EVERY
from rgb2depth.errors import InputError

DEPTH_SPAN_MM = 300.0
"""Millimetres behind a scan's nearest point that map onto depth 1 .. 0."""

PNG_SCALE = 1.0 / 65535.0
"""Depth units per count of the written 16-bit PNG (about 0.005 mm)."""

_HEADER = struct.Struct("<HHdH")  # nrows, ncols, zmin, length of the image name
_COUNT = struct.Struct("<I")
_SUBJECT = re.compile(r"bs\d{3}")
_STEM = re.compile(r"(?P<subject>bs\d{3})_(?P<cls>[A-Za-z]+)_(?P<code>[A-Za-z0-9-]+)_(?P<take>\d+)")
LAYOUT = (
    "the folder of the subject folders bsNNN/ (or of BosphorusDB/), each holding "
    "bsNNN_<class>_<code>_<take>.bnt scans with their .png images"
)


@dataclass
class BntScan:
    """One ``.bnt`` scan, its grid upright (row 0 at the top).

    Attributes:
        x, y, z: (nrows, ncols) float64 scanner coordinates in mm.
        u, v: (nrows, ncols) float64 position in the scan's image, in [0, 1].
        zmin: the background marker (``z <= zmin`` is background).
        image_name: the image file name the header records.
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    u: np.ndarray
    v: np.ndarray
    zmin: float
    image_name: str

    @property
    def valid(self) -> np.ndarray:
        """(nrows, ncols) bool: points that are not background and fully finite."""
        ok = np.isfinite(self.z) & np.isfinite(self.u) & np.isfinite(self.v)
        return ok & (self.z > self.zmin)


def read_bnt(path: str | Path) -> BntScan:
    """Read a Bosphorus ``.bnt`` file (layout in the module docstring).

    Raises:
        InputError: shorter than its header says, an empty grid, a point count that
            is not ``5 * nrows * ncols``, or a header naming another image.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    need = _HEADER.size + _COUNT.size
    if len(data) < _HEADER.size:
        raise InputError(f"{path}: truncated .bnt ({len(data)} bytes; its header needs {need}+)")
    nrows, ncols, zmin, name_len = _HEADER.unpack_from(data, 0)
    need += name_len
    if len(data) < need:
        raise InputError(
            f"{path}: truncated .bnt ({len(data)} bytes; its header needs {need}: "
            f"nrows, ncols, zmin, a {name_len}-byte image name and the point count)"
        )
    image_name = data[_HEADER.size : _HEADER.size + name_len].decode("latin-1")
    (count,) = _COUNT.unpack_from(data, _HEADER.size + name_len)
    if nrows == 0 or ncols == 0:
        raise InputError(f"{path}: .bnt header gives an empty {nrows}x{ncols} grid")
    if count != 5 * nrows * ncols:
        raise InputError(
            f"{path}: .bnt header says {count} values, expected 5 planes of "
            f"{nrows}x{ncols} = {5 * nrows * ncols}"
        )
    if len(data) < need + 8 * count:
        raise InputError(
            f"{path}: truncated .bnt ({len(data)} bytes, expected {need + 8 * count} for "
            f"5 planes of {nrows}x{ncols} float64)"
        )
    if path.stem.lower() not in image_name.lower():
        raise InputError(
            f"{path}: its header names the image {image_name!r}, expected {path.stem}.png"
        )
    planes = np.frombuffer(data, dtype="<f8", count=count, offset=need).reshape(5, nrows, ncols)
    planes = planes[:, ::-1, :].astype(np.float64)  # stored bottom row first
    x, y, z, u, v = planes
    return BntScan(x, y, z, u, v, float(zmin), image_name)


def _rasterize(
    px: np.ndarray, py: np.ndarray, val: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, int]:
    """Draw triangles with linearly interpolated values; the largest value wins.

    Args:
        px, py: (T, 3) vertex columns and rows in pixels (pixel centres at integers).
        val: (T, 3) the value at each vertex.
        height, width: the image size.

    Returns:
        image: (H, W) float64, -inf where no triangle covers the pixel centre.
        dropped: triangles left out as degenerate or far larger than the others
            (texture coordinates that jump).
    """
    out = np.full(height * width, -np.inf)
    ax, bx, cx = px.T
    ay, by, cy = py.T
    den = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
    x0 = np.maximum(np.ceil(px.min(1)), 0).astype(np.int64)
    x1 = np.minimum(np.floor(px.max(1)), width - 1).astype(np.int64)
    y0 = np.maximum(np.ceil(py.min(1)), 0).astype(np.int64)
    y1 = np.minimum(np.floor(py.max(1)), height - 1).astype(np.int64)
    span_x = px.max(1) - px.min(1)
    span_y = py.max(1) - py.min(1)
    keep = np.abs(den) > 1e-12
    if keep.any():
        limit_x = 4 * np.median(span_x[keep]) + 2
        limit_y = 4 * np.median(span_y[keep]) + 2
        keep &= (span_x <= limit_x) & (span_y <= limit_y)
    dropped = int((~keep).sum())
    keep &= (x1 >= x0) & (y1 >= y0)
    if not keep.any():
        return out.reshape(height, width), dropped
    sel = np.flatnonzero(keep)
    w = int((x1[sel] - x0[sel]).max()) + 1
    h = int((y1[sel] - y0[sel]).max()) + 1
    eps = -1e-9
    for dy in range(h):
        for dx in range(w):
            qx, qy = x0[sel] + dx, y0[sel] + dy
            m = (qx <= x1[sel]) & (qy <= y1[sel])
            t, qx, qy = sel[m], qx[m], qy[m]
            l1 = ((by[t] - cy[t]) * (qx - cx[t]) + (cx[t] - bx[t]) * (qy - cy[t])) / den[t]
            l2 = ((cy[t] - ay[t]) * (qx - cx[t]) + (ax[t] - cx[t]) * (qy - cy[t])) / den[t]
            l3 = 1.0 - l1 - l2
            inside = (l1 >= eps) & (l2 >= eps) & (l3 >= eps)
            t = t[inside]
            value = l1[inside] * val[t, 0] + l2[inside] * val[t, 1] + l3[inside] * val[t, 2]
            np.maximum.at(out, qy[inside] * width + qx[inside], value)
    return out.reshape(height, width), dropped


def scan_to_image(scan: BntScan, height: int, width: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Draw a scan's ``z`` into its (H, W) image through the texture coordinates.

    Returns:
        z: (H, W) float64 scanner ``z`` in mm at each pixel, -inf where no valid surface
            covers it.
        info: ``v_origin`` (``"top"`` or ``"bottom"``), ``points`` (valid grid points),
            ``z_near_mm`` (the largest valid ``z``, or None), ``dropped_triangles``.
    """
    valid = scan.valid
    info: dict[str, Any] = {"points": int(valid.sum()), "v_origin": None, "z_near_mm": None}
    info["dropped_triangles"] = 0
    if valid.sum() < 3:
        return np.full((height, width), -np.inf), info
    rows = np.broadcast_to(np.arange(scan.v.shape[0])[:, None], scan.v.shape)[valid]
    vs = scan.v[valid]
    bottom_up = float(np.sum((rows - rows.mean()) * (vs - vs.mean()))) < 0
    info["v_origin"] = "bottom" if bottom_up else "top"
    info["z_near_mm"] = float(scan.z[valid].max())
    col = scan.u * width - 0.5
    row = ((1.0 - scan.v) if bottom_up else scan.v) * height - 0.5
    tris_px, tris_py, tris_z = [], [], []
    a = (slice(None, -1), slice(None, -1))
    b = (slice(None, -1), slice(1, None))
    c = (slice(1, None), slice(None, -1))
    d = (slice(1, None), slice(1, None))
    for corners in ((a, b, c), (b, d, c)):
        ok = valid[corners[0]] & valid[corners[1]] & valid[corners[2]]
        tris_px.append(np.stack([col[k][ok] for k in corners], axis=1))
        tris_py.append(np.stack([row[k][ok] for k in corners], axis=1))
        tris_z.append(np.stack([scan.z[k][ok] for k in corners], axis=1))
    z, dropped = _rasterize(
        np.concatenate(tris_px), np.concatenate(tris_py), np.concatenate(tris_z), height, width
    )
    info["dropped_triangles"] = dropped
    return z, info


def relative_depth(z: np.ndarray, z_near: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Scanner ``z`` (mm) -> ``1 - (z_near - z) / 300``; returns (depth, valid)."""
    if z_near is None:
        return np.zeros(z.shape), np.zeros(z.shape, bool)
    depth = 1.0 - (z_near - z) / DEPTH_SPAN_MM
    valid = np.isfinite(depth) & (depth > 0)
    return np.where(valid, depth, 0.0), valid


@dataclass(frozen=True)
class Scan:
    """One scan of the database: its ``.bnt``, its ``.png`` and its name's fields."""

    bnt: Path
    png: Path
    subject: str
    cls: str
    code: str
    take: int


def _subject_folders(src: Path) -> list[Path]:
    if not src.is_dir():
        raise InputError(f"{src}: expected the Bosphorus folder, got a file ({LAYOUT})")
    for root in (src, src / "BosphorusDB"):
        if root.is_dir():
            found = [p for p in sorted(root.iterdir()) if p.is_dir() and _SUBJECT.fullmatch(p.name)]
            if found:
                return found
    raise InputError(f"{src}: no subject folder bsNNN/ found; expected {LAYOUT}")


def find_scans(src: Path) -> list[Scan]:
    """Every scan under ``src``, by subject and name.

    Raises:
        InputError: a ``.bnt`` / ``.png`` whose name is not
            ``bsNNN_<class>_<code>_<take>`` of its own subject, one without the other,
            or a subject folder with no scan.
    """
    scans = []
    for folder in _subject_folders(Path(src)):
        files: dict[str, dict[str, Path]] = {}
        for p in sorted(folder.iterdir()):
            ext = p.suffix.lower()
            if ext not in (".bnt", ".png") or not p.is_file():
                continue
            m = _STEM.fullmatch(p.stem)
            if m is None or m.group("subject") != folder.name:
                raise InputError(
                    f"{p}: expected a name {folder.name}_<class>_<code>_<take>{ext} "
                    f"(e.g. {folder.name}_E_ANGER_0{ext})"
                )
            files.setdefault(p.stem, {})[ext] = p
        if not files:
            raise InputError(f"{folder}: no .bnt scan in it; expected {LAYOUT}")
        for stem, pair in sorted(files.items()):
            if len(pair) == 1:
                ((ext, have),) = pair.items()
                want = ".png" if ext == ".bnt" else ".bnt"
                raise InputError(
                    f"{have}: no {stem}{want} beside it; each Bosphorus scan is a .bnt with "
                    "its .png image"
                )
            m = _STEM.fullmatch(stem)
            assert m is not None
            scans.append(
                Scan(
                    pair[".bnt"],
                    pair[".png"],
                    m.group("subject"),
                    m.group("cls"),
                    m.group("code"),
                    int(m.group("take")),
                )
            )
    return scans


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as img:
            w, h = img.size
            mode = img.mode
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as e:
        raise InputError(f"{path}: not a readable PNG ({e})") from None
    if mode not in ("RGB", "RGBA", "L", "LA", "P"):
        raise InputError(f"{path}: expected an 8-bit colour image, got PIL mode {mode!r}")
    return h, w


@register_source("bosphorus", title="Bosphorus 3D face database", layout=LAYOUT)
def convert_bosphorus(src: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Convert Bosphorus: depth drawn into each photo, split by subject (module docstring)."""
    scans = find_scans(Path(src))
    subjects = sorted({s.subject for s in scans})
    if len(subjects) < TEST_EVERY:
        raise InputError(
            f"{src}: found {len(subjects)} subject(s); every {TEST_EVERY}th subject is held "
            f"out for testing, so at least {TEST_EVERY} are needed"
        )
    split_of = {
        s: "test" if rank % TEST_EVERY == TEST_EVERY - 1 else "train"
        for rank, s in enumerate(subjects)
    }
    writer.set_info(
        name="Bosphorus",
        kind="faces",
        depth_units="relative",
        depth_range=[0.0, 1.0],
        png_scale=PNG_SCALE,
        png_offset=0.0,
        extra={
            "dataset": "Bosphorus Database for 3D Face Analysis (Savran et al., BIOID 2008)",
            "url": "http://bosphorus.ee.boun.edu.tr/",
            "depth": f"1 - (z_near - z) / {DEPTH_SPAN_MM:g} mm, z_near = the scan's nearest "
            "point (meta.jsonl z_near_mm); larger is nearer; drawn into the photo through "
            "the .bnt texture coordinates",
            "mm_per_unit": DEPTH_SPAN_MM,
            "split": f"every {TEST_EVERY}th subject (number order) is test, the others train",
        },
    )
    for s in subjects:
        writer.add_group(s, split_of[s], scans=sum(x.subject == s for x in scans))
    for scan in tqdm(scans, desc="bosphorus", unit="scan", disable=not progress):
        height, width = _image_size(scan.png)
        z, info = scan_to_image(read_bnt(scan.bnt), height, width)
        depth, valid = relative_depth(z, info["z_near_mm"])
        meta = {
            "group": scan.subject,
            "class": scan.cls,
            "code": scan.code,
            "take": scan.take,
            **info,
        }
        writer.add(
            split_of[scan.subject], scan.bnt.stem, rgb=scan.png, depth=depth, valid=valid, meta=meta
        )
