"""Norwegian identifiers: mobile, organisation number, account number, KID, fødselsnummer.

Valid test numbers are computed with python-stdnum, not typed in by hand, so the tests check
the product's rules against an independent implementation of the checksums.
"""

from __future__ import annotations

import datetime

import flask
import pytest
import time_machine
from flask_babel.speaklater import LazyString
from stdnum import luhn
from stdnum.no import fodselsnummer, kontonr, orgnr

from portal.core.identifiers import (
    InvalidIdentifier,
    format_account_number,
    format_mobile,
    format_org_number,
    is_synthetic_national_id,
    is_valid_mobile,
    kid_mod10,
    kid_mod11,
    mask_mobile,
    mask_national_id,
    national_id_birth_date,
    normalize_mobile,
    parse_mobile_loose,
    suggest_mobile,
    validate_account_number,
    validate_kid,
    validate_national_id,
    validate_org_number,
)
from tests.helpers.nnin import synthetic_nnin

# ---------------------------------------------------------------------------------------------
# Test numbers computed with stdnum
# ---------------------------------------------------------------------------------------------


def _with_bad_check(number: str) -> str:
    """The same number with its last digit changed, so the control digit is wrong."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def _check_digit(base: str, is_valid) -> str | None:
    """The digit that completes ``base`` according to the stdnum validator, or None."""
    found = [d for d in "0123456789" if is_valid(base + d)]
    return found[0] if found else None


def _orgnr(base8: str) -> str:
    return base8 + _check_digit(base8, orgnr.is_valid)


def _account(base10: str) -> str:
    return base10 + _check_digit(base10, kontonr.is_valid)


FNR = synthetic_nnin("151086", 950)  # 15 Oct 1986
D_NUMBER = synthetic_nnin("551086", 950)  # D-number: day + 40
TENOR = synthetic_nnin("159086", 950)  # Tenor test number: month + 80
NAV = synthetic_nnin("155086", 950)  # NAV/ID-porten test number: month + 40
TENOR_D_NUMBER = synthetic_nnin("559086", 950)  # Tenor test D-number: day + 40 and month + 80
FNR_2004 = synthetic_nnin("290204", 500)  # 29 Feb 2004, leap year, 2000s by individual number
FNR_1899 = synthetic_nnin("010199", 600)  # 1899: individual 500-749 with year >= 54
FH_NUMBER = synthetic_nnin("811086", 950)  # FH-number: first digit 8 or 9
INVALID_DATE = synthetic_nnin("290205", 500)  # 29 Feb 2005 does not exist
FUTURE = synthetic_nnin("010121", 500)  # 1 Jan 2021, checked while the clock says 2020

ORG = _orgnr("98807791")
ACCOUNT = _account("8601111794")
# 10-digit bases whose MOD11 check value is 10: no digit completes them as an account number.
_BASES = [str(n) for n in range(1234567890, 1234568890)]
DASH_BASE = next(b for b in _BASES if _check_digit(b, kontonr.is_valid) is None)
ZERO_BASE = next(b for b in _BASES if _check_digit(b, kontonr.is_valid) == "0")

MOBILE_FORM = "Skriv mobilnummeret som +47 og åtte sifre uten mellomrom, for eksempel +4791234567."


# ---------------------------------------------------------------------------------------------
# InvalidIdentifier and messages
# ---------------------------------------------------------------------------------------------


def test_invalid_identifier_is_value_error_with_message_and_suggestion():
    """InvalidIdentifier is a ValueError that carries a message and an optional suggestion."""
    exc = InvalidIdentifier("tekst", suggestion="+4791234567")
    assert isinstance(exc, ValueError)
    assert exc.message == "tekst"
    assert exc.suggestion == "+4791234567"
    assert str(exc) == "tekst"
    assert InvalidIdentifier("tekst").suggestion is None


def test_messages_are_lazy_and_fall_back_to_source_text_outside_an_app():
    """Messages are lazy_gettext strings that render as the bokmål source without a Flask app."""
    assert not flask.has_app_context()
    with pytest.raises(InvalidIdentifier) as info:
        normalize_mobile("91234567")
    assert isinstance(info.value.message, LazyString)
    assert str(info.value.message) == MOBILE_FORM
    assert str(info.value) == MOBILE_FORM


# ---------------------------------------------------------------------------------------------
# Mobile numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["+4791234567", "+4741234567", "+4748123456", "+4799999999"])
def test_normalize_mobile_returns_strict_form_unchanged(value):
    """A Norwegian mobile written as +47 and eight digits is accepted as it is."""
    assert normalize_mobile(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "91234567",
        "912 34 567",
        "0047 91234567",
        "0047 912 34 567",
        "+47 912 34 567",
        "+47-91234567",
        "+47 91 23 45 67",
        "(+47) 912-34-567",
        "4791234567",
        " +4791234567",
        "+4791234567 ",
        "+47\u00a091234567",
    ],
)
def test_normalize_mobile_refuses_other_writings_with_suggestion(value):
    """Other writings of a Norwegian mobile are refused, with the +47 form as a suggestion."""
    with pytest.raises(InvalidIdentifier) as info:
        normalize_mobile(value)
    assert info.value.suggestion == "+4791234567"
    assert str(info.value) == MOBILE_FORM


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("+4722123456", "ikke et mobilnummer"),
        ("22123456", "ikke et mobilnummer"),
        ("+47 22 12 34 56", "ikke et mobilnummer"),
        ("+4712345678", "ikke et mobilnummer"),
        ("+46701234567", "Bare norske mobilnumre"),
        ("0046701234567", "Bare norske mobilnumre"),
        ("+479123456", "nøyaktig åtte sifre etter +47"),
        ("+47912345678", "nøyaktig åtte sifre etter +47"),
        ("9123456a", "bare inneholde sifre"),
        ("mobil", "bare inneholde sifre"),
        ("+47 912 34 567 ext 1", "bare inneholde sifre"),
        ("+47\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667", "bare inneholde sifre"),
        ("", "mangler"),
        ("   ", "mangler"),
        ("1234", "+47 og åtte sifre"),
    ],
)
def test_normalize_mobile_refuses_non_mobiles_without_suggestion(value, fragment):
    """Landlines, foreign numbers, wrong lengths and letters are refused with no suggestion."""
    with pytest.raises(InvalidIdentifier) as info:
        normalize_mobile(value)
    assert info.value.suggestion is None
    assert fragment in str(info.value)
    assert "+4791234567" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+4791234567", True),
        ("+4741234567", True),
        ("91234567", False),
        ("+47 91234567", False),
        ("+4791234567\n", False),
        ("+4722123456", False),
        ("+46701234567", False),
        ("+479123456", False),
        ("", False),
        (None, False),
    ],
)
def test_is_valid_mobile_checks_strict_form(value, expected):
    """is_valid_mobile is true only for +47 and eight digits of a Norwegian mobile number."""
    assert is_valid_mobile(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+4791234567", "+4791234567"),
        ("912 34 567", "+4791234567"),
        ("0047 912 34 567", "+4791234567"),
        ("+47-91234567", "+4791234567"),
        ("412 34 567", "+4741234567"),
        ("+4722123456", None),
        ("+46701234567", None),
        ("+479123456", None),
        ("tlf 91234567", None),
        ("", None),
    ],
)
def test_suggest_mobile_understands_norwegian_mobiles_only(value, expected):
    """suggest_mobile gives the +47 form for any plain writing of a Norwegian mobile, else None."""
    assert suggest_mobile(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91234567", "+4791234567"),
        ("912 34 567", "+4791234567"),
        ("tlf. 912 34 567", "+4791234567"),
        ("912 34 567 (mobil)", "+4791234567"),
        ("+47 912 34 567", "+4791234567"),
        ("0047-912-34-567", "+4791234567"),
        ("Mobil: +47 912 34 567", "+4791234567"),
        ("22 12 34 56", None),
        ("+46 70 123 45 67", None),
        ("9123", None),
        ("ola nordmann", None),
        ("", None),
    ],
)
def test_parse_mobile_loose_reads_search_input(value, expected):
    """parse_mobile_loose ignores surrounding text and returns the +47 form or None."""
    assert parse_mobile_loose(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+4791234567", "+47 912 34 567"),
        ("91234567", "+47 912 34 567"),
        ("+4741234567", "+47 412 34 567"),
        ("ukjent", "ukjent"),
    ],
)
def test_format_mobile_groups_digits_for_display(value, expected):
    """format_mobile shows +47 912 34 567 and leaves unrecognised text unchanged."""
    assert format_mobile(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+4791234567", "+47 ••• •• 567"),
        ("912 34 567", "+47 ••• •• 567"),
        ("+4722123456", "+•••••••456"),
        ("", ""),
    ],
)
def test_mask_mobile_shows_only_last_three_digits(value, expected):
    """mask_mobile never reveals more than the last three digits."""
    assert mask_mobile(value) == expected


# ---------------------------------------------------------------------------------------------
# Organisation number
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123456785", "123456785"),
        ("123 456 785", "123456785"),
        ("123\u00a0456\u00a0785", "123456785"),
        (ORG, ORG),
        (orgnr.format(ORG), ORG),
    ],
)
def test_validate_org_number_accepts_valid_numbers(value, expected):
    """A nine-digit organisation number with a correct MOD11 digit is returned compact."""
    assert validate_org_number(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (_with_bad_check(ORG), "kontrollsifferet stemmer ikke"),
        ("123456784", "kontrollsifferet stemmer ikke"),
        ("12345678", "nøyaktig ni sifre"),
        ("1234567850", "nøyaktig ni sifre"),
        ("123.456.785", "nøyaktig ni sifre"),
        ("12345678A", "nøyaktig ni sifre"),
        ("\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff15", "nøyaktig ni sifre"),
        ("", "mangler"),
    ],
)
def test_validate_org_number_refuses_invalid_numbers(value, fragment):
    """Wrong length, non-digits and a wrong check digit are refused with a specific message."""
    with pytest.raises(InvalidIdentifier) as info:
        validate_org_number(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("123456785", "123 456 785"), ("123 456785", "123 456 785"), ("12345", "12345")],
)
def test_format_org_number_groups_by_three(value, expected):
    """format_org_number shows 123 456 785 and leaves other text unchanged."""
    assert format_org_number(value) == expected


# ---------------------------------------------------------------------------------------------
# Bank account number
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12345678903", "12345678903"),
        ("1234.56.78903", "12345678903"),
        ("1234 56 78903", "12345678903"),
        (ACCOUNT, ACCOUNT),
        (kontonr.format(ACCOUNT), ACCOUNT),
        (ZERO_BASE + "0", ZERO_BASE + "0"),
    ],
)
def test_validate_account_number_accepts_valid_accounts(value, expected):
    """An 11-digit account with a correct MOD11 digit is returned compact."""
    assert validate_account_number(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (_with_bad_check(ACCOUNT), "kontrollsifferet stemmer ikke"),
        ("12345678904", "kontrollsifferet stemmer ikke"),
        ("1234567890", "nøyaktig 11 sifre"),
        ("123456789030", "nøyaktig 11 sifre"),
        ("4090403", "nøyaktig 11 sifre"),
        ("1234-56-78903", "nøyaktig 11 sifre"),
        ("1234.56.7890X", "nøyaktig 11 sifre"),
        ("00004090403", "0000"),
        ("", "mangler"),
    ],
)
def test_validate_account_number_refuses_invalid_accounts(value, fragment):
    """Wrong length, postal giro numbers and a wrong check digit are refused."""
    with pytest.raises(InvalidIdentifier) as info:
        validate_account_number(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12345678903", "1234.56.78903"), ("1234 56 78903", "1234.56.78903"), ("123", "123")],
)
def test_format_account_number_uses_dots(value, expected):
    """format_account_number shows 1234.56.78903 and leaves other text unchanged."""
    assert format_account_number(value) == expected


# ---------------------------------------------------------------------------------------------
# KID
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("base", ["1", "1234567", "000123", "9" * 24])
def test_kid_mod10_appends_luhn_digit(base):
    """kid_mod10 appends the Luhn check digit computed by stdnum."""
    kid = kid_mod10(base)
    assert kid == base + luhn.calc_check_digit(base)
    assert luhn.is_valid(kid)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("1234567890", "12345678903"),
        (ACCOUNT[:-1], ACCOUNT),
        (DASH_BASE, DASH_BASE + "-"),
        (ZERO_BASE, ZERO_BASE + "0"),
        (ORG[:-1], ORG),
        ("98807791", "988077917"),
    ],
)
def test_kid_mod11_matches_norwegian_mod11(base, expected):
    """kid_mod11 uses weights 2-7 from the right, '-' for 10 and '0' for 11, like kontonr/orgnr."""
    assert kid_mod11(base) == expected


@pytest.mark.parametrize("base", [str(n) for n in range(1000000000, 1000000300, 7)])
def test_kid_mod11_agrees_with_stdnum_account_check(base):
    """For 10-digit bases kid_mod11 equals stdnum's account check digit, or '-' when none fits."""
    assert kid_mod11(base)[-1] == (_check_digit(base, kontonr.is_valid) or "-")


