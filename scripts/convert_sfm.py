"""Convert the Surrey Face Model (shape, 3,448 vertices) to the compact ``.npz`` the package ships.

    python3 -m venv /tmp/eos-venv && /tmp/eos-venv/bin/pip install eos-py numpy
    /tmp/eos-venv/bin/python scripts/convert_sfm.py ../shared/data/sfm \
        src/rgb2depth/data/synthetic/assets

Reads the model as published in the ``share/`` folder of the eos project
(github.com/patrikhuber/eos, commit ce984207a51c; the repository is under the Apache License
2.0 and its README makes the model free for non-commercial use, see the ``README.md`` of the
assets folder) with eos-py, which is needed only here, in a throwaway environment: the
package reads the result with numpy. Writes ``sfm_3448.npz`` and copies the ``LICENSE``
beside it.

The archive holds (SFM frame: millimetres, x toward the subject's left, i.e. the image
right of a frontal photo, y up, z toward the viewer; origin near the nose tip):

* ``mean`` (3448, 3) float32, ``basis`` (63, 3448, 3) float16: the shape model,
  ``x = mean + sum_k c_k basis[k]`` with ``c ~ N(0, 1)`` (the PCA basis rescaled by the
  standard deviations), ``eigenvalues`` (63,) float32 (mm^2, the variances);
* ``triangles`` (6736, 3) int32, vertex indices, counter-clockwise seen from the front;
* ``expressions`` (6, 3448, 3) float32 additive blendshapes, ``expression_names`` (6,);
* ``ibug_ids`` (N,) and ``ibug_vertices`` (N,) int32: the iBUG-68 landmarks (1-based ids,
  as in ``ibug_to_sfm.txt``) that the model defines, and their vertex indices;
* ``symmetry`` (845,) int32: the mirror counterpart of each of the first 845 vertices (the
  reference resolution; ``sfm_reference_symmetry.txt`` made 0-based);
* ``contour_right``, ``contour_left`` (17,) int32: the face outline vertices.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np

N_VERTICES = 3448


def read_ibug(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The ``[landmark_mappings]`` of ``ibug_to_sfm.txt``: (ids, vertices)."""
    ids, verts = [], []
    section = ""
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            section = line
        elif section == "[landmark_mappings]" and (m := re.fullmatch(r"(\d+)\s*=\s*(\d+)", line)):
            ids.append(int(m.group(1)))
            verts.append(int(m.group(2)))
    return np.array(ids, np.int32), np.array(verts, np.int32)


def convert(src: Path) -> dict[str, np.ndarray]:
    import eos  # only in the conversion environment

    model = eos.morphablemodel.load_model(str(src / "sfm_shape_3448.bin"))
    shape = model.get_shape_model()
    mean = np.asarray(shape.get_mean(), np.float64).reshape(-1, 3)
    basis = np.asarray(shape.get_rescaled_pca_basis(), np.float64)  # (3N, K)
    eigen = np.asarray(shape.get_eigenvalues(), np.float64)
    tris = np.asarray(shape.get_triangle_list(), np.int64)
    if mean.shape != (N_VERTICES, 3) or basis.shape[0] != 3 * N_VERTICES:
        raise SystemExit(f"unexpected model shapes: mean {mean.shape}, basis {basis.shape}")
    blend = eos.morphablemodel.load_blendshapes(str(src / "expression_blendshapes_3448.bin"))
    names = np.array([b.name for b in blend])
    expr = np.stack([np.asarray(b.deformation, np.float64).reshape(-1, 3) for b in blend])
    ids, verts = read_ibug(src / "ibug_to_sfm.txt")
    sym = np.loadtxt(src / "sfm_reference_symmetry.txt", comments="#", dtype=np.int64) - 1
    contours = json.loads((src / "sfm_model_contours.json").read_text())["model_contour"]
    k = basis.shape[1]
    basis16 = basis.T.reshape(k, N_VERTICES, 3).astype(np.float16)
    err = np.abs(basis16.astype(np.float64) - basis.T.reshape(k, N_VERTICES, 3)).max()
    print(f"float16 basis: largest rounding error {err:.4f} mm per unit coefficient")
    return {
        "mean": mean.astype(np.float32),
        "basis": basis16,
        "eigenvalues": eigen.astype(np.float32),
        "triangles": tris.astype(np.int32),
        "expressions": expr.astype(np.float32),
        "expression_names": names,
        "ibug_ids": ids,
        "ibug_vertices": verts,
        "symmetry": sym.astype(np.int32),
        "contour_right": np.array(contours["right_contour"], np.int32),
        "contour_left": np.array(contours["left_contour"], np.int32),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="folder with sfm_shape_3448.bin and the other files")
    ap.add_argument("out", type=Path, help="folder to write sfm_3448.npz and LICENSE into")
    args = ap.parse_args(argv)
    if not (args.src / "sfm_shape_3448.bin").is_file():
        print(f"error: no sfm_shape_3448.bin in {args.src}", file=sys.stderr)
        return 2
    arrays = convert(args.src)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "sfm_3448.npz", **arrays)  # type: ignore[arg-type]
    shutil.copyfile(args.src / "LICENSE", args.out / "LICENSE")
    size = (args.out / "sfm_3448.npz").stat().st_size
    print(f"wrote {args.out / 'sfm_3448.npz'} ({size / 1e6:.2f} MB) and LICENSE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
