"""统一社会信用代码 (unified social credit code) validation, GB 32100-2015.

An enterprise is keyed by this code, so a typo must be caught before it reaches a work order or
the enterprise store: the 18th character is a check character over the first 17, and the
alphabet leaves out I, O, Z, S and V because they are easily confused with digits.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

_VALUE = {c: i for i, c in enumerate(CHARSET)}
_MODULUS = len(CHARSET)  # 31


def credit_code_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a code.

    Raises ValueError when `first17` is not 17 characters from the code alphabet, because a
    check character for an impossible prefix would only hide the mistake.
    """
    body = first17.upper()
    if len(body) != LENGTH - 1:
        raise ValueError(f"expected {LENGTH - 1} characters, got {len(body)}")
    bad = [c for c in body if c not in _VALUE]
    if bad:
        raise ValueError(f"characters not allowed in a credit code: {''.join(bad)!r}")
    total = sum(_VALUE[c] * w for c, w in zip(body, WEIGHTS, strict=True))
    return CHARSET[(_MODULUS - total % _MODULUS) % _MODULUS]


def is_valid_credit_code(s: str) -> bool:
    """True when `s` is 18 characters from the alphabet and its check character is right.

    Lower case is accepted (users type it that way); surrounding whitespace is not stripped
    here so that callers decide what counts as the code.
    """
    code = s.upper()
    if len(code) != LENGTH or any(c not in _VALUE for c in code):
        return False
    return credit_code_check_char(code[:-1]) == code[-1]


def looks_like_credit_code(s: str) -> bool:
    """True when `s` has the shape of a credit code, whether or not the check character fits.

    Used to tell "a mistyped credit code" (worth a polite correction) from any other 18-character
    token: the first character is a registration authority, the third to eighth are the
    administrative-division code.
    """
    code = s.upper()
    return (
        len(code) == LENGTH
        and all(c in _VALUE for c in code)
        and code[0] in "123456789ANY"
        and code[2:8].isdigit()
    )
