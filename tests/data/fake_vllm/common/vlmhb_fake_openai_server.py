"""Test stand-in (never a model): the OpenAI-compatible server behind the fake vllm and sglang CLIs.

`run(prog, parser, argv)` parses the real server's flags (the caller's parser), prints the launch as one
JSON line, "loads" for --fake-ready-delay seconds before it binds the port (vLLM binds only once the
model is loaded, so /v1/models refuses connections until then), or exits 1 with --fake-crash's message.
Then it serves /v1/models, /health and streamed /v1/chat/completions answers of fixed words with usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

WORDS = ["fake", "answer", "from", "the", "stand-in", "server", "for", "tests"]


def add_stand_in_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fake-ready-delay", type=float, default=0.5, help="seconds before binding the port")
    parser.add_argument("--fake-crash", default=None, help="exit 1 with this message instead of serving")


def parse_mm_limit(text: str | None) -> dict | None:
    """vLLM takes `{"image": 8}` (current) or `image=8,video=1` (older releases)."""
    if text is None:
        return None
    if text.lstrip().startswith("{"):
        return json.loads(text)
    return {k: int(v) for k, v in (item.split("=", 1) for item in text.split(","))}


def run(prog: str, parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    add_stand_in_flags(parser)
    args = parser.parse_args(argv)  # an unknown flag exits 2, as the real servers do
    launch = {k: v for k, v in vars(args).items() if not k.startswith("fake_")}
    if "limit_mm_per_prompt" in launch:
        launch["limit_mm_per_prompt"] = parse_mm_limit(launch["limit_mm_per_prompt"])
    print(f"vlmhb-fake {prog} launch: {json.dumps(launch, sort_keys=True)}", flush=True)
    print(f"loading {args.model} (stand-in: no model is loaded)", flush=True)
    if args.fake_crash:
        time.sleep(0.2)
        print('Traceback (most recent call last):\n  File "fake", line 1, in load_model', file=sys.stderr)
        print(f"RuntimeError: {args.fake_crash}", file=sys.stderr, flush=True)
        return 1
    time.sleep(args.fake_ready_delay)
    names = args.served_model_name or [args.model]
    names = names if isinstance(names, list) else [names]
    try:
        asyncio.run(_serve(args.host, args.port, names))
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(host: str, port: int, names: list[str]) -> None:
    from aiohttp import web

    async def models(request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "fake"} for n in names]}
        )

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="")

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body.get("model") not in names:
            return web.json_response(
                {"error": {"message": f"The model `{body.get('model')}` does not exist.", "code": 404}},
                status=404,
            )
        tokens = min(len(WORDS), int(body.get("max_tokens") or len(WORDS)))
        head = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
        }
        usage = {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens}
        if not body.get("stream"):
            return web.json_response(
                {
                    **head,
                    "object": "chat.completion",
                    "usage": usage,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": " ".join(WORDS[:tokens])},
                            "finish_reason": "length",
                        }
                    ],
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(tokens):
            await asyncio.sleep(0.005)
            delta = {"content": (" " if i else "") + WORDS[i]}
            await resp.write(_sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
        tail = _sse({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            tail += _sse({**head, "choices": [], "usage": usage})
        await resp.write_eof(tail + b"data: [DONE]\n\n")
        return resp

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes(
        [web.get("/v1/models", models), web.get("/health", health), web.post("/v1/chat/completions", chat)]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"serving {names} on http://{host}:{port}", flush=True)
    await asyncio.Event().wait()


def _sse(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"
