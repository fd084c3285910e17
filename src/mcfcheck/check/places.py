"""Where a finding sits: element paths with positions, and the elements libxml2's errors name."""

from __future__ import annotations

import re
from typing import Final

from lxml import etree

# A namespace in Clark notation ({urn:...}Name): URIs always hold a colon or a slash,
# which tells them from regular-expression counts such as {13} in pattern messages.
CLARK_NAME: Final = re.compile(r"\{[^{}\s']*[:/][^{}\s']*\}")


def local_name(tag: object) -> str:
    text = str(tag)
    return text[text.index("}") + 1 :] if text.startswith("{") else text


def canonical_path(element: etree._Element, stop: etree._Element | None = None) -> str:
    """The element's path by local names, with a position where it has same-named siblings.

    With ``stop``, the path is relative to that ancestor (which is not included).
    """
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None and node is not stop:
        parent = node.getparent()
        step = local_name(node.tag)
        if parent is not None:
            same = list(parent.iterchildren(str(node.tag)))
            if len(same) > 1:
                step += f"[{same.index(node) + 1}]"
        steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))


def resolve_log_path(root: etree._Element, log_path: str | None) -> etree._Element | None:
    """The element a libxml2 error path names, in a tree rooted at ``root``."""
    if not log_path or not log_path.startswith("/"):
        return None
    steps = log_path.split("/")[2:]
    if not steps:
        return root
    namespaces = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
    try:
        found = root.xpath("./" + "/".join(steps), namespaces=namespaces)
    except etree.XPathError:
        return None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return found[0]
    return None
