"""Drafting a binding from a dialect's XSD (``mcfcheck bind``).

The draft is made from the schema alone, by walking its content models
(:mod:`mcfcheck.schema.model`) down from the document element:

* the *record* (one installation) is the element that may repeat and holds the most
  elements and attributes named like the concepts, one named Installation, Site,
  Record… first; ``within`` is the path down to it;
* the *header* and *trailer* are the elements outside the records named like them, or
  holding the most header or trailer concepts;
* the *Communications Hub* is the element of a record named like one, or holding a
  Device ID and a SIM's ICCID; the *devices* are the other elements of a record that
  hold a Device ID, filed by type where they stand under an electricity or gas element;
* each concept is placed by the names of the elements and attributes (MPAN, MPANCore or
  Core under Electricity, ICCID, Make, Variant…), by the names of their types and by
  their types' patterns (an EUI-64 pattern is a Device ID's, 13 digits an MPAN core's,
  ``89[0-9]{17,18}`` an ICCID's…); an element or attribute is given to one concept only;
* where a concept's type lists values that are not mcfcheck's (A and D for a status),
  a value map is suggested, commented out: its guesses go by the values' letters.

Every guess is written with a comment saying why it was made; what could not be placed
is written commented out and listed, for the user to finish by hand. A draft is a
starting point: ``mcfcheck validate`` checks it against the schema before using it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

from lxml import etree

from mcfcheck.errors import SchemaError
from mcfcheck.schema.binding import CONCEPTS, Path_, concept, default_binding
from mcfcheck.schema.model import Attribute, Element, SchemaModel, SimpleType, allows, follow

#: How deep the walk down from the document element goes, and how many elements and
#: attributes it meets before it stops.
MAX_DEPTH: Final = 12
MAX_NODES: Final = 20_000
#: The least score that places a concept.
_THRESHOLD: Final = 40


@dataclass(eq=False)
class _Node:
    """An element or attribute met walking down from the document element."""

    #: Element names from the document element's children down; ``@name`` last for an attribute.
    path: Path_
    element: Element
    attribute: Attribute | None
    #: Whether the element may repeat where it stands.
    repeated: bool
    parent: _Node | None
    order: int
    #: Its attributes and child elements, as the walk met them.
    children: list[_Node] = field(default_factory=list)
    #: How surely it is each concept, by what it is alone (see :func:`_clue_score`), once worked out.
    scores: dict[str, _Guess | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.attribute.name if self.attribute is not None else self.element.name

    @property
    def shown(self) -> str:
        return f"@{self.name}" if self.attribute is not None else self.name

    @property
    def text(self) -> SimpleType | None:
        """The type of its value, for an attribute or an element of simple content."""
        if self.attribute is not None:
            return self.attribute.type or SimpleType()
        return self.element.text if self.element.simple else None

    @property
    def holder(self) -> bool:
        """Whether it is an element that holds elements or attributes, not a value."""
        return self.attribute is None and self.text is None

    @property
    def type_names(self) -> tuple[str, ...]:
        """The names of its type and of those it derives from, built-in ones left out."""
        text = self.text
        names = list(text.names if text is not None else ())
        if text is not None and text.builtin is not None and names and names[-1] == text.builtin:
            names.pop()
        if self.attribute is None and self.element.type_name is not None:
            names.insert(0, self.element.type_name)
        return tuple(dict.fromkeys(names))

    def within(self, other: _Node) -> bool:
        """Whether this node is ``other`` or below it."""
        node: _Node | None = self
        while node is not None:
            if node is other:
                return True
            node = node.parent
        return False

    def below(self, scope: _Node) -> Path_:
        """Its path relative to ``scope``."""
        return self.path[len(scope.path) :]


def _walk(root: Element) -> list[_Node]:
    """The elements and attributes below ``root`` (itself first), in the schema's order."""
    nodes: list[_Node] = []
    seen: set[Path_] = set()

    def visit(element: Element, path: Path_, repeated: bool, parent: _Node | None, opened: frozenset[int]) -> None:
        node = _Node(path, element, None, repeated, parent, len(nodes))
        nodes.append(node)
        if parent is not None:
            parent.children.append(node)
        seen.add(path)
        for name, attribute in element.attributes.items():
            held = _Node((*path, f"@{name}"), element, attribute, False, node, len(nodes))
            nodes.append(held)
            node.children.append(held)
        if id(element) in opened or len(path) >= MAX_DEPTH:
            return
        for occurrence in element.children:
            child = (*path, occurrence.element.name)
            if child not in seen and len(nodes) < MAX_NODES:
                visit(occurrence.element, child, occurrence.repeated, node, opened | {id(element)})

    visit(root, (), False, None, frozenset())
    return nodes


# --- how concepts are recognised ----------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_WORD: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _words(name: str) -> frozenset[str]:
    """The words of a name (``CreationDateTime``: creation, date, time), lower case."""
    return frozenset(word.lower() for word in _WORD.findall(name))


