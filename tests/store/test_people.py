"""Enterprises, people and their channel identities."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.store import (
    Database,
    Enterprise,
    IdentityConflict,
    SqliteEnterpriseRepo,
    SqlitePeopleRepo,
)
from intents.credit_code import credit_code_check_char

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CST)
CODE_A = "91410103MA44A1B2C" + credit_code_check_char("91410103MA44A1B2C")
CODE_B = "91410103MA55X6Y7D" + credit_code_check_char("91410103MA55X6Y7D")


def company(code: str = CODE_A, **changes: object) -> Enterprise:
    fields: dict[str, object] = {"credit_code": code, "name": "郑州示例科技有限公司", "created_at": T0}
    return Enterprise(**{**fields, **changes})  # type: ignore[arg-type]


async def test_upsert_normalises_the_code_and_keeps_created_at(db: Database) -> None:
    repo = SqliteEnterpriseRepo(db)
    stored = await repo.upsert(company(CODE_A.lower(), industry="软件", tags=("高新技术企业", "专精特新")))
    assert stored.credit_code == CODE_A and stored.tags == ("高新技术企业", "专精特新")
    updated = await repo.upsert(
        company(CODE_A, name="郑州示例科技股份有限公司", created_at=T0 + timedelta(days=1))
    )
    assert updated.name == "郑州示例科技股份有限公司" and updated.created_at == T0
    assert updated.industry is None  # an upsert replaces the profile, it does not merge it
    assert await repo.get(f" {CODE_A.lower()} ") == updated
    assert await repo.get(CODE_B) is None


@pytest.mark.parametrize(
    "code", ["", "12345", CODE_A[:-1] + ("0" if CODE_A[-1] != "0" else "1"), CODE_A + "0"]
)
async def test_invalid_credit_codes_are_refused(db: Database, code: str) -> None:
    with pytest.raises(ValueError, match="统一社会信用代码不正确"):
        await SqliteEnterpriseRepo(db).upsert(company(code))
    assert await db.fetchall("SELECT * FROM enterprises") == []


async def test_identity_linking_is_idempotent_and_exclusive(db: Database) -> None:
    people = SqlitePeopleRepo(db)
    alice = await people.create(at=T0, display_name="王经理", phone="13800138000")
    bob = await people.create(at=T0)
    assert alice.id != bob.id and await people.get(alice.id) == alice

    for _ in range(2):
        await people.link_identity("telegram", "42", alice.id)
    await people.link_identity("wechat", "o-openid-1", alice.id)
    assert await people.find_by_identity("telegram", "42") == alice
    assert await people.find_by_identity("wechat", "o-openid-1") == alice
    assert await people.find_by_identity("web", "42") is None
    rows = await db.fetchall("SELECT count(*) FROM identities WHERE person_id = ?", (alice.id,))
    assert rows[0][0] == 2

    with pytest.raises(IdentityConflict, match="已绑定其他用户"):
        await people.link_identity("telegram", "42", bob.id)
    assert await people.find_by_identity("telegram", "42") == alice


async def test_first_contact_creates_and_links_in_one_go_or_returns_the_owner(db: Database) -> None:
    people = SqlitePeopleRepo(db)
    first = await people.first_contact("web", "chat-1", at=T0, display_name="王经理")
    found = await people.find_by_identity("web", "chat-1")
    assert found is not None and found.id == first and found.display_name == "王经理"

    again = await people.first_contact("web", "chat-1", at=T0 + timedelta(minutes=1))
    assert again == first  # linked already (say by another process): its owner, nothing created
    assert (await db.fetchone("SELECT count(*) FROM people"))[0] == 1  # type: ignore[index]
    assert await db.fetchall("SELECT * FROM first_contacts") == []  # staging rows never stay
    with pytest.raises(ValueError, match="不能为空"):
        await people.first_contact("web", " ", at=T0)


async def test_people_act_for_enterprises(db: Database) -> None:
    enterprises, people = SqliteEnterpriseRepo(db), SqlitePeopleRepo(db)
    a = await enterprises.upsert(company(CODE_A, name="B 公司"))
    b = await enterprises.upsert(company(CODE_B, name="A 公司"))
    person = await people.create(at=T0)
    await people.link_enterprise(person.id, CODE_A.lower(), "法定代表人")
    await people.link_enterprise(person.id, CODE_B, "联络员")
    await people.link_enterprise(person.id, CODE_B, "财务负责人")  # again: the role is updated
    assert await people.enterprises_of(person.id) == [b, a]  # by name
    roles = await db.fetchall("SELECT role FROM person_enterprises WHERE credit_code = ?", (CODE_B,))
    assert [r[0] for r in roles] == ["财务负责人"]
    with pytest.raises(ValueError, match="统一社会信用代码不正确"):
        await people.link_enterprise(person.id, "12345", "联络员")
