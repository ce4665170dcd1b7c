"""atomic_dir: owned temporary names, removal of a dead writer's leftovers, safe swaps."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rgb2depth.data import io
from rgb2depth.errors import InputError


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """A process of this host that runs for the whole test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def leftover(parent: Path, target: str, pid: int, *, host: str | None = None, old=False) -> Path:
    """A folder named as atomic_dir names its temporaries, holding a file."""
    host = host or io._host_tag()
    tmp = parent / f".{target}.{pid}@{host}.ab12cd_9{'.old' if old else ''}.tmp"
    (tmp / "train").mkdir(parents=True)
    (tmp / "train" / "000000.png").write_bytes(b"x" * 1000)
    return tmp


def test_temporary_name_records_pid_and_host(tmp_path: Path) -> None:
    with io.atomic_dir(tmp_path / "out") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(f".out.{os.getpid()}@{io._host_tag()}.")
        assert tmp.name.endswith(".tmp")
        (tmp / "a").write_text("a")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path: Path, live_pid: int) -> None:
    dead = dead_pid()
    stale = leftover(tmp_path, "out", dead)
    stale_old = leftover(tmp_path, "out", dead, old=True)  # a replaced folder on its way out
    kept = [
        leftover(tmp_path, "out", live_pid),  # a writer still at work
        leftover(tmp_path, "out", os.getpid()),  # ourselves (another thread)
        leftover(tmp_path, "out", dead, host="0badc0de"),  # another host on a shared disk
        leftover(tmp_path, "other", dead),  # another target
        leftover(tmp_path, "out.v2", dead),  # another target whose name extends ours
    ]
    foreign = tmp_path / ".out.x7k2m9qa.tmp"  # the old unowned name: not provably ours
    foreign.mkdir()
    user_file = tmp_path / f".out.{dead}@{io._host_tag()}.notes"
    user_file.write_text("a user's file that merely looks similar")

    with io.atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a").write_text("a")

    assert not stale.exists() and not stale_old.exists()
    assert all(p.is_dir() and (p / "train" / "000000.png").is_file() for p in kept)
    assert foreign.is_dir() and user_file.read_text().startswith("a user's file")
    assert (tmp_path / "out" / "a").read_text() == "a"


def test_remove_stale_temporaries_returns_what_it_removed(tmp_path: Path) -> None:
    stale = leftover(tmp_path, "ckpt", dead_pid())
    assert io.remove_stale_temporaries(tmp_path / "ckpt") == [stale]
    assert io.remove_stale_temporaries(tmp_path / "ckpt") == []
    assert io.remove_stale_temporaries(tmp_path / "missing" / "ckpt") == []


def test_overwrite_swaps_by_renames_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with io.atomic_dir(out) as tmp:
        (tmp / "old").write_text("old")
    with io.atomic_dir(out, overwrite=True) as tmp:
        (tmp / "new").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_replaceable_is_asked_before_and_just_before_the_swap(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine").write_text("mine")
    asked: list[Path] = []

    def refuse_second(path: Path) -> None:
        asked.append(path)
        if len(asked) == 2:
            raise InputError(f"{path} changed")

    with (
        pytest.raises(InputError, match="changed"),
        io.atomic_dir(out, overwrite=True, replaceable=refuse_second) as tmp,
    ):
        (tmp / "new").write_text("new")
    assert asked == [out, out]
    assert (out / "mine").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_folder_filled_meanwhile_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()  # empty: accepted
    with pytest.raises(InputError, match="exists and is not empty"), io.atomic_dir(out) as tmp:
        (tmp / "new").write_text("new")
        (out / "mine").write_text("mine")  # the user (or another run) fills it meanwhile
    assert [p.name for p in out.iterdir()] == ["mine"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