def _acronym(name: str) -> str:
    words = _WORD.findall(name)
    return "".join(word[0].lower() for word in words) if len(words) > 1 else ""


@dataclass(frozen=True)
class _Sample:
    """Values a type's patterns must take and refuse to be taken for a concept's type."""

    takes: tuple[str, ...]
    refuses: tuple[str, ...]
    #: What such a value is, for the comment.
    description: str


@dataclass(frozen=True)
class _Clue:
    """How a concept is recognised in a schema."""

    #: Names (lower case, letters and digits only) that are the concept's, best first.
    names: tuple[str, ...] = ()
    #: Groups of words: a name with a word of every group is the concept's, less surely.
    words: tuple[frozenset[str], ...] = ()
    #: Words that rule a name out.
    unless: frozenset[str] = frozenset()
    #: Words of an element above (in the same record) that make ``under_names`` the concept's.
    under: frozenset[str] = frozenset()
    under_names: tuple[str, ...] = ()
    #: Words of an element above that make a name less likely the concept's.
    not_under: frozenset[str] = frozenset()
    #: What its type's patterns take.
    sample: _Sample | None = None
    #: The built-in types a value of the concept has.
    types: frozenset[str] = frozenset()


def _w(*words: str) -> frozenset[str]:
    return frozenset(words)


_INTEGERS: Final = _w("integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger", "unsignedInt")
_DATES: Final = _w("date", "dateTime")
_ELECTRICITY: Final = _w("electricity", "elec", "electric", "power", "esme")
_GAS: Final = _w("gas", "gsme")
_FUELS: Final = _ELECTRICITY | _GAS

