"""Bindings: where each thing the rules read lives in one dialect of the MCF.

The rules read *concepts* (an installation's reference, its MPAN core, a device's
Device ID…), never element names. A binding, a small TOML file, tells for one dialect
(one or more namespaces) where each concept is: a path of element names, or an
attribute (``@name``) as its last step, relative to its parent (the header, the
trailer, the installation, a device); and, where the dialect codes values differently
("A" for Active, "Y" for true), the map from its values to mcfcheck's. mcfcheck's own
dialect has one like any other (``schemas/mcf-1.0.binding.toml``); see
``docs/bindings.md`` for the format.

A binding is turned once into a *reading plan* (:func:`reading_plan`): the tree of
names that the readers of installations (in Python here, in C in
:mod:`mcfcheck.native`) walk, so that no name is looked up per element.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Final

from mcfcheck.errors import ConfigError

#: A path's steps: element names (NCNames); the last may be an attribute (``@name``).
_STEP: Final = re.compile(r"^@?[^\W\d][\w.\-]*$")


@dataclass(frozen=True, slots=True)
class Concept:
    """One thing the rules read, and how it is read."""

    name: str
    #: Where its path starts: header, trailer, installation or device.
    parent: str
    #: How users read its name in messages.
    label: str
    #: text (the stripped text or attribute value), flag (whether the element is there),
    #: element (the element itself: the hub) or devices (each element a device).
    kind: str = "text"
    #: Whether its line is read too (identifiers that problems point at).
    line: bool = False
    #: Whether its values repeat across installations (codes, models), so the C reader
    #: shares one string per value.
    shared: bool = False


#: Every concept, by the section of a binding that places it.
CONCEPTS: Final = (
    Concept("group_id", "header", "GroupID", shared=True),
    Concept("smso", "header", "SMSO name", shared=True),
    Concept("supplier", "header", "supplier", shared=True),
    Concept("creation_time", "header", "creation time"),
    Concept("file_identifier", "header", "file identifier"),
    Concept("installation_count", "trailer", "installation count"),
    Concept("device_count", "trailer", "device count"),
    Concept("reference", "installation", "installation reference", line=True),
    Concept("status", "installation", "status", shared=True),
    Concept("mpan", "installation", "MPAN core", line=True),
    Concept("mprn", "installation", "MPRN", line=True),
    Concept("hub", "installation", "Communications Hub", kind="element"),
    Concept("iccid", "installation", "ICCID", line=True),
    Concept("imsi", "installation", "IMSI", line=True),
    Concept("static_ip", "installation", "static IP address", line=True),
    Concept("apn", "installation", "APN", shared=True),
    Concept("devices", "installation", "devices", kind="devices"),
    Concept("prepayment", "installation", "prepayment settings", kind="flag"),
    Concept("utrn_cutover_hours", "installation", "UTRN cutover hours", shared=True),
    Concept("dormant_notice", "installation", "dormant notice", kind="flag"),
    Concept("firmware_notice_date", "installation", "firmware notice date"),
    Concept("planned_upgrade_date", "installation", "planned upgrade date"),
    Concept("migration_notice_date", "installation", "migration notice date"),
    Concept("planned_migration_date", "installation", "planned migration date"),
    Concept("shorter_notice_agreed", "installation", "shorter notice agreed", shared=True),
    # Last of the installation's, so that the readings' other slots keep their places.
    Concept("csp", "installation", "communications service provider", shared=True),
    Concept("device_type", "device", "device type", shared=True),
    Concept("device_id", "device", "Device ID", line=True),
    Concept("manufacturer", "device", "manufacturer", shared=True),
    Concept("model", "device", "model", shared=True),
    Concept("firmware_version", "device", "firmware version", shared=True),
    Concept("payment_mode", "device", "payment mode", shared=True),
    Concept("auxiliary_load", "device", "auxiliary load", shared=True),
)
CONCEPT_NAMES: Final = frozenset(concept.name for concept in CONCEPTS)
_BY_NAME: Final = {concept.name: concept for concept in CONCEPTS}
_SECTIONS: Final = ("header", "trailer", "installation", "device")
#: The keys of each section that are not concepts: where the section's element is.
_PLACES: Final = {"header": ("element",), "trailer": ("element",), "installation": ("element", "within")}

#: The fields of an installation's and of a device's reading, in order (the readers'
#: tuples): a concept's value, then its line for those read with one.
INSTALLATION_FIELDS: Final = tuple(
    name
    for concept in CONCEPTS
    if concept.parent == "installation"
    for name in ((concept.name, f"{concept.name}_line") if concept.line else (concept.name,))
)
#: A device's reading starts with its element and ends with its place: the index of
#: the path it was found at among the binding's device paths (-1 for the hub).
DEVICE_FIELDS: Final = (
    "element",
    *(
        name
        for concept in CONCEPTS
        if concept.parent == "device"
        for name in ((concept.name, f"{concept.name}_line") if concept.line else (concept.name,))
    ),
    "place",
)


def concept(name: str) -> Concept:
    """The concept called ``name``."""
    return _BY_NAME[name]


Path_ = tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Binding:
    """Where the concepts are in one dialect of the MCF.

    Paths are tuples of steps (element local names in the namespace of the file's
    root; ``@name`` an unqualified attribute; ``()`` the parent element itself).
    """

    #: Where the binding was read from (a file, or ``bundled:NAME``).
    source: str
    name: str
    namespaces: tuple[str, ...]
    #: The record element's local name, and the path from the root to its parent.
    record: str
    #: The document element's local name and the attributes a writer gives it (writing only).
    root: str | None = None
    root_attributes: Mapping[str, str] = field(default_factory=dict)
    #: The installation's concepts in the binding's order ("devices" included): the order
    #: in which a writer places their elements.
    order: tuple[str, ...] = ()
    within: Path_ = ()
    header: Path_ | None = None
    trailer: Path_ | None = None
    #: The concepts' paths, each relative to its parent (header, trailer, installation, device).
    paths: Mapping[str, Path_] = field(default_factory=dict)
    #: Where devices are: by device type ("*" for any other type); every path is read.
    devices: Mapping[str, Path_] = field(default_factory=dict)
    #: Value maps: concept -> {dialect value: mcfcheck value}.
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The line of each key in the binding's file, by "section.key", for error messages.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    @cached_property
    def concepts(self) -> frozenset[str]:
        """The concepts this binding places (asked by every rule of every file: worked out once)."""
        return frozenset(self.paths) | ({"devices"} if self.devices else frozenset())

    def where(self, key: str) -> str:
        """``source:line`` of a key ("installation.mpan"), or the source alone."""
        line = self.lines.get(key)
        return f"{self.source}:{line}" if line else self.source

    def missing(self, concepts: frozenset[str]) -> list[str]:
        """The concepts of ``concepts`` this binding does not place, in the binding's order."""
        have = self.concepts
        return [item.name for item in CONCEPTS if item.name in concepts and item.name not in have]


