"""Settings from the environment: defaults, parsing, and polite refusals of bad values."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from bot.config import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]  # no stray .env
    for name in ("YIQIBAN_QUIET_START", "YIQIBAN_QUIET_END", "YIQIBAN_DAILY_PUSH_CAP"):
        monkeypatch.delenv(name, raising=False)


def test_push_defaults_are_the_issue_s() -> None:
    s = Settings()
    assert (s.quiet_start, s.quiet_end, s.daily_push_cap) == (time(21, 0), time(8, 0), 3)


def test_push_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIQIBAN_QUIET_START", "20:30")
    monkeypatch.setenv("YIQIBAN_QUIET_END", "07:45")
    monkeypatch.setenv("YIQIBAN_DAILY_PUSH_CAP", "5")
    s = Settings()
    assert (s.quiet_start, s.quiet_end, s.daily_push_cap) == (time(20, 30), time(7, 45), 5)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("YIQIBAN_QUIET_START", "07:00", "免打扰时段跨夜"),
        ("YIQIBAN_DAILY_PUSH_CAP", "0", "daily_push_cap"),
        ("YIQIBAN_QUIET_END", "8点", "quiet_end"),
    ],
)
def test_bad_push_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
