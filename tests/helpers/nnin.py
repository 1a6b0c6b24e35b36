"""The one generator of synthetic Norwegian national identity numbers for tests."""
from __future__ import annotations

from stdnum.no import fodselsnummer


def synthetic_nnin(ddmmyy: str = "159086", individual: int = 950) -> str:
    """An 11-digit number with valid control digits (the default is a Tenor test number: month + 80),
    from the first usable individual number at or after ``individual``."""
    for ind in range(individual, individual + 100):
        base = f"{ddmmyy}{ind:03d}"
        k1 = fodselsnummer.calc_check_digit1(base)
        k2 = fodselsnummer.calc_check_digit2(base + k1)
        if len(k1) == 1 and len(k2) == 1:
            return base + k1 + k2
    raise AssertionError("no valid number")
