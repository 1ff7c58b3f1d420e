"""Settings from the environment or a `.env` file: one typed object, read once at start-up.

| variable | default | meaning |
|---|---|---|
| `YIQIBAN_DB` | `var/yiqiban.db` | SQLite database file (created with its folder) |
| `YIQIBAN_KB_DIR` | bundled | knowledge-base directory (`kb_*.yaml`, synonyms, thresholds) |
| `YIQIBAN_HOST` | `127.0.0.1` | web chat address (`--host` overrides) |
| `YIQIBAN_PORT` | `8080` | web chat port (`--port` overrides) |
| `TELEGRAM_BOT_TOKEN` | unset | set to also run the Telegram bot |
| `TELEGRAM_STAFF_CHAT_ID` | unset | forum supergroup used as the staff desk |
| `TELEGRAM_STAFF_USER_IDS` | empty | comma-separated Telegram user ids allowed to act in the desk |
| `TELEGRAM_WEBHOOK_URL` | unset | public HTTPS URL: webhook mode instead of polling |
| `TELEGRAM_WEBHOOK_SECRET` | unset | must match `X-Telegram-Bot-Api-Secret-Token` (needed with a webhook) |
| `YIQIBAN_LOG_LEVEL` | `INFO` | logging level |
| `YIQIBAN_QUIET_START` | `21:00` | 无事不扰: no pushes to entrepreneurs from this time … |
| `YIQIBAN_QUIET_END` | `08:00` | … until this time, nor on non-working days |
| `YIQIBAN_DAILY_PUSH_CAP` | `3` | most pushes one entrepreneur gets per day (the rest wait a day) |
| `YIQIBAN_CALENDAR` | bundled | the district's calendar file, like `bot/data/calendar.yaml` |
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the process needs to start; secrets never appear in `repr` or logs."""

    model_config = SettingsConfigDict(
        env_prefix="YIQIBAN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db: Path = Path("var/yiqiban.db")
    kb_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    log_level: str = "INFO"
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    daily_push_cap: int = Field(3, ge=1, le=50)
    calendar: Path | None = None
    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "YIQIBAN_TELEGRAM_BOT_TOKEN")
    )
    telegram_staff_chat_id: int | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_STAFF_CHAT_ID", "YIQIBAN_TELEGRAM_STAFF_CHAT_ID")
    )
    telegram_staff_user_ids: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(),
        validation_alias=AliasChoices("TELEGRAM_STAFF_USER_IDS", "YIQIBAN_TELEGRAM_STAFF_USER_IDS"),
    )
    telegram_webhook_url: str | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_URL", "YIQIBAN_TELEGRAM_WEBHOOK_URL")
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "YIQIBAN_TELEGRAM_WEBHOOK_SECRET")
    )

    @field_validator("telegram_staff_user_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace("，", ",").split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _quiet_hours_overnight(self) -> Settings:
        if not self.quiet_end < self.quiet_start:
            raise ValueError("YIQIBAN_QUIET_START 应晚于 YIQIBAN_QUIET_END（免打扰时段跨夜，如 21:00–08:00）")
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError("TELEGRAM_WEBHOOK_URL 需要同时设置 TELEGRAM_WEBHOOK_SECRET")
        if self.telegram_webhook_url and not self.telegram_webhook_url.startswith("https://"):
            raise ValueError("TELEGRAM_WEBHOOK_URL 必须是 https:// 地址")
        return self
