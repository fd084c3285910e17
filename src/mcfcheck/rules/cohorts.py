"""The cohort registry: which GroupIDs, SMSOs and device models each migration cohort has.

A cohort is selected by one GroupID (``group_id = "CB"``) or by several (``group_ids =
["CD", "CE"]``: the TMAD's sections are GroupID-specific, and a cohort such as FOC has
several SMSOs); a GroupID selects one cohort only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mcfcheck.errors import ConfigError

DEVICE_TYPES = ("CHF", "ESME", "GSME", "GPF", "PPMID", "IHD")


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """A device model: who makes it, what it is called, and its firmware versions."""

    manufacturer: str
    model: str
    firmware_versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceSet:
    """The device models of one SMETS1 device set, by device type."""

    name: str
    oui: str
    models: dict[str, tuple[DeviceModel, ...]]


@dataclass(frozen=True, slots=True)
class Cohort:
    """A migration cohort: its name, GroupIDs, SMSOs, device sets and defaults."""

    name: str
    title: str
    #: The GroupIDs that select it, one or more.
    group_ids: tuple[str, ...]
    smso: tuple[str, ...]
    device_sets: tuple[DeviceSet, ...]
    apn: str
    utrn_cutover_hours: int

    @property
    def group_id(self) -> str:
        """Its first GroupID: the one a generated file carries ("" for none)."""
        return self.group_ids[0] if self.group_ids else ""


def group_ids_of(table: Mapping[str, object], where: object, key: str) -> tuple[str, ...] | None:
    """The GroupIDs a cohort's table ``key`` gives (``group_id`` or ``group_ids``); None where it gives neither.

    ``where`` (the file) starts the message of a :class:`ConfigError`.
    """
    one, several = table.get("group_id"), table.get("group_ids")
    if one is not None and several is not None:
        raise ConfigError(f"{where}: {key} gives group_id and group_ids: give one GroupID or a list of them")
    if one is not None:
        if not isinstance(one, str) or not one:
            raise ConfigError(f"{where}: {key}.group_id must be a GroupID (a string), not {one!r}")
        return (one,)
    if several is not None:
        if not isinstance(several, list) or not several or not all(isinstance(item, str) and item for item in several):
            raise ConfigError(f'{where}: {key}.group_ids must be a list of GroupIDs, such as ["CD", "CE"]')
        return tuple(dict.fromkeys(several))
    return None


def check_group_ids(cohorts: Mapping[str, Cohort], where: object) -> None:
    """Refuse a GroupID that two cohorts claim, naming both (``where``, the file, starts the message)."""
    claimed: dict[str, str] = {}
    for name, cohort in cohorts.items():
        for group_id in cohort.group_ids:
            other = claimed.setdefault(group_id, name)
            if other != name:
                raise ConfigError(
                    f"{where}: GroupID {group_id!r} is claimed by both cohorts.{other} and cohorts.{name}; "
                    "a GroupID selects one cohort"
                )


def _device_set(name: str, table: dict[str, Any]) -> DeviceSet:
    models = {
        device_type: tuple(
            DeviceModel(manufacturer, model, tuple(firmware)) for manufacturer, model, firmware in table[device_type]
        )
        for device_type in DEVICE_TYPES
    }
    return DeviceSet(name, table["oui"], models)


@cache
def builtin_cohorts() -> dict[str, Cohort]:
    """The cohorts shipped with mcfcheck, by name (IOC, CB, SECURE, FOC)."""
    text = Path(__file__).with_name("cohorts.toml").read_text(encoding="utf-8")
    registry = tomllib.loads(text)
    device_sets = {name: _device_set(name, table) for name, table in registry["device_sets"].items()}
    where = "bundled:cohorts.toml"
    cohorts = {
        name: Cohort(
            name=name,
            title=table["title"],
            group_ids=group_ids_of(table, where, f"cohorts.{name}") or (),
            smso=tuple(table["smso"]),
            device_sets=tuple(device_sets[set_name] for set_name in table["device_sets"]),
            apn=table["apn"],
            utrn_cutover_hours=int(table["utrn_cutover_hours"]),
        )
        for name, table in registry["cohorts"].items()
    }
    check_group_ids(cohorts, where)
    return cohorts
