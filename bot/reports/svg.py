"""A small server-side SVG line chart for rates (0–100 %): no JavaScript, no CDN, no library.

The centre's pages and exported reports must render offline on government intranets, so the chart
is plain SVG text. Every piece of text (title, period labels, series names such as unit names typed
by staff) is XML-escaped, so a name like `<script>` shows as text and never becomes markup. A point
whose denominator was 0 (rate None) is a gap: the line breaks there rather than dropping to 0 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

# Distinguishable on screen and in grey print (ColorBrewer Dark2 plus two).
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
           "#1f78b4", "#b2182b")  # fmt: skip
FONT = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"


def _text(x: float, y: float, body: str, *, anchor: str = "start", size: int = 12, extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{escape(body)}</text>"
    )


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    width: int = 760,
    height: int = 380,
) -> str:
    """An SVG document: one line per (name, values) in `series`, values as fractions 0–1 drawn
    against a 0–100 % axis (clamped), `x_labels` under the points; a legend on the right."""
    for name, values in series:
        if len(values) != len(x_labels):
            raise ValueError(f"序列“{name}”有 {len(values)} 个值，横轴有 {len(x_labels)} 个标签")
    left, right, top, bottom = 56, 170, 40, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(x_labels)
    step = plot_w / (n - 1) if n > 1 else 0.0

    def px(i: int) -> float:
        return left + (i * step if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - min(max(v, 0.0), 1.0))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT)} role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        _text(left, 24, title, size=15, extra=' font-weight="bold"'),
    ]
    for pct in range(0, 101, 20):
        y = py(pct / 100)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        out.append(_text(left - 6, y + 4, f"{pct}%", anchor="end", size=11))
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>')
    out.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>'
    )
    every = max(1, -(-n // 12))  # at most about 12 labels, so they do not overlap
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == n - 1:
            out.append(_text(px(i), top + plot_h + 18, label, anchor="middle", size=11))
    for k, (name, values) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        out.append(f"<g><title>{escape(name)}</title>")
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(values):
            if v is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append((px(i), py(v)))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, y in run:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        out.append("</g>")
        ly = top + 8 + k * 20
        lx = left + plot_w + 16
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 18}" y2="{ly}" stroke="{colour}" stroke-width="3"/>')
        out.append(_text(lx + 24, ly + 4, name, size=12))
    note = "空缺处：该期无可计算的数据（分母为 0）"
    out.append(_text(left, height - 12, note, size=10, extra=' fill="#777"'))
    out.append("</svg>")
    return "\n".join(out) + "\n"
