"""Norwegian identifiers: mobile numbers, organisation numbers, bank accounts, KID and
fødselsnummer.

Every validator returns the compact, stored form of the value or raises
:class:`InvalidIdentifier`. Its ``message`` is a user-facing text (Norwegian bokmål source
string, translated through the message catalogue) that says what is wrong and what the right
form looks like; it never repeats the value itself, so it is safe to show and to log.

Formatting and masking helpers are for display only: they never raise, and a value they do
not recognise is returned unchanged (formatting) or fully hidden (masking).
"""

from __future__ import annotations

import datetime
import re

import phonenumbers
from flask_babel import lazy_gettext
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer, kontonr, orgnr

__all__ = [
    "InvalidIdentifier",
    "format_account_number",
    "format_mobile",
    "format_org_number",
    "is_synthetic_national_id",
    "is_valid_mobile",
    "kid_mod10",
    "kid_mod11",
    "mask_mobile",
    "mask_national_id",
    "national_id_birth_date",
    "normalize_mobile",
    "parse_mobile_loose",
    "suggest_mobile",
    "validate_account_number",
    "validate_kid",
    "validate_national_id",
    "validate_org_number",
]


class InvalidIdentifier(ValueError):
    """A number the user typed is not valid.

    ``message`` is a lazily translated, user-facing text. ``suggestion`` is the corrected,
    stored form when the input could be understood (for example a mobile number written with
    spaces); the user must confirm it, the value is never changed silently.
    """

    def __init__(self, message, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion

    def __str__(self) -> str:
        return str(self.message)

    def __repr__(self) -> str:
        return f"InvalidIdentifier({str(self.message)!r}, suggestion={self.suggestion!r})"


_WHITESPACE = re.compile(r"\s+")


def _without_whitespace(value: str) -> str:
    # Pasted numbers often carry non-breaking or thin spaces; all Unicode whitespace counts.
    return _WHITESPACE.sub("", value or "")


def _ascii_digits(value: str, count: int | None = None) -> bool:
    # ASCII only: str.isdigit() would also accept e.g. Arabic-Indic or full-width digits.
    if count is None:
        return re.fullmatch(r"[0-9]+", value) is not None
    return re.fullmatch(f"[0-9]{{{count}}}", value) is not None


def _mask_digits(value: str, keep_last: int) -> str:
    """Replace every digit except the last ``keep_last`` with a bullet."""
    digit_positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    hide = set(digit_positions[: max(len(digit_positions) - keep_last, 0)])
    return "".join("•" if i in hide else ch for i, ch in enumerate(value))


# ---------------------------------------------------------------------------------------------
# Mobile numbers
# ---------------------------------------------------------------------------------------------

# The only stored form: +47 followed by exactly eight digits, nothing else.
_STRICT_MOBILE = re.compile(r"\+47[0-9]{8}")
# What a person may type into a phone field: digits, one leading +, and common separators.
_PHONE_CHARS = re.compile(r"\(?\+?[0-9\s().\-/]*")
# A Norwegian prefix followed only by digits (used to explain a wrong digit count).
_NO_PREFIXED_DIGITS = re.compile(r"(?:\+47|0047)([0-9]+)")
_NORWEGIAN_REGION = "NO"

_MSG_MOBILE_FORM = lazy_gettext(
    "Skriv mobilnummeret som +47 og åtte sifre uten mellomrom, for eksempel +4791234567."
)
_MSG_MOBILE_EMPTY = lazy_gettext(
    "Mobilnummeret mangler. Skriv det som +47 og åtte sifre uten mellomrom, "
    "for eksempel +4791234567."
)
_MSG_MOBILE_CHARACTERS = lazy_gettext(
    "Mobilnummeret kan bare inneholde sifre og et plusstegn foran landskoden. "
    "Skriv det som +47 og åtte sifre uten mellomrom, for eksempel +4791234567."
)
_MSG_MOBILE_DIGIT_COUNT = lazy_gettext(
    "Mobilnummeret må ha nøyaktig åtte sifre etter +47, for eksempel +4791234567."
)
_MSG_MOBILE_NOT_MOBILE = lazy_gettext(
    "Dette er ikke et mobilnummer. Norske mobilnumre begynner på 4 eller 9 etter +47, "
    "for eksempel +4791234567."
)
_MSG_MOBILE_FOREIGN = lazy_gettext(
    "Bare norske mobilnumre kan brukes. Skriv nummeret som +47 og åtte sifre uten mellomrom, "
    "for eksempel +4791234567."
)


def _parse_phone(value: str) -> phonenumbers.PhoneNumber | None:
    """Parse a phone-like input with Norway as the default region, or None."""
    if not value or not value.strip() or not _PHONE_CHARS.fullmatch(value.strip()):
        return None
    try:
        return phonenumbers.parse(value, _NORWEGIAN_REGION)
    except phonenumbers.NumberParseException:
        return None


def _norwegian_mobile_digits(number: phonenumbers.PhoneNumber | None) -> str | None:
    """The eight national digits if the parsed number is a valid Norwegian mobile."""
    if number is None or number.country_code != 47 or number.italian_leading_zero:
        return None
    national = str(number.national_number)
    if len(national) != 8 or national[0] not in "49":
        return None
    if not phonenumbers.is_valid_number_for_region(number, _NORWEGIAN_REGION):
        return None
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        return None
    return national


def is_valid_mobile(value: str) -> bool:
    """True only for the stored form ``+47XXXXXXXX`` of a Norwegian mobile number."""
    if not isinstance(value, str) or not _STRICT_MOBILE.fullmatch(value):
        return False
    return _norwegian_mobile_digits(_parse_phone(value)) is not None


def suggest_mobile(value: str) -> str | None:
    """The stored form ``+47XXXXXXXX`` if ``value`` can be read as a Norwegian mobile number.

    Understands national and international writings such as ``912 34 567``, ``91234567``,
    ``0047 912 34 567``, ``+47 912 34 567`` and ``+47-91234567``. Letters are never accepted.
    """
    if not isinstance(value, str):
        return None
    digits = _norwegian_mobile_digits(_parse_phone(value))
    return None if digits is None else "+47" + digits


def normalize_mobile(value: str) -> str:
    """Return ``value`` unchanged if it is exactly ``+47`` and eight digits of a Norwegian
    mobile number; otherwise raise :class:`InvalidIdentifier`.

    When the input can be understood as a Norwegian mobile number, the exception's
    ``suggestion`` carries the stored form for the user to confirm.
    """
    if is_valid_mobile(value):
        return value
    raise _mobile_error(value if isinstance(value, str) else "")


def _mobile_error(value: str) -> InvalidIdentifier:
    if not value.strip():
        return InvalidIdentifier(_MSG_MOBILE_EMPTY)
    if not _PHONE_CHARS.fullmatch(value.strip()):
        return InvalidIdentifier(_MSG_MOBILE_CHARACTERS)
    suggestion = suggest_mobile(value)
    if suggestion is not None:
        return InvalidIdentifier(_MSG_MOBILE_FORM, suggestion=suggestion)
    number = _parse_phone(value)
    if number is not None and phonenumbers.is_valid_number(number):
        if number.country_code == 47:
            # A valid Norwegian number that is not a mobile: landline, service number etc.
            return InvalidIdentifier(_MSG_MOBILE_NOT_MOBILE)
        return InvalidIdentifier(_MSG_MOBILE_FOREIGN)
    compact = re.sub(r"[\s().\-/]", "", value)
    prefixed = _NO_PREFIXED_DIGITS.fullmatch(compact)
    if prefixed is not None and len(prefixed.group(1)) != 8:
        return InvalidIdentifier(_MSG_MOBILE_DIGIT_COUNT)
    if prefixed is not None:
        # Eight digits after +47, but not in a mobile range.
        return InvalidIdentifier(_MSG_MOBILE_NOT_MOBILE)
    if compact.startswith(("+", "00")):
        return InvalidIdentifier(_MSG_MOBILE_FOREIGN)
    return InvalidIdentifier(_MSG_MOBILE_FORM)


def parse_mobile_loose(value: str) -> str | None:
    """Read a mobile number typed into a search box: ``+47XXXXXXXX`` or None.

    More forgiving than :func:`suggest_mobile`: any text around the digits is ignored
    (``tlf. 912 34 567``, ``(+47) 912-34-567``, ``912 34 567 (mobil)``).
    """
    if not isinstance(value, str):
        return None
    direct = suggest_mobile(value)
    if direct is not None:
        return direct
    kept = re.sub(r"[^0-9+]", "", value)
    if not kept:
        return None
    # Keep a plus sign only when it leads the number.
    kept = kept[0] + kept[1:].replace("+", "") if kept[0] == "+" else kept.replace("+", "")
    return suggest_mobile(kept)


def format_mobile(value: str) -> str:
    """Display form ``+47 912 34 567``; an unrecognised value is returned unchanged."""
    normalised = parse_mobile_loose(value)
    if normalised is None:
        return value
    d = normalised[3:]
    return f"+47 {d[:3]} {d[3:5]} {d[5:]}"


def mask_mobile(value: str) -> str:
    """Display form with only the last three digits visible: ``+47 ••• •• 567``.

    An unrecognised value keeps its layout but shows at most its last three digits.
    """
    normalised = parse_mobile_loose(value)
    if normalised is None:
        return _mask_digits(value or "", keep_last=3)
    return f"+47 ••• •• {normalised[-3:]}"


# ---------------------------------------------------------------------------------------------
# Organisation number (organisasjonsnummer)
# ---------------------------------------------------------------------------------------------

_MSG_ORG_EMPTY = lazy_gettext(
    "Organisasjonsnummeret mangler. Skriv de ni sifrene, for eksempel 923 609 016."
)
_MSG_ORG_FORMAT = lazy_gettext(
    "Organisasjonsnummeret skal ha nøyaktig ni sifre, for eksempel 923 609 016."
)
_MSG_ORG_CHECKSUM = lazy_gettext(
    "Organisasjonsnummeret er ikke gyldig: kontrollsifferet stemmer ikke. Sjekk at alle "
    "sifrene er riktige, for eksempel i Enhetsregisteret."
)


def validate_org_number(value: str) -> str:
    """Validate a nine-digit organisation number (MOD11); spaces are allowed.

    Returns the compact nine digits.
    """
    number = _without_whitespace(value)
    if not number:
        raise InvalidIdentifier(_MSG_ORG_EMPTY)
    if not _ascii_digits(number, 9):
        raise InvalidIdentifier(_MSG_ORG_FORMAT)
    try:
        return orgnr.validate(number)
    except ValidationError:
        raise InvalidIdentifier(_MSG_ORG_CHECKSUM) from None


def format_org_number(value: str) -> str:
    """Display form ``123 456 785``; an unrecognised value is returned unchanged."""
    number = _without_whitespace(value)
    if not _ascii_digits(number, 9):
        return value
    return orgnr.format(number)


# ---------------------------------------------------------------------------------------------
# Bank account number (kontonummer)
# ---------------------------------------------------------------------------------------------

_MSG_ACCOUNT_EMPTY = lazy_gettext(
    "Kontonummeret mangler. Skriv de 11 sifrene, for eksempel 1234.56.78903."
)
_MSG_ACCOUNT_FORMAT = lazy_gettext(
    "Kontonummeret skal ha nøyaktig 11 sifre, for eksempel 1234.56.78903. "
    "Punktum og mellomrom er tillatt."
)
_MSG_ACCOUNT_CHECKSUM = lazy_gettext(
    "Kontonummeret er ikke gyldig: kontrollsifferet stemmer ikke. "
    "Sjekk at alle de 11 sifrene er riktige."
)
_MSG_ACCOUNT_BANK = lazy_gettext(
    "Kontonummeret er ikke gyldig: de fire første sifrene kan ikke være 0000."
)


def _compact_account(value: str) -> str:
    return _without_whitespace(value).replace(".", "")


def validate_account_number(value: str) -> str:
    """Validate an 11-digit Norwegian bank account number (MOD11).

    Dots and spaces are allowed (``1234.56.78903``, ``1234 56 78903``). Returns the compact
    11 digits.
    """
    number = _compact_account(value)
    if not number:
        raise InvalidIdentifier(_MSG_ACCOUNT_EMPTY)
    if not _ascii_digits(number, 11):
        raise InvalidIdentifier(_MSG_ACCOUNT_FORMAT)
    if number.startswith("0000"):
        # Bank code 0000 marks the old seven-digit postal giro numbers, not an account.
        raise InvalidIdentifier(_MSG_ACCOUNT_BANK)
    try:
        return kontonr.validate(number)
    except ValidationError:
        raise InvalidIdentifier(_MSG_ACCOUNT_CHECKSUM) from None


def format_account_number(value: str) -> str:
    """Display form ``1234.56.78903``; an unrecognised value is returned unchanged."""
    number = _compact_account(value)
    if not _ascii_digits(number, 11):
        return value
    return f"{number[:4]}.{number[4:6]}.{number[6:]}"


# ---------------------------------------------------------------------------------------------
# KID (customer identification on a payment)
# ---------------------------------------------------------------------------------------------

_KID_MIN_LENGTH = 2
_KID_MAX_LENGTH = 25

_MSG_KID_EMPTY = lazy_gettext(
    "KID-nummeret mangler. Skriv KID-nummeret slik det står på fakturaen."
)
_MSG_KID_FORMAT = lazy_gettext(
    "KID-nummeret skal ha 2 til 25 sifre uten bokstaver. Bare det siste tegnet kan være "
    "en bindestrek (-)."
)
_MSG_KID_CHECKSUM = lazy_gettext(
    "KID-nummeret er ikke gyldig: kontrollsifferet stemmer ikke (verken MOD10 eller MOD11). "
    "Sjekk at alle sifrene er riktige."
)
_MSG_KID_BASE = lazy_gettext(
    "Grunnlaget for KID-nummeret skal ha 1 til 24 sifre uten bokstaver eller mellomrom."
)


def _mod11_check_digit(base: str) -> str:
    # Weights 2, 3, 4, 5, 6, 7 repeating from the rightmost digit.
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(base)))
    check = 11 - total % 11
    if check == 10:
        return "-"
    if check == 11:
        return "0"
    return str(check)


