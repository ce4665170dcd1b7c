"""The web page (``rgb2depth serve``): its files, its refusals, a burst of requests, a browser.

The server runs in this process (a thread) on a free port of 127.0.0.1; requests come
from gradio_client (analytics off) and, in the slow test, from Debian's headless
Chromium driven by playwright (never a downloaded browser). Nothing here reaches
beyond 127.0.0.1: the browser maps every other host name to nothing and the test fails
if the page asks for anything but the server itself (no CDN scripts, no web fonts).

``RGB2DEPTH_SCREENSHOT=path`` also writes the browser test's screenshot to ``path``
(the README's ``docs/images/web-page.png``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

# gradio 6's queue uses pandas options that pandas 3 deprecates: not ours to fix
pytestmark = [
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

MODEL = "faces-light"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-image's astronaut (512x512, one frontal face) as a PNG file."""
    from skimage import data as skdata

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(skdata.astronaut()).save(path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page for ``faces-light`` served on a free port of 127.0.0.1; yields its URL."""
    pytest.importorskip("gradio", reason="the web page needs the optional extra 'web'")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        mp.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        from rgb2depth.web import build_page, close, launch, load_models

        page = build_page(load_models([MODEL]))
        url = launch(page, host="127.0.0.1", port=_free_port())
        try:
            yield url
        finally:
            close(page)


@pytest.fixture(scope="module")
def client(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from gradio_client import Client

    c = Client(
        server,
        verbose=False,
        analytics_enabled=False,
        download_files=str(tmp_path_factory.mktemp("downloads")),
    )
    try:
        yield c
    finally:
        c.close()


def _request(client: Any, photo: Path, *, face: bool = False, model: str = MODEL) -> Any:
    from gradio_client import handle_file

    return client.submit(handle_file(str(photo)), model, face, api_name="/depth")


def test_depth_files_are_predicts_and_a_glb(photo: Path, tmp_path: Path) -> None:
    """The page's files: predict's 16-bit PNG + JSON scale, and a GLB that reloads."""
    trimesh = pytest.importorskip("trimesh")
    from rgb2depth import Predictor
    from rgb2depth.data.io import decode_depth_png
    from rgb2depth.web import depth_files

    p = Predictor.from_pretrained(MODEL)
    whole = depth_files(p, photo, tmp_path / "whole", stem="astro", face=False)
    assert whole.notice == ""
    meta = json.loads(whole.scale.read_text(encoding="utf-8"))
    counts = np.asarray(Image.open(whole.depth))
    assert counts.dtype == np.uint16 and counts.shape == (512, 512)
    depth = decode_depth_png(counts, scale=meta["scale"], offset=meta["offset"])
    np.testing.assert_allclose(depth, p.predict(photo), atol=meta["scale"])
    assert np.asarray(Image.open(whole.color)).shape == (512, 512, 3)
    assert whole.glb is not None
    mesh = trimesh.load(whole.glb, force="mesh")
    assert len(mesh.faces) > 10_000 and mesh.visual.vertex_colors.shape[0] == len(mesh.vertices)
    lo, hi = p.depth_range
    z = -np.asarray(mesh.vertices)[:, 2] * 1000.0  # metres in the file, looking down -z
    assert lo - 1 <= z.min() and z.max() <= hi + 1

    faces = depth_files(p, photo, tmp_path / "faces", stem="astro", face=True)
    assert faces.notice.startswith("1 face(s): frontal")
    assert json.loads(faces.scale.read_text(encoding="utf-8"))["faces"]
    assert faces.glb is not None
    assert 0 < len(trimesh.load(faces.glb, force="mesh").faces) < len(mesh.faces)


def test_face_mode_follows_the_model(tmp_path: Path) -> None:
    """The checkbox starts on for a model trained on face crops, off otherwise."""
    pytest.importorskip("gradio", reason="the web page needs the optional extra 'web'")
    import gradio as gr

    from rgb2depth.inference import bundled_model_dir
    from rgb2depth.web import build_page, load_models

    crops = tmp_path / "crops"
    shutil.copytree(bundled_model_dir(MODEL), crops)
    config = json.loads((crops / "config.json").read_text(encoding="utf-8"))
    config["input"]["framing"] = "face"
    (crops / "config.json").write_text(json.dumps(config), encoding="utf-8")
    for models, expected in (([str(crops), MODEL], True), ([MODEL, str(crops)], False)):
        page = build_page(load_models(models))
        try:
            boxes = [b for b in page.blocks.values() if isinstance(b, gr.Checkbox)]
            assert [b.value for b in boxes] == [expected]
        finally:
            shutil.rmtree(page.rgb2depth_workdir)


def test_eight_requests_at_once_are_all_answered(client: Any, photo: Path) -> None:
    t0 = time.perf_counter()
    jobs = [_request(client, photo, face=i % 2 == 1) for i in range(8)]
    results = [job.result(timeout=120) for job in jobs]
    elapsed = time.perf_counter() - t0
    assert len(results) == 8
    for i, (color, glb, downloads, status) in enumerate(results):
        assert Path(color).is_file() and Path(glb).suffix == ".glb"
        names = sorted(Path(d).name for d in downloads)
        assert names == [
            "astronaut_depth.json",
            "astronaut_depth.png",
            "astronaut_mesh.glb",
            "astronaut_mesh.json",
        ]
        assert "astronaut.png" in status and ("1 face(s)" in status) == (i % 2 == 1)
    print(f"8 concurrent requests answered in {elapsed:.1f} s")


def test_bad_uploads_get_a_message_and_the_server_keeps_serving(
    client: Any, server: str, photo: Path, tmp_path: Path
) -> None:
    import httpx
    from gradio_client.exceptions import AppError

    text = tmp_path / "notes.png"
    text.write_text("a user's notes, not a photo\n", encoding="utf-8")
    with pytest.raises(AppError, match=r"notes\.png: not an image"):
        _request(client, text).result(timeout=60)
    with pytest.raises(AppError, match="unknown model"):
        _request(client, photo, model="faces-heavy").result(timeout=60)
    # over the 20 MB limit: the upload itself is refused (the page says so before sending)
    big = io.BytesIO(b"\0" * (21 * 1000 * 1000))
    response = httpx.post(
        f"{server}gradio_api/upload", files={"files": ("big.png", big, "image/png")}, timeout=60
    )
    assert response.status_code == 413, response.text
    assert "maximum allowed size" in response.text
    color, *_ = _request(client, photo).result(timeout=60)  # still serving
    assert Path(color).is_file()


def test_serve_refuses_a_taken_port(capsys) -> None:
    pytest.importorskip("gradio", reason="the web page needs the optional extra 'web'")
    from rgb2depth.cli.main import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--model", MODEL, "--port", str(port)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"rgb2depth serve: error: cannot serve on 127.0.0.1:{port}")


def _chromium() -> Any:
    """playwright's sync API, or a skip saying what is missing."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no {CHROMIUM}: Debian's chromium is not installed (.ci/run installs it)")
    return pytest.importorskip(
        "playwright.sync_api", reason="playwright (pip, the extra 'web') is not installed"
    )


def _drawn_fraction(png: bytes) -> float:
    """The fraction of pixels of a screenshot that differ from its most common colour."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    return float((np.abs(rgb.astype(int) - background).sum(axis=1) > 30).mean())


@pytest.mark.slow
def test_the_page_in_a_browser(server: str, photo: Path, tmp_path: Path) -> None:
    """A person's path: open the page, upload, press the button, see depth and 3D."""
    sync_api = _chromium()
    outside: list[str] = []

    def note(request: Any) -> None:
        if not request.url.startswith((server, "data:", "blob:")):
            outside.append(request.url)

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("request", note)
            page.goto(server)
            page.locator("#photo input[type=file]").set_input_files(str(photo))
            page.locator("#photo img").wait_for(timeout=10_000)
            face = page.locator("#face input[type=checkbox]")
            assert not face.is_checked()  # faces-light saw whole frames: off by default
            face.check()
            page.locator("#run").click()
            page.wait_for_function(
                "() => { const i = document.querySelector('#depth img');"
                " return i !== null && i.complete && i.naturalWidth > 0; }",
                timeout=20_000,
            )
            page.locator("#status").get_by_text("1 face(s): frontal").wait_for(timeout=10_000)
            links = {}
            for name in ("astronaut_depth.png", "astronaut_depth.json", "astronaut_mesh.glb"):
                link = page.locator(f'#downloads a[download="{name}"]')
                link.wait_for(timeout=10_000)
                links[name] = link.get_attribute("href")
            glb = page.request.get(links["astronaut_mesh.glb"])
            assert glb.ok and glb.body()[:4] == b"glTF"
            canvas = page.locator("#mesh canvas")
            canvas.wait_for(timeout=10_000)
            # the viewer draws the GLB in software WebGL a few seconds late
            deadline, drawn = time.monotonic() + 15.0, 0.0
            while time.monotonic() < deadline:
                drawn = _drawn_fraction(canvas.screenshot())
                if drawn > 0.05:
                    break
                page.wait_for_timeout(500)
            assert drawn > 0.05, f"the 3D view stayed blank ({drawn:.1%} drawn)"
            page.wait_for_timeout(1000)  # let the view settle for the picture
            shot = tmp_path / "web-page.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not outside, f"the page asked for things beyond the server: {outside}"
    assert Image.open(shot).size[0] == 1280
    if os.environ.get("RGB2DEPTH_SCREENSHOT"):
        target = Path(os.environ["RGB2DEPTH_SCREENSHOT"])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
