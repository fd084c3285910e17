"""The errors mcfcheck raises when it cannot do what it was asked."""

from __future__ import annotations


class McfcheckError(Exception):
    """A problem that stops work on one input; its text is one line for the user."""


class InputError(McfcheckError):
    """An input file cannot be read, or is not an XML document mcfcheck will process."""


class SchemaError(McfcheckError):
    """A schema cannot be found, read or compiled, or no schema fits the document."""


class ConfigError(McfcheckError):
    """The configuration cannot be used; the message names the file and the key."""