def _check_kid_base(base: str) -> None:
    if not isinstance(base, str) or not re.fullmatch(f"[0-9]{{1,{_KID_MAX_LENGTH - 1}}}", base):
        raise InvalidIdentifier(_MSG_KID_BASE)


def kid_mod10(base: str) -> str:
    """``base`` followed by its MOD10 (Luhn) check digit."""
    _check_kid_base(base)
    return base + luhn.calc_check_digit(base)


def kid_mod11(base: str) -> str:
    """``base`` followed by its MOD11 check digit; ``-`` when the check value is 10."""
    _check_kid_base(base)
    return base + _mod11_check_digit(base)


def validate_kid(value: str) -> str:
    """Validate a KID of 2 to 25 characters whose last character is a MOD10 or MOD11 check digit.

    Spaces are allowed. Returns the compact KID.
    """
    kid = _without_whitespace(value)
    if not kid:
        raise InvalidIdentifier(_MSG_KID_EMPTY)
    if not (_KID_MIN_LENGTH <= len(kid) <= _KID_MAX_LENGTH and re.fullmatch(r"[0-9]+[0-9-]", kid)):
        raise InvalidIdentifier(_MSG_KID_FORMAT)
    base, check = kid[:-1], kid[-1]
    if check != "-" and luhn.is_valid(kid):
        return kid
    if _mod11_check_digit(base) == check:
        return kid
    raise InvalidIdentifier(_MSG_KID_CHECKSUM)


