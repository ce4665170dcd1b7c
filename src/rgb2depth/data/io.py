"""Reading and writing images and depth maps, with checks and atomic writes.

Readers return numpy arrays and raise :class:`~rgb2depth.errors.InputError` with
one line naming the file for anything wrong with it. Writers go through a
temporary file in the same folder and rename it into place, so a failure never
leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from rgb2depth.errors import InputError

MAX_PIXELS = 50_000_000
"""Largest image accepted (50 megapixels); bigger ones are refused before decoding."""


# --------------------------------------------------------------------------- writing
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _blocked_by(folder: Path) -> Path | None:
    """The file in the way of creating ``folder`` (``folder`` itself or a parent), or None."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing if existing.exists() and not existing.is_dir() else None


def check_writable(folder: str | Path, *, what: str = "output folder", hint: str = "") -> None:
    """Make sure files can be written in ``folder``, without creating it.

    A missing ``folder`` is checked through its nearest existing parent (the writers
    create it with their first file), so a command that fails leaves no empty folder.

    Args:
        folder: where files will be written.
        what: how the message names it (``"output folder"``, ``"log.out"``).
        hint: appended to the message after ``;`` (what is accepted).

    Raises:
        InputError: ``folder`` or a parent of it is a file, or it cannot be written.
    """
    folder = Path(folder)
    tail = f"; {hint}" if hint else ""
    blocked = _blocked_by(folder)
    if blocked is not None:
        why = "it is a file" if blocked == folder else f"{blocked} is a file"
        raise InputError(f"cannot write to {what} {folder}: {why}{tail}")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"cannot write to {what} {folder}: {e.strerror or e}{tail}") from None


def check_writable_file(path: str | Path, *, what: str = "output file") -> None:
    """Make sure the file ``path`` can be written (atomically), without writing it.

    Raises:
        InputError: ``path`` is a folder, a parent of it is a file, or its folder
            cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot write {what} {path}: it is a folder; give a file name")
    check_writable(path.parent, what=f"the folder of {what}")


def _cannot_write(path: Path, e: OSError) -> InputError:
    blocked = _blocked_by(path.parent)
    why = f"{blocked} is a file" if blocked is not None else (e.strerror or e)
    return InputError(f"cannot write {path}: {why}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _cannot_write(path, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


# The temporary folders of atomic_dir are named ``.<target>.<pid>@<host>.<random>.tmp``
# (``<host>``: 8 hex digits of the crc32 of the host name), and ``....<random>.old.tmp``
# for a replaced target on its way out; a killed writer's leftovers are recognised by
# that name alone: this host, a process that no longer exists.
_OWNED_TMP = re.compile(r"\.(\d+)@([0-9a-f]{8})\.[a-z0-9_]+(?:\.old)?\.tmp")


def _host_tag() -> str:
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}@{_host_tag()}."


def _pid_alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return True  # never judge ourselves or a nonsense pid dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        return True
    return True


def _remove_any(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove what :func:`atomic_dir` left beside ``path`` in processes that died.

    Only names :func:`atomic_dir` makes for this very ``path`` count, and only those
    of a process of this host that no longer runs: a live writer's folder, another
    host's (a shared disk) and anything named otherwise are left alone.

    Returns:
        The paths removed.
    """
    path = Path(path)
    head, host = f".{path.name}", _host_tag()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(head):
            continue
        m = _OWNED_TMP.fullmatch(entry.name[len(head) :])
        if m is None or m.group(2) != host or _pid_alive(int(m.group(1))):
            continue
        _remove_any(Path(entry.path))
        removed.append(Path(entry.path))
    return removed


def _non_empty(path: Path) -> bool:
    return os.path.lexists(path) and (path.is_symlink() or not path.is_dir() or any(path.iterdir()))


