"""Configuration: ``mcfcheck.toml``, or ``[tool.mcfcheck]`` in ``pyproject.toml``, validated in one place.

Keys (all optional)::

    select = ["GEN", "MDS"]          # code prefixes to run (default: all)
    ignore = ["GEN003"]              # code prefixes not to run
    extend-select = ["EPC"]          # added to select
    epcl = "eligible-combinations.csv"
    bindings = ["dialects/inventory.binding.toml"]   # more dialects' bindings

    [rules.GEN040]                   # a rule's options, by code or name
    earliest = "2020-01-01"
    [rules.migration-notice-period]
    calendar = "scotland"

    [severity]                       # severity overrides by code
    GEN003 = "error"

    [cohorts.FOC]                    # cohort registry overrides
    smso = ["Trilliant", "Landis+Gyr", "Siemens"]
    group_ids = ["CD", "CE"]         # or group_id = "CD"; a GroupID selects one cohort

    [reason-codes]                   # your own codes for mcfcheck's, in extract's response
    MDS002 = "R-017"
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mcfcheck.errors import ConfigError
from mcfcheck.findings import Severity
from mcfcheck.rules.catalogue import catalogue
from mcfcheck.rules.cohorts import Cohort, builtin_cohorts, check_group_ids, group_ids_of
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.options import option_specs
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.selection import ALL, Selection
from mcfcheck.schema.binding import BindingSet, load_binding

CONFIG_FILE: Final = "mcfcheck.toml"
_KNOWN_KEYS: Final = (
    "select",
    "ignore",
    "extend-select",
    "epcl",
    "bindings",
    "rules",
    "severity",
    "cohorts",
    "reason-codes",
)
_COHORT_KEYS: Final = ("group_id", "group_ids", "smso", "apn", "utrn_cutover_hours")


@dataclass(frozen=True)
class Configuration:
    """What a configuration file says, checked for its shape but not yet against the rules."""

    source: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    epcl: Path | None = None
    #: Bindings of more dialects (docs/bindings.md), each chosen by the namespace of a file.
    bindings: tuple[Path, ...] = ()
    rules: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    severity: Mapping[str, Severity] = field(default_factory=dict)
    cohorts: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: The user's own codes for mcfcheck's finding codes (``extract``'s response), by mcfcheck code.
    reason_codes: Mapping[str, str] = field(default_factory=dict)


def find_configuration(start: Path) -> Path | None:
    """The nearest mcfcheck.toml, or pyproject.toml with a [tool.mcfcheck] table, from ``start`` up."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        project = folder / "pyproject.toml"
        if project.is_file() and b"[tool.mcfcheck" in project.read_bytes():
            return project
    return None


