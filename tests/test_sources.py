"""The converter registry and writer shared by every ``rgb2depth convert`` dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rgb2depth.cli.main import main
from rgb2depth.data import PairedDepthDataset
from rgb2depth.data.format import read_info
from rgb2depth.data.sources import SOURCES, Source, convert, get_source, source_names
from rgb2depth.errors import InputError

EXPECTED = {"nyu", "texas", "biwi", "pandora", "surreal", "bosphorus", "celebamask"}


def _toy(src: Path, writer, *, progress: bool) -> None:
    """A fake dataset: ``src/*.npy`` depth maps in mm, an RGB gradient for each."""
    writer.set_info(
        name="toy", kind="faces", depth_units="mm", depth_range=[100, 2000], png_scale=0.1
    )
    files = sorted(src.glob("*.npy"))
    for i, f in enumerate(files):
        depth = np.load(f)
        if depth.ndim != 2:
            raise InputError(f"{f}: expected a 2-D depth map, got shape {depth.shape}")
        rgb = np.zeros((*depth.shape, 3), np.uint8)
        rgb[..., 0] = np.arange(depth.shape[1], dtype=np.uint8)[None]
        split = "test" if i % 2 else "train"
        writer.add(split, f.stem, rgb=rgb, depth=depth, meta={"group": f.stem})
        writer.add_group(f.stem, split)


@pytest.fixture
def toy(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setitem(SOURCES, "toy", Source("toy", "Toy", "a folder of .npy", _toy))
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        d = rng.uniform(500, 1500, (6, 8))
        d[0, 0] = 0  # invalid
        np.save(src / f"s{i}.npy", d)
    return src


def test_every_published_dataset_is_registered() -> None:
    assert EXPECTED <= set(source_names())
    for name in EXPECTED:
        s = get_source(name)
        assert s.title and s.layout, name


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"unknown dataset 'nyuv2'; known: .*texas"):
        get_source("nyuv2")


def test_convert_writes_a_readable_folder(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    info = convert("toy", toy, out, progress=False)
    assert read_info(out) == info
    assert info.splits == ["train", "test"]
    assert info.extra["converter"]["source"] == "toy"
    assert info.extra["counts"] == {"train": {"rgb": 2, "depth": 2}, "test": {"rgb": 2, "depth": 2}}
    ds = PairedDepthDataset(out, "train")
    sample = ds[0]
    truth = np.load(toy / "s0.npy")
    depth = sample["depth"][0].numpy()
    valid = sample["mask"][0].numpy()
    assert not valid[0, 0]  # 0 stays invalid
    assert np.allclose(depth[valid], truth[valid], atol=0.05 + 1e-6)  # png_scale 0.1
    groups = [json.loads(line) for line in (out / "groups.jsonl").read_text().splitlines()]
    assert {g["group"] for g in groups} == {"s0", "s1", "s2", "s3"}
    assert main(["check", str(out)]) == 0


def test_failure_leaves_nothing(toy: Path, tmp_path: Path) -> None:
    np.save(toy / "s9.npy", np.ones(3))
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"s9.npy: expected a 2-D depth map"):
        convert("toy", toy, out, progress=False)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_overwrite_only_replaces_what_convert_wrote(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert("toy", toy, out, progress=False)
    with pytest.raises(InputError, match="exists and is not empty"):
        convert("toy", toy, out, progress=False)
    convert("toy", toy, out, overwrite=True, progress=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="refusing to overwrite"):
        convert("toy", toy, mine, overwrite=True, progress=False)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_empty_source_is_refused(toy: Path, tmp_path: Path) -> None:
    for f in toy.glob("*.npy"):
        f.unlink()
    with pytest.raises(InputError, match="no sample found"):
        convert("toy", toy, tmp_path / "out", progress=False)


def test_cli(toy: Path, tmp_path: Path, capsys) -> None:
    assert main(["convert", "toy", str(toy), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["convert", "toy", str(tmp_path / "missing"), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]
