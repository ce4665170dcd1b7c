"""Every bad input of the catalogue (tests/bad_inputs.py): one line, exit 2, nothing written.

The messages the commands print are also rendered into ``docs/bad-inputs.md``; the
last test fails when that page differs from what the commands print now
(``RGB2DEPTH_WRITE_DOCS=1`` rewrites it: ``make docs``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bad_inputs import CASES, Case, make_workdir, render_markdown
from rgb2depth.cli.main import COMMANDS, main

DOC = Path(__file__).parents[1] / "docs" / "bad-inputs.md"
RESULTS: dict[str, tuple[int, str]] = {}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-inputs")
    make_workdir(root)
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time."""
    out = {}
    for p in root.rglob("*"):
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_size if p.is_file() else -1, st.st_mtime_ns)
    return out


def run_case(c: Case, workdir: Path, capsys, monkeypatch) -> tuple[int, str]:
    """Run one case in ``workdir``; check everything but the fragments; return (code, line)."""
    monkeypatch.chdir(workdir)
    before = snapshot(workdir)
    try:
        code = main(list(c.argv))
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    _, err = capsys.readouterr()
    after = snapshot(workdir)
    for added in sorted(set(after) - set(before), reverse=True):  # leave the next case a clean
        path = workdir / added  # folder whatever this one did wrong
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert code == 2, (code, lines[0])
    known = c.command in {m.__name__.rsplit(".", 1)[-1] for m in COMMANDS}
    prefix = f"rgb2depth {c.command}: error: " if known else "rgb2depth: error: "
    assert lines[0].startswith(prefix), lines[0]
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k] and k != ".")
    assert not (added or removed or changed), f"added {added}, removed {removed}, changed {changed}"
    return code, lines[0]


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case, workdir: Path, capsys, monkeypatch) -> None:
    code, line = run_case(c, workdir, capsys, monkeypatch)
    RESULTS[c.id] = (code, line)
    for fragment in c.fragments:
        assert fragment in line, (fragment, line)


def test_catalogue_is_large_and_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 60
    commands = {c.command for c in CASES}
    assert {"generate", "check", "train", "evaluate", "predict", "models", "demo"} <= commands


def test_doc_matches_what_the_commands_print(workdir: Path, capsys, monkeypatch) -> None:
    for c in CASES:
        if c.id not in RESULTS:  # this test was run alone
            RESULTS[c.id] = run_case(c, workdir, capsys, monkeypatch)
    text = render_markdown(RESULTS)
    if os.environ.get("RGB2DEPTH_WRITE_DOCS"):
        DOC.write_text(text, encoding="utf-8")
    assert DOC.is_file(), "docs/bad-inputs.md is missing: run make docs"
    assert DOC.read_text(encoding="utf-8") == text, "docs/bad-inputs.md is stale: run make docs"