def _key_lines(text: str) -> dict[str, int]:
    """The line of every ``key =`` and of every table header, as "table.key" and "table"."""
    found: dict[str, int] = {}
    table = ""
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    key = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_*.-]+)\s*=""")
    for number, line in enumerate(text.splitlines(), 1):
        match = header.match(line)
        if match:
            table = match.group(1).replace('"', "")
            found.setdefault(table, number)
            continue
        match = key.match(line)
        if match:
            name = match.group(1).strip("\"'")
            found.setdefault(f"{table}.{name}" if table else name, number)
    return found


class _Reader:
    """Turns a binding's TOML into a :class:`Binding`, with errors naming the line."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = _key_lines(text)

    def fail(self, key: str, problem: str) -> ConfigError:
        line = self.lines.get(key) or self.lines.get(key.rpartition(".")[0])
        where = f"{self.source}:{line}" if line else self.source
        return ConfigError(f"{where}: {problem}")

    def path(self, key: str, value: object) -> Path_:
        if not isinstance(value, str):
            raise self.fail(key, f"{key} must be a path (element names joined by '/'), not {value!r}")
        if value.strip() in (".", ""):
            return ()
        steps = tuple(value.strip().split("/"))
        for index, step in enumerate(steps):
            if not _STEP.match(step) or (step.startswith("@") and index != len(steps) - 1):
                raise self.fail(
                    key,
                    f"{key} = {value!r}: each step must be an element name; only the last may be an attribute (@name)",
                )
        return steps

    def string(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"{key} must be a non-empty string, not {value!r}")
        return value

    def read(self, document: Mapping[str, object]) -> Binding:
        known = {"name", "namespaces", "values", "document", *_SECTIONS}
        for key in document:
            if key not in known:
                raise self.fail(key, f"unknown key {key!r}; a binding has {', '.join(sorted(known))}")
        name = self.string("name", document.get("name", Path(self.source).stem))
        namespaces = document.get("namespaces")
        if not isinstance(namespaces, list) or not namespaces or not all(isinstance(n, str) for n in namespaces):
            raise self.fail("namespaces", "namespaces must be a list of the namespaces the binding is for")
        sections = {section: self.section(section, document.get(section, {})) for section in _SECTIONS}
        installation = sections["installation"]
        order = tuple(key for key in installation if key not in ("element", "within"))
        if "element" not in installation:
            raise self.fail("installation", "[installation] must name the record element (element = ...)")
        record = self.path("installation.element", installation.pop("element"))
        if len(record) != 1 or record[0].startswith("@"):
            raise self.fail("installation.element", "installation.element must be one element name")
        within = self.path("installation.within", installation.pop("within", ""))
        header = sections["header"].pop("element", None)
        trailer = sections["trailer"].pop("element", None)
        devices = self.devices(installation.pop("devices", None))
        for device_type, steps in devices.items():
            if not steps or steps[-1].startswith("@"):
                key = "installation.devices" if device_type == "*" else f"installation.devices.{device_type}"
                raise self.fail(key, f"{key}: devices are elements below the installation")
        paths: dict[str, Path_] = {}
        for section, entries in sections.items():
            for key, value in entries.items():
                paths[key] = self.path(f"{section}.{key}", value)
                if concept(key).kind != "text" and paths[key] and paths[key][-1].startswith("@"):
                    raise self.fail(f"{section}.{key}", f"{section}.{key} is an element, not an attribute")
                if concept(key).kind != "text" and not paths[key]:
                    raise self.fail(
                        f"{section}.{key}",
                        f"{section}.{key} is an element below the installation, not the installation itself",
                    )
        root, root_attributes = self.document(document.get("document", {}))
        return Binding(
            source=self.source,
            name=name,
            namespaces=tuple(namespaces),
            root=root,
            root_attributes=root_attributes,
            order=order,
            record=record[0],
            within=within,
            header=self.path("header.element", header) if header is not None else None,
            trailer=self.path("trailer.element", trailer) if trailer is not None else None,
            paths=paths,
            devices=devices,
            values=self.values(document.get("values", {})),
            lines=self.lines,
        )

    def document(self, table: object) -> tuple[str | None, dict[str, str]]:
        if not isinstance(table, dict):
            raise self.fail("document", "document must be a table ([document])")
        for key in table:
            if key not in ("element", "attributes"):
                raise self.fail(f"document.{key}", f"unknown key {key!r} in [document]; known: attributes, element")
        element = table.get("element")
        if element is not None and (not isinstance(element, str) or not _STEP.match(element) or "@" in element):
            raise self.fail("document.element", "document.element must be one element name")
        attributes = table.get("attributes", {})
        if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
            raise self.fail("document.attributes", "document.attributes must be a table of strings")
        return element, {str(k): v for k, v in attributes.items()}

    def section(self, section: str, table: object) -> dict[str, object]:
        if not isinstance(table, dict):
            raise self.fail(section, f"{section} must be a table ([{section}])")
        allowed = {c.name for c in CONCEPTS if c.parent == section} | set(_PLACES.get(section, ()))
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"{section}.{key}", f"unknown key {key!r} in [{section}]; known: {', '.join(sorted(allowed))}"
                )
        if section in ("header", "trailer") and table and "element" not in table:
            raise self.fail(section, f"[{section}] must say where the {section} is (element = ...)")
        return dict(table)

    def devices(self, value: object) -> dict[str, Path_]:
        if value is None:
            return {}
        if isinstance(value, str):
            return {"*": self.path("installation.devices", value)}
        if isinstance(value, dict) and value:
            return {
                str(device_type): self.path(f"installation.devices.{device_type}", path)
                for device_type, path in value.items()
            }
        raise self.fail(
            "installation.devices", "installation.devices must be a path, or a table of paths by device type"
        )

    def values(self, table: object) -> dict[str, dict[str, str]]:
        if not isinstance(table, dict):
            raise self.fail("values", "values must be a table of value maps ([values.status])")
        maps: dict[str, dict[str, str]] = {}
        for name, entries in table.items():
            key = f"values.{name}"
            if name not in CONCEPT_NAMES or concept(name).kind != "text":
                raise self.fail(key, f"[{key}]: {name!r} is not a concept read as text")
            if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
                raise self.fail(key, f"[{key}] maps the dialect's values to mcfcheck's: strings")
            maps[name] = {str(k): v for k, v in entries.items()}
        return maps


