"""Across files: an identifier held by installations of two files (``mcfcheck batch``, with its ledger).

The uniqueness rules (GEN010-GEN016) look inside one file. A batch with a ledger also
looks across files: an identifier of an installation in one file that an installation
with another reference holds in another file of the batch, or of an earlier batch the
ledger recorded (the same meter or SIM claimed twice, by one supplier or two). The same
installation submitted again (the same reference) is not such a finding: the ledger
counts it in its history. These rules visit nothing in a file; the batch reports their
findings, with the same selection, ignoring and severities as every rule's.
"""

from __future__ import annotations

from typing import ClassVar

from mcfcheck.rules.base import Rule

_OWN_CHECK = (
    "A meter or SIM is migrated once, as part of one installation: an identifier in installations "
    "with different references in two files is a device claimed twice (by one supplier or two) or a "
    "mistyped identifier, which the files alone cannot show."
)


class _AcrossFiles(Rule):
    """Shared mechanism: the kind of identifier (as the ledger names it) and how findings name it."""

    across_files = True
    reads = frozenset[str]()
    own_check = _OWN_CHECK
    #: The kind of identifier, as :data:`mcfcheck.rules.holdings.KINDS` names it.
    kind: ClassVar[str]
    label: ClassVar[str]


class DeviceIdAcrossFiles(_AcrossFiles):
    """A Device ID must not be in installations of two files (checked by mcfcheck batch, with its ledger).

    Fails: ``00-0D-6F-00-00-00-01-02`` in installation A of one file and in installation B of another.

    Passes: each Device ID in one installation; or the same installation (the same reference) sent again.
    """

    code = "XFL010"
    name = "device-id-across-files"
    kind = "device_id"
    label = "Device ID"


class MpanAcrossFiles(_AcrossFiles):
    """An MPAN core must not be in installations of two files (checked by mcfcheck batch, with its ledger).

    Fails: MPAN core ``1200023305967`` in installation A of one file and in installation B of another.

    Passes: each MPAN core in one installation; or the same installation sent again.
    """

    code = "XFL012"
    name = "mpan-across-files"
    kind = "mpan"
    label = "MPAN core"


class MprnAcrossFiles(_AcrossFiles):
    """An MPRN must not be in installations of two files (checked by mcfcheck batch, with its ledger).

    Fails: MPRN ``7377777708`` in installation A of one file and in installation B of another.

    Passes: each MPRN in one installation; or the same installation sent again.
    """

    code = "XFL013"
    name = "mprn-across-files"
    kind = "mprn"
    label = "MPRN"


class ImsiAcrossFiles(_AcrossFiles):
    """An IMSI must not be in installations of two files (checked by mcfcheck batch, with its ledger).

    Fails: IMSI ``234157777777777`` in installation A of one file and in installation B of another.

    Passes: each IMSI in one installation; or the same installation sent again.
    """

    code = "XFL014"
    name = "imsi-across-files"
    kind = "imsi"
    label = "IMSI"


class StaticIpAcrossFiles(_AcrossFiles):
    """A static IP address must not be in installations of two files (checked by mcfcheck batch, with its ledger).

    Fails: ``10.151.120.113`` in installation A of one file and in installation B of another.

    Passes: each static IP address in one installation; or the same installation sent again.
    """

    code = "XFL015"
    name = "static-ip-across-files"
    kind = "static_ip"
    label = "static IP address"


class IccidAcrossFiles(_AcrossFiles):
    """An ICCID must not be in installations of two files (checked by mcfcheck batch, with its ledger).

    Fails: ICCID ``8944100077777777770`` in installation A of one file and in installation B of another.

    Passes: each ICCID in one installation; or the same installation sent again.
    """

    code = "XFL016"
    name = "iccid-across-files"
    kind = "iccid"
    label = "ICCID"


RULES = (
    DeviceIdAcrossFiles,
    MpanAcrossFiles,
    MprnAcrossFiles,
    ImsiAcrossFiles,
    StaticIpAcrossFiles,
    IccidAcrossFiles,
)
