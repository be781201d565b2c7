"""environments.launch.check_endpoint, the `openai` SDK's typed client against real endpoints on 127.0.0.1:
Azure OpenAI (models, then the deployment), a gateway that takes a query parameter, and a 401 from a gateway.
What a retry cannot change fails at once and says what to fix, without the key or the gateway's code."""

from __future__ import annotations

import pytest

from environments.launch import check_endpoint
from tests.support.fault_servers import FaultServer
from vlmhb_core.errors import ServerError
from vlmhyperbench.config import ModelRow

KEY = "azure-key-77aa66bb55"
CODE = "gw-code-1234abcd"


@pytest.fixture(scope="module")
def servers():
    azure = FaultServer("--azure", "2024-10-21", "--api-key", KEY, model="prod-4o")
    gateway = FaultServer("--require-query", f"code={CODE}", "--api-key", KEY)
    yield {"azure": f"http://127.0.0.1:{azure.port}", "gateway": f"http://127.0.0.1:{gateway.port}"}
    azure.stop()
    gateway.stop()


def azure_row(url: str, **cells) -> ModelRow:
    fields = {"api_version": "2024-10-21", "deployment": "prod-4o", "api_key_env": "AZ_KEY", **cells}
    return ModelRow(name="az", backend="openai", model="gpt-4o", base_url=url, **fields)


def test_azure_endpoint_and_deployment_are_checked(servers, monkeypatch):
    monkeypatch.setenv("AZ_KEY", KEY)
    check_endpoint(azure_row(servers["azure"]), servers["azure"], "prod-4o", 5)
    with pytest.raises(ServerError, match="Azure OpenAI deployment 'nope' was not found at .* set the row's"):
        check_endpoint(azure_row(servers["azure"], deployment="nope"), servers["azure"], "nope", 5)
    with pytest.raises(ServerError, match="answered 404 Not Found .* api_version '2022-02-02'"):
        check_endpoint(azure_row(servers["azure"], api_version="2022-02-02"), servers["azure"], "prod-4o", 5)
    monkeypatch.setenv("AZ_KEY", "wrong")
    with pytest.raises(ServerError, match="authentication failed: .* answered 401") as info:
        check_endpoint(azure_row(servers["azure"]), servers["azure"], "prod-4o", 5)
    assert "check the key in the variable AZ_KEY" in str(info.value)


def test_gateway_query_and_a_401_from_the_gateway(servers, monkeypatch):
    url = servers["gateway"]
    monkeypatch.setenv("GW_KEY", KEY)
    monkeypatch.setenv("GW_CODE", CODE)
    row = ModelRow(
        name="gw", backend="openai", model="synthetic", base_url=url + "/v1", api_key_env="GW_KEY",
        query={"code": "${GW_CODE}"},
    )  # fmt: skip
    check_endpoint(row, url, "synthetic", 5)
    monkeypatch.setenv("GW_CODE", "stale-code")
    with pytest.raises(ServerError, match=r"authentication failed: .*/v1/models answered 401") as info:
        check_endpoint(row, url, "synthetic", 5)
    assert "stale-code" not in str(info.value) and KEY not in str(info.value)
    monkeypatch.setenv("GW_CODE", CODE)
    keyless = row.model_copy(update={"api_key_env": None})
    with pytest.raises(ServerError, match="the endpoint wants a key: set api_key_env"):
        check_endpoint(keyless, url, "synthetic", 5)
