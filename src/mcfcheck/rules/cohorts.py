"""The cohort registry: which GroupID, SMSOs and device models each migration cohort has."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

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
    """A migration cohort: its name, GroupID, SMSOs, device sets and defaults."""

    name: str
    title: str
    group_id: str
    smso: tuple[str, ...]
    device_sets: tuple[DeviceSet, ...]
    apn: str
    utrn_cutover_hours: int


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
    text = resources.files("mcfcheck.rules").joinpath("cohorts.toml").read_text(encoding="utf-8")
    registry = tomllib.loads(text)
    device_sets = {name: _device_set(name, table) for name, table in registry["device_sets"].items()}
    return {
        name: Cohort(
            name=name,
            title=table["title"],
            group_id=table["group_id"],
            smso=tuple(table["smso"]),
            device_sets=tuple(device_sets[set_name] for set_name in table["device_sets"]),
            apn=table["apn"],
            utrn_cutover_hours=int(table["utrn_cutover_hours"]),
        )
        for name, table in registry["cohorts"].items()
    }
