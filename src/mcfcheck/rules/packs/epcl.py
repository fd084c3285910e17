"""SMETS1 Eligible Product Combinations (SEC F2.10A), checked when the user supplies the list.

The list is read from a CSV file with the columns ``combination``, ``device_type``,
``manufacturer``, ``model`` and, optionally, ``firmware_version`` (empty or ``*`` for
any version), ``communications_service_provider`` (empty for any provider) and
``date_added`` (the date the combination was first listed, ``YYYY-MM-DD``; empty when
not known): one row per device model of a combination, every row of a combination
giving the same provider and date. An installation's devices, its Communications Hub
included, must all match the rows of one combination; where the file says the
installation's communications service provider (the ``csp`` concept, which not every
dialect has) and the combination names one, the two must be the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mcfcheck.errors import InputError
from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.provenance import SMART_ENERGY_CODE, Source
from mcfcheck.rules.views import DeviceView, InstallationView

_COLUMNS: Final = ("combination", "device_type", "manufacturer", "model")
_PROVIDER: Final = "communications_service_provider"
_DATE: Final = "date_added"
_ISO_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

# One entry of a combination: device type, manufacturer, model, firmware version ("" = any).
_Entry = tuple[str, str, str, str]


@dataclass
class Combination:
    """One SMETS1 Eligible Product Combination: its device models, its provider and when it was listed."""

    name: str
    entries: list[_Entry] = field(default_factory=list)
    #: Its communications service provider; "" for any.
    provider: str = ""
    #: The date it was first added to the list; None where the list does not say.
    date_added: dt.date | None = None


def _same_provider(one: str, other: str) -> bool:
    return one.strip().casefold() == other.strip().casefold()


def _date_added(path: Path, line: int, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise InputError(f"{path}:{line}: {_DATE} {text!r} is not a date (YYYY-MM-DD)")


def _agreeing(path: Path, line: int, known: Combination, provider: str, date_added: dt.date | None) -> None:
    """Refuse a row whose provider or date is not that of its combination's first row."""
    if not _same_provider(known.provider, provider):
        column, here, there = _PROVIDER, provider, known.provider
    elif known.date_added != date_added:
        column, here, there = _DATE, str(date_added or ""), str(known.date_added or "")
    else:
        return
    raise InputError(
        f"{path}:{line}: combination {known.name!r} has {column} {here!r} here but {there!r} on an earlier row; "
        "every row of a combination must give the same"
    )


