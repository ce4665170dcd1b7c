"""Errors that the user can fix.

Every check on user input (files, shapes, config keys, names) raises
:class:`InputError` with one line that says what was wrong and what is accepted.
The CLI prints that line and exits with status 2; library callers catch it as a
``ValueError``.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a missing or corrupt file, a wrong shape, an unknown name.

    The message is a single line meant for the user, e.g.
    ``"depth map data/train/depth/a.png: expected 2-D (H, W), got shape (4, 4, 3)"``.
    """
