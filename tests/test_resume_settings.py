"""``--resume`` continues a run with the settings it was started with.

The resolved config must equal the run's config.yaml except for the keys of
rgb2depth.config.RESUME_MAY_CHANGE; anything else is refused in one line that names
each key with its old and new value, and config.yaml never disagrees with what ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rgb2depth.cli.main import main
from rgb2depth.config import RESUME_MAY_CHANGE, load_config
from rgb2depth.errors import InputError
from tiny_run import write_tiny_config

STEPS = 2


def run_cli(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("rgb2depth train: error: --resume: "), lines[0]
    return lines[0]


def snapshot(run: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(run)): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and "tensorboard" not in p.parts
    }


@pytest.fixture(scope="module")
def orig(tiny_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/orig.yaml of a tiny run: 16 faces at 32x32, a light U-Net, 2 steps."""
    path = tmp_path_factory.mktemp("resume") / "orig.yaml"
    return write_tiny_config(path, tiny_faces, steps=STEPS, ckpt_every=1)


@pytest.fixture(scope="module")
def trained(orig: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", str(orig), f"log.out={out}", "--quiet"]) == 0
    return out


@pytest.fixture
def run(trained: Path, tmp_path: Path) -> Path:
    """A fresh copy of the trained run for each test."""
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    saved["log"]["out"] = str(out)
    (out / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False), encoding="utf-8")
    return out


def test_changed_lr_is_refused_and_nothing_changes(run: Path, orig: Path, capsys) -> None:
    before = snapshot(run)
    code, _, err = run_cli(
        capsys, "train", orig, f"log.out={run}", "--resume", "train.lr=0.5", "schedule.steps=3"
    )
    line = one_line(code, err)
    assert "train.lr 0.001 -> 0.5" in line
    for key in RESUME_MAY_CHANGE:
        assert key in line  # says what may change
    assert snapshot(run) == before  # config.yaml, checkpoints, model: untouched


def test_every_changed_key_is_named(run: Path, orig: Path, capsys) -> None:
    code, _, err = run_cli(
        capsys,
        "train",
        run / "config.yaml",
        "--resume",
        "train.batch_size=2",
        "train.betas=[0.5,0.999]",
        "method.loss=mse",
        "data.grayscale=true",
        "model.kwargs.in_channels=1",  # the saved config states 3, for RGB
        "model.kwargs.channels=[4,8,8,8,16]",
    )
    line = one_line(code, err)
    for change in (
        "train.batch_size 4 -> 2",
        "train.betas [0.9, 0.999] -> [0.5, 0.999]",
        "method.loss 'light_unet' -> 'mse'",
        "data.grayscale False -> True",
        "model.kwargs.in_channels 3 -> 1",
        "model.kwargs.channels [4, 8, 8, 8, 8] -> [4, 8, 8, 8, 16]",
    ):
        assert change in line, (change, line)


@pytest.mark.parametrize("source", ["orig", "saved"])
def test_resume_from_the_original_or_the_saved_config(
    source: str, run: Path, orig: Path, capsys
) -> None:
    config = orig if source == "orig" else run / "config.yaml"
    extra = [f"log.out={run}"] if source == "orig" else []
    code, stdout, err = run_cli(
        capsys, "train", config, *extra, "--resume", f"schedule.steps={STEPS + 1}", "log.every=2"
    )
    assert code == 0, err
    assert f"trained {STEPS + 1} steps" in stdout
    saved = load_config(run / "config.yaml")
    assert saved["schedule"]["steps"] == STEPS + 1 and saved["log"]["every"] == 2
    assert saved["train"]["lr"] == pytest.approx(1e-3)
    assert (run / "checkpoints" / f"step_{STEPS + 1:08d}").is_dir()


def test_allowed_changes(run: Path, capsys) -> None:
    code, _, err = run_cli(
        capsys,
        "train",
        run / "config.yaml",
        "--resume",
        "data.workers=0",
        "train.device=cpu",
        "log.val_every=1",
        "log.keep_checkpoints=0",
        "log.progress=false",
    )
    assert code == 0, err


def test_steps_under_a_cosine_schedule_cannot_change(tmp_path: Path, orig: Path, capsys) -> None:
    out = tmp_path / "cosine"
    base = ["train", orig, f"log.out={out}", "schedule.scheduler=cosine"]
    code, _, err = run_cli(capsys, *base, "--quiet")
    assert code == 0, err
    code, _, err = run_cli(capsys, *base, "--resume", f"schedule.steps={STEPS + 1}")
    line = one_line(code, err)
    assert f"schedule.steps {STEPS} -> {STEPS + 1} (the cosine schedule depends on it)" in line
    code, _, err = run_cli(capsys, *base, "--resume")  # the same settings: fine
    assert code == 0, err


def test_steps_below_the_checkpoint(run: Path, capsys) -> None:
    before = snapshot(run)
    code, _, err = run_cli(capsys, "train", run / "config.yaml", "--resume", "schedule.steps=1")
    line = one_line(code, err)
    assert f"schedule.steps=1 is below the step of the last checkpoint, {STEPS}" in line
    assert snapshot(run) == before


def test_resume_without_a_checkpoint_writes_nothing(tmp_path: Path, orig: Path, capsys) -> None:
    out = tmp_path / "new"
    code, _, err = run_cli(capsys, "train", orig, f"log.out={out}", "--resume")
    assert "no checkpoint" in one_line(code, err)
    assert not out.exists()


def test_resume_without_config_yaml(run: Path, capsys) -> None:
    config = run / "config.yaml"
    kept = run.parent / "kept.yaml"
    config.rename(kept)
    code, _, err = run_cli(capsys, "train", kept, "--resume")
    assert "config.yaml is missing" in one_line(code, err)
    assert not config.exists()


def test_checkpoint_of_another_network_still_refused(run: Path) -> None:
    """A hand-edited config.yaml passes the settings check; the checkpoint's check remains."""
    from rgb2depth.engine.run import train

    config = load_config(run / "config.yaml", ["model.kwargs.channels=[4,8,8,8,16]"])
    edited = yaml.safe_dump(config, sort_keys=False)
    (run / "config.yaml").write_text(edited, encoding="utf-8")
    config["schedule"]["steps"] = STEPS + 1  # a change --resume allows
    with pytest.raises(InputError, match=r"does not match this run's networks.*another config"):
        train(config, resume=True, progress=False)
    # nothing ran, so config.yaml still says what it said (not steps=3)
    assert (run / "config.yaml").read_text(encoding="utf-8") == edited
