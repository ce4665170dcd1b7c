"""Converters from published datasets to the folder format (``rgb2depth convert``).

Each dataset the seeds use has one module here that reads the dataset's own published
layout and writes the folder format of :mod:`rgb2depth.data.format` through a
:class:`~rgb2depth.data.sources._writer.DatasetWriter`. A module registers itself with
:func:`register_source`; :func:`convert` is the one entry point (the CLI calls it).

A converter is a function ``(src: Path, writer: DatasetWriter, *, progress: bool) ->
None`` that reads ``src`` and calls ``writer.set_info``, ``writer.add`` (and
``writer.add_group``) for every sample; :func:`convert` makes the output folder
atomically (nothing is left at ``out`` when a converter fails). A malformed source
raises :class:`~rgb2depth.errors.InputError` naming the file and what was expected.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rgb2depth.data.format import DatasetInfo
from rgb2depth.data.sources._writer import CONVERTER_KEY, DatasetWriter
from rgb2depth.errors import InputError

__all__ = ["SOURCES", "DatasetWriter", "Source", "convert", "get_source", "register_source"]

# Modules holding one converter each, imported on first use (so that ``--help`` and
# unrelated commands do not import h5py or scipy.io).
_MODULES = ("nyu", "texas", "biwi", "pandora", "surreal", "bosphorus", "celebamask")

Converter = Callable[..., None]


@dataclass(frozen=True)
class Source:
    """A published dataset that ``rgb2depth convert`` reads.

    Attributes:
        name: the name on the command line (``nyu``, ``texas``, ...).
        title: the dataset's own name (``NYU Depth v2``).
        layout: one line saying what ``SRC`` must be (shown by ``convert --help``).
        convert: the converter (see the module docstring).
    """

    name: str
    title: str
    layout: str
    convert: Converter


SOURCES: dict[str, Source] = {}


def register_source(name: str, *, title: str, layout: str) -> Callable[[Converter], Converter]:
    """Register the decorated converter as ``rgb2depth convert NAME``."""

    def wrap(fn: Converter) -> Converter:
        if name in SOURCES:
            raise ValueError(f"source {name!r} is registered twice")
        SOURCES[name] = Source(name, title, layout, fn)
        return fn

    return wrap


def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"rgb2depth.data.sources.{module}")


def source_names() -> tuple[str, ...]:
    """The registered dataset names, in a stable order (not the order of import)."""
    _load_all()
    rank = {name: i for i, name in enumerate(_MODULES)}
    return tuple(sorted(SOURCES, key=lambda n: (rank.get(n, len(rank)), n)))


def get_source(name: str) -> Source:
    """The :class:`Source` called ``name``.

    Raises:
        InputError: an unknown name; the message lists the known ones.
    """
    _load_all()
    if name not in SOURCES:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(source_names())}")
    return SOURCES[name]


def not_replaceable(out: str | Path) -> str | None:
    """Why ``convert --overwrite`` must not replace ``out`` (None: it may)."""
    from rgb2depth.data.format import read_info

    out = Path(out)
    if not out.is_dir():
        return "it is not a folder"
    try:
        info = read_info(out)
    except InputError:
        return "it holds no readable dataset.json"
    if CONVERTER_KEY not in info.extra:
        return "its dataset.json was not written by rgb2depth convert"
    return None


def check_replaceable(out: str | Path) -> None:
    """Refuse to replace ``out`` unless ``rgb2depth convert`` wrote it.

    Raises:
        InputError: one line saying what ``out`` holds.
    """
    why = not_replaceable(out)
    if why is not None:
        raise InputError(
            f"refusing to overwrite {out}: {why}; --overwrite replaces only a folder that "
            "rgb2depth convert wrote; choose another --out or move it away yourself"
        )


def convert(
    name: str,
    src: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> DatasetInfo:
    """Convert the dataset ``name`` found at ``src`` into the folder ``out``.

    Args:
        name: a registered source (:func:`source_names`).
        src: the dataset as published (a folder, or a file for some datasets).
        out: the dataset folder to create; written atomically.
        overwrite: replace an ``out`` that ``rgb2depth convert`` wrote before.
        progress: show progress bars.

    Returns:
        The :class:`DatasetInfo` written to ``out/dataset.json``.

    Raises:
        InputError: an unknown name, a missing or malformed source (the message names
            the file and what was expected), or an ``out`` that cannot be written.
    """
    from rgb2depth.data.io import atomic_dir, check_writable

    source = get_source(name)
    src = Path(src)
    if not src.exists():
        raise InputError(f"{src} does not exist ({source.title}: {source.layout})")
    check_writable(Path(out).parent if Path(out).parent != Path() else Path("."))
    with atomic_dir(out, overwrite=overwrite, replaceable=check_replaceable) as tmp:
        writer = DatasetWriter(tmp, source=name, src=src)
        source.convert(src, writer, progress=progress)
        info = writer.finish()
    return info
