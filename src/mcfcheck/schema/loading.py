"""Loading XSDs offline and preparing them for streaming validation.

A schema is compiled twice from the same documents:

* the *installation* schema, in which the record element (``Installation``) is a
  global declaration, so each installation can be validated on its own as soon as
  it has been read;
* the *skeleton* schema, in which the record element accepts any content, so the
  rest of the document (header, trailer, the order of things) can be validated at
  the end with the installations already released.

Official DCC schemas have spaces in their file names, import their siblings by
those names and carry DOCTYPEs naming remote DTDs. libxml2 alone cannot load them
(it looks for ``MMC%20Schema…``), so mcfcheck reads the import graph itself, refuses
anything remote, and hands libxml2 copies under plain names in a private folder.
"""

from __future__ import annotations

import copy
import tempfile
import urllib.parse
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

from lxml import etree

from mcfcheck.errors import SchemaError
from mcfcheck.input.xml import split_tag

XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"
_XS: Final = f"{{{XSD_NS}}}"
_REFERENCE_TAGS: Final = tuple(f"{_XS}{name}" for name in ("import", "include", "redefine", "override"))
_IDENTITY_TAGS: Final = tuple(f"{_XS}{name}" for name in ("unique", "key", "keyref"))
_TYPE_TAGS: Final = (f"{_XS}complexType", f"{_XS}simpleType")

#: The local name of the element that holds one SMETS1 Installation.
RECORD_ELEMENT: Final = "Installation"

#: The namespace of mcfcheck's own MCF schema.
MCF_NAMESPACE: Final = "urn:mcfcheck:mcf"

#: The bundled schemas: (namespace, schemaVersion attribute of the root) -> file name.
BUNDLED: Final = {(MCF_NAMESPACE, "1.0"): "mcf-1.0.xsd"}


def _schema_parser() -> etree.XMLParser:
    """A parser for schema documents.

    Internal entities are expanded (schemas such as xmldsig-core-schema.xsd declare
    some in their DOCTYPE); external entities, DTDs and the network never.
    """
    return etree.XMLParser(
        resolve_entities="internal",
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
    )


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """An XSD ready for streaming validation of MCFs.

    ``record_tag`` is the Clark name of the installation element, or None when the
    schema declares no such element; the whole document is then validated as one
    tree (correct, but without the bounded-memory guarantee). ``record_parents`` are
    the places the schema lets a record stand: each the tags from the root down to the
    record's parent (the empty path: the record may be the root). An installation
    anywhere else is only "not expected" where it stands, as libxml2 validating the
    whole document says; it is not validated on its own. None: the places could not
    be worked out, and every installation is validated on its own.
    """

    name: str
    record_tag: str | None
    installation_schema: etree.XMLSchema
    skeleton_schema: etree.XMLSchema
    record_parents: frozenset[tuple[str, ...]] | None = None


def schemas_folder() -> Path:
    """Where the bundled schemas are: inside the installed package, or in a source checkout."""
    packaged = Path(str(resources.files("mcfcheck"))) / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "schemas"


def known_schemas() -> str:
    """The bundled schemas' namespaces and versions, for error messages."""
    return ", ".join(f"{namespace} version {version}" for namespace, version in sorted(BUNDLED))


def bundled_schema(namespace: str | None, version: str | None) -> CompiledSchema:
    """The bundled schema for a document's root namespace and declared schemaVersion."""
    file_name = BUNDLED.get((namespace or "", version or ""))
    if file_name is None:
        found = f"namespace {namespace!r} version {version!r}" if namespace else "no namespace"
        raise SchemaError(
            f"no bundled schema for {found} (known: {known_schemas()}); pass the schema with --schema PATH"
        )
    return _load_bundled(file_name)


@cache
def _load_bundled(file_name: str) -> CompiledSchema:
    return load_schema(schemas_folder() / file_name)


def target_namespace(path: Path) -> str | None:
    """The target namespace of the schema document at ``path`` (read offline, as the schema is)."""
    return _parse_schema_document(path.resolve(), None).getroot().get("targetNamespace")


