"""The command line: exit codes, one-line errors, no partial output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rgb2depth.cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_generate_and_check(tmp_path: Path, capsys) -> None:
    out = tmp_path / "faces"
    code, stdout, _ = run_cli(
        capsys,
        "generate",
        "faces",
        "--n",
        "12",
        "--size",
        "32",
        "--out",
        str(out),
        "--quiet",
        "--preview",
    )
    assert code == 0 and "wrote" in stdout and (out / "preview.png").is_file()
    code, stdout, _ = run_cli(capsys, "check", str(out), "--quiet")
    assert code == 0
    assert "train" in stdout and "test" in stdout


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["generate", "cats", "--out", "{tmp}/x"], ["unknown scene kind 'cats'", "faces"]),
        (["generate", "faces", "--n", "0", "--out", "{tmp}/x"], ["n must be a positive"]),
        (["generate", "faces", "--size", "big", "--out", "{tmp}/x"], ["size must be S or WxH"]),
        (["generate", "faces", "--n", "three", "--out", "{tmp}/x"], ["invalid int value"]),
        (["generate", "faces", "--nn", "3", "--out", "{tmp}/x"], ["unrecognized arguments: --nn"]),
        (["check", "{tmp}/missing"], ["does not exist"]),
        (["check", "{tmp}"], ["dataset.json not found"]),
        (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path: Path, capsys, argv, fragments) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "x").exists()


def test_existing_output_is_kept(tmp_path: Path, capsys) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "mine.txt").write_text("precious")
    code, _, err = run_cli(
        capsys, "generate", "faces", "--n", "2", "--size", "16", "--out", str(out), "--quiet"
    )
    assert_one_line_error(code, err, "exists and is not empty", "--overwrite")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_check_reports_corrupt_file(planes_dataset: Path, capsys) -> None:
    victim = planes_dataset / "test" / "rgb" / "000018.png"
    victim.write_bytes(victim.read_bytes()[:40])
    code, _, err = run_cli(capsys, "check", str(planes_dataset), "--quiet")
    assert_one_line_error(code, err, "000018.png", "corrupt or truncated")


def test_check_reports_wrong_depth_dtype(planes_dataset: Path, capsys) -> None:
    victim = planes_dataset / "val" / "depth" / "000016.png"
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(victim)
    code, _, err = run_cli(capsys, "check", str(planes_dataset), "--quiet")
    assert_one_line_error(code, err, "000016.png", "16-bit single channel")


@pytest.mark.slow
def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rgb2depth",
            "generate",
            "rooms",
            "--n",
            "1",
            "--size",
            "16",
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "rgb2depth", "check", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_system_errors_are_one_line_exit_1(tmp_path: Path, capsys, monkeypatch) -> None:
    import rgb2depth.cli.check as check_cmd

    def full_disk(args):
        raise OSError(28, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(check_cmd, "run", full_disk)
    code, _, err = run_cli(capsys, "check", str(tmp_path))
    assert code == 1 and err.count("\n") == 1 and "No space left on device" in err
