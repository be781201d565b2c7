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


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_port_with_nothing_listening_fails_within_3_s_with_its_url():
    """A typo in base_url's port: the check fails in seconds, naming the URL, not after its 30 s wait."""
    import time

    import openai  # noqa: F401  (a run has the SDK loaded: its first import is not the check's time)

    from environments.backends import BACKENDS
    from environments.launch import _tls_context, start_server

    _tls_context()  # built once per process, as in a run
    port = closed_port()
    row = ModelRow(name="m", backend="openai", model="synthetic", base_url=f"http://127.0.0.1:{port}/v1")
    started = time.monotonic()
    with pytest.raises(ServerError) as info:  # the benchmark's own path for an `openai` row
        start_server(None, row, BACKENDS.get("openai"), log_path=None, timeout_s=600)
    took = time.monotonic() - started
    assert took < 3.0, f"a refused connection took {took:.1f} s to fail"
    assert f"nothing listens at http://127.0.0.1:{port}/v1/models" in str(info.value)
    assert "connection was refused" in str(info.value) and "base_url" in str(info.value)


def test_an_endpoint_that_starts_listening_within_the_grace_is_waited_for():
    """A server that binds its port a moment after the check begins (a gateway restarting) is still waited
    for: only a refusal that lasts fails early."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Models(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            body = json.dumps({"object": "list", "data": [{"id": "synthetic", "object": "model"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = closed_port()
    holder: dict = {}

    def start_later() -> None:
        time.sleep(0.8)
        holder["server"] = ThreadingHTTPServer(("127.0.0.1", port), Models)
        holder["server"].serve_forever()

    thread = threading.Thread(target=start_later, daemon=True)
    thread.start()
    try:
        row = ModelRow(name="m", backend="openai", model="synthetic", base_url=f"http://127.0.0.1:{port}/v1")
        check_endpoint(row, f"http://127.0.0.1:{port}", "synthetic", 30)
    finally:
        time.sleep(0.1)
        if "server" in holder:
            holder["server"].shutdown()
        thread.join(5)
