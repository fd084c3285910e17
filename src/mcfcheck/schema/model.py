"""What a schema lets each element hold, found by walking its content models.

A :class:`SchemaModel` is made from the documents of a schema set as
:mod:`mcfcheck.schema.loading` reads them (offline, imports and includes resolved). For
an element declaration, global or local, it knows the elements its content may hold
(following element references and substitution groups, named and anonymous complex
types, extensions and restrictions, model groups, sequences, choices and alls), the
attributes it may carry (attribute references and groups, those of the types it derives
from) and the simple type of its text (the built-in type it derives from, its patterns and
enumerations). Names are compared by their local part, as bindings name elements.

Two things use it: the places a schema lets the record element stand
(:meth:`SchemaModel.record_parents`, for streaming validation), and the check that a
binding fits the schema it is used with (:func:`check_binding`): that every path it
gives is one the schema allows.

What the model does not follow: element wildcards (``xs:any``) and elements of
``xs:anyType`` make an element *open* (any child is allowed below it); ``xs:redefine``
and ``xs:override`` are read as plain includes; identity constraints and occurrence
counts (but whether an element may repeat) are left aside.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from lxml import etree

from mcfcheck.errors import ConfigError
from mcfcheck.schema.binding import Binding, Path_, concept

XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"
_XS: Final = f"{{{XSD_NS}}}"
_PARTICLE_GROUPS: Final = (f"{_XS}sequence", f"{_XS}choice", f"{_XS}all")

#: A schema set's documents: each one's path and parsed tree, the schema named first.
SchemaDocuments = Sequence[tuple[Path, etree._ElementTree]]


@dataclass(frozen=True)
class SimpleType:
    """The type of a text: an element's simple content, or an attribute's value."""

    #: The local names of the named types it derives from, nearest first (a built-in type last).
    names: tuple[str, ...] = ()
    #: The XML Schema built-in type it derives from ("string", "date", "boolean"…), if known.
    builtin: str | None = None
    #: The pattern facets of each derivation step: a value must match one pattern of every step.
    patterns: tuple[tuple[str, ...], ...] = ()
    #: The values it is restricted to (the nearest enumeration facets), if any.
    enumerations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attribute:
    """An attribute an element may carry."""

    name: str
    type: SimpleType | None = None
    #: Whether every element of its kind must carry it, and the one value it must have, if fixed.
    required: bool = False
    fixed: str | None = None


@dataclass(frozen=True)
class Occurrence:
    """An element that a content model holds, and whether it may repeat there."""

    element: Element
    repeated: bool = False


@dataclass
class _Content:
    children: list[Occurrence] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    text: SimpleType | None = None
    #: Whether any child element is allowed (a wildcard, xs:anyType).
    open: bool = False
    #: Whether any attribute is allowed (xs:anyAttribute).
    open_attributes: bool = False


class Element:
    """An element declaration, global or local, and what its content may hold."""

    def __init__(self, model: SchemaModel, index: int, node: etree._Element, tag: str) -> None:
        self.model = model
        self.index = index
        self.node = node
        #: The element's Clark name, as it stands in documents (qualified or not).
        self.tag = tag
        self.name = etree.QName(tag).localname
        self._content: _Content | None = None

    def __repr__(self) -> str:
        return f"Element({self.tag!r})"

    @property
    def type_name(self) -> str | None:
        """The local name of the named type it is declared with, if any."""
        named = self.node.get("type")
        return named.rpartition(":")[2] if named is not None else None

    @property
    def content(self) -> _Content:
        if self._content is None:
            self._content = _Content()  # a recursive content model meets itself empty
            self._content = self.model._element_content(self)
        return self._content

    @property
    def children(self) -> tuple[Occurrence, ...]:
        """The elements its content may hold, in the order the schema gives them."""
        return tuple(self.content.children)

    def children_named(self, name: str) -> list[Element]:
        """The declarations of the child elements called ``name`` (local name)."""
        return [occurrence.element for occurrence in self.content.children if occurrence.element.name == name]

    @property
    def child_names(self) -> list[str]:
        """Its child elements' local names, each once, in the schema's order."""
        return list(dict.fromkeys(occurrence.element.name for occurrence in self.content.children))

    @property
    def attributes(self) -> Mapping[str, Attribute]:
        """The attributes it may carry, by local name."""
        return self.content.attributes

    @property
    def text(self) -> SimpleType | None:
        """The type of its text, for an element of simple content."""
        return self.content.text

    @property
    def open(self) -> bool:
        """Whether it may hold any element (a wildcard, or no type at all)."""
        return self.content.open

    @property
    def open_attributes(self) -> bool:
        """Whether it may carry any attribute (xs:anyAttribute)."""
        return self.content.open_attributes

    @property
    def simple(self) -> bool:
        """Whether it holds text only: no child element, and not open to any."""
        content = self.content
        return not content.children and not content.open


class _WalkTooLongError(Exception):
    """The schema's content models are too deep or too wide to walk for the record's places."""


def document_namespace(documents: SchemaDocuments, index: int) -> str | None:
    """The target namespace of the set's document ``index`` (an included one's may be its includer's)."""
    namespace = documents[index][1].getroot().get("targetNamespace")
    if namespace is None and index > 0:
        # A schema included without a target namespace takes its includer's.
        return documents[0][1].getroot().get("targetNamespace")
    return namespace


