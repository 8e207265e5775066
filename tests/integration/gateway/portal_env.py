"""A running portal for tests: the registry, the agencies and the gateway in-process (gRPC on
free ports through ``tests.support.stack.Stack``), plus the gateway's HTTP app served by
uvicorn in a thread on a free port. Residents are registered at the municipality through its
real API, enrolled at the other agencies by their seed modules, and given a real card file.
"""

from __future__ import annotations

import base64
import importlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from faker import Faker
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.card import (
    CARD_FILE_FORMAT,
    Card,
    PinAuthority,
    action_message,
    card_serial,
    load_card,
    login_challenge_message,
    unlock_card,
)
from mynumber_core.card_pin_client import GrpcPinAuthority
from mynumber_dev.cards import issue_demo_card
from mynumber_dev.demo import DemoResident
from services.gateway.wiring import Gateway, build_gateway, build_http_app
from tests.support.stack import DatabaseFactory, Stack, reserved_port

AGENCIES = ("municipality", "pension", "tax", "health")
_counter = itertools.count(1)
_fake = Faker("ja_JP")
_fake.seed_instance(8080)
_lock = threading.Lock()


def available(service: str) -> bool:
    """True when a teammate's service has landed (its wiring imports)."""
    try:
        importlib.import_module(f"services.{service}.wiring")
    except ModuleNotFoundError:
        return False
    return True


@dataclass
class CardHolder:
    """A resident with a card file, as a test drives them."""

    demo: DemoResident
    card_path: Path
    pin: str
    municipality_token: str

    authority: PinAuthority | None = None
    """The card authority's PIN step (set by PortalEnv.make_resident)."""

    def card(self) -> Card:
        """The unlocked card: a legacy file offline, a ``mynumber-card/2`` one online."""
        if (
            self.authority is not None
            and json.loads(self.card_path.read_text()).get("format") == CARD_FILE_FORMAT
        ):
            return unlock_card(self.card_path, self.pin, self.authority)
        return load_card(self.card_path, self.pin)


