"""Long hair and teeth of the synthetic faces: drawn from a stream of their own, in the
depth where they are geometry, painted where they are seen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rgb2depth.data.synthetic import faces as F
from rgb2depth.data.synthetic import generate
from rgb2depth.errors import InputError
from test_synthetic_faces_look import _view

STYLE_KEYS = (
    "hair_length",
    "hair_front",
    "hair_lumps",
    "teeth_upper",
    "teeth_lower",
    "teeth_shade",
)


@pytest.fixture(scope="module")
def faces() -> F.Faces:
    return F.Faces()


def _frontal(faces: F.Faces, seed: int, **overrides: float) -> tuple[dict, dict]:
    """A frontal, neutral view 0.6 m away (test_synthetic_faces_look's view, turned to face
    the camera, every expression off)."""
    neutral = {**dict.fromkeys(F._EXPRESSION_KEYS, 0.0), "mouth_open": 0.0}
    return _view(faces, seed, **{"yaw_deg": 0.0, "distance_mm": 600.0, **neutral, **overrides})


def test_style_comes_from_its_own_stream(faces: F.Faces) -> None:
    groups = [faces.sample_group(np.random.default_rng([s, 0])) for s in range(120)]
    for g in groups[:10]:
        rng = np.random.default_rng([int(g["texture_seed"]), 2])
        bald = g["hairline"] < -95.0  # bald hairlines are -130 to -100 mm, others above -82
        drawn = F._sample_style(rng, bald=bald)
        assert {k: g[k] for k in STYLE_KEYS} == drawn
    long = [g["hair_length"] > 0 for g in groups]
    assert sum(long) == 36  # LONG_HAIR of those with hair (as drawn when it was set)
    assert all(90.0 <= g["hair_length"] <= 200.0 for g in groups if g["hair_length"] > 0)
    # bald identities (hairline far back) never get long hair
    assert not any(g["hair_length"] > 0 for g in groups if g["hairline"] < -95.0)
    assert 0.3 < np.mean([g["teeth_lower"] > 0 for g in groups]) < 0.7


def test_long_hair_hangs_beside_the_face(faces: F.Faces) -> None:
    group, params = _frontal(faces, 4)
    short = faces.render_view({**group, "hair_length": 0.0}, params, 96, 96)
    long = faces.render_view({**group, "hair_length": 180.0, "hair_volume": 15.0}, params, 96, 96)
    ref = faces.render_view({**group, "hair_length": 0.0, "hair_volume": 15.0}, params, 96, 96)
    changed = np.abs(long.depth - ref.depth) > 0.5
    rows, cols = np.nonzero(changed)
    # beside the face and below the ears, nearer than what it hides or over the background
    assert changed.sum() > 100
    assert np.abs(cols - 47.5).min() > 8  # never over the middle of the face (+-30 mm)
    assert rows.max() > 60
    assert ((long.depth < ref.depth) | (ref.depth == 0))[changed].mean() > 0.9
    # the nose and the middle of the face do not move
    nose = np.unravel_index(np.argmin(np.where(short.depth > 0, short.depth, np.inf)), (96, 96))
    assert long.depth[nose] == short.depth[nose]
    # painted in the hair's colour
    red = faces.render_view(
        {**group, "hair_length": 180.0, "hair_volume": 15.0, "hair_r": 0.9, "hair_g": 0.1},
        params,
        96,
        96,
    )
    locks = changed & (ref.depth == 0)
    assert red.depth.tobytes() == long.depth.tobytes()
    more_red = red.rgb[locks].astype(int)[:, 0] - long.rgb[locks].astype(int)[:, 0]
    assert np.median(more_red) > 10


def test_short_hair_hides_the_locks(faces: F.Faces) -> None:
    group, params = _frontal(faces, 5, yaw_deg=35.0)
    group = {**group, "hair_length": 0.0}
    a = faces.render_view(group, params, 64, 64)
    b = faces.render_view({**group, "hair_front": 0.3, "hair_lumps": 1.0}, params, 64, 64)
    assert a.depth.tobytes() == b.depth.tobytes() and a.rgb.tobytes() == b.rgb.tobytes()


def test_mouth_opening_teeth() -> None:
    idn = {"mouth_width": 25.0, "teeth_upper": 0.6, "teeth_lower": 0.2}
    t = np.linspace(-3.0, 20.0, 400)
    xs = np.zeros_like(t)
    dark, teeth = F._mouth_opening(idn, t, xs, 13.0)
    assert (teeth <= dark + 0.05).all()  # teeth only in the opening
    h = (dark > 0.5).sum()
    assert 0.6 * 0.75 * h < (teeth > 0.5).sum() < 0.9 * h  # 60% + 20%, minus soft edges
    # the upper teeth hang from the top of the opening, the lower stand at its bottom
    on = np.flatnonzero(dark > 0.5)
    assert teeth[on[1]] > 0.5 and teeth[on[-2]] > 0.5
    assert teeth[on[int(0.7 * len(on))]] < 0.5  # the dark gap between them
    # no teeth when the lips hardly part, nor at the corners
    assert F._mouth_opening(idn, t, xs, 0.5)[1].max() < 0.01
    assert F._mouth_opening(idn, t, xs + 24.0, 13.0)[1].max() < 0.01
    # at most a crown's height
    big = F._mouth_opening({**idn, "teeth_upper": 1.0, "teeth_lower": 0.0}, t, xs, 18.0)[1]
    assert (big > 0.5).sum() * (t[1] - t[0]) < 11.0


def test_teeth_stand_just_behind_the_lips(faces: F.Faces) -> None:
    group, params = _frontal(faces, 6, smile=1.0, distance_mm=500.0)
    gap = float(F.load_face_model().lip_gap[F.EXPRESSIONS.index("happiness")])
    params["mouth_open"] = gap / F.JAW_OPEN_MM  # what a full smile parts: 13 mm
    none = {**group, "teeth_upper": 0.0, "teeth_lower": 0.0}
    full = {**group, "teeth_upper": 0.8, "teeth_lower": 0.2}
    a = faces.render_view(none, params, 128, 128)
    b = faces.render_view(full, params, 128, 128)
    diff = a.depth - b.depth  # how much nearer the teeth are than the cavity
    assert diff.min() > -0.01  # teeth never push the surface back
    assert diff.max() > 2.0
    cols = np.nonzero(diff > 0.5)[1]
    assert np.abs(cols - 63.5).max() < 25  # in the mouth only
    # and painted: the mouth is brighter where the teeth are
    assert b.rgb[diff > 2.0].mean() > a.rgb[diff > 2.0].mean() + 20


# ------------------------------------------------------------------ versions
def test_version_1_faces_have_no_style() -> None:
    for seed in range(5):
        old = F.Faces(version=1).sample_group(np.random.default_rng([seed, 0]))
        new = F.Faces().sample_group(np.random.default_rng([seed, 0]))
        assert not set(STYLE_KEYS) & set(old)
        assert {k: v for k, v in new.items() if k not in STYLE_KEYS} == old  # same people
    assert F.Faces().version == F.FACES_VERSION == max(F.FACES_VERSIONS)
    for bad in (0, 3, "2", True, None):
        with pytest.raises(InputError, match=r"unknown faces version .*known versions: 1: "):
            F.Faces(version=bad)  # type: ignore[arg-type]


def test_version_1_mouths_have_no_teeth_in_the_depth(faces: F.Faces) -> None:
    group, params = _frontal(faces, 6, smile=1.0, distance_mm=500.0, mouth_open=0.7)
    v1 = {k: v for k, v in group.items() if k not in STYLE_KEYS}
    a = faces.render_view(v1, params, 96, 96)
    teeth = {"teeth_upper": 0.8, "teeth_lower": 0.2, "teeth_shade": 0.8}
    b = faces.render_view({**v1, **teeth}, params, 96, 96)
    diff = a.depth - b.depth
    assert diff.min() > -0.01 and diff.max() > 2.0  # a deeper cavity, where v2 has teeth
    assert (diff > 0.01).sum() < 40  # in the mouth alone


def test_generate_records_the_version(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from rgb2depth.cli.main import main

    info = generate("faces", tmp_path / "v1", n=2, size=16, faces_version=1, progress=False)
    assert info.extra["generator"]["faces_version"] == 1
    rows = (tmp_path / "v1" / "groups.jsonl").read_text().splitlines()
    assert all("hair_length" not in json.loads(r)["params"] for r in rows)
    info = generate("faces", tmp_path / "v2", n=2, size=16, progress=False)
    assert info.extra["generator"]["faces_version"] == F.FACES_VERSION
    with pytest.raises(
        InputError, match=r"faces_version \(--faces-version\) is for the faces kind only"
    ):
        generate("rooms", tmp_path / "r", n=2, size=16, faces_version=1, progress=False)
    out = tmp_path / "v3"
    code = main(["generate", "faces", "--n", "2", "--size", "16", "--out", str(out),
                 "--faces-version", "3", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "unknown faces version 3" in err[0]
    assert not out.exists()


def test_run_refuses_a_root_of_other_faces(tmp_path: Path) -> None:
    from rgb2depth.config import load_config
    from rgb2depth.engine.run import prepare_data

    root = tmp_path / "faces"
    generate("faces", root, n=2, size=16, faces_version=1, progress=False)
    gen = "data.generate={kind: faces, n: 2, size: 16, seed: 0"
    assert prepare_data(load_config(None, [f"data.root={root}", gen + ", faces_version: 1}"]))
    with pytest.raises(InputError, match=r"holds faces of version 1, but data.generate asks for "
                       r"faces_version 2; set data.generate.faces_version: 1"):  # fmt: skip
        prepare_data(load_config(None, [f"data.root={root}", gen + "}"]), progress=False)
    # folders written before versions were recorded hold version 1
    info = json.loads((root / "dataset.json").read_text())
    del info["extra"]["generator"]["faces_version"]
    (root / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match="holds faces of version 1"):
        prepare_data(load_config(None, [f"data.root={root}", gen + ", faces_version: 2}"]))
    with pytest.raises(InputError, match="unknown faces version 7"):
        prepare_data(load_config(None, [f"data.root={root}", gen + ", faces_version: 7}"]))


# what two frontal smiling views of each version render at 64x64 (the depth's sum in mm,
# the RGB's sum), recorded when versions were introduced (version 1 then matched the
# renderer before long hair and teeth byte for byte): a version keeps drawing the same faces
VERSION_FIGURES = {
    1: [(691816.3, 2163412), (745631.4, 1200773)],
    2: [(849374.5, 2076870), (880214.6, 1202319)],
}


@pytest.mark.parametrize("version", sorted(VERSION_FIGURES))
def test_a_version_keeps_its_faces(version: int) -> None:
    assert set(VERSION_FIGURES) == set(F.FACES_VERSIONS)  # a new version records its figures
    k = F.Faces(version=version)
    for seed, (depth_sum, rgb_sum) in zip((3, 8), VERSION_FIGURES[version], strict=True):
        group, params = _frontal(k, seed, smile=1.0, mouth_open=0.74, distance_mm=500.0)
        s = k.render_view(group, params, 64, 64)
        assert float(s.depth.astype(np.float64).sum()) == pytest.approx(depth_sum, rel=1e-5)
        assert int(s.rgb.astype(np.int64).sum()) == pytest.approx(rgb_sum, rel=2e-5)
