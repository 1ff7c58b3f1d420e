"""The leaders' weekly summary text, and `yiqiban tickets report` with the report options."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from bot.cli import main
from bot.indicators import default_config
from bot.reports.weekly import build_weekly, last_week, overdue_count, worst_units
from knowledge.lexicon import Lexicon

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 9, 9, 0, tzinfo=CST)  # Monday after the seeded week


def test_weekly_summary_names_rates_worst_units_overdue_and_the_hotspot(seeded: Any) -> None:
    assert last_week(NOW) == (datetime(2026, 3, 2, tzinfo=CST), NOW.replace(hour=0))
    names = {"urban": "二七区城市管理局", "huaiheroad": "淮河路街道"}
    text = build_weekly(
        seeded.orders, seeded.events, now=NOW, config=default_config(), lexicon=Lexicon.load(), names=names
    )
    lines = text.splitlines()
    assert lines[0] == "【12345 工单周报】2026-03-02 至 2026-03-08"
    assert lines[1] == "全区受理 4 件：响应率 100.0%，解决率 50.0%，满意率 50.0%"
    # Neither unit has 3 orders in the week except 城市管理局 (3): it alone is ranked.
    assert lines[2:4] == [
        "三率较低的单位：",
        "  1. 二七区城市管理局：响应率 100.0%，解决率 100.0%，满意率 100.0%",
    ]
    overdue = overdue_count(seeded.orders, datetime(2026, 6, 1, tzinfo=CST))
    assert overdue == 2  # the reopened order and the one still in progress, long past their deadlines
    assert "当前没有超期未办结的工单" in text  # on 3-09 nothing is late yet
    assert lines[-1].startswith("本周热点：") and "路灯" in lines[-1] and "（3 件，涉及 " in lines[-1]


def test_worst_units_skip_units_with_too_few_orders(seeded: Any) -> None:
    from bot.indicators import compute

    report = compute(seeded.orders, seeded.events, period=last_week(NOW), config=default_config())
    assert [r.unit for r in worst_units(report, min_orders=1)] == ["huaiheroad", "urban"]
    assert [r.unit for r in worst_units(report)] == ["urban"]


def run(db: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(
        ["tickets", "report", "--db", str(db), "--from", "2026-03-01", "--to", "2026-03-31", *argv], out=out
    )
    return code, out.getvalue()


def test_cli_report_with_trend_svg_satisfaction_hotspots_and_exports(seeded: Any, tmp_path: Path) -> None:
    svg, xlsx, csv_path = tmp_path / "趋势.svg", tmp_path / "out" / "工单.xlsx", tmp_path / "工单.csv"
    code, text = run(
        seeded.db, "--trend", "month", "--periods", "3", "--svg", str(svg), "--satisfaction",
        "--hotspots", "2", "--export", "xlsx", "--out", str(xlsx),
    )  # fmt: skip
    assert code == 0, text
    assert "工单指标 2026-03-01 至 2026-03-31" in text and "二七区城市管理局" in text
    assert "全区合计指标趋势（按月）" in text and "2026年1月" in text and "2026年3月" in text
    assert "好差评分布" in text and "未评价" in text
    assert "每月一题" in text and "路灯" in text
    assert "已导出 4 件工单" in text  # the April order is outside the period
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and "满意率" in "".join(root.itertext())
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["工单", "指标"] and wb["工单"].max_row == 5
    code, _ = run(seeded.db, "--export", "csv", "--out", str(csv_path), "--show-phones")
    rows = list(csv.DictReader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"), newline="")))
    assert code == 0 and {r["联系电话"] for r in rows} == {"13812345678", "保密"}


def test_cli_report_json_carries_the_extra_sections(seeded: Any) -> None:
    code, text = run(
        seeded.db, "--json", "--trend", "week", "--periods", "2", "--satisfaction", "--hotspots", "1"
    )
    doc = json.loads(text)
    assert code == 0 and doc["total"]["counts"]["received"] == 4
    assert doc["trend"]["labels"] == ["3月23日–3月29日", "3月30日–4月5日"]
    assert doc["trend"]["series"]["satisfaction_rate"][-1] is None  # the last week of March: no orders
    assert doc["satisfaction"]["total"] == {
        "非常满意": 0, "满意": 1, "基本满意": 0, "不满意": 0, "非常不满意": 1, "未评价": 1,
    }  # fmt: skip
    assert doc["hotspots"][0]["count"] == 3 and "路灯" in doc["hotspots"][0]["label"]


def test_cli_report_refuses_incomplete_options(seeded: Any, capsys: Any) -> None:
    code, _ = run(seeded.db, "--svg", "x.svg")
    assert code == 1 and "--trend" in capsys.readouterr().err
    code, _ = run(seeded.db, "--export", "csv")
    assert code == 1 and "--out" in capsys.readouterr().err
