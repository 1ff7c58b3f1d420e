"""HTML for the staff console: server-rendered, no build step, no CDN, every value escaped.

Everything a user or a unit typed (order contents, names, messages) goes through `esc`, so HTML
typed into the chat is shown as text and never runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f6f8;
color:#1d2129}
header{background:#1f5fbf;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center}
header a{color:#fff;text-decoration:none} header form{margin-left:auto}
main{padding:16px 20px} table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e5e6eb;padding:6px 8px;text-align:left;font-size:14px;vertical-align:top}
th{background:#f2f3f5} .overdue{color:#c9353f;font-weight:600} .ok{color:#237804}
form.filters{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:12px}
.box{background:#fff;padding:12px 16px;margin-bottom:12px}
.error{color:#c9353f} .muted{color:#86909c} dl{display:grid;grid-template-columns:8em 1fr;gap:4px 12px}
.msg-in{color:#1d2129} .msg-out{color:#4e5969}
"""


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, user: str | None = None, csrf: str | None = None) -> str:
    nav = ""
    if user is not None and csrf is not None:
        nav = (
            '<a href="/staff/">工单队列</a><a href="/staff/inbox">工作消息</a>'
            '<a href="/staff/reports">报表</a><a href="/staff/kb">知识库</a>'
            f'<span class="muted">{esc(user)}</span>'
            '<form method="post" action="/staff/logout">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}"><button>退出</button></form>'
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · 易企办工作台</title><style>{STYLE}</style></head><body>"
        f"<header><strong>二七帮·易企办 工作台</strong>{nav}</header><main>{body}</main></body></html>"
    )


def login_form(error: str = "", username: str = "") -> str:
    message = f'<p class="error">{esc(error)}</p>' if error else ""
    return page(
        "登录",
        '<div class="box"><h2>工作人员登录</h2>'
        f"{message}"
        '<form method="post" action="/staff/login">'
        f'<p><label>用户名 <input name="username" value="{esc(username)}" autocomplete="username" '
        "required></label></p>"
        '<p><label>密码 <input name="password" type="password" autocomplete="current-password" '
        "required></label></p>"
        "<p><button>登录</button></p></form></div>",
    )


def select(name: str, options: Iterable[tuple[str, str]], chosen: str, label: str = "") -> str:
    """A drop-down whose empty choice reads "全部<label>" (all statuses, all types …)."""
    items = [f'<option value="">全部{esc(label)}</option>'] + [
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(label)}</option>'
        for v, label in options
    ]
    return f'<select name="{esc(name)}">{"".join(items)}</select>'


def table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """`rows` cells are HTML already (escaped by the caller)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fields(pairs: Mapping[str, str]) -> str:
    """A definition list; values are HTML already."""
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in pairs.items()) + "</dl>"
