"""Typed helpers for end-to-end tests: call each service of a running platform as an identity.

``Clients(var, endpoints)`` hands out stubs over the platform's real mTLS channels, acting as
any dev identity (``operator`` for the counter APIs, an agency for the registry, ``registry``
for a provider's ``Deliver``, ``gateway`` for the portal's token domain). On top of the stubs:

* :meth:`Clients.register` — a new synthetic resident through the municipality's real API
  (the registry issues the number); :meth:`enrol_pension`, :meth:`register_taxpayer`,
  :meth:`enrol_health` enrol them at each agency with the number and the four facts;
* :meth:`Clients.verified_log` — the resident's exchange log read as the portal, every
  entry's inclusion proof checked against the signed checkpoint under the log key pinned from
  the registry's keyring (not from the answer);
* :class:`PortalSession` — a card login to the portal's HTTP API, then inbox and notices;
* :class:`ServiceDb` — read a service's own database (decrypting with its own keyring) where
  no API exposes what a test must check.

Every number a test registers is remembered in :data:`CREATED` so the invariant scan covers
it too.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.healthinsurance.v1 import health_insurance_pb2 as hpb
from mynumber.healthinsurance.v1 import health_insurance_pb2_grpc as hpb_grpc
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.municipality.v1 import municipality_pb2_grpc as mpb_grpc
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as ppb_grpc
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rpb_grpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tpb_grpc

from mynumber_core.calendar import today_jst
from mynumber_core.card import login_challenge_message, unlock_card
from mynumber_core.card_pin_client import PortalPinAuthority
from mynumber_core.channels import Channels
from mynumber_core.checkpoint import Checkpoint
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.logverifier import TrustedLog, verify_checkpoint, verify_entry_inclusion
from mynumber_core.tls import TlsMaterial
from mynumber_dev.cards import issue_demo_card
from mynumber_dev.keys import keyring_path, tls_dir
from tests.support.resident_device import PortalLogin, portal_login_for

CREATED: list[Person] = []
"""Every resident the e2e tests registered in this process (for the invariant-1 scan)."""

RPC_TIMEOUT = 60.0
SEX_PB = {"male": rpb.SEX_MALE, "female": rpb.SEX_FEMALE}
_MUNI_SEX = {"male": mpb.SEX_MALE, "female": mpb.SEX_FEMALE}
_serial = itertools.count(1)

# Synthetic names (kanji, katakana); nobody real.
_GIVEN = [
    ("翔太", "ショウタ", "male"),
    ("美咲", "ミサキ", "female"),
    ("健一", "ケンイチ", "male"),
    ("陽子", "ヨウコ", "female"),
    ("大輔", "ダイスケ", "male"),
    ("恵", "メグミ", "female"),
    ("拓也", "タクヤ", "male"),
    ("由美", "ユミ", "female"),
]
_FAMILY = [
    ("佐々木", "ササキ"),
    ("千葉", "チバ"),
    ("及川", "オイカワ"),
    ("菊池", "キクチ"),
    ("熊谷", "クマガイ"),
    ("村上", "ムラカミ"),
]


def key() -> str:
    """A fresh idempotency key / request id."""
    return uuid.uuid4().hex


@dataclass(eq=False)
class Person:
    """A resident a test registered: what the forms carry, plus their local identifiers."""

    my_number: str
    name: str
    name_kana: str
    birth_date: str
    sex: str
    address: str
    address_number: str = ""
    household_id: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    """Local identifiers: pension → basic pension number, tax → reference, health → token."""

    def registry_facts(self) -> rpb.BasicFacts:
        """The four facts as the registry's message."""
        return rpb.BasicFacts(
            name=self.name, birth_date=self.birth_date, sex=SEX_PB[self.sex], address=self.address
        )

    def form(self, module: Any) -> Any:
        """The pension/tax ``FormIdentity`` (number + four facts as written on a form)."""
        return module.FormIdentity(
            my_number=self.my_number,
            name=self.name,
            birth_date=self.birth_date,
            sex=self.sex,
            address=self.address,
        )


