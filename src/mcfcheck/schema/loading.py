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
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from lxml import etree

from mcfcheck.errors import SchemaError
from mcfcheck.input.xml import split_tag
from mcfcheck.schema.model import XSD_NS as XSD_NS
from mcfcheck.schema.model import SchemaModel, document_namespace

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
    #: The schema's file, and the local name of the record element it was compiled for.
    path: Path | None = None
    record_element: str = RECORD_ELEMENT


def schemas_folder() -> Path:
    """Where the bundled schemas are: inside the installed package, or in a source checkout."""
    # The package's folder, as importlib.resources would give it (without importing its readers).
    packaged = Path(__file__).resolve().parents[1] / "schemas"
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
        return CompiledSchema(path.name, None, whole, whole, path=path, record_element=record_element)
    record_tag, declaration_path = record
    installation_docs = _with_global_record(documents, declaration_path)
    skeleton_docs = _with_open_record(documents, declaration_path)
    return CompiledSchema(
        path.name,
        record_tag,
        _compile(path, installation_docs),
        _compile(path, skeleton_docs),
        SchemaModel(documents, path.name).record_parents(record_tag),
        path,
        record_element,
    )


def schema_model(path: Path) -> SchemaModel:
    """What the schema at ``path`` lets each element hold (:mod:`mcfcheck.schema.model`), read offline.

    The schema is read as :func:`load_schema` reads it (imports and includes resolved,
    nothing remote) but not compiled: a schema libxml2 would refuse may still be modelled.
    """
    return SchemaModel(_read_schema_set(path), path.name)


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
    """Compile a schema set from private copies whose names libxml2 can open.

    A schema of one document (it imports and includes nothing) is compiled from memory:
    writing it out and reading it back was most of loading it. One that libxml2 refuses is
    compiled again from its copy, for the error message that names it as the user does.
    """
    if len(documents) == 1:
        with suppress(etree.XMLSchemaParseError):
            return etree.XMLSchema(documents[0][1])
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


def _find_record_declaration(documents: _SchemaSet, local_name: str) -> tuple[str, _DeclarationPath] | None:
    """The record element's Clark name and where its declaration is, global ones first."""
    local: tuple[str, _DeclarationPath] | None = None
    for index, (_path, tree) in enumerate(documents):
        schema = tree.getroot()
        namespace = document_namespace(documents, index)
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
