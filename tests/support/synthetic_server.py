"""A synthetic OpenAI-compatible chat server whose timing is known: the yardstick of the client.

    python -m tests.support.synthetic_server [--port 0] [--ttft-ms 50] [--itl-ms 5] [--tokens 8]
        [--model synthetic]

It prints ``PORT <n>`` on stdout once it listens on 127.0.0.1. A streamed answer is ``--tokens``
content chunks: the first ``--ttft-ms`` after the request arrived, then one every ``--itl-ms``, so
its true latency is ``ttft + (tokens - 1) * itl``; each deadline is absolute, so late wake-ups do
not add up. Then a finish chunk, a usage chunk (``completion_tokens`` = tokens) and ``[DONE]``.

Directives in the prompt text change one request (tests use them), e.g. ``#tokens=3 #ttft=20``:
``#tokens=N``, ``#ttft=MS``, ``#itl=MS``; ``#sleep=S`` (stall S seconds before answering);
``#status=CODE`` (always answer CODE); ``#fail=CODExN`` (the first N requests with this prompt answer
CODE, later ones succeed); ``#drop=N`` (the first N requests with this prompt lose the connection
after the first chunk); ``#nousage`` (no usage chunk); ``#nostream`` (answer in one JSON body even
when asked to stream, as some servers do); ``#burst=K`` and ``#nodone``, the coarse stream of
``transformers serve``: tokens are still made one every ``itl``, but after the first they go out K to a
write (the chunks of one write arrive in one socket read), each write when its last token is made, and
``#nodone`` ends the stream on its finish and usage chunks, without ``[DONE]``.

Fault modes (options, for the fault-injection tests; each counts chat requests from 1):
``--answer echo`` answers each request with its prompt text and a digest of its images, split
into tokens (a deterministic answer per sample); ``--answers FILE`` (a JSON object) answers a request
whose prompt contains one of its keys with that key's value, exactly as written (the first key found,
in the file's order; others are answered as without it); a value that is a list scripts a sequence: the
Nth request with that key gets its Nth answer, the last one from then on (a judge whose first verdict
cannot be read and whose second can: ``["GRADE: maybe", "GRADE: C"]``); ``--fail-every N`` answers every
Nth request with ``--fail-status`` (default 503) and ``--error-message``; ``--malformed-every N`` sends an
unparseable chunk after the first one in every Nth stream; ``--truncate-every N`` ends every Nth
stream cleanly in the middle of a chunk, without a finish or ``[DONE]``. These periodic faults are
transient, as on a real server: a request (same body) that one of them hit is not hit again, so its
retry succeeds however the retries interleave with other requests; ``N`` = 1 hits every request;
``--hang-after N`` never
answers any request after the first N (until the client goes away); ``--exit-after N`` makes the
process die (``os._exit``) when request N+1 arrives, as a crashed server does; ``--api-key KEY``
answers 401 to a request (chat or model list) without ``Authorization: Bearer KEY``.

``--record FILE`` appends each chat request's body to FILE as one JSON line, as it arrives (what a client
sent, for tests that compare two clients' requests).

``--capacity N`` lets at most N requests generate at once, as a server with N batch slots: the others
wait for a slot, so its throughput saturates at N / true latency and latency grows past N in flight (the
yardstick of load curves).

Gateways: ``--azure API_VERSION`` serves Azure OpenAI's scheme instead of the plain one:
``POST /openai/deployments/DEPLOYMENT/chat/completions?api-version=V`` (DEPLOYMENT = ``--model``) and
``GET /openai/models?api-version=V``, the key (``--api-key``) in the ``api-key`` header; a wrong
api-version or deployment is a 404 as Azure answers it. ``--require-query NAME=VALUE`` (repeatable)
answers 401 to a request without that query parameter, as a gateway that takes its access code there.

``GET /stats`` returns what the server saw: requests, client connections, and the median
server-side TTFT and latency (handler entry to the first / last chunk written), the truth the
client's figures are judged by.
``POST /reset`` clears them. Also ``GET /v1/models`` and ``GET /health``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Iterator

from aiohttp import web

from tests.support.aiohttp_process import launched, serve_forever

_DIRECTIVE = re.compile(
    r"#(tokens|ttft|itl|sleep|status|fail|drop|burst)=([0-9.x]+)|#(nousage|nostream|nodone)"
)


class Synthetic:
    def __init__(
        self,
        *,
        model: str,
        ttft_ms: float,
        itl_ms: float,
        tokens: int,
        answer: str = "tokens",
        fail_every: int = 0,
        fail_status: int = 503,
        error_message: str = "synthetic failure",
        malformed_every: int = 0,
        truncate_every: int = 0,
        hang_after: int = 0,
        exit_after: int = 0,
        api_key: str | None = None,
        answers: dict[str, str] | None = None,
        capacity: int = 0,
        azure: str | None = None,
        required_query: dict[str, str] | None = None,
        record: str | None = None,
    ):
        self.record = record
        self.slots = asyncio.Semaphore(capacity) if capacity else None
        self.azure, self.required_query = azure, required_query or {}
        self.scripted = answers or {}
        self.scripted_seen: dict[str, int] = {}  # key -> requests so far, for the scripted sequences
        self.model, self.ttft, self.itl, self.tokens = model, ttft_ms / 1000, itl_ms / 1000, tokens
        self.answer, self.fail_every, self.fail_status = answer, fail_every, fail_status
        self.error_message = error_message
        self.malformed_every, self.truncate_every = malformed_every, truncate_every
        self.hang_after, self.exit_after, self.api_key = hang_after, exit_after, api_key
        self.chats = 0  # chat requests so far, the clock of the fault modes
        self.requests = 0
        self.peers: set = set()  # client connections seen: a client that reuses them shows few
        self.seen: dict[str, int] = {}  # prompt -> requests so far, only for prompts with #fail/#drop
        self.faulted: set[int] = set()  # bodies a periodic fault hit: their retries are spared
        self.ttfts: list[float] = []
        self.latencies: list[float] = []
        self._chunks: dict[int, bytes] = {}
        head = {"id": "chatcmpl-synthetic", "object": "chat.completion.chunk", "created": 0, "model": model}
        self._finish = _sse({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
        self._head = head

    def chunk(self, i: int) -> bytes:
        """Content chunk i, cached: the server's CPU per request must stay small beside the client's."""
        data = self._chunks.get(i)
        if data is None:
            delta = {"role": "assistant", "content": "t0"} if i == 0 else {"content": f" t{i}"}
            data = _sse({**self._head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            if len(self._chunks) < 4096:
                self._chunks[i] = data
        return data

    def word_chunk(self, i: int, word: str, sep: str = " ") -> bytes:
        delta = {"role": "assistant", "content": word} if i == 0 else {"content": sep + word}
        return _sse({**self._head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})

    def usage(self, prompt_tokens: int, tokens: int) -> bytes:
        return _sse(
            {
                **self._head,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": tokens,
                    "total_tokens": prompt_tokens + tokens,
                },
            }
        )

    def _refused(self, request: web.Request) -> web.Response | None:
        """The gateway's checks: its query parameters, Azure's api-version and the key header."""
        for name, value in self.required_query.items():
            if request.query.get(name) != value:
                return _error(401, f"access denied: query parameter {name!r} missing or wrong")
        if self.azure is not None:
            if request.query.get("api-version") != self.azure:
                return _error(404, "Resource not found", code="404")
            if self.api_key is not None and request.headers.get("api-key") != self.api_key:
                return _error(
                    401,
                    "Access denied due to invalid subscription key or wrong API endpoint.",
                    code="401",
                )
            deployment = request.match_info.get("deployment")
            if deployment is not None and deployment != self.model:
                return _error(
                    404, "The API deployment for this resource does not exist.", code="DeploymentNotFound"
                )
        elif self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid API key")
        return None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if self.slots is None:
            return await self._chat(request)
        async with self.slots:  # a server with N batch slots: the others wait here
            return await self._chat(request)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        t_in = time.perf_counter()
        loop = asyncio.get_running_loop()
        start = loop.time()
        self.requests += 1
        self.peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "body is not JSON")
        self.chats += 1
        n = self.chats
        if self.exit_after and n > self.exit_after:
            os._exit(137)  # a crash: every connection is reset, nothing is answered
        refused = self._refused(request)
        if refused is not None:
            return refused
        if self.azure is None and body.get("model") != self.model:
            return _error(404, f"The model `{body.get('model')}` does not exist.")
        if self.hang_after and n > self.hang_after:
            await asyncio.Event().wait()  # a hung model: cancelled only when the client goes away
        if self._periodic_fault(self.fail_every, n, body):
            return _error(self.fail_status, self.error_message)
        if self.record is not None:
            with open(self.record, "a", encoding="utf-8") as f:
                f.write(json.dumps(body, ensure_ascii=False) + "\n")
        text = _prompt_text(body)
        opts = _directives(text)
        if "sleep" in opts:
            await asyncio.sleep(opts["sleep"])
        if "status" in opts:
            return _error(int(opts["status"]), "synthetic failure")
        nth = 0
        if "fail" in opts or "drop" in opts:
            nth = self.seen[text] = self.seen.get(text, 0) + 1
        if "fail" in opts:
            code, times = opts["fail"]
            if nth <= times:
                return _error(code, f"synthetic failure {nth} of {times}")
        tokens = int(opts.get("tokens", self.tokens))
        ttft = opts["ttft"] / 1000 if "ttft" in opts else self.ttft
        itl = opts["itl"] / 1000 if "itl" in opts else self.itl
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if max_tokens:
            tokens = min(tokens, int(max_tokens))
        prompt_tokens = len(text.split())
        words = _echo_words(body, text) if self.answer == "echo" else None
        scripted = self._scripted(text)
        if scripted is not None:  # one chunk per character: the answer arrives exactly as written
            words = list(scripted) or [""]
        if words is not None:
            tokens = len(words)
        malformed = self._periodic_fault(self.malformed_every, n, body)
        truncate = self._periodic_fault(self.truncate_every, n, body)
        if not body.get("stream") or "nostream" in opts:
            await asyncio.sleep(max(0.0, start + ttft + (tokens - 1) * itl - loop.time()))
            content = (
                ("" if scripted is not None else " ").join(words)
                if words is not None
                else "".join(("t0" if i == 0 else f" t{i}") for i in range(tokens))
            )
            return web.json_response(
                {
                    "id": "chatcmpl-synthetic",
                    "object": "chat.completion",
                    "created": 0,
                    "model": self.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "length",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": tokens,
                        "total_tokens": prompt_tokens + tokens,
                    },
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        try:
            await resp.prepare(request)
            burst, sent = int(opts.get("burst", 1)), -1
            for i in range(tokens):
                if i and i % burst and i < tokens - 1:
                    continue  # a coarse stream: this token goes out with the last one of its write
                delay = start + ttft + i * itl - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                sep = "" if scripted is not None else " "
                group, sent = range(sent + 1, i + 1), i
                await resp.write(
                    b"".join(
                        self.chunk(j) if words is None else self.word_chunk(j, words[j], sep) for j in group
                    )
                )
                if i == 0 and malformed:
                    await resp.write(b'data: {"choices": [{"delta": {"content": "x"\n\n')
                if i == 0 and truncate:
                    await resp.write_eof(b'data: {"id": "chatcmpl-synthetic", "choi')  # cut, but a clean end
                    return resp
                if i == 0:
                    self.ttfts.append(time.perf_counter() - t_in)
                    if "drop" in opts and nth <= opts["drop"]:
                        request.transport.abort()  # a server that dies mid-answer
                        return resp
            self.latencies.append(time.perf_counter() - t_in)
            tail = self._finish
            if "nousage" not in opts and (body.get("stream_options") or {}).get("include_usage"):
                tail += self.usage(prompt_tokens, tokens)
            # one write: the last chunk and the end
            await resp.write_eof(tail if "nodone" in opts else tail + b"data: [DONE]\n\n")
        except ConnectionResetError:
            pass  # the client gave up (a timeout test): nothing to report
        return resp

    def _scripted(self, text: str) -> str | None:
        """The scripted answer to a prompt: the first key it contains; a list answers in sequence."""
        key = next((k for k in self.scripted if k in text), None)
        if key is None:
            return None
        value = self.scripted[key]
        if not isinstance(value, list):
            return value
        nth = self.scripted_seen[key] = self.scripted_seen.get(key, 0) + 1
        return value[min(nth, len(value)) - 1] if value else ""

    def _periodic_fault(self, every: int, n: int, body: dict) -> bool:
        """Whether request ``n`` is hit by a fault of period ``every`` (once per body, unless it is 1)."""
        if not every or n % every:
            return False
        if every == 1:
            return True
        key = hash(json.dumps(body, sort_keys=True))
        if key in self.faulted:
            return False
        self.faulted.add(key)
        return True

    async def models(self, request: web.Request) -> web.Response:
        refused = self._refused(request)  # as OpenAI and vLLM's --api-key: the list is guarded too
        if refused is not None:
            return refused
        return web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "synthetic"}]}
        )

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": self.requests,
                "chats": self.chats,
                "connections": len(self.peers),
                "streams": len(self.ttfts),
                "cpu_s": time.process_time(),
                "ttft_p50_s": statistics.median(self.ttfts) if self.ttfts else None,
                "latency_p50_s": statistics.median(self.latencies) if self.latencies else None,
                "ttft_s": self.ttft,
                "true_latency_s": self.ttft + (self.tokens - 1) * self.itl,
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.requests, self.peers, self.seen, self.ttfts, self.latencies = 0, set(), {}, [], []
        self.faulted = set()
        self.chats = 0
        self.scripted_seen = {}
        return web.Response(text="ok")


def _sse(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _error(status: int, message: str, code: int | str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "synthetic", "code": status if code is None else code}},
        status=status,
    )


def _prompt_text(body: dict) -> str:
    parts = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if p.get("type") == "text")
    return "\n".join(parts)


def _echo_words(body: dict, text: str) -> list[str]:
    """The echo answer: the prompt's words and a digest of the images, the same for the same request."""
    import hashlib

    digest = hashlib.sha1()
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    digest.update(str((part.get("image_url") or {}).get("url", "")).encode())
    return [*(text.split() or ["empty"]), "img:" + digest.hexdigest()[:8]]