_CLUES: Final = {
    "group_id": _Clue(("groupid", "group", "cohort", "cohortid", "groupcode", "cohortcode"), (_w("group", "cohort"),)),
    "smso": _Clue(("smso", "smsoname", "smsoid", "operator", "operatorname"), (_w("smso", "operator"),)),
    "supplier": _Clue(
        ("supplierpartyid", "supplier", "supplierid", "suppliername", "supplierparty", "suppliercode"),
        (_w("supplier"),),
        unless=_w("dcc", "user"),
    ),
    "creation_time": _Clue(
        ("creationdatetime", "created", "creationtime", "createdat", "createddatetime", "creationdate", "timestamp"),
        (_w("creation", "created", "generated"),),
        types=_w("dateTime"),
    ),
    "file_identifier": _Clue(
        ("fileidentifier", "fileref", "fileid", "filereference", "filename", "filenumber"),
        (_w("file"), _w("identifier", "id", "ref", "reference", "name", "number")),
    ),
    "installation_count": _Clue(
        ("installationcount", "installations", "sites", "sitecount", "numberofinstallations", "records", "recordcount"),
        (_w("installation", "installations", "site", "sites", "record", "records", "premises"),),
        unless=_w("device", "devices", "unit", "units"),
        types=_INTEGERS,
    ),
    "device_count": _Clue(
        ("devicecount", "devices", "numberofdevices", "devicetotal", "units", "unitcount"),
        (_w("device", "devices", "unit", "units"),),
        types=_INTEGERS,
    ),
    "reference": _Clue(
        ("installationreference", "installationref", "ref", "reference", "siteref", "sitereference", "installationid"),
        (_w("reference", "ref"),),
        unless=_w("file", "meter", "point", "mprn", "mpan"),
        not_under=_FUELS | _w("meter", "hub", "sim", "device", "unit"),
    ),
    "status": _Clue(
        ("status", "state", "installationstatus", "sitestatus", "sitestate", "installationstate"),
        (_w("status", "state"),),
        not_under=_FUELS | _w("meter", "hub", "sim", "device", "unit"),
    ),
    "mpan": _Clue(
        ("mpancore", "mpan", "mpancorenumber", "mpancoreid"),
        (_w("mpan"),),
        under=_ELECTRICITY,
        under_names=("core", "number", "reference", "ref", "id"),
        sample=_Sample(("1200023305967",), ("120002330596", "12000233059670", "A200023305967"), "a 13-digit MPAN core"),
    ),
    "mprn": _Clue(
        ("mprn", "meterpointreferencenumber", "meterpointreference", "mprnnumber"),
        (_w("mprn"),),
        under=_GAS,
        under_names=("reference", "ref", "number", "id", "core"),
        sample=_Sample(
            ("1000000155", "10000001"), ("12345", "1200023305967", "A000000155"), "an MPRN of 6 to 10 digits"
        ),
    ),
    "iccid": _Clue(
        ("iccid", "simiccid"),
        (_w("iccid"),),
        sample=_Sample(
            ("8944100000000000012", "89441000000000000123"),
            ("8844100000000000012", "12441000000000000123", "894410000000000001234", "894410000000001"),
            "an ICCID (19 or 20 digits starting 89)",
        ),
    ),
    "imsi": _Clue(
        ("imsi", "simimsi"),
        (_w("imsi"),),
        sample=_Sample(
            ("234150000000001",), ("23415000000001", "2341500000000012", "A34150000000001"), "a 15-digit IMSI"
        ),
    ),
    "static_ip": _Clue(
        ("staticipaddress", "staticip", "ipaddress", "ip", "ipv4", "ipv4address"),
        (_w("ip", "ipv4"),),
        sample=_Sample(
            ("10.0.0.1", "192.168.100.200"), ("10.0.0", "10.0.0.1.5", "a.b.c.d"), "a dotted-quad IPv4 address"
        ),
    ),
    "apn": _Clue(("apn", "accesspointname", "accesspoint"), (_w("apn"),)),
    "csp": _Clue(
        (
            "communicationsserviceprovider",
            "csp",
            "commsserviceprovider",
            "communicationsprovider",
            "serviceprovider",
            "networkprovider",
            "provider",
        ),
        (_w("provider"),),
    ),
    "hub": _Clue(("communicationshub", "hub", "commshub", "chf", "communicationshubfunction", "commhub"), (_w("hub"),)),
    "prepayment": _Clue(
        ("prepayment", "prepay", "prepaymentdetails", "prepaymentsettings"), (_w("prepayment", "prepay"),)
    ),
    "utrn_cutover_hours": _Clue(
        ("utrncutoverhours", "cutoverhours", "utrncutover", "cutover", "cutoverwindow"),
        (_w("cutover"),),
        types=_INTEGERS,
    ),
    "dormant_notice": _Clue(("dormantnotice", "notice", "notices", "dormant", "dormancy"), (_w("dormant"),)),
    "firmware_notice_date": _Clue(
        ("firmwarenoticedate", "firmwarenotice", "upgradenoticedate", "upgradenotice"),
        (_w("firmware", "upgrade"), _w("notice", "notified", "notification")),
        types=_DATES,
    ),
    "planned_upgrade_date": _Clue(
        ("plannedupgradedate", "upgradeplanned", "upgradedate", "plannedupgrade", "firmwareupgradedate"),
        (_w("upgrade"),),
        unless=_w("notice", "notified", "notification"),
        types=_DATES,
    ),
    "migration_notice_date": _Clue(
        ("migrationnoticedate", "migrationnotice"),
        (_w("migration", "migrate"), _w("notice", "notified", "notification")),
        types=_DATES,
    ),
    "planned_migration_date": _Clue(
        ("plannedmigrationdate", "migrationplanned", "migrationdate", "plannedmigration"),
        (_w("migration", "migrate"),),
        unless=_w("notice", "notified", "notification"),
        types=_DATES,
    ),
    "shorter_notice_agreed": _Clue(
        ("shorternoticeagreed", "shortnoticeagreed", "shorternotice", "shortnotice"),
        (_w("short", "shorter"), _w("notice", "agreed")),
    ),
    "device_type": _Clue(
        ("devicetype", "type", "kind", "unittype", "metertype", "devicekind", "category"), (_w("type", "kind"),)
    ),
    "device_id": _Clue(
        ("deviceid", "eui", "eui64", "deviceeui", "deviceidentifier", "guid", "id"),
        (_w("eui", "eui64", "guid"),),
        sample=_Sample(
            ("00-0D-6F-00-00-00-00-01", "000D6F00000000AB"),
            ("00-0D-6F-00-00-00-00", "000D6F000000AB", "ZZ-0D-6F-00-00-00-00-01"),
            "an EUI-64",
        ),
    ),
    "manufacturer": _Clue(
        ("manufacturer", "make", "vendor", "manufacturername", "maker", "brand"),
        (_w("manufacturer", "make", "vendor", "brand"),),
    ),
    "model": _Clue(("model", "variant", "modelname", "modelid", "modelcode", "devicemodel"), (_w("model", "variant"),)),
    "firmware_version": _Clue(
        ("firmwareversion", "firmware", "fw", "fwversion", "firmwarerevision", "softwareversion"),
        (_w("firmware", "fw"),),
    ),
    "payment_mode": _Clue(("paymentmode", "payment", "paymenttype", "paymentmethod"), (_w("payment"),)),
    "auxiliary_load": _Clue(("auxiliaryload", "auxload", "aux", "auxiliary"), (_w("aux", "auxiliary"),)),
}

#: Names of the elements that hold one installation, of the header and of the trailer.
_RECORD_NAMES: Final = ("installation", "site", "record", "premises", "property", "installationrecord")
_HEADER_NAMES: Final = ("header", "fileheader", "head", "headerinformation", "headerrecord")
_TRAILER_NAMES: Final = ("trailer", "totals", "filetrailer", "footer", "summary", "controltotals", "trailerrecord")


def _takes(text: SimpleType, value: str) -> bool | None:
    """Whether a type's patterns take ``value``; None when a pattern cannot be read."""
    for patterns in text.patterns:
        try:
            if not any(re.fullmatch(pattern, value) for pattern in patterns):
                return False
        except re.error:
            return None
    return True


