"""Errors that the user can fix.

Every check on user input (files, shapes, config keys, names) raises
:class:`InputError` with one line that says what was wrong and what is accepted.
The CLI prints that line and exits with status 2; library callers catch it as a
``ValueError``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any


class InputError(ValueError):
    """Bad user input: a missing or corrupt file, a wrong shape, an unknown name.

    The message is a single line meant for the user, e.g.
    ``"depth map data/train/depth/a.png: expected 2-D (H, W), got shape (4, 4, 3)"``.
    """


def keyword_names(fn: Callable[..., Any], *, exclude: Iterable[str] = ()) -> list[str]:
    """The parameters of ``fn`` that can be passed by keyword (no ``*args``/``**kwargs``)."""
    skip = set(exclude)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in kinds and p.name not in skip
    ]


def check_keywords(given: Iterable[str], accepted: Iterable[str], what: str) -> None:
    """Refuse settings ``what`` does not take, naming them and every accepted one.

    Raises:
        InputError: e.g. ``"light_unet got unknown setting(s) 'widht'; accepted
            settings: in_channels, out_channels, channels"``.
    """
    accepted = list(accepted)
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise InputError(
            f"{what} got unknown setting(s) {', '.join(repr(k) for k in unknown)}; "
            f"accepted settings: {', '.join(accepted) or 'none'}"
        )
