"""A small file's run: the start-up cache, the command line built for the command named, the ledger in memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mcfcheck import cache, cli
from mcfcheck.cache import CACHE_FOLDER_VARIABLE, NO_CACHE_VARIABLE, cache_folder, cached, file_key
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.ledger import InstallationLedger, Placed
from mcfcheck.rules.registry import ENTRY_POINT_GROUP, PackEntryPoint, installed_packs

from .conftest import SAMPLES

MCFCHECK = Path(sys.executable).with_name("mcfcheck")


class Counted:
    """A computation that counts how often it runs."""

    def __init__(self, value: list[str]) -> None:
        self.value = value
        self.runs = 0

    def __call__(self) -> list[str]:
        self.runs += 1
        return list(self.value)


def _decoded(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("not a list of strings")
    return [str(item) for item in value]


def _encoded(value: list[str]) -> cache.Json:
    return list(value)


def _cached(key: cache.Json, compute: Counted, scope: str = "scope") -> list[str]:
    return cached("test", scope, key, compute, _encoded, _decoded)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own."""
    monkeypatch.setenv(CACHE_FOLDER_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.delenv(NO_CACHE_VARIABLE, raising=False)
    return tmp_path / "cache"


def test_an_answer_is_worked_out_once_and_again_when_its_key_changes(folder: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text("one")
    compute = Counted(["answer"])
    assert _cached(file_key(source), compute) == ["answer"]
    assert _cached(file_key(source), compute) == ["answer"]
    assert compute.runs == 1
    # Another size (and modification time): worked out again, and kept in place of the old.
    source.write_text("three")
    compute.value = ["changed"]
    assert _cached(file_key(source), compute) == ["changed"]
    assert compute.runs == 2
    assert _cached(file_key(source), compute) == ["changed"]
    assert compute.runs == 2
    assert len(list(folder.iterdir())) == 1
    # Another scope is another entry.
    assert _cached(file_key(source), compute, scope="other") == ["changed"]
    assert compute.runs == 3
    assert len(list(folder.iterdir())) == 2


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\xff garbage", b'{"scope": "scope"', b"[1, 2]", b'{"scope": "scope", "key": null, "value": 1}'],
)
def test_a_corrupt_entry_is_ignored_and_replaced(folder: Path, content: bytes) -> None:
    compute = Counted(["answer"])
    assert _cached("key", compute) == ["answer"]
    (entry,) = folder.iterdir()
    entry.write_bytes(content)
    assert _cached("key", compute) == ["answer"]
    assert compute.runs == 2
    assert json.loads(entry.read_bytes())["value"] == ["answer"]


def test_an_entry_of_the_right_key_that_cannot_be_decoded_is_worked_out_again(folder: Path) -> None:
    compute = Counted(["answer"])
    _cached("key", compute)
    (entry,) = folder.iterdir()
    written = json.loads(entry.read_bytes())
    entry.write_text(json.dumps({**written, "value": [1, 2]}))
    assert _cached("key", compute) == ["answer"]
    assert compute.runs == 2


def test_an_entry_is_written_whole_or_not_at_all(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compute = Counted(["first"])
    _cached("key", compute)
    (entry,) = folder.iterdir()
    before = entry.read_bytes()

    def refused(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    # The rename that puts the new entry in place fails: the old one stays, and nothing half-written is left.
    monkeypatch.setattr(Path, "replace", refused)
    compute.value = ["second"]
    assert _cached("another key", compute) == ["second"]
    assert compute.runs == 2
    assert list(folder.iterdir()) == [entry]
    assert entry.read_bytes() == before


def test_a_cache_folder_that_cannot_be_written_still_gives_the_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_FOLDER_VARIABLE, str(blocker / "cache"))
    compute = Counted(["answer"])
    assert _cached("key", compute) == ["answer"]
    assert _cached("key", compute) == ["answer"]
    assert compute.runs == 2
    assert blocker.read_text() == "not a folder"


def test_the_cache_can_be_turned_off(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NO_CACHE_VARIABLE, "1")
    assert cache_folder() is None
    compute = Counted(["answer"])
    _cached("key", compute)
    _cached("key", compute)
    assert compute.runs == 2
    assert not folder.exists()


def test_the_cache_folder_is_the_users_unless_one_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(NO_CACHE_VARIABLE, raising=False)
    monkeypatch.delenv(CACHE_FOLDER_VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "mcfcheck"
    # A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder() == tmp_path / "home" / ".cache" / "mcfcheck"
    monkeypatch.setenv(CACHE_FOLDER_VARIABLE, str(tmp_path / "given"))
    assert cache_folder() == tmp_path / "given"


def _distribution(folder: Path, name: str, entry_points: str) -> None:
    metadata = folder / f"{name}-1.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (metadata / "entry_points.txt").write_text(entry_points)


def test_the_installed_packs_are_those_importlib_finds_and_change_with_the_distributions(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    def found() -> list[PackEntryPoint]:
        return [PackEntryPoint(point.name, point.value) for point in metadata.entry_points(group=ENTRY_POINT_GROUP)]

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert installed_packs() == found()
    assert installed_packs() == found()
    assert "common" in [pack.name for pack in installed_packs()]
    # A distribution installed since: its pack is found, though the cache holds the list before.
    _distribution(site, "extra_pack", f"[{ENTRY_POINT_GROUP}]\nextra = extra_pack.rules:RULES\n")
    assert PackEntryPoint("extra", "extra_pack.rules:RULES") in installed_packs()
    assert installed_packs() == found()
    # Its entry points rewritten in place (the folder unchanged): found too.
    points = site / "extra_pack-1.0.dist-info" / "entry_points.txt"
    points.write_text(f"[{ENTRY_POINT_GROUP}]\nextra = extra_pack.other:RULES\nmore = extra_pack.more:RULES\n")
    os.utime(points, ns=(points.stat().st_atime_ns, points.stat().st_mtime_ns + 1_000_000_000))
    assert installed_packs() == found()
    assert PackEntryPoint("more", "extra_pack.more:RULES") in installed_packs()


@pytest.mark.parametrize(
    "value",
    ["mcfcheck.rules.packs.common:RULES", "mcfcheck.rules.base:Rule.summary", "mcfcheck.rules [extra]", "os.path"],
)
def test_a_pack_entry_point_loads_what_importlib_loads(value: str) -> None:
    from importlib import metadata

    assert PackEntryPoint("name", value).load() == metadata.EntryPoint("name", value, ENTRY_POINT_GROUP).load()


@pytest.mark.parametrize(
    ("argv", "alone"),
    [
        (["validate", "file.xml"], "validate"),
        (["--color", "never", "validate", "-q", "file.xml"], "validate"),
        (["--color=never", "rules"], "rules"),
        (["diff", "a.xml", "b.xml"], "diff"),
        (["ledger", "summary"], "ledger"),
        ([], None),
        (["--help"], None),
        (["--version"], None),
        (["valdate", "file.xml"], None),
        (["--", "validate"], None),
    ],
)
def test_the_command_named_is_built_alone(argv: list[str], alone: str | None) -> None:
    app = cli._app_for(argv)
    if alone is None:
        assert app is cli.app
    else:
        assert [cli._command_name(info) for info in app.registered_commands] == [alone]
        assert app.registered_callback is cli.app.registered_callback


def test_shell_completion_gets_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_MCFCHECK_COMPLETE", "complete_bash")
    assert cli._app_for(["validate"]) is cli.app


@pytest.mark.parametrize("command", [cli._command_name(info) for info in cli.app.registered_commands])
def test_a_command_built_alone_parses_and_helps_as_in_the_whole(command: str) -> None:
    runner = CliRunner()
    alone = cli._app_for([command])
    assert alone is not cli.app
    for arguments in ([command, "--help"], ["--color", "never", command, "--help"], [command, "--no-such-option"]):
        whole = runner.invoke(cli.app, arguments, prog_name="mcfcheck")
        built = runner.invoke(alone, arguments, prog_name="mcfcheck")
        assert (built.exit_code, built.output) == (whole.exit_code, whole.output)
    assert isinstance(typer.main.get_command(alone), typer.core.TyperGroup)


def _run(path: Path, environment: dict[str, str]) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(MCFCHECK), "validate", "--jobs", "1", str(path)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


@settings(max_examples=6)
@given(
    cohort=st.sampled_from(sorted(builtin_cohorts())),
    seed=st.integers(min_value=0, max_value=10_000),
    installations=st.integers(min_value=1, max_value=12),
    error_rate=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_the_findings_are_the_same_with_the_cache_and_without(
    tmp_path_factory: pytest.TempPathFactory, cohort: str, seed: int, installations: int, error_rate: float
) -> None:
    folder = tmp_path_factory.mktemp("cached")
    path = folder / "file.xml"
    generator = MCFGenerator(builtin_cohorts()[cohort], seed=seed, error_rate=error_rate)
    path.write_text("".join(generator.iter_text(installations)), encoding="utf-8")
    with_cache = {**os.environ, CACHE_FOLDER_VARIABLE: str(folder / "cache")}
    with_cache.pop(NO_CACHE_VARIABLE, None)
    without = {**with_cache, NO_CACHE_VARIABLE: "1"}
    cold = _run(path, with_cache)
    assert any(entry.name.startswith("entry-points-") for entry in (folder / "cache").iterdir())
    warm = _run(path, with_cache)
    none = _run(path, without)
    assert cold == warm == none
    # Valid but for the planted errors: each file is checked, not refused.
    assert cold[0] == (1 if generator.planted else 0), cold


def test_a_small_file_is_validated_with_a_cache_folder_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    environment = {**os.environ, CACHE_FOLDER_VARIABLE: str(blocker / "cache")}
    environment.pop(NO_CACHE_VARIABLE, None)
    status, output, errors = _run(SAMPLES / "GEN001-mpan-check-digit-invalid.xml", environment)
    assert status == 1
    assert "GEN001 MPAN core" in output
    assert "Traceback" not in errors


installations = st.lists(
    st.tuples(st.integers(min_value=1, max_value=20), st.one_of(st.none(), st.text(max_size=70))),
    min_size=1,
    max_size=40,
)


@given(installations, st.integers(min_value=1, max_value=10))
def test_the_ledger_places_lines_alike_however_sparse_its_index(
    spans: list[tuple[int, str | None]], records_in_memory: int
) -> None:
    """Every n-th line in memory, the rest read from disk: a line's installation is the same whatever n."""
    kept = InstallationLedger()
    spilling = InstallationLedger(every=records_in_memory)
    try:
        starts, line = [], 1
        for length, reference in spans:
            starts.append(line)
            for ledger in (kept, spilling):
                ledger.add(line, reference, "/MigrationFile/Installations", "Active")
            line += length
        for position, ((length, _reference), start) in enumerate(zip(spans, starts, strict=True), 1):
            placed = kept.locate(start + length - 1)
            assert placed.position == position
            assert spilling.locate(start) == placed
        assert spilling.locate(0) == kept.locate(0) == Placed(0, None, None)
    finally:
        kept.close()
        spilling.close()


def _unpickled(data: bytes) -> object:
    import pickle

    return pickle.loads(data)  # noqa: S301 - pickled by the test itself


def _same_settings(one: object, other: object) -> bool:
    from mcfcheck.rules.engine import RuleSettings

    assert isinstance(one, RuleSettings)
    assert isinstance(other, RuleSettings)
    return (one.selection, one.options, one.cohorts, one.bindings.bindings[0].name) == (
        other.selection,
        other.options,
        other.cohorts,
        other.bindings.bindings[0].name,
    )


def test_a_runs_settings_are_pickled_once_and_unpickled_once_per_process() -> None:
    import pickle

    from mcfcheck.rules.engine import RuleSettings
    from mcfcheck.rules.selection import Selection
    from mcfcheck.run import parts

    settings = RuleSettings(selection=Selection(select=("GEN",)), options={"GEN001": {"x": 1}})
    first = pickle.dumps(parts._WholeFile(Path("a.xml"), None, settings, 10))
    second = pickle.dumps(parts._WholeFile(Path("b.xml"), None, settings, 10))
    token, pickled = parts._settings_sent(settings)
    assert token in first
    assert token in second
    assert _same_settings(_unpickled(pickled), settings)
    # In another process, the first task's settings are unpickled; the next task's are the same object.
    parts._received.clear()
    one, two = _unpickled(first), _unpickled(second)
    assert isinstance(one, parts._WholeFile)
    assert isinstance(two, parts._WholeFile)
    assert (one.path, two.path) == (Path("a.xml"), Path("b.xml"))
    assert _same_settings(one.settings, settings)
    assert one.settings is two.settings
    # Other settings are another token: never taken for the first.
    other = RuleSettings(selection=Selection(select=("SEC",)))
    assert parts._settings_sent(other)[0] != token
    third = _unpickled(pickle.dumps(parts._WholeFile(Path("c.xml"), None, other, 10)))
    assert isinstance(third, parts._WholeFile)
    assert _same_settings(third.settings, other)
    assert not _same_settings(third.settings, settings)
    fourth = _unpickled(pickle.dumps(parts._WholeFile(Path("d.xml"), None, None, 10)))
    assert isinstance(fourth, parts._WholeFile)
    assert fourth.settings is None
