"""Logs never leak a My Number, in any service.

Each service's real gRPC application (its wiring, servicers and the shared interceptors) is
served once more with a fault injected inside the call: an exception whose message, cause and a
nested field each carry a valid My Number. The caller gets INTERNAL with a generic message; the
log has the redacted traceback; and the number appears in no output at all (the JSON log, and
anything written to stdout or stderr, stdlib loggers included).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_interceptor import ServerInterceptor

from mynumber_core.channels import Channels
from mynumber_core.interceptors import ANY_PEER
from mynumber_core.log import configure_logging
from mynumber_core.mynumber import generate
from mynumber_core.server import running
from mynumber_core.settings import SERVICE_NAMES
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import tls_dir
from tests.support.stack import Stack

SERVICES = SERVICE_NAMES


class Bug(ServerInterceptor):
    """Inside the call: a programming error whose texts carry the number."""

    def __init__(self, number: str) -> None:
        self.number = number

    def intercept(
        self, method: Callable[..., Any], request: Any, context: Any, method_name: str
    ) -> Any:
        logging.getLogger("sqlalchemy.engine").warning("statement for %s", self.number)
        try:
            raise KeyError(f"no row for {self.number}")
        except KeyError as cause:
            raise ValueError(
                f"lookup of {self.number} failed", {"resident": {"numbers": [self.number]}}
            ) from cause


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("leaks")
    with Stack(var, SERVICES) as running_stack:
        yield running_stack


def _allowed_call(access: dict[str, frozenset[str]]) -> tuple[str, str]:
    for method, identities in sorted(access.items()):
        named = sorted(i for i in identities if i != ANY_PEER)
        if named:
            return method, named[0]
    raise AssertionError("no method names an identity")


@pytest.mark.parametrize("service", SERVICES)
def test_a_my_number_in_an_exception_reaches_no_output(
    stack: Stack, service: str, capfd: pytest.CaptureFixture[str]
) -> None:
    number = generate(lambda _: False)
    app = stack.apps[service]
    faulty = dataclasses.replace(app, extra_interceptors=(*app.extra_interceptors, Bug(number)))
    method, caller = _allowed_call(dict(app.access))
    buffer = io.StringIO()
    configure_logging(fmt="json", level="info", stream=buffer)
    try:
        settings = stack.settings_for(service)
        with running(faulty, TlsMaterial(settings.tls_dir)) as server:
            channels = Channels(
                TlsMaterial(tls_dir(stack.var, caller)),
                {service: f"127.0.0.1:{server.port}"},
            )
            with pytest.raises(grpc.RpcError) as info:
                channels.channel(service).unary_unary(method)(b"", timeout=10)
            channels.close()
    finally:
        configure_logging(fmt="json", level="info")
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert number not in (info.value.details() or "")
    out, err = capfd.readouterr()
    logged = buffer.getvalue()
    lines = [json.loads(line) for line in logged.splitlines() if line.strip()]
    [error] = [x for x in lines if x.get("event") == "unexpected error"]
    assert "ValueError" in error["exception"] and "KeyError" in error["exception"]
    assert any(x.get("logger") == "sqlalchemy.engine" for x in lines)  # stdlib, as JSON
    for text in (logged, out, err):
        assert number not in text