@contextmanager
def serve_http(app: Any, sock: socket.socket) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on an already bound socket; yields its base
    URL. The socket is closed when the server stops."""
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="portal-http", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal's HTTP server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class PortalEnv:
    """The stack, the HTTP portal and helpers to make residents and log them in."""

    def __init__(
        self,
        var: Path,
        database: DatabaseFactory,
        agencies: tuple[str, ...],
        host: str = "127.0.0.1",
    ) -> None:
        self.var = var
        self.host = host  # "localhost" for WebAuthn, whose RP ID must be a domain
        self.agencies = tuple(a for a in agencies if available(a))
        self._http_socket = reserved_port()  # held until the portal listens on it
        self.http_port = int(self._http_socket.getsockname()[1])
        self.origin = f"http://{host}:{self.http_port}"
        overrides = {
            "gateway": {
                "public_origin": self.origin,
                "http_port": self.http_port,
                "crl_cache_seconds": 0,
                "session_ttl_seconds": 300,
                # Every test resident logs in from 127.0.0.1: limits fit a whole module.
                "rate_login_per_ip": "10000 per minute",
                "rate_per_ip": "100000 per minute",
                # One session drives a whole module (the API fuzz sends thousands of requests).
                "rate_per_session": "100000 per minute",
            }
        }
        self.stack = Stack(
            var, ["registry", *self.agencies, "gateway"], database=database, overrides=overrides
        )
        self.gateway: Gateway | None = None
        self.url = ""

    @contextmanager
    def running(self) -> Iterator[PortalEnv]:
        """Start everything; stop it all on exit."""
        with self.stack:
            self.gateway = build_gateway(self.stack.settings_for("gateway"))
            self.gateway.relay.start()
            try:
                with serve_http(
                    build_http_app(self.gateway.settings, self.gateway), self._http_socket
                ) as url:
                    self.url = url.replace("127.0.0.1", self.host)
                    yield self
            finally:
                self.gateway.stop()

    @property
    def portal(self) -> Any:
        """The HTTP side's use cases (for registering businesses, as an operator would)."""
        assert self.gateway is not None
        return self.gateway.portal

    # ------------------------------------------------------------------ residents

    def new_demo(self, **overrides: Any) -> DemoResident:
        """Synthetic facts for one new resident."""
        with _lock:
            n = next(_counter)
            female = n % 2 == 0
            last, last_kana, _ = _fake.last_name_pair()
            first, first_kana, _ = (
                _fake.first_name_female_pair() if female else _fake.first_name_male_pair()
            )
            birth = _fake.date_of_birth(minimum_age=25, maximum_age=55).isoformat()
            address = f"{_fake.prefecture()}{_fake.city()}{_fake.town()}{n % 9 + 1}丁目{n}番1号"
        values: dict[str, Any] = {
            "name": f"{last} {first}",
            "name_kana": f"{last_kana} {first_kana}",
            "birth_date": birth,
            "sex": "female" if female else "male",
            "address": address,
        }
        values.update(overrides)
        return DemoResident(**values)

    def make_resident(self, *, enrol: tuple[str, ...] = (), pin: str = "4321") -> CardHolder:
        """Register at the municipality, enrol at ``enrol`` agencies, issue a card."""
        demo = self.new_demo()
        if "municipality" in self.agencies:
            seed = importlib.import_module("mynumber_dev.seed_municipality")
            seed.seed(self.stack.channel("municipality", as_identity="operator"), [demo])
        else:
            response = pb_grpc.RegistryStub(
                self.stack.channel("registry", as_identity="municipality")
            ).RegisterResident(
                pb.RegisterResidentRequest(facts=_facts(demo), idempotency_key=f"k{time.time_ns()}")
            )
            demo.my_number = response.my_number
        for agency in enrol:
            if agency in self.agencies and agency != "municipality":
                seed = importlib.import_module(f"mynumber_dev.seed_{agency}")
                seed.seed(self.stack.channel(agency, as_identity="operator"), [demo])
        token = (
            pb_grpc.RegistryStub(self.stack.channel("registry", as_identity="municipality"))
            .Link(pb.LinkRequest(my_number=demo.my_number, facts=_facts(demo)))
            .token
        )
        path = self.var / "cards" / f"card-{next(_counter)}.json"
        issue_demo_card(
            self.stack.channel("registry", as_identity="municipality"), token, path, pin
        )
        authority = GrpcPinAuthority(
            pb_grpc.CardsStub(self.stack.channel("registry", as_identity="gateway"))
        )
        return CardHolder(demo, path, pin, token, authority)

    def revoke(self, resident: CardHolder) -> None:
        """Revoke the resident's card at the counter."""
        pb_grpc.CardsStub(self.stack.channel("registry", as_identity="municipality")).RevokeCard(
            pb.RevokeCardRequest(
                token=resident.municipality_token, serial=card_serial(resident.card_path)
            )
        )

    # ------------------------------------------------------------------ HTTP helpers

    def client(self) -> httpx.Client:
        """A cookie-keeping client for the portal."""
        return httpx.Client(base_url=self.url, timeout=30)

    def login(self, resident: CardHolder, client: httpx.Client | None = None) -> httpx.Client:
        """Log in with the card's signature over a login challenge; returns the client."""
        client = client or self.client()
        card = resident.card()
        challenge = client.post("/api/login/challenge").json()
        message = login_challenge_message(
            challenge["nonce"], challenge["audience"], challenge["issued_at"]
        )
        response = client.post(
            "/api/login",
            json={
                "challenge_id": challenge["challenge_id"],
                "certificate_pem": card.certificate_pem.decode(),
                "signature": b64(card.sign(message)),
            },
        )
        assert response.status_code == 200, response.text
        return client

    def step_up(
        self, client: httpx.Client, resident: CardHolder, action: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """A signed step-up proof for one action with these values."""
        response = client.post("/api/step-up", json={"action": action, "fields": fields})
        assert response.status_code == 200, response.text
        challenge = response.json()
        card = resident.card()
        message = action_message(action, challenge["fields"], challenge["nonce"])
        assert base64.b64decode(challenge["message_b64"]) == message
        return {
            "challenge_id": challenge["challenge_id"],
            "certificate_pem": card.certificate_pem.decode(),
            "signature": b64(card.sign(message)),
        }


def b64(raw: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(raw).decode()


def _facts(demo: DemoResident) -> pb.BasicFacts:
    return pb.BasicFacts(
        name=demo.name,
        birth_date=demo.birth_date,
        sex=pb.SEX_MALE if demo.sex == "male" else pb.SEX_FEMALE,
        address=demo.address,
    )
