"""Measure face mode's detector on synthetic faces and refit the framing's stand-in box.

    python scripts/calibrate_framing.py                # 400 views of seed 0
    python scripts/calibrate_framing.py --n 1000 --seed 3

Renders the previews that ``generate faces --framing face`` renders (the whole frame,
``PREVIEW_SHORT_SIDE`` pixels on its short side), runs face mode's detector on each and
prints, as Markdown:

* the hit rate (a box plausibly this head's, as the generator accepts it), by distance
  and by yaw, and the cost of a preview and of a search;
* the least-squares fit of the detector's frontal boxes to the geometry,
  ``side = f * GEOMETRY_SIDE_MM / (distance_mm + GEOMETRY_DEPTH_MM)``, and the spread
  of the boxes about it (``GEOMETRY_DY``, ``GEOMETRY_JITTER``), beside the values in
  :mod:`rgb2depth.data.synthetic.framing`. Rerun it after the faces' geometry or
  appearance changes, and copy the fitted values there if they moved.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from rgb2depth.data.face_detection import detect_faces
from rgb2depth.data.synthetic import framing as fm
from rgb2depth.data.synthetic import get_kind
from rgb2depth.data.synthetic.generate import scene_rng


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="views (400)")
    ap.add_argument("--seed", type=int, default=0, help="base seed of the views (0)")
    args = ap.parse_args()

    k = get_kind("faces")
    size = (fm.PREVIEW_SHORT_SIDE, fm.PREVIEW_SHORT_SIDE)
    f = k.intrinsics(*size)["fx"]
    hits: list[tuple[float, float, bool]] = []
    fit: list[tuple[float, float, float, float]] = []  # distance, side, dx, dy from the origin
    t_render = t_detect = 0.0
    for i in range(args.n):
        group = k.sample_group(scene_rng(args.seed, "faces", 0, i // k.views_per_group))
        params = k.sample_view(scene_rng(args.seed, "faces", 1, i))
        t0 = time.perf_counter()
        preview = k.render_view(group, params, *size)
        t1 = time.perf_counter()
        boxes = detect_faces(preview.rgb)
        t2 = time.perf_counter()
        t_render, t_detect = t_render + t1 - t0, t_detect + t2 - t1
        expected = fm.geometry_box(k, params, size)
        plausible = [b for b in boxes if fm._plausible(b, expected)]
        hits.append((params["distance_mm"], abs(params["yaw_deg"]), bool(plausible)))
        ex, ey = expected.centre  # back to where the head's origin projects
        ey -= fm.GEOMETRY_DY * expected.side
        for b in plausible:
            if b.kind == "frontal":
                fit.append((params["distance_mm"], b.side, b.centre[0] - ex, b.centre[1] - ey))

    n_hit = sum(h for *_, h in hits)
    print(f"views: {args.n} (seed {args.seed}), preview {size[1]}x{size[0]}")
    print(
        f"detector hit rate: {n_hit}/{args.n} = {n_hit / args.n:.0%}; preview render "
        f"{t_render / args.n * 1000:.0f} ms, full search {t_detect / args.n * 1000:.0f} ms\n"
    )
    print("| distance (mm) | views | hits | | |yaw| (deg) | views | hits |")
    print("|---|---:|---:|---|---|---:|---:|")
    d_edges, y_edges = (500, 750, 1000, 1250, 1501), (0, 10, 20, 30, 41)
    for j in range(4):
        d = [h for dist, _, h in hits if d_edges[j] <= dist < d_edges[j + 1]]
        y = [h for _, yaw, h in hits if y_edges[j] <= yaw < y_edges[j + 1]]
        print(
            f"| {d_edges[j]}-{d_edges[j + 1] - 1} | {len(d)} | {sum(d)} | | "
            f"{y_edges[j]}-{y_edges[j + 1] - 1} | {len(y)} | {sum(y)} |"
        )
    if len(fit) < 10:
        print(f"\nonly {len(fit)} frontal boxes: too few to fit")
        return
    a = np.array(fit)
    design = np.stack([a[:, 0], np.ones(len(a))], axis=1)
    (slope, icpt), *_ = np.linalg.lstsq(design, 1.0 / a[:, 1], rcond=None)
    side_mm, depth_mm = 1.0 / (f * slope), icpt / slope
    side = f * side_mm / (a[:, 0] + depth_mm)
    ratio = a[:, 1] / side
    dy = float(np.median(a[:, 3] / side))
    shift = np.concatenate([a[:, 2], a[:, 3] - dy * side]) / np.concatenate([side, side])
    print(f"\nfit on {len(a)} frontal boxes (framing.py's values in brackets):")
    print(
        f"- GEOMETRY_SIDE_MM {side_mm:.0f} ({fm.GEOMETRY_SIDE_MM:g}), "
        f"GEOMETRY_DEPTH_MM {depth_mm:.0f} ({fm.GEOMETRY_DEPTH_MM:g})"
    )
    p5, p50, p95 = np.percentile(ratio, [5, 50, 95])
    print(f"- box side / fitted side: median {p50:.2f}, 5th-95th percentile {p5:.2f}-{p95:.2f}")
    print(
        f"- centre offset (box sides): x median {np.median(a[:, 2] / side):+.2f}, "
        f"y median {dy:+.2f} (GEOMETRY_DY {fm.GEOMETRY_DY:g})"
    )
    print(
        f"- GEOMETRY_JITTER ({shift.std():.2f}, {np.log(ratio).std():.2f}) "
        f"({fm.GEOMETRY_JITTER[0]:g}, {fm.GEOMETRY_JITTER[1]:g})"
    )
    if not math.isfinite(side_mm):
        raise SystemExit("the fit failed")


if __name__ == "__main__":
    main()