@pytest.mark.parametrize("base", ["", "12a", "12 34", "1" * 25, "-"])
def test_kid_generators_refuse_bad_base(base):
    """kid_mod10 and kid_mod11 need 1-24 digits as base."""
    with pytest.raises(InvalidIdentifier):
        kid_mod10(base)
    with pytest.raises(InvalidIdentifier):
        kid_mod11(base)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (kid_mod10("1234567"), "12345674"),
        ("12345674", "12345674"),
        ("1234 5674", "12345674"),
        ("12345678903", "12345678903"),
        (DASH_BASE + "-", DASH_BASE + "-"),
        (kid_mod10("1"), "18"),
        ("00", "00"),
        (kid_mod10("9" * 24), kid_mod10("9" * 24)),
        (kid_mod11("9" * 24), kid_mod11("9" * 24)),
    ],
)
def test_validate_kid_accepts_mod10_and_mod11(value, expected):
    """A KID of 2-25 characters with a valid MOD10 or MOD11 check (incl. '-') is accepted."""
    assert validate_kid(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("12345675", "kontrollsifferet stemmer ikke"),
        (DASH_BASE + "0", "kontrollsifferet stemmer ikke"),
        ("1234567-", "kontrollsifferet stemmer ikke"),
        ("1", "2 til 25 sifre"),
        ("1" * 26, "2 til 25 sifre"),
        ("12-45674", "2 til 25 sifre"),
        ("--", "2 til 25 sifre"),
        ("1234567A", "2 til 25 sifre"),
        ("", "mangler"),
    ],
)
def test_validate_kid_refuses_invalid_kids(value, fragment):
    """Wrong length, letters, a misplaced '-' and a wrong check digit are refused."""
    with pytest.raises(InvalidIdentifier) as info:
        validate_kid(value)
    assert fragment in str(info.value)


