"""Errors raised before a handler runs use the documented ``ErrorBody`` too: unparseable and
schema-invalid bodies (400, like every invalid input), unknown paths (404) and methods a path
does not take (405, with an ``Allow`` header that lists every method the path takes, checked
for every path)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.gateway.portal_env import PortalEnv

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def assert_error_body(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    return body["error"]


def test_unparseable_json_is_an_error_body(env: PortalEnv) -> None:
    response = httpx.post(
        f"{env.url}/api/login",
        content=b'{"challenge_id": "abc", "certificate_pem": ',
        headers={"content-type": "application/json"},
    )
    error = assert_error_body(response, 400, "invalid_argument")
    assert "not valid JSON" in error["message"]


def test_schema_errors_name_the_field_without_echoing_it(env: PortalEnv) -> None:
    secret = "ZZZ-this-value-must-not-be-echoed"
    response = httpx.post(f"{env.url}/api/login", json={"challenge_id": secret})
    error = assert_error_body(response, 400, "invalid_argument")
    assert "body.certificate_pem" in error["message"] and "body.signature" in error["message"]
    assert secret not in response.text


def test_unknown_path_is_an_error_body(env: PortalEnv) -> None:
    assert_error_body(httpx.get(f"{env.url}/api/no-such-thing"), 404, "not_found")


def test_every_path_answers_other_methods_with_405_and_its_real_allow(env: PortalEnv) -> None:
    schema = httpx.get(f"{env.url}/openapi.json").json()
    checked = 0
    for path, item in schema["paths"].items():
        documented = {method.upper() for method in item if method.upper() in METHODS}
        concrete = path.replace("{", "x").replace("}", "")  # any value fills a path parameter
        for method in sorted(set(METHODS) - documented):
            response = httpx.request(method, f"{env.url}{concrete}")
            assert_error_body(response, 405, "method_not_allowed")
            listed = {m.strip() for m in response.headers["allow"].split(",")}
            assert listed - {"HEAD"} == documented, (method, path, listed)
            if "HEAD" in listed:  # listed only where it is really served
                assert httpx.head(f"{env.url}{concrete}").status_code != 405
            checked += 1
    assert checked > 50


def test_validation_errors_are_documented_as_error_bodies(env: PortalEnv) -> None:
    schema = httpx.get(f"{env.url}/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)  # invalid input is a 400
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    content = response["content"]["application/json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (
                        method,
                        path,
                        status,
                    )


def test_a_date_range_that_ends_before_it_starts_is_a_documented_400(env: PortalEnv) -> None:
    client = env.login(env.make_resident())
    response = client.get("/api/log", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_argument"
    assert "from must not be after to" in response.json()["error"]["message"]
    documented = client.get("/openapi.json").json()["paths"]["/api/log"]["get"]["responses"]
    assert "400" in documented
