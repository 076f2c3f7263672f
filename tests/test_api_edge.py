"""The HTTP edge from outside: bodies JSON cannot echo, invisible messages, chunked bodies,
and error bodies that match what the OpenAPI spec documents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from advisor.api.problems import ErrorBody
from advisor.chat.validation import clean_message
from advisor.errors import InvalidInput
from advisor.settings import Settings
from tests.test_api_bad_input import turn_count

JSON = {"Content-Type": "application/json"}
COMPLETION = '{"messages": [{"role": "user", "content": %s}]}'

NON_FINITE = [
    ("/v1/chat", '{"message": NaN}', ["body", "message"]),
    ("/v1/chat", '{"message": Infinity}', ["body", "message"]),
    ("/v1/chat", '{"message": "hi", "session_id": -Infinity}', ["body", "session_id"]),
    ("/v1/search", '{"query": NaN}', ["body", "query"]),
    ("/v1/search", '{"query": "apy", "k": Infinity}', ["body", "k"]),
    ("/v1/chat/completions", COMPLETION % "NaN", ["body", "messages", 0, "content"]),
    ("/v1/chat/completions", COMPLETION % "Infinity", ["body", "messages", 0, "content"]),
]


@pytest.mark.parametrize(("path", "body", "loc"), NON_FINITE)
def test_non_finite_numbers_get_a_422_not_a_500(
    client: TestClient, auth: dict[str, str], path: str, body: str, loc: list[object]
) -> None:
    response = client.post(path, content=body.encode(), headers={**auth, **JSON})
    assert response.status_code == 422, response.text
    error = ErrorBody.model_validate(response.json())
    assert [e.loc for e in error.errors] == [loc]
    assert "nan" not in response.text.lower() and "infinity" not in response.text.lower()


INVISIBLE_ONLY = [
    "\u200b",
    "\u200b\u200c\u200d\u200e\u200f",
    "\u202a\u202b\u202c\u202d\u202e",
    "\u2060\u2061\u2062\u2063\u2064",
    "\ufeff",
    " \u200b \n\u202e\t\ufeff ",
]


@pytest.mark.parametrize("message", INVISIBLE_ONLY)
def test_invisible_only_messages_are_empty(message: str) -> None:
    with pytest.raises(InvalidInput, match="message is empty"):
        clean_message(message, 2000)


@pytest.mark.parametrize(
    "message", ["\u200bbalance", "balance\u202e", "\ufeffhi", "\u200d\U0001f44d", "ok"]
)
def test_messages_with_visible_text_pass(message: str) -> None:
    assert clean_message(message, 2000) == message


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat", {"message": "\u200b\u200e\u202e\u2060\ufeff"}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "\u200b\ufeff"}]}),
    ],
)
def test_invisible_only_message_is_refused_and_nothing_written(
    client: TestClient, auth: dict[str, str], settings: Settings, path: str, body: dict[str, object]
) -> None:
    before = turn_count(settings)
    response = client.post(path, json=body, headers=auth)
    assert response.status_code == 422
    assert ErrorBody.model_validate(response.json()).detail == "message is empty"
    assert turn_count(settings) == before


def chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    """A body of `total` bytes sent chunked (no Content-Length)."""
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/search", "/v1/chat/completions"])
def test_chunked_body_over_the_limit_gets_413(
    client: TestClient, auth: dict[str, str], settings: Settings, path: str
) -> None:
    before = turn_count(settings)
    response = client.post(path, content=chunks(10_000_000), headers={**auth, **JSON})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert "bytes" in ErrorBody.model_validate(response.json()).detail
    assert turn_count(settings) == before


def test_chunked_body_under_the_limit_is_read_whole(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = b'{"message": "\\u200b", "session_id": null}'
    pieces = iter([body[:7], body[7:20], body[20:]])
    response = client.post("/v1/chat", content=pieces, headers={**auth, **JSON})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 422 and response.json()["detail"] == "message is empty"


OWN_ERRORS = [
    ("/v1/chat", {"message": ""}, 422),
    ("/v1/chat", {"message": "x" * 2001}, 413),
    ("/v1/chat", {"message": "hi", "session_id": "nope"}, 404),
    ("/v1/chat", {"message": 42}, 422),
    ("/v1/search", {"query": "apy"}, 503),  # no index in this var dir
    ("/v1/redact", {"text": "hi"}, 403),
    ("/v1/chat/completions", {"messages": [{"role": "system", "content": "x"}]}, 422),
]


@pytest.mark.parametrize(("path", "body", "status"), OWN_ERRORS)
def test_error_bodies_are_the_documented_model(
    client: TestClient, auth: dict[str, str], path: str, body: dict[str, object], status: int
) -> None:
    response = client.post(path, json=body, headers=auth)
    assert response.status_code == status
    assert isinstance(ErrorBody.model_validate(response.json()).detail, str)
    documented = client.get("/openapi.json").json()["paths"][path]["post"]["responses"]
    assert documented[str(status)]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


DOCUMENTED = [
    ("/v1/chat", "post", {"401", "404", "413", "422", "503"}),
    ("/v1/chat/completions", "post", {"401", "413", "422", "503"}),
    ("/v1/search", "post", {"401", "413", "422", "503"}),
    ("/v1/redact", "post", {"401", "403", "413", "422", "503"}),
    ("/v1/customers/me/context", "get", {"401", "503"}),
]


@pytest.mark.parametrize(("path", "method", "codes"), DOCUMENTED)
def test_error_statuses_are_documented(
    client: TestClient, path: str, method: str, codes: set[str]
) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"][path][method]["responses"]
    assert codes <= set(responses)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_unauthenticated_error_is_the_documented_model(client: TestClient) -> None:
    response = client.post("/v1/chat", json={"message": "hi"})
    assert response.status_code == 401
    assert ErrorBody.model_validate(response.json()).detail == "missing bearer token"


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/search", "/v1/redact", "/v1/chat/completions"])
def test_a_body_that_is_no_text_gets_the_documented_400(
    client: TestClient, auth: dict[str, str], path: str
) -> None:
    response = client.post(path, content=b'{"\xff\xfe": 1}', headers={**auth, **JSON})
    assert response.status_code == 400
    assert ErrorBody.model_validate(response.json()).detail
    assert "400" in client.get("/openapi.json").json()["paths"][path]["post"]["responses"]
