"""Reading and writing images and depth maps, with checks and atomic writes.

Readers return numpy arrays and raise :class:`~rgb2depth.errors.InputError` with
one line naming the file for anything wrong with it. Writers go through a
temporary file in the same folder and rename it into place, so a failure never
leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rgb2depth.errors import InputError

MAX_PIXELS = 50_000_000
"""Largest image accepted (50 megapixels); bigger ones are refused before decoding."""


# --------------------------------------------------------------------------- writing
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it to ``path`` on success.

    Raises:
        InputError: ``path`` exists and is not empty while ``overwrite`` is False,
            or its parent cannot be written.
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not overwrite:
        raise InputError(f"output folder {path} exists and is not empty (pass --overwrite)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
        for f in tmp.rglob("*"):  # some writers (safetensors) make 0600 files
            if f.is_file() and not f.is_symlink():
                os.chmod(f, 0o666 & ~_umask())
        if path.exists():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_png(path: str | Path, array: np.ndarray, *, compress_level: int = 6) -> None:
    """Write a uint8 (H, W) / (H, W, 3) or uint16 (H, W) array as PNG, atomically."""
    if array.dtype == np.uint16:
        if array.ndim != 2:
            raise InputError(f"16-bit PNG needs a 2-D array, got shape {array.shape}")
        img = Image.fromarray(array)
    elif array.dtype == np.uint8:
        img = Image.fromarray(array)
    else:
        raise InputError(f"PNG needs uint8 or uint16, got {array.dtype}")
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG", compress_level=compress_level)


def default_valid(depth: np.ndarray) -> np.ndarray:
    """Valid pixels of an in-memory depth map: finite and not 0 (the invalid code)."""
    return np.isfinite(depth) & (depth != 0)


def encode_depth_png(
    depth: np.ndarray, *, scale: float, offset: float = 0.0, valid: np.ndarray | None = None
) -> np.ndarray:
    """Depth in units -> uint16 counts, ``round((depth - offset) / scale)``; invalid -> 0.

    Args:
        depth: (H, W) float depth in units.
        scale: units per count.
        offset: units at count 0.
        valid: (H, W) bool, default :func:`default_valid`.

    Raises:
        InputError: a valid value falls outside counts 1..65535.
    """
    depth = np.asarray(depth, dtype=np.float64)
    if valid is None:
        valid = default_valid(depth)
    counts = np.zeros(depth.shape, dtype=np.float64)
    counts[valid] = np.round((depth[valid] - offset) / scale)
    if valid.any() and (counts[valid].min() < 1 or counts[valid].max() > 65535):
        lo, hi = depth[valid].min(), depth[valid].max()
        raise InputError(
            f"depth values {lo:g}..{hi:g} do not fit a 16-bit PNG with scale {scale:g} "
            f"and offset {offset:g} (representable: {offset + scale:g}..{offset + 65535 * scale:g})"
        )
    return counts.astype(np.uint16)


def decode_depth_png(counts: np.ndarray, *, scale: float, offset: float = 0.0) -> np.ndarray:
    """uint16 counts -> float32 depth in units; count 0 -> 0.0 (invalid)."""
    depth = offset + scale * counts.astype(np.float64)
    depth[counts == 0] = 0.0
    return depth.astype(np.float32)


# --------------------------------------------------------------------------- reading
def _open_image(path: Path) -> Image.Image:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except UnidentifiedImageError:
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith((b"\x89PNG", b"\xff\xd8\xff")):
            raise InputError(f"{path}: corrupt or truncated image (header unreadable)") from None
        raise InputError(f"{path}: not an image PIL can read (accepted: PNG, JPEG)") from None
    except Image.DecompressionBombWarning:
        raise InputError(f"{path}: image over {MAX_PIXELS // 1_000_000} megapixels") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read image ({e})") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise InputError(
            f"{path}: image of {w}x{h} = {w * h / 1e6:.1f} megapixels is over the "
            f"{MAX_PIXELS // 1_000_000} megapixel limit"
        )
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{path}: corrupt or truncated image ({e})") from None
    return img


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an RGB image as (H, W, 3) uint8; gray and RGBA inputs are converted.

    Raises:
        InputError: missing, empty, corrupt, truncated, non-image or over 50 MP.
    """
    path = Path(path)
    img = _open_image(path)
    if img.mode in ("I;16", "I;16B", "I", "F"):
        raise InputError(
            f"{path}: a {img.mode} (16-bit or float) image is not an RGB photo; "
            "expected 8-bit RGB, RGBA or gray"
        )
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _read_depth_array(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise InputError(f"{path}: not a readable .npy array ({e})") from None
    elif suffix in (".tif", ".tiff"):
        import tifffile

        try:
            arr = tifffile.imread(path)
        except Exception as e:  # tifffile raises many types for corrupt files
            raise InputError(f"{path}: not a readable TIFF ({type(e).__name__}: {e})") from None
    elif suffix == ".png":
        img = _open_image(path)
        if img.mode not in ("I;16", "I;16B", "I;16L", "I"):
            raise InputError(
                f"{path}: depth PNG must be 16-bit single channel, got PIL mode {img.mode!r}"
            )
        arr = np.asarray(img)
        if arr.dtype != np.uint16:
            if arr.min() < 0 or arr.max() > 65535:
                raise InputError(f"{path}: depth PNG values outside 0..65535")
            arr = arr.astype(np.uint16)
    else:
        raise InputError(f"{path}: unsupported depth file type (accepted: .png, .npy, .tif, .tiff)")
    if arr.size == 0:
        raise InputError(f"{path}: holds no depth values (empty or corrupt file)")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise InputError(f"{path}: expected a 2-D (H, W) depth map, got shape {arr.shape}")
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise InputError(f"{path}: depth map {arr.shape} is over the 50 megapixel limit")
    return arr


def read_depth(
    path: str | Path,
    *,
    png_scale: float = 1.0,
    png_offset: float = 0.0,
    invalid_value: float = 0.0,
    allow_negative: bool = False,
    allow_nan: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a depth map as ``(depth, valid)``.

    Args:
        path: ``.png`` (16-bit counts, decoded with ``png_scale``/``png_offset``),
            ``.npy`` or ``.tif``/``.tiff`` (float or integer values in units).
        png_scale, png_offset: the PNG encoding (see :mod:`rgb2depth.data.format`).
        invalid_value: value marking invalid pixels in ``.npy``/``.tiff`` files.
        allow_negative: accept negative values (signed heights, e.g. surfaces in
            micrometres); when False a negative valid value is an error.
        allow_nan: treat NaN as invalid (ground truth); when False NaN is an error
            (a prediction, where every pixel needs a depth).

    Returns:
        depth: (H, W) float32 in units, 0.0 where invalid.
        valid: (H, W) bool.

    Raises:
        InputError: unreadable file, wrong shape or dtype, infinite values,
            NaN when ``allow_nan`` is False, negative depth unless ``allow_negative``.
    """
    path = Path(path)
    arr = _read_depth_array(path)
    if path.suffix.lower() == ".png":
        valid = arr != 0
        depth = decode_depth_png(arr, scale=png_scale, offset=png_offset)
    else:
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise InputError(f"{path}: depth must be numeric, got dtype {arr.dtype}")
        depth = arr.astype(np.float32)
        if np.isinf(depth).any():
            raise InputError(f"{path}: depth map holds infinite values")
        if not allow_nan and np.isnan(depth).any():
            n = int(np.isnan(depth).sum())
            raise InputError(f"{path}: depth map holds {n} NaN value(s) where depth is required")
        valid = np.isfinite(depth) & (depth != invalid_value)
        depth = np.where(valid, depth, np.float32(0.0)).astype(np.float32)
    if not allow_negative and (depth[valid] < 0).any():
        raise InputError(
            f"{path}: negative depth ({float(depth[valid].min()):g}) where depth must be >= 0"
        )
    return depth, valid
