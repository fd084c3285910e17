"""``mcfcheck diff``'s outputs: the console's lines, the JSON document, the CSV table.

Each is written as the differences are read from disk (:class:`mcfcheck.run.diff.FileDiff`),
never held whole in memory. The JSON document has its schema in
``schemas/mcfcheck-diff-1.0.schema.json``; the CSV table has one row per change:
``reference,change,concept,device_id,old,new``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Final, TextIO

from mcfcheck import __version__
from mcfcheck.run.diff import (
    ADDED,
    DIFF_FORMAT_VERSION,
    DUPLICATE,
    REMOVED,
    Change,
    FileDiff,
    Value,
)

#: The CSV table's columns.
CSV_COLUMNS: Final = ("reference", "change", "concept", "device_id", "old", "new")


def _shown(value: Value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _change_line(change: Change) -> str:
    if change.change == "device-swapped":
        return f"device swapped ({change.concept}): {_shown(change.old)} -> {_shown(change.new)}"
    if change.change == "device-added":
        return f"device added ({change.concept}): {_shown(change.new)}"
    if change.change == "device-removed":
        return f"device removed ({change.concept}): {_shown(change.old)}"
    where = f"device {change.device_id}: " if change.change == "device-changed" else ""
    return f"{where}{change.concept}: {_shown(change.old)} -> {_shown(change.new)}"


def summary_line(diff: FileDiff) -> str:
    """One line: what differs, in numbers."""
    counts = diff.summary
    said = (
        f"{diff.old.path} -> {diff.new.path}: {counts.added} added, {counts.removed} removed, "
        f"{counts.changed} changed, {counts.unchanged} unchanged"
    )
    if counts.duplicates:
        said += f", {counts.duplicates} duplicated references"
    if counts.header:
        said += f"; header: {counts.header} {'fields differ' if counts.header > 1 else 'field differs'}"
    return said if counts.differences else f"{said}; no differences"


def write_console(stream: TextIO, diff: FileDiff) -> None:
    """The differences as lines for people: the header's, then each installation's, then the summary."""
    for change in diff.header:
        stream.write(f"header {change.concept}: {_shown(change.old)} -> {_shown(change.new)}\n")
    for reference, line in diff.removed():
        stream.write(f"removed {reference} (old line {line})\n")
    for reference, line in diff.added():
        stream.write(f"added {reference} (new line {line})\n")
    for changed in diff.changed():
        stream.write(f"changed {changed.reference} (old line {changed.old_line}, new line {changed.new_line})\n")
        for change in changed.changes:
            stream.write(f"  {_change_line(change)}\n")
    for duplicate in diff.duplicates():
        lines = ", ".join(str(line) for line in duplicate.lines)
        stream.write(f"duplicate reference {duplicate.reference} in {duplicate.side} (lines {lines}): not compared\n")
    stream.write(summary_line(diff) + "\n")


def _change_object(change: Change) -> dict[str, Value]:
    return {
        "change": change.change,
        "concept": change.concept,
        "device_id": change.device_id,
        "old": change.old,
        "new": change.new,
    }


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_json(stream: TextIO, diff: FileDiff) -> None:
    """The JSON document (``schemas/mcfcheck-diff-1.0.schema.json``), written as it is read."""
    counts = diff.summary
    head = {
        "format": "mcfcheck-diff",
        "version": DIFF_FORMAT_VERSION,
        "tool": {"name": "mcfcheck", "version": __version__},
        "old": {"file": diff.old.path, "installations": diff.old.installations, "header": diff.old.header},
        "new": {"file": diff.new.path, "installations": diff.new.installations, "header": diff.new.header},
        "summary": {
            "differences": counts.differences,
            "added": counts.added,
            "removed": counts.removed,
            "changed": counts.changed,
            "unchanged": counts.unchanged,
            "duplicates": counts.duplicates,
            "header": counts.header,
        },
        "header": [_change_object(change) for change in diff.header],
    }
    stream.write(_dump(head)[:-1])

    def array(name: str, items: object) -> None:
        stream.write(f', "{name}": [')
        assert hasattr(items, "__iter__")
        for index, item in enumerate(items):
            stream.write(("\n  " if index == 0 else ",\n  ") + _dump(item))
        stream.write("]")

    array("added", ({"reference": reference, "line": line} for reference, line in diff.added()))
    array("removed", ({"reference": reference, "line": line} for reference, line in diff.removed()))
    array(
        "changed",
        (
            {
                "reference": changed.reference,
                "old_line": changed.old_line,
                "new_line": changed.new_line,
                "changes": [_change_object(change) for change in changed.changes],
            }
            for changed in diff.changed()
        ),
    )
    array(
        "duplicates",
        (
            {"file": duplicate.side, "reference": duplicate.reference, "lines": list(duplicate.lines)}
            for duplicate in diff.duplicates()
        ),
    )
    stream.write("}\n")


def csv_cell(value: Value) -> str:
    """A value as the CSV table writes it: empty for none, true or false, else its text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def change_row(reference: str, change: Change) -> tuple[str, str, str, str, str, str]:
    """A change as the CSV table's row (:data:`CSV_COLUMNS`)."""
    return (
        reference,
        change.change,
        change.concept,
        change.device_id or "",
        csv_cell(change.old),
        csv_cell(change.new),
    )


def write_csv(stream: TextIO, diff: FileDiff) -> None:
    """One row per change: the header's (no reference), installations added and removed, each changed concept,
    each duplicated reference (the number of installations holding it in each file as old and new).
    """
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for change in diff.header:
        writer.writerow(change_row("", change))
    for reference, _line in diff.removed():
        writer.writerow((reference, REMOVED, "", "", "", ""))
    for reference, _line in diff.added():
        writer.writerow((reference, ADDED, "", "", "", ""))
    for changed in diff.changed():
        for change in changed.changes:
            writer.writerow(change_row(changed.reference, change))
    duplicated: dict[str, dict[str, int]] = {}
    for duplicate in diff.duplicates():
        duplicated.setdefault(duplicate.reference, {})[duplicate.side] = len(duplicate.lines)
    for reference, sides in duplicated.items():
        writer.writerow((reference, DUPLICATE, "reference", "", sides.get("old", ""), sides.get("new", "")))


#: The formats, each with what writes it.
FORMATS: Final[dict[str, Callable[[TextIO, FileDiff], None]]] = {
    "console": write_console,
    "json": write_json,
    "csv": write_csv,
}
