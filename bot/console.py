"""Terminal chat: the same engine as the web chat and Telegram, with buttons as numbers.

An operator or developer can try every flow (questions, petitions, my orders, rating) from a shell;
what is typed goes through `Core.handle` exactly like a web message, and is stored the same way.
"""

from __future__ import annotations

from typing import TextIO

from bot.core.messages import Address, Button, Inbound, Reply
from bot.core.texts import WELCOME

QUIT = {"退出", "再见", "quit", "exit", "q"}


def render(replies: list[Reply]) -> tuple[str, list[Button]]:
    """Reply texts, with every button numbered across the replies; the buttons in that order."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        lines.append(reply.text)
        for button in reply.buttons:
            buttons.append(button)
            lines.append(f"  [{len(buttons)}] {button.label}")
    return "\n".join(lines), buttons


async def run_console(core: object, stdin: TextIO, out: TextIO, *, chat_id: str = "local") -> int:
    """Read lines until end of input or 退出; a number presses the button it labels."""
    from bot.core.engine import Core

    assert isinstance(core, Core)
    address = Address("console", chat_id)
    interactive = stdin.isatty()
    buttons: list[Button] = []
    out.write(WELCOME + "\n")
    while True:
        if interactive:
            out.write("\n> ")
            out.flush()
        line = stdin.readline()
        if not line or line.strip().lower() in QUIT:
            out.write("再见，祝生意兴隆！\n")
            return 0
        text = line.strip()
        at = core.clock()
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            inbound = Inbound(address, at, button=buttons[int(text) - 1].payload)
        else:
            inbound = Inbound(address, at, text=text)
        shown, buttons = render(await core.handle(inbound))
        out.write(shown + "\n")
        out.flush()
