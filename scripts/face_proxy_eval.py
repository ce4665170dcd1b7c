"""How closely models' depth follows the face relief MediaPipe sees in real photos.

    python scripts/face_proxy_eval.py PHOTOS [--models faces-light ...] [--every 3]

For a folder of real face photographs with no measured depth, this runs, per model,
``rgb2depth predict`` (with ``--face`` when the command has face mode, unless ``--no-face``)
and scores the predictions with the face_proxy tool of ``../shared/tools/face_proxy``:
MediaPipe Face Mesh gives a dense pseudo-depth of the inner face, and ``agreement.py``
reports per photo the Pearson r and the normalised RMSE after a least-squares scale and
shift (0 = the same relief, 1 = no better than a flat plane). It prints a table of the
median r, median nrmse and the number of photos per model, and writes it (with every
per-photo row) to ``--out``; ``--tta none,flip`` scores every model without and with
flip test-time augmentation. Two baselines are scored the same way: ``flat`` (a
constant depth: r 0, nrmse 1 by construction) and ``ellipsoid`` (a half-ellipsoid head on
the face box OpenCV's frontal cascade finds: what a generic convex blob scores).

Read the figures as the tool's README says: the proxy ranks models as real depth error
does while they are far from good, and saturates near r 0.9 (MediaPipe's own accuracy);
it covers the inner face only. The project's held-out benchmark uses measured depth.

What it needs (nothing is downloaded when it runs):

- MediaPipe, in its own virtual environment outside the project (its pins clash with
  the project's), at ``../mp-venv`` beside the repository or given by ``--mp-python``::

      python3 -m venv ../mp-venv
      ../mp-venv/bin/pip install absl-py attrs flatbuffers matplotlib "protobuf<5" \\
          "opencv-python-headless<5" numpy scipy
      ../mp-venv/bin/pip install --no-deps mediapipe==0.10.14

- The face_proxy scripts at ``../shared/tools/face_proxy`` (or ``--proxy``).
- Photos. Two public-domain / openly licensed sets were used:
  ``docs/gallery/photos`` (15 photos, in the repository; sources and licences in its
  PROVENANCE.json), and the official portraits of members of the US Congress (public
  domain, US Government Publishing Office), 879 photos of 225 x 275 pixels in the
  repository ``Hainish/congress-images-225x275`` on GitHub (folder ``images/``): clone it
  outside this repository and give ``--every 3`` to score every third photo in name
  order (293 photos; the other two thirds are left for training on unpaired photos).

Pseudo-depth is cached in ``--work`` (default ``outputs/face_proxy/NAME``) and reused while
the photo list is unchanged; predictions are made anew each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from rgb2depth.cli._inputs import IMAGE_SUFFIXES

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ("flat", "ellipsoid")


class Fail(Exception):
    """A one-line reason to stop (exit status 2)."""


def predict_has_face_mode() -> bool:
    """Whether ``rgb2depth predict`` accepts ``--face`` (face mode)."""
    from rgb2depth.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return any("--face" in a.option_strings for a in sub.choices["predict"]._actions)


def select_photos(folder: Path, every: int, offset: int) -> list[Path]:
    if not folder.is_dir():
        raise Fail(f"photo folder not found: {folder}")
    photos = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    photos = photos[offset::every]
    if not photos:
        raise Fail(f"{folder}: no photos ({', '.join(IMAGE_SUFFIXES)}) selected")
    return photos


def link_photos(photos: list[Path], dest: Path) -> None:
    """The selected photos as one folder (symlinks), for the tools that take a folder."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for p in photos:
        (dest / p.name).symlink_to(p.resolve())