@contextlib.contextmanager
def atomic_dir(
    path: str | Path,
    *,
    overwrite: bool = False,
    replaceable: Callable[[Path], None] | None = None,
    fsync: bool = False,
) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it to ``path`` on success.

    The temporary folder's name records this process and host; on entry, those
    left for ``path`` by processes of this host that died (killed, power cut) are
    removed (:func:`remove_stale_temporaries`). An existing ``path`` is swapped
    out by renames, so ``path`` always holds either the old or the new folder.

    Args:
        path: the folder to create.
        overwrite: replace an existing ``path`` (a non-empty folder or a file).
        replaceable: called with ``path`` before an existing ``path`` is replaced,
            at the start and again just before the swap; raises
            :class:`~rgb2depth.errors.InputError` to refuse, deleting nothing.
        fsync: before the rename, flush every file of the folder and the folder itself
            to the disk, and the parent folder after it, so that after a power cut
            ``path`` is the old folder or the complete new one, never one with empty or
            partly written files (a rename alone does not order the writes before it on
            every file system).

    Raises:
        InputError: ``path`` exists and is not empty while ``overwrite`` is False
            (also when it became so while the folder was being written), ``replaceable``
            refused it, or its parent cannot be written.
    """
    path = Path(path)
    refusal = f"output folder {path} exists and is not empty (pass --overwrite)"
    if _non_empty(path) and not overwrite:
        raise InputError(refusal)
    if overwrite and replaceable is not None and os.path.lexists(path):
        replaceable(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=path.parent))
    except OSError as e:
        raise _cannot_write(path, e) from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
        for f in tmp.rglob("*"):  # some writers (safetensors) make 0600 files
            if f.is_file() and not f.is_symlink():
                os.chmod(f, 0o666 & ~_umask())
        if fsync:
            sync_tree(tmp)
        if not os.path.lexists(path):
            os.replace(tmp, path)
        else:
            if not overwrite and _non_empty(path):  # filled while we were writing
                raise InputError(refusal)
            if overwrite and replaceable is not None:
                replaceable(path)
            old = path.parent / f"{_tmp_prefix(path)}{secrets.token_hex(4)}.old.tmp"
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            _remove_any(old)
        if fsync:
            sync_path(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sync_path(path: str | Path) -> None:
    """``fsync`` one file or folder (a folder's entries: creations, renames).

    Folders cannot be opened for syncing on some systems (Windows); there it does nothing.
    """
    flags = os.O_RDONLY
    if os.path.isdir(path):
        flags |= getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(path, flags)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    except OSError as e:  # EINVAL: a folder or file system that cannot be synced
        if e.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def sync_tree(folder: str | Path) -> None:
    """``fsync`` every file under ``folder``, then every folder, deepest first."""
    folder = Path(folder)
    dirs = [folder]
    for entry in sorted(folder.rglob("*")):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            dirs.append(entry)
        elif entry.is_file():
            sync_path(entry)
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        sync_path(d)


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
def _open_image_header(path: Path) -> Image.Image:
    """Open ``path`` with PIL (header only) and check its size; pixels not yet decoded."""
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
    return img


def _decode(img: Image.Image, path: Path) -> Image.Image:
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{path}: corrupt or truncated image ({e})") from None
    return img


def _open_image(path: Path) -> Image.Image:
    return _decode(_open_image_header(path), path)


_ORIENTATION = 0x0112  # the EXIF orientation tag
_SWAPS_AXES = (5, 6, 7, 8)  # orientations that turn the stored image by 90 degrees


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation (1..8) of an opened image; 1 when absent or unreadable."""
    try:
        value = img.getexif().get(_ORIENTATION, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except (OSError, SyntaxError, ValueError, TypeError):
        return 1  # unreadable EXIF: the image as stored, as most viewers show it


def fit_within(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """(H, W) ``size`` scaled (up or down) to fit inside the (H, W) ``box``, aspect kept.

    The long side (relative to the box) fills the box; the other is rounded, at least 1.
    The one rule for letterboxing (:class:`~rgb2depth.inference.predictor.Predictor`).
    """
    h, w = size
    s = min(box[0] / h, box[1] / w)
    return max(1, min(box[0], round(h * s))), max(1, min(box[1], round(w * s)))


def open_rgb(
    path: str | Path, *, fit: tuple[int, int] | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """Read an RGB image as a PIL image in its displayed orientation, and its (H, W).

    The EXIF orientation tag (phone photos) is applied, so the image is upright as a
    viewer shows it; gray and RGBA inputs are converted to RGB.

    Args:
        path: an image file (PNG, JPEG, or another format PIL reads).
        fit: an (H, W) box the caller will shrink the image into (see :func:`fit_within`);
            a JPEG is then decoded at the smallest reduced scale (1/2, 1/4, 1/8) that is
            still at least that size, so a large photo never occupies full-size memory.

    Returns:
        image: RGB, upright; smaller than (H, W) only when ``fit`` allowed a reduced decode.
        size: the image's full (H, W), upright.

    Raises:
        InputError: missing, empty, corrupt, truncated, non-image, 16-bit or over 50 MP.
    """
    path = Path(path)
    img = _open_image_header(path)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise InputError(
            f"{path}: a 16-bit or float image (PIL mode {img.mode}) is not an RGB photo; "
            "expected 8-bit RGB, RGBA or gray"
        )
    w, h = img.size
    if fit is not None and img.format == "JPEG":  # a JPEG's EXIF is in its header
        turned = _orientation(img) in _SWAPS_AXES
        th, tw = fit_within((w, h) if turned else (h, w), fit)
        img.draft(None, (th, tw) if turned else (tw, th))  # stored (W, H); PIL keeps >=
    img = _decode(img, path)
    orientation = _orientation(img)  # after decoding: a PNG may hold it after IDAT
    if orientation in _SWAPS_AXES:
        h, w = w, h
    if orientation != 1:
        try:
            img = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError, TypeError) as e:
            raise InputError(f"{path}: cannot apply its EXIF orientation ({e})") from None
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img, (h, w)


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an RGB image as (H, W, 3) uint8, upright as displayed (see :func:`open_rgb`).

    Raises:
        InputError: missing, empty, corrupt, truncated, non-image, 16-bit or over 50 MP.
    """
    img, _ = open_rgb(path)
    return np.asarray(img, dtype=np.uint8)


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
    invalid_value: float | None = 0.0,
    allow_negative: bool = False,
    allow_nan: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a depth map as ``(depth, valid)``.

    Args:
        path: ``.png`` (16-bit counts, decoded with ``png_scale``/``png_offset``),
            ``.npy`` or ``.tif``/``.tiff`` (float or integer values in units).
        png_scale, png_offset: the PNG encoding (see :mod:`rgb2depth.data.format`).
        invalid_value: value marking invalid pixels in ``.npy``/``.tiff`` files (None:
            only NaN marks them).
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
        valid = np.isfinite(depth)
        if invalid_value is not None:
            valid &= depth != invalid_value
        depth = np.where(valid, depth, np.float32(0.0)).astype(np.float32)
    if not allow_negative and (depth[valid] < 0).any():
        raise InputError(
            f"{path}: negative depth ({float(depth[valid].min()):g}) where depth must be >= 0"
        )
    return depth, valid
