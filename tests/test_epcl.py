"""EPC001's Eligible Product Combinations list: how it is read, and what its findings say."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

import mcfcheck
from mcfcheck.errors import InputError
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.packs.epcl import load_combinations
from mcfcheck.testing import OWN_DIALECT, Dialect, load_cases, run_case

from .test_rule_cases import SECOND_DIALECT

CASES = {case.name: case for case in load_cases(Path(__file__).parent / "rule_cases" / "EPC001.toml")}
HEADER = "combination,device_type,manufacturer,model,firmware_version,communications_service_provider,date_added\n"
SAMPLES = Path(__file__).parent.parent / "samples"


def _listing(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_list_gives_each_combination_its_provider_and_date(tmp_path: Path) -> None:
    path = _listing(
        tmp_path,
        HEADER
        + "HE-1,CHF,Honeywell Elster,EM-CHF-G2,*, Telefonica ,2020-06-01\n"
        + "HE-1,ESME,Honeywell Elster,AS300P,4.2.1,TELEFONICA,2020-06-01\n"
        + "HE-2,CHF,Honeywell Elster,EM-CHF-G2,,,\n",
    )
    combinations = load_combinations(path)
    assert list(combinations) == ["HE-1", "HE-2"]
    first, second = combinations["HE-1"], combinations["HE-2"]
    assert (first.provider, first.date_added) == ("Telefonica", dt.date(2020, 6, 1))
    assert first.entries == [
        ("CHF", "Honeywell Elster", "EM-CHF-G2", ""),
        ("ESME", "Honeywell Elster", "AS300P", "4.2.1"),
    ]
    assert (second.provider, second.date_added) == ("", None)


def test_a_list_without_the_provider_and_date_columns_is_read_as_before(tmp_path: Path) -> None:
    path = _listing(tmp_path, "combination,device_type,manufacturer,model\nHE-1,CHF,Honeywell Elster,EM-CHF-G2\n")
    (combination,) = load_combinations(path).values()
    assert combination.entries == [("CHF", "Honeywell Elster", "EM-CHF-G2", "")]
    assert (combination.provider, combination.date_added) == ("", None)


@pytest.mark.parametrize("value", ["2020-6-1", "01/06/2020", "20200601", "2020-02-30", "2020-W23-1", "soon"])
def test_a_date_added_that_is_not_a_date_is_an_input_error(tmp_path: Path, value: str) -> None:
    path = _listing(
        tmp_path,
        HEADER
        + "HE-1,CHF,Honeywell Elster,EM-CHF-G2,,,2020-06-01\n"
        + f"HE-1,ESME,Honeywell Elster,AS300P,,,{value}\n",
    )
    with pytest.raises(InputError) as raised:
        load_combinations(path)
    assert str(raised.value) == f"{path}:3: date_added {value!r} is not a date (YYYY-MM-DD)"


@pytest.mark.parametrize(
    ("second_row", "column", "here", "there"),
    [
        ("HE-1,ESME,Honeywell Elster,AS300P,,Vodafone,2020-06-01", "communications_service_provider", "Vodafone", ""),
        ("HE-1,ESME,Honeywell Elster,AS300P,,,2021-01-04", "date_added", "2021-01-04", "2020-06-01"),
        ("HE-1,ESME,Honeywell Elster,AS300P,,,", "date_added", "", "2020-06-01"),
    ],
)
def test_rows_of_one_combination_that_disagree_are_an_input_error(
    tmp_path: Path, second_row: str, column: str, here: str, there: str
) -> None:
    path = _listing(tmp_path, HEADER + "HE-1,CHF,Honeywell Elster,EM-CHF-G2,,,2020-06-01\n" + second_row + "\n")
    with pytest.raises(InputError) as raised:
        load_combinations(path)
    assert str(raised.value) == (
        f"{path}:3: combination 'HE-1' has {column} {here!r} here but {there!r} on an earlier row; "
        "every row of a combination must give the same"
    )


def test_a_bad_list_stops_the_file_with_its_error(tmp_path: Path) -> None:
    path = _listing(tmp_path, HEADER + "HE-1,CHF,Honeywell Elster,EM-CHF-G2,,,1 June 2020\n")
    report = mcfcheck.validate(SAMPLES / "cb-valid.xml", settings=RuleSettings(epcl=path))
    assert report.error == f"{path}:2: date_added '1 June 2020' is not a date (YYYY-MM-DD)"


@pytest.mark.parametrize("dialect", [OWN_DIALECT, SECOND_DIALECT], ids=str)
def test_a_combination_of_another_provider_is_named_with_its_provider_and_date(
    tmp_path: Path, dialect: Dialect
) -> None:
    case = CASES["the devices form a combination listed for another provider"]
    (finding,) = run_case(case, tmp_path, dialect=dialect)
    assert finding.message == (
        "the devices form Eligible Product Combination HE-1, listed for communications service provider "
        "Telefonica (added 2020-06-01), not Vodafone"
    )
    # It points at where the file says the provider.
    assert finding.location.xpath is not None
    assert finding.location.xpath.endswith(("/WAN/CommunicationsServiceProvider", "/Hub/Sim"))


def test_combinations_of_other_providers_are_all_named(tmp_path: Path) -> None:
    case = CASES["the devices form combinations of two providers, one the installation's"]
    (edit,) = case.edits
    other = replace(case, edits=(replace(edit, xml=edit.xml.replace("Vodafone", "Arqiva")),))
    (finding,) = run_case(other, tmp_path)
    assert finding.message == (
        "the devices form Eligible Product Combinations HE-1, listed for communications service provider "
        "Telefonica (added 2020-06-01), and HE-1V, listed for communications service provider Vodafone, not Arqiva"
    )


def test_no_combination_names_the_installations_provider(tmp_path: Path) -> None:
    case = CASES["a meter model on no listed combination, whatever the installation's provider"]
    (finding,) = run_case(case, tmp_path)
    assert finding.message.startswith(
        "no Eligible Product Combination holds these devices (communications service provider Vodafone): "
        "CHF Honeywell Elster EM-CHF-G2 2.1.4, ESME Honeywell Elster AS300P"
    )
    (finding,) = run_case(CASES["a meter model on no listed combination"], tmp_path)
    assert finding.message.startswith("no Eligible Product Combination holds these devices: CHF ")