# ---------------------------------------------------------------------------------------------
# Fødselsnummer and D-number
# ---------------------------------------------------------------------------------------------

# Synthetic test identities: the month is raised by a fixed amount so they can never collide
# with a real person. Tenor (Skatteetaten's test data) adds 80, NAV/ID-porten test identities
# (Dolly) add 40.
_SYNTHETIC_MONTH_OFFSETS = (80, 40)

_MSG_NID_EMPTY = lazy_gettext(
    "Fødselsnummeret mangler. Skriv de 11 sifrene: fødselsdato (DDMMÅÅ) og personnummer "
    "(fem sifre)."
)
_MSG_NID_FORMAT = lazy_gettext(
    "Fødselsnummeret skal ha nøyaktig 11 sifre: fødselsdato (DDMMÅÅ) og personnummer (fem sifre)."
)
_MSG_NID_CHECKSUM = lazy_gettext(
    "Fødselsnummeret er ikke gyldig: kontrollsifrene stemmer ikke. "
    "Sjekk at alle de 11 sifrene er riktige."
)
_MSG_NID_DATE = lazy_gettext(
    "Fødselsnummeret er ikke gyldig: de seks første sifrene er ikke en gyldig fødselsdato."
)
_MSG_NID_FUTURE = lazy_gettext("Fødselsnummeret er ikke gyldig: fødselsdatoen ligger fram i tid.")
_MSG_NID_SYNTHETIC = lazy_gettext(
    "Dette er et syntetisk testnummer og kan ikke brukes her. "
    "Skriv et ekte fødselsnummer eller D-nummer."
)
_MSG_NID_FH = lazy_gettext(
    "FH-nummer kan ikke brukes. Skriv fødselsnummeret eller D-nummeret ditt."
)


