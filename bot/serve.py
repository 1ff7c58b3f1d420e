"""`yiqiban run`: one process serving the web chat, plus Telegram when a token is configured.

Shutdown is clean by construction: uvicorn stops accepting requests on SIGTERM or Ctrl-C and lets
the ones in flight finish; every message and order is committed before it is acknowledged, so
when the database is closed afterwards nothing is half-written.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from bot.app import china_now, open_app
from bot.config import Settings

log = logging.getLogger("yiqiban")


async def serve(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Run until stopped; returns the process exit code."""
    import uvicorn

    from bot.adapters.web import create_web_app
    from bot.schedule.runner import Waker

    app = await open_app(settings.db, settings.kb_dir, calendar_file=settings.calendar)
    wake = Waker()  # the staff console's replies go out at once, once the scheduler runs
    web = create_web_app(app.core, app.db, clock=china_now, wake=wake)
    telegram: Any = None
    push_bot: Any = None
    scheduler: Any = None
    try:
        if settings.telegram_bot_token is not None:
            telegram = await _start_telegram(settings, app.core, web)
            push_bot = await _push_bot(settings.telegram_bot_token.get_secret_value())
        scheduler = await _start_scheduler(settings, app, push_bot)
        wake.target = scheduler.poke
        # No access log: the event stream carries its session token in the query string.
        config = uvicorn.Config(
            web,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
        server = _server_class()(config)
        out.write(f"网页聊天：http://{settings.host}:{settings.port}/ （数据库 {settings.db}）\n")
        if telegram is not None:
            out.write("Telegram：已启动\n")
        out.flush()
        await server.serve()
    finally:
        if scheduler is not None:
            await scheduler.stop()
        if push_bot is not None:
            await push_bot.shutdown()
        if telegram is not None:
            await _stop_telegram(telegram)
        await app.close()
        out.write("已停止。\n")
        out.flush()
    return 0


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, but a SIGTERM / Ctrl-C ends `serve()` normally instead of being
        re-raised afterwards, so the `finally` below closes Telegram and the database first."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


async def _start_telegram(settings: Settings, core: Any, web: Any) -> Any:
    from bot.adapters.telegram import build_application

    assert settings.telegram_bot_token is not None
    application = build_application(
        core,
        settings.telegram_bot_token.get_secret_value(),
        staff_chat_id=settings.telegram_staff_chat_id,
        staff_user_ids=settings.telegram_staff_user_ids,
    )
    await application.initialize()
    await application.start()
    if settings.telegram_webhook_url:
        from bot.adapters.telegram import telegram_webhook_route

        assert settings.telegram_webhook_secret is not None
        secret = settings.telegram_webhook_secret.get_secret_value()
        web.router.routes.append(telegram_webhook_route(application, secret))
        await application.bot.set_webhook(settings.telegram_webhook_url, secret_token=secret)
    elif application.updater is not None:
        await application.updater.start_polling()
    return application


async def _push_bot(token: str) -> Any:
    """A second Bot for scheduled pushes, without PTB's rate limiter: the scheduler's own
    `PushLimiter` also enforces Telegram's one-message-per-second-per-chat rule."""
    from telegram import Bot

    bot = Bot(token)
    await bot.initialize()
    return bot


async def _start_scheduler(settings: Settings, app: Any, push_bot: Any) -> Any:
    """The durable schedule (bot.schedule): catch up on what fell due while stopped, then run."""
    from bot.schedule.quiet import QuietHours
    from bot.schedule.runner import Scheduler
    from bot.schedule.telegram_push import PushLimiter, TelegramPusher

    pusher = TelegramPusher(push_bot, PushLimiter()) if push_bot is not None else None
    scheduler = Scheduler(
        app.db,
        clock=china_now,
        calendar=app.core.deps.calendar,
        quiet=QuietHours(settings.quiet_start, settings.quiet_end),
        daily_cap=settings.daily_push_cap,
        telegram=pusher,
        tickets=app.tickets,
    )
    interrupted = await scheduler.start()
    if interrupted:
        log.warning("%d pushes were interrupted by the last stop; see `yiqiban scheduler list`", interrupted)
    return scheduler


async def _stop_telegram(application: Any) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    await application.stop()
    await application.shutdown()
