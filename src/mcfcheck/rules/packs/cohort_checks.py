"""The shared mechanism of each cohort's SMSO and device-set rules.

A cohort's SMSOs and device models come from the cohort registry (cohorts.toml, which
configuration can override), so the same checks serve every cohort; each cohort pack
gives them its own codes and cites its own clause.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.views import HeaderView, InstallationView

#: What the SMSO and device-set rules read into the documents that define each cohort.
COHORT_REGISTRY_READING = (
    "The documents name each cohort's device set, and the SMSO of MOC (MDS) and of MOC (Secure); they name "
    "no SMSO for IOC, and for FOC say only \u201cthree SMSOs\u201d. The SMSO names a file gives, those of IOC and "
    "FOC, and the device models of each set are mcfcheck's cohort registry (cohorts.toml), which a "
    "configuration can override (``[cohorts]``; see the README)."
)


class SmsoRule(Rule):
    """The header's SMSO must be one of the cohort's SMSOs."""

    visits = frozenset({Visit.HEADER})
    reads = frozenset({"smso"})

    def header(self, header: HeaderView) -> Iterator[Problem]:
        allowed = self.context.cohort.smso
        if header.smso_name is not None and header.smso_name not in allowed:
            yield Problem(
                f"SMSO {header.smso_name!r} does not operate the {self.context.cohort.name} cohort "
                f"(expected {' or '.join(repr(name) for name in allowed)})",
                header.place("smso"),
            )


class DeviceSetRule(Rule):
    """Every device's manufacturer and model must belong to the cohort's device sets."""

    # One call per installation, looping over its devices, costs less than one per device.
    visits = frozenset({Visit.INSTALLATION})
    reads = frozenset({"hub", "devices", "device_type", "manufacturer", "model"})

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self.allowed = frozenset(
            (device_type, model.manufacturer, model.model)
            for device_set in context.cohort.device_sets
            for device_type, models in device_set.models.items()
            for model in models
        )

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        devices = ([installation.hub] if installation.hub is not None else []) + installation.devices
        for device in devices:
            if device.manufacturer is None or device.model is None:
                continue
            if (device.device_type, device.manufacturer, device.model) in self.allowed:
                continue
            sets = ", ".join(device_set.name for device_set in self.context.cohort.device_sets)
            yield Problem(
                f"{device.device_type} model {device.manufacturer} {device.model} is not in the "
                f"{self.context.cohort.name} device set ({sets})",
                device.container("manufacturer"),
            )