def parse_binding(text: str, source: str) -> Binding:
    """Read a binding from its TOML text; ``source`` names it in errors."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not a valid TOML binding: {error}") from None
    binding = _Reader(source, text).read(document)
    plan_of(binding)  # Two concepts that one element cannot hold are an error now, not when reading.
    return binding


def load_binding(path: Path) -> Binding:
    """Read a binding file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError(f"{path}: cannot read the binding: {reason}") from None
    return parse_binding(text, str(path))


def bindings_folder() -> Path:
    """Where the bundled bindings are (beside the bundled schemas)."""
    from mcfcheck.schema.loading import schemas_folder

    return schemas_folder()


@cache
def bundled_bindings() -> tuple[Binding, ...]:
    """The bindings that ship with mcfcheck (``*.binding.toml`` beside the bundled schemas)."""
    return tuple(
        parse_binding(path.read_text(encoding="utf-8"), f"bundled:{path.name}")
        for path in sorted(bindings_folder().glob("*.binding.toml"))
    )


def default_binding() -> Binding:
    """The binding of mcfcheck's own dialect (the bundled schema's)."""
    return bundled_bindings()[0]


@dataclass(frozen=True)
class BindingSet:
    """The bindings a run chooses from, by the namespace of a file's root."""

    bindings: tuple[Binding, ...]
    #: Given with --binding: used for every file, whatever its namespace.
    forced: Binding | None = None

    @classmethod
    def of(cls, extra: Sequence[Binding] = (), forced: Binding | None = None) -> BindingSet:
        """The bundled bindings and ``extra`` ones; two claiming one namespace is an error."""
        chosen: dict[str, Binding] = {}
        for binding in (*bundled_bindings(), *extra):
            for namespace in binding.namespaces:
                other = chosen.get(namespace)
                if other is not None and other.source != binding.source:
                    raise ConfigError(
                        f"{binding.where('namespaces')}: namespace {namespace!r} is already bound "
                        f"by {other.where('namespaces')}"
                    )
                chosen[namespace] = binding
        return cls(tuple(dict.fromkeys(chosen.values())), forced)

    def __reduce__(self) -> tuple[type[BindingSet], tuple[object, ...]]:
        return type(self), (self.bindings, self.forced)

    def for_namespace(self, namespace: str | None) -> Binding | None:
        """The binding of documents in ``namespace``."""
        if self.forced is not None:
            return self.forced
        return next((b for b in self.bindings if (namespace or "") in b.namespaces), None)


