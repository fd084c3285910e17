"""The errors mcfcheck raises when it cannot do what it was asked."""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class McfcheckError(Exception):
    """A problem that stops work on one input; its text is one line for the user.

    Line breaks in the message (libxml2's messages have some) are folded into spaces,
    so that every error is one line whatever it quotes.
    """

    def __init__(self, message: str) -> None:
        super().__init__(_LINE_BREAKS.sub(" ", message).strip())


class InputError(McfcheckError):
    """An input file cannot be read, or is not an XML document mcfcheck will process.

    ``line`` is where in the file the problem is, when it is at a place.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class SchemaError(McfcheckError):
    """A schema cannot be found, read or compiled, or no schema fits the document."""


class ConfigError(McfcheckError):
    """The configuration cannot be used; the message names the file and the key."""


class InternalError(Exception):
    """A fault of mcfcheck's own (or of a rule pack's) met while checking ``path``: never a verdict.

    Its message is one line naming the file and the fault; the original exception is its
    cause, for ``MCFCHECK_DEBUG=1`` to print.
    """

    def __init__(self, path: str, error: BaseException) -> None:
        detail = _LINE_BREAKS.sub(" ", str(error)).strip()
        super().__init__(f"{path}: {type(error).__name__}: {detail}" if detail else f"{path}: {type(error).__name__}")
        self.path = path
