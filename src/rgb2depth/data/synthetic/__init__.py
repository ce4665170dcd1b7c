"""Procedural RGB-D scenes: the project's embedded default data (no download).

Kinds: ``faces`` (procedural heads, mm), ``surfaces`` (honed cylinder-liner
height fields, µm) and ``rooms`` (indoor boxes with furniture, m). See
:mod:`rgb2depth.data.synthetic.base` for the renderer contract and
:func:`generate` for the writer.
"""

from __future__ import annotations

from rgb2depth.data.synthetic.base import RenderedSample, SceneKind
from rgb2depth.data.synthetic.faces import Faces
from rgb2depth.data.synthetic.generate import generate, parse_size
from rgb2depth.data.synthetic.rooms import Rooms
from rgb2depth.data.synthetic.surfaces import Surfaces
from rgb2depth.errors import InputError

SCENE_KINDS: dict[str, type[SceneKind]] = {k.name: k for k in (Faces, Surfaces, Rooms)}
"""Every scene kind by name: the one list the CLI, the benchmarks and the tests use."""


def get_kind(name: str) -> SceneKind:
    """A new instance of the kind called ``name``.

    Raises:
        InputError: unknown name; the message lists the known kinds.
    """
    try:
        return SCENE_KINDS[name]()
    except KeyError:
        raise InputError(
            f"unknown scene kind {name!r}; known kinds: {', '.join(SCENE_KINDS)}"
        ) from None


__all__ = ["SCENE_KINDS", "RenderedSample", "SceneKind", "generate", "get_kind", "parse_size"]
