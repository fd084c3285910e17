"""The codes of schema findings: libxml2's validity errors grouped into five families."""

from __future__ import annotations

from typing import Final

#: Finding codes for schema errors, by the libxml2 error families they group.
CODE_INVALID_VALUE: Final = "XSD001"
CODE_STRUCTURE: Final = "XSD002"
CODE_ATTRIBUTE: Final = "XSD003"
CODE_IDENTITY: Final = "XSD004"
CODE_OTHER: Final = "XSD000"

#: Every finding code schema validation makes, with what it means.
SCHEMA_CODES: Final = {
    CODE_INVALID_VALUE: "a value does not match its type (pattern, enumeration, length, range, datatype)",
    CODE_STRUCTURE: "an element is missing, not expected here, or in the wrong order",
    CODE_ATTRIBUTE: "an attribute is missing, not allowed, or has an invalid value",
    CODE_IDENTITY: "an identity constraint (xs:unique, xs:key, xs:keyref) is violated",
    CODE_OTHER: "another schema validity error",
}


#: Attribute errors whose libxml2 type names do not say "ATTR": an attribute on an element
#: of simple type (cvc-type 3.1.1), xsi:nil on an element that is not nillable (cvc-elt
#: 3.1); the xsi:type errors are cvc-elt 4.
_ATTRIBUTE_TYPES: Final = frozenset({"SCHEMAV_CVC_COMPLEX_TYPE_4", "SCHEMAV_CVC_TYPE_3_1_1", "SCHEMAV_CVC_ELT_3_1"})


def schema_error_code(type_name: str) -> str:
    """The finding code for a libxml2 schema validity error type."""
    if "IDC" in type_name:
        return CODE_IDENTITY
    if (
        "ATTR" in type_name
        or type_name.startswith(("SCHEMAV_CVC_COMPLEX_TYPE_3", "SCHEMAV_CVC_ELT_4"))
        or type_name in _ATTRIBUTE_TYPES
    ):
        return CODE_ATTRIBUTE
    if any(
        part in type_name
        for part in ("DATATYPE", "PATTERN", "ENUMERATION", "LENGTH", "INCLUSIVE", "EXCLUSIVE", "DIGITS", "FACET")
    ) or type_name in ("SCHEMAV_CVC_TYPE_3_1_2", "SCHEMAV_CVC_ELT_5_2_2", "SCHEMAV_CVC_COMPLEX_TYPE_2_2"):
        return CODE_INVALID_VALUE
    if "ELEMENT_CONTENT" in type_name or "COMPLEX_TYPE_2" in type_name or "CVC_ELT" in type_name:
        return CODE_STRUCTURE
    return CODE_OTHER
