"""Rules after the schema: the API rule packs are written against.

A rule pack is a module with a sequence of :class:`Rule` subclasses, registered in
the ``mcfcheck.rules`` entry-point group::

    [project.entry-points."mcfcheck.rules"]
    my-pack = "my_package.rules:RULES"
"""

from __future__ import annotations

from mcfcheck.rules.base import CODE_PATTERN, Problem, Rule, RuleContext, Visit
from mcfcheck.rules.provenance import Document, Source

__all__ = ["CODE_PATTERN", "Document", "Problem", "Rule", "RuleContext", "Source", "Visit"]