def _compact_national_id(value: str) -> str:
    return fodselsnummer.compact(_without_whitespace(value))


def _synthetic_offset(number: str) -> int:
    """80 or 40 for a synthetic month, otherwise 0."""
    month = int(number[2:4])
    for offset in _SYNTHETIC_MONTH_OFFSETS:
        if offset + 1 <= month <= offset + 12:
            return offset
    return 0


def _birth_date(number: str) -> datetime.date:
    """Birth date of a compact 11-digit number, for real, D- and synthetic numbers."""
    offset = _synthetic_offset(number)
    if offset:
        number = f"{number[:2]}{int(number[2:4]) - offset:02d}{number[4:]}"
    try:
        # stdnum handles D-numbers (day + 40) and derives the century from the
        # individual number.
        return fodselsnummer.get_birth_date(number)
    except (ValidationError, ValueError):
        raise InvalidIdentifier(_MSG_NID_DATE) from None


def validate_national_id(value: str, *, allow_synthetic: bool = False) -> str:
    """Validate a fødselsnummer or D-number (day + 40): both control digits and a real,
    past birth date.

    With ``allow_synthetic=True`` synthetic test numbers are accepted as well (Tenor: month
    + 80, NAV/ID-porten: month + 40); their control digits must still be valid. Returns the
    compact 11 digits. Error messages never contain the number.
    """
    number = _compact_national_id(value)
    if not number:
        raise InvalidIdentifier(_MSG_NID_EMPTY)
    if not _ascii_digits(number, 11):
        raise InvalidIdentifier(_MSG_NID_FORMAT)
    if number[9] != fodselsnummer.calc_check_digit1(number) or number[
        10
    ] != fodselsnummer.calc_check_digit2(number):
        raise InvalidIdentifier(_MSG_NID_CHECKSUM)
    if int(number[0]) >= 8:
        raise InvalidIdentifier(_MSG_NID_FH)
    if _synthetic_offset(number) and not allow_synthetic:
        raise InvalidIdentifier(_MSG_NID_SYNTHETIC)
    if _birth_date(number) > datetime.date.today():
        raise InvalidIdentifier(_MSG_NID_FUTURE)
    return number


def is_synthetic_national_id(value: str) -> bool:
    """True for a valid synthetic test number (Tenor month + 80 or NAV month + 40)."""
    try:
        number = validate_national_id(value, allow_synthetic=True)
    except (InvalidIdentifier, TypeError):
        return False
    return bool(_synthetic_offset(number))


def national_id_birth_date(value: str) -> datetime.date:
    """Birth date of a valid fødselsnummer, D-number or synthetic test number."""
    return _birth_date(validate_national_id(value, allow_synthetic=True))


def mask_national_id(value: str) -> str:
    """Display form with the birth date part visible and the personal number hidden:
    ``010190 *****``. Anything that is not 11 digits is hidden completely."""
    number = _compact_national_id(value) if isinstance(value, str) else ""
    if not _ascii_digits(number, 11):
        return "****** *****"
    return f"{number[:6]} *****"
