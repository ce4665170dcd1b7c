"""The web page (``rgb2depth serve``): drop a photo, see its depth and its 3D surface.

>>> from rgb2depth.web import build_page, close, launch, load_models, serve
>>> page = build_page(load_models(["faces-light"]))
>>> url = launch(page, host="127.0.0.1", port=7860)  # in a thread; close(page) stops it
>>> serve(["faces-light"])                           # all of it, until Ctrl-C

A person uploads a photo (up to :data:`MAX_UPLOAD_MB` MB), picks a model and face mode
(on by default for a model trained on face crops), and gets the colourised depth, an
interactive 3D view of its mesh (a GLB in gradio's ``Model3D``), and downloads: the
16-bit depth PNG with its scale JSON and the mesh (GLB, with its JSON), the files of
``rgb2depth predict --mesh grid``. The work is :func:`depth_files`, which calls the
library alone (:func:`rgb2depth.demo.predict_image`, :mod:`rgb2depth.inference.outputs`,
:mod:`rgb2depth.inference.reconstruct`); the page is its form.

Bad input never stops the server: a file that is not an image, or is corrupt, too large
(over :data:`MAX_UPLOAD_MB` MB, refused by the upload itself, or over 50 megapixels)
gets a one-line message on the page (a gradio error). Requests wait in a queue and
:data:`CONCURRENCY` run at a time, so a burst of uploads is answered in turn.

Nothing is fetched from the internet, by the server or by the page: gradio's analytics
and version check are off (``GRADIO_ANALYTICS_ENABLED=False``, set before gradio is
imported), no share link, no server-side rendering, and the default theme's fonts and
the 3D viewer ship inside the gradio wheel (the browser test checks that the page
requests nothing but the server itself).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CONCURRENCY",
    "LAUNCH_OPTIONS",
    "MAX_UPLOAD_MB",
    "PageFiles",
    "build_page",
    "close",
    "depth_files",
    "launch",
    "load_models",
    "serve",
]

MAX_UPLOAD_MB = 20
"""The largest upload the page accepts, in MB (``serve --max-upload-mb``)."""

CONCURRENCY = 2
"""Predictions that run at once (the machine's cores are shared); the rest queue."""

QUEUE_SIZE = 64
"""Requests that may wait in the queue; one more is told the page is busy."""

_KEEP_S = 3600.0
"""How long a request's files (and gradio's copies of the upload and the results) stay
on the server, in seconds."""


def _no_analytics() -> None:
    """Turn gradio's analytics (and with them its version check) off; called before
    gradio is first imported."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def load_models(
    names: list[str], *, device: str = "auto", backend: str | None = None
) -> dict[str, Any]:
    """Load each model (a bundled name, a saved model folder or an exported ``.onnx``)
    once: name -> Predictor, running on ``backend`` (see
    :mod:`rgb2depth.inference.backends`; default torch, onnx for a ``.onnx``).

    Raises:
        InputError: an unknown model, a broken model folder, or a backend this machine
            cannot run (before anything is served).
    """
    from rgb2depth.inference import Predictor

    return {
        str(name): Predictor.from_pretrained(name, device=device, backend=backend) for name in names
    }


@dataclass
class PageFiles:
    """What the page shows and offers for one photo (files in one folder).

    Attributes:
        color: ``STEM_depth_color.png``, the colourised depth (near = warm, no depth black).
        depth: ``STEM_depth.png``, 16-bit; ``depth = offset + scale * count``, count 0 = none.
        scale: ``STEM_depth.json``, its scale, offset and units (and the faces in face mode).
        glb: ``STEM_mesh.glb``, the coloured mesh in metres, or None where no surface was
            left (no depth, or no triangle).
        mesh_json: ``STEM_mesh.json``, the mesh's camera and frame, or None with ``glb``.
        notice: one line on what was done (the faces found, or the whole image), or "".
    """

    color: Path
    depth: Path
    scale: Path
    glb: Path | None
    mesh_json: Path | None
    notice: str


def depth_files(
    predictor: Any,
    image: str | Path,
    out: Path,
    *,
    stem: str = "photo",
    face: bool | None = None,
    tta: str | None = None,
    lock: AbstractContextManager[Any] | None = None,
) -> PageFiles:
    """Predict depth for an image file and write the page's files into ``out``: those of
    ``rgb2depth predict --mesh grid`` (:class:`PageFiles`), the mesh made by
    :func:`rgb2depth.inference.reconstruct.reconstruct_depth` with the model's camera.
    ``lock``, if given, is held while the model runs (OpenCV's face detector is not
    meant to be shared between threads; the rest runs concurrently).

    Raises:
        InputError: the file is not a readable image (missing, corrupt, not an image,
            over 50 megapixels), with a message that names ``image``.
    """
    import numpy as np

    from rgb2depth.data.io import read_rgb
    from rgb2depth.demo import predict_image
    from rgb2depth.inference.outputs import write_depth_outputs
    from rgb2depth.inference.reconstruct import reconstruct_depth, write_mesh_outputs

    rgb = read_rgb(image)
    with lock or nullcontext():
        result = predict_image(predictor, rgb, face=face, tta=tta)
    depth_png, scale, color = write_depth_outputs(
        out, stem, result.depth, predictor, extra=result.extra
    )
    glb = mesh_json = None
    if np.isfinite(result.depth).any():
        rec = reconstruct_depth(predictor, rgb, result.depth, faces=result.faces)
        if len(rec.mesh.faces):
            glb, mesh_json = write_mesh_outputs(out, stem, rec, fmt="glb")
    return PageFiles(color, depth_png, scale, glb, mesh_json, result.notice)


def _shown(name: str) -> str:
    """An upload's name as the page shows it: odd characters replaced, 80 at most (the
    page renders messages as HTML and Markdown)."""
    shown = re.sub(r"[^A-Za-z0-9 _.()+-]+", "_", name)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _refuse(message: str, title: str) -> Exception:
    """A message for the page (a gradio error, shown until closed), logged in one line."""
    import sys

    import gradio as gr

    print(f"rgb2depth serve: refused: {message}", file=sys.stderr, flush=True)
    return gr.Error(html.escape(message), duration=None, title=title, print_exception=False)


def _stem(name: str | None) -> str:
    """A safe file stem from an upload's own name (letters, digits, ``-_.``; 60 at most)."""
    stem = Path(name or "photo").stem
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._")[:60]
    return stem or "photo"


