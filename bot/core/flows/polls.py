"""Satisfaction polls in chat: answering by buttons, the optional comment, 退订 and 订阅问卷.

A poll arrives as a scheduled push (bot.schedule.polls) with the first question's buttons. Each
button carries the whole answer (`poll:<poll>:<period>:<question>:<value>`), so answering needs
no dialog state; the reply is the next question, or thanks after the last. Only the optional
comment question uses the dialog (the next text message is the comment), and only when the chat
is idle, so a petition being filled in is never taken over by a poll.

A button is honoured only if the round was delivered to this very person and is still open;
anything else (forged, mistyped, too late) returns None and the engine answers as for any stale
button. Answering again replaces the earlier answer: the last answer counts.
"""

from __future__ import annotations

from bot.core.dialogs import IDLE
from bot.core.flows import Turn
from bot.core.messages import Button, Reply
from bot.schedule.poll_store import PollStore
from bot.schedule.polls import MAX_COMMENT, Poll, closes_at, default_polls, parse_period, prompt
from bot.schedule.store import ScheduleStore

STATE = "poll_comment"
UNSUBSCRIBE_WORDS = frozenset({"退订", "退订问卷", "/unsubscribe", "unsubscribe"})
SUBSCRIBE_WORDS = frozenset({"订阅问卷", "/subscribe", "subscribe"})
UNSUBSCRIBED = (
    "已为您退订满意度问卷，今后不再向您推送问卷；工单办理通知和回访不受影响。\n如需恢复，请发送“订阅问卷”。"
)
SUBSCRIBED = "已为您恢复订阅满意度问卷，感谢您的支持！如需退订，请发送“退订”。"
THANKS = "问卷已完成，感谢您的参与！您的意见将用于改进二七区营商环境。"
COMMENT_THANKS = "已收到您的意见建议，感谢您的参与！"


def _store(turn: Turn) -> PollStore:
    """The engine's own database, reached through its dialog repo, so polls add no collaborator
    to `Deps` and no argument to `Core`."""
    return PollStore(turn.deps.dialogs.db)


async def unsubscribe(turn: Turn) -> list[Reply]:
    """At once: a poll already scheduled for this person is dropped when it comes due."""
    await ScheduleStore(turn.deps.dialogs.db).set_polls(turn.person, False, turn.now)
    if turn.dialog.state == STATE:
        turn.dialog.reset()
    return [Reply(UNSUBSCRIBED)]


async def subscribe(turn: Turn) -> list[Reply]:
    await ScheduleStore(turn.deps.dialogs.db).set_polls(turn.person, True, turn.now)
    return [Reply(SUBSCRIBED)]


async def _open_poll(turn: Turn, poll_id: str, period: str) -> Poll | None:
    """The poll if this person was sent its `period` round and answers are still accepted."""
    poll = default_polls().get(poll_id)
    if poll is None or parse_period(period) is None:
        return None
    if turn.now >= closes_at(poll, period, turn.deps.calendar):
        return None
    return poll if await _store(turn).delivered(poll_id, period, turn.person) else None


async def answer(turn: Turn, arg: str) -> list[Reply] | None:
    """A poll button (`arg` is the payload after "poll:"); None when it is stale or forged."""
    parts = arg.split(":")
    if len(parts) != 4:
        return None
    poll_id, period, question_id, value = parts
    poll = await _open_poll(turn, poll_id, period)
    question = poll.question(question_id) if poll is not None else None
    if poll is None or question is None or not question.accepts(value):
        return None
    if question.kind == "comment":  # 跳过
        if turn.dialog.state == STATE:
            turn.dialog.reset()
        return [Reply(THANKS)]
    await _store(turn).save_answer(poll_id, period, turn.person, question_id, value, turn.now)
    following = poll.after(question_id)
    if following is None or (following.kind == "comment" and turn.dialog.state not in (IDLE, STATE)):
        return [Reply(THANKS)]
    if following.kind == "comment":
        turn.dialog.reset(STATE, poll=poll_id, period=period, question=following.id)
    shown = prompt(poll, period, following)
    return [Reply(shown.text, tuple(Button(label, payload) for label, payload in shown.buttons))]


async def on_comment(turn: Turn, text: str) -> list[Reply] | None:
    """The text after the comment question: stored as the comment. None if the round closed
    meanwhile (the dialog is reset and the text is handled as an ordinary message)."""
    data = turn.dialog.data
    turn.dialog.reset()
    poll_id, period, question_id = str(data.get("poll")), str(data.get("period")), str(data.get("question"))
    poll = await _open_poll(turn, poll_id, period)
    if poll is None or poll.question(question_id) is None:
        return None
    comment = text[:MAX_COMMENT]
    await _store(turn).save_answer(poll_id, period, turn.person, question_id, "text", turn.now, comment)
    return [Reply(COMMENT_THANKS)]
