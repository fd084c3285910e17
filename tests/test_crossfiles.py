"""The index of the checks across files (mcfcheck.run.crossfiles) against the plainest model of them:
every identifier seen kept in a list, and each file's compared with all of it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcfcheck.rules.holdings import KINDS, VALUE_SEPARATOR, fingerprint_bytes
from mcfcheck.run.crossfiles import CrossFiles, Shared

#: A few values, so that files share identifiers often.
VALUES = ("A", "B", "C", "D", "E", "F")
REFERENCES = (None, "R1", "R2", "R3")

installations = st.lists(
    st.tuples(
        st.sampled_from(REFERENCES),
        st.lists(st.tuples(st.integers(0, len(KINDS) - 1), st.sampled_from(VALUES)), max_size=4),
    ),
    max_size=6,
)


@dataclass(frozen=True)
class File:
    sha256: str
    path: str
    installations: list[tuple[str | None, list[tuple[int, str]]]]

    def holdings(self) -> list[tuple[str | None, bytes, bytes]]:
        return [
            (
                reference,
                b"".join(bytes((kind,)) + fingerprint_bytes(KINDS[kind], value) for kind, value in held),
                VALUE_SEPARATOR.join(value for _, value in held).encode(),
            )
            for reference, held in self.installations
        ]


def _file(path: str, installations: list[tuple[str | None, list[tuple[int, str]]]]) -> File:
    # The same bytes hold the same installations: a file's content is named after them.
    return File(repr(installations), path, installations)


#: Files of few installations, often the same (the same bytes under another path, or checked again).
files = st.lists(
    st.builds(_file, st.sampled_from(("a", "b", "c")), installations | st.just([("R1", [(0, "A")])])), max_size=8
)


def model(held: list[File], batch: list[File]) -> list[list[Shared]]:
    """Each batch file's findings, as a join of every identifier seen with the file's."""
    seen: list[tuple[int, str, str, str, str | None, int]] = []
    known: set[tuple[str, str]] = set()

    def add(file: File) -> None:
        if (file.sha256, file.path) in known:
            return
        known.add((file.sha256, file.path))
        for position, (reference, identifiers) in enumerate(file.installations, start=1):
            for kind, value in identifiers:
                seen.append((kind, value, file.sha256, file.path, reference, position))

    for file in held:
        add(file)
    found = []
    for file in batch:
        shared = [
            Shared(position, reference, KINDS[kind], path, other_reference, other_position, value, place)
            for position, (reference, identifiers) in enumerate(file.installations, start=1)
            for place, (kind, value) in enumerate(identifiers)
            for other_kind, other_value, sha256, path, other_reference, other_position in seen
            if (other_kind, other_value) == (kind, value)
            and sha256 != file.sha256
            and (reference is None or other_reference is None or reference != other_reference)
        ]
        found.append(sorted(shared, key=_order))
        add(file)
    return found


def _order(shared: Shared) -> tuple[int, int, int, str, int, bool, str]:
    other = shared.other_reference
    key = (shared.other_path, shared.other_position, other is not None, other or "")
    return (shared.position, KINDS.index(shared.kind), shared.place, *key)


def held_rows(held: list[File]) -> list[tuple[str, str, list[tuple[int, str | None, bytes]]]]:
    """The files as the ledger gives them: each file's installations (position, reference, identifiers), in
    parts of at most two installations.
    """
    rows = []
    for file in held:
        installations = [
            (position, reference, data) for position, (reference, data, _) in enumerate(file.holdings(), start=1)
        ]
        rows += [
            (file.sha256, file.path, installations[start : start + 2]) for start in range(0, len(installations), 2)
        ]
    return rows


@settings(max_examples=300, deadline=None)
@given(
    held=files,
    batch=files,
    run_entries=st.sampled_from((1, 3, 8, 1 << 21)),
    memory_entries=st.sampled_from((0, 2)),
    # A filter of one word grows (and is filled again) at the first identifiers.
    filter_bits=st.sampled_from((6, 7, 27)),
    # Pages of one or two entries: a fingerprint's page is a small part of a run (of 512: all of it).
    page=st.sampled_from((1, 2, 512)),
)
def test_the_index_finds_what_a_join_of_every_identifier_finds(
    held: list[File], batch: list[File], run_entries: int, memory_entries: int, filter_bits: int, page: int
) -> None:
    # Latest record of each content only, as the ledger gives them.
    latest = list({file.sha256: file for file in held}.values())
    index = CrossFiles(
        held_rows(latest),
        run_entries=run_entries,
        memory_entries=memory_entries,
        filter_bits=filter_bits,
        page=page,
    )
    try:
        found = [index.shared(file.path, file.sha256, iter(file.holdings())) for file in batch]
    finally:
        index.close()
    assert found == model(latest, batch)


def test_the_index_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    index = CrossFiles([], memory_entries=0)
    for number in range(5):
        file = File(f"s{number}", f"p{number}", [("R", [(0, "A"), (1, "B")])] * 3)
        assert index.shared(file.path, file.sha256, iter(file.holdings())) == []
    assert any(tmp_path.rglob("run-*")), "runs past the memory limit are in files"
    index.close()
    assert list(tmp_path.iterdir()) == []