# --- the reading plan -------------------------------------------------------------

#: What a reading plan's node does with its element (bits of a node's ``actions``).
TEXT: Final = 1
SHARED: Final = 2
FLAG: Final = 4
DEVICE: Final = 8
HUB: Final = 16

#: A node of a reading plan: (local name, actions, value slot, line slot, flag slot,
#: attributes, children). Slots are indexes in the reading's tuple, -1 for none. A DEVICE
#: node (which reads no text) has in its line slot's place its device place: the index
#: of its path among the binding's device paths, which its devices' readings hold.
#: ``attributes`` are (local name, value slot, line slot, shared); ``children`` nodes.
PlanNode = tuple[str, int, int, int, int, tuple[tuple[str, int, int, bool], ...], tuple["PlanNode", ...]]

#: The slots of a reading that hold a value where the plan reads nothing into them:
#: the installation's devices (a new list), its flags (False), and a device's lines (0).
DEVICES_SLOT: Final = INSTALLATION_FIELDS.index("devices")
FLAG_SLOTS: Final = tuple(
    INSTALLATION_FIELDS.index(item.name) for item in CONCEPTS if item.parent == "installation" and item.kind == "flag"
)
DEVICE_LINE_SLOTS: Final = tuple(
    DEVICE_FIELDS.index(f"{item.name}_line") for item in CONCEPTS if item.parent == "device" and item.line
)

#: The slot of a device's reading that holds its place (see :data:`DEVICE_FIELDS`).
DEVICE_PLACE_SLOT: Final = DEVICE_FIELDS.index("place")

#: A reading plan as the C reader takes it (:meth:`ReadingPlan.as_tuple`).
PlanTuple = tuple[PlanNode, PlanNode, int, int, int, tuple[int, ...], tuple[int, ...], int]


