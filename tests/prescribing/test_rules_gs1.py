"""Reading medicine packs' GS1 codes as scanners type them (prescribing/rules/gs1.py): the shapes real
scanners and nurses produce, every boundary of the dates and check digits, and, where they are available
(EPR_TESTDATA), the published test vectors of two other GS1 parsers."""

from __future__ import annotations

import json
from datetime import date

import pytest

from prescribing.rules.gs1 import (
    GS,
    PackScan,
    ScanError,
    check_digit,
    element_strings,
    gs1_date,
    gtin14,
    parse_scan,
)
from tests.support import third_party_testdata

TODAY = date(2026, 12, 1)
GTIN = "05012345678900"  # check digit 0: 0501234567890 -> 0


def scan(raw: str) -> PackScan:
    return parse_scan(raw, today=TODAY)


# --- The shapes a scanner or a nurse produces ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        f"]d201{GTIN}17270600{'10'}AB12{GS}21SN998877",  # DataMatrix identifier, GS after the batch
        f"01{GTIN}17270600{'10'}AB12{GS}21SN998877",  # no identifier
        f"{GS}01{GTIN}17270600{'10'}AB12{GS}21SN998877",  # FNC1 in first position sent as GS
        f"01{GTIN}21SN998877{GS}10AB12{GS}17270600",  # fields in another order
        f"01{GTIN}17270600{'10'}AB12{GS}{GS}21SN998877\r\n",  # a doubled separator and the Enter key
        f"(01){GTIN}(17)270600(10)AB12(21)SN998877",  # typed from the printed text
        f"  (01) {GTIN} (17) 270600 (10) AB12 (21) SN998877 ",  # typed with spaces
    ],
)
def test_the_same_pack_read_every_way_a_scanner_or_a_nurse_sends_it(raw):
    read = scan(raw)
    assert (read.gtin, read.expiry, read.batch, read.serial) == (GTIN, date(2027, 6, 30), "AB12", "SN998877")


def test_a_variable_field_last_needs_no_separator():
    read = scan(f"01{GTIN}17270115{'10'}BATCH-7/X")
    assert (read.expiry, read.batch, read.serial) == (date(2027, 1, 15), "BATCH-7/X", "")


def test_a_batch_without_a_separator_swallows_what_follows():
    # The code is wrong, not the reader: the batch runs to the end, as every GS1 reader takes it.
    assert scan(f"01{GTIN}10AB1217270600").batch == "AB1217270600"


def test_the_symbology_the_scanner_named_is_kept():
    assert scan(f"]d201{GTIN}").symbology == "GS1 DataMatrix"
    assert scan(f"]C101{GTIN}").symbology == "GS1-128"


@pytest.mark.parametrize(("raw", "expected"), [("5012345678900", GTIN), ("]E05012345678900", GTIN)])
def test_a_linear_ean_13_gives_the_product_padded_to_14_digits(raw, expected):
    read = scan(raw)
    assert (read.gtin, read.expiry, read.batch) == (expected, None, "")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Nothing was scanned"),
        ("   \r\n", "Nothing was scanned"),
        (f"01{GTIN[:-1]}1", "wrong check digit (expected 0)"),
        ("5012345678901", "wrong check digit"),
        (f"17270600{'10'}AB12", "no product number"),
        (f"01{GTIN}99ABC", "not a GS1 field this app knows"),
        (f"01{GTIN}17270631", "June 2027 has 30 days"),
        (f"01{GTIN}17271300", "no month 13"),
        (f"01{GTIN}172706", "should be 6 characters"),
        (f"01{GTIN}10{'A' * 21}", "longer than 20"),
        (f"01{GTIN}10", "is empty"),
        (f"01{GTIN}10AB 12", "characters a GS1 code may not"),
        (f"01{GTIN}17270600{GS}17280600", "two different values for the expiry date"),
        ("]Q1TESTING", "symbology this app does not read"),
        ("(01)05012345678900 expires 06/27", "should be 14 characters"),
        ("(01)05012345678900((17)270600", "each field in brackets"),
        ("01050123456789", "wrong check digit"),
        ("(99)ABC", "(99) is not a GS1 field"),
    ],
)
def test_what_cannot_be_read_is_refused_with_the_reason(raw, message):
    with pytest.raises(ScanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scan(raw)


# --- Dates and check digits at their boundaries ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("270600", date(2027, 6, 30)),
        ("280200", date(2028, 2, 29)),  # leap year
        ("270200", date(2027, 2, 28)),
        ("271200", date(2027, 12, 31)),
        ("270101", date(2027, 1, 1)),
        ("760101", date(2076, 1, 1)),  # 50 years ahead: this century
        ("770101", date(1977, 1, 1)),  # 51 years ahead: the last
        ("000101", date(2000, 1, 1)),
    ],
)
def test_gs1_dates(value, expected):
    assert gs1_date(value, today=TODAY) == expected


