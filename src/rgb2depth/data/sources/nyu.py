"""NYU Depth v2 -> the folder format (``rgb2depth convert nyu SRC``).

``SRC`` is one of the two forms the dataset is used in (docs/sources/nyu.md):

**The labeled set**: ``nyu_depth_v2_labeled.mat`` (or a folder holding it), MATLAB
v7.3, i.e. HDF5, read with h5py (``pip install "rgb2depth[datasets]"``). MATLAB stores
arrays column-major, so h5py sees them with the axes reversed: ``images`` is
(N, 3, W, H) uint8 and ``depths`` (N, W, H) float32 in metres (the in-painted depth,
N = 1449, H x W = 480 x 640). Each image is transposed back to (H, W, 3) / (H, W).
The split is the official one of the NYU toolbox's ``splits.mat``: the 654 test
indices (``testNdxs``, 1-based) ship with rgb2depth in ``nyu_test_ndxs.txt``; the
795 others are ``train``. A ``splits.mat`` beside the labeled file (``trainNdxs``,
``testNdxs``) is used instead when present. Sample names are the 1-based index,
``0001`` .. ``1449``; the scene (``scenes``, e.g. ``kitchen_0004``) is the group and
``sceneTypes`` (``kitchen``) is recorded as ``scene_type``.

**The 50K training subset** of DenseDepth (``nyu_data.zip``, read in place, or the
folder it unpacks to): ``data/nyu2_train.csv`` and ``data/nyu2_test.csv`` list
``rgb_path,depth_path`` rows relative to the folder holding ``data/``. Train pairs are
``data/nyu2_train/<scene>_out/<n>.jpg`` with an 8-bit grey depth PNG in which 255 is
10 m (depth = v / 255 * 10 m, DenseDepth's ``/255 * maxDepth``); test pairs are
``data/nyu2_test/<nnnnn>_colors.png`` with a 16-bit depth PNG in millimetres. The depth
PNG's bit depth decides which of the two is read. Count 0 is invalid in both. The
scene folder (``<scene>`` without ``_out``) is the group of a train sample; test
samples have no scene name and no group.

Written: RGB as given (labeled set: PNG; 50K set: the source JPEG / PNG bytes
unchanged), depth in metres as 16-bit PNG in millimetres (``png_scale`` 0.001),
``depth_range`` [0.001, 10] (anything outside is invalid), the Kinect intrinsics of
NYU at 480 x 640.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from rgb2depth.data.sources import register_source
from rgb2depth.data.sources._writer import DatasetWriter
from rgb2depth.errors import InputError

LABELED_NAME = "nyu_depth_v2_labeled.mat"
N_LABELED = 1449
"""Images in the labeled set; the official split has 795 train and 654 test."""

TEST_NDXS_FILE = "nyu_test_ndxs.txt"
INTRINSICS = {"fx": 518.8579, "fy": 519.4696, "cx": 325.5824, "cy": 253.7362}
"""NYU's Kinect colour camera, in pixels at 480 x 640 (the NYU toolbox's camera_params)."""
IMAGE_SIZE = (480, 640)
DEPTH_RANGE = (1e-3, 10.0)
PNG_SCALE = 0.001
"""Metres per count of the written depth PNG (millimetre counts)."""
DENSEDEPTH_MAX_M = 10.0
"""An 8-bit depth PNG of the 50K training set: grey level 255 is this many metres."""

LAYOUT = (
    f"{LABELED_NAME} (HDF5, needs rgb2depth[datasets]; official 795/654 split), or "
    "DenseDepth's nyu_data.zip / its folder with data/nyu2_train.csv and data/nyu2_test.csv"
)
_CSVS = {"train": "nyu2_train.csv", "test": "nyu2_test.csv"}
_INSTALL = 'pip install "rgb2depth[datasets]"'


def official_test_ndxs() -> list[int]:
    """The official test indices (1-based ``testNdxs`` of ``splits.mat``), ascending."""
    text = resources.files(__package__).joinpath(TEST_NDXS_FILE).read_text(encoding="utf-8")
    return [int(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _base_info(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "NYU Depth v2",
        "kind": "rooms",
        "depth_units": "m",
        "depth_range": list(DEPTH_RANGE),
        "png_scale": PNG_SCALE,
        "png_offset": 0.0,
        "intrinsics": dict(INTRINSICS),
        "image_size": list(IMAGE_SIZE),
        "extra": {
            "dataset": "NYU Depth Dataset V2 (Silberman et al., ECCV 2012)",
            "url": "https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html",
            **extra,
        },
    }


# --------------------------------------------------------------------------- labeled .mat
def _read_splits_mat(path: Path, n: int) -> dict[int, str]:
    """``splits.mat`` -> ``{1-based index: split}``.

    Raises:
        InputError: unreadable, lacking ``trainNdxs`` / ``testNdxs``, indices outside
            1..n, or an index in both.
    """
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path), variable_names=["trainNdxs", "testNdxs"])
    except (OSError, ValueError, NotImplementedError, TypeError) as e:
        raise InputError(f"{path}: not a readable MATLAB splits.mat ({e})") from None
    plan: dict[int, str] = {}
    for key, split in (("trainNdxs", "train"), ("testNdxs", "test")):
        if key not in mat:
            raise InputError(
                f"{path}: no {key!r}; expected the NYU toolbox's splits.mat with trainNdxs "
                "and testNdxs (1-based indices)"
            )
        values = np.asarray(mat[key], dtype=np.float64).ravel()
        if values.size and (
            not np.all(values == np.round(values)) or values.min() < 1 or values.max() > n
        ):
            raise InputError(f"{path}: {key} must hold whole numbers in 1..{n}")
        for v in values.astype(np.int64):
            if int(v) in plan:
                raise InputError(f"{path}: index {int(v)} is in both trainNdxs and testNdxs")
            plan[int(v)] = split
    return plan


def _h5_strings(f: Any, key: str, n: int) -> list[str] | None:
    """A MATLAB cell array of strings (HDF5 object references), or None when absent."""
    if key not in f:
        return None
    refs = np.asarray(f[key]).ravel()
    if refs.size != n:
        raise InputError(
            f"{f.filename}: {key!r} holds {refs.size} entries for {n} images; expected "
            "one name per image"
        )
    out = []
    for ref in refs:
        try:
            chars = np.asarray(f[ref]).ravel()
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"{f.filename}: {key!r} must hold references to MATLAB strings"
            ) from None
        out.append("".join(chr(int(c)) for c in chars))
    return out


def _labeled_file(src: Path) -> Path:
    if src.is_dir():
        path = src / LABELED_NAME
        if not path.is_file():
            raise InputError(f"{src}: no {LABELED_NAME} in it ({LAYOUT})")
        return path
    return src


def convert_labeled(path: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Convert ``nyu_depth_v2_labeled.mat`` (see the module docstring).

    Raises:
        InputError: h5py missing, not an HDF5 file, ``images`` / ``depths`` missing or
            not (N, 3, W, H) uint8 / (N, W, H), fewer than 1449 images without a
            ``splits.mat`` beside it, a malformed ``splits.mat``.
    """
    try:
        import h5py  # type: ignore[import-untyped]
    except ImportError:
        raise InputError(
            f"{path}: reading NYU's labeled .mat (HDF5) needs h5py: {_INSTALL}"
        ) from None
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise InputError(
            f"{path}: not an HDF5 file; expected {LABELED_NAME} (MATLAB v7.3 = HDF5) with "
            "'images' and 'depths'"
        ) from None
    with f:
        for key in ("images", "depths"):
            if key not in f or not isinstance(f[key], h5py.Dataset):
                raise InputError(
                    f"{path}: no dataset {key!r}; expected {LABELED_NAME} with 'images' "
                    "(N, 3, 640, 480) uint8 and 'depths' (N, 640, 480) in metres"
                )
        images, depths = f["images"], f["depths"]
        if images.ndim != 4 or images.shape[1] != 3 or images.dtype != np.uint8:
            raise InputError(
                f"{path}: 'images' is {images.shape} {images.dtype}; expected (N, 3, W, H) "
                "uint8 as MATLAB v7.3 stores (H, W, 3, N), e.g. (1449, 3, 640, 480)"
            )
        n, _, w, h = images.shape
        if depths.shape != (n, w, h) or depths.dtype.kind != "f":
            raise InputError(
                f"{path}: 'depths' is {depths.shape} {depths.dtype}; expected float "
                f"(N, W, H) = {(n, w, h)} to match 'images' {images.shape}"
            )
        splits_path = path.parent / "splits.mat"
        if splits_path.is_file():
            plan = _read_splits_mat(splits_path, n)
            split_source = f"{splits_path.name} beside the labeled file"
        else:
            if n != N_LABELED:
                raise InputError(
                    f"{path}: holds {n} images; the official split (bundled) indexes the "
                    f"{N_LABELED} of {LABELED_NAME}; put the matching splits.mat "
                    "(trainNdxs, testNdxs) beside it"
                )
            test = set(official_test_ndxs())
            plan = {i: "test" if i in test else "train" for i in range(1, n + 1)}
            split_source = "official NYU toolbox splits.mat (bundled testNdxs)"
        scenes = _h5_strings(f, "scenes", n)
        scene_types = _h5_strings(f, "sceneTypes", n)
        writer.set_info(
            **_base_info(
                {
                    "source_form": "labeled",
                    "depth": "'depths' of the labeled set: in-painted (dense) depth in metres",
                    "split": split_source,
                    "sample_names": "1-based index into the labeled set (MATLAB order)",
                }
            )
        )
        group_splits: dict[str, dict[str, Any]] = {}
        for ndx in tqdm(sorted(plan), desc="nyu", unit="image", disable=not progress):
            split = plan[ndx]
            rgb = np.ascontiguousarray(np.asarray(images[ndx - 1]).transpose(2, 1, 0))
            depth = np.asarray(depths[ndx - 1], dtype=np.float64).T
            meta: dict[str, Any] = {"ndx": ndx}
            if scenes is not None:
                meta["group"] = scenes[ndx - 1]
                g = group_splits.setdefault(scenes[ndx - 1], {"splits": set(), "images": 0})
                g["splits"].add(split)
                g["images"] += 1
                if scene_types is not None:
                    meta["scene_type"] = scene_types[ndx - 1]
                    g["scene_type"] = scene_types[ndx - 1]
            writer.add(split, f"{ndx:04d}", rgb=rgb, depth=depth, meta=meta)
        for scene, g in sorted(group_splits.items()):
            params = {k: v for k, v in g.items() if k != "splits"}
            writer.add_group(scene, "+".join(sorted(g["splits"])), **params)


