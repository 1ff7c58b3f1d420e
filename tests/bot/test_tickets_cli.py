"""`yiqiban tickets` and `yiqiban db` end to end on a real SQLite file, with time injected by --at."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main


def run(db: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main([*argv, "--db", str(db)], out=out)
    return code, out.getvalue()


def act(db: Path, *argv: str) -> dict[str, Any]:
    code, text = run(db, *argv, "--json")
    assert code == 0, text
    result: dict[str, Any] = json.loads(text)
    return result


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "orders.db"


def file_complaint(db: Path, at: str = "2026-09-30T10:00:00") -> str:
    order = act(
        db, "tickets", "new", "--type", "complaint", "--content", "门口占道经营，影响进出",
        "--petitioner", "web:42", "--phone", "13812345678", "--at", at,
    )  # fmt: skip
    assert order["status"] == "pending"
    return str(order["number"])


def test_lifecycle_deadlines_follow_the_working_day_calendar(db: Path) -> None:
    number = file_complaint(db)
    assert number == "EQ-20260930-0001"
    act(db, "tickets", "accept", number, "--at", "2026-09-30T10:05:00")
    dispatched = act(db, "tickets", "dispatch", number, "--unit", "淮河路街道", "--at", "2026-09-30T11:00:00")
    # 签收 within 24 h; 10-01 is the National Day holiday, so it rolls to 10-08, same time.
    assert dispatched["deadline"].startswith("2026-10-08T11:00")
    acked = act(db, "tickets", "ack", number, "--by", "淮河路街道", "--at", "2026-09-30T15:00:00")
    # 投诉: 10 working days from 签收; the make-up Saturday 10-10 counts, the holiday week does not.
    assert acked["deadline"].startswith("2026-10-20T17:30")
    act(db, "tickets", "extend", number, "--days", "3", "--at", "2026-10-19T09:00:00")
    approved = act(db, "tickets", "approve-extension", number, "--at", "2026-10-19T10:00:00")
    assert approved["deadline"].startswith("2026-10-23T17:30")  # 3 working days after 10-20
    act(db, "tickets", "close", number, "--result", "已清理占道摊位", "--at", "2026-10-21T16:00:00")
    act(db, "tickets", "visit", number, "--at", "2026-10-22T09:00:00")
    reopened = act(db, "tickets", "reopen", number, "--at", "2026-10-22T09:30:00")
    assert reopened["status"] == "in_progress" and reopened["reopen_count"] == 1
    assert reopened["deadline"].startswith("2026-11-05T17:30")  # a fresh 10-working-day clock
    shown = act(db, "tickets", "show", number)
    assert [e["action"] for e in shown["events"]] == [
        "file", "accept", "dispatch", "acknowledge", "apply_extension", "approve_extension",
        "resolve", "start_visit", "rate",
    ]  # fmt: skip


def test_refusal_names_the_order_and_the_rule_and_changes_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = file_complaint(db)
    code, _ = run(db, "tickets", "ack", number)
    err = capsys.readouterr().err
    assert code == 1 and number in err and "not_allowed" in err and "待受理" in err
    assert [e["action"] for e in act(db, "tickets", "show", number)["events"]] == ["file"]
    code, _ = run(db, "tickets", "show", "EQ-20260101-0009")
    assert code == 1 and "找不到工单 EQ-20260101-0009" in capsys.readouterr().err


def test_list_filters_and_numbers_restart_each_day(db: Path) -> None:
    first = file_complaint(db, "2026-11-26T09:00:00")
    second = file_complaint(db, "2026-11-26T23:59:00")
    third = file_complaint(db, "2026-11-27T00:01:00")
    assert (first, second, third) == ("EQ-20261126-0001", "EQ-20261126-0002", "EQ-20261127-0001")
    act(db, "tickets", "accept", second, "--at", "2026-11-27T09:00:00")
    code, text = run(db, "tickets", "list", "--status", "accepted", "--json")
    assert code == 0 and [o["number"] for o in json.loads(text)] == [second]
    code, text = run(db, "tickets", "list")
    assert code == 0 and text.count("EQ-") == 3


def test_db_migrate_and_backup(db: Path, tmp_path: Path) -> None:
    number = file_complaint(db)
    code, text = run(db, "db", "migrate")
    assert code == 0 and "最新" in text
    target = tmp_path / "backup.db"
    code, _ = run(db, "db", "backup", str(target))
    assert code == 0
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT number FROM work_orders").fetchall() == [(number,)]


def test_db_path_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "env.db"
    monkeypatch.setenv("YIQIBAN_DB", str(target))
    out = io.StringIO()
    code = main(["tickets", "new", "--type", "inquiry", "--content", "问一下", "--petitioner", "p1"], out=out)
    assert code == 0 and target.exists()


def test_dispatch_takes_a_catalogue_unit_by_name_or_id(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    number = file_complaint(db)
    act(db, "tickets", "accept", number)
    code, _ = run(db, "tickets", "dispatch", number, "--unit", "不存在的局")
    assert code == 1 and "派单目录中没有承办单位“不存在的局”" in capsys.readouterr().err
    assert act(db, "tickets", "dispatch", number, "--unit", "淮河路街道")["unit"] == "huaiheroad"


def test_confidential_phone_is_shown_only_to_the_handling_unit(db: Path) -> None:
    order = act(
        db, "tickets", "new", "--type", "report", "--content", "某餐馆后厨卫生很差，举报人要求保密",
        "--petitioner", "web:7", "--phone", "13812345678", "--confidential",
    )  # fmt: skip
    number = order["number"]
    assert order["contact_phone"] == "138****5678"
    act(db, "tickets", "accept", number)
    act(db, "tickets", "dispatch", number, "--unit", "amr")
    assert act(db, "tickets", "show", number)["contact_phone"] == "138****5678"
    assert act(db, "tickets", "show", number, "--as-unit", "tax")["contact_phone"] == "138****5678"
    assert act(db, "tickets", "show", number, "--as-unit", "amr")["contact_phone"] == "13812345678"


def test_suggest_names_a_unit_with_a_reason(db: Path) -> None:
    order = act(
        db, "tickets", "new", "--type", "help", "--content", "公司拖欠我们工资三个月了，怎么办",
        "--petitioner", "web:9",
    )  # fmt: skip
    code, text = run(db, "tickets", "suggest", order["number"], "--json")
    suggestions = json.loads(text)
    assert code == 0 and suggestions[0]["unit_id"] == "hrss"
    assert 0 < suggestions[0]["confidence"] <= 1 and suggestions[0]["reason"]
    code, text = run(db, "tickets", "suggest", order["number"])
    assert code == 0 and "建议派给" in text


def test_merge_a_duplicate_into_the_kept_order(db: Path) -> None:
    kept = file_complaint(db)
    duplicate = file_complaint(db)
    merged = act(db, "tickets", "merge", duplicate, "--into", kept)
    assert merged["status"] == "merged" and merged["merged_into"] == kept


def test_report_rates_per_unit_for_a_period(db: Path) -> None:
    number = file_complaint(db, "2026-11-02T09:00:00")
    for argv in (
        ("accept", number, "--at", "2026-11-02T09:10:00"),
        ("dispatch", number, "--unit", "urban", "--at", "2026-11-02T10:00:00"),
        ("ack", number, "--at", "2026-11-02T11:00:00"),
        ("close", number, "--result", "已处理", "--at", "2026-11-05T11:00:00"),
        ("visit", number, "--at", "2026-11-06T09:00:00"),
        ("rate", number, "--rating", "satisfied", "--at", "2026-11-06T09:05:00"),
    ):
        act(db, "tickets", *argv)
    file_complaint(db, "2026-12-01T09:00:00")  # outside the period
    code, text = run(db, "tickets", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--json")
    report = json.loads(text)
    assert code == 0 and report["total"]["counts"]["received"] == 1
    (row,) = report["rows"]
    assert row["unit"] == "urban"
    assert row["rates"] == {
        "response_rate": 1.0, "resolution_rate": 1.0, "satisfaction_rate": 1.0,
        "completion_rate": 1.0, "on_time_rate": 1.0, "urge_rate": 0.0, "reopen_rate": 0.0,
    }  # fmt: skip
    code, text = run(db, "tickets", "report", "--from", "2026-11-01", "--to", "2026-11-30")
    assert code == 0 and "二七区城市管理局" in text and "100.0%" in text


def test_attach_a_photo_and_see_it_on_the_order(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = file_complaint(db)
    photo = tmp_path / "现场照片.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 1000)
    added = act(db, "tickets", "attach", number, str(photo))
    assert added["media_type"] == "image/jpeg" and added["size"] == 1004
    shown = act(db, "tickets", "show", number)
    assert shown["attachments"] == [{"name": "现场照片.jpg", "media_type": "image/jpeg", "size": 1004}]
    script = tmp_path / "run.sh"
    script.write_text("rm -rf /", encoding="utf-8")
    code, _ = run(db, "tickets", "attach", number, str(script))
    assert code == 1 and "run.sh" in capsys.readouterr().err


def test_petitioner_notices_are_queued_with_the_change_they_report(db: Path) -> None:
    number = file_complaint(db)
    act(db, "tickets", "accept", number, "--at", "2026-09-30T10:05:00")
    act(db, "tickets", "dispatch", number, "--unit", "urban", "--at", "2026-09-30T11:00:00")
    act(db, "tickets", "ack", number, "--at", "2026-09-30T15:00:00")  # internal: no notice
    act(db, "tickets", "urge", number, "--at", "2026-10-15T09:00:00")  # internal: no notice
    act(db, "tickets", "extend", number, "--days", "3", "--at", "2026-10-19T09:00:00")
    act(db, "tickets", "approve-extension", number, "--at", "2026-10-19T10:00:00")
    notices = act(db, "tickets", "show", number)["notices"]
    assert [n["kind"] for n in notices] == ["accept", "dispatch", "approve_extension"]
    assert "二七区城市管理局" in notices[1]["text"]  # the unit's name, not its catalogue id
    assert "延期" in notices[2]["text"] and "2026年10月23日 17:30" in notices[2]["text"]


def test_a_refused_action_queues_no_notice(db: Path) -> None:
    number = file_complaint(db)
    code, _ = run(db, "tickets", "close", number, "--result", "已处理")
    assert code == 1
    assert act(db, "tickets", "show", number)["notices"] == []


def test_rejection_tells_the_petitioner_where_to_go_instead(db: Path) -> None:
    number = file_complaint(db)
    act(db, "tickets", "reject", number, "--reason", "litigation")
    (notice,) = act(db, "tickets", "show", number)["notices"]
    assert "不予受理" in notice["text"] and "人民法院" in notice["text"]
