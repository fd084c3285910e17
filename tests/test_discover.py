"""What validate takes as files: folders with patterns left out, quoted globs, and standard input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mcfcheck.run.discover import discover

from .conftest import SAMPLES

FOLDERS = ["a", "b", "drafts", "c d"]


def _tree(root: Path, names: list[tuple[list[str], str]]) -> set[Path]:
    """The files ``names`` gives (folders, file name) made below ``root``."""
    made = set()
    for folders, file in names:
        path = root.joinpath(*folders, file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
        made.add(path)
    return made


@settings(max_examples=30, deadline=None)
@given(
    names=st.lists(
        st.tuples(
            st.lists(st.sampled_from(["a", "b", "c d"]), max_size=3),
            st.sampled_from(["f.xml", "g.xml.gz", "h.txt", "i.XML", "j.xml.bak"]),
        ),
        max_size=12,
    )
)
def test_a_folder_gives_every_matching_file_once_in_path_order(names: list[tuple[list[str], str]]) -> None:
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        made = _tree(root, names)
        expected = sorted(path for path in made if path.name.endswith((".xml", ".xml.gz")))
        assert discover([str(root)]) == expected
        # Given twice, and a file of it again: each once, in the order first given.
        assert discover([str(root), str(root), *map(str, expected[:1])]) == expected
        assert discover([str(root)], patterns=("*.txt",)) == sorted(p for p in made if p.name == "h.txt")
        # As validate asks: each time it is named.
        assert discover([str(root), str(root)], once=False) == expected * 2


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(
        st.tuples(st.lists(st.sampled_from(FOLDERS), max_size=3), st.sampled_from(["f.xml", "g.xml.gz", "old.xml"])),
        max_size=12,
    ),
    excluded=st.sampled_from([(), ("drafts",), ("old.xml",), ("a/*",), ("drafts", "*.gz")]),
)
def test_folders_and_globs_leave_out_what_exclude_names(
    names: list[tuple[list[str], str]], excluded: tuple[str, ...]
) -> None:
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        made = _tree(root, names)

        def left_out(path: Path) -> bool:
            # Told apart independently of discover: by the parts of the path below the root.
            parts = path.relative_to(root).parts
            for pattern in excluded:
                if pattern == "drafts" and "drafts" in parts[:-1]:
                    return True
                if pattern == "old.xml" and parts[-1] == "old.xml":
                    return True
                if pattern == "a/*" and parts[0] == "a":
                    return True
                if pattern == "*.gz" and parts[-1].endswith(".gz"):
                    return True
            return False

        expected = sorted(path for path in made if not left_out(path))
        assert discover([str(root)], exclude=excluded) == expected
        # A quoted glob at any depth gives the same files, its patterns matched against the paths as globbed.
        here = Path.cwd()
        os.chdir(root)
        try:
            globbed = discover(["**/*.xml*"], exclude=excluded)
        finally:
            os.chdir(here)
        assert [root / path for path in globbed] == expected


def test_a_glob_that_names_nothing_and_a_missing_file_stay_as_given(tmp_path: Path) -> None:
    assert discover([str(tmp_path / "*.xml")]) == []
    assert discover([str(tmp_path / "missing.xml")]) == [tmp_path / "missing.xml"]


def _validate(arguments: list[str], data: bytes, temporary: Path) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, "TMPDIR": str(temporary)}
    return subprocess.run(
        [sys.executable, "-m", "mcfcheck", "validate", *arguments],
        input=data,
        capture_output=True,
        env=environment,
        check=False,
    )


def test_standard_input_is_validated_as_a_file_named_dash(tmp_path: Path) -> None:
    invalid = (SAMPLES / "status-value-invalid.xml").read_bytes()
    done = _validate(["-", str(SAMPLES / "cb-valid.xml")], invalid, tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines[0].startswith("-:93:7: XSD001 Element 'Status'")
    assert "-: invalid, 1 error (4 installations, schema mcf-1.0.xsd)" in lines
    assert f"{SAMPLES / 'cb-valid.xml'}: valid (4 installations, schema mcf-1.0.xsd)" in lines
    # Reports name it - too; the copy of standard input is gone.
    report = _validate(["--format", "json", "-"], invalid, tmp_path)
    document = json.loads(report.stdout)
    assert [file["path"] for file in document["files"]] == ["-"]
    assert not list(tmp_path.iterdir())
    # Cut short, it is one line naming it -, exit status 2.
    cut = _validate(["-"], invalid[:400], tmp_path)
    assert cut.returncode == 2
    assert cut.stderr.decode().startswith("error: -:")
    assert not list(tmp_path.iterdir())