def synthetic_person(address: str, *, age: int, sex: str | None = None) -> dict[str, str]:
    """Facts for a new synthetic resident of ``age`` living at ``address``."""
    n = next(_serial)
    given, given_kana, given_sex = _GIVEN[n % len(_GIVEN)]
    family, family_kana = _FAMILY[(n // len(_GIVEN) + n) % len(_FAMILY)]
    today = today_jst()
    birth = dt.date(today.year - age - 1, 1 + n % 12, 1 + n % 28)
    return {
        "name": f"{family} {given}",
        "name_kana": f"{family_kana} {given_kana}",
        "birth_date": birth.isoformat(),
        "sex": sex or given_sex,
        "address": address,
    }


class Clients:
    """Stubs over the platform's real channels, as any dev identity."""

    def __init__(self, var: Path, endpoints: dict[str, str], *, http_port: int = 0) -> None:
        self.var = var
        self.endpoints = endpoints
        self.http_port = http_port
        self._channels: dict[str, Channels] = {}
        self._trusted: TrustedLog | None = None
        self._portal_logins: dict[str, PortalLogin] = {}

    @classmethod
    def of(cls, running: Any) -> Clients:
        """From a ``tests.e2e.conftest.RunningPlatform``."""
        platform = running.platform
        return cls(running.var, platform.endpoints, http_port=platform.http_port)

    def close(self) -> None:
        """Close every channel."""
        for channels in self._channels.values():
            channels.close()
        self._channels.clear()

    def channel(self, service: str, identity: str) -> grpc.Channel:
        """A channel to ``service`` authenticated as ``identity``."""
        if identity not in self._channels:
            self._channels[identity] = Channels(
                TlsMaterial(tls_dir(self.var, identity)),
                self.endpoints,
                default_timeout=RPC_TIMEOUT,
            )
        return self._channels[identity].channel(service)

    # ------------------------------------------------------------------ stubs

    def registry(self, identity: str) -> rpb_grpc.RegistryStub:
        """``Registry`` as ``identity``."""
        return rpb_grpc.RegistryStub(self.channel("registry", identity))

    def hub(self, identity: str) -> rpb_grpc.HubStub:
        """``Hub`` as ``identity``."""
        return rpb_grpc.HubStub(self.channel("registry", identity))

    def exchange_log(self, identity: str = "gateway") -> rpb_grpc.ExchangeLogStub:
        """``ExchangeLog`` as ``identity`` (the portal by default)."""
        return rpb_grpc.ExchangeLogStub(self.channel("registry", identity))

    def municipality(self) -> mpb_grpc.MunicipalityStub:
        """The municipality's counter API."""
        return mpb_grpc.MunicipalityStub(self.channel("municipality", "operator"))

    def pension(self) -> ppb_grpc.PensionStub:
        """The pension service's counter API."""
        return ppb_grpc.PensionStub(self.channel("pension", "operator"))

    def tax(self) -> tpb_grpc.TaxStub:
        """The tax office's counter API."""
        return tpb_grpc.TaxStub(self.channel("tax", "operator"))

    def health(self) -> hpb_grpc.HealthInsuranceStub:
        """The insurer's clerk/clinic API."""
        return hpb_grpc.HealthInsuranceStub(self.channel("health", "operator"))

    def provider(self, service: str) -> exchange_pb2_grpc.ProviderStub:
        """A service's ``Provider`` as the registry (to redeliver an event by hand)."""
        return exchange_pb2_grpc.ProviderStub(self.channel(service, "registry"))

    # ------------------------------------------------------------------ residents

    def register(
        self, address: str, *, age: int, sex: str | None = None, household_id: str = ""
    ) -> Person:
        """Register a new resident at the municipality; the registry issues their number."""
        facts = synthetic_person(address, age=age, sex=sex)
        response = self.municipality().RegisterResident(
            mpb.RegisterResidentRequest(
                resident=mpb.ResidentFacts(
                    name=facts["name"],
                    name_kana=facts["name_kana"],
                    birth_date=facts["birth_date"],
                    sex=_MUNI_SEX[facts["sex"]],
                    address=address,
                    resident_type=mpb.RESIDENT_TYPE_CITIZEN,
                ),
                household_id=household_id,
                relationship="子" if household_id else "",
                idempotency_key=key(),
            )
        )
        person = Person(
            my_number=response.my_number,
            name=facts["name"],
            name_kana=facts["name_kana"],
            birth_date=facts["birth_date"],
            sex=facts["sex"],
            address=address,
            address_number=response.address_number,
            household_id=response.household_id,
        )
        CREATED.append(person)
        return person

    def link(self, identity: str, person: Person) -> str:
        """The token of ``identity``'s domain for the person (number + four facts)."""
        return str(
            self.registry(identity)
            .Link(rpb.LinkRequest(my_number=person.my_number, facts=person.registry_facts()))
            .token
        )

    def enrol_pension(self, person: Person) -> str:
        """Enrol as a category 1 insured; returns the basic pension number."""
        number = (
            self.pension()
            .Enrol(
                ppb.EnrolRequest(
                    identity=person.form(ppb),
                    category=ppb.INSURED_CATEGORY_1,
                    enrolled_on=dt.date(today_jst().year - 3, 4, 1).isoformat(),
                )
            )
            .basic_pension_number
        )
        person.ids["pension"] = number
        return str(number)

    def register_taxpayer(self, person: Person) -> str:
        """Register at the tax office; returns the taxpayer reference number."""
        ref = self.tax().RegisterTaxpayer(tpb.RegisterTaxpayerRequest(identity=person.form(tpb)))
        person.ids["tax"] = ref.reference_number
        return str(ref.reference_number)

    def record_income(
        self, person: Person, year: int, *, salary: int = 0, business: int = 0
    ) -> Any:
        """Record (or amend) a year's income at the tax office."""
        return self.tax().RecordIncome(
            tpb.RecordIncomeRequest(
                reference_number=person.ids["tax"],
                year=year,
                salary_income_yen=salary,
                business_income_yen=business,
                withholding_yen=salary * 3 // 100,
            )
        )

    def enrol_health(self, person: Person, *, valid_from: str = "2020-04-01") -> str:
        """Open a health insurance coverage; returns the insurer's token.

        National health insurance, or the late-elderly scheme (後期高齢者医療) for a person who
        is 75 or over on ``valid_from``, as the law has it: a synthetic birth date then decides
        nothing about whether the enrolment is accepted."""
        from services.health.domain import late_elderly_start, make_insurer_number

        start = dt.date.fromisoformat(valid_from)
        elderly = start >= late_elderly_start(dt.date.fromisoformat(person.birth_date))
        response = self.health().Enrol(
            hpb.EnrolRequest(
                my_number=person.my_number,
                facts=person.registry_facts(),
                insurer_number=(
                    make_insurer_number("3903001")
                    if elderly
                    else make_insurer_number("03" + f"{200 + len(CREATED) % 100:03d}")
                ),
                plan=(
                    hpb.PLAN_TYPE_LATE_ELDERLY
                    if elderly
                    else hpb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE
                ),
                insured=hpb.InsuredNumber(symbol="12", number=f"{next(_serial):07d}", branch="00"),
                valid_from=valid_from,
                income_category=hpb.INCOME_CATEGORY_GENERAL,
                idempotency_key=key(),
            )
        )
        person.ids["health"] = response.token
        return str(response.token)

    def issue_card(self, person: Person, directory: Path, pin: str = "4321") -> Path:
        """Issue the resident a My Number Card (key made here, CSR to the registry)."""
        token = self.link("municipality", person)
        path = directory / f"card-{person.address_number}.card"
        issue_demo_card(self.channel("registry", "municipality"), token, path, pin)
        return path

    # ------------------------------------------------------------------ the exchange log

    def trusted_log(self) -> TrustedLog:
        """The log's key, pinned from the registry's own keyring (not from any answer)."""
        if self._trusted is None:
            secret = Keyring.load(keyring_path(self.var, "registry")).keyset("log-signing")
            public = Ed25519PrivateKey.from_private_bytes(secret.active_key).public_key()
            name = self.exchange_log().GetCheckpoint(rpb.GetCheckpointRequest()).key_name
            self._trusted = TrustedLog(origin=name, key_name=name, public_key=public)
        return self._trusted

    def portal_login(self, person: Person) -> PortalLogin:
        """The portal's grant for the person, from a card login (the portal may not link by
        number): a card issued at the counter signs a registry login challenge. Kept per
        person while its grant works."""
        key = person.my_number
        login = self._portal_logins.get(key)
        if login is not None:
            try:
                login.step_up("set_locks", {"locks": ""})  # any grant-bound call: still live?
                return login
            except grpc.RpcError:
                pass
        login = portal_login_for(
            self.channel("registry", "municipality"),
            self.channel("registry", "gateway"),
            person.my_number,
            person.registry_facts(),
        )
        self._portal_logins[key] = login
        return login

    def verified_log(self, person: Person) -> tuple[Checkpoint, list[rpb.LogEntry]]:
        """Every log entry about the person (as the portal), each proven in the checkpoint.

        Pages through ``ListEntries``; each page's checkpoint is verified under the pinned
        key and each entry's leaf bytes are proven to be leaf ``index`` of that tree.
        """
        login = self.portal_login(person)
        token = login.token
        stub = self.exchange_log()
        entries: list[rpb.LogEntry] = []
        after: int | None = None
        checkpoint: Checkpoint | None = None
        while True:
            request = rpb.ListEntriesRequest(token=token, page_size=1000)
            if after is not None:
                request.after_index, request.has_after = after, True
            page = stub.ListEntries(request, metadata=login.metadata())
            checkpoint = verify_checkpoint(self.trusted_log(), page.checkpoint)
            for entry in page.entries:
                verify_entry_inclusion(
                    checkpoint, bytes(entry.leaf), entry.index, list(entry.inclusion_proof)
                )
                assert json.loads(bytes(entry.leaf))  # the leaf is the canonical JSON record
            entries.extend(page.entries)
            if len(page.entries) < 1000:
                break
            after = page.entries[-1].index
        assert checkpoint is not None
        return checkpoint, entries


class PortalSession:
    """A resident logged in to the portal's HTTP API with their card."""

    def __init__(self, http_port: int, card_file: Path, pin: str) -> None:
        self.origin = f"http://127.0.0.1:{http_port}"
        self.client = httpx.Client(base_url=self.origin, timeout=RPC_TIMEOUT)
        card = unlock_card(card_file, pin, PortalPinAuthority(self.origin))
        challenge = self._ok(self.client.post("/api/login/challenge")).json()
        assert challenge["audience"] == self.origin, "the challenge names another portal"
        message = login_challenge_message(
            challenge["nonce"], challenge["audience"], int(challenge["issued_at"])
        )
        self._ok(
            self.client.post(
                "/api/login",
                json={
                    "challenge_id": challenge["challenge_id"],
                    "certificate_pem": card.certificate_pem.decode(),
                    "signature": base64.b64encode(card.sign(message)).decode(),
                },
            )
        )

    @staticmethod
    def _ok(response: httpx.Response) -> httpx.Response:
        assert response.status_code < 400, (response.status_code, response.text[:300])
        return response

    def inbox(self) -> list[dict[str, Any]]:
        """The inbox documents, newest first (English titles)."""
        documents: list[dict[str, Any]] = self._ok(
            self.client.get("/api/inbox", params={"lang": "en"})
        ).json()["documents"]
        return documents

    def notices(self) -> list[dict[str, Any]]:
        """The notices, newest first (English titles)."""
        documents: list[dict[str, Any]] = self._ok(
            self.client.get("/api/notices", params={"lang": "en"})
        ).json()["documents"]
        return documents

    def close(self) -> None:
        """Drop the HTTP client."""
        self.client.close()


class ServiceDb:
    """Read-only access to one service's own database, decrypting with its own keyring."""

    def __init__(self, running: Any, service: str, cipher_domain: str | None = None) -> None:
        self.engine = sa.create_engine(running.platform.database_url(service))
        self.cipher = FieldCipher(Keyring.load(keyring_path(running.var, service)))
        self.domain = cipher_domain or service

    def rows(self, query: str, **params: Any) -> list[sa.Row[Any]]:
        """Run a read-only SQL query."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(query), params))

    def decrypt(self, sealed: str, label: str) -> str:
        """An ``EncryptedText`` value of column ``label`` ("table.column")."""
        return self.cipher.decrypt(sealed, f"{self.domain}/{label}")

    def close(self) -> None:
        """Dispose of the pool."""
        self.engine.dispose()
