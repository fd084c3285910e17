"""SMETS1 Eligible Product Combinations (SEC F2.10A), checked when the user supplies the list.

The list is read from a CSV file with the columns ``combination``, ``device_type``,
``manufacturer``, ``model`` and, optionally, ``firmware_version`` (empty or ``*`` for
any version): one row per device model of a combination. An installation's devices,
its Communications Hub included, must all match the rows of one combination.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path

from mcfcheck.errors import InputError
from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.provenance import SMART_ENERGY_CODE, Source
from mcfcheck.rules.views import DeviceView, InstallationView

_COLUMNS = ("combination", "device_type", "manufacturer", "model")

# One entry of a combination: device type, manufacturer, model, firmware version ("" = any).
_Entry = tuple[str, str, str, str]


def load_combinations(path: Path) -> dict[str, list[_Entry]]:
    """The combinations of an Eligible Product Combinations CSV, by combination name."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as listing:
            reader = csv.DictReader(listing)
            missing = [column for column in _COLUMNS if column not in (reader.fieldnames or ())]
            if missing:
                raise InputError(f"{path}: the Eligible Product Combinations list has no column {', '.join(missing)}")
            combinations: dict[str, list[_Entry]] = defaultdict(list)
            for row in reader:
                firmware = (row.get("firmware_version") or "").strip()
                combinations[row["combination"].strip()].append(
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
    return dict(combinations)


def _matches(device: DeviceView, entry: _Entry) -> bool:
    device_type, manufacturer, model, firmware = entry
    return (
        device.device_type == device_type
        and device.manufacturer == manufacturer
        and device.model == model
        and (not firmware or device.firmware_version == firmware)
    )


class EligibleProductCombination(Rule):
    """An installation's device models must form a SMETS1 Eligible Product Combination.

    Runs only when the list is given (``--epcl FILE.csv``).

    Fails: a Honeywell Elster hub with a Landis+Gyr E470 ESME, when no listed combination
    holds both.

    Passes: an installation whose every device matches one listed combination.
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
        "migration check for this is MA110 of its Migration Error Handling and Retry Strategy (MEHRS)."
    )

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
        for entries in self.combinations.values():
            if all(any(_matches(device, entry) for entry in entries) for device in devices):
                return
        models = ", ".join(f"{d.device_type} {d.manufacturer} {d.model} {d.firmware_version}" for d in devices)
        yield Problem(f"no Eligible Product Combination holds these devices: {models}", installation.element)


RULES = (EligibleProductCombination,)