@dataclass(frozen=True)
class ReadingPlan:
    """What the readers walk: the installation's tree of names, and a device's.

    Matching compares local names, in the namespace of the installation element.
    """

    installation: PlanNode
    device: PlanNode

    def as_tuple(self) -> PlanTuple:
        """The plan as the C reader takes it (``mcfcheck.native._fastread.Plan``).

        The two trees, the sizes of the two readings, the slots that hold a value
        where nothing is read: the devices' (a list), the flags' (False) and a device's
        lines' (0); and the slot of a device's place.
        """
        return (
            self.installation,
            self.device,
            len(INSTALLATION_FIELDS),
            len(DEVICE_FIELDS),
            DEVICES_SLOT,
            FLAG_SLOTS,
            DEVICE_LINE_SLOTS,
            DEVICE_PLACE_SLOT,
        )


class _Trie:
    def __init__(self, name: str) -> None:
        self.name = name
        self.actions = 0
        self.value = self.line = self.flag = -1
        self.attributes: list[tuple[str, int, int, bool]] = []
        self.children: dict[str, _Trie] = {}
        #: Which key of the binding took the node's value slot and its flag slot.
        self.claims: dict[str, str] = {}

    def claim(self, slot: str, key: str, binding: Binding) -> None:
        """Take the node's ``slot`` ("value" or "flag") for ``key``: an element holds one of each."""
        other = self.claims.setdefault(slot, key)
        if other == key:
            return
        if slot.startswith("@"):
            raise ConfigError(f"{binding.where(key)}: {key} is the attribute {slot} of {other}: an attribute holds one")
        held = "text concept or list of devices" if slot == "value" else "of hub, prepayment and dormant notice"
        raise ConfigError(f"{binding.where(key)}: {key} is at the element of {other}: an element can hold one {held}")

    def at(self, steps: Path_) -> _Trie:
        node = self
        for step in steps:
            node = node.children.setdefault(step, _Trie(step))
        return node

    def freeze(self) -> PlanNode:
        return (
            self.name,
            self.actions,
            self.value,
            self.line,
            self.flag,
            tuple(self.attributes),
            tuple(child.freeze() for child in self.children.values()),
        )


def _place_text(root: _Trie, steps: Path_, item: Concept, fields: tuple[str, ...], binding: Binding) -> None:
    value = fields.index(item.name)
    line = fields.index(f"{item.name}_line") if item.line else -1
    key = f"{item.parent}.{item.name}"
    if steps and steps[-1].startswith("@"):
        owner = root.at(steps[:-1])
        owner.claim(steps[-1], key, binding)
        owner.attributes.append((steps[-1][1:], value, line, item.shared))
        return
    node = root.at(steps)
    node.claim("value", key, binding)
    node.actions |= TEXT | (SHARED if item.shared else 0)
    node.value, node.line = value, line


def reading_plan(binding: Binding) -> ReadingPlan:
    """The binding's reading plan (see :class:`ReadingPlan`)."""
    installation = _Trie(binding.record)
    device = _Trie("*")
    for name, steps in binding.paths.items():
        item = concept(name)
        if item.parent == "device":
            _place_text(device, steps, item, DEVICE_FIELDS, binding)
        elif item.parent != "installation":
            continue
        elif item.kind == "text":
            _place_text(installation, steps, item, INSTALLATION_FIELDS, binding)
        elif item.kind == "flag":
            node = installation.at(steps)
            node.claim("flag", f"installation.{name}", binding)
            node.actions |= FLAG
            node.flag = INSTALLATION_FIELDS.index(name)
        elif item.kind == "element":
            node = installation.at(steps)
            node.claim("flag", f"installation.{name}", binding)
            node.actions |= HUB
            node.flag = INSTALLATION_FIELDS.index(name)
    for place, steps in enumerate(dict.fromkeys(binding.devices.values())):
        node = installation.at(steps)
        node.claim("value", "installation.devices", binding)
        if node.actions & HUB:
            raise ConfigError(
                f"{binding.where('installation.devices')}: installation.devices is at the element of "
                "installation.hub: the hub would be read as a device too"
            )
        node.actions |= DEVICE
        node.line = place
        node.value = INSTALLATION_FIELDS.index("devices")
    return ReadingPlan(installation.freeze(), device.freeze())


_PLANS: dict[int, tuple[Binding, ReadingPlan]] = {}


def plan_of(binding: Binding) -> ReadingPlan:
    """The binding's reading plan, made once per binding."""
    known = _PLANS.get(id(binding))
    if known is None or known[0] is not binding:
        known = _PLANS[id(binding)] = (binding, reading_plan(binding))
    return known[1]


def iter_paths(binding: Binding) -> Iterator[tuple[str, Path_]]:
    """Every (key, path) of a binding relative to the record, header or trailer, for checking it."""
    yield from binding.paths.items()
    for device_type, steps in binding.devices.items():
        yield f"devices.{device_type}", steps