def load_schema(path: Path, record_element: str = RECORD_ELEMENT) -> CompiledSchema:
    """Read an XSD and the schemas it imports or includes, offline, and compile it."""
    documents = _read_schema_set(path)
    record = _find_record_declaration(documents, record_element)
    if record is None:
        whole = _compile(path, documents)
        return CompiledSchema(path.name, None, whole, whole)
    record_tag, declaration_path = record
    installation_docs = _with_global_record(documents, declaration_path)
    skeleton_docs = _with_open_record(documents, declaration_path)
    return CompiledSchema(
        path.name,
        record_tag,
        _compile(path, installation_docs),
        _compile(path, skeleton_docs),
        _RecordPlaces(documents, record_tag).parents(),
    )


# A schema document in the set: its original path and its parsed tree, in the order
# they were found (the first is the schema the user named).
_SchemaSet = list[tuple[Path, etree._ElementTree]]
# Where a declaration is: the index of its document in the set, and its ElementPath in it.
_DeclarationPath = tuple[int, str]


def _parse_schema_document(path: Path, referenced_by: Path | None) -> etree._ElementTree:
    where = f" (referenced by {referenced_by.name})" if referenced_by else ""
    if not path.is_file():
        raise SchemaError(f"{path}: schema not found{where}")
    parser = _schema_parser()
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as error:
        raise SchemaError(f"{path}: not a well-formed schema document{where}: {error.msg}") from None
    except OSError as error:
        raise SchemaError(f"{path}: cannot be read{where}: {error}") from None
    root_name = split_tag(tree.getroot().tag)[1]
    if tree.getroot().tag != f"{_XS}schema":
        raise SchemaError(f"{path}: not an XML Schema (its root element is {root_name}){where}")
    return tree


def _resolve_location(location: str, base: Path, referenced_by: Path) -> Path:
    """The local file a schemaLocation names, relative to the schema that names it."""
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme and parsed.scheme != "file" and len(parsed.scheme) > 1:
        raise SchemaError(
            f"{referenced_by}: refers to the remote schema {location!r}; mcfcheck works offline: "
            "save that schema beside this one and refer to it by a relative name"
        )
    raw = urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else location
    candidates = [Path(raw), Path(urllib.parse.unquote(raw))]
    for candidate in candidates:
        resolved = candidate if candidate.is_absolute() else base.parent / candidate
        if resolved.is_file():
            return resolved.resolve()
    return (base.parent / candidates[0]).resolve()


def _read_schema_set(path: Path) -> _SchemaSet:
    """Every schema document reachable from ``path``, each read once."""
    main = path.resolve()
    documents: _SchemaSet = [(main, _parse_schema_document(main, None))]
    seen = {main: 0}
    position = 0
    while position < len(documents):
        current, tree = documents[position]
        for reference in tree.getroot().iterchildren(*_REFERENCE_TAGS):
            location = reference.get("schemaLocation")
            if location is None:
                continue
            target = _resolve_location(location, current, current)
            if target not in seen:
                seen[target] = len(documents)
                documents.append((target, _parse_schema_document(target, current)))
            reference.set("schemaLocation", _safe_name(seen[target]))
        position += 1
    return documents


def _safe_name(index: int) -> str:
    return f"schema-{index}.xsd"


def _compile(path: Path, documents: _SchemaSet) -> etree.XMLSchema:
    """Compile a schema set from private copies whose names libxml2 can open."""
    with tempfile.TemporaryDirectory(prefix="mcfcheck-schema-") as folder:
        try:
            for index, (_original, tree) in enumerate(documents):
                # Writing the root element alone drops the DOCTYPE, whose internal
                # entities were already expanded when the document was read.
                Path(folder, _safe_name(index)).write_bytes(etree.tostring(tree.getroot(), encoding="utf-8"))
        except OSError as error:  # a full or read-only temporary folder
            raise SchemaError(
                f"{path}: cannot be copied to {folder} to be compiled ({error.strerror or error})"
            ) from None
        parser = _schema_parser()
        try:
            return etree.XMLSchema(etree.parse(str(Path(folder, _safe_name(0))), parser))
        except etree.XMLSchemaParseError as error:
            message = str(error).replace(f"{folder}/", "")
            for index, (original, _tree) in enumerate(documents):
                message = message.replace(_safe_name(index), original.name)
            raise SchemaError(f"{path}: not a usable XML Schema: {message}") from None


