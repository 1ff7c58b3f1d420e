"""Rule-only classification (matcher=None): every intent, petition type and out-of-scope reason."""

from __future__ import annotations

import datetime as dt

import pytest

from intents import Intent, OutOfScopeReason, PetitionType, classify

TODAY = dt.date(2026, 11, 26)


def check(text: str, intent: Intent) -> None:
    result = classify(text, today=TODAY)
    assert result.intent is intent, (text, result.reason)
    assert 0.0 <= result.confidence <= 1.0
    assert result.reason


@pytest.mark.parametrize(
    "text",
    [
        "转人工",
        "人工",
        "人工客服在吗？？",
        "能不能转人共啊",
        "我要找真人说话",
        "找客服",
        "你们这机器人听不懂人话",
    ],
)
def test_talk_to_human(text: str) -> None:
    check(text, Intent.TALK_TO_HUMAN)


@pytest.mark.parametrize("text", ["你好", "您好，在吗？", "在吗在吗", "hello", "嗨～", "早上好！", "谢谢"])
def test_greeting(text: str) -> None:
    check(text, Intent.GREETING)


@pytest.mark.parametrize("text", ["菜单", "帮助", "？", "你能做什么", "你都能干啥呀 你会啥", "有哪些功能"])
def test_help(text: str) -> None:
    check(text, Intent.HELP)


def test_greeting_inside_a_question_does_not_decide() -> None:
    assert classify("你好，请问小微企业有什么补贴政策").intent is Intent.CONSULT_POLICY
    assert classify("你好，我要投诉物业乱收费").intent is Intent.PETITION


@pytest.mark.parametrize(
    "text",
    [
        "EQ-20261126-0007",
        "eq202611260007",
        "eq202611260007办到哪了",
        "我的诉求办到哪了",
        "查工单",
        "我上周反映的问题到现在什么进度",
        "帮我查一下ＥＱ－２０２６１１２６－０００７的进度",
    ],
)
def test_my_orders(text: str) -> None:
    check(text, Intent.MY_ORDERS)


def test_bare_order_number_fills_the_slot() -> None:
    result = classify(" eq202611260007 ")
    assert result.intent is Intent.MY_ORDERS
    assert result.slots.order_number == "EQ-20261126-0007"


@pytest.mark.parametrize(
    "text",
    [
        "非常满意",
        "不满意",
        "处理结果不满意",
        "给个好评",
        "我要评价一下EQ-20261126-0007",
        "这次服务很满意，给五星",
    ],
)
def test_rating(text: str) -> None:
    check(text, Intent.RATING)


@pytest.mark.parametrize(
    "text",
    [
        "政企码是什么",
        "扫码入企怎么弄",
        "上周有执法人员来我们公司检查，想查一下是哪个部门",
        "谁来我们厂检查过",
    ],
)
def test_inspection_checkin(text: str) -> None:
    check(text, Intent.INSPECTION_CHECKIN)


@pytest.mark.parametrize(
    "text", ["项目管家怎么联系", "我们有个新项目想找项目审批协调", "1+1+N是啥", "重点项目落地难"]
)
def test_project_butler(text: str) -> None:
    check(text, Intent.PROJECT_BUTLER)


@pytest.mark.parametrize(
    ("text", "petition_type"),
    [
        ("我要投诉二七区某某局不作为", PetitionType.COMPLAINT),
        ("街道办的人一直推诿，事情拖着不办", PetitionType.COMPLAINT),
        ("窗口工作人员态度太差了", PetitionType.COMPLAINT),
        ("投诉：物业乱收费", PetitionType.COMPLAINT),
        ("执法的三天两头来查，频繁检查影响经营", PetitionType.COMPLAINT),
        ("举报隔壁黑作坊偷排污水", PetitionType.REPORT),
        ("我要实名举报一家无证经营的饭店", PetitionType.REPORT),
        ("举报：楼下有人非法集资", PetitionType.REPORT),
        ("建议在大学路增加公交站", PetitionType.SUGGESTION),
        ("我有个建议：希望政府多办几场政策宣讲会", PetitionType.SUGGESTION),
        ("提点意见，网上办事大厅太难用", PetitionType.SUGGESTION),
        ("求助！我们厂停电三天了没人管", PetitionType.HELP),
        ("帮帮我们，工程款拖欠半年了", PetitionType.HELP),
        ("麻烦帮忙解决一下招工难的问题", PetitionType.HELP),
        ("我想咨询一下", PetitionType.INQUIRY),  # weak: an inquiry order only when nothing answers it
    ],
)
def test_petition_types(text: str, petition_type: PetitionType) -> None:
    result = classify(text)
    assert (result.intent, result.petition_type) == (Intent.PETITION, petition_type), result.reason