class _Page:
    """The page's handler: the loaded models, a lock each, and a folder for the files."""

    def __init__(self, predictors: dict[str, Any], max_upload_mb: float) -> None:
        self.predictors = predictors
        self.locks = {name: threading.Lock() for name in predictors}
        self.max_bytes = int(max_upload_mb * 1_000_000)
        self.max_upload_mb = max_upload_mb
        self.work = Path(tempfile.mkdtemp(prefix="rgb2depth-web-"))

    def face_default(self, model: str) -> bool:
        predictor = self.predictors.get(model)
        return predictor is not None and predictor.framing == "face"

    def _prune(self) -> None:
        """Remove request folders older than ``_KEEP_S`` (gradio keeps its own copies)."""
        now = time.time()
        for folder in self.work.iterdir():
            try:
                if now - folder.stat().st_mtime > _KEEP_S:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                pass

    def run(self, photo: Any, model: Any, face: Any) -> tuple[Any, ...]:
        """One request: (colour depth, GLB, downloads, status). Bad input -> gr.Error."""
        from rgb2depth.errors import InputError

        if not photo:
            raise _refuse("upload a photo first", "No photo")
        path = Path(photo["path"] if isinstance(photo, dict) else photo)
        name = _shown((photo.get("orig_name") if isinstance(photo, dict) else None) or path.name)
        if model not in self.predictors:
            raise _refuse(
                f"unknown model {_shown(str(model))!r}; this page serves "
                f"{', '.join(self.predictors)}",
                "Unknown model",
            )
        try:
            size = path.stat().st_size
        except OSError:
            raise _refuse(f"{name}: the upload was not received; try again", "Upload") from None
        if size > self.max_bytes:
            raise _refuse(
                f"{name}: {size / 1e6:.1f} MB is over the page's limit of "
                f"{self.max_upload_mb:g} MB",
                "Photo too large",
            )
        self._prune()
        out = Path(tempfile.mkdtemp(prefix="req-", dir=self.work))
        t0 = time.perf_counter()
        try:
            files = depth_files(
                self.predictors[model],
                path,
                out,
                stem=_stem(name),
                face=bool(face),
                lock=self.locks[model],
            )
        except InputError as e:  # the reader names the server's copy: name the upload
            shutil.rmtree(out, ignore_errors=True)
            raise _refuse(str(e).replace(str(path), name), "Not a usable photo") from None
        predictor = self.predictors[model]
        lo, hi = predictor.depth_range
        status = (
            f"**{name}**: depth by `{model}` in {predictor.units} "
            f"(colours from {lo:g} near, warm, to {hi:g} far; black: no depth)"
            f"{'; ' + files.notice if files.notice else ''}. "
            f"{time.perf_counter() - t0:.1f} s."
        )
        downloads = [str(f) for f in (files.depth, files.scale, files.glb, files.mesh_json) if f]
        glb = str(files.glb) if files.glb is not None else None
        return str(files.color), glb, downloads, status