def _target_namespace(documents: _SchemaSet, index: int) -> str | None:
    namespace = documents[index][1].getroot().get("targetNamespace")
    if namespace is None and index > 0:
        # A schema included without a target namespace takes its includer's.
        return documents[0][1].getroot().get("targetNamespace")
    return namespace


def _find_record_declaration(documents: _SchemaSet, local_name: str) -> tuple[str, _DeclarationPath] | None:
    """The record element's Clark name and where its declaration is, global ones first."""
    local: tuple[str, _DeclarationPath] | None = None
    for index, (_path, tree) in enumerate(documents):
        schema = tree.getroot()
        namespace = _target_namespace(documents, index)
        for declaration in schema.iter(f"{_XS}element"):
            if declaration.get("name") != local_name:
                continue
            where = (index, tree.getelementpath(declaration))
            if declaration.getparent() is schema:
                return (f"{{{namespace}}}{local_name}" if namespace else local_name), where
            qualified = declaration.get("form", schema.get("elementFormDefault", "unqualified")) == "qualified"
            if local is None:
                tag = f"{{{namespace}}}{local_name}" if namespace and qualified else local_name
                local = tag, where
    return local


def _copy_set(documents: _SchemaSet) -> _SchemaSet:
    return [(path, copy.deepcopy(tree)) for path, tree in documents]


def _declaration(documents: _SchemaSet, where: _DeclarationPath) -> etree._Element:
    index, element_path = where
    element = documents[index][1].find(element_path)
    assert element is not None, "the declaration was found in this very document"
    return element


def _with_global_record(documents: _SchemaSet, where: _DeclarationPath) -> _SchemaSet:
    """The schema set with the record element declared globally (added if it is local)."""
    result = _copy_set(documents)
    declaration = _declaration(result, where)
    schema = result[where[0]][1].getroot()
    if declaration.getparent() is schema:
        return result
    hoisted = copy.deepcopy(declaration)
    for attribute in ("minOccurs", "maxOccurs", "form"):
        if attribute in hoisted.attrib:
            del hoisted.attrib[attribute]
    schema.append(hoisted)
    return result


def _with_open_record(documents: _SchemaSet, where: _DeclarationPath) -> _SchemaSet:
    """The schema set with the record element's content left unchecked.

    Identity constraints are dropped too: those that span installations cannot be
    checked once installations are released (mcfcheck's rules check uniqueness in
    bounded memory instead).
    """
    result = _copy_set(documents)
    declaration = _declaration(result, where)
    if "type" in declaration.attrib:
        del declaration.attrib["type"]
    for child in list(declaration):
        if child.tag in _TYPE_TAGS:
            declaration.remove(child)
    declaration.append(
        etree.fromstring(
            f'<xs:complexType xmlns:xs="{XSD_NS}" mixed="true"><xs:sequence>'
            '<xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>'
            '</xs:sequence><xs:anyAttribute processContents="skip"/></xs:complexType>'
        )
    )
    for _path, tree in result:
        for constraint in list(tree.getroot().iter(*_IDENTITY_TAGS)):
            parent = constraint.getparent()
            assert parent is not None
            parent.remove(constraint)
    return result


