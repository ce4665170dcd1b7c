"""A turntable of a dataset sample's own (true) depth: the geometry without a model.

    rgb2depth generate rooms --n 4 --size 320x240 --seed 0 --out /tmp/rooms --quiet
    python scripts/depth_turntable.py /tmp/rooms --out docs/images/turntable-room.gif

Reads one sample of a dataset folder (docs/dataset-format.md): its photo, its depth
(``rgb2depth.data.io.read_depth``) and its camera from the dataset's metadata
(:meth:`rgb2depth.geometry.Intrinsics.from_dataset`: ``dataset.json``, or the sample's line
of ``meta.jsonl`` for face-framed data); back-projects it to a coloured mesh that drops
the triangles across depth jumps (:func:`rgb2depth.geometry.grid_mesh`) and renders a
swing of views (:func:`rgb2depth.geometry.turntable`) into a looping GIF, or into PNG
frames when ``--out`` is a folder. ``rgb2depth reconstruct --views`` does the same for a
photo and a model's predicted depth. Nothing is downloaded; seconds on one CPU core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="a dataset folder")
    p.add_argument("--split", default=None, help="the split (test if present, else the first)")
    p.add_argument("--sample", default=None, help="the sample's name (default: the first)")
    p.add_argument("--out", required=True, help="a .gif file, or a folder for PNG frames")
    p.add_argument("--views", type=int, default=16, help="number of views (16)")
    p.add_argument("--max-yaw", type=float, default=20.0, help="swing to each side, deg (20)")
    p.add_argument("--size", type=int, default=240, help="long side of the views, px (240)")
    p.add_argument("--max-jump", type=float, default=0.05, help="relative depth jump (0.05)")
    p.add_argument("--frame-ms", type=int, default=120, help="GIF frame duration, ms (120)")
    args = p.parse_args(argv)

    from PIL import Image

    from rgb2depth.data.format import list_split, read_info
    from rgb2depth.data.io import read_depth, read_rgb, save_png
    from rgb2depth.errors import InputError
    from rgb2depth.geometry import Intrinsics, grid_mesh, turntable

    try:
        info = read_info(args.data)
        if args.split is None:
            args.split = "test" if "test" in info.splits else info.splits[0]
        rgbs = list_split(args.data, args.split, "rgb")
        depths = list_split(args.data, args.split, "depth")
        name = args.sample or sorted(set(rgbs) & set(depths))[0]
        if name not in rgbs or name not in depths:
            raise InputError(f"{args.data}/{args.split}: no sample {name!r} with rgb and depth")
        rgb = read_rgb(rgbs[name])
        depth, valid = read_depth(
            depths[name],
            png_scale=info.png_scale,
            png_offset=info.png_offset,
            invalid_value=info.invalid_value,
        )
        h, w = depth.shape
        k = Intrinsics.from_dataset(args.data, split=args.split, sample=name, size=(h, w))
    except (InputError, IndexError) as e:
        print(f"depth_turntable: error: {e}", file=sys.stderr)
        return 2
    mesh = grid_mesh(depth, k, valid=valid, rgb=rgb, max_rel_jump=args.max_jump)
    s = min(1.0, args.size / max(h, w))
    oh, ow = round(h * s), round(w * s)
    frames = turntable(
        mesh, k.scaled(ow / w, oh / h), oh, ow, views=args.views, max_yaw_deg=args.max_yaw
    )
    out = Path(args.out)
    if out.suffix.lower() == ".gif":
        out.parent.mkdir(parents=True, exist_ok=True)
        images = [Image.fromarray(f) for f in frames]
        images[0].save(
            out,
            save_all=True,
            append_images=images[1:],
            duration=args.frame_ms,
            loop=0,
            optimize=True,
        )
    else:
        for i, frame in enumerate(frames):
            save_png(out / f"{name}_view_{i:02d}.png", frame)
    print(
        f"{args.data}/{args.split}/{name}: {len(mesh.vertices)} vertices, {len(mesh.faces)} "
        f"triangles, camera fx={k.fx:.1f} fy={k.fy:.1f}; {len(frames)} views -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
