"""``rgb2depth train`` follows the command line's exit-status rule (rgb2depth.cli.main):
2 for what the user can fix before running (an unwritable log.out included), 1 for a
failure while running (training diverged, the disk filled up), one line on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rgb2depth.cli.main import main
from tiny_run import write_tiny_config


def run_cli(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("rgb2depth train: error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def config_file(tiny_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exit") / "tiny.yaml"
    return write_tiny_config(path, tiny_faces, steps=3, ckpt_every=1)


# ---------------------------------------------------------------- unwritable log.out: 2


@pytest.mark.parametrize("where", ["under_a_file", "is_a_file"])
def test_unwritable_log_out(where: str, config_file: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("mine")
    out = blocker / "run" if where == "under_a_file" else blocker
    code, stdout, err = run_cli(capsys, "train", config_file, f"log.out={out}")
    assert code == 2, err
    line = error_line(err)
    assert "log.out" in line and str(blocker) in line and "is a file" in line, line
    assert "can be created" in line  # what is accepted
    assert stdout == ""
    assert blocker.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]  # nothing written


def test_run_folder_refused_when_made(
    config_file: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    # what a read-only parent does for a user who is not root, simulated for root too
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name == "run":
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={out}")
    assert code == 2, err
    assert "cannot write log.out" in error_line(err) and "Permission denied" in err
    assert not out.exists()


# ---------------------------------------------------------------- failures while running: 1


@pytest.fixture
def diverge_at(monkeypatch):
    """Make the supervised loss NaN from training step ``n`` (1-based) on."""
    from rgb2depth.methods.supervised import Supervised

    calls = {"n": 0, "at": None}
    real = Supervised.loss

    def loss(self, step, batch):
        value, terms = real(self, step, batch)
        calls["n"] += 1
        if calls["n"] >= calls["at"]:
            value = value * torch.tensor(float("nan"))
        return value, terms

    monkeypatch.setattr(Supervised, "loss", loss)

    def set_step(n: int) -> None:
        calls["at"] = n

    return set_step


@pytest.mark.parametrize("clip", ["1.0", "0", "null"])
def test_divergence_advice(clip: str, diverge_at, config_file: Path, tmp_path: Path, capsys):
    diverge_at(3)
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys, "train", config_file, f"log.out={out}", f"train.grad_clip={clip}", "--quiet"
    )
    assert code == 1, err
    line = error_line(err)
    assert "training diverged" in line and "loss is nan at step 3" in line
    assert "lower train.lr (now 0.001)" in line
    clipping = "turn on gradient clipping"
    assert (clipping in line) == (clip != "1.0"), line  # only when it is off
    assert f"the last checkpoint is {out / 'checkpoints' / 'step_00000002'}" in line
    assert "diverged" not in stdout


def test_divergence_before_any_checkpoint(diverge_at, config_file: Path, tmp_path: Path, capsys):
    diverge_at(1)
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={tmp_path / 'run'}")
    assert code == 1, err
    line = error_line(err)
    assert "at step 1" in line and "no checkpoint was saved" in line


def test_disk_full_mid_run(config_file: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    from rgb2depth.engine import trainer

    def full(run_dir, *args, **kwargs):
        raise OSError(28, "No space left on device", str(run_dir / "checkpoints"))

    monkeypatch.setattr(trainer, "save_checkpoint", full)
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={tmp_path / 'run'}")
    assert code == 1, err
    assert "No space left on device" in error_line(err)


# ------------------------------------------ bad settings fail before data generation: 2


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("method.name=adapt", "method.extra_rgb is required"),
        ("model.kwargs.space_to_depth=3", "space_to_depth must be one of"),
        ("method.align=sideways", "method.align must be one of none, median"),
    ],
)
def test_bad_settings_fail_before_generating_data(
    override: str, fragment: str, config_file: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """With data.generate and no data yet, the network, method and transforms are
    checked first: the error comes before minutes of rendering, and nothing is written."""
    import rgb2depth.data.synthetic as synthetic

    def no_generation(*args, **kwargs):
        raise AssertionError("data generated before the settings were checked")

    monkeypatch.setattr(synthetic, "generate", no_generation)
    root = tmp_path / "data"
    model = ["model.name=fast_unet", "model.kwargs={}"] if override.startswith("model") else []
    argv = ["train", config_file, f"data.root={root}", f"log.out={tmp_path / 'run'}", *model]
    argv += ["data.generate={kind: faces, n: 8, size: 32, seed: 1}", override]
    code, stdout, err = run_cli(capsys, *argv)
    assert code == 2, err
    assert fragment in error_line(err)
    assert stdout == ""
    assert not root.exists() and not (tmp_path / "run").exists()