def _clark(namespace: str | None, name: str) -> str:
    return f"{{{namespace}}}{name}" if namespace else name


def _repeats(node: etree._Element) -> bool:
    value = node.get("maxOccurs", "1").strip()
    return value == "unbounded" or (value.isdigit() and int(value) > 1)


class SchemaModel:
    """A schema set's declarations, and what each element may hold (see the module's docstring)."""

    #: How deep the walk for the record's places goes (element nesting), and how many
    #: declarations it visits before giving up.
    MAX_DEPTH: Final = 16
    MAX_STEPS: Final = 100_000

    def __init__(self, documents: SchemaDocuments, name: str | None = None) -> None:
        #: How messages name the schema (the file name of the schema named first).
        self.name = name or (documents[0][0].name if documents else "schema")
        self.documents = documents
        self._tables: dict[str, dict[str, tuple[int, etree._Element]]] = {
            kind: {} for kind in ("element", "complexType", "simpleType", "group", "attributeGroup", "attribute")
        }
        #: The global elements that may stand for another, by the Clark name of their head.
        self._members: dict[str, list[str]] = {}
        self._elements: dict[int, Element] = {}
        #: The model groups being walked, so that one that holds itself is walked once.
        self._open_groups: set[str] = set()
        for index, (_path, tree) in enumerate(documents):
            namespace = document_namespace(documents, index)
            for child in tree.getroot():
                name = child.get("name")
                kind = etree.QName(child).localname if isinstance(child.tag, str) else ""
                table = self._tables.get(kind) if str(child.tag).startswith(_XS) else None
                if name is None or table is None:
                    continue
                tag = _clark(namespace, name)
                table.setdefault(tag, (index, child))
                head = child.get("substitutionGroup") if kind == "element" else None
                if head is not None:
                    for item in head.split():
                        self._members.setdefault(self._qname(child, item), []).append(tag)

    # -- declarations -------------------------------------------------------------

    def _qname(self, node: etree._Element, value: str) -> str:
        prefix, _, local = value.strip().rpartition(":")
        namespace = node.nsmap.get(prefix or None)
        return _clark(namespace, local)

    def _element(self, index: int, node: etree._Element, tag: str) -> Element:
        known = self._elements.get(id(node))
        if known is None:
            known = self._elements[id(node)] = Element(self, index, node, tag)
        return known

    @property
    def globals(self) -> list[Element]:
        """The global element declarations, in the documents' order."""
        return [self._element(index, node, tag) for tag, (index, node) in self._tables["element"].items()]

    def element(self, tag: str) -> Element | None:
        """The global declaration of the element ``tag`` (a Clark name)."""
        found = self._tables["element"].get(tag)
        return self._element(found[0], found[1], tag) if found is not None else None

    def declarations(self, name: str | None = None) -> list[Element]:
        """Every declaration, global or local, of elements called ``name`` (local name), or of all elements."""
        found: list[Element] = []
        for index, (_path, tree) in enumerate(self.documents):
            schema = tree.getroot()
            for node in schema.iter(f"{_XS}element"):
                declared = node.get("name")
                if declared is None or (name is not None and declared != name):
                    continue
                if node.getparent() is schema:
                    namespace = document_namespace(self.documents, index)
                    found.append(self._element(index, node, _clark(namespace, declared)))
                else:
                    found.append(self._local(index, node, declared))
        return found

    def _local(self, index: int, node: etree._Element, name: str) -> Element:
        schema = self.documents[index][1].getroot()
        qualified = node.get("form", schema.get("elementFormDefault", "unqualified")) == "qualified"
        namespace = document_namespace(self.documents, index)
        return self._element(index, node, _clark(namespace if qualified else None, name))

    # -- content ------------------------------------------------------------------

    def _element_content(self, element: Element) -> _Content:
        content = _Content()
        node = element.node
        type_name = node.get("type")
        if type_name is None and node.get("substitutionGroup") is not None:
            # A member without a type of its own has its head's.
            head = self.element(self._qname(node, node.get("substitutionGroup", "").split()[0]))
            if head is not None and head is not element:
                return head.content
        if type_name is not None:
            self._named_type(content, node, type_name, set())
            return content
        inline = False
        for child in node:
            if child.tag == f"{_XS}complexType":
                self._complex_type(content, element.index, child, set())
                inline = True
            elif child.tag == f"{_XS}simpleType":
                content.text = self._simple_type(element.index, child, set())
                inline = True
        if not inline:
            # No type: xs:anyType, any content.
            content.open = content.open_attributes = True
        return content

    def _named_type(self, content: _Content, node: etree._Element, type_name: str, seen: set[str]) -> None:
        """Fill ``content`` from the type ``type_name`` names (complex, simple or built-in)."""
        tag = self._qname(node, type_name)
        if tag in seen:
            return
        complex_type = self._tables["complexType"].get(tag)
        if complex_type is not None:
            self._complex_type(content, complex_type[0], complex_type[1], {*seen, tag})
        elif tag == f"{_XS}anyType":
            content.open = content.open_attributes = True
        else:
            content.text = self._simple_named(node, type_name, seen)

    def _complex_type(
        self, content: _Content, index: int, node: etree._Element, seen: set[str], attributes_only: bool = False
    ) -> None:
        if node.get("mixed") == "true" and content.text is None:
            content.text = SimpleType(builtin="string")
        for child in node:
            if child.tag == f"{_XS}simpleContent":
                self._simple_content(content, index, child, seen)
            elif child.tag == f"{_XS}complexContent":
                if child.get("mixed") == "true" and content.text is None:
                    content.text = SimpleType(builtin="string")
                self._complex_content(content, index, child, seen, attributes_only)
            elif not attributes_only:
                self._particles(content, index, child, False)
            if child.tag in (f"{_XS}attribute", f"{_XS}attributeGroup", f"{_XS}anyAttribute"):
                self._attributes(content, index, child, set())

    def _complex_content(
        self, content: _Content, index: int, node: etree._Element, seen: set[str], attributes_only: bool
    ) -> None:
        for derivation in node:
            base = derivation.get("base")
            extension = derivation.tag == f"{_XS}extension"
            if base is not None and derivation.tag in (f"{_XS}extension", f"{_XS}restriction"):
                tag = self._qname(derivation, base)
                named = self._tables["complexType"].get(tag)
                if tag == f"{_XS}anyType":
                    content.open = content.open or (extension and not attributes_only)
                elif named is not None and tag not in seen:
                    # An extension adds to its base's particles; a restriction repeats those it keeps.
                    self._complex_type(content, named[0], named[1], {*seen, tag}, attributes_only or not extension)
            for child in derivation:
                if child.tag in (f"{_XS}attribute", f"{_XS}attributeGroup", f"{_XS}anyAttribute"):
                    self._attributes(content, index, child, set())
                elif not attributes_only:
                    self._particles(content, index, child, False)

    def _simple_content(self, content: _Content, index: int, node: etree._Element, seen: set[str]) -> None:
        for derivation in node:
            base = derivation.get("base")
            if base is not None:
                tag = self._qname(derivation, base)
                named = self._tables["complexType"].get(tag)
                if named is not None and tag not in seen:
                    self._complex_type(content, named[0], named[1], {*seen, tag}, attributes_only=True)
                else:
                    content.text = self._simple_named(derivation, base, set())
            if derivation.tag == f"{_XS}restriction":
                content.text = self._restricted(derivation, content.text)
            for child in derivation:
                if child.tag in (f"{_XS}attribute", f"{_XS}attributeGroup", f"{_XS}anyAttribute"):
                    self._attributes(content, index, child, set())

    def _particles(self, content: _Content, index: int, node: etree._Element, repeated: bool) -> None:
        if node.tag in _PARTICLE_GROUPS:
            for child in node:
                self._particles(content, index, child, repeated or _repeats(node))
        elif node.tag == f"{_XS}group" and node.get("ref") is not None:
            name = self._qname(node, node.get("ref", ""))
            group = self._tables["group"].get(name)
            # A group that holds itself (which no schema processor accepts) is walked once.
            if group is not None and name not in self._open_groups:
                self._open_groups.add(name)
                try:
                    for child in group[1]:
                        self._particles(content, group[0], child, repeated or _repeats(node))
                finally:
                    self._open_groups.discard(name)
        elif node.tag == f"{_XS}any":
            content.open = True
        elif node.tag == f"{_XS}element":
            repeats = repeated or _repeats(node)
            reference = node.get("ref")
            if reference is not None:
                tag = self._qname(node, reference)
                for member in (tag, *self._substitutes(tag)):
                    declared = self.element(member)
                    if declared is not None:
                        content.children.append(Occurrence(declared, repeats))
            elif node.get("name") is not None:
                content.children.append(Occurrence(self._local(index, node, node.get("name", "")), repeats))

    def _substitutes(self, head: str, seen: frozenset[str] = frozenset()) -> Iterator[str]:
        """The elements that may stand for ``head``, members of members included."""
        for member in self._members.get(head, ()):
            if member not in seen:
                yield member
                yield from self._substitutes(member, seen | {head, member})

    def _attributes(self, content: _Content, index: int, node: etree._Element, seen: set[str]) -> None:
        if node.tag == f"{_XS}anyAttribute":
            content.open_attributes = True
        elif node.tag == f"{_XS}attribute":
            reference = node.get("ref")
            fixed = node.get("fixed")
            if reference is not None:
                tag = self._qname(node, reference)
                declared = self._tables["attribute"].get(tag)
                name = etree.QName(tag).localname
                kind = self._attribute_type(*declared) if declared is not None else None
                if declared is not None and fixed is None:
                    fixed = declared[1].get("fixed")
            else:
                name = node.get("name", "")
                kind = self._attribute_type(index, node)
            if not name:
                return
            if node.get("use") == "prohibited":
                content.attributes.pop(name, None)
            else:
                content.attributes[name] = Attribute(name, kind, node.get("use") == "required", fixed)
        elif node.tag == f"{_XS}attributeGroup" and node.get("ref") is not None:
            tag = self._qname(node, node.get("ref", ""))
            group = self._tables["attributeGroup"].get(tag)
            if group is not None and tag not in seen:
                for child in group[1]:
                    self._attributes(content, group[0], child, {*seen, tag})

    def _attribute_type(self, index: int, node: etree._Element) -> SimpleType | None:
        type_name = node.get("type")
        if type_name is not None:
            return self._simple_named(node, type_name, set())
        inline = node.find(f"{_XS}simpleType")
        return self._simple_type(index, inline, set()) if inline is not None else None

    # -- simple types -------------------------------------------------------------

    def _simple_named(self, node: etree._Element, type_name: str, seen: set[str]) -> SimpleType | None:
        tag = self._qname(node, type_name)
        qname = etree.QName(tag)
        if qname.namespace == XSD_NS:
            return SimpleType(names=(qname.localname,), builtin=qname.localname)
        named = self._tables["simpleType"].get(tag)
        if named is None or tag in seen:
            return None
        found = self._simple_type(named[0], named[1], {*seen, tag})
        base = found or SimpleType()
        return SimpleType((qname.localname, *base.names), base.builtin, base.patterns, base.enumerations)

    def _simple_type(self, index: int, node: etree._Element, seen: set[str]) -> SimpleType | None:
        restriction = node.find(f"{_XS}restriction")
        if restriction is None:
            # A list or a union: no one built-in type, nor facets to go by.
            return SimpleType()
        base_name = restriction.get("base")
        inline = restriction.find(f"{_XS}simpleType")
        if base_name is not None:
            base = self._simple_named(restriction, base_name, seen)
        elif inline is not None:
            base = self._simple_type(index, inline, seen)
        else:
            base = None
        return self._restricted(restriction, base)

    @staticmethod
    def _restricted(restriction: etree._Element, base: SimpleType | None) -> SimpleType:
        base = base or SimpleType()
        patterns = tuple(child.get("value", "") for child in restriction.iterchildren(f"{_XS}pattern"))
        enumerations = tuple(child.get("value", "") for child in restriction.iterchildren(f"{_XS}enumeration"))
        return SimpleType(
            base.names,
            base.builtin,
            (*base.patterns, patterns) if patterns else base.patterns,
            enumerations or base.enumerations,
        )

    # -- walks --------------------------------------------------------------------

    def record_parents(self, record_tag: str) -> frozenset[tuple[str, ...]] | None:
        """Every path of tags from a root to a parent of the record; None if the walk gave up.

        The walk starts at each global element declaration. Wildcards are not followed: an
        installation under one is no place the schema names for it. A declaration already
        open higher up (a recursive content model) is not walked again: a record nested in
        such recursion is in no place the walk lists. A schema too deep or too wide to walk
        (:attr:`MAX_DEPTH`, :attr:`MAX_STEPS`) gives None.
        """
        found: set[tuple[str, ...]] = set()
        opened: set[int] = set()
        steps = 0

        def walk(element: Element, path: tuple[str, ...]) -> None:
            nonlocal steps
            steps += 1
            if steps > self.MAX_STEPS or len(path) > self.MAX_DEPTH:
                raise _WalkTooLongError
            if id(element) in opened:
                return
            opened.add(id(element))
            for occurrence in element.children:
                child = occurrence.element
                if child.tag == record_tag:
                    found.add(path)
                else:
                    walk(child, (*path, child.tag))
            opened.discard(id(element))

        try:
            for element in self.globals:
                if element.tag == record_tag:
                    found.add(())
                else:
                    walk(element, (element.tag,))
        except _WalkTooLongError:
            return None
        return frozenset(found)


