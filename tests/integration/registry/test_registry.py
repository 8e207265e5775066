"""The registry's numbers and tokens over real gRPC/mTLS, on SQLite and PostgreSQL.

Registration, linking with the four basic facts, per-domain tokens, reissue, key rotation, and
bad input: each bad request gets the right status, a clear message without personal data, and
leaves every registry table exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from mynumber.registry.v1 import registry_pb2 as pb

from mynumber_core.mynumber import check_digit, validate
from tests.integration.registry.conftest import RegistryEnv, Resident, new_facts


def _error(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def _other_valid_number(number: str) -> str:
    body = f"{(int(number[:11]) + 7_777_777) % 10**11:011d}"
    return body + str(check_digit(body))


def _personal(resident: Resident) -> list[str]:
    f = resident.facts
    return [resident.my_number, f.name, f.address, f.birth_date, *f.name.split()]


def test_register_issues_a_valid_number_and_the_municipality_token(env: RegistryEnv) -> None:
    resident = env.register()
    assert validate(resident.my_number) == resident.my_number
    assert resident.tokens["municipality"]
    again = env.register()
    assert again.my_number != resident.my_number
    resolved = env.registry("municipality").ResolveToken(
        pb.ResolveTokenRequest(token=resident.tokens["municipality"])
    )
    assert resolved.found and resolved.status == pb.PERSON_STATUS_ACTIVE


def test_registration_is_idempotent_by_key(env: RegistryEnv) -> None:
    facts = new_facts()
    first = env.register(facts, key="juki-2025-000123")
    before = env.snapshot()
    second = env.register(facts, key="juki-2025-000123")
    assert (second.my_number, second.tokens) == (first.my_number, first.tokens)
    assert env.snapshot() == before


def test_each_domain_gets_its_own_stable_token(env: RegistryEnv) -> None:
    resident = env.linked("pension", "tax", "portal")
    tokens = resident.tokens
    assert len(set(tokens.values())) == 4, "every domain must get a different token"
    again = env.link(Resident(resident.facts, resident.my_number), "pension", "tax", "portal")
    assert again.tokens["pension"] == tokens["pension"]
    assert again.tokens["tax"] == tokens["tax"]
    assert again.tokens["portal"] == tokens["portal"]
    other = env.linked("pension")
    assert other.tokens["pension"] != tokens["pension"]


def test_link_matches_despite_width_and_whitespace(env: RegistryEnv) -> None:
    facts = pb.BasicFacts(
        name="渡辺 ｻﾄｼ",
        birth_date="1975-11-03",
        sex=pb.SEX_MALE,
        address="大阪府大阪市北区梅田1丁目2-3",
    )
    resident = env.link(env.register(facts), "pension")
    variant = pb.BasicFacts(
        name=" 渡辺\u3000\u3000サトシ\t",
        birth_date=" 1975-11-03 ",
        sex=pb.SEX_MALE,
        address="大阪府大阪市北区梅田１丁目２－３",
    )
    spaced = "\u3000" + resident.my_number
    fullwidth = resident.my_number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for number in (spaced + " ", fullwidth):
        got = env.registry("pension").Link(pb.LinkRequest(my_number=number, facts=variant))
        assert got.token == resident.tokens["pension"]


@pytest.mark.parametrize("wrong", ["name", "birth_date", "sex", "address", "number"])
def test_mismatched_facts_are_not_found_without_revealing_anything(
    env: RegistryEnv, wrong: str
) -> None:
    resident = env.register()
    facts = pb.BasicFacts()
    facts.CopyFrom(resident.facts)
    number = resident.my_number
    if wrong == "name":
        facts.name = facts.name + "子"
    elif wrong == "birth_date":
        facts.birth_date = "1901-01-01" if facts.birth_date != "1901-01-01" else "1902-01-01"
    elif wrong == "sex":
        facts.sex = pb.SEX_FEMALE if facts.sex == pb.SEX_MALE else pb.SEX_MALE
    elif wrong == "address":
        facts.address = "北海道札幌市中央区北1条西2丁目"
    else:
        number = _other_valid_number(number)  # valid, never issued
    before = env.snapshot()
    error = _error(
        lambda: env.registry("pension").Link(pb.LinkRequest(my_number=number, facts=facts))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    message = error.details()
    assert "matches" in message and "four basic facts" in message
    for value in [*_personal(resident), number, facts.name, facts.address]:
        assert value not in message
    assert env.snapshot() == before


def test_resolve_token_only_for_the_owning_domain(env: RegistryEnv) -> None:
    resident = env.linked("pension", "tax")
    own = env.registry("pension").ResolveToken(
        pb.ResolveTokenRequest(token=resident.tokens["pension"])
    )
    assert own.found and own.status == pb.PERSON_STATUS_ACTIVE and own.key_version == 1
    for token in (resident.tokens["tax"], resident.tokens["municipality"], "not-a-token", ""):
        other = env.registry("pension").ResolveToken(pb.ResolveTokenRequest(token=token))
        assert not other.found and other.status == pb.PERSON_STATUS_UNSPECIFIED
    # The portal resolves nothing: it learns its token from a card login only.
    gateway = pb.ResolveTokenRequest(token=resident.tokens["pension"])
    error = _error(lambda: env.registry("gateway").ResolveToken(gateway))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_reissue_retires_the_old_number_and_keeps_every_token(env: RegistryEnv) -> None:
    resident = env.linked("pension", "tax", "portal")
    old_number = resident.my_number
    request = pb.ReissueNumberRequest(
        token=resident.tokens["municipality"], reason="card stolen", idempotency_key="reissue-0001"
    )
    new_number = env.registry("municipality").ReissueNumber(request).my_number
    assert validate(new_number) == new_number and new_number != old_number
    # A retried reissue returns the same new number and issues nothing more.
    before = env.snapshot()
    assert env.registry("municipality").ReissueNumber(request).my_number == new_number
    assert env.snapshot() == before

    error = _error(
        lambda: env.registry("tax").Link(pb.LinkRequest(my_number=old_number, facts=resident.facts))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "reissued" in error.details() and "no longer valid" in error.details()
    assert old_number not in error.details() and new_number not in error.details()

    relinked = env.link(Resident(resident.facts, new_number), "pension", "tax", "portal")
    for dom in ("pension", "tax", "portal"):
        assert relinked.tokens[dom] == resident.tokens[dom]
    for dom, ident in (
        ("pension", "pension"),
        ("tax", "tax"),
        ("municipality", "municipality"),
    ):
        resolved = env.registry(ident).ResolveToken(
            pb.ResolveTokenRequest(token=resident.tokens[dom])
        )
        assert resolved.found and resolved.status == pb.PERSON_STATUS_NUMBER_REISSUED
    # A domain that never linked can link with the new number.
    assert env.link(Resident(resident.facts, new_number), "health").tokens["health"]


def test_the_resident_can_reissue_through_the_portal(env: RegistryEnv) -> None:
    resident = env.linked("portal")
    new_number = (
        env.registry("gateway")
        .ReissueNumber(
            pb.ReissueNumberRequest(token=resident.tokens["portal"], idempotency_key="portal-r-1")
        )
        .my_number
    )
    assert validate(new_number) and new_number != resident.my_number


def test_update_facts_changes_what_link_must_match(env: RegistryEnv) -> None:
    resident = env.register()
    moved = pb.BasicFacts()
    moved.CopyFrom(resident.facts)
    moved.address = "沖縄県那覇市泉崎1丁目2番2号"
    env.registry("municipality").UpdateFacts(
        pb.UpdateFactsRequest(token=resident.tokens["municipality"], facts=moved)
    )
    error = _error(lambda: env.link(resident, "tax"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert env.link(Resident(moved, resident.my_number), "tax").tokens["tax"]


def test_key_rotation_keeps_old_tokens_and_gives_new_links_the_new_version(
    env: RegistryEnv,
) -> None:
    # Only this test rotates, and only health's key (the module's stack is shared).
    early = env.register()
    first = env.registry("health").Link(
        pb.LinkRequest(my_number=early.my_number, facts=early.facts)
    )
    rotated = env.registry("operator").RotateTokenKey(pb.RotateTokenKeyRequest(domain="health"))
    assert rotated.key_version == first.key_version + 1

    resolved = env.registry("health").ResolveToken(pb.ResolveTokenRequest(token=first.token))
    assert resolved.found and resolved.key_version == first.key_version
    relink = env.registry("health").Link(
        pb.LinkRequest(my_number=early.my_number, facts=early.facts)
    )
    assert (relink.token, relink.key_version) == (first.token, first.key_version)

    late = env.register()
    fresh = env.registry("health").Link(pb.LinkRequest(my_number=late.my_number, facts=late.facts))
    assert fresh.key_version == rotated.key_version
    resolved = env.registry("health").ResolveToken(pb.ResolveTokenRequest(token=fresh.token))
    assert resolved.found and resolved.key_version == rotated.key_version
    # Other domains are untouched by health's rotation.
    tax = env.registry("tax").Link(pb.LinkRequest(my_number=late.my_number, facts=late.facts))
    assert tax.key_version == 1
    again = env.registry("operator").RotateTokenKey(pb.RotateTokenKeyRequest(domain="health"))
    assert again.key_version == rotated.key_version + 1


# ----------------------------------------------------------------------------- bad input

Case = Callable[[RegistryEnv, Resident], Any]


def _register(facts: pb.BasicFacts, key: str = "") -> Case:
    return lambda env, _: env.registry("municipality").RegisterResident(
        pb.RegisterResidentRequest(facts=facts, idempotency_key=key)
    )


def _facts(**changes: Any) -> pb.BasicFacts:
    facts = pb.BasicFacts(
        name="高橋 美咲",
        birth_date="1992-08-15",
        sex=pb.SEX_FEMALE,
        address="福岡県福岡市博多区博多駅前3-2-1",
    )
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def _link_number(number: Callable[[str], str]) -> Case:
    return lambda env, r: env.registry("pension").Link(
        pb.LinkRequest(my_number=number(r.my_number), facts=r.facts)
    )


def _wrong_check_digit(number: str) -> str:
    return number[:11] + str((int(number[11]) + 3) % 10)


BAD_INPUT: dict[str, tuple[Case, grpc.StatusCode, str]] = {
    "hyphenated number": (
        _link_number(lambda n: f"{n[:4]}-{n[4:8]}-{n[8:]}"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "not a digit",
    ),
    "wrong check digit": (
        _link_number(_wrong_check_digit),
        grpc.StatusCode.INVALID_ARGUMENT,
        "check digit",
    ),
    "short number": (
        _link_number(lambda n: n[:11]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "exactly 12",
    ),
    "letters in number": (
        _link_number(lambda n: n[:6] + "O" + n[7:]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "not a digit",
    ),
    "empty number": (_link_number(lambda n: ""), grpc.StatusCode.INVALID_ARGUMENT, "no digits"),
    "link without facts": (
        lambda env, r: env.registry("pension").Link(pb.LinkRequest(my_number=r.my_number)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "sex",
    ),
    "name too long": (
        _register(_facts(name="山" * 101)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "name is too long",
    ),
    "address too long": (
        _register(_facts(address="東" * 201)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "address is too long",
    ),
    "empty name": (
        _register(_facts(name="\u3000 ")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "name is empty",
    ),
    "empty address": (
        _register(_facts(address="")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "address is empty",
    ),
    "no facts at all": (_register(pb.BasicFacts()), grpc.StatusCode.INVALID_ARGUMENT, "sex"),
    "impossible birth date": (
        _register(_facts(birth_date="1992-02-30")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "birth_date",
    ),
    "future birth date": (
        _register(_facts(birth_date="2999-01-01")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "birth_date",
    ),
    "birth date format": (
        _register(_facts(birth_date="平成4年8月15日")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "YYYY-MM-DD",
    ),
    "sex unspecified": (
        _register(_facts(sex=pb.SEX_UNSPECIFIED)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "SEX_MALE",
    ),
    "control character in name": (
        _register(_facts(name="高橋\x00美咲")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "name",
    ),
    "malformed idempotency key": (
        _register(_facts(), key="key with spaces"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "idempotency_key",
    ),
    "reused idempotency key, other facts": (
        _register(_facts(name="別人 花子"), key="juki-dup-1"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "idempotency_key",
    ),
    "bulk with one bad row": (
        lambda env, _: env.registry("municipality").BulkRegister(
            pb.BulkRegisterRequest(
                residents=[
                    pb.RegisterResidentRequest(facts=_facts(name="一郎")),
                    pb.RegisterResidentRequest(facts=_facts(birth_date="bad")),
                ]
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "birth_date",
    ),
    "rotate unknown domain": (
        lambda env, _: env.registry("operator").RotateTokenKey(
            pb.RotateTokenKeyRequest(domain="police")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "unknown domain",
    ),
    "rotate empty domain": (
        lambda env, _: env.registry("operator").RotateTokenKey(pb.RotateTokenKeyRequest()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "unknown domain",
    ),
    "reissue without idempotency key": (
        lambda env, r: env.registry("municipality").ReissueNumber(
            pb.ReissueNumberRequest(token=r.tokens["municipality"])
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "idempotency_key",
    ),
    "reissue key already used for a registration": (
        lambda env, r: env.registry("municipality").ReissueNumber(
            pb.ReissueNumberRequest(token=r.tokens["municipality"], idempotency_key="juki-dup-1")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "idempotency_key",
    ),
    "reissue with another domain's token": (
        lambda env, r: env.registry("municipality").ReissueNumber(
            pb.ReissueNumberRequest(token=r.tokens["pension"], idempotency_key="r-x-1")
        ),
        grpc.StatusCode.NOT_FOUND,
        "not known to your domain",
    ),
    "unknown lock": (
        lambda env, r: env.registry("gateway").SetLocks(
            pb.SetLocksRequest(token=r.tokens["portal"], locks=["freeze_everything"])
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "unknown lock",
    ),
    "pension registers a resident": (
        lambda env, _: env.registry("pension").RegisterResident(
            pb.RegisterResidentRequest(facts=_facts())
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "may not call",
    ),
    "tax updates facts": (
        lambda env, r: env.registry("tax").UpdateFacts(
            pb.UpdateFactsRequest(token=r.tokens["tax"], facts=_facts())
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "may not call",
    ),
    "pension reissues a number": (
        lambda env, r: env.registry("pension").ReissueNumber(
            pb.ReissueNumberRequest(token=r.tokens["pension"], idempotency_key="p-1")
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "may not call",
    ),
    "pension sets locks": (
        lambda env, r: env.registry("pension").SetLocks(
            pb.SetLocksRequest(token=r.tokens["pension"])
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "may not call",
    ),
    "tax rotates a key": (
        lambda env, _: env.registry("tax").RotateTokenKey(pb.RotateTokenKeyRequest(domain="tax")),
        grpc.StatusCode.PERMISSION_DENIED,
        "may not call",
    ),
    "operator links": (
        lambda env, r: env.registry("operator").Link(
            pb.LinkRequest(my_number=r.my_number, facts=r.facts)
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "may not call",
    ),
    "registry identity registers": (
        lambda env, _: env.registry("registry").RegisterResident(
            pb.RegisterResidentRequest(facts=_facts())
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "may not call",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_clearly_and_changes_nothing(env: RegistryEnv, case: str) -> None:
    call, code, fragment = BAD_INPUT[case]
    resident = env.linked("pension", "tax", "portal")
    env.register(_facts(), key="juki-dup-1")
    before = env.snapshot()
    error = _error(lambda: call(env, resident))
    assert error.code() == code, error.details()
    assert fragment in error.details()
    for value in [*_personal(resident), "高橋", "美咲", "山" * 20, "東" * 20]:
        assert value not in error.details()
    assert env.snapshot() == before