def _fits(text: SimpleType | None, sample: _Sample) -> bool:
    """Whether a type's patterns take the sample's values and refuse the others."""
    if text is None or not text.patterns:
        return False
    takes = [_takes(text, value) for value in sample.takes]
    refuses = [_takes(text, value) for value in sample.refuses]
    return any(result is True for result in takes) and all(result is False for result in refuses)


@dataclass
class _Guess:
    score: int
    reasons: list[str] = field(default_factory=list)


def _by_name(clue: _Clue, name: str) -> tuple[int, str] | None:
    """How surely a name is a concept's: by the name itself, or by its words."""
    normal = _normal(name)
    if normal in clue.names:
        return 100 - 3 * clue.names.index(normal), f"named {name}"
    words = _words(name)
    if clue.unless & words:
        return None
    if len(_acronym(name)) > 2 and _acronym(name) in clue.names:
        return 75, f"named {name} ({_acronym(name).upper()})"
    if clue.words and all(group & words for group in clue.words):
        return 60, f"named {name}"
    return None


def _clue_score(name: str, node: _Node) -> _Guess | None:
    """How surely ``node`` is the concept ``name`` by what it is alone (not where it stands)."""
    clue = _CLUES[name]
    guess = _Guess(0)
    found = _by_name(clue, node.name)
    if found is not None:
        guess.score, reason = found
        guess.reasons.append(reason)
    for type_name in node.type_names:
        by_type = _by_name(clue, type_name)
        if by_type is not None:
            score = by_type[0] * 7 // 10
            if score > guess.score:
                guess.score = score
            elif guess.score:
                guess.score += 5
            guess.reasons.append(f"its type is {type_name}")
            break
    if clue.sample is not None and _fits(node.text, clue.sample):
        guess.score = guess.score + 30 if guess.score else 55
        guess.reasons.append(f"its type's pattern takes {clue.sample.description}")
    text = node.text
    if guess.score and text is not None and text.builtin in clue.types:
        guess.score += 5
    return guess if guess.score else None


