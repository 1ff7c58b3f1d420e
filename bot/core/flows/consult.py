"""Knowledge-base answers: ANSWER with 有用/没用, CLARIFY with up to three choices, NONE with a way on."""

from __future__ import annotations

from bot.core.flows import HANDOFF_BUTTON, PETITION_BUTTON, Turn
from bot.core.messages import Button, Reply
from bot.core.texts import NO_MATCH
from knowledge.answer import render
from knowledge.types import Grade, Match

MAX_LABEL = 40
STALE = "该按钮已失效。"


def from_match(turn: Turn, m: Match) -> list[Reply]:
    if m.grade is Grade.ANSWER and m.best is not None:
        return answer(turn, m.best.entry_id)
    if m.grade is Grade.CLARIFY and m.hits:
        buttons = tuple(Button(_label(h.title or h.entry_id), f"kb:{h.entry_id}") for h in m.choices(3))
        return [Reply("您是不是想问下面的问题？请点选，或换个说法再问。", buttons)]
    return [Reply(NO_MATCH, (PETITION_BUTTON, HANDOFF_BUTTON))]


def answer(turn: Turn, entry_id: str) -> list[Reply]:
    entry = turn.deps.kb.get(entry_id)
    if entry is None:
        return [Reply(STALE + NO_MATCH, (PETITION_BUTTON, HANDOFF_BUTTON))]
    buttons = (Button("有用", f"fb:{entry_id}:1"), Button("没用", f"fb:{entry_id}:0"))
    return [Reply(render(entry), buttons)]


async def feedback(turn: Turn, entry_id: str, flag: str) -> list[Reply] | None:
    """Store 有用/没用; None if the payload is not a valid one (the engine says it is stale)."""
    if flag not in ("0", "1") or turn.deps.kb.get(entry_id) is None:
        return None
    useful = flag == "1"
    await turn.deps.dialogs.add_feedback(turn.address, entry_id, useful, turn.now)
    if useful:
        return [Reply("感谢您的反馈！")]
    return [
        Reply(
            "感谢反馈，我们会改进这条答案。问题没解决的话，可以提交诉求或转人工。",
            (PETITION_BUTTON, HANDOFF_BUTTON),
        )
    ]


def _label(title: str) -> str:
    return title if len(title) <= MAX_LABEL else title[: MAX_LABEL - 1] + "…"
