"""Question matching on the bundled knowledge base, with the asked phrasings held out of the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.calibrate import collect_cases, fit, held_out_pairs, outcome
from knowledge.lexicon import DATA_DIR
from knowledge.loader import KnowledgeBase, load_default
from knowledge.matcher import Matcher, Thresholds, grade
from knowledge.types import Grade, Hit


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_default()


@pytest.fixture(scope="module")
def held_out(kb: KnowledgeBase) -> tuple[Matcher, set[tuple[str, str]]]:
    hold = held_out_pairs(kb)
    return Matcher.from_kb(kb, hold_out=hold), hold


def test_held_out_paraphrases_find_their_entry(held_out: tuple[Matcher, set[tuple[str, str]]]) -> None:
    matcher, hold = held_out
    assert len(hold) >= 80
    assert not any(d.text == text for eid, text in hold for d in matcher.docs if d.entry_id == eid)
    top1 = top3 = 0
    for eid, text in hold:
        ids = [h.entry_id for h in matcher.search(text, 3)]
        top1 += ids[:1] == [eid]
        top3 += eid in ids
    assert top1 / len(hold) >= 0.8, top1 / len(hold)
    assert top3 / len(hold) >= 0.93, top3 / len(hold)


def test_grades_on_held_out_and_unanswerable_questions(kb: KnowledgeBase) -> None:
    o = outcome(collect_cases(kb, DATA_DIR / "calibration"), Thresholds.load(DATA_DIR / "thresholds.yaml"))
    facts = o.as_dict()
    assert facts["answer_precision"] >= 0.9, facts
    # Regression floors a little under the fitted values recorded in thresholds.yaml.
    assert facts["answer_coverage"] >= 0.7, facts
    assert facts["answer_or_clarify_with_gold"] >= 0.8, facts
    assert facts["negatives_graded_none"] >= 0.78, facts


def test_bundled_thresholds_are_the_fitted_ones(kb: KnowledgeBase) -> None:
    """Changing the KB or the matcher means re-running `yiqiban kb calibrate --write`."""
    bundled = Thresholds.load(DATA_DIR / "thresholds.yaml")
    fresh = fit(collect_cases(kb, DATA_DIR / "calibration"))
    assert (bundled.answer, bundled.margin, bundled.clarify) == (fresh.answer, fresh.margin, fresh.clarify)


@pytest.mark.parametrize(
    "question",
    ["營業執照遺失了怎麼補辦", "营业只照丢了怎么补", "营业执照丢了！！怎么补？？", "执照丢了咋补"],
)
def test_typos_width_and_traditional_script_still_match(question: str) -> None:
    from knowledge.matcher import default_matcher

    m = default_matcher().match(question)
    assert m.grade is not Grade.NONE
    assert "item-startup-license-reissue" in [h.entry_id for h in m.choices()]


def test_unrelated_chatter_is_graded_none() -> None:
    from knowledge.matcher import default_matcher

    for text in ("今天中午吃什么好呢", "帮我写一首关于秋天的诗", "NBA总决赛谁赢了"):
        m = default_matcher().match(text)
        assert m.grade is Grade.NONE and m.hits == (), text


def hits(*scores: float) -> list[Hit]:
    return [Hit(f"e{i}", s) for i, s in enumerate(scores)]


def test_grade_rules() -> None:
    t = Thresholds(answer=0.6, margin=0.05, clarify=0.4, choice_floor=0.3)
    assert grade([], t) is Grade.NONE
    assert grade(hits(0.39), t) is Grade.NONE
    assert grade(hits(0.45, 0.2), t) is Grade.CLARIFY
    assert grade(hits(0.7, 0.2), t) is Grade.ANSWER
    assert grade(hits(0.7, 0.68), t) is Grade.CLARIFY  # too close to the runner-up to be sure


def test_clarify_offers_at_most_three_choices_above_the_floor(kb: KnowledgeBase) -> None:
    t = Thresholds(answer=0.99, margin=0.0, clarify=0.0, choice_floor=0.0)
    m = Matcher.from_kb(kb, thresholds=t).match("补贴")
    assert m.grade is Grade.CLARIFY and 1 <= len(m.choices()) <= 3


def test_pairs_matcher_returns_one_hit_per_entry() -> None:
    m = Matcher.from_pairs([("a", "营业执照怎么办"), ("a", "执照在哪办"), ("b", "社保怎么交")])
    found = m.search("执照怎么办", 5)
    assert found[0].entry_id == "a"
    assert len({h.entry_id for h in found}) == len(found)
    assert all(0.0 <= h.score <= 1.0 for h in found)


def test_thresholds_file_errors_name_the_field(tmp_path: Path) -> None:
    from knowledge.errors import KnowledgeError

    path = tmp_path / "thresholds.yaml"
    path.write_text("answer: 1.5\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="answer"):
        Thresholds.load(path)


def test_one_character_is_never_answered_outright() -> None:
    from knowledge.matcher import default_matcher

    m = default_matcher().match("税")
    assert m.grade is not Grade.ANSWER
    if m.grade is Grade.CLARIFY:
        assert 1 <= len(m.choices()) <= 3


def test_a_pasted_essay_is_matched_on_its_beginning() -> None:
    from knowledge.matcher import MAX_QUERY_CHARS, default_matcher

    essay = "营业执照丢了怎么补办？" + "社保断缴了又该怎么补交，" * 500
    m = default_matcher()
    assert m.search(essay, 3) == m.search(essay[:MAX_QUERY_CHARS], 3)
    assert m.search(essay, 3) != m.search(essay[: MAX_QUERY_CHARS // 4], 3)
