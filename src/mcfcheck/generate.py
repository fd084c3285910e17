"""Generating realistic Migration Common Files of any size, optionally with planted errors.

Files are written as a stream, one installation at a time, so memory stays flat
however many installations are asked for; the same seed gives the same bytes.
Identifiers are realistic: MPAN cores, MPRNs and ICCIDs carry correct check digits,
IMSIs have a UK country code, and Device IDs, references, MPxNs, IMSIs and static IP
addresses are unique in the file.

With an error rate, some installations get one planted schema error each, of a
known kind, and the generator says where: the line the validator must report, the
installation's reference and the finding code expected.

Files are written in mcfcheck's own dialect, or, given a binding, in that binding's
dialect: the generator's own text translated as it is written
(:func:`mcfcheck.dialects.translate`, one installation at a time). Errors are planted
in mcfcheck's own dialect only: their lines and codes are those of its schema.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mcfcheck.errors import ConfigError
from mcfcheck.outputs import atomic_output
from mcfcheck.rules.cohorts import Cohort, DeviceModel, DeviceSet
from mcfcheck.rules.identifiers import luhn_check_digit, mpan_check_digit, mprn_check_digits
from mcfcheck.schema.binding import Binding, default_binding
from mcfcheck.schema.loading import MCF_NAMESPACE

INDENT: Final = "  "
#: Bytes of text gathered before each write to the output file.
WRITE_BUFFER_CHARS: Final = 1 << 20

# A multiplier prime to 2, 3 and 5: n -> n * _SPREAD is then a bijection modulo any
# number made of those primes (10**k, 9 * 10**7, 2**k), so identifiers look scattered
# yet never repeat within a file.
_SPREAD: Final = 7_777_777_777
#: How far apart the serials of two seeds start, for installations and for devices: files generated with
#: different seeds share no identifier unless they hold more installations (or devices) than this.
_SERIALS_PER_SEED: Final = 1_000_003
_DEVICES_PER_SEED: Final = 1 << 24
#: The manufacturer whose Dormant meters are not migrated with an auxiliary load circuit (ACL001).
_ACLARA: Final = "Aclara"


class PlantedKind(enum.StrEnum):
    """The kinds of schema error the generator can plant, each reported on a known line."""

    MPAN_FORMAT = "mpan-format"
    DEVICE_ID_FORMAT = "device-id-format"
    STATUS_VALUE = "status-value"
    ICCID_FORMAT = "iccid-format"
    MISSING_STATUS = "missing-status"
    UNEXPECTED_ELEMENT = "unexpected-element"


#: The finding code each kind of planted error must produce.
PLANTED_CODES: Final = {
    PlantedKind.MPAN_FORMAT: "XSD001",
    PlantedKind.DEVICE_ID_FORMAT: "XSD001",
    PlantedKind.STATUS_VALUE: "XSD001",
    PlantedKind.ICCID_FORMAT: "XSD001",
    PlantedKind.MISSING_STATUS: "XSD002",
    PlantedKind.UNEXPECTED_ELEMENT: "XSD002",
}


@dataclass(frozen=True, slots=True)
class PlantedError:
    """A schema error the generator planted: where it must be reported, and what it is."""

    line: int
    column: int
    installation: str
    kind: PlantedKind

    @property
    def code(self) -> str:
        """The finding code the validator must report for it."""
        return PLANTED_CODES[self.kind]


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What a generation wrote."""

    path: Path
    installations: int
    devices: int
    bytes_written: int
    planted: tuple[PlantedError, ...]


class _Lines:
    """An installation's lines as they are built, with their offsets remembered by name."""

    __slots__ = ("lines", "marks")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.marks: dict[str, int] = {}

    def add(self, depth: int, text: str, mark: str | None = None) -> None:
        if mark is not None and mark not in self.marks:
            self.marks[mark] = len(self.lines)
        self.lines.append(INDENT * depth + text)