def test_petition_without_a_type() -> None:
    result = classify("我要反映个问题")
    assert (result.intent, result.petition_type) == (Intent.PETITION, None)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("仓库着火了", "119"),
        ("快来人 厂房起火了！！", "119"),
        ("店里燃气泄漏了怎么办", "119"),
        ("员工晕倒了", "120"),
        ("有人受伤了快叫救护车", "120"),
        ("门口出车祸了", "122"),
        ("路口两辆车追尾了", "122"),
        ("有人在店里打架", "110"),
        ("有人持刀闹事", "110"),
        ("骗子正在让我转账", "110"),
        ("老板被打了", "110"),
    ],
)
def test_emergency_numbers(text: str, number: str) -> None:
    result = classify(text)
    assert result.intent is Intent.OUT_OF_SCOPE, result.reason
    assert result.out_of_scope_reason is OutOfScopeReason.EMERGENCY
    assert result.emergency_number == number
    assert result.confidence == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "仓库着火了，我要投诉物业",
        "我要投诉！隔壁饭店着火了烧到我们店",
        "转人工！！厂里起火了",
        "EQ-20261126-0007 我们仓库又着火了",
        "我要起诉他们，他们把我们仓库点着火了",
    ],
)
def test_fire_wins_over_everything(text: str) -> None:
    result = classify(text)
    assert (result.intent, result.emergency_number) == (Intent.OUT_OF_SCOPE, "119"), result.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("我要起诉他们", OutOfScopeReason.LITIGATION),
        ("这事能不能打官司", OutOfScopeReason.LITIGATION),
        ("劳动仲裁怎么申请", OutOfScopeReason.LITIGATION),
        ("法院判决了对方不执行，我要投诉", OutOfScopeReason.LITIGATION),
        ("我要去信访局上访", OutOfScopeReason.XINFANG),
        ("信访件怎么还没回复", OutOfScopeReason.XINFANG),
    ],
)
def test_other_out_of_scope(text: str, reason: OutOfScopeReason) -> None:
    result = classify(text)
    assert (result.intent, result.out_of_scope_reason) == (Intent.OUT_OF_SCOPE, reason), result.reason
    assert result.emergency_number is None


@pytest.mark.parametrize(
    "text",
    [
        "我不是要投诉，就是想咨询一下社保补贴怎么领",
        "不想投诉，就问问稳岗补贴",
        "投诉一般几天办结",
        "12345投诉多久有结果",
        "举报电话是多少",
    ],
)
def test_complaint_as_a_topic_is_not_a_petition(text: str) -> None:
    result = classify(text)
    assert result.intent is not Intent.PETITION, result.reason


@pytest.mark.parametrize(
    "text",
    [
        "我们没有着火，是消防检查的问题",  # negated emergency
        "消防检查发现火灾隐患怎么整改",
        "员工受伤了工伤怎么认定",
        "交通事故认定书在哪领",
        "频繁被打扰，总是来检查",  # 被打扰 is not 被打
        "我要打人工客服",  # 打人工 is not 打人
    ],
)
def test_not_emergencies(text: str) -> None:
    assert classify(text).out_of_scope_reason is not OutOfScopeReason.EMERGENCY


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("小微企业有什么补贴政策", Intent.CONSULT_POLICY),
        ("投诉一般几天办结", Intent.CONSULT_POLICY),
        ("营业执照怎么办理，需要什么材料", Intent.SERVICE_GUIDE),
        ("食品经营许可证在哪办", Intent.SERVICE_GUIDE),
    ],
)
def test_topic_cues_decide_without_a_matcher(text: str, intent: Intent) -> None:
    result = classify(text)
    assert result.intent is intent
    assert result.confidence < 0.7  # weak: a knowledge base would be asked first
    assert result.match is None


@pytest.mark.parametrize("text", ["今天天气怎么样", "哈哈哈", "", "   "])
def test_unknown(text: str) -> None:
    result = classify(text)
    assert result.intent is Intent.UNKNOWN
    assert result.confidence == 0.0


def test_result_carries_slots_and_reason() -> None:
    result = classify(
        "我是郑州市二七区某某餐饮有限公司的，电话13812345678，昨天街道办的人乱罚款", today=TODAY
    )
    assert (result.intent, result.petition_type) == (Intent.PETITION, PetitionType.COMPLAINT)
    assert result.slots.enterprise_name == "郑州市二七区某某餐饮有限公司"
    assert result.slots.phone == "13812345678"
    assert result.slots.dates == (dt.date(2026, 11, 25),)
    assert "complaint_conduct" in result.reason


def test_traditional_script_is_read_like_simplified() -> None:
    fire = classify("倉庫著火了")
    assert fire.intent is Intent.OUT_OF_SCOPE and fire.emergency_number == "119"
    complaint = classify("我要投訴區裡某部門亂收費")
    assert complaint.intent is Intent.PETITION and complaint.petition_type is PetitionType.COMPLAINT