# --- bindings against the schema ---------------------------------------------------

#: The device concepts a Communications Hub has too (read from the hub's element); the
#: others (its type, payment mode, auxiliary load) are a meter's or another device's.
HUB_CONCEPTS: Final = ("device_id", "manufacturer", "model", "firmware_version")


class _MisfitError(Exception):
    """A binding's path that the schema does not allow."""


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


_ANY_NAMESPACE: Final = "*"


def _namespace_of(tag: str) -> str | None:
    return tag[1 : tag.index("}")] if tag.startswith("{") else None


def follow(
    parents: Sequence[Element], steps: Path_, schema: str, namespace: str | None = _ANY_NAMESPACE
) -> list[Element]:
    """The declarations ``steps`` (element names, an attribute last) lead to from ``parents``.

    Raises :class:`_MisfitError` saying which step the schema does not allow. An attribute step
    leads to its element's declarations; a step below an open element (a wildcard) is
    allowed, and leads nowhere further the model can check (an empty list). With
    ``namespace``, each step's element must be in it (mcfcheck's readers look for the
    elements of an installation in the installation's namespace): an element the schema
    declares unqualified, or in another namespace, is not one they find.
    """
    here = list(parents)
    where = parents[0].name if parents else ""
    for step in steps:
        if not here:
            return []
        if step.startswith("@"):
            name = step[1:]
            if any(name in element.attributes or element.open_attributes for element in here):
                return here
            allowed = sorted({f"@{attribute}" for element in here for attribute in element.attributes})
            raise _MisfitError(
                f"the schema {schema} allows no attribute {name} on {where} (allowed: {_listed(allowed)})"
            )
        following = [child for element in here for child in element.children_named(step)]
        if namespace != _ANY_NAMESPACE and following:
            elsewhere = [child for child in following if _namespace_of(child.tag) != namespace]
            following = [child for child in following if _namespace_of(child.tag) == namespace]
            if not following:
                found = _namespace_of(elsewhere[0].tag)
                raise _MisfitError(
                    f"the schema {schema} declares {step} in {where} "
                    + (f"in namespace {found!r}" if found else "with no namespace (unqualified)")
                    + f", not in the installation's namespace {namespace!r}, where mcfcheck reads it"
                )
        if not following and any(element.open for element in here):
            return []
        if not following:
            allowed = list(dict.fromkeys(name for element in here for name in element.child_names))
            raise _MisfitError(f"the schema {schema} allows no element {step} in {where} (allowed: {_listed(allowed)})")
        here, where = list(dict.fromkeys(following)), step
    return here