class _Drafter:
    """Makes the draft of one schema's binding."""

    def __init__(self, model: SchemaModel) -> None:
        self.model = model

    @staticmethod
    def score(name: str, node: _Node) -> _Guess | None:
        if name not in node.scores:
            node.scores[name] = _clue_score(name, node) if _fits_kind(name, node) else None
        return node.scores[name]

    # -- the document's parts ---------------------------------------------------

    def root_and_nodes(self) -> tuple[Element, list[_Node], _Node]:
        """The document element, its nodes, and the record's node."""
        globals_ = self.model.globals
        held = {id(occurrence.element) for element in self.model.declarations() for occurrence in element.children}
        roots = [element for element in globals_ if id(element) not in held] or globals_
        best: tuple[tuple[int, int, int], Element, list[_Node], _Node] | None = None
        for root in roots:
            nodes = _walk(root)
            record = self.record(nodes)
            if record is None:
                continue
            rank = (self.record_rank(record, nodes), -len(record.path), -record.order)
            if best is None or rank > best[0]:
                best = (rank, root, nodes, record)
        if best is None:
            raise SchemaError(
                f"{self.model.name}: no element of the schema looks like an installation record "
                "(an element that may repeat, holding elements named like an installation's)"
            )
        return best[1], best[2], best[3]

    def concepts_below(self, scope: _Node, nodes: Sequence[_Node], parents: Iterable[str]) -> set[str]:
        """The concepts of ``parents`` that some node below ``scope`` is named or typed like."""
        wanted = [item.name for item in CONCEPTS if item.parent in parents and item.kind == "text"]
        found: set[str] = set()
        for node in nodes:
            if node is scope or not node.within(scope):
                continue
            for name in wanted:
                if name not in found:
                    guess = self.score(name, node)
                    if guess is not None and guess.score >= _THRESHOLD:
                        found.add(name)
        return found

    def record_rank(self, node: _Node, nodes: Sequence[_Node]) -> int:
        named = _normal(node.name) in _RECORD_NAMES or _normal(node.element.type_name or "") in _RECORD_NAMES
        return 2 * len(self.concepts_below(node, nodes, ("installation", "device"))) + (3 if named else 0)

    def record(self, nodes: Sequence[_Node]) -> _Node | None:
        candidates = [node for node in nodes if node.holder and node.repeated]
        ranked = [(self.record_rank(node, nodes), -len(node.path), -node.order, node) for node in candidates]
        ranked = [entry for entry in ranked if entry[0] > 0]
        return max(ranked, key=lambda entry: entry[:3])[3] if ranked else None

    def part(self, nodes: Sequence[_Node], record: _Node, section: str, names: Sequence[str]) -> _Node | None:
        """The header's or trailer's element: outside the records, named so or holding its concepts."""
        best: tuple[tuple[int, int, int], _Node] | None = None
        for node in nodes:
            if not node.holder or not node.path or node.repeated:
                continue
            if node.within(record) or record.within(node):
                continue
            named = _normal(node.name) in names
            held = len(self.concepts_below(node, nodes, (section,)))
            if not named and not held:
                continue
            rank = (held + (3 if named else 0), -len(node.path), -node.order)
            if best is None or rank > best[0]:
                best = (rank, node)
        if best is None and self.concepts_below(nodes[0], self.beside(nodes, record), (section,)):
            return nodes[0]  # the document element holds them itself
        return best[1] if best is not None else None

    @staticmethod
    def beside(nodes: Sequence[_Node], record: _Node) -> list[_Node]:
        """The document element and what it holds itself, beside the path down to the records."""
        root = nodes[0]
        return [root, *(node for node in root.children if not record.within(node))]

    # -- placing concepts ------------------------------------------------------

    def place(
        self, names: Sequence[str], scope: _Node, nodes: Sequence[_Node], used: set[int]
    ) -> dict[str, tuple[_Node, _Guess]]:
        """Each concept of ``names`` on the node below ``scope`` that is most surely it, each node used once."""
        candidates: list[tuple[int, int, int, str, _Node, _Guess]] = []
        for node in nodes:
            if node is scope or node.order in used:
                continue
            steps = node.below(scope)
            for position, name in enumerate(names):
                guess = self.score(name, node)
                if guess is None:
                    continue
                placed = self.in_place(name, node, scope, steps, guess)
                if placed.score >= _THRESHOLD:
                    candidates.append((-placed.score, position, node.order, name, node, placed))
        candidates.sort(key=lambda entry: entry[:3])
        chosen: dict[str, tuple[_Node, _Guess]] = {}
        for _score, _position, _order, name, node, guess in candidates:
            if name not in chosen and node.order not in used:
                chosen[name] = (node, guess)
                used.add(node.order)
        return chosen

    def in_place(self, name: str, node: _Node, scope: _Node, steps: Path_, guess: _Guess) -> _Guess:
        """``guess`` for where the node stands below ``scope``: the elements above it count."""
        clue = _CLUES[name]
        above = list(_ancestors(node, scope))
        words = frozenset(word for part in above for word in _words(part.name))
        placed = _Guess(guess.score - 2 * (len(steps) - 1), list(guess.reasons))
        if clue.under & words and _normal(node.name) in clue.under_names:
            holder = next(part.name for part in above if _words(part.name) & clue.under)
            placed.score = max(placed.score, 85 - 2 * (len(steps) - 1))
            placed.reasons.insert(0, f"named {node.name}, under {holder}")
        if clue.not_under & words:
            placed.score -= 30
        if concept(name).kind != "text" and node.repeated:
            placed.score -= 20
        return placed

    # -- the draft --------------------------------------------------------------

    def draft(self) -> Draft:
        root, nodes, record = self.root_and_nodes()
        header = self.part(nodes, record, "header", _HEADER_NAMES)
        trailer = self.part(nodes, record, "trailer", _TRAILER_NAMES)
        if trailer is header:
            trailer = None
        draft = Draft(schema=self.model.name, name=Path(self.model.name).stem)
        draft.namespaces = [etree.QName(record.element.tag).namespace or etree.QName(root.tag).namespace or ""]
        draft.root = root.name
        draft.root_attributes = {
            name: value
            for name, attribute in root.attributes.items()
            if attribute.required and (value := _only_value(attribute)) is not None
        }
        installations = len(self.concepts_below(record, nodes, ("installation", "device")))
        draft.record = (
            record.name,
            f"may repeat, and holds {installations} things named or typed like installations' and devices' concepts",
        )
        draft.within = record.path[:-1]
        for section, part in (("header", header), ("trailer", trailer)):
            names = [item.name for item in CONCEPTS if item.parent == section]
            if part is None:
                draft.sections[section] = None
                continue
            if part is nodes[0]:
                why = "the document element holds them itself (read there; a writer cannot write them so)"
                held = self.beside(nodes, record)
            else:
                named = _normal(part.name) in (*_HEADER_NAMES, *_TRAILER_NAMES)
                why = f"named {part.name}" if named else f"holds the {section}'s concepts"
                held = [node for node in nodes if node.within(part)]
            draft.sections[section] = (part.path, why)
            draft.place(self.place(names, part, held, set()), part)
        self.installation(draft, record, [node for node in nodes if node.within(record)])
        draft.unplaced = [item.name for item in CONCEPTS if item.name in self.unplaced_names(draft)]
        draft.values = self.value_maps(draft)
        return draft

    def unplaced_names(self, draft: Draft) -> set[str]:
        placed = set(draft.paths) | ({"devices"} if draft.devices else set())
        return {item.name for item in CONCEPTS if item.name not in placed}

    def installation(self, draft: Draft, record: _Node, nodes: list[_Node]) -> None:
        used: set[int] = set()
        hub = self.hub(record, nodes)
        if hub is not None:
            draft.paths["hub"] = (hub[0].below(record), hub[1], hub[0])
            used.add(hub[0].order)
        devices = self.devices(record, nodes, hub[0] if hub is not None else None)
        if devices:
            draft.devices = [(node.below(record), self.device_types(node, record), node) for node in devices]
            draft.devices_why = (
                (
                    "the elements of a record other than the hub that hold a Device ID ("
                    + ", ".join(dict.fromkeys(self.device_id_of(node) for node in devices))
                    + "); filed by type where they stand under an electricity or gas element"
                )
                if devices[0].holder
                else "no element holds a Device ID, and Device IDs repeat in the record: each one is a device"
            )
        inside = [node for node in nodes if not any(node.within(device) for device in devices)]
        names = [
            item.name
            for item in CONCEPTS
            if item.parent == "installation" and item.name not in ("hub", "devices") and item.kind == "text"
        ]
        draft.place(self.place(names, record, inside, used), record)
        flags = [item.name for item in CONCEPTS if item.parent == "installation" and item.kind == "flag"]
        draft.place(self.place(flags, record, inside, used), record)
        self.flag_from_content(draft, record, "prepayment", ("utrn_cutover_hours",))
        self.flag_from_content(
            draft,
            record,
            "dormant_notice",
            (
                "firmware_notice_date",
                "planned_upgrade_date",
                "migration_notice_date",
                "planned_migration_date",
                "shorter_notice_agreed",
            ),
        )
        if devices and not devices[0].holder:
            first = devices[0]
            guess = self.score("device_id", first)
            assert guess is not None
            why = "each device is a Device ID of its own: " + "; ".join(guess.reasons)
            draft.paths["device_id"] = ((), why, first)
        elif devices:
            first = devices[0]
            device_nodes = [node for node in nodes if node.within(first)]
            names = [item.name for item in CONCEPTS if item.parent == "device"]
            others = [device.element for device in devices]
            allowed = [node for node in device_nodes if all(allows([other], node.below(first)) for other in others)]
            draft.place(self.place(names, first, allowed, set()), first)

    def flag_from_content(self, draft: Draft, record: _Node, flag: str, content: Sequence[str]) -> None:
        """A flag not placed by name: the element (below the record) that holds its concepts."""
        if flag in draft.paths:
            return
        holders = {draft.paths[name][2].parent for name in content if name in draft.paths}
        holders.discard(None)
        if len(holders) != 1:
            return
        holder = holders.pop()
        assert holder is not None
        if holder is record or holder.attribute is not None or not holder.within(record):
            return
        placed = ", ".join(concept(name).label for name in content if name in draft.paths)
        draft.paths[flag] = (holder.below(record), f"holds the {placed}", holder)

    def hub(self, record: _Node, nodes: Sequence[_Node]) -> tuple[_Node, str] | None:
        best: tuple[tuple[int, int], _Node, str] | None = None
        for node in nodes:
            if node is record or not node.holder or node.repeated:
                continue
            guess = self.score("hub", node)
            score, reasons = (guess.score, list(guess.reasons)) if guess is not None else (0, [])
            device_id = self.device_id_of(node)
            has_sim = any(
                (found := self.score("iccid", other)) is not None and found.score >= _THRESHOLD
                for other in nodes
                if other is not node and other.within(node)
            )
            if device_id and has_sim:
                score = max(score, 60) + 10
                reasons.append(f"holds a Device ID ({device_id}) and a SIM's ICCID")
            if score >= _THRESHOLD:
                rank = (score, -node.order)
                if best is None or rank > best[0]:
                    best = (rank, node, "; ".join(reasons))
        return (best[1], best[2]) if best is not None else None

    def device_id_of(self, node: _Node) -> str:
        """The name of the element's child or attribute most surely a Device ID, or '' (or that of the element
        itself, for a device that is its Device ID)."""
        if not node.holder:
            return node.shown
        best: tuple[int, str] = (0, "")
        for child in node.children:
            guess = self.score("device_id", child)
            if guess is not None and guess.score >= _THRESHOLD and guess.score > best[0]:
                best = (guess.score, child.shown)
        return best[1]

    def devices(self, record: _Node, nodes: Sequence[_Node], hub: _Node | None) -> list[_Node]:
        found: list[_Node] = []
        for node in nodes:
            if node is record or not node.holder:
                continue
            if hub is not None and node.within(hub):
                continue
            if any(node.within(device) for device in found):
                continue
            if self.device_id_of(node):
                found.append(node)
        if not found:
            # No element holding a Device ID: Device IDs that repeat in the record itself
            # (or in an element of it) are each a device, whose Device ID is its own value.
            for node in nodes:
                if node.attribute is not None or node.holder or not node.repeated or not node.within(record):
                    continue
                if hub is not None and node.within(hub):
                    continue
                guess = self.score("device_id", node)
                if guess is not None and guess.score >= _THRESHOLD:
                    found.append(node)
        return found

    @staticmethod
    def device_types(node: _Node, record: _Node) -> list[str]:
        words = frozenset(word for part in (*_ancestors(node, record), node) for word in _words(part.name))
        if words & _ELECTRICITY:
            return ["ESME"]
        if words & _GAS:
            return ["GSME", "GPF"]
        return ["*"]

    # -- value maps -------------------------------------------------------------

    def value_maps(self, draft: Draft) -> list[ValueMap]:
        maps: list[ValueMap] = []
        for name, ours in _our_values().items():
            placed = draft.paths.get(name)
            if placed is None:
                continue
            text = placed[2].text
            theirs = text.enumerations if text is not None else ()
            if not theirs or set(theirs) <= set(ours):
                continue
            maps.append(ValueMap(name, placed[2].shown, theirs, ours, [_guess_value(value, ours) for value in theirs]))
        return maps