def _prefixes(source: Path, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(f'{source}: {key} must be a list of code prefixes, such as ["GEN", "MDS001"]')
    return tuple(value)


def _table(source: Path, key: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {key} must be a table")
    return value


def load_configuration(path: Path) -> Configuration:
    """Read and check a configuration file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    if path.name == "pyproject.toml":
        tool = document.get("tool", {})
        document = tool.get("mcfcheck", {}) if isinstance(tool, dict) else {}
    unknown = sorted(set(document) - set(_KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(_KNOWN_KEYS)})")
    rules = _table(path, "rules", document.get("rules", {}))
    for name, options in rules.items():
        _table(path, f"rules.{name}", options)
    severity: dict[str, Severity] = {}
    for code, level in _table(path, "severity", document.get("severity", {})).items():
        try:
            severity[code] = Severity(str(level))
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            raise ConfigError(f"{path}: severity.{code} must be one of {choices}, not {level!r}") from None
    cohorts = _table(path, "cohorts", document.get("cohorts", {}))
    for name, overrides in cohorts.items():
        for key in _table(path, f"cohorts.{name}", overrides):
            if key not in _COHORT_KEYS:
                raise ConfigError(f"{path}: unknown key cohorts.{name}.{key} (known: {', '.join(_COHORT_KEYS)})")
    epcl = document.get("epcl")
    if epcl is not None and not isinstance(epcl, str):
        raise ConfigError(f"{path}: epcl must be the path of a CSV file")
    bindings = document.get("bindings", [])
    if not isinstance(bindings, list) or not all(isinstance(item, str) and item for item in bindings):
        raise ConfigError(
            f'{path}: bindings must be a list of binding files, relative to this file, such as ["my.binding.toml"]'
        )
    reason_codes = _table(path, "reason-codes", document.get("reason-codes", {}))
    for code, reason in reason_codes.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f'{path}: reason-codes.{code} must be a code of yours, such as "R-017", not {reason!r}')
    return Configuration(
        source=path,
        select=_prefixes(path, "select", document["select"]) if "select" in document else None,
        ignore=_prefixes(path, "ignore", document.get("ignore", [])),
        extend_select=_prefixes(path, "extend-select", document.get("extend-select", [])),
        epcl=(path.parent / epcl) if epcl is not None else None,
        bindings=tuple(path.parent / item for item in bindings),
        rules={name: dict(options) for name, options in rules.items() if isinstance(options, dict)},
        severity=severity,
        cohorts={name: dict(overrides) for name, overrides in cohorts.items() if isinstance(overrides, dict)},
        reason_codes={code: str(reason).strip() for code, reason in reason_codes.items()},
    )


def _cohorts(configuration: Configuration) -> dict[str, Cohort]:
    cohorts = dict(builtin_cohorts())
    where = configuration.source
    for name, overrides in configuration.cohorts.items():
        if name not in cohorts:
            raise ConfigError(f"{where}: cohorts.{name} is not a cohort (known: {', '.join(cohorts)})")
        changes: dict[str, object] = {}
        group_ids = group_ids_of(overrides, where, f"cohorts.{name}")
        if group_ids is not None:
            changes["group_ids"] = group_ids
        for key, value in overrides.items():
            if key in ("group_id", "group_ids"):
                continue
            if key == "smso":
                if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                    raise ConfigError(f"{where}: cohorts.{name}.smso must be a list of names")
                changes[key] = tuple(value)
            elif key == "utrn_cutover_hours":
                if not isinstance(value, int):
                    raise ConfigError(f"{where}: cohorts.{name}.utrn_cutover_hours must be a whole number")
                changes[key] = value
            elif not isinstance(value, str):
                raise ConfigError(f"{where}: cohorts.{name}.{key} must be a string")
            else:
                changes[key] = value
        cohorts[name] = dataclasses.replace(cohorts[name], **changes)  # type: ignore[arg-type]
    check_group_ids(cohorts, where)
    return cohorts


def rule_settings(
    configuration: Configuration,
    registry: RuleRegistry,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    epcl: Path | None = None,
    binding: Path | None = None,
) -> RuleSettings:
    """The settings a run uses: the configuration, checked against the rules, then the command line's.

    ``binding`` (``--binding``) is used for every file, whatever its namespace; the
    configuration's ``bindings`` are chosen by a file's namespace, beside the bundled ones.
    """
    where = configuration.source
    by_name = {rule.name: rule for rule in registry.rules.values()}
    options: dict[str, Mapping[str, object]] = {}
    # With no rules loaded (schema-only runs), rule options have nothing to apply to.
    configured_rules = configuration.rules if registry.rules else {}
    for key, values in configured_rules.items():
        rule = registry.rules.get(key) or by_name.get(key)
        if rule is None:
            raise ConfigError(f"{where}: rules.{key} names no rule (see 'mcfcheck rules')")
        specs = option_specs(rule.defaults)
        checked: dict[str, object] = {}
        for option, value in values.items():
            spec = specs.get(option)
            if spec is None:
                known = ", ".join(specs) or "none"
                raise ConfigError(f"{where}: rules.{key}.{option} is not an option of {rule.code} (options: {known})")
            try:
                checked[option] = spec.check(value)
            except ValueError as expected:
                raise ConfigError(
                    f"{where}: rules.{key}.{option} of {rule.code} must be {expected}, not {value!r}"
                ) from None
        options[rule.code] = {**options.get(rule.code, {}), **checked}
    if registry.rules:
        # A prefix that names no code selects or ignores nothing: a typo, said before any file is read.
        codes = catalogue(registry)
        for given, prefixes in (
            (f"{where}: select" if where else "", configuration.select or ()),
            (f"{where}: ignore" if where else "", configuration.ignore),
            (f"{where}: extend-select" if where else "", configuration.extend_select),
            ("--select", select),
            ("--ignore", ignore),
            ("--extend-select", extend_select),
        ):
            for prefix in prefixes:
                if prefix != ALL and not any(code.startswith(prefix) for code in codes):
                    raise ConfigError(f"{given} {prefix!r}: no check's code starts with it (see 'mcfcheck rules')")
        for code in configuration.severity:
            if code not in codes:
                raise ConfigError(f"{where}: severity.{code} is not a check's code (see 'mcfcheck rules')")
    selection = Selection(
        select=tuple(select) or configuration.select or (ALL,),
        ignore=(*configuration.ignore, *ignore),
        extend_select=(*configuration.extend_select, *extend_select),
    )
    return RuleSettings(
        selection=selection,
        options=options,
        severities=dict(configuration.severity),
        cohorts=_cohorts(configuration),
        epcl=epcl or configuration.epcl,
        bindings=BindingSet.of(
            [load_binding(path) for path in configuration.bindings],
            load_binding(binding) if binding is not None else None,
        ),
    )
