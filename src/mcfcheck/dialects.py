"""Writing MCFs in any bound dialect, and translating a file from one dialect to another.

A binding says where each concept is (:mod:`mcfcheck.schema.binding`); read the other way,
it says where to write it. The writer places the concepts' elements and attributes in
the order the binding lists them (``[installation]``'s keys, ``devices`` where it stands;
an inline table keeps that place), devices at the path their type is bound to, and
codes values with the binding's value maps read backwards. It writes concepts only:
elements a dialect's schema requires beyond them are not written, so a file translated
to such a dialect is invalid against its schema, and says so when validated.

:func:`translate` streams: one installation in memory at a time, whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from mcfcheck.rules.views import DEVICE_FIELDS, INSTALLATION_FIELDS, concept_text, part_of, read_installation_fields
from mcfcheck.schema.binding import Binding, Path_, concept, plan_of

INDENT: Final = "  "


@dataclass
class Record:
    """One installation's concepts, in mcfcheck's terms (texts; flags as booleans)."""

    values: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    hub: dict[str, str] | None = None
    devices: list[dict[str, str]] = field(default_factory=list)


class _Node:
    """Where the writer puts things: an element, its attributes, text and children, in order."""

    def __init__(self, name: str, path: Path_) -> None:
        self.name = name
        self.path = path
        self.attributes: list[tuple[str, str]] = []
        self.text: str | None = None
        self.flag: str | None = None
        self.hub = False
        self.device_types: list[str] = []
        self.children: dict[str, _Node] = {}

    def at(self, steps: Path_) -> _Node:
        node = self
        for step in steps:
            if step not in node.children:
                node.children[step] = _Node(step, (*node.path, step))
            node = node.children[step]
        return node

    def place(self, steps: Path_, name: str) -> None:
        """Put the text concept ``name`` at ``steps``: an attribute or an element's text."""
        if steps and steps[-1].startswith("@"):
            self.at(steps[:-1]).attributes.append((steps[-1][1:], name))
        else:
            self.at(steps).text = name


def _inverse(binding: Binding) -> dict[str, dict[str, str]]:
    return {name: {ours: theirs for theirs, ours in mapping.items()} for name, mapping in binding.values.items()}


class DialectWriter:
    """Writes the parts of an MCF in one bound dialect, as lines of text."""

    def __init__(self, binding: Binding) -> None:
        if binding.root is None:
            raise ValueError(f"{binding.source}: the binding does not name the document element ([document] element)")
        self.binding = binding
        self.namespace = binding.namespaces[0]
        self._codes = _inverse(binding)
        self.installation_layout = _Node(binding.record, ())
        for key in binding.order:
            if key == "devices":
                for device_type, steps in binding.devices.items():
                    self.installation_layout.at(steps).device_types.append(device_type)
                continue
            steps = binding.paths[key]
            kind = concept(key).kind
            if kind == "text":
                self.installation_layout.place(steps, key)
            elif kind == "flag":
                self.installation_layout.at(steps).flag = key
            elif kind == "element":
                self.installation_layout.at(steps).hub = True
        self.device_layout = self._layout("device", _Node("*", ()))
        self.header_layout = self._layout("header", _Node("", ()))
        self.trailer_layout = self._layout("trailer", _Node("", ()))

    def _layout(self, parent: str, root: _Node) -> _Node:
        for name, steps in self.binding.paths.items():
            if concept(name).parent == parent:
                root.place(steps, name)
        return root

    def _code(self, name: str, value: str) -> str:
        mapping = self._codes.get(name)
        return mapping.get(value, value) if mapping is not None else value

    def _element(
        self, node: _Node, values: Mapping[str, str], depth: int, inner: list[str], flagged: bool = False
    ) -> list[str]:
        """The lines of ``node``'s element, or none when it holds nothing to write."""
        attributes = "".join(
            f" {attribute}={quoteattr(self._code(name, values[name]))}"
            for attribute, name in node.attributes
            if name in values
        )
        text = values.get(node.text) if node.text is not None else None
        pad = INDENT * depth
        if text is not None:
            return [f"{pad}<{node.name}{attributes}>{escape(self._code(node.text or '', text))}</{node.name}>"]
        if not inner:
            return [f"{pad}<{node.name}{attributes}/>"] if attributes or flagged else []
        return [f"{pad}<{node.name}{attributes}>", *inner, f"{pad}</{node.name}>"]

    def _plain(self, node: _Node, values: Mapping[str, str], depth: int) -> list[str]:
        """A header's, trailer's or device's element and what is below it."""
        inner = [line for child in node.children.values() for line in self._plain(child, values, depth + 1)]
        return self._element(node, values, depth, inner)

    def _device(self, node: _Node, device: Mapping[str, str], depth: int, extra: list[str] | None = None) -> list[str]:
        layout = self.device_layout
        inner = [line for child in layout.children.values() for line in self._plain(child, device, depth + 1)]
        named = _Node(node.name, node.path)
        named.attributes = layout.attributes
        named.text = layout.text
        return self._element(named, device, depth, inner + (extra or []), flagged=True)

    def _installation_part(
        self, node: _Node, record: Record, placed: Mapping[Path_, list[dict[str, str]]], depth: int
    ) -> list[str]:
        inner: list[str] = []
        for child in node.children.values():
            if child.device_types:
                for device in placed.get(child.path, []):
                    inner.extend(self._device(child, device, depth + 1))
                if child.children or child.attributes or child.text:
                    inner.extend(self._installation_part(child, record, placed, depth + 1))
            else:
                inner.extend(self._installation_part(child, record, placed, depth + 1))
        if node.hub:
            if record.hub is None:
                return []
            return self._device(node, record.hub, depth, inner)
        flagged = node.flag is not None and node.flag in record.flags
        if node.flag is not None and not flagged and not inner:
            return []
        return self._element(node, record.values, depth, inner, flagged=flagged)

    def _placed(self, record: Record) -> dict[Path_, list[dict[str, str]]]:
        placed: dict[Path_, list[dict[str, str]]] = {}
        devices = self.binding.devices
        for device in record.devices:
            steps = devices.get(device.get("device_type", ""), devices.get("*"))
            if steps is None:
                raise ValueError(
                    f"{self.binding.source}: no path for devices of type {device.get('device_type')!r} (devices)"
                )
            placed.setdefault(steps, []).append(device)
        return placed

    def installation(self, record: Record, depth: int) -> list[str]:
        """An installation's lines."""
        return self._installation_part(self.installation_layout, record, self._placed(record), depth) or [
            f"{INDENT * depth}<{self.binding.record}/>"
        ]

    def _part(self, steps: Path_ | None, layout: _Node, values: Mapping[str, str], depth: int) -> list[str]:
        if steps is None:
            return []
        if not steps:
            raise ValueError(f"{self.binding.source}: a writer cannot put the header or trailer on the root")
        node = _Node(steps[-1], steps)
        node.attributes, node.text, node.children = layout.attributes, layout.text, layout.children
        lines = self._plain(node, values, depth + len(steps) - 1)
        if not lines:
            lines = [f"{INDENT * (depth + len(steps) - 1)}<{steps[-1]}/>"]
        for index in range(len(steps) - 2, -1, -1):
            pad = INDENT * (depth + index)
            lines = [f"{pad}<{steps[index]}>", *lines, f"{pad}</{steps[index]}>"]
        return lines

    def start(self, header: Mapping[str, str]) -> list[str]:
        """The document's opening lines: the root's start tag, the header, the containers' start tags."""
        attributes = "".join(f" {name}={quoteattr(value)}" for name, value in self.binding.root_attributes.items())
        lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f"<{self.binding.root} xmlns={quoteattr(self.namespace)}{attributes}>",
        ]
        lines += self._part(self.binding.header, self.header_layout, header, 1)
        lines += [f"{INDENT * (1 + index)}<{step}>" for index, step in enumerate(self.binding.within)]
        return lines

    @property
    def record_depth(self) -> int:
        return 1 + len(self.binding.within)

    def end(self, trailer: Mapping[str, str]) -> list[str]:
        """The document's closing lines: the containers' end tags, the trailer, the root's end tag."""
        lines = [f"{INDENT * (1 + index)}</{step}>" for index, step in reversed(list(enumerate(self.binding.within)))]
        lines += self._part(self.binding.trailer, self.trailer_layout, trailer, 1)
        return [*lines, f"</{self.binding.root}>"]


