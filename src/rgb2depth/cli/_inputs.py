"""The per-input loop that ``predict`` and ``reconstruct`` share, defined once.

Every readable input is processed: a bad one (missing, not an image, corrupt, no face
in face mode) gets one stderr line naming it, the others their complete outputs, and
the exit status is 2 if any input was bad, after a summary line. A single input that is
bad is the whole story: its line alone (an :class:`InputError`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def collect_inputs(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """The image files of ``inputs`` and one message per input that is not usable.

    Raises:
        InputError: two inputs would write the same outputs (nothing is written).
    """
    from rgb2depth.errors import InputError

    files: list[Path] = []
    bad: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                bad.append(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            bad.append(f"input not found: {path}")
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems and stems[f.stem] != f:
            raise InputError(f"two inputs would write the same outputs: {stems[f.stem]} and {f}")
        stems[f.stem] = f
    return list(stems.values()), bad


def run_on_inputs(
    command: str,
    args: argparse.Namespace,
    *,
    compute: Callable[[Any, Path], Any],
    write: Callable[[Any, Path, Any], None],
    wrote: Callable[[Any, int], str],
) -> int:
    """Run ``compute(predictor, path)`` on every input of ``args.inputs``, then
    ``write(predictor, path, result)``; print ``wrote(predictor, n_done)`` and the summary.

    The model (``args.model`` on ``args.device``) is loaded only when some input is an
    image; ``args.face`` left None becomes the model's own default (face mode for a model
    trained on face crops). An :class:`InputError` from ``compute`` marks that input bad.

    Returns:
        The exit status: 0, or 2 if any input was bad.
    """
    import sys

    from tqdm.auto import tqdm

    from rgb2depth.cli._options import load_predictor
    from rgb2depth.errors import InputError
    from rgb2depth.inference.outputs import check_writable

    files, bad = collect_inputs(args.inputs)
    if bad and len(bad) + len(files) == 1:
        raise InputError(bad[0])  # one input, and it is bad: its line is the whole story

    def report(message: str) -> None:
        tqdm.write(f"rgb2depth {command}: error: {message}", file=sys.stderr)

    for message in bad:
        report(message)
    done = 0
    if files:
        predictor = load_predictor(args)
        if args.face is None:
            args.face = predictor.framing == "face"
        check_writable(Path(args.out))
        bar = tqdm(files, desc=command, unit="img", disable=args.quiet or len(files) < 2)
        for path in bar:
            try:
                result = compute(predictor, path)
            except InputError as e:  # this input is bad; the others still get their outputs
                if len(files) == 1 and not bad:
                    raise
                bad.append(str(e))
                report(str(e))
                continue
            write(predictor, path, result)
            done += 1
        print(wrote(predictor, done))
    if bad:
        total = done + len(bad)
        print(
            f"rgb2depth {command}: error: {len(bad)} of {total} input(s) failed (listed "
            f"above); {done} succeeded",
            file=sys.stderr,
        )
        return 2
    return 0