def load_combinations(path: Path) -> dict[str, Combination]:
    """The combinations of an Eligible Product Combinations CSV, by combination name."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as listing:
            reader = csv.DictReader(listing)
            missing = [column for column in _COLUMNS if column not in (reader.fieldnames or ())]
            if missing:
                raise InputError(f"{path}: the Eligible Product Combinations list has no column {', '.join(missing)}")
            combinations: dict[str, Combination] = {}
            for row in reader:
                line = reader.line_num
                name = row["combination"].strip()
                provider = (row.get(_PROVIDER) or "").strip()
                date_added = _date_added(path, line, (row.get(_DATE) or "").strip())
                combination = combinations.get(name)
                if combination is None:
                    combination = combinations[name] = Combination(name, [], provider, date_added)
                else:
                    _agreeing(path, line, combination, provider, date_added)
                firmware = (row.get("firmware_version") or "").strip()
                combination.entries.append(
                    (
                        row["device_type"].strip(),
                        row["manufacturer"].strip(),
                        row["model"].strip(),
                        "" if firmware == "*" else firmware,
                    )
                )
    except OSError as error:
        raise InputError(f"{path}: cannot read the Eligible Product Combinations list ({error})") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable CSV file ({error})") from None
    if not combinations:
        raise InputError(f"{path}: the Eligible Product Combinations list is empty")
    return combinations


def _matches(device: DeviceView, entry: _Entry) -> bool:
    device_type, manufacturer, model, firmware = entry
    return (
        device.device_type == device_type
        and device.manufacturer == manufacturer
        and device.model == model
        and (not firmware or device.firmware_version == firmware)
    )


def _listed_for(combination: Combination) -> str:
    added = f" (added {combination.date_added.isoformat()})" if combination.date_added is not None else ""
    return f"{combination.name}, listed for communications service provider {combination.provider}{added}"


class EligibleProductCombination(Rule):
    """An installation's device models must form a SMETS1 Eligible Product Combination.

    Runs only when the list is given (``--epcl FILE.csv``): a CSV file with the columns
    ``combination``, ``device_type`` (CHF, ESME, GSME, GPF, PPMID, HCALCS, IHD),
    ``manufacturer``, ``model`` and, optionally, ``firmware_version`` (empty or ``*``
    for any), ``communications_service_provider`` (empty for any) and ``date_added``
    (``YYYY-MM-DD``, the date the combination was first listed; empty when not known),
    one row per device model of a combination. Every row of a combination gives the
    same provider and date. An installation passes when its devices, the Communications
    Hub included, all match the rows of one combination and, where both the file gives
    the installation's communications service provider (the concept ``csp``, which a
    binding need not place) and the combination names one, the two are the same
    (compared without regard to case). A finding for devices that form a combination of
    another provider names that provider and the date the combination was added.

    Fails: a Honeywell Elster hub with a Landis+Gyr E470 ESME, when no listed combination
    holds both; or devices that form combination HE-1, listed for provider Telefonica,
    where the installation's provider is Vodafone.

    Passes: an installation whose every device matches one listed combination, listed
    for the installation's provider, for any provider, or whatever the provider where
    the file does not give it.
    """

    code = "EPC001"
    name = "eligible-product-combination"
    sources = (
        Source(
            SMART_ENERGY_CODE,
            "Section F2.10A (SMETS1 Lists)",
            "each combination of SMETS1 Device Models and communication services provider in relation to which "
            "the DCC has demonstrated through testing [...] that it is able to successfully process SMETS1 "
            "Service Requests and relevant SMETS1 Alerts (the \u201cSMETS1 Eligible Product Combinations\u201d), "
            "including the date on which each entry was first added to the list",
        ),
    )
    reading = (
        "mcfcheck checks an installation's device models against the list the user gives; the DCC's own "
        "migration check for this is MA110 of its Migration Error Handling and Retry Strategy (MEHRS). "
        "The combination's communications service provider is compared with the installation's only where the "
        "file's dialect says it (mcfcheck's own: CommunicationsHub/WAN/CommunicationsServiceProvider); the date "
        "each combination was added is reported, not checked."
    )

    # The communications service provider ("csp") is read where the binding places it, but
    # is not needed: without it, the devices alone are checked.
    reads = frozenset({"hub", "devices", "device_type", "manufacturer", "model", "firmware_version"})
    visits = frozenset({Visit.INSTALLATION})

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self.combinations = load_combinations(context.epcl) if context.epcl is not None else {}
        if not self.combinations:
            self.active_visits = frozenset()

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if not self.combinations:
            return
        devices = ([installation.hub] if installation.hub is not None else []) + installation.devices
        provider = (installation.csp or "").strip()
        formed = [
            combination
            for combination in self.combinations.values()
            if all(any(_matches(device, entry) for entry in combination.entries) for device in devices)
        ]
        if any(not provider or not c.provider or _same_provider(c.provider, provider) for c in formed):
            return
        if formed:
            listed = [_listed_for(combination) for combination in formed]
            which = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + ", and " + listed[-1]
            plural = "s" if len(listed) > 1 else ""
            said = installation.place("csp")
            yield Problem(
                f"the devices form Eligible Product Combination{plural} {which}, not {provider}",
                said if said is not None else installation.element,
            )
            return
        models = ", ".join(f"{d.device_type} {d.manufacturer} {d.model} {d.firmware_version}" for d in devices)
        with_provider = f" (communications service provider {provider})" if provider else ""
        yield Problem(
            f"no Eligible Product Combination holds these devices{with_provider}: {models}", installation.element
        )


RULES = (EligibleProductCombination,)