def _texts(fields: tuple[object, ...], names: tuple[str, ...], binding: Binding) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in zip(names, fields, strict=True):
        if isinstance(value, str) and not name.endswith("_line"):
            mapping = binding.values.get(name)
            values[name] = mapping.get(value, value) if mapping is not None else value
    return values


def record_of(element: etree._Element, binding: Binding) -> Record:
    """An installation's concepts, read through ``binding``, in mcfcheck's terms."""
    fields = read_installation_fields(element, plan_of(binding))
    named = dict(zip(INSTALLATION_FIELDS, fields, strict=True))
    hub = named["hub"]
    devices = named["devices"]
    assert isinstance(devices, list)
    return Record(
        values=_texts(fields, INSTALLATION_FIELDS, binding),
        flags={name for name in ("prepayment", "dormant_notice") if named[name] is True},
        hub=_texts(hub[1:-1], DEVICE_FIELDS[1:-1], binding) if isinstance(hub, tuple) else None,
        devices=[_texts(device[1:-1], DEVICE_FIELDS[1:-1], binding) for device in devices],
    )


def _concepts_of(element: etree._Element | None, binding: Binding, parent: str) -> dict[str, str]:
    if element is None:
        return {}
    values: dict[str, str] = {}
    for name in binding.paths:
        if concept(name).parent == parent:
            text = concept_text(element, binding, name)
            if text is not None:
                values[name] = text
    return values


def translate(chunks: Iterable[bytes], source: Binding, target: Binding) -> Iterator[str]:
    """The text of the document that ``chunks`` hold (in ``source``'s dialect) in ``target``'s.

    What is not a concept of both bindings is left behind.
    """
    writer = DialectWriter(target)
    # One installation is held at a time, so a file of any size may be translated (huge_tree
    # lifts libxml2's limits on a document's size, not on what is held).
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=True)
    path: list[str] = []
    record_path = (*source.within, source.record)
    started = False
    root: etree._Element | None = None
    header: dict[str, str] = {}
    depth = writer.record_depth

    def events() -> Iterator[tuple[str, etree._Element]]:
        for chunk in chunks:
            parser.feed(chunk)
            yield from parser.read_events()
        parser.close()
        yield from parser.read_events()

    for event, element in events():
        if event == "start":
            if root is None:
                root = element
            else:
                path.append(etree.QName(element).localname)
            continue
        if element is root:
            break
        here = tuple(path)
        path.pop()
        if source.header is not None and here == source.header:
            header = _concepts_of(element, source, "header")
        elif here == record_path:
            if not started:
                started = True
                yield "\n".join(writer.start(header)) + "\n"
            yield "\n".join(writer.installation(record_of(element, source), depth)) + "\n"
            parent = element.getparent()
            element.clear()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    if root is None:
        return
    if not started:
        yield "\n".join(writer.start(header)) + "\n"
    trailer = _concepts_of(part_of(root, source.trailer), source, "trailer")
    yield "\n".join(writer.end(trailer)) + "\n"
