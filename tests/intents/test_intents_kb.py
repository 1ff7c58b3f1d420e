"""Rules combined with the knowledge base.

The first half uses the real bundled knowledge base (`knowledge.matcher.default_matcher()`): the
behaviour users see. The second half pins down each branch of the combination with
`FixedMatcher`, a small real `KnowledgeMatcher` that always returns one given `Match`, because
the bundled KB cannot be made to return a chosen grade and hit kind on demand.
"""

from __future__ import annotations

import pytest

from intents import Intent, KnowledgeMatcher, OutOfScopeReason, PetitionType, classify
from knowledge.matcher import default_matcher
from knowledge.types import Grade, Hit, Match

# ---- the real knowledge base ---------------------------------------------------------------


def real() -> KnowledgeMatcher:
    return default_matcher()


@pytest.mark.parametrize(
    "text", ["投诉一般几天办结", "投诉几天有结果", "12345多久回复", "举报一般多久有回复"]
)
def test_questions_about_complaints_are_answered_not_filed(text: str) -> None:
    result = classify(text, real())
    assert result.intent is Intent.CONSULT_POLICY, result.reason
    assert result.match is not None
    assert result.match.grade is not Grade.NONE
    assert result.reason.startswith("kb ")


@pytest.mark.parametrize("text", ["社保补贴怎么领", "高新技术企业有什么优惠", "小微企业贷款贴息"])
def test_policy_questions(text: str) -> None:
    result = classify(text, real())
    assert result.intent is Intent.CONSULT_POLICY, result.reason
    assert result.match is not None and result.match.best is not None
    assert result.match.best.kind in {"policy", "faq"}  # a policy, or the overview FAQ of its category
    assert result.confidence == result.match.best.score


@pytest.mark.parametrize("text", ["个体户怎么注册", "个体工商户营业执照在哪办", "公司注销需要什么材料"])
def test_service_questions(text: str) -> None:
    result = classify(text, real())
    assert result.intent is Intent.SERVICE_GUIDE, result.reason
    assert result.match is not None and result.match.grade is not Grade.NONE


@pytest.mark.parametrize(
    ("text", "petition_type"),
    [
        ("我们公司门口停电三天了", PetitionType.HELP),
        ("隔壁工地半夜施工太吵了", PetitionType.COMPLAINT),
        ("我想咨询一下我们厂房的租金补贴能不能申请", PetitionType.INQUIRY),
    ],
)
def test_weak_petition_when_the_kb_has_nothing(text: str, petition_type: PetitionType) -> None:
    result = classify(text, real())
    assert (result.intent, result.petition_type) == (Intent.PETITION, petition_type), result.reason
    assert result.match is not None and result.match.grade is Grade.NONE


@pytest.mark.parametrize("text", ["今天天气怎么样", "帮我订个外卖"])
def test_unknown_when_nothing_fits(text: str) -> None:
    result = classify(text, real())
    assert result.intent is Intent.UNKNOWN, result.reason
    assert result.match is not None and result.match.grade is Grade.NONE


def test_emergency_is_decided_before_the_kb() -> None:
    result = classify("仓库着火了，投诉一般几天办结", real())
    assert (result.intent, result.emergency_number) == (Intent.OUT_OF_SCOPE, "119")
    assert result.match is None


# ---- each branch, with a fixed match ---------------------------------------------------------


class FixedMatcher:
    """A `KnowledgeMatcher` that always answers with one `Match` and counts its calls."""

    def __init__(self, match: Match) -> None:
        self.fixed = match
        self.calls: list[str] = []

    def match(self, text: str) -> Match:
        self.calls.append(text)
        return self.fixed


def graded(grade: Grade, kind: str = "", score: float = 0.9) -> FixedMatcher:
    hits = () if grade is Grade.NONE else (Hit("entry-1", score, "标题", kind),)
    return FixedMatcher(Match(grade, hits, "q"))


@pytest.mark.parametrize(
    ("kind", "text", "intent"),
    [
        ("policy", "这个政策怎么申请", Intent.CONSULT_POLICY),  # a policy hit stays a policy answer
        ("service_item", "食品经营许可", Intent.SERVICE_GUIDE),
        ("faq", "多久能拿到钱", Intent.CONSULT_POLICY),
        ("faq", "需要什么材料", Intent.SERVICE_GUIDE),  # a FAQ hit, but the user asks a procedure
        ("", "在哪办", Intent.SERVICE_GUIDE),
        ("", "补贴标准是多少", Intent.CONSULT_POLICY),
    ],
)
@pytest.mark.parametrize("grade", [Grade.ANSWER, Grade.CLARIFY])
def test_kb_grade_and_hit_kind_decide(grade: Grade, kind: str, text: str, intent: Intent) -> None:
    matcher = graded(grade, kind, score=0.66)
    result = classify(text, matcher)
    assert result.intent is intent, result.reason
    assert result.match is matcher.fixed
    assert result.confidence == 0.66
    assert result.reason.startswith(f"kb {grade.value} entry-1")
    assert matcher.calls == [text]


def test_strong_rule_does_not_ask_the_kb() -> None:
    matcher = graded(Grade.ANSWER, "faq")
    result = classify("我要投诉物业乱收费", matcher)
    assert (result.intent, result.petition_type) == (Intent.PETITION, PetitionType.COMPLAINT)
    assert matcher.calls == []
    assert result.match is None


def test_kb_answer_beats_a_weak_petition_cue() -> None:
    result = classify("我想咨询一下稳岗返还", graded(Grade.ANSWER, "policy"))
    assert result.intent is Intent.CONSULT_POLICY


def test_kb_none_falls_back_to_a_weak_petition() -> None:
    result = classify("路灯不亮好几天了", graded(Grade.NONE))
    assert (result.intent, result.petition_type) == (Intent.PETITION, PetitionType.HELP)
    assert result.match is not None and result.match.grade is Grade.NONE
    assert "kb none" in result.reason


def test_kb_none_ignores_topic_cues() -> None:
    # Without a matcher "政策" would give consult_policy; the KB said nothing fits, so: unknown.
    assert classify("有什么政策").intent is Intent.CONSULT_POLICY
    result = classify("有什么政策", graded(Grade.NONE))
    assert result.intent is Intent.UNKNOWN


def test_kb_none_with_a_weak_order_number() -> None:
    result = classify("EQ-20261126-0007 这个是什么意思", graded(Grade.NONE))
    assert result.intent is Intent.MY_ORDERS


def test_out_of_scope_reasons_are_not_sent_to_the_kb() -> None:
    matcher = graded(Grade.ANSWER, "faq")
    assert classify("我要去法院起诉", matcher).out_of_scope_reason is OutOfScopeReason.LITIGATION
    assert classify("我要上访", matcher).out_of_scope_reason is OutOfScopeReason.XINFANG
    assert matcher.calls == []


def test_empty_message_does_not_ask_the_kb() -> None:
    matcher = graded(Grade.ANSWER, "faq")
    assert classify("  ", matcher).intent is Intent.UNKNOWN
    assert matcher.calls == []