def allows(parents: Sequence[Element], steps: Path_) -> bool:
    """Whether the schema allows ``steps`` from the elements ``parents`` (see :func:`follow`)."""
    try:
        follow(parents, steps, "")
    except _MisfitError:
        return False
    return True


def _shown(steps: Path_) -> str:
    return "/".join(steps) if steps else "."


class _Fit:
    """Checks one binding against one schema model, failing at the first path that does not fit."""

    def __init__(self, binding: Binding, schema: SchemaModel) -> None:
        self.binding = binding
        self.schema = schema
        #: The namespace the readers look for elements in: the record's (once it is found).
        self.namespace: str | None = _ANY_NAMESPACE

    def where(self, key: str) -> str:
        """``source:line`` of ``key``, or of the nearest table that holds it."""
        while key:
            line = self.binding.lines.get(key)
            if line:
                return f"{self.binding.source}:{line}"
            key = key.rpartition(".")[0]
        return self.binding.source

    def fail(self, key: str, shown: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {key} = {shown!r}: {problem}")

    def follow(self, key: str, parents: Sequence[Element], steps: Path_, shown: str | None = None) -> list[Element]:
        try:
            return follow(parents, steps, self.schema.name, self.namespace)
        except _MisfitError as misfit:
            raise self.fail(key, shown if shown is not None else _shown(steps), str(misfit)) from None

    def roots(self) -> list[Element]:
        globals_ = self.schema.globals
        if self.binding.root is None:
            return globals_
        roots = [element for element in globals_ if element.name == self.binding.root]
        if not roots:
            names = _listed([element.name for element in globals_])
            raise self.fail(
                "document.element",
                self.binding.root,
                f"the schema {self.schema.name} declares no global element {self.binding.root} (global: {names})",
            )
        return roots

    def records(self, roots: list[Element]) -> tuple[list[Element], list[Element]]:
        """The record's declarations where ``within`` leads, and the roots that lead there."""
        binding = self.binding
        if not self.schema.declarations(binding.record):
            raise self.fail(
                "installation.element",
                binding.record,
                f"the schema {self.schema.name} declares no element {binding.record}",
            )
        steps = (*binding.within, binding.record)
        key = "installation.within" if binding.within else "installation.element"
        shown = _shown(binding.within) if binding.within else binding.record
        first: ConfigError | None = None
        records: list[Element] = []
        fitting: list[Element] = []
        for root in roots:
            try:
                reached = self.follow(key, [root], steps, shown)
            except ConfigError as error:
                first = first or error
                continue
            records.extend(reached)
            fitting.append(root)
        if not fitting:
            assert first is not None
            raise first
        return list(dict.fromkeys(records)), fitting

    def part(self, section: str, roots: list[Element], steps: Path_ | None) -> None:
        """The header's or trailer's place, and its concepts' paths from there."""
        if steps is None:
            return
        elements = self.follow(f"{section}.element", roots, steps)
        self.concepts(section, elements)

    def concepts(self, section: str, parents: list[Element], only: Sequence[str] | None = None) -> None:
        if not parents:
            return
        for name, steps in self.binding.paths.items():
            if concept(name).parent != section or (only is not None and name not in only):
                continue
            key = f"{section}.{name}"
            reached = self.follow(key, parents, steps)
            if concept(name).kind != "text" or (steps and steps[-1].startswith("@")):
                continue
            holders = [element for element in reached if not element.simple and not element.open]
            if holders:
                raise self.fail(
                    key,
                    _shown(steps),
                    f"the schema {self.schema.name} lets {holders[0].name} hold elements, not the text of "
                    f"the {concept(name).label}",
                )

    def check(self) -> None:
        binding = self.binding
        roots = self.roots()
        records, roots = self.records(roots)
        self.namespace = _namespace_of(records[0].tag) if records else _ANY_NAMESPACE
        self.part("header", roots, binding.header)
        self.part("trailer", roots, binding.trailer)
        self.concepts("installation", records)
        hub = binding.paths.get("hub")
        if hub is not None:
            hubs = self.follow("installation.hub", records, hub)
            self.concepts("device", hubs, HUB_CONCEPTS)
        checked: set[Path_] = set()
        for device_type, steps in binding.devices.items():
            if steps in checked:
                continue
            checked.add(steps)
            key = "installation.devices" if list(binding.devices) == ["*"] else f"installation.devices.{device_type}"
            devices = self.follow(key, records, steps)
            try:
                self.concepts("device", devices)
            except ConfigError as error:
                raise ConfigError(f"{error} (the devices at {_shown(steps)})") from None


def check_binding(binding: Binding, schema: SchemaModel) -> None:
    """Check that every path of ``binding`` is one ``schema`` allows; a :class:`ConfigError` if not.

    The record element must be declared, and ``within`` lead from the document element
    (``[document] element``, or any global element) to it; the header's and trailer's
    places lead from there too. Each concept's path must be allowed from its parent: the
    header's and trailer's from their elements, the installation's from the record, a
    device's from every element that the binding's device paths lead to, and, for
    those a Communications Hub has (:data:`HUB_CONCEPTS`), from the hub. The error names
    the binding's file and line, the key, and what the schema allows where the path fails:
    ``inventory.binding.toml:20: installation.mpan = 'Supply/Power/Core': the schema
    Inventory Schema 2.0.xsd allows no element Power in Supply (allowed: Electricity, Gas)``.
    """
    _Fit(binding, schema).check()