def _fits_kind(name: str, node: _Node) -> bool:
    """Whether a node can hold the concept: a value for a text concept, an element for the others."""
    if concept(name).kind == "text":
        return node.text is not None
    return node.holder


def _ancestors(node: _Node, scope: _Node) -> list[_Node]:
    """The elements between ``scope`` and ``node``, from the top."""
    found: list[_Node] = []
    parent = node.parent
    while parent is not None and parent is not scope:
        found.append(parent)
        parent = parent.parent
    return found[::-1]


def _only_value(attribute: Attribute) -> str | None:
    if attribute.fixed is not None:
        return attribute.fixed
    enumerations = attribute.type.enumerations if attribute.type is not None else ()
    return enumerations[0] if len(enumerations) == 1 else None


_TRUE: Final = ("y", "yes", "j", "ja", "t", "true", "1", "on")
_FALSE: Final = ("n", "no", "nein", "f", "false", "0", "off")


def _subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(letter in letters for letter in short)


def _guess_value(value: str, ours: Sequence[str]) -> list[str]:
    """mcfcheck's values that a dialect's ``value`` may stand for, likeliest first."""
    lower = value.lower()
    if set(ours) == {"true", "false"}:
        return ["true"] if lower in _TRUE else ["false"] if lower in _FALSE else []
    exact = [item for item in ours if item.lower() == lower]
    if exact:
        return exact
    prefixed = [item for item in ours if item.lower().startswith(lower)]
    if prefixed:
        return prefixed
    return [item for item in ours if lower and item.lower()[0] == lower[0] and _subsequence(lower, item.lower())]


