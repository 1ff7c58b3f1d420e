"""统一社会信用代码 check digit (GB 32100-2015)."""

from __future__ import annotations

import random

import pytest

from intents.credit_code import (
    CHARSET,
    credit_code_check_char,
    is_valid_credit_code,
    looks_like_credit_code,
)

# Codes published on business licences / the national credit portal; their check characters were
# computed independently of this implementation.
PUBLISHED = [
    "91350100M000100Y43",  # the example commonly cited for the standard
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司 (check character is a digit)
]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert is_valid_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED)
def test_any_single_substitution_is_detected(code: str) -> None:
    # Mod 31 with weights coprime to 31 catches every single-character error.
    for i in range(18):
        for c in CHARSET:
            if c != code[i]:
                flipped = code[:i] + c + code[i + 1 :]
                assert not is_valid_credit_code(flipped), flipped


def test_generated_codes_round_trip() -> None:
    rng = random.Random(20261126)
    for _ in range(200):
        body = "91" + "410103" + "".join(rng.choice(CHARSET) for _ in range(9))
        code = body + credit_code_check_char(body)
        assert is_valid_credit_code(code)
        assert is_valid_credit_code(code.lower())  # users type lower case


def test_check_char_can_be_zero() -> None:
    # A sum that is already a multiple of 31 gives 31 - 0 = 31, which must wrap to "0".
    body = "0" * 17
    assert credit_code_check_char(body) == "0"
    assert is_valid_credit_code("0" * 18)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100M000100Y4I",  # I is not in the alphabet
        "91350100MO00100Y43",  # O is not in the alphabet
        "91350100M000100Y43 ",  # trailing space is not silently accepted
        "",
    ],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize("body", ["9135010", "91350100M000100Y4Z", "91350100M000100S4"])
def test_check_char_rejects_impossible_prefixes(body: str) -> None:
    with pytest.raises(ValueError):
        credit_code_check_char(body)


def test_looks_like_credit_code_tells_codes_from_other_tokens() -> None:
    assert looks_like_credit_code("91350100M000100Y44")  # wrong check character, right shape
    assert not looks_like_credit_code("ABCDEFGHJKLMNPQRTU")  # no division code
    assert not looks_like_credit_code("91350100M000100Y4")
