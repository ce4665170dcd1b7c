"""The dataset writer: splits by group, domains, determinism, atomicity, preview."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rgb2depth.data.format import read_info
from rgb2depth.data.synthetic import SCENE_KINDS, get_kind
from rgb2depth.data.synthetic.generate import generate, parse_size, plan, split_groups
from rgb2depth.errors import InputError


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_split_groups_fractions() -> None:
    s = split_groups(500)
    assert (s.count("train"), s.count("val"), s.count("test")) == (400, 50, 50)
    assert split_groups(3) == ["train", "val", "test"]
    assert split_groups(2) == ["train", "train"]


def test_no_group_in_two_splits(planes) -> None:
    planned = plan(planes, 101)
    by_group: dict[int, set[str]] = {}
    for p in planned:
        by_group.setdefault(p.group, set()).add(p.split)
    assert all(len(s) == 1 for s in by_group.values())
    assert {p.split for p in planned} == {"train", "val", "test"}


def test_unpaired_plan_alternates_domains(planes) -> None:
    planned = plan(planes, 40, unpaired=True)
    train = [p for p in planned if p.split == "train"]
    assert {p.view for p in train} == {"rgb", "depth"}
    assert all(p.view == ("rgb" if p.group % 2 == 0 else "depth") for p in train)
    assert all(p.view == "paired" for p in planned if p.split != "train")


def test_generate_writes_the_format(planes_dataset: Path) -> None:
    info = read_info(planes_dataset)
    assert info.kind == "planes" and info.depth_units == "m" and info.image_size == (24, 32)
    assert info.intrinsics == {"fx": 32.0, "fy": 32.0, "cx": 16.0, "cy": 12.0}
    assert info.paired and info.splits == ["train", "val", "test"]
    meta = [
        json.loads(x) for x in (planes_dataset / "train" / "meta.jsonl").read_text().splitlines()
    ]
    names = sorted(p.stem for p in (planes_dataset / "train" / "rgb").iterdir())
    assert [m["name"] for m in meta] == names
    groups = [json.loads(x) for x in (planes_dataset / "groups.jsonl").read_text().splitlines()]
    assert len(groups) == 10 and {"base", "tilt"} <= set(groups[0]["params"])
    assert not any(p.name.endswith(".tmp") for p in planes_dataset.parent.iterdir())


def test_generate_is_byte_identical(tmp_path: Path, planes) -> None:
    generate(planes, tmp_path / "a", n=8, size=16, seed=3, progress=False, preview=True)
    generate(planes, tmp_path / "b", n=8, size=16, seed=3, progress=False, preview=True)
    generate(planes, tmp_path / "c", n=8, size=16, seed=4, progress=False)
    a, b, c = (tree_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a["train/depth/000000.png"] != c["train/depth/000000.png"]


@pytest.mark.parametrize("kind", sorted(SCENE_KINDS))
def test_every_kind_is_byte_identical(tmp_path: Path, kind: str) -> None:
    for name in ("a", "b"):
        generate(kind, tmp_path / name, n=3, size=24, seed=5, unpaired=True, progress=False)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_workers_do_not_change_the_files(tmp_path: Path) -> None:
    generate("surfaces", tmp_path / "one", n=10, size=24, seed=2, progress=False, workers=1)
    generate("surfaces", tmp_path / "two", n=10, size=24, seed=2, progress=False, workers=2)
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


def test_generate_refuses_existing_and_overwrites(tmp_path: Path, planes) -> None:
    out = tmp_path / "d"
    generate(planes, out, n=4, size=16, progress=False)
    with pytest.raises(InputError, match="exists and is not empty"):
        generate(planes, out, n=4, size=16, progress=False)
    generate(planes, out, n=6, size=16, progress=False, overwrite=True)
    assert read_info(out).extra["generator"]["n"] == 6


def test_interrupted_generation_leaves_nothing(tmp_path: Path, planes, monkeypatch) -> None:
    calls = {"n": 0}
    original = type(planes).render

    def failing(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("renderer crashed")
        return original(self, *a, **k)

    monkeypatch.setattr(type(planes), "render", failing)
    with pytest.raises(RuntimeError):
        generate(planes, tmp_path / "out", n=6, size=16, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": 2, "size": "abc"}, "size must be S or WxH"),
        ({"n": 2, "size": 4}, "between 16 and 4096"),
        ({"n": 2, "seed": -1}, "seed must be a non-negative"),
        ({"n": 2, "workers": 0}, "workers must be a positive"),
    ],
)
def test_bad_arguments(tmp_path: Path, planes, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        generate(planes, tmp_path / "x", progress=False, **kwargs)
    assert not (tmp_path / "x").exists()


def test_unknown_kind_lists_known() -> None:
    with pytest.raises(InputError, match="unknown scene kind 'faeces'; known kinds: faces"):
        get_kind("faeces")


def test_parse_size() -> None:
    assert parse_size(64) == (64, 64)
    assert parse_size("160x128") == (128, 160)
    assert parse_size((96, 128)) == (96, 128)


@pytest.mark.parametrize("kind", sorted(SCENE_KINDS))
@pytest.mark.parametrize("unpaired", [False, True])
def test_every_kind_writes_a_loadable_dataset(tmp_path: Path, kind: str, unpaired: bool) -> None:
    from rgb2depth.data.check import check_dataset

    k = get_kind(kind)
    n = k.views_per_group * 4
    out = tmp_path / kind
    info = generate(
        kind, out, n=n, size="40x32", seed=0, unpaired=unpaired, progress=False, preview=True
    )
    assert (out / "preview.png").is_file()
    _, summaries = check_dataset(out, progress=False)
    by = {s.split: s for s in summaries}
    assert set(by) == {"train", "val", "test"}
    for s in summaries:
        assert s.sizes == [(32, 40)]
        assert (
            info.depth_range[0] - 1e-3 <= s.depth_min <= s.depth_max <= info.depth_range[1] + 1e-3
        )
    if unpaired:
        assert not by["train"].paired and by["test"].paired
        rgb = {p.stem for p in (out / "train" / "rgb").iterdir()}
        depth = {p.stem for p in (out / "train" / "depth").iterdir()}
        assert rgb and depth and not rgb & depth
    meta = (out / "test" / "meta.jsonl").read_text().splitlines()
    assert all(json.loads(m)[k.group_label] == json.loads(m)["group"] for m in meta)
    if k.all_valid:
        assert all(s.valid_fraction == 1.0 for s in summaries)
    else:
        assert all(0.0 < s.valid_fraction <= 1.0 for s in summaries)
    first = sorted((out / "test" / "depth").iterdir())[0]
    assert np.asarray(Image.open(first)).dtype == np.uint16


# ------------------------------------------------- --overwrite replaces only its own datasets


def snapshot(path: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``path`` (or the file itself), with file contents."""
    if path.is_file():
        return {".": path.read_bytes()}
    return {
        str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(path.rglob("*"))
    }