def build_page(predictors: dict[str, Any], *, max_upload_mb: float = MAX_UPLOAD_MB) -> Any:
    """The page (a ``gradio.Blocks``, queued) for the loaded models, first one selected.

    Serve it with :func:`launch` (``Blocks.launch`` with :data:`LAUNCH_OPTIONS` and the
    upload limit) and stop it with :func:`close`.
    """
    _no_analytics()
    import gradio as gr

    if not predictors:
        raise ValueError("the page needs at least one model")
    page = _Page(predictors, max_upload_mb)
    first = next(iter(predictors))
    # gradio's copies of uploads and results are deleted after _KEEP_S as well
    keep = (int(_KEEP_S) // 6, int(_KEEP_S))
    with gr.Blocks(title="rgb2depth", analytics_enabled=False, delete_cache=keep) as blocks:
        gr.Markdown(
            "# rgb2depth: depth from a single photo\n"
            f"Upload a photo (PNG, JPEG, ...; up to {max_upload_mb:g} MB), pick a model, "
            "and press **Estimate depth**. Face mode predicts each detected face from a "
            "crop around it (no depth elsewhere); it is on by default for models "
            "trained on face crops. The photo is processed on this server alone."
        )
        with gr.Row():
            with gr.Column():
                photo = gr.Image(
                    label="Photo",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    elem_id="photo",
                )
                with gr.Row():
                    model = gr.Dropdown(
                        choices=list(predictors), value=first, label="Model", elem_id="model"
                    )
                    face = gr.Checkbox(
                        value=page.face_default(first), label="Face mode", elem_id="face"
                    )
                button = gr.Button("Estimate depth", variant="primary", elem_id="run")
            with gr.Column():
                depth = gr.Image(
                    label="Depth (near = warm)",
                    type="filepath",
                    interactive=False,
                    elem_id="depth",
                )
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            # turned 22 degrees from the camera that took the photo: the relief shows
            view = gr.Model3D(
                label="3D (drag to turn)",
                height=420,
                camera_position=(112, 80, None),
                elem_id="mesh",
            )
            files = gr.File(
                label="Downloads: 16-bit depth PNG and its scale (JSON), mesh (GLB, JSON)",
                file_count="multiple",
                interactive=False,
                elem_id="downloads",
            )
        model.change(page.face_default, model, face, api_visibility="private", queue=False)
        # preprocess=False: the upload reaches page.run as gradio's file record, read by
        # rgb2depth's own reader, so a non-image gets rgb2depth's message, not PIL's.
        button.click(
            page.run,
            [photo, model, face],
            [depth, view, files, status],
            api_name="depth",
            preprocess=False,
            concurrency_limit=CONCURRENCY,
        )
    blocks.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    blocks.rgb2depth_workdir = page.work  # type: ignore[attr-defined]
    return blocks


LAUNCH_OPTIONS: dict[str, Any] = {
    "share": False,
    "ssr_mode": False,
    "inbrowser": False,
    "quiet": True,
    "show_error": False,
    "pwa": False,
    "mcp_server": False,
    "footer_links": ["api"],
}
"""Options of ``Blocks.launch`` for a page that reaches nothing outside this machine."""


def launch(blocks: Any, *, host: str, port: int, max_upload_mb: float = MAX_UPLOAD_MB) -> str:
    """Start the page's server on ``host:port`` in a background thread; return its URL.

    Raises:
        InputError: the port is taken or the address cannot be bound.
    """
    from rgb2depth.errors import InputError

    try:
        blocks.launch(
            server_name=host,
            server_port=port,
            max_file_size=f"{max_upload_mb:g}mb",
            prevent_thread_lock=True,
            **LAUNCH_OPTIONS,
        )
    except OSError:  # gradio: "Cannot find empty port in range: 7860-7860"
        raise InputError(
            f"cannot serve on {host}:{port}: the port is in use, or the address is not one "
            "of this machine's; choose another --port or --host"
        ) from None
    return f"http://{host}:{port}/"


def close(blocks: Any) -> None:
    """Stop the page's server and remove its request files."""
    blocks.close(verbose=False)
    shutil.rmtree(blocks.rgb2depth_workdir, ignore_errors=True)


def serve(
    models: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "auto",
    max_upload_mb: float = MAX_UPLOAD_MB,
    backend: str | None = None,
) -> None:
    """Load the models (on ``backend``, :func:`load_models`), build the page and serve it
    until interrupted (Ctrl-C, or SIGTERM: both raise KeyboardInterrupt here, after which
    the server is closed and its files removed).

    Raises:
        InputError: an unknown model, or the address cannot be served (before serving).
    """
    import signal

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    blocks = build_page(
        load_models(models, device=device, backend=backend), max_upload_mb=max_upload_mb
    )
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        url = launch(blocks, host=host, port=port, max_upload_mb=max_upload_mb)
        local = host in ("127.0.0.1", "localhost", "::1")
        print(
            f"serving {url} (models: {', '.join(models)}; uploads up to "
            f"{max_upload_mb:g} MB; {CONCURRENCY} at a time, the rest queue"
            f"{'' if local else '; reachable from other machines'}); Ctrl-C stops",
            flush=True,
        )
        while blocks.is_running:
            time.sleep(0.2)
    finally:
        signal.signal(signal.SIGTERM, previous)
        close(blocks)
