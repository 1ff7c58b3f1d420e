"""`yiqiban` command line: knowledge-base tools for operators and the terminal chat.

Exit codes: 0 success, 1 invalid data (the message names file, line, entry and field), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from bot.store.db import StoreError
from knowledge.errors import KnowledgeError
from knowledge.lexicon import DATA_DIR

ENV_DATA = "YIQIBAN_KB_DIR"


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data or os.environ.get(ENV_DATA) or DATA_DIR)


def _print_json(obj: Any, out: TextIO) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from knowledge.loader import load_dir
    from knowledge.matcher import Thresholds

    data = _data_dir(args)
    kb = load_dir(data)
    Thresholds.load(data / "thresholds.yaml")
    stats = kb.stats()
    out.write(
        f"知识库校验通过：{stats['entries']} 条（{len(stats['files'])} 个文件），"
        f"同义词 {stats['synonyms']} 个，用户词典 {stats['user_words']} 个\n"
    )
    return 0


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    from knowledge.loader import load_dir

    stats = load_dir(_data_dir(args)).stats()
    if args.json:
        _print_json(stats, out)
        return 0
    out.write(f"条目：{stats['entries']}（示例数据 {stats['sample']}，有出处 {stats['sourced']}）\n")
    out.write("按类型：" + "，".join(f"{k} {v}" for k, v in stats["by_kind"].items()) + "\n")
    out.write("按类别：\n")
    for cat, n in sorted(stats["by_category"].items(), key=lambda kv: -kv[1]):
        out.write(f"  {cat}：{n}\n")
    out.write(
        f"问法总数：{stats['phrasings']}，同义词：{stats['synonyms']}，用户词典：{stats['user_words']}\n"
    )
    return 0


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from knowledge.importer import read_import
    from knowledge.loader import load_dir
    from knowledge.writer import write_entry_file

    src = Path(args.file)
    report = read_import(src)
    data = _data_dir(args)
    target = Path(args.out) if args.out else data / f"kb_import_{_slug(src.stem)}.yaml"
    written = False
    if report.entries and not args.dry_run:
        existed = target.exists()
        backup = target.read_bytes() if existed else None
        write_entry_file(report.entries, args.category or f"导入：{src.name}", target)
        written = True
        try:
            load_dir(target.parent)  # the whole KB must still load: ids unique, links resolve
        except KnowledgeError:
            if backup is None:
                target.unlink()
            else:
                target.write_bytes(backup)
            raise
    if args.json:
        _print_json(
            {
                "imported": len(report.entries),
                "rejected": [asdict(r) for r in report.rejected],
                "written": str(target) if written else None,
            },
            out,
        )
    else:
        out.write(report.summary() + "\n")
        if written:
            out.write(f"已写入 {target}\n")
        elif args.dry_run:
            out.write("（试运行，未写入文件）\n")
    return 0 if report.entries or not report.rejected else 1


def _slug(stem: str) -> str:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in stem)
    return safe.strip("_") or "data"


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    from intents.classifier import classify
    from knowledge.loader import load_dir
    from knowledge.matcher import Matcher

    matcher = Matcher.from_kb(load_dir(_data_dir(args)))
    text = " ".join(args.text)
    result = classify(text, matcher)
    match = result.match if result.match is not None else matcher.match(text)
    if args.json:
        _print_json(
            {
                "text": text,
                "intent": result.intent.value,
                "confidence": round(result.confidence, 3),
                "petition_type": result.petition_type.value if result.petition_type else None,
                "out_of_scope_reason": (
                    result.out_of_scope_reason.value if result.out_of_scope_reason else None
                ),
                "reason": result.reason,
                "slots": {k: v for k, v in _slots_dict(result.slots).items() if v},
                "grade": match.grade.value,
                "hits": [
                    {"id": h.entry_id, "score": h.score, "kind": h.kind, "title": h.title}
                    for h in matcher.search(text, args.top)
                ],
            },
            out,
        )
        return 0
    out.write(f"意图：{result.intent.value}（{result.confidence:.2f}，{result.reason}）\n")
    if result.petition_type:
        out.write(f"诉求类型：{result.petition_type.value}\n")
    slots = {k: v for k, v in _slots_dict(result.slots).items() if v}
    if slots:
        out.write("槽位：" + "，".join(f"{k}={v}" for k, v in slots.items()) + "\n")
    out.write(f"匹配等级：{match.grade.value}\n")
    for i, h in enumerate(matcher.search(text, args.top), 1):
        out.write(f"  {i}. {h.score:.3f}  {h.entry_id}  {h.title}\n")
    return 0


def _slots_dict(slots: object) -> dict[str, Any]:
    fields = getattr(slots, "__dataclass_fields__", {})
    return {name: getattr(slots, name) for name in fields}


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from knowledge.evaluate import evaluate, read_kb, read_queries
    from knowledge.lexicon import Lexicon
    from knowledge.matcher import Matcher

    pairs, answers = read_kb(Path(args.kb))
    queries = read_queries(Path(args.queries))
    lexicon = Lexicon.load(_data_dir(args))
    lexicon.jieba  # noqa: B018 - load the dictionary before the clock starts: not index build
    t0 = time.perf_counter()
    matcher = Matcher.from_pairs(pairs, lexicon, answers)
    build_s = time.perf_counter() - t0
    report = evaluate(lambda q: [h.entry_id for h in matcher.search(q, 10)], queries, build_s)
    if args.json:
        _print_json(report.as_dict(), out)
        return 0
    out.write(
        f"queries {report.n}  top1 {report.top1:.4f}  recall@3 {report.recall3:.4f}  "
        f"MRR@10 {report.mrr10:.4f}\n"
        f"latency p50 {report.p50_ms:.3f} ms  p99 {report.p99_ms:.3f} ms  build {report.build_s:.3f} s\n"
    )
    return 0


def cmd_calibrate(args: argparse.Namespace, out: TextIO) -> int:
    from knowledge.calibrate import collect_cases, fit, write_thresholds
    from knowledge.loader import load_dir

    data = _data_dir(args)
    cases = collect_cases(load_dir(data), data / "calibration")
    t = fit(cases)
    _print_json(t.model_dump(), out)
    if args.write:
        write_thresholds(t, data / "thresholds.yaml")
        out.write(f"已写入 {data / 'thresholds.yaml'}\n")
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO) -> int:
    """The terminal chat on the same engine and database as the web chat."""
    import asyncio

    from bot.app import open_app
    from bot.cli_tickets import db_path
    from bot.console import run_console

    async def run() -> int:
        app = await open_app(db_path(args), Path(args.data) if args.data else None)
        try:
            return await run_console(app.core, sys.stdin, out)
        finally:
            await app.close()

    return asyncio.run(run())


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the web chat (and Telegram when configured) until SIGTERM or Ctrl-C."""
    import asyncio
    import logging

    from bot.config import Settings
    from bot.serve import serve

    overrides: dict[str, object] = {}
    for name in ("host", "port", "db"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.data:
        overrides["kb_dir"] = args.data
    settings = Settings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(settings, out))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yiqiban", description="二七帮·易企办 企业诉求机器人")
    sub = p.add_subparsers(dest="command", required=True)
    data_help = f"知识库目录（默认内置，或环境变量 {ENV_DATA}）"

    r = sub.add_parser(
        "run", help="启动服务：网页聊天（默认 127.0.0.1:8080），配置了 Telegram 令牌时同时运行 Telegram"
    )
    r.add_argument("--host", help="监听地址（默认 127.0.0.1，或环境变量 YIQIBAN_HOST）")
    r.add_argument("--port", type=int, help="端口（默认 8080，或环境变量 YIQIBAN_PORT）")
    r.add_argument("--data", help=data_help)
    r.add_argument("--db", help="数据库文件（默认 var/yiqiban.db，或环境变量 YIQIBAN_DB）")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("chat", help="在终端里与机器人对话（与网页聊天同一引擎、同一数据库）")
    c.add_argument("--data", help=data_help)
    c.add_argument("--db", help="数据库文件（默认 var/yiqiban.db，或环境变量 YIQIBAN_DB）")
    c.set_defaults(func=cmd_chat)

    kb = sub.add_parser("kb", help="知识库工具").add_subparsers(dest="kb_command", required=True)
    v = kb.add_parser("validate", help="校验知识库文件")
    v.add_argument("--data", help=data_help)
    v.set_defaults(func=cmd_validate)
    s = kb.add_parser("stats", help="知识库统计")
    s.add_argument("--data", help=data_help)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)
    i = kb.add_parser("import", help="导入 CSV / XLSX / JSON Lines")
    i.add_argument("file")
    i.add_argument("--data", help=data_help)
    i.add_argument("--out", help="输出的 YAML 文件（默认 <知识库目录>/kb_import_<文件名>.yaml）")
    i.add_argument("--category", help="导入条目的类别")
    i.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_import)
    a = kb.add_parser("ask", help="试问一个问题：意图、匹配等级和候选条目")
    a.add_argument("text", nargs="+")
    a.add_argument("--data", help=data_help)
    a.add_argument("--top", type=int, default=5)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_ask)
    e = kb.add_parser("eval", help="在 JSON Lines 评测集上评估检索")
    e.add_argument("--kb", required=True, help='知识库 JSON Lines：{"id","question","answer"}')
    e.add_argument("--queries", required=True, help='问题 JSON Lines：{"query","gold"[,"gold_all"]}')
    e.add_argument("--data", help="词典与同义词目录（默认内置）")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval)
    from bot.cli_tickets import add_parsers

    add_parsers(sub)
    from bot.cli_schedule import add_parsers as add_schedule_parsers

    add_schedule_parsers(sub)
    from bot.cli_staff import add_parsers as add_staff_parsers

    add_staff_parsers(sub)
    from bot.cli_polls import add_parsers as add_poll_parsers

    add_poll_parsers(sub)
    c = kb.add_parser("calibrate", help="用标注数据拟合答复/澄清阈值")
    c.add_argument("--data", help=data_help)
    c.add_argument("--write", action="store_true", help="写入 thresholds.yaml")
    c.set_defaults(func=cmd_calibrate)
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, out))
    except KnowledgeError as exc:
        sys.stderr.write(f"错误：{exc}\n")
        return 1
    except LookupError as exc:  # an order number that does not exist
        sys.stderr.write(f"错误：{exc.args[0] if exc.args else exc}\n")
        return 1
    except StoreError as exc:  # e.g. someone else updated the order first
        sys.stderr.write(f"错误：{exc}\n")
        return 1
    except (OSError, ValueError) as exc:
        rule = getattr(exc, "rule", None)  # a refused transition names the rule that refused it
        sys.stderr.write(f"错误：{exc}" + (f"（规则：{rule}）" if rule else "") + "\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