@cache
def _our_values() -> dict[str, tuple[str, ...]]:
    """mcfcheck's values of the concepts read as codes: the bundled schema's, through the bundled binding."""
    from mcfcheck.schema.loading import schema_model, schemas_folder

    binding = default_binding()
    model = schema_model(schemas_folder() / "mcf-1.0.xsd")
    records = model.declarations(binding.record)
    devices = [element for steps in binding.devices.values() for element in follow(records, steps, model.name)]
    values: dict[str, tuple[str, ...]] = {}
    for name in ("status", "device_type", "payment_mode", "auxiliary_load", "shorter_notice_agreed"):
        parents = devices if concept(name).parent == "device" else records
        for element in follow(parents, binding.paths[name], model.name):
            text = element.text
            if text is not None and text.enumerations:
                values[name] = text.enumerations
            elif text is not None and text.builtin == "boolean":
                values[name] = ("true", "false")
    return values


@dataclass
class ValueMap:
    """A value map suggested for a concept whose type lists values that are not mcfcheck's."""

    concept: str
    #: The element or attribute whose type lists them.
    where: str
    theirs: tuple[str, ...]
    ours: tuple[str, ...]
    #: For each of theirs, mcfcheck's values it may stand for, likeliest first.
    guesses: list[list[str]]


@dataclass
class Draft:
    """A binding drafted from a schema, and what could not be placed."""

    schema: str
    name: str
    namespaces: list[str] = field(default_factory=list)
    root: str = ""
    root_attributes: dict[str, str] = field(default_factory=dict)
    record: tuple[str, str] = ("", "")
    within: Path_ = ()
    #: The header's and trailer's places and why; None where none was found.
    sections: dict[str, tuple[Path_, str] | None] = field(default_factory=dict)
    #: Each placed concept: its path (relative to its parent), why, and the node.
    paths: dict[str, tuple[Path_, str, _Node]] = field(default_factory=dict)
    #: The devices' paths, the types filed there, and the nodes.
    devices: list[tuple[Path_, list[str], _Node]] = field(default_factory=list)
    devices_why: str = ""
    unplaced: list[str] = field(default_factory=list)
    values: list[ValueMap] = field(default_factory=list)

    def place(self, chosen: dict[str, tuple[_Node, _Guess]], scope: _Node) -> None:
        for name, (node, guess) in chosen.items():
            self.paths[name] = (node.below(scope), "; ".join(dict.fromkeys(guess.reasons)), node)

    def toml(self) -> str:
        """The draft as a binding file, with a comment on each guess."""
        return _Writer(self).text()


# --- writing the draft ----------------------------------------------------------------


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _string(name)


def _path(steps: Path_) -> str:
    return "/".join(steps) if steps else "."