def _directives(text: str) -> dict:
    if "#" not in text:
        return {}
    opts: dict = {}
    for name, value, flag in _DIRECTIVE.findall(text):
        if flag:
            opts[flag] = True
        elif name == "fail":
            code, _, times = value.partition("x")
            opts["fail"] = (int(code), int(times or 1))
        else:
            opts[name] = float(value)
    return opts


def make_app(**kwargs) -> web.Application:
    synthetic = Synthetic(**kwargs)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes(
        [
            web.post("/v1/chat/completions", synthetic.chat),
            web.post("/openai/deployments/{deployment}/chat/completions", synthetic.chat),
            web.get("/openai/models", synthetic.models),
            web.get("/v1/models", synthetic.models),
            web.get("/health", synthetic.health),
            web.get("/stats", synthetic.stats),
            web.post("/reset", synthetic.reset),
        ]
    )
    return app


async def serve(port: int, **kwargs) -> None:
    await serve_forever(make_app(**kwargs), port)


@contextlib.contextmanager
def launch(*args: str, cpus: set[int] | None = None) -> Iterator[str]:
    """Run the server as its own process with CLI ``args``; yield its base URL (``http://127.0.0.1:N/v1``).

    ``cpus`` pins the server to those CPUs (Linux), so that it and the client under test do not
    preempt each other.
    """
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    with launched("tests.support.synthetic_server", *args, what="synthetic server", preexec_fn=pin) as port:
        yield f"http://127.0.0.1:{port}/v1"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="0 = a free port (printed as 'PORT n')")
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=5.0)
    p.add_argument("--tokens", type=int, default=8)
    p.add_argument("--model", default="synthetic")
    p.add_argument("--answer", choices=["tokens", "echo"], default="tokens")
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--error-message", default="synthetic failure")
    p.add_argument("--malformed-every", type=int, default=0)
    p.add_argument("--truncate-every", type=int, default=0)
    p.add_argument("--hang-after", type=int, default=0)
    p.add_argument("--exit-after", type=int, default=0)
    p.add_argument("--api-key", default=None)
    p.add_argument("--answers", default=None, help="a JSON object: prompt substring -> answer")
    p.add_argument("--capacity", type=int, default=0, help="requests generated at once (0: no limit)")
    p.add_argument("--azure", default=None, metavar="API_VERSION", help="serve Azure OpenAI's URL scheme")
    p.add_argument("--require-query", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--record", default=None, help="append each chat request body to this file (JSON lines)")
    a = p.parse_args(argv)
    scripted = None
    if a.answers:
        with open(a.answers, encoding="utf-8") as f:
            scripted = json.load(f)
    try:
        asyncio.run(
            serve(
                a.port,
                model=a.model,
                ttft_ms=a.ttft_ms,
                itl_ms=a.itl_ms,
                tokens=a.tokens,
                answer=a.answer,
                fail_every=a.fail_every,
                fail_status=a.fail_status,
                error_message=a.error_message,
                malformed_every=a.malformed_every,
                truncate_every=a.truncate_every,
                hang_after=a.hang_after,
                exit_after=a.exit_after,
                api_key=a.api_key,
                answers=scripted,
                capacity=a.capacity,
                azure=a.azure,
                required_query=dict(q.split("=", 1) for q in a.require_query),
                record=a.record,
            )
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
