"""The Surrey Face Model: a 3-D morphable model of face shape (identity and expression), in mm.

The package ships the model converted to ``assets/sfm_3448.npz`` (by
``scripts/convert_sfm.py``; source, licence and citation in ``assets/README.md``): a mean
face of 3,448 vertices, 63 principal components of identity built from real 3-D face
scans, and 6 expression blendshapes (anger, disgust, fear, happiness, sadness, surprise).
A face is ``mean + sum_k c_k basis_k + sum_e w_e expression_e`` with identity
coefficients ``c ~ N(0, 1)`` and expression weights ``w`` in about [0, 1].

Face frame (what :meth:`FaceModel.vertices` and :meth:`FaceModel.landmarks` return): mm,
x to the image right of a frontal view (the subject's left), y down, z away from a
camera in front of the face, origin at the centre of the four eye corners of the
identity's neutral face (between the eyes, about 35 mm behind the nose tip). It matches
the head frame of :mod:`rgb2depth.data.synthetic.faces` up to a shift along z. The model's
own frame has y up and z toward the viewer.

Besides the six blendshapes, ``jaw`` opens the mouth alone: the lower face's part of the
surprise blendshape (below the lips), scaled so that weight 1 parts the lips by
:data:`JAW_OPEN_MM` at the centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

N_VERTICES = 3448
EXPRESSIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "jaw")
"""Expression names, in the order of :attr:`FaceModel.expressions`."""

JAW_OPEN_MM = 18.0
"""How far the ``jaw`` expression at weight 1 parts the lips at the centre, mm."""

# iBUG-68 landmarks (1-based) used to place the face frame and to read the features
EYE_CORNERS = (37, 40, 43, 46)  # right outer, right inner, left inner, left outer
LIP_INNER = (63, 67)  # upper lip bottom, lower lip top (middle)


@dataclass(frozen=True, eq=False)
class FaceModel:
    """The shape model in the face frame's axes (x right, y down, z away), float32.

    Attributes:
        mean: (V, 3) mean face.
        basis: (K, V, 3) identity components, rescaled by their standard deviations.
        triangles: (T, 3) int vertex indices.
        expressions: (E, V, 3) additive expression blendshapes, names in :data:`EXPRESSIONS`.
        ibug: iBUG-68 landmark id (1-based) -> vertex index, for the landmarks the model has.
        symmetry: (845,) mirror counterpart of each of the first 845 vertices.
        contour_right, contour_left: (17,) face outline vertices.
        lip_upper, lip_lower: inner border vertices of the upper / lower lip (the mouth
            is open in the mesh: the lips do not share vertices), corners excluded.
        lower_face: (V,) float32 in [0, 1], 1 on the lower lip, chin and jaw (what
            moves with the jaw), 0 on the upper lip and above.
        lip_gap: (E,) how far each expression at weight 1 parts the lips at the centre, mm.
    """

    mean: np.ndarray
    basis: np.ndarray
    triangles: np.ndarray
    expressions: np.ndarray
    ibug: dict[int, int]
    symmetry: np.ndarray
    contour_right: np.ndarray
    contour_left: np.ndarray
    lip_upper: np.ndarray = field(repr=False)
    lip_lower: np.ndarray = field(repr=False)
    lower_face: np.ndarray = field(repr=False)
    lip_gap: np.ndarray = field(repr=False)

    @property
    def n_components(self) -> int:
        return int(self.basis.shape[0])

    def sample_identity(self, rng: np.random.Generator, truncation: float = 2.5) -> np.ndarray:
        """(K,) identity coefficients, N(0, 1) truncated to ``|c| <= truncation`` (by redrawing),
        so that no face is a caricature; float64."""
        c = rng.standard_normal(self.n_components)
        while (bad := np.abs(c) > truncation).any():
            c[bad] = rng.standard_normal(int(bad.sum()))
        return c

    def neutral(self, coeffs: np.ndarray) -> np.ndarray:
        """(V, 3) float64 neutral face of identity ``coeffs`` in the face frame."""
        c = np.asarray(coeffs, np.float64)
        if c.shape != (self.n_components,):
            raise ValueError(f"expected {self.n_components} coefficients, got shape {c.shape}")
        v = self.mean + np.einsum("k,kvd->vd", c.astype(np.float32), self.basis)
        v = v.astype(np.float64)
        return v - v[[self.ibug[i] for i in EYE_CORNERS]].mean(axis=0)

    def vertices(self, coeffs: np.ndarray, weights: dict[str, float] | None = None) -> np.ndarray:
        """(V, 3) float64 face of identity ``coeffs`` with expression ``weights`` (name ->
        weight, names from :data:`EXPRESSIONS`, missing ones 0), face frame, mm."""
        v = self.neutral(coeffs)
        return v + self.expression_offset(weights)

    def expression_offset(self, weights: dict[str, float] | None) -> np.ndarray | float:
        """(V, 3) displacement of expression ``weights`` (0.0 when there is none)."""
        if not weights:
            return 0.0
        unknown = set(weights) - set(EXPRESSIONS)
        if unknown:
            raise ValueError(f"unknown expressions {sorted(unknown)}; known: {list(EXPRESSIONS)}")
        w = np.array([float(weights.get(n, 0.0)) for n in EXPRESSIONS], np.float32)
        if not w.any():
            return 0.0
        return np.einsum("e,evd->vd", w, self.expressions).astype(np.float64)

    def landmarks(self, verts: np.ndarray) -> dict[int, np.ndarray]:
        """iBUG-68 landmark id (1-based) -> (3,) position, for the landmarks the model has."""
        return {i: verts[v] for i, v in self.ibug.items()}


def _boundary_loops(tris: np.ndarray) -> list[np.ndarray]:
    """The closed loops of boundary edges (edges of one triangle only), as vertex lists."""
    e = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, count = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    nxt = {int(a): int(b) for a, b in e[count[inv.ravel()] == 1]}
    loops = []
    while nxt:
        start = next(iter(nxt))
        loop = [start]
        v = nxt.pop(start)
        while v != start:
            loop.append(v)
            v = nxt.pop(v)
        loops.append(np.array(loop))
    return loops


def _mouth(mean: np.ndarray, tris: np.ndarray, ibug: dict[int, int]) -> tuple[np.ndarray, ...]:
    """Upper and lower inner lip borders (each sorted by x, corners excluded) and the
    lower-face weight of every vertex, from the mean face (face frame axes)."""
    mid = 0.5 * (mean[ibug[LIP_INNER[0]]] + mean[ibug[LIP_INNER[1]]])
    loop = min(
        _boundary_loops(tris), key=lambda lp: float(np.linalg.norm(mean[lp] - mid, axis=1).min())
    )
    xs = mean[loop, 0]
    i0, i1 = int(np.argmin(xs)), int(np.argmax(xs))
    a, b = sorted((i0, i1))
    path1, path2 = loop[a + 1 : b], np.concatenate([loop[b + 1 :], loop[:a]])
    upper, lower = (
        (path1, path2) if mean[path1, 1].mean() < mean[path2, 1].mean() else (path2, path1)
    )
    upper = upper[np.argsort(mean[upper, 0])]
    lower = lower[np.argsort(mean[lower, 0])]
    # the contact line y(x) between the lips, extended flat beyond the corners
    corners = loop[[i0, i1]]
    cx = np.concatenate([mean[corners[:1], 0], mean[upper, 0], mean[corners[1:], 0]])
    cy = np.concatenate(
        [
            mean[corners[:1], 1],
            0.5 * (mean[upper, 1] + np.interp(mean[upper, 0], mean[lower, 0], mean[lower, 1])),
            mean[corners[1:], 1],
        ]
    )
    line = np.interp(mean[:, 0], cx, cy)
    t = np.clip((mean[:, 1] - line + 1.0) / 2.0, 0.0, 1.0)
    lower_w = (t * t * (3.0 - 2.0 * t)).astype(np.float32)
    lower_w[upper] = 0.0
    lower_w[lower] = 1.0
    return upper, lower, lower_w


def _gap_at_centre(upper: np.ndarray, lower: np.ndarray, expr: np.ndarray) -> np.ndarray:
    """(E,) how far each (E, V, 3) deformation parts the lips at the centre (y, mm)."""
    iu, il = upper[len(upper) // 2], lower[len(lower) // 2]
    return (expr[:, il, 1] - expr[:, iu, 1]).astype(np.float64)


@lru_cache(maxsize=1)
def load_face_model() -> FaceModel:
    """The shipped Surrey Face Model (loaded once; safe loading, no pickles)."""
    ref = resources.files("rgb2depth.data.synthetic") / "assets" / "sfm_3448.npz"
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
        flip = np.array([1.0, -1.0, -1.0], np.float32)  # model frame (y up, z out) -> face frame
        mean = z["mean"].astype(np.float32) * flip
        basis = z["basis"].astype(np.float32) * flip
        expr = z["expressions"].astype(np.float32) * flip
        names = tuple(str(n) for n in z["expression_names"])
        tris = z["triangles"].astype(np.int64)
        ibug = {int(i): int(v) for i, v in zip(z["ibug_ids"], z["ibug_vertices"], strict=True)}
        sym = z["symmetry"].astype(np.int64)
        right = z["contour_right"].astype(np.int64)
        left = z["contour_left"].astype(np.int64)
    if mean.shape != (N_VERTICES, 3) or names != EXPRESSIONS[:-1]:
        raise ValueError(f"unexpected face model: mean {mean.shape}, expressions {names}")
    upper, lower, lower_w = _mouth(mean, tris, ibug)
    # the jaw alone: the lower face's part of surprise, scaled to part the lips JAW_OPEN_MM
    jaw = expr[EXPRESSIONS.index("surprise")] * lower_w[:, None]
    jaw *= JAW_OPEN_MM / _gap_at_centre(upper, lower, jaw[None])[0]
    expr = np.concatenate([expr, jaw[None]]).astype(np.float32)
    return FaceModel(
        mean=mean,
        basis=basis,
        triangles=tris,
        expressions=expr,
        ibug=ibug,
        symmetry=sym,
        contour_right=right,
        contour_left=left,
        lip_upper=upper,
        lip_lower=lower,
        lower_face=lower_w,
        lip_gap=_gap_at_centre(upper, lower, expr),
    )
