"""Regenerate the real-photo gallery: docs/gallery.md and its images, with one command.

    python scripts/gallery.py                     # the model `rgb2depth demo` uses by default
    python scripts/gallery.py --model runs/mine/model --out /tmp/gallery

For each photo of ``docs/gallery/photos`` (their sources and licences are in its
PROVENANCE.json), ``rgb2depth predict`` (in face mode when the command has it) gives the
depth; the face's crop window (the whole photo without face mode) becomes a mesh over its
pixels (:func:`rgb2depth.geometry.grid_mesh`, back-projected with the camera the model
assumes: ``--fov`` degrees across the short side of what the model saw) and is drawn
from the front and turned left and right (:func:`rgb2depth.geometry.render_mesh`). One
image per photo: the photo | the predicted depth (near = warm) | shaded relief, front |
shaded relief, turned | the photo's colours on the mesh, turned the other way.
Nothing is downloaded; a run takes well under a minute on two CPU cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "docs/gallery/photos"
TILE = 256
"""Height of every tile of a gallery image, pixels."""
MESH_SIDE = 128
"""The depth map is resampled to at most this many pixels on its long side for the mesh
(about the network's own resolution: finer grids only add the creases of upsampling)."""
LIGHT = (-0.5, -0.6, -0.6)
"""Towards the light (camera coordinates: from the upper left, raking, so relief shows)."""


def _subcommand(name: str) -> argparse.ArgumentParser:
    from rgb2depth.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def default_model() -> str:
    """The model ``rgb2depth demo`` uses when given none (looked up, not repeated here)."""
    return str(_subcommand("demo").get_default("model"))


def has_face_mode() -> bool:
    """Whether ``rgb2depth predict`` has ``--face``."""
    return any("--face" in a.option_strings for a in _subcommand("predict")._actions)


def _resize(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of an (H, W) float or (H, W, 3) uint8 array."""
    from PIL import Image

    img = Image.fromarray(a.astype(np.float32) if a.ndim == 2 else a)
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR))


def _fit_height(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    return _resize(img, height, max(1, round(w * height / h))).copy()


def _window(meta: dict, shape: tuple[int, int], face: bool) -> tuple[int, int, int, int]:
    """(x, y, w, h) of what the model saw: the largest face's crop window, or the photo."""
    if face:
        faces = meta.get("faces") or []
        if faces:
            best = max(faces, key=lambda f: f["box"][2] * f["box"][3])
            x, y, w, h = (round(v) for v in best["window"])
            return x, y, w, h
    return 0, 0, shape[1], shape[0]


def gallery_image(
    rgb: np.ndarray,
    depth: np.ndarray,
    window: tuple[int, int, int, int],
    *,
    fov_deg: float = 35.0,
    yaw_deg: float = 35.0,
    letterbox: bool = False,
) -> np.ndarray:
    """One gallery row: photo | depth | relief front | relief turned | colours turned.

    Args:
        rgb: (H, W, 3) uint8 photo.
        depth: (H, W) depth, NaN or <= 0 where there is none.
        window: (x, y, w, h) the region the model saw, photo pixels (may extend beyond it).
        fov_deg: the model's field of view across the short side of what it saw.
        yaw_deg: the turn of the 3D views.
        letterbox: the model saw the window padded to a square (the whole-photo
            letterbox), so the field of view spans its long side.

    Returns:
        (TILE, W, 3) uint8.
    """
    from rgb2depth.geometry import Intrinsics, grid_mesh, render_mesh
    from rgb2depth.viz import colorize_depth

    height, width = depth.shape
    x, y, w, h = window
    # the camera the model assumes, in photo pixels
    side = max(w, h) if letterbox else min(w, h)
    f = side / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    cam = Intrinsics(f, f, x + w / 2.0, y + h / 2.0)
    # show the part of the window inside the photo
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, width), min(y + h, height)
    d = np.asarray(depth[y0:y1, x0:x1], dtype=np.float64)
    c = rgb[y0:y1, x0:x1]
    valid = np.isfinite(d) & (d > 0)
    cam = Intrinsics(cam.fx, cam.fy, cam.cx - x0, cam.cy - y0)
    # a coarser grid for the mesh (the network's output is coarser still)
    ch, cw = d.shape
    s = min(1.0, MESH_SIDE / max(ch, cw))
    mh, mw = max(2, round(ch * s)), max(2, round(cw * s))
    # resampled over valid pixels only: (depth x valid) / valid, both bilinear
    weight = _resize(valid.astype(np.float32), mh, mw).astype(np.float64)
    vm = weight > 0.5
    dm = _resize(np.where(valid, d, 0.0), mh, mw) / np.maximum(weight, 1e-6)
    mesh = grid_mesh(dm, cam.scaled(mw / cw, mh / ch), valid=vm, rgb=_resize(c, mh, mw))
    th, tw = TILE, max(1, round(cw * TILE / ch))
    tcam = cam.scaled(tw / cw, th / ch)
    center = None
    if mesh.vertices.shape[0]:
        # turn about the middle of the face: the median of the nearest half of the mesh
        zs = mesh.vertices[:, 2]
        center = np.median(mesh.vertices[zs <= np.median(zs)], axis=0)
    views = [
        render_mesh(
            mesh, tcam, th, tw, yaw_deg=yaw, mode=mode, center=center, light=LIGHT, supersample=2
        )
        for yaw, mode in ((0.0, "relief"), (yaw_deg, "relief"), (-yaw_deg, "shaded"))
    ]
    colour = colorize_depth(np.where(valid, d, 0.0), valid)
    photo = _fit_height(rgb, TILE)
    if (x0, y0, x1, y1) != (0, 0, width, height):  # outline what the model saw
        k = TILE / height
        r0, r1 = round(y0 * k), max(round(y0 * k) + 2, round(y1 * k)) - 2
        c0, c1 = round(x0 * k), max(round(x0 * k) + 2, round(x1 * k)) - 2
        for sl in (
            (slice(r0, r0 + 2), slice(c0, c1 + 2)),
            (slice(r1, r1 + 2), slice(c0, c1 + 2)),
            (slice(r0, r1 + 2), slice(c0, c0 + 2)),
            (slice(r0, r1 + 2), slice(c1, c1 + 2)),
        ):
            photo[sl] = (60, 220, 60)
    tiles = [photo, _fit_height(colour, TILE)] + [v.image for v in views]
    gap = np.full((TILE, 6, 3), 255, np.uint8)
    row = [tiles[0]]
    for t in tiles[1:]:
        row += [gap, t]
    return np.concatenate(row, axis=1)


def _credit(rec: dict) -> str:
    via = rec["via"]
    commit = f" at {via['commit'][:12]}" if len(str(via.get("commit", ""))) == 40 else ""
    return (
        f"Photo: {rec['author']}. Licence: {rec['licence']}. Source: {rec['source']}; "
        f"taken from {via['repo']}{commit}, `{via['path']}`; {rec['changes']}."
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="bundled name or model folder (default: demo's)")
    ap.add_argument("--photos", type=Path, default=PHOTOS, help="photos + PROVENANCE.json")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "docs", help="writes OUT/gallery.md, OUT/gallery/"
    )
    face = ap.add_mutually_exclusive_group()
    face.add_argument("--face", dest="face", action="store_true", default=None)
    face.add_argument("--no-face", dest="face", action="store_false")
    ap.add_argument("--fov", type=float, default=35.0, help="model's field of view, degrees (35)")
    ap.add_argument("--yaw", type=float, default=35.0, help="turn of the 3D views, degrees (35)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)

    from PIL import Image

    from rgb2depth.data.io import read_rgb

    model = a.model or default_model()
    face_mode = has_face_mode() if a.face is None else a.face
    prov_file = a.photos / "PROVENANCE.json"
    if not prov_file.is_file():
        print(
            f"gallery: error: {prov_file} not found (source and licence of each photo)",
            file=sys.stderr,
        )
        return 2
    prov = json.loads(prov_file.read_text(encoding="utf-8"))
    photos = [a.photos / rec["file"] for rec in prov.values()]
    missing = [str(p) for p in photos if not p.is_file()]
    if missing:
        print(
            f"gallery: error: photo listed in PROVENANCE.json not found: {missing[0]}",
            file=sys.stderr,
        )
        return 2
    img_dir = a.out / "gallery"
    img_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp)
        cmd = [sys.executable, "-m", "rgb2depth", "predict", *map(str, photos), "--model", model]
        cmd += ["--out", str(pred), "--npy", "--quiet", "--device", a.device]
        cmd += ["--face"] if face_mode else ["--no-face"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        said = res.stderr.strip().splitlines()
        if res.returncode not in (0, 2) or not any(pred.glob("*_depth.npy")):
            reason = said[-1] if said else f"exit status {res.returncode}"
            print(f"gallery: error: rgb2depth predict gave no depth: {reason}", file=sys.stderr)
            return 2 if res.returncode == 2 else 1
        entries: list[tuple[str, dict, str | None]] = []
        for key, rec in prov.items():
            stem = Path(rec["file"]).stem
            npy = pred / f"{stem}_depth.npy"
            if not npy.is_file():
                why = [line for line in said if rec["file"] in line] or ["no output"]
                print(f"  {rec['file']}: no depth ({why[0]})")
                entries.append((key, rec, None))
                continue
            meta = json.loads((pred / f"{stem}_depth.json").read_text())
            rgb = read_rgb(a.photos / rec["file"])
            depth = np.load(npy)
            row = gallery_image(
                rgb,
                depth,
                _window(meta, depth.shape, face_mode),
                fov_deg=a.fov,
                yaw_deg=a.yaw,
                letterbox=not face_mode,
            )
            name = f"{stem}.jpg"
            Image.fromarray(row).save(img_dir / name, quality=88)
            entries.append((key, rec, name))
            print(f"  {rec['file']} -> {img_dir / name}")
    write_markdown(a.out / "gallery.md", entries, model, face_mode, a)
    print(
        f"wrote {a.out / 'gallery.md'} and {len([e for e in entries if e[2]])} images in {img_dir}"
    )
    return 0


def write_markdown(
    path: Path, entries: list, model: str, face_mode: bool, a: argparse.Namespace
) -> None:
    rel = "gallery"
    mode_text = " in face mode (`--face`)" if face_mode else " on the whole photo"
    prov = Path(os.path.relpath(a.photos.resolve() / "PROVENANCE.json", path.parent.resolve()))
    cmd = "python scripts/gallery.py" + ("" if a.model is None else f" --model {a.model}")
    lines = [
        "# Real-photo gallery",
        "",
        f"Depth predicted by `{model}`{mode_text} "
        "for real photographs of different people whose licences allow showing them "
        "(sources and licences below each image and in "
        f"[{prov.as_posix()}]({prov.as_posix()})). "
        f"Regenerate this page and its images with `{cmd}`.",
        "",
        "Each row: the photo (in the green box: the face's crop window, what the model saw) | "
        "the predicted depth of that window (near = warm, "
        "no depth = black) | the depth as a mesh, shaded, seen from the front | the same "
        f"turned {a.yaw:g}° | the photo's colours on the mesh, turned {a.yaw:g}° the other way. "
        f"The mesh is back-projected with the camera the model assumes ({a.fov:g}° across "
        "the short side of what it saw) and drops triangles across depth jumps of more "
        "than 5 % (`rgb2depth.geometry.grid_mesh`); the views are drawn by "
        "`rgb2depth.geometry.render_mesh`.",
        "",
        "There is no measured depth for these photos; the figures that follow a model's "
        "progress on real faces come from `scripts/face_proxy_eval.py` (agreement with "
        "MediaPipe's face mesh).",
        "",
    ]
    for key, rec, name in entries:
        lines.append(f"### {key} ({rec['notes']})")
        lines.append("")
        if name is None:
            lines.append("No depth: the model found no face in this photo.")
        else:
            lines.append(f"![{key}]({rel}/{name})")
        lines.append("")
        lines.append(_credit(rec))
        if "BY-SA" in rec["licence"]:
            lines.append(
                "The images above, made from this photo, are shared under the same licence "
                f"({rec['licence']})."
            )
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
