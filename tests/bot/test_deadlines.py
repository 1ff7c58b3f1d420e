"""The bundled deadline configuration, its lookup order and its error messages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from bot.deadlines import ORDER_TYPES, STAGES, URGENCIES, DeadlineConfigError, DeadlinePolicy
from bot.workdays import WorkCalendar

CAL = WorkCalendar()
POLICY = DeadlinePolicy.load()
BUNDLED = Path(__file__).resolve().parents[2] / "bot" / "data" / "deadlines.yaml"

MINIMAL = """\
version: 1
default_profile: p
profiles:
  p:
    title: t
    source: s
    stages:
      resolve: {amount: 3, unit: workdays}
"""


def dt(s: str) -> datetime:
    return datetime.fromisoformat(s)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deadlines.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- bundled data ----------------------------------------------------------------------------------------


def test_bundled_file_loads_with_both_profiles() -> None:
    assert POLICY.config.default_profile == "henan_12345"
    assert set(POLICY.config.profiles) == {"henan_12345", "enterprise_13710"}
    assert DeadlinePolicy.load(BUNDLED).config == POLICY.config


def test_every_bundled_number_cites_its_source() -> None:
    for line in BUNDLED.read_text(encoding="utf-8").splitlines():
        if "amount:" in line:
            assert ("# G3" in line or "# E1" in line) and "verify" in line, line


@pytest.mark.parametrize(
    ("order_type", "days"),
    [("inquiry", 3), ("help", 5), ("suggestion", 5), ("complaint", 10), ("report", 10)],
)
def test_henan_resolve_limits_per_type(order_type: str, days: int) -> None:
    limit = POLICY.limit("resolve", order_type, "hoped")
    assert limit is not None
    assert (limit.amount, limit.unit) == (days, "workdays")


def test_every_type_and_urgency_has_dispatch_acknowledge_and_resolve_in_henan() -> None:
    for order_type in ORDER_TYPES:
        for urgency in URGENCIES:
            for stage in ("dispatch", "acknowledge", "resolve"):
                assert POLICY.limit(stage, order_type, urgency) is not None, (stage, order_type, urgency)


# -- due dates -------------------------------------------------------------------------------------------


def test_inquiry_filed_day_before_long_holiday() -> None:
    # 咨询, 3 wd, 签收 Mon 2025-01-27 (last workday before Spring Festival) → Fri 2025-02-07 close.
    due = POLICY.due("resolve", "inquiry", "hoped", dt("2025-01-27T15:00"), CAL)
    assert due == dt("2025-02-07T17:30")


def test_complaint_before_national_day_counts_make_up_saturday() -> None:
    # 投诉, 10 wd from Tue 2025-09-30: 10-09, 10, 11 (make-up Sat), 13 … 17, 20, 21.
    due = POLICY.due("resolve", "complaint", "worrying", dt("2025-09-30T10:00"), CAL)
    assert due == dt("2025-10-21T17:30")


def test_acknowledge_due_on_holiday_rolls_over() -> None:
    due = POLICY.due("acknowledge", "help", "hard", dt("2025-09-30T11:00"), CAL)
    assert due == dt("2025-10-09T11:00")


def test_urgent_dispatch_and_feedback_are_two_clock_hours_even_on_holidays() -> None:
    start = dt("2025-10-02T23:00")  # National Day
    assert POLICY.due("dispatch", "help", "urgent", start, CAL) == dt("2025-10-03T01:00")
    assert POLICY.due("first_feedback", "complaint", "urgent", start, CAL) == dt("2025-10-03T01:00")


def test_urgency_override_beats_type_and_stage_default() -> None:
    urgent = POLICY.limit("dispatch", "inquiry", "urgent")
    normal = POLICY.limit("dispatch", "inquiry", "hoped")
    assert urgent is not None and normal is not None
    assert (urgent.amount, urgent.unit) == (2, "clock_hours")
    assert (normal.amount, normal.unit) == (24, "clock_hours_rolling")
    # The urgent override does not touch resolve: still the type's 3 wd.
    assert POLICY.limit("resolve", "inquiry", "urgent") == POLICY.limit("resolve", "inquiry", "hoped")


def test_unconfigured_stage_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="first_feedback"):
        POLICY.due("first_feedback", "inquiry", "hoped", dt("2025-03-03T10:00"), CAL)


def test_enterprise_13710_profile() -> None:
    start = dt("2025-03-07T10:00")  # Friday
    due = POLICY.due("dispatch", "help", "hoped", start, CAL, profile="enterprise_13710")
    assert due == dt("2025-03-10T17:30")  # 1 day → Saturday → rolled to Monday
    assert POLICY.due("first_feedback", "help", "hoped", start, CAL, "enterprise_13710") == dt(
        "2025-03-10T17:30"
    )  # 3 days → Monday
    assert POLICY.due("resolve", "help", "hoped", start, CAL, "enterprise_13710") == dt("2025-03-14T17:30")
    assert POLICY.due("resolve", "help", "hard", start, CAL, "enterprise_13710") == dt("2025-04-07T17:30")


def test_13710_resolve_over_spring_festival_rolls_over() -> None:
    # Thu 2025-01-23 + 7 days = Thu 01-30 (holiday) → Wed 02-05.
    due = POLICY.due("resolve", "inquiry", "hoped", dt("2025-01-23T10:00"), CAL, "enterprise_13710")
    assert due == dt("2025-02-05T17:30")


def test_local_extra_holiday_moves_policy_deadline() -> None:
    cal = WorkCalendar(extra_holidays=[date(2025, 2, 7)])
    due = POLICY.due("resolve", "inquiry", "hoped", dt("2025-01-27T15:00"), cal)
    assert due == dt("2025-02-08T17:30")  # make-up Saturday becomes day 3


@pytest.mark.parametrize(
    ("stage", "order_type", "urgency", "word"),
    [
        ("close", "inquiry", "hoped", "stage"),
        ("resolve", "praise", "hoped", "order type"),
        ("resolve", "inquiry", "asap", "urgency"),
    ],
)
def test_unknown_names_are_rejected(stage: str, order_type: str, urgency: str, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        POLICY.limit(stage, order_type, urgency)


def test_unknown_profile_is_rejected() -> None:
    with pytest.raises(ValueError, match="nope"):
        POLICY.profile("nope")


def test_stage_names_match_yaml_fields() -> None:
    assert STAGES == ("dispatch", "acknowledge", "first_feedback", "resolve")


# -- configuration errors ----------------------------------------------------------------------------------


def test_minimal_file_loads(tmp_path: Path) -> None:
    policy = DeadlinePolicy.load(write(tmp_path, MINIMAL))
    assert policy.due("resolve", "report", "hard", dt("2025-03-03T10:00"), CAL) == dt("2025-03-06T17:30")


@pytest.mark.parametrize(
    ("old", "new", "field", "line"),
    [
        ("      resolve: {amount: 3", "      resolv: {amount: 3", "profiles.p.stages.resolv", 8),
        ("unit: workdays", "unit: weeks", "profiles.p.stages.resolve.unit", 8),
        ("amount: 3,", "amount: -3,", "profiles.p.stages.resolve.amount", 8),
        ("amount: 3,", "amount: 2.5,", "profiles.p.stages.resolve", 8),
        ("    source: s\n", "", "profiles.p.source", 5),  # missing: the line where p's body starts
        ("    title: t\n", "    title: t\n    colour: red\n", "profiles.p.colour", 6),
        ("default_profile: p", "default_profile: q", None, None),
        ("version: 1", "version: 2", "version", 1),
    ],
)
def test_config_errors_name_file_field_and_line(
    tmp_path: Path, old: str, new: str, field: str | None, line: int | None
) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(DeadlineConfigError) as info:
        DeadlinePolicy.load(path)
    err = info.value
    assert err.path == str(path)
    assert str(path) in str(err)
    assert err.field == field
    if field:
        assert f"字段 {field}" in str(err)
    if line:
        assert err.line == line


def test_unknown_order_type_key_is_named(tmp_path: Path) -> None:
    text = MINIMAL + "    by_type:\n      inqury:\n        resolve: {amount: 3, unit: workdays}\n"
    with pytest.raises(DeadlineConfigError, match=r"profiles\.p\.by_type\.inqury"):
        DeadlinePolicy.load(write(tmp_path, text))


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nprofiles: [unclosed\n")
    with pytest.raises(DeadlineConfigError, match="YAML") as info:
        DeadlinePolicy.load(path)
    assert info.value.line is not None
    assert str(path) in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(DeadlineConfigError, match=r"missing\.yaml"):
        DeadlinePolicy.load(tmp_path / "missing.yaml")
