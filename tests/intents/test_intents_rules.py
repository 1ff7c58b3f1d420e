"""The rules file: loading, validation errors that name the file/rule/field, and matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.model import Intent
from intents.rules import RuleFileError, default_rules, load_rules, normalize_text, parse_rules

HEADER = """\
version: 1
strong_weight: 0.7
negation:
  window: 4
  negators: [不是, 不想, 没有, 没, 不]
  fillers: [要, 是, 人]
rules:
"""

GOOD_RULE = """\
  - id: complaint_explicit
    intent: petition
    petition_type: complaint
    weight: 0.85
    priority: 60
    patterns: ["(?:要|想)投诉"]
"""


def write_rules(tmp_path: Path, rules: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(HEADER + rules, encoding="utf-8")
    return path


def test_bundled_rules_load() -> None:
    rules = default_rules()
    assert rules.source == "intents/data/rules.yaml"
    assert len(rules.rules) > 20
    assert {r.spec.intent for r in rules.rules} >= set(Intent) - {Intent.UNKNOWN}


def test_a_small_valid_file(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, GOOD_RULE))
    hits = rules.fire(normalize_text("我要投诉"))
    assert [h.rule.spec.id for h in hits] == ["complaint_explicit"]
    assert rules.is_strong(hits[0])


@pytest.mark.parametrize(
    ("rule", "field", "fragment"),
    [
        (GOOD_RULE.replace("0.85", "1.5"), "weight", "less than or equal to 1"),
        (GOOD_RULE.replace("intent: petition", "intent: petitoin"), "intent", "petitoin"),
        (GOOD_RULE.replace('["(?:要|想)投诉"]', '["(要|想投诉"]'), "patterns", "does not compile"),
        (GOOD_RULE.replace('["(?:要|想)投诉"]', '["(?:要|想)投诉，"]'), "patterns", "NFKC"),
        (GOOD_RULE + "    keyword: [投诉]\n", "keyword", "Extra inputs are not permitted"),
        (GOOD_RULE.replace("    priority: 60\n", ""), "priority", "Field required"),
        (GOOD_RULE.replace("petition_type: complaint", "petition_type: praise"), "petition_type", "praise"),
        (GOOD_RULE.replace("intent: petition", "intent: greeting"), "petition_type", "only petition"),
        (
            GOOD_RULE.replace('    patterns: ["(?:要|想)投诉"]\n', ""),
            "keywords",
            "at least one of `keywords` or `patterns`",
        ),
        (GOOD_RULE + "    requires: [[]]\n", "requires", "at least one keyword"),
    ],
)
def test_broken_rule_names_file_rule_and_field(tmp_path: Path, rule: str, field: str, fragment: str) -> None:
    path = write_rules(tmp_path, rule)
    with pytest.raises(RuleFileError) as info:
        load_rules(path)
    message = str(info.value)
    assert str(path) in message
    assert "'complaint_explicit'" in message
    assert f"field {field!r}" in message
    assert fragment in message
    assert (info.value.rule, info.value.field) == ("complaint_explicit", field)


def test_out_of_scope_rule_needs_a_reason_and_an_emergency_number(tmp_path: Path) -> None:
    fire = """\
  - id: emergency_fire
    intent: out_of_scope
    out_of_scope_reason: emergency
    weight: 1.0
    priority: 100
    keywords: [着火]
"""
    with pytest.raises(RuleFileError, match=r"rule 'emergency_fire', field 'emergency_number'"):
        load_rules(write_rules(tmp_path, fire))
    no_reason = fire.replace("    out_of_scope_reason: emergency\n", "")
    with pytest.raises(RuleFileError, match=r"rule 'emergency_fire', field 'out_of_scope_reason'"):
        load_rules(write_rules(tmp_path, no_reason))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match=r"rule 'complaint_explicit', field 'id': duplicate"):
        load_rules(write_rules(tmp_path, GOOD_RULE + GOOD_RULE))


def test_rule_without_id_is_named_by_position(tmp_path: Path) -> None:
    second = GOOD_RULE.replace("  - id: complaint_explicit\n    intent", "  - intent")
    with pytest.raises(RuleFileError, match=r"rule '#2', field 'id': Field required"):
        load_rules(write_rules(tmp_path, GOOD_RULE + second))


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("rules: [\n  - id: x\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"broken\.yaml: not valid YAML"):
        load_rules(path)


def test_bad_header_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(HEADER.replace("strong_weight: 0.7", "strong_weight: high") + GOOD_RULE, "utf-8")
    with pytest.raises(RuleFileError, match=r"rules\.yaml: field 'strong_weight'"):
        load_rules(path)


def test_missing_file_is_a_rule_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot be read"):
        load_rules(tmp_path / "nope.yaml")


def test_parse_rules_refuses_a_list() -> None:
    with pytest.raises(RuleFileError, match=r"memory\.yaml: expected a mapping"):
        parse_rules("- 1\n- 2\n", "memory.yaml")


# ---- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ＥＱ－２０２６", "eq-2026"),
        ("转人工！！", "转人工!!"),
        ("  你好 \t 在吗 ", "你好 在吗"),
        ("1+1+N", "1+1+n"),
    ],
)
def test_normalize_text(raw: str, normalized: str) -> None:
    assert normalize_text(raw) == normalized


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("我要投诉", True),
        ("我不是要投诉", False),  # negator + filler right before
        ("我不想投诉了", False),
        ("不想投诉，但是还是要投诉", True),  # a second, plain occurrence still counts
        ("投诉？不，我要投诉", True),  # the negator is in another clause
    ],
)
def test_negation(tmp_path: Path, text: str, fires: bool) -> None:
    rules = load_rules(write_rules(tmp_path, GOOD_RULE))
    assert bool(rules.fire(normalize_text(text))) is fires


def test_requires_and_excludes(tmp_path: Path) -> None:
    rule = """\
  - id: help_plea
    intent: petition
    petition_type: help
    weight: 0.8
    priority: 60
    keywords: [求助]
    requires: [[停电, 停水]]
    excludes: [演练]
"""
    rules = load_rules(write_rules(tmp_path, rule))
    assert rules.fire("求助,厂里停电了")
    assert not rules.fire("求助一下")  # no problem stated
    assert not rules.fire("求助演练,模拟停电")


def test_hits_are_ordered_by_priority_then_weight() -> None:
    hits = default_rules().fire(normalize_text("仓库着火了，我要投诉物业，转人工"))
    ids = [h.rule.spec.id for h in hits]
    assert ids[0] == "emergency_fire"
    assert ids.index("talk_to_human") < ids.index("complaint_explicit")
    priorities = [h.rule.spec.priority for h in hits]
    assert priorities == sorted(priorities, reverse=True)
