"""A Prefect API that is overloaded or briefly unavailable: a proxy in front of a real one (fault tests).

    python -m tests.support.flaky_prefect_api --upstream http://127.0.0.1:4200/api
        [--outage-s 8 --outage-after 'POST /api/task_runs/'] [--fail-body '"model":"bad"']

It prints ``PORT <n>`` once it listens on 127.0.0.1; point PREFECT_API_URL at ``http://127.0.0.1:N/api``.
Every request (HTTP and websocket: events and logs stream over websockets) goes to the upstream API,
except that:

- ``--outage-s S``: once a request whose ``METHOD PATH`` starts with ``--outage-after`` arrives, the API
  is down for S seconds, as an overloaded server whose database is locked: every HTTP request answers
  503 and the open websockets are closed (new ones are refused with 503) until the outage ends.
- ``--fail-body TEXT``: a request whose body holds TEXT always answers 503 (say ``"model":"bad"``: the
  subflow run of model `bad` can never be created, so the harness fails that model, not the model).
  Task runs are no such target: Prefect creates them from events, in no request body of their own.

``--log FILE`` appends each request's line and the head of its body to FILE.
``GET /proxy/stats`` returns {requests, answered_503, websockets, outages}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import urllib.request
from collections.abc import Callable, Iterator

import aiohttp
from aiohttp import web

from tests.support.aiohttp_process import launched, serve_forever

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}


class FlakyAPI:
    def __init__(
        self, upstream: str, outage_s: float, outage_after: str, fail_body: str | None, log: str | None = None
    ):
        self.log = open(log, "a", encoding="utf-8") if log else None  # noqa: SIM115 (open while serving)
        self.upstream = upstream.rstrip("/").removesuffix("/api")
        self.outage_s, self.outage_after, self.fail_body = outage_s, outage_after, fail_body
        self.down_until = 0.0
        self.outage_started = False
        self.sockets: set[web.WebSocketResponse] = set()
        self.stats = {"requests": 0, "answered_503": 0, "websockets": 0, "outages": 0}
        self.session: aiohttp.ClientSession | None = None

    def down(self) -> bool:
        return time.monotonic() < self.down_until

    async def start_outage(self) -> None:
        self.outage_started = True
        self.stats["outages"] += 1
        self.down_until = time.monotonic() + self.outage_s
        for ws in list(self.sockets):  # an overloaded server drops its streams too
            await ws.close(code=1011, message=b"overloaded")

    def unavailable(self) -> web.Response:
        self.stats["answered_503"] += 1
        return web.json_response({"exception_message": "Service Unavailable"}, status=503)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/proxy/stats":
            return web.json_response(self.stats)
        self.stats["requests"] += 1
        line = f"{request.method} {request.path}"
        if self.outage_s and not self.outage_started and line.startswith(self.outage_after):
            await self.start_outage()
        if request.headers.get("upgrade", "").lower() == "websocket":
            return self.unavailable() if self.down() else await self.websocket(request)
        body = await request.read()
        if self.log:
            self.log.write(f"{line} {body[:400]!r}\n")
            self.log.flush()
        if self.down() or (self.fail_body and self.fail_body.encode() in body):
            return self.unavailable()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self.session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as resp:
            payload = await resp.read()
            # the body goes on as it came (still compressed, if it was): its content-encoding with it
            out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(body=payload, status=resp.status, headers=out)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Both directions of one websocket, relayed as they come."""
        url = "ws" + (self.upstream + request.path_qs).removeprefix("http")
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in HOP_BY_HOP and not k.lower().startswith("sec-websocket")
        }
        # the subprotocol ("prefect": auth first, then events) is agreed with the upstream, and passed on
        asked = [p.strip() for p in request.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        upstream = await self.session.ws_connect(url, headers=headers, protocols=asked)
        client = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else ())
        await client.prepare(request)
        self.stats["websockets"] += 1
        self.sockets.add(client)

        async def pump(source, sink) -> None:
            async for message in source:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await sink.send_str(message.data)
                elif message.type == aiohttp.WSMsgType.BINARY:
                    await sink.send_bytes(message.data)
                else:
                    break

        try:
            pumps = [asyncio.ensure_future(pump(a, b)) for a, b in ((client, upstream), (upstream, client))]
            _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            self.sockets.discard(client)
            await upstream.close()
            await client.close()
        return client


async def serve(port: int, api: FlakyAPI) -> None:
    api.session = aiohttp.ClientSession(auto_decompress=False)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", api.handle)
    try:
        await serve_forever(app, port)
    finally:
        await api.session.close()


@contextlib.contextmanager
def launch(upstream: str, *args: str) -> Iterator[tuple[str, Callable[[], dict]]]:
    """The proxy as its own process in front of UPSTREAM, with CLI ARGS: yields (its API URL, a function
    returning its /proxy/stats)."""
    with launched(
        __spec__.name, "--upstream", upstream, *args, what="the flaky API", start_new_session=True
    ) as port:
        root = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def stats() -> dict:
            with opener.open(f"{root}/proxy/stats", timeout=10) as resp:
                return json.loads(resp.read())

        yield f"{root}/api", stats


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="the real API, e.g. http://127.0.0.1:4200/api")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--outage-s", type=float, default=0.0)
    p.add_argument("--outage-after", default="POST /api/task_runs/")
    p.add_argument("--fail-body", default=None)
    p.add_argument("--log", default=None, help="append each request's line and body head to this file")
    a = p.parse_args(argv)
    try:
        asyncio.run(serve(a.port, FlakyAPI(a.upstream, a.outage_s, a.outage_after, a.fail_body, a.log)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