# --------------------------------------------------------------------------- 50K zip / folder
class _Store:
    """Files of DenseDepth's NYU data, in a zip archive or a folder, by relative path."""

    def __init__(self, src: Path) -> None:
        self.src = src
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        if src.is_file():
            try:
                self.zip = zipfile.ZipFile(src)
            except (zipfile.BadZipFile, OSError) as e:
                raise InputError(f"{src}: not a readable zip archive ({e})") from None
            names = self.zip.namelist()
            self._names = set(names)
            csvs = sorted(
                (n for n in names if PurePosixPath(n).name in _CSVS.values()),
                key=lambda n: (n.count("/"), n),
            )
            if csvs and PurePosixPath(csvs[0]).parent.name == "data":
                self.prefix = str(PurePosixPath(csvs[0]).parent.parent)
                self.prefix = "" if self.prefix == "." else self.prefix + "/"
        else:
            self._names = set()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def where(self, rel: str) -> str:
        """``rel`` as a user can find it: ``archive.zip:member`` or a path."""
        if self.zip is not None:
            return f"{self.src}:{self.prefix}{rel}"
        return str(self.src / rel)

    def exists(self, rel: str) -> bool:
        if self.zip is not None:
            return self.prefix + rel in self._names
        return (self.src / rel).is_file()

    def read(self, rel: str, *, listed_in: str) -> bytes:
        """The bytes of ``rel``.

        Raises:
            InputError: the file is missing (naming the CSV that lists it) or unreadable.
        """
        if not self.exists(rel):
            raise InputError(f"{self.where(rel)} not found (listed in {listed_in})")
        try:
            if self.zip is not None:
                return self.zip.read(self.prefix + rel)
            return (self.src / rel).read_bytes()
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            raise InputError(f"{self.where(rel)}: cannot be read ({e})") from None