def _regular_file(out: Path, planes) -> None:
    out.write_bytes(b"\x00my thesis, no backup\n")


def _unrelated_folder(out: Path, planes) -> None:
    (out / "photos").mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    (out / "photos" / "a.png").write_bytes(b"not really a png")


def _dataset_plus_user_file(out: Path, planes) -> None:
    generate(planes, out, n=4, size=16, progress=False)
    (out / "notes.txt").write_text("my notes on this dataset")


def _dataset_plus_file_in_split(out: Path, planes) -> None:
    generate(planes, out, n=4, size=16, progress=False)
    (out / "train" / "rgb" / "my_photo.jpg").write_bytes(b"jpeg")


def _foreign_dataset(out: Path, planes) -> None:
    # a real dataset folder, but not one the generator wrote
    out.mkdir()
    (out / "dataset.json").write_text('{"name": "mine", "kind": "photos"}')
    (out / "train" / "rgb").mkdir(parents=True)
    (out / "train" / "rgb" / "000000.png").write_bytes(b"png")


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_regular_file, "it is a file, not a folder"),
        (_unrelated_folder, "folder without a dataset.json"),
        (_dataset_plus_user_file, "it holds notes.txt, which rgb2depth generate does not write"),
        (_dataset_plus_file_in_split, "it holds train/rgb/my_photo.jpg"),
        (_foreign_dataset, "dataset.json was not written by rgb2depth generate"),
    ],
)
def test_overwrite_refuses_what_generate_did_not_write(
    tmp_path: Path, planes, make, why: str
) -> None:
    out = tmp_path / "out"
    make(out, planes)
    before = snapshot(out)
    with pytest.raises(InputError, match=f"refusing to overwrite .*{why}.*choose another --out"):
        generate(planes, out, n=6, size=16, progress=False, overwrite=True)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary left either
    # without --overwrite the refusal says that --overwrite would not help
    with pytest.raises(InputError, match=f"exists.*: .*{why}.*not even --overwrite"):
        generate(planes, out, n=6, size=16, progress=False)
    assert snapshot(out) == before


def test_overwrite_replaces_a_generated_dataset_and_an_empty_folder(tmp_path: Path, planes) -> None:
    out = tmp_path / "out"
    generate(planes, out, n=4, size=16, progress=False, preview=True)
    generate(planes, out, n=6, size=16, progress=False, overwrite=True, unpaired=True)
    assert read_info(out).extra["generator"]["n"] == 6
    assert not (out / "preview.png").exists()  # the old folder is gone as a whole
    empty = tmp_path / "empty"
    empty.mkdir()
    generate(planes, empty, n=4, size=16, progress=False, overwrite=True)
    assert read_info(empty).extra["generator"]["n"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "out"]


def test_file_dropped_into_out_while_generating_is_kept(
    tmp_path: Path, planes, monkeypatch
) -> None:
    # --overwrite checks again just before the swap: a file the user put into the
    # old dataset folder meanwhile is not deleted (the new dataset is dropped instead)
    out = tmp_path / "out"
    generate(planes, out, n=4, size=16, progress=False)
    original = type(planes).render

    def render(self, *a, **k):
        (out / "late.txt").write_text("written during the run")
        return original(self, *a, **k)

    monkeypatch.setattr(type(planes), "render", render)
    before = snapshot(out)
    with pytest.raises(InputError, match=r"it holds late\.txt"):
        generate(planes, out, n=6, size=16, progress=False, overwrite=True)
    assert (out / "late.txt").read_text() == "written during the run"
    assert snapshot(out) == {**before, "late.txt": b"written during the run"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_cli_overwrite_refusal_is_one_line(tmp_path: Path, capsys) -> None:
    from rgb2depth.cli.main import main

    target = tmp_path / "thesis.pdf"
    target.write_bytes(b"%PDF precious")
    argv = ["generate", "faces", "--n", "2", "--size", "16", "--out", str(target)]
    code = main([*argv, "--overwrite", "--quiet"])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rgb2depth generate: error: refusing"), err
    assert "dataset folder that rgb2depth generate wrote" in lines[0]
    assert target.read_bytes() == b"%PDF precious"
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.pdf"]
