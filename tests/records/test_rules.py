from datetime import date

import pytest

from records.rules import patients as rules


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "9990000018", "9990001170"])
def test_valid_nhs_numbers_pass(value):
    assert rules.validate_nhs_number(value) == rules.normalise_nhs_number(value)


def test_wrong_check_digit_is_refused():
    with pytest.raises(rules.InvalidNHSNumber, match="check digit is wrong"):
        rules.validate_nhs_number("9434765918")


def test_baby_example_from_uk_core_is_invalid():
    assert not rules.is_valid_nhs_number("9912003890")


@pytest.mark.parametrize(("value", "length"), [("943476591", 9), ("94347659190", 11)])
def test_wrong_length_is_refused(value, length):
    with pytest.raises(rules.InvalidNHSNumber, match=f"this has {length}"):
        rules.validate_nhs_number(value)


def test_blank_is_refused():
    with pytest.raises(rules.InvalidNHSNumber, match="Enter an NHS number"):
        rules.validate_nhs_number("  ")


def test_letters_are_refused():
    with pytest.raises(rules.InvalidNHSNumber, match="only digits"):
        rules.validate_nhs_number("94347A5919")


def test_check_value_ten_is_never_valid():
    # 100000001x: weights give a check value of 10, so no final digit can make it valid.
    first_nine = next(
        f"{n:09d}"
        for n in range(100_000_000, 100_001_000)
        if rules.nhs_number_check_digit(f"{n:09d}") is None
    )
    for last in range(10):
        with pytest.raises(rules.InvalidNHSNumber, match="check value is 10"):
            rules.validate_nhs_number(first_nine + str(last))


def test_check_value_eleven_means_zero():
    first_nine = next(
        f"{n:09d}" for n in range(999_000_000, 999_010_000) if rules.nhs_number_check_digit(f"{n:09d}") == 0
    )
    assert rules.is_valid_nhs_number(first_nine + "0")


def test_format_is_three_three_four():
    assert rules.format_nhs_number("9434765919") == "943 476 5919"


@pytest.mark.parametrize(
    ("text", "key"), [("Zoë", "zoe"), ("O'Brien", "obrien"), ("  NÚÑEZ  García ", "nunez garcia")]
)
def test_search_key_ignores_case_and_accents(text, key):
    assert rules.search_key(text) == key


@pytest.mark.parametrize(
    ("born", "today", "expected"),
    [
        (date(1980, 6, 15), date(2026, 6, 14), "45y"),
        (date(1980, 6, 15), date(2026, 6, 15), "46y"),
        (date(2025, 1, 31), date(2026, 1, 30), "11m"),
        (date(2026, 11, 1), date(2026, 11, 24), "23d"),
    ],
)
def test_describe_age(born, today, expected):
    assert rules.describe_age(born, today) == expected
