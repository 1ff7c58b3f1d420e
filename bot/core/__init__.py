"""The channel-agnostic conversation engine: `Core.handle(Inbound) -> list[Reply]`.

Adapters (Telegram, web, console) turn their updates into `Inbound` values and render the
returned `Reply` values; nothing in this package imports a chat library.
"""

from bot.core.messages import Address, Button, Inbound, InboundFile, Reply

__all__ = ["Address", "Button", "Inbound", "InboundFile", "Reply"]