# ---------------------------------------------------------------------------------------------
# Fødselsnummer, D-number and synthetic test numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (FNR, FNR),
        ("15108695088", "15108695088"),
        (fodselsnummer.format(FNR), FNR),
        (FNR[:6] + "-" + FNR[6:], FNR),
        (D_NUMBER, D_NUMBER),
        (FNR_2004, FNR_2004),
        (FNR_1899, FNR_1899),
    ],
)
@pytest.mark.parametrize("allow_synthetic", [False, True])
def test_validate_national_id_accepts_real_numbers(value, expected, allow_synthetic):
    """Fødselsnummer and D-numbers with valid control digits and birth date are accepted."""
    assert fodselsnummer.is_valid(expected)
    assert validate_national_id(value, allow_synthetic=allow_synthetic) == expected


@pytest.mark.parametrize("value", [TENOR, NAV, TENOR_D_NUMBER])
def test_validate_national_id_accepts_synthetic_only_when_allowed(value):
    """Tenor (+80) and NAV (+40) test numbers pass only with allow_synthetic=True."""
    with pytest.raises(InvalidIdentifier) as info:
        validate_national_id(value)
    assert "syntetisk testnummer" in str(info.value)
    assert validate_national_id(value, allow_synthetic=True) == value


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (_with_bad_check(FNR), "kontrollsifrene stemmer ikke"),
        (_with_bad_check(D_NUMBER), "kontrollsifrene stemmer ikke"),
        (_with_bad_check(TENOR), "kontrollsifrene stemmer ikke"),
        (_with_bad_check(NAV), "kontrollsifrene stemmer ikke"),
        (INVALID_DATE, "ikke en gyldig fødselsdato"),
        (synthetic_nnin("321086", 950), "ikke en gyldig fødselsdato"),
        (synthetic_nnin("152586", 950), "ikke en gyldig fødselsdato"),
        (synthetic_nnin("156586", 950), "ikke en gyldig fødselsdato"),
        (synthetic_nnin("159586", 950), "ikke en gyldig fødselsdato"),
        (FH_NUMBER, "FH-nummer"),
        (FNR[:10], "nøyaktig 11 sifre"),
        (FNR + "0", "nøyaktig 11 sifre"),
        (FNR[:10] + "X", "nøyaktig 11 sifre"),
        ("", "mangler"),
    ],
)
@pytest.mark.parametrize("allow_synthetic", [False, True])
def test_validate_national_id_refuses_invalid_numbers(value, fragment, allow_synthetic):
    """Bad control digits, impossible dates, FH-numbers and wrong lengths are refused."""
    with pytest.raises(InvalidIdentifier) as info:
        validate_national_id(value, allow_synthetic=allow_synthetic)
    assert fragment in str(info.value)


