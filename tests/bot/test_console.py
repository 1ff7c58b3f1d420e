"""The terminal chat: the engine behind stdin/stdout, buttons pressed by number."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.texts import WELCOME


def chat(tmp_path: Path, lines: str) -> str:
    out = io.StringIO()
    import sys

    stdin, sys.stdin = sys.stdin, io.StringIO(lines)
    try:
        assert main(["chat", "--db", str(tmp_path / "c.db")], out=out) == 0
    finally:
        sys.stdin = stdin
    return out.getvalue()


def test_a_policy_question_is_answered_with_its_source_or_sample_notice(tmp_path: Path) -> None:
    text = chat(tmp_path, "小规模纳税人增值税有什么减免\n退出\n")
    assert text.startswith(WELCOME) and "增值税" in text
    assert "来源" in text or "示例数据" in text
    assert "再见" in text


def test_buttons_are_numbered_and_pressed_by_number(tmp_path: Path) -> None:
    text = chat(tmp_path, "我要投诉，我们公司门口被占道，电话13812345678\n跳过\n跳过\n2\n1\n退出\n")
    assert "[1]" in text and "[2]" in text
    assert "EQ-" in text  # the petition was filed through the numbered buttons


def test_emergency_gets_the_right_number_first(tmp_path: Path) -> None:
    assert "119" in chat(tmp_path, "我们仓库着火了！\n")


@pytest.mark.parametrize("line", ["", "   ", "😀😀😀"])
def test_empty_input_gets_a_prompt_not_a_crash(tmp_path: Path, line: str) -> None:
    text = chat(tmp_path, f"{line}\n退出\n")
    assert "再见" in text