def pseudo_depth(photo_dir: Path, photos: list[Path], out: Path, mp_python: str, proxy: Path):
    """MediaPipe pseudo-depth for the photos, reused while the list of photos is the same."""
    stamp = out / "photos.json"
    names = [p.name for p in photos]
    if stamp.is_file() and json.loads(stamp.read_text()) == names:
        return
    if out.exists():
        shutil.rmtree(out)
    cmd = [mp_python, str(proxy / "mediapipe_depth.py"), str(photo_dir), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise Fail(f"mediapipe_depth.py failed: {tail}")
    print("  pseudo-depth:", res.stdout.strip().splitlines()[-1])
    stamp.write_text(json.dumps(names))


def sanitise(pred_dir: Path, photos: list[Path]) -> None:
    """Write PRED/NAME.npy with NaN wherever the model gave no depth (0, negative or not
    finite), the file agreement.py reads first."""
    for p in photos:
        src = pred_dir / f"{p.stem}_depth.npy"
        if src.is_file():
            d = np.load(src).astype(np.float32)
            d[~(np.isfinite(d) & (d > 0))] = np.nan
            np.save(pred_dir / f"{p.stem}.npy", d)


def pred_folder(name: str, kind: str) -> str:
    """The folder under WORK/pred for a model or baseline: the whole name, so that model
    folders such as runs/a/model and runs/b/model do not share one (``/`` -> ``--``)."""
    folder = name.strip("/").replace("/", "--").replace("\\", "--")
    return f"baseline--{folder}" if kind == "baseline" else folder


def predict(
    model: str, photo_dir: Path, out: Path, face: bool, device: str, tta: str = "none"
) -> None:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "rgb2depth", "predict", str(photo_dir), "--model", model]
    cmd += ["--out", str(out), "--npy", "--quiet", "--device", device, "--tta", tta] + (
        ["--face"] if face else ["--no-face"]
    )
    res = subprocess.run(cmd, capture_output=True, text=True)
    # exit 2 with some outputs: photos without a face in face mode; they count as missing
    if res.returncode not in (0, 2) or not any(out.glob("*_depth.npy")):
        tail = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise Fail(f"rgb2depth predict --model {model} failed: {tail}")


def _ellipsoid(rgb: np.ndarray, cascade) -> np.ndarray | None:
    """A half-ellipsoid head bulging towards the camera on the largest face box, NaN
    elsewhere; None when no face is found."""
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    if len(faces) == 0:
        return None
    x, y, bw, bh = max(faces, key=lambda b: b[2] * b[3])
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    # semi-axes 0.55 x 0.75 box sides, centred a little above the box centre
    r2 = ((xx - (x + bw / 2)) / (0.55 * bw)) ** 2 + ((yy - (y + 0.45 * bh)) / (0.75 * bh)) ** 2
    bulge = np.sqrt(np.clip(1.0 - r2, 0.0, None))
    return np.where(r2 < 1.0, 1.0 - 0.1 * bulge, np.nan).astype(np.float32)


def baseline(kind: str, photos: list[Path], out: Path) -> None:
    """Depth maps of a baseline: ``flat`` (constant) or ``ellipsoid`` (see :func:`_ellipsoid`;
    a photo without a found face gets no file and counts as missing)."""
    from PIL import Image

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cascade = None
    if kind == "ellipsoid":
        import cv2

        cascade = cv2.CascadeClassifier(
            os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        )
    for p in photos:
        with Image.open(p) as im:
            rgb = np.asarray(im.convert("RGB"))
        depth = np.ones(rgb.shape[:2], np.float32) if cascade is None else _ellipsoid(rgb, cascade)
        if depth is not None:
            np.save(out / f"{p.stem}.npy", depth)


