"""The terminal chat, driven through stdin and stdout as a user would type."""

from __future__ import annotations

import io

from bot.console import NO_MATCH, ConsoleChat, run_console
from knowledge.loader import load_default
from knowledge.matcher import default_matcher


def chat() -> ConsoleChat:
    return ConsoleChat(load_default(), default_matcher())


def test_a_policy_question_is_answered_with_its_source_or_sample_notice() -> None:
    reply = chat().reply("小规模纳税人增值税有什么减免")
    assert "增值税" in reply
    assert "来源" in reply or "示例数据" in reply


def test_did_you_mean_choices_are_picked_by_number() -> None:
    c = chat()
    reply = c.reply("补贴")
    if "您是不是想问" in reply:
        assert "1." in reply
        picked = c.reply("1")
        assert picked != NO_MATCH and "您是不是想问" not in picked
    else:  # the KB answered outright; numbers then mean nothing special
        assert reply != NO_MATCH


def test_emergency_gets_the_right_number_first() -> None:
    assert "119" in chat().reply("我们仓库着火了！")


def test_unknown_question_offers_the_hotline() -> None:
    assert chat().reply("帮我写一首关于秋天的诗") == NO_MATCH


def test_run_console_reads_until_quit() -> None:
    out = io.StringIO()
    code = run_console(load_default(), io.StringIO("你好\n营业执照怎么办理\n退出\n"), out)
    text = out.getvalue()
    assert code == 0 and "二七帮" in text and "再见" in text
