"""Terminal chat over the knowledge base: questions in, graded answers out, choices as numbers.

This is the conversation an operator or developer can try with nothing but Python installed.
Work orders are not stored yet, so petitions and order queries are answered with the real
route (the 12345 hotline and its time limits) rather than pretending to file anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from intents.classifier import classify
from intents.model import EMERGENCY_NUMBERS, Intent, IntentResult, OutOfScopeReason, PetitionType
from knowledge.answer import render
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Matcher
from knowledge.types import Grade, Hit, Match

WELCOME = (
    "您好，这里是「二七帮·易企办」企业服务助手。\n"
    "可以问我惠企政策、办事指南（免证可办、跨省通办、容缺受理等），也可以反映企业诉求。\n"
    "输入“帮助”查看能做什么，输入“退出”结束。"
)
GREETING = "您好！请直接说您想了解的政策或要办的事，例如“小微企业有哪些税费优惠”。输入“帮助”查看菜单。"
ANSWER_FOOTER = "（没解决您的问题？可以换个说法再问，或拨打 12345 热线。）"
HELP = (
    "我可以：\n"
    "1. 解答惠企政策：税费优惠、社保稳岗、融资、人才、知识产权等；\n"
    "2. 指导办事：企业开办、项目审批（项目管家）、免证可办 / 跨省通办 / 同城通办 / 容缺受理；\n"
    "3. 说明诉求怎么提、多久办结（12345 热线）；\n"
    "4. 介绍政企码扫码入企、吹哨报到等服务。\n"
    "直接输入您的问题即可，例如：“营业执照怎么网上办理”。"
)
NO_MATCH = (
    "抱歉，知识库里暂时没有找到相关内容。您可以换个说法再问，"
    "或拨打 12345 政务服务便民热线（24 小时）反映，由热线受理并转相关部门办理。"
)
PETITION_LIMITS = {
    PetitionType.INQUIRY: ("咨询", 3),
    PetitionType.HELP: ("求助", 5),
    PetitionType.SUGGESTION: ("建议", 5),
    PetitionType.COMPLAINT: ("投诉", 10),
    PetitionType.REPORT: ("举报", 10),
}
OUT_OF_SCOPE = {
    OutOfScopeReason.LITIGATION: (
        "已进入诉讼、仲裁程序或需要法院裁判的事项，热线不予受理，请通过人民法院或仲裁机构依法解决；"
        "需要法律帮助可拨打 12348 公共法律服务热线。"
    ),
    OutOfScopeReason.XINFANG: (
        "信访事项请通过信访渠道（信访部门、网上信访平台）依法提出，热线不予受理信访件。"
    ),
}
RATING = (
    "诉求办结后热线会回访，您可以评价：非常满意、满意、基本满意、不满意、非常不满意。"
    "评价为不满意的，工单退回承办单位重办。"
)
QUIT = {"退出", "再见", "quit", "exit", "q"}


@dataclass
class ConsoleChat:
    """One terminal conversation: remembers the last "did you mean" choices."""

    kb: KnowledgeBase
    matcher: Matcher
    choices: list[Hit] = field(default_factory=list)

    def reply(self, text: str) -> str:
        text = text.strip()
        if not text:
            return "请输入您的问题。"
        if text.isdigit() and self.choices:
            n = int(text)
            if 1 <= n <= len(self.choices):
                hit = self.choices[n - 1]
                self.choices = []
                return self._answer(hit.entry_id)
            return f"请输入 1 到 {len(self.choices)} 之间的序号，或直接提问。"
        self.choices = []
        return self._route(classify(text, self.matcher), text)

    def _route(self, r: IntentResult, text: str) -> str:
        if r.intent is Intent.OUT_OF_SCOPE:
            return self._out_of_scope(r)
        if r.intent is Intent.GREETING:
            return GREETING
        if r.intent is Intent.HELP:
            return HELP
        if r.intent is Intent.PETITION:
            return self._petition(r)
        if r.intent is Intent.MY_ORDERS:
            number = f"工单号 {r.slots.order_number}" if r.slots.order_number else "工单号"
            return f"工单进度可拨打 12345 热线，报{number}即可查询办理到哪一步。"
        if r.intent is Intent.RATING:
            return RATING
        if r.intent is Intent.TALK_TO_HUMAN:
            return "需要人工服务请拨打 12345 政务服务便民热线，24 小时有人接听。"
        return self._from_match(r.match or self.matcher.match(text))

    def _from_match(self, m: Match) -> str:
        if m.grade is Grade.ANSWER and m.best:
            return self._answer(m.best.entry_id) + "\n" + ANSWER_FOOTER
        if m.grade is Grade.CLARIFY and m.hits:
            self.choices = list(m.choices())
            lines = [f"{i}. {h.title}" for i, h in enumerate(self.choices, 1)]
            return "您是不是想问：\n" + "\n".join(lines) + "\n请回复序号查看，或换个说法。"
        return NO_MATCH

    def _answer(self, entry_id: str) -> str:
        entry = self.kb.get(entry_id)
        return render(entry) if entry else NO_MATCH

    def _petition(self, r: IntentResult) -> str:
        label, days = PETITION_LIMITS.get(r.petition_type or PetitionType.HELP, ("求助", 5))
        return (
            f"收到，您反映的是{label}类诉求。请拨打 12345 热线提交，"
            f"热线受理后派给承办单位，{label}类一般在 {days} 个工作日内办结并回访。"
            "请准备好企业名称、联系电话和问题发生的地点、时间。"
        )

    def _out_of_scope(self, r: IntentResult) -> str:
        if r.out_of_scope_reason is OutOfScopeReason.EMERGENCY:
            number = r.emergency_number or "110"
            return f"情况紧急！请立即拨打 {number}（{EMERGENCY_NUMBERS.get(number, '紧急求助')}）。"
        return OUT_OF_SCOPE.get(r.out_of_scope_reason or OutOfScopeReason.LITIGATION, NO_MATCH)


def run_console(kb: KnowledgeBase, stdin: TextIO, out: TextIO) -> int:
    """Read questions line by line until end of input or 退出."""
    chat = ConsoleChat(kb, Matcher.from_kb(kb))
    interactive = stdin.isatty()
    out.write(WELCOME + "\n")
    while True:
        if interactive:
            out.write("\n> ")
            out.flush()
        line = stdin.readline()
        if not line or line.strip().lower() in QUIT:
            out.write("再见，祝生意兴隆！\n")
            return 0
        out.write(chat.reply(line) + "\n")
        out.flush()
