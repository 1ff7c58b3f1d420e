"""Neutral message values exchanged between channel adapters and the engine.

A leaf module: no imports from the rest of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Address:
    """One conversation: the channel ("telegram", "web", …) and the chat id inside it."""

    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Button:
    """A choice shown under a reply; pressing it sends `payload` back as `Inbound.button`."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send; `to` None means the chat the inbound message came from."""

    text: str
    buttons: tuple[Button, ...] = ()
    to: Address | None = None


@dataclass(frozen=True, slots=True)
class InboundFile:
    """A photo or document the user sent; the adapter has already fetched its bytes."""

    name: str
    data: bytes
    media_type: str | None = None  # as the channel declared it; None: guess from the name


@dataclass(frozen=True, slots=True)
class Inbound:
    """One user event: a text message, a button press, files (or, oddly, none of these)."""

    address: Address
    at: datetime
    text: str | None = None
    button: str | None = None
    user_name: str | None = None
    files: tuple[InboundFile, ...] = ()