class MCFGenerator:
    """Writes realistic MCFs for one cohort; deterministic for a seed."""

    def __init__(
        self,
        cohort: Cohort,
        seed: int = 0,
        error_rate: float = 0.0,
        planted_at: Mapping[int, PlantedKind] | None = None,
    ) -> None:
        """``planted_at`` plants the given kinds of error in the given installations (1-based)."""
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"the error rate is a fraction from 0 to 1, not {error_rate}")
        self.cohort = cohort
        self.seed = seed
        self.error_rate = error_rate
        self.planted_at = dict(planted_at or {})
        self._random = random.Random(seed)
        self._serial = 0
        self._device_serial = 0
        self.devices = 0
        self.planted: list[PlantedError] = []

    # -- identifiers --------------------------------------------------------------

    def _device_id(self, device_set: DeviceSet) -> str:
        self._device_serial += 1
        value = ((self._device_serial + self.seed * _DEVICES_PER_SEED) * _SPREAD) % (1 << 40)
        tail = value.to_bytes(5, "big").hex().upper()
        return device_set.oui + "-" + "-".join(tail[i : i + 2] for i in range(0, 10, 2))

    def _mpan(self, serial: int) -> str:
        distributor = 10 + serial % 14
        body = f"{distributor:02d}{(serial * _SPREAD) % 10**10:010d}"
        return body + str(mpan_check_digit(body))

    def _mprn(self, serial: int) -> str:
        body = f"{(serial * _SPREAD) % 90_000_000 + 10_000_000:08d}"
        return body + mprn_check_digits(body)

    def _iccid(self, serial: int) -> str:
        payload = f"894410{(serial * _SPREAD) % 10**12:012d}"
        return payload + str(luhn_check_digit(payload))

    def _imsi(self, serial: int) -> str:
        network = ("10", "15", "20", "30", "33")[serial % 5]
        return f"234{network}{(serial * _SPREAD) % 10**10:010d}"

    @staticmethod
    def _static_ip(serial: int) -> str:
        value = (serial * _SPREAD) % (1 << 24)
        return f"10.{value >> 16}.{(value >> 8) & 255}.{value & 255}"

    # -- installations ------------------------------------------------------------

    def _model_lines(self, lines: _Lines, depth: int, model: DeviceModel) -> None:
        firmware = model.firmware_versions[self._random.randrange(len(model.firmware_versions))]
        lines.add(depth, "<DeviceModel>")
        lines.add(depth + 1, f"<Manufacturer>{_escape(model.manufacturer)}</Manufacturer>")
        lines.add(depth + 1, f"<Model>{_escape(model.model)}</Model>")
        lines.add(depth + 1, f"<FirmwareVersion>{firmware}</FirmwareVersion>")
        lines.add(depth, "</DeviceModel>")

    def _pick(self, device_set: DeviceSet, device_type: str) -> DeviceModel:
        models = device_set.models[device_type]
        return models[self._random.randrange(len(models))]

    def installation(self, reference: str) -> _Lines:
        """The lines of one valid installation, with the places of its parts marked."""
        rnd = self._random.random
        self._serial += 1
        serial = self._serial + self.seed * _SERIALS_PER_SEED
        device_set = self.cohort.device_sets[self._random.randrange(len(self.cohort.device_sets))]
        dormant = rnd() < 0.08
        roll = rnd()
        has_electricity = roll < 0.90
        has_gas = roll >= 0.35
        prepayment = rnd() < 0.2
        lines = _Lines()
        lines.add(2, "<Installation>")
        lines.add(3, f"<InstallationReference>{reference}</InstallationReference>", "reference")
        lines.add(3, f"<Status>{'Dormant' if dormant else 'Active'}</Status>", "status")
        lines.add(3, "<MeterPoints>", "meter-points")
        if has_electricity:
            lines.add(4, f"<MPANCore>{self._mpan(serial)}</MPANCore>", "mpan")
        if has_gas:
            lines.add(4, f"<MPRN>{self._mprn(serial)}</MPRN>")
        lines.add(3, "</MeterPoints>")
        lines.add(3, "<CommunicationsHub>")
        lines.add(4, f"<DeviceID>{self._device_id(device_set)}</DeviceID>", "device-id")
        self._model_lines(lines, 4, self._pick(device_set, "CHF"))
        lines.add(4, "<WAN>")
        lines.add(5, f"<ICCID>{self._iccid(serial)}</ICCID>", "iccid")
        mds = self.cohort.group_id == "CB"
        if mds or rnd() < 0.7:
            lines.add(5, f"<IMSI>{self._imsi(serial)}</IMSI>")
        if mds:
            lines.add(5, f"<StaticIPAddress>{self._static_ip(serial)}</StaticIPAddress>")
        lines.add(5, f"<APN>{_escape(self.cohort.apn)}</APN>")
        lines.add(4, "</WAN>")
        lines.add(3, "</CommunicationsHub>")
        lines.add(3, "<Devices>")
        devices = 1
        payment = "Prepayment" if prepayment else "Credit"
        meters: list[str] = (["ESME"] if has_electricity else []) + (["GSME", "GPF"] if has_gas else [])
        if prepayment:
            meters.append("PPMID")
        if rnd() < 0.9:
            meters.append("IHD")
        for device_type in meters:
            devices += 1
            lines.add(4, "<Device>")
            lines.add(5, f"<DeviceType>{device_type}</DeviceType>")
            lines.add(5, f"<DeviceID>{self._device_id(device_set)}</DeviceID>")
            model = self._pick(device_set, device_type)
            self._model_lines(lines, 5, model)
            if device_type in ("ESME", "GSME"):
                lines.add(5, f"<PaymentMode>{payment}</PaymentMode>")
            if device_type == "ESME":
                # Not on a Dormant Aclara meter, which is not migrated with one (ACL001): files are valid.
                auxiliary = rnd() < 0.05 and not (dormant and model.manufacturer == _ACLARA)
                lines.add(5, f"<AuxiliaryLoad>{'true' if auxiliary else 'false'}</AuxiliaryLoad>")
            lines.add(4, "</Device>")
        lines.add(3, "</Devices>")
        if prepayment:
            lines.add(3, "<Prepayment>")
            lines.add(4, f"<UTRNCutoverHours>{self.cohort.utrn_cutover_hours}</UTRNCutoverHours>")
            for _ in range(self._random.randrange(3)):
                lines.add(4, f"<PendingUTRN>{self._random.randrange(10**19, 10**20)}</PendingUTRN>")
            lines.add(3, "</Prepayment>")
        if dormant:
            migration = _BASE_DATE + dt.timedelta(days=60 + self._random.randrange(120))
            upgrade = migration - dt.timedelta(days=21)
            lines.add(3, "<DormantNotice>")
            lines.add(4, f"<FirmwareNoticeDate>{upgrade - dt.timedelta(days=14)}</FirmwareNoticeDate>")
            lines.add(4, f"<PlannedUpgradeDate>{upgrade}</PlannedUpgradeDate>")
            lines.add(4, f"<MigrationNoticeDate>{migration - dt.timedelta(days=35)}</MigrationNoticeDate>")
            lines.add(4, f"<PlannedMigrationDate>{migration}</PlannedMigrationDate>")
            lines.add(4, "<ShorterNoticeAgreed>false</ShorterNoticeAgreed>")
            lines.add(3, "</DormantNotice>")
        lines.add(2, "</Installation>")
        self.devices += devices
        return lines

    def _plant(self, lines: _Lines, first_line: int, reference: str, kind: PlantedKind | None = None) -> None:
        """Spoil one part of the installation so that exactly one schema error results."""
        if kind is None or (kind is PlantedKind.MPAN_FORMAT and "mpan" not in lines.marks):
            kinds = [kind for kind in PlantedKind if kind is not PlantedKind.MPAN_FORMAT or "mpan" in lines.marks]
            kind = kinds[self._random.randrange(len(kinds))]
        marks = lines.marks
        if kind is PlantedKind.MPAN_FORMAT:
            at = marks["mpan"]
            lines.lines[at] = lines.lines[at].replace("<MPANCore>", "<MPANCore>X")
        elif kind is PlantedKind.DEVICE_ID_FORMAT:
            at = marks["device-id"]
            lines.lines[at] = lines.lines[at].replace("</DeviceID>", "-00</DeviceID>")
        elif kind is PlantedKind.STATUS_VALUE:
            at = marks["status"]
            lines.lines[at] = INDENT * 3 + "<Status>Sleeping</Status>"
        elif kind is PlantedKind.ICCID_FORMAT:
            at = marks["iccid"]
            lines.lines[at] = lines.lines[at].replace("<ICCID>89", "<ICCID>88")
        elif kind is PlantedKind.MISSING_STATUS:
            # The validator reports the element it met instead: MeterPoints, which then
            # moves up one line into the removed line's place.
            del lines.lines[marks["status"]]
            at = marks["status"]
        else:
            at = marks["status"]
            lines.lines.insert(at, INDENT * 3 + "<Colour>blue</Colour>")
        reported = lines.lines[at]
        column = len(reported) - len(reported.lstrip(" ")) + 1
        self.planted.append(PlantedError(first_line + at, column, reference, kind))

    # -- files --------------------------------------------------------------------

    def header(self, reference_prefix: str) -> list[str]:
        """The lines of the file's XML declaration, root start tag and header."""
        created = _BASE_DATE_TIME + dt.timedelta(minutes=self.seed % 100_000)
        smso = self.cohort.smso[self.seed % len(self.cohort.smso)]
        return [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<MigrationFile xmlns="{MCF_NAMESPACE}" schemaVersion="1.0">',
            f"{INDENT}<Header>",
            f"{INDENT * 2}<FileIdentifier>{reference_prefix}-{self.seed:06d}</FileIdentifier>",
            f"{INDENT * 2}<CreationDateTime>{created.isoformat().replace('+00:00', 'Z')}</CreationDateTime>",
            f"{INDENT * 2}<SchemaVersion>1.0</SchemaVersion>",
            f"{INDENT * 2}<TMADVersion>2.0</TMADVersion>",
            f"{INDENT * 2}<GroupID>{self.cohort.group_id}</GroupID>",
            f"{INDENT * 2}<SMSOName>{_escape(smso)}</SMSOName>",
            f"{INDENT * 2}<SupplierPartyID>SUPP{self.seed % 100:02d}</SupplierPartyID>",
            f"{INDENT * 2}<SupplierDCCUserID>90-B3-D5-1F-30-01-00-{self.seed % 256:02X}</SupplierDCCUserID>",
            f"{INDENT}</Header>",
            f"{INDENT}<Installations>",
        ]

    def iter_text(self, installations: int) -> Iterator[str]:
        """The file's text, in pieces, for ``installations`` installations."""
        prefix = f"{self.cohort.name}{self.seed % 1000:03d}"
        header = self.header(prefix)
        line = len(header) + 1
        yield "\n".join(header) + "\n"
        for index in range(1, installations + 1):
            reference = f"{prefix}-{index:09d}"
            lines = self.installation(reference)
            if index in self.planted_at:
                self._plant(lines, line, reference, self.planted_at[index])
            elif self.error_rate and self._random.random() < self.error_rate:
                self._plant(lines, line, reference)
            line += len(lines.lines)
            yield "\n".join(lines.lines) + "\n"
        yield (
            f"{INDENT}</Installations>\n{INDENT}<Trailer>\n"
            f"{INDENT * 2}<InstallationCount>{installations}</InstallationCount>\n"
            f"{INDENT * 2}<DeviceCount>{self.devices}</DeviceCount>\n"
            f"{INDENT}</Trailer>\n</MigrationFile>\n"
        )

    def iter_text_in(self, binding: Binding | None, installations: int) -> Iterator[str]:
        """The file's text in the dialect of ``binding`` (mcfcheck's own if None), in pieces.

        Errors are planted in mcfcheck's own dialect only: a :class:`ValueError` otherwise.
        What the binding's writer cannot write (no document element, a header on the
        document element itself) is a :class:`ConfigError` naming the binding.
        """
        if binding is None:
            yield from self.iter_text(installations)
            return
        if self.error_rate or self.planted_at:
            raise ValueError("errors are planted in mcfcheck's own dialect only, not through a binding")
        own = (piece.encode("utf-8") for piece in self.iter_text(installations))
        from mcfcheck.dialects import translate

        try:
            yield from translate(own, default_binding(), binding)
        except ValueError as error:  # what the dialect's writer cannot write
            raise ConfigError(str(error)) from None

    def write(
        self,
        path: Path,
        installations: int,
        on_progress: Callable[[int], None] | None = None,
        binding: Binding | None = None,
    ) -> GenerationSummary:
        """Write the file atomically (a temporary file beside it, then a rename), in ``binding``'s dialect if given."""
        written = 0
        with atomic_output(path) as output:
            buffer: list[str] = []
            buffered = 0
            # The first piece is the header, then one piece per installation.
            for done, piece in enumerate(self.iter_text_in(binding, installations)):
                buffer.append(piece)
                buffered += len(piece)
                if buffered >= WRITE_BUFFER_CHARS:
                    written += output.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
                    buffered = 0
                    if on_progress is not None:
                        on_progress(min(done, installations))
            written += output.write("".join(buffer).encode("utf-8"))
        if on_progress is not None:
            on_progress(installations)
        return GenerationSummary(path, installations, self.devices, written, tuple(self.planted))


_BASE_DATE: Final = dt.date(2026, 3, 2)
_BASE_DATE_TIME: Final = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