class _Writer:
    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.lines: list[str] = []

    def line(self, text: str = "", why: str = "") -> None:
        self.lines.append(f"{text}  # {why}" if why and text else text or (f"# {why}" if why else ""))

    def missing(self, name: str) -> None:
        self.line(f'# {name} = ""', f"not placed: no element or attribute looks like the {concept(name).label}")

    def concepts(self, section: str) -> None:
        order = sorted(
            (name for name in self.draft.paths if concept(name).parent == section),
            key=lambda name: self.draft.paths[name][2].order,
        )
        entries: list[tuple[int, str]] = [(self.draft.paths[name][2].order, name) for name in order]
        if section == "installation" and self.draft.devices:
            # Where the last device path stands, so that a writer places them in the schema's order.
            entries.append((max(node.order for _steps, _types, node in self.draft.devices), "devices"))
            entries.sort()
        for _order, name in entries:
            if name == "devices":
                self.devices()
                continue
            steps, why, _node = self.draft.paths[name]
            self.line(f"{name} = {_string(_path(steps))}", why)
        for item in CONCEPTS:
            if item.parent == section and item.name in self.draft.unplaced:
                self.missing(item.name)

    def devices(self) -> None:
        devices = self.draft.devices
        self.line(why=f"devices: {self.draft.devices_why}")
        by_type: dict[str, Path_] = {}
        extra: list[Path_] = []
        for steps, types, _node in devices:
            fresh = [device_type for device_type in types if device_type not in by_type]
            if not fresh:
                extra.append(steps)
            for device_type in fresh:
                by_type[device_type] = steps
        if list(by_type) == ["*"]:
            self.line(f"devices = {_string(_path(by_type['*']))}")
        else:
            table = ", ".join(
                f"{_key(device_type)} = {_string(_path(steps))}" for device_type, steps in by_type.items()
            )
            self.line(f"devices = {{ {table} }}")
        for steps in extra:
            self.line(
                why=f"devices at {_path(steps)} too: give them a device type of their own in the table above "
                "(ESME, GSME, GPF, PPMID, HCALCS, IHD or *)"
            )

    def text(self) -> str:
        draft = self.draft
        self.line(why=f"A binding drafted by `mcfcheck bind` from {draft.schema}: where the rules find each concept")
        self.line(why="in this dialect (see docs/bindings.md). Each guess says why it was made: check them, finish")
        self.line(why="what is left (the concepts not placed, the value maps at the end), then use it with")
        self.line(why="`mcfcheck validate --binding FILE --schema SCHEMA`, which checks it against the schema first.")
        self.line(f"name = {_string(draft.name)}")
        self.line(f"namespaces = [{_string(draft.namespaces[0])}]", "the record's namespace")
        self.line()
        self.line("[document]")
        self.line(f"element = {_string(draft.root)}", "the element no other holds, above the records")
        if draft.root_attributes:
            attributes = ", ".join(f"{_key(name)} = {_string(value)}" for name, value in draft.root_attributes.items())
            self.line(f"attributes = {{ {attributes} }}", "required, with one value allowed")
        for section in ("header", "trailer"):
            self.line()
            place = draft.sections.get(section)
            if place is None:
                self.line(why=f"[{section}]  not placed: no element outside the records looks like the {section}")
                self.line(why='element = ""')
                for item in CONCEPTS:
                    if item.parent == section:
                        self.missing(item.name)
                continue
            self.line(f"[{section}]")
            self.line(f"element = {_string(_path(place[0]))}", place[1])
            self.concepts(section)
        self.line()
        self.line("[installation]")
        self.line(f"element = {_string(draft.record[0])}", draft.record[1])
        self.line(f"within = {_string(_path(draft.within))}", "from the document element down to the records")
        self.concepts("installation")
        self.line()
        self.line(why="Each device's concepts, relative to the device (and to the Communications Hub).")
        self.line("[device]")
        self.concepts("device")
        if draft.values:
            self.line()
            self.line(why="Value maps: these concepts' types list values that are not mcfcheck's. The guesses go")
            self.line(why="by the values' letters: check each, then uncomment the map.")
        for value_map in draft.values:
            self.line()
            theirs, ours = ", ".join(value_map.theirs), ", ".join(value_map.ours)
            self.line(why=f"[values.{value_map.concept}]  {value_map.where} takes {theirs}; mcfcheck's: {ours}")
            for value, guesses in zip(value_map.theirs, value_map.guesses, strict=True):
                if not guesses:
                    self.line(why=f'{_key(value)} = ""  no guess')
                elif len(guesses) == 1:
                    self.line(why=f"{_key(value)} = {_string(guesses[0])}")
                else:
                    self.line(why=f"{_key(value)} = {_string(guesses[0])}  or {', '.join(guesses[1:])}")
        return "\n".join(self.lines) + "\n"


def draft_binding(model: SchemaModel) -> Draft:
    """A binding drafted from ``model`` (see the module's docstring); a :class:`SchemaError` if no record is found."""
    return _Drafter(model).draft()