@time_machine.travel(datetime.datetime(2020, 6, 1, tzinfo=datetime.UTC), tick=False)
def test_validate_national_id_refuses_birth_date_in_the_future():
    """A birth date after today is refused."""
    with pytest.raises(InvalidIdentifier) as info:
        validate_national_id(FUTURE)
    assert "fram i tid" in str(info.value)


@pytest.mark.parametrize(
    "value",
    [FNR, D_NUMBER, TENOR, NAV, _with_bad_check(FNR), INVALID_DATE, FH_NUMBER, FNR[:10]],
)
def test_national_id_messages_never_contain_the_number(value):
    """No error message repeats the number or its birth date digits."""
    try:
        validate_national_id(value)
    except InvalidIdentifier as exc:
        text = str(exc)
        assert value not in text
        assert value[:6] not in text
        assert value[6:] not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TENOR, True),
        (NAV, True),
        (TENOR_D_NUMBER, True),
        (FNR, False),
        (D_NUMBER, False),
        (_with_bad_check(TENOR), False),
        ("nonsense", False),
        ("", False),
    ],
)
def test_is_synthetic_national_id(value, expected):
    """Only valid Tenor (+80) and NAV (+40) test numbers count as synthetic."""
    assert is_synthetic_national_id(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (FNR, datetime.date(1986, 10, 15)),
        (D_NUMBER, datetime.date(1986, 10, 15)),
        (TENOR, datetime.date(1986, 10, 15)),
        (NAV, datetime.date(1986, 10, 15)),
        (TENOR_D_NUMBER, datetime.date(1986, 10, 15)),
        (FNR_2004, datetime.date(2004, 2, 29)),
        (FNR_1899, datetime.date(1899, 1, 1)),
    ],
)
def test_national_id_birth_date_for_all_kinds(value, expected):
    """The birth date is read from real, D-, Tenor and NAV numbers, with the right century."""
    assert national_id_birth_date(value) == expected


@pytest.mark.parametrize("value", [_with_bad_check(FNR), INVALID_DATE, "123"])
def test_national_id_birth_date_refuses_invalid_numbers(value):
    """national_id_birth_date raises InvalidIdentifier for an invalid number."""
    with pytest.raises(InvalidIdentifier):
        national_id_birth_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (FNR, FNR[:6] + " *****"),
        (fodselsnummer.format(D_NUMBER), D_NUMBER[:6] + " *****"),
        ("010190 12345", "010190 *****"),
        ("123", "****** *****"),
        ("", "****** *****"),
    ],
)
def test_mask_national_id_hides_personal_number(value, expected):
    """mask_national_id shows the six date digits and hides the five-digit personal number."""
    assert mask_national_id(value) == expected