class _RecordPlaces:
    """Where a schema lets the record element stand, found by walking its content models.

    From each global element declaration, the walk follows local and referenced
    element declarations, named and anonymous complex types (with the particles of the
    types they extend), and model groups. Wildcards are not followed: an installation
    under one is no place the schema names for it. A schema too deep or too wide to
    walk gives None. A declaration already open higher up (a recursive content model)
    is not walked again: a record nested in such recursion is in no place the walk lists.
    """

    #: How deep the walk goes (element nesting), and how many declarations it visits.
    MAX_DEPTH: Final = 16
    MAX_STEPS: Final = 100_000

    def __init__(self, documents: _SchemaSet, record_tag: str) -> None:
        self.record_tag = record_tag
        self.elements: dict[str, tuple[int, etree._Element]] = {}
        self.types: dict[str, tuple[int, etree._Element]] = {}
        self.groups: dict[str, tuple[int, etree._Element]] = {}
        self.documents = documents
        for index, (_path, tree) in enumerate(documents):
            namespace = _target_namespace(documents, index)
            for child in tree.getroot():
                name = child.get("name")
                table = {
                    f"{_XS}element": self.elements,
                    f"{_XS}complexType": self.types,
                    f"{_XS}group": self.groups,
                }.get(str(child.tag))
                if name is not None and table is not None:
                    table.setdefault(f"{{{namespace}}}{name}" if namespace else name, (index, child))
        self.found: set[tuple[str, ...]] = set()
        self.steps = 0
        self._open: set[int] = set()

    def parents(self) -> frozenset[tuple[str, ...]] | None:
        """Every path of tags from the root to a parent of the record; None if the walk gave up."""
        try:
            for tag, (index, declaration) in self.elements.items():
                if tag == self.record_tag:
                    self.found.add(())
                else:
                    self._element_content(index, declaration, (tag,))
        except _WalkTooLongError:
            return None
        return frozenset(self.found)

    def _qname(self, element: etree._Element, value: str) -> str:
        prefix, _, local = value.rpartition(":")
        namespace = element.nsmap.get(prefix or None)
        return f"{{{namespace}}}{local}" if namespace else local

    def _element_content(self, index: int, declaration: etree._Element, path: tuple[str, ...]) -> None:
        """Walk the content of an element declaration whose element stands at ``path``."""
        self.steps += 1
        if self.steps > self.MAX_STEPS or len(path) > self.MAX_DEPTH:
            raise _WalkTooLongError
        if id(declaration) in self._open:
            return
        self._open.add(id(declaration))
        type_name = declaration.get("type")
        if type_name is not None:
            named = self.types.get(self._qname(declaration, type_name))
            if named is not None:
                self._complex_type(*named, path)
        else:
            for child in declaration.iterchildren(f"{_XS}complexType"):
                self._complex_type(index, child, path)
        self._open.discard(id(declaration))

    def _complex_type(self, index: int, complex_type: etree._Element, path: tuple[str, ...]) -> None:
        for child in complex_type:
            if child.tag == f"{_XS}complexContent":
                for derivation in child:
                    base = derivation.get("base")
                    if derivation.tag == f"{_XS}extension" and base is not None:
                        named = self.types.get(self._qname(derivation, base))
                        if named is not None:
                            self._complex_type(*named, path)
                    self._particles(index, derivation, path)
            else:
                self._particles(index, child, path)

    def _particles(self, index: int, node: etree._Element, path: tuple[str, ...]) -> None:
        if node.tag in (f"{_XS}sequence", f"{_XS}choice", f"{_XS}all"):
            for child in node:
                self._particles(index, child, path)
        elif node.tag == f"{_XS}group" and node.get("ref") is not None:
            group = self.groups.get(self._qname(node, node.get("ref", "")))
            if group is not None:
                for child in group[1]:
                    self._particles(group[0], child, path)
        elif node.tag == f"{_XS}element":
            self._child_element(index, node, path)

    def _child_element(self, index: int, node: etree._Element, path: tuple[str, ...]) -> None:
        reference = node.get("ref")
        if reference is not None:
            tag = self._qname(node, reference)
            declared = self.elements.get(tag)
            if tag == self.record_tag:
                self.found.add(path)
            elif declared is not None:
                self._element_content(*declared, (*path, tag))
            return
        name = node.get("name")
        if name is None:
            return
        schema = self.documents[index][1].getroot()
        namespace = _target_namespace(self.documents, index)
        qualified = node.get("form", schema.get("elementFormDefault", "unqualified")) == "qualified"
        tag = f"{{{namespace}}}{name}" if namespace and qualified else name
        if tag == self.record_tag:
            self.found.add(path)
        else:
            self._element_content(index, node, (*path, tag))


class _WalkTooLongError(Exception):
    """The schema's content models are too deep or too wide to walk for the record's places."""
