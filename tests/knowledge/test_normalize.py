"""Normalisation folds width, case, punctuation and script; segmentation keeps domain terms whole."""

from __future__ import annotations

import pytest

from knowledge.lexicon import Lexicon, syllable
from knowledge.loader import load_default
from knowledge.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits
        ("营业执照怎么办？？！", "营业执照怎么办"),  # full-width punctuation
        ("  社保，稳岗…返还  ", "社保 稳岗 返还"),
        ("營業執照與稅務登記", "营业执照与税务登记"),  # traditional → simplified
        ("請問跨省通辦怎麼辦理", "请问跨省通办怎么办理"),
        ("EQ-20261126-0007", "eq 20261126 0007"),
        ("😀小微企业😀", "小微企业"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_default().lexicon


@pytest.mark.parametrize(
    "term",
    ["容缺受理", "告知承诺", "跨省通办", "免证可办", "政企码", "统一社会信用代码", "营业执照", "项目管家"],
)
def test_domain_terms_stay_whole(lexicon: Lexicon, term: str) -> None:
    assert term in lexicon.segment(normalize(f"请问{term}怎么弄"))


@pytest.mark.parametrize(("colloquial", "canonical"), [("执照", "营业执照"), ("社保", "社会保险")])
def test_synonyms_map_colloquial_words_to_terms(lexicon: Lexicon, colloquial: str, canonical: str) -> None:
    assert canonical in lexicon.terms(normalize(f"{colloquial}怎么办"))
    assert colloquial not in lexicon.terms(normalize(f"{colloquial}怎么办"))


def test_stop_words_are_dropped_but_never_everything(lexicon: Lexicon) -> None:
    assert "请问" not in lexicon.terms("请问营业执照怎么办")
    assert lexicon.terms("你好") == ["你好"]


def test_pinyin_makes_homophone_typos_meet() -> None:
    assert syllable("宝") == syllable("保") == "bao"
    assert syllable("a") == "a"
