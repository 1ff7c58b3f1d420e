"""Render a knowledge-base entry as the reply a user reads on a phone.

Every answer carries its source and responsible department, and sample content says plainly
that it is sample data, so nobody mistakes an illustration for official policy.
"""

from __future__ import annotations

from knowledge.schema import Entry, Faq, Policy, ServiceItem

SAMPLE_NOTICE = "【示例数据】本条为演示内容，并非官方政策原文，请以主管部门发布为准。"


def _lines(entry: Entry) -> list[str]:
    if isinstance(entry, Faq):
        return [entry.answer]
    if isinstance(entry, Policy):
        out = [f"《{entry.name}》"]
        if entry.issuer or entry.doc_number:
            out.append("发文：" + "，".join(x for x in (entry.issuer, entry.doc_number) if x))
        if entry.effective and (entry.effective.start or entry.effective.end):
            start = entry.effective.start.isoformat() if entry.effective.start else "—"
            end = entry.effective.end.isoformat() if entry.effective.end else "长期"
            out.append(f"有效期：{start} 至 {end}")
        if entry.eligibility.text:
            out.append(f"适用对象：{entry.eligibility.text}")
        out.append(f"政策内容：{entry.benefits}")
        if entry.how_to_apply:
            out.append(f"如何申请：{entry.how_to_apply}")
        if entry.materials:
            out.append("所需材料：" + "；".join(entry.materials))
        return out
    return _service_lines(entry)


def _service_lines(item: ServiceItem) -> list[str]:
    out = [f"【{item.name}】"]
    if item.summary:
        out.append(item.summary)
    if item.modes:
        out.append("办理方式：" + "、".join(item.modes))
    limits = []
    if item.legal_limit_days is not None:
        limits.append(f"法定 {item.legal_limit_days} 个工作日")
    if item.promised_limit_days is not None:
        limits.append(f"承诺 {item.promised_limit_days} 个工作日")
    if limits:
        out.append("办理时限：" + "，".join(limits))
    if item.materials:
        out.append("所需材料：" + "；".join(item.materials))
    out.append(f"收费：{item.fees}")
    if item.where:
        out.append(f"办理地点：{item.where}")
    if item.how:
        out.append(f"办理流程：{item.how}")
    return out


def body(entry: Entry) -> str:
    """The entry's content without contact, source or notice lines: what the matcher reads as
    the answer to compare questions with."""
    return "\n".join(_lines(entry))


def render(entry: Entry) -> str:
    """The full answer text: content, department and phone, source, and the sample notice."""
    lines = _lines(entry)
    if entry.department:
        contact = f"负责部门：{entry.department}"
        if entry.phone:
            contact += f"（电话 {entry.phone}）"
        lines.append(contact)
    if entry.source:
        src = entry.source
        cite = "，".join(x for x in (src.issuer, src.doc_number) if x)
        lines.append(
            f"来源：{src.title}" + (f"（{cite}）" if cite else "") + (f" {src.url}" if src.url else "")
        )
    elif isinstance(entry, Policy) and entry.source_url:
        lines.append(f"来源：{entry.source_url}")
    if entry.sample:
        lines.append(SAMPLE_NOTICE)
    return "\n".join(lines)