def test_the_century_turns_with_today():
    assert gs1_date("760101", today=date(2025, 1, 1)) == date(1976, 1, 1)  # 51 ahead of 25
    assert gs1_date("750101", today=date(2025, 1, 1)) == date(2075, 1, 1)
    assert gs1_date("050101", today=date(2055, 6, 1)) == date(2105, 1, 1)  # 50 behind: the next


@pytest.mark.parametrize("value", ["27060", "2706000", "27x600", "270000", "271300", "270229", "270431"])
def test_impossible_dates_are_refused(value):
    with pytest.raises(ScanError):
        gs1_date(value, today=TODAY)


@pytest.mark.parametrize(
    ("number", "padded"),
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("5012345678900", GTIN),
        (GTIN, GTIN),
    ],
)
def test_gtins_of_every_length_become_14_digits(number, padded):
    assert gtin14(number) == padded


@pytest.mark.parametrize(
    "number", ["1234567", "123456789", "50123456789001", "5O12345678900", "５012345678900"]
)
def test_not_a_gtin(number):
    with pytest.raises(ScanError):
        gtin14(number)


def test_check_digit():
    assert check_digit("501234567890") == 0
    assert check_digit("0001234560001") == 2


# --- The published vectors of gs1-syntax-engine and biip (EPR_TESTDATA) ---------------------------------


def _cases(group: str) -> list[dict]:
    cases = third_party_testdata("gs1/gs1_cases.json", "The GS1 test vectors of gs1-syntax-engine and biip")
    return [c for c in json.loads(cases.read_text())["cases"] if c["group"] == group]


def test_expiry_dates_as_the_gs1_engine_lints_them():
    cases = _cases("gse_lint_yymmd0")
    assert len(cases) > 50
    for case in cases:
        if case["expected"]["pass"]:
            gs1_date(case["input"], today=TODAY)
        else:
            with pytest.raises(ScanError):
                gs1_date(case["input"], today=TODAY)


def test_check_digits_as_the_gs1_engine_lints_them():
    for case in _cases("gse_lint_csum"):
        number = case["input"]
        valid = number.isdigit() and len(number) > 1 and check_digit(number[:-1]) == int(number[-1])
        assert valid == case["expected"]["pass"], number


def test_zero_day_and_the_century_as_biip_reads_them():
    groups = (
        "biip_test_gs1_element_strings::test_extract_handles_zero_day_as_last_day_of_month",
        "biip_test_gs1_element_strings::test_extract_handles_min_and_max_year_correctly",
    )
    for case in [c for g in groups for c in _cases(g)]:
        expected = case["expected"]["expected"]
        expected = expected["date"] if isinstance(expected, dict) else expected
        # biip's vectors were recorded in 2026, when "76" was 50 years ahead.
        assert gs1_date(case["input"][2:], today=TODAY).isoformat() == expected


def test_separators_as_biip_reads_them():
    cases = _cases("biip_test_gs1_messages::test_parse_with_separator_char") + _cases(
        "biip_test_gs1_messages::test_parse_ignores_redundant_separator_chars"
    )
    for case in cases:
        separators = case["expected"].get("separator_chars", [GS])
        data = case["input"]
        for separator in separators:
            data = data.replace(separator, GS)
        hri = "".join(f"({ai}){value}" for ai, value in _elements(data).items())
        assert hri == case["expected"]["expected_hri"], case["input"]


def _elements(data: str) -> dict[str, str]:
    # Some of biip's vectors have no GTIN (a batch and a date alone): read the fields, not a pack.
    return {ai.code: value for ai, value in element_strings(data.lstrip(GS))}


def test_gtin_check_digits_as_biip_reads_them():
    (case,) = _cases("biip_manual::test_parse_gtin_13_with_invalid_check_digit")
    with pytest.raises(ScanError, match="expected 7"):
        scan(case["input"])
    for case in _cases("biip_test_parse::test_parse_gtin_13"):
        assert scan(case["input"]).gtin == "05901234123457"
