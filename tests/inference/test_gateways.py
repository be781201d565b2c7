"""The streaming client against gateways that are not plain OpenAI: Azure OpenAI's URL scheme (deployment in
the path, api-version in the query, the key in `api-key`) and a gateway that takes its access code as a query
parameter. Real servers on 127.0.0.1 (tests.support.synthetic_server) check every part."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from tests.support.fault_servers import FaultServer
from vlmhyperbench.inference.chat import Answer, Endpoint, RequestItem, run_requests

KEY = "azure-key-5f4e3d2c1b"
CODE = "gw-code-0a9b8c7d"


@pytest.fixture(scope="module")
def azure():
    server = FaultServer("--azure", "2024-10-21", "--api-key", KEY, "--tokens", "3", model="prod-4o")
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="module")
def gateway():
    server = FaultServer("--require-query", f"code={CODE}", "--require-query", "team=docs", "--tokens", "3")
    yield server.base_url
    server.stop()


def ask(endpoint: Endpoint, n: int = 4) -> list[Answer]:
    answers: list[Answer] = []
    items = [RequestItem(f"s{i}", f"question {i}") for i in range(n)]
    asyncio.run(
        run_requests(endpoint, items, concurrency=2, timeout_s=5, backoff_s=0.01, on_answer=answers.append)
    )
    return answers


def test_azure_deployment_api_version_and_key_header(azure):
    endpoint = Endpoint(
        base_url=azure, model="gpt-4o", deployment="prod-4o", api_version="2024-10-21", api_key=SecretStr(KEY)
    )
    assert endpoint.chat_url == f"{azure}/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21"
    answers = ask(endpoint)
    assert [a.error for a in answers] == [None] * 4
    assert all(a.prediction == "t0 t1 t2" and a.output_tokens == 3 and a.input_tokens == 2 for a in answers)


@pytest.mark.parametrize(
    "change, error",
    [
        ({"deployment": "other"}, "HTTP 404: The API deployment for this resource does not exist."),
        ({"api_version": "2023-01-01"}, "HTTP 404: Resource not found"),
        (
            {"api_key": SecretStr("wrong")},
            "HTTP 401: Access denied due to invalid subscription key or wrong API endpoint.",
        ),
    ],
)
def test_azure_refusals_fail_at_once_with_the_servers_reason(azure, change, error):
    fields = {"base_url": azure, "model": "gpt-4o", "deployment": "prod-4o", "api_version": "2024-10-21"}
    answers = ask(Endpoint(**{**fields, "api_key": SecretStr(KEY), **change}), n=2)
    assert [(a.error, a.attempts) for a in answers] == [(error, 1)] * 2  # a 4xx is not retried


def test_gateway_query_parameters_and_a_401_that_never_shows_the_code(gateway):
    endpoint = Endpoint(base_url=gateway, model="synthetic", query={"code": CODE, "team": "docs"})
    assert "code" not in repr(endpoint) and CODE not in endpoint.model_dump_json()
    assert [a.error for a in ask(endpoint)] == [None] * 4
    denied = ask(Endpoint(base_url=gateway, model="synthetic", query={"code": "wrong", "team": "docs"}), n=1)
    assert denied[0].error == "HTTP 401: access denied: query parameter 'code' missing or wrong"
    # a connection error names the path, not the query that holds the code
    gone = ask(Endpoint(base_url="http://127.0.0.1:9/v1", model="m", query={"code": CODE}), n=1)
    assert gone[0].error.startswith("connection error") and CODE not in gone[0].error