def agreement(pred_dir: Path, pseudo: Path, mp_python: str, proxy: Path) -> dict:
    js = pred_dir / "agreement.json"
    cmd = [mp_python, str(proxy / "agreement.py"), str(pred_dir), str(pseudo), "--json", str(js)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise Fail(f"agreement.py failed on {pred_dir}: {tail}")
    return json.loads(js.read_text())


def _high_pass(x: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """x minus its Gaussian blur (sigma pixels) taken over the valid pixels only."""
    from scipy.ndimage import gaussian_filter

    w = gaussian_filter(valid.astype(np.float64), sigma)
    blur = gaussian_filter(np.where(valid, x, 0.0).astype(np.float64), sigma) / np.maximum(w, 1e-9)
    return x - blur


def texture_copy(pred_dir: Path, pseudo: Path, photos: list[Path]) -> dict:
    """How much of the photo's fine texture the depth copies, on the inner face.

    Per photo, on the pixels where both the prediction and MediaPipe's mesh have depth:
    the Pearson r between the fine detail (high-pass: minus a Gaussian blur of sigma =
    1/20 of the region's size) of the depth and of the photo's luminance, taken at least
    2 sigma inside the region (its edge would correlate with anything), sign flipped so
    that "darker reads as farther" (the texture-copying failure: pupils, brows, lips as
    holes) is positive. A smooth half-ellipsoid scores about 0; real relief gives some
    such correlation (shading darkens recesses), so compare models with each other.
    """
    from PIL import Image
    from scipy.ndimage import binary_erosion

    values = []
    for p in photos:
        f = pred_dir / f"{p.stem}.npy"
        g = pseudo / f"{p.stem}.npy"
        if not (f.is_file() and g.is_file()):
            continue
        depth = np.load(f).astype(np.float64)
        region = np.isfinite(depth) & np.isfinite(np.load(g))
        if region.sum() < 100:
            continue
        with Image.open(p) as im:
            lum = np.asarray(im.convert("L").resize(depth.shape[::-1]), np.float64)
        sigma = np.sqrt(region.sum()) / 20
        inner = binary_erosion(region, iterations=int(np.ceil(2 * sigma)))
        a = _high_pass(np.where(region, depth, 0.0), region, sigma)[inner]
        b = _high_pass(lum, region, sigma)[inner]
        if a.size > 50 and a.std() > 0 and b.std() > 0:
            values.append(-float(np.corrcoef(a, b)[0, 1]))
    return {"texture_r_median": float(np.median(values)) if values else float("nan")}


def paired(first: dict, other: dict) -> dict:
    """Photo by photo, ``other`` against ``first`` (per-photo rows of agreement.py): on how
    many of the photos both scored it has the higher r, and the median changes of r and
    nrmse."""
    both = sorted(set(first) & set(other))
    dr = [other[k]["r"] - first[k]["r"] for k in both]
    dn = [other[k]["nrmse"] - first[k]["nrmse"] for k in both]
    return {
        "n": len(both),
        "r_higher": sum(d > 0 for d in dr),
        "dr_median": float(np.median(dr)) if both else float("nan"),
        "dnrmse_median": float(np.median(dn)) if both else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="See the module docstring (the top of this file) for the set-up.",
    )
    ap.add_argument("photos", type=Path, help="a folder of face photographs")
    ap.add_argument(
        "--models", nargs="+", default=["faces-light"], help="bundled names or model folders"
    )
    ap.add_argument(
        "--baselines",
        nargs="*",
        default=list(BASELINES),
        choices=BASELINES,
        help="baselines to score too (flat ellipsoid)",
    )
    face = ap.add_mutually_exclusive_group()
    face.add_argument("--face", dest="face", action="store_true", default=None)
    face.add_argument("--no-face", dest="face", action="store_false")
    ap.add_argument("--every", type=int, default=1, help="score every N-th photo in name order")
    ap.add_argument("--offset", type=int, default=0, help="start at this photo (0)")
    ap.add_argument("--device", default="cpu", help="for rgb2depth predict (cpu)")
    ap.add_argument(
        "--tta",
        default="none",
        help="for rgb2depth predict: none, flip, or both as none,flip (every model each way)",
    )
    ap.add_argument("--mp-python", default=None, help="python of the MediaPipe venv")
    ap.add_argument("--proxy", type=Path, default=ROOT.parent / "shared/tools/face_proxy")
    ap.add_argument("--work", type=Path, default=None, help="working folder")
    ap.add_argument(
        "--out", type=Path, default=None, help="JSON of the results (WORK/results.json)"
    )
    a = ap.parse_args(argv)
    try:
        if a.every < 1 or a.offset < 0:
            raise Fail("--every must be >= 1 and --offset >= 0")
        ttas = [t.strip() for t in a.tta.split(",") if t.strip()]
        if not ttas or any(t not in ("none", "flip") for t in ttas) or len(set(ttas)) < len(ttas):
            raise Fail(f"--tta {a.tta!r}: use none, flip or none,flip")
        mp_python = (
            a.mp_python or os.environ.get("MP_PYTHON") or str(ROOT.parent / "mp-venv/bin/python")
        )
        if not Path(mp_python).is_file():
            raise Fail(
                f"no MediaPipe python at {mp_python}: set up its venv (see --help), "
                "or give --mp-python"
            )
        for tool in ("mediapipe_depth.py", "agreement.py"):
            if not (a.proxy / tool).is_file():
                raise Fail(f"{a.proxy / tool} not found: give --proxy DIR (the face_proxy folder)")
        photos = select_photos(a.photos, a.every, a.offset)
        face_mode = predict_has_face_mode() if a.face is None else a.face
        if face_mode and not predict_has_face_mode():
            raise Fail("this rgb2depth has no face mode (predict --face)")
        work = a.work or ROOT / "outputs/face_proxy" / "-".join(a.photos.resolve().parts[-2:])
        photo_dir = work / "photos"
        link_photos(photos, photo_dir)
        print(f"{len(photos)} photos from {a.photos} (every {a.every}, offset {a.offset})")
        pseudo = work / "pseudo"
        pseudo_depth(photo_dir, photos, pseudo, mp_python, a.proxy)
        n_pseudo = len(list(pseudo.glob("*.npy")))
        rows = []
        models = [(m, t) for m in a.models for t in ttas]
        entries = [(m, "model", t) for m, t in models]
        entries += [(b, "baseline", "none") for b in a.baselines]
        for name, kind, tta in entries:
            pred = work / "pred" / pred_folder(name, kind)
            if tta != "none":
                pred = pred.with_name(f"{pred.name}--tta-{tta}")
            if kind == "model":
                predict(name, photo_dir, pred, face_mode, a.device, tta)
                sanitise(pred, photos)
                label = f"{name}{' --face' if face_mode else ''}"
                label += f" --tta {tta}" if tta != "none" else ""
            else:
                baseline(name, photos, pred)
                label = f"baseline: {name}"
            res = agreement(pred, pseudo, mp_python, a.proxy)
            s = {**res["summary"], **texture_copy(pred, pseudo, photos)}
            rows.append({"name": label, **s, "per_photo": res["rows"]})
        print(f"\nMediaPipe agreement on {n_pseudo} photos with a face mesh ({a.photos})")
        print(f"| {'model':32s} | median r | median nrmse | n photos | texture r |")
        print(f"|{'-' * 34}|---------:|-------------:|---------:|----------:|")
        for r in rows:
            figures = f"{r['r_median']:8.3f} | {r['nrmse_median']:12.3f} | {r['n']:8d}"
            figures += f" | {r['texture_r_median']:9.3f}"
            print(f"| {r['name']:32s} | {figures} |")
        for r in rows[1 : len(models)]:
            c = r["vs_first"] = paired(rows[0]["per_photo"], r["per_photo"])
            print(
                f"{r['name']} against {rows[0]['name']}, photo by photo: higher r on "
                f"{c['r_higher']} of {c['n']}, median change of r {c['dr_median']:+.4f}, "
                f"of nrmse {c['dnrmse_median']:+.4f}"
            )
        out = a.out or work / "results.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"photos": str(a.photos), "every": a.every, "offset": a.offset, "face": face_mode}
        meta["tta"] = ttas
        out.write_text(json.dumps({**meta, "results": rows}, indent=1))
        print(f"wrote {out}")
    except Fail as e:
        print(f"face_proxy_eval: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