def _rows(store: _Store, split: str) -> Iterator[tuple[int, str, str]]:
    """``(line, rgb_path, depth_path)`` of ``data/nyu2_<split>.csv``."""
    rel = f"data/{_CSVS[split]}"
    text = store.read(rel, listed_in="the 50K layout").decode("utf-8", errors="replace")
    for i, row in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) != 2 or not all(cells):
            raise InputError(
                f"{store.where(rel)}:{i}: expected 'rgb_path,depth_path', got {','.join(row)!r}"
            )
        yield i, cells[0].lstrip("/"), cells[1].lstrip("/")


def decode_depth_png(data: bytes, where: str) -> np.ndarray:
    """A depth PNG of the 50K set -> (H, W) float64 metres, 0 where invalid.

    8-bit grey (train): ``v / 255 * 10`` m; 16-bit (test): ``v`` mm. Count 0 is invalid.

    Raises:
        InputError: unreadable, or not a single-channel 8- or 16-bit image.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            mode = img.mode
            arr = np.asarray(img)
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as e:
        raise InputError(f"{where}: not a readable depth PNG ({e})") from None
    if mode == "RGB" and arr.ndim == 3 and (arr == arr[..., :1]).all():
        mode, arr = "L", arr[..., 0]  # a grey image saved with three equal channels
    if mode == "L":
        return arr.astype(np.float64) * (DENSEDEPTH_MAX_M / 255.0)
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        return arr.astype(np.float64) * 0.001
    raise InputError(
        f"{where}: expected a single-channel depth PNG, 8-bit (train: 255 = 10 m) or "
        f"16-bit (test: millimetres), got PIL mode {mode!r}"
    )


def _rgb_size(data: bytes, where: str) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            mode, fmt = img.mode, img.format
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as e:
        raise InputError(f"{where}: not a readable image ({e})") from None
    if fmt not in ("JPEG", "PNG") or mode != "RGB":
        raise InputError(f"{where}: expected an RGB JPEG or PNG, got {fmt} mode {mode!r}")
    return h, w


def _sample_name(split: str, rgb_path: str) -> tuple[str, str | None]:
    """``(name, scene)`` of a row: ``<scene>_<nnnnn>`` for train, ``<nnnnn>`` for test."""
    p = PurePosixPath(rgb_path)
    stem = p.stem
    if stem.endswith("_colors"):
        stem = stem[: -len("_colors")]
    if stem.isdigit():
        stem = f"{int(stem):05d}"
    folder = p.parent.name
    if split == "train" and folder and folder != f"nyu2_{split}":
        scene = folder[: -len("_out")] if folder.endswith("_out") else folder
        return f"{scene}_{stem}", scene
    return stem, None


def convert_50k(src: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Convert DenseDepth's ``nyu_data.zip`` or its folder (see the module docstring).

    Raises:
        InputError: no ``data/nyu2_*.csv``, a malformed row, a listed file missing or
            unreadable, a depth PNG of another kind, RGB and depth of different sizes.
    """
    store = _Store(src)
    try:
        present = [s for s in _CSVS if store.exists(f"data/{_CSVS[s]}")]
        if not present:
            raise InputError(
                f"{src}: no data/nyu2_train.csv or data/nyu2_test.csv; expected {LAYOUT}"
            )
        writer.set_info(
            **_base_info(
                {
                    "source_form": "densedepth-50k",
                    "depth": "train: 8-bit PNG, grey level / 255 * 10 m (quantised in steps "
                    "of 39 mm); test: 16-bit PNG in millimetres",
                    "split": "the archive's nyu2_train.csv / nyu2_test.csv",
                }
            )
        )
        scenes: dict[str, int] = {}
        for split in present:
            csv_where = store.where(f"data/{_CSVS[split]}")
            rows = list(_rows(store, split))
            for line, rgb_rel, depth_rel in tqdm(
                rows, desc=f"nyu {split}", unit="pair", disable=not progress
            ):
                listed = f"{csv_where}:{line}"
                rgb = store.read(rgb_rel, listed_in=listed)
                size = _rgb_size(rgb, store.where(rgb_rel))
                depth = decode_depth_png(
                    store.read(depth_rel, listed_in=listed), store.where(depth_rel)
                )
                if depth.shape != size:
                    raise InputError(
                        f"{store.where(depth_rel)}: depth is {depth.shape} (H, W) but its RGB "
                        f"{rgb_rel} is {size}; the pair must be pixel-aligned"
                    )
                name, scene = _sample_name(split, rgb_rel)
                meta: dict[str, Any] = {"source": rgb_rel}
                if scene is not None:
                    meta["group"] = scene
                    scenes[scene] = scenes.get(scene, 0) + 1
                writer.add(split, name, rgb=rgb, depth=depth, meta=meta)
        for scene, count in sorted(scenes.items()):
            writer.add_group(scene, "train", images=count)
    finally:
        store.close()


@register_source("nyu", title="NYU Depth v2", layout=LAYOUT)
def convert_nyu(src: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Convert NYU Depth v2 in either published form (see the module docstring)."""
    src = Path(src)
    if src.is_dir() and src.name == "data" and (src / _CSVS["train"]).is_file():
        src = src.parent  # the CSV rows start with data/
    if src.is_dir():
        if (src / LABELED_NAME).is_file() and not (src / "data" / _CSVS["train"]).is_file():
            convert_labeled(src / LABELED_NAME, writer, progress=progress)
        else:
            convert_50k(src, writer, progress=progress)
    elif src.suffix.lower() == ".zip" or zipfile.is_zipfile(src):
        convert_50k(src, writer, progress=progress)
    else:
        convert_labeled(_labeled_file(src), writer, progress=progress)
