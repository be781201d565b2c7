"""The aiohttp application: OpenAI-compatible routes in front of one blocking engine.

Engine calls (load, each piece of an answer) run in a thread pool, so /health and /metrics/memory
answer while a model loads or generates. A semaphore admits one request at a time into an engine that
is not thread safe; the others wait their turn (their wait counts in their latency, as it would on
any single-stream server).

Streaming: the first piece is computed before the response starts, so an engine error that comes
before any text is still an HTTP 500 with a JSON error; one that comes later is sent as an SSE event
`data: {"error": {...}}` followed by `data: [DONE]`. A client that goes away cancels the generation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web_log import AccessLogger

from . import protocol
from .engines import Engine, Generation
from .images import decode_images
from .memory import MemoryMonitor
from .protocol import APIError, ChatRequest

log = logging.getLogger("vlmhb_server")

MAX_BODY_BYTES = 512 * 1024 * 1024  # multi-page documents as base64 are large


@dataclass
class ServerState:
    engine: Engine
    engine_name: str
    model: str
    served_model_name: str
    pool: ThreadPoolExecutor  # engine calls
    decode_pool: ThreadPoolExecutor  # image decoding, so waiting requests decode while one runs
    slots: asyncio.Semaphore
    monitor: MemoryMonitor
    created: int = field(default_factory=lambda: int(time.time()))
    ready: bool = False
    load_seconds: float | None = None


STATE = web.AppKey("state", ServerState)
QUIET_PATHS = ("/health", "/metrics/memory")  # polled; logging them would bury the requests


class QuietAccessLogger(AccessLogger):
    def log(self, request, response, time):
        if request.path not in QUIET_PATHS:
            super().log(request, response, time)


def create_app(state: ServerState) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_errors_as_json])
    app[STATE] = state
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/metrics/memory", memory)
    return app


@web.middleware
async def _errors_as_json(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except APIError as e:
        return web.json_response(e.body(), status=e.status)
    except web.HTTPException as e:  # unknown route, wrong method, body too large
        if e.status < 400:
            raise
        body = APIError(e.status, e.reason or "error", type="invalid_request_error").body()
        return web.json_response(
            body, status=e.status, headers={k: v for k, v in e.headers.items() if k.lower() == "allow"}
        )
    except Exception as e:
        log.error("unhandled error on %s %s\n%s", request.method, request.path, traceback.format_exc())
        return web.json_response(_server_error(e).body(), status=500)


def _server_error(e: BaseException) -> APIError:
    return APIError(500, f"{type(e).__name__}: {e}", type="server_error")


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not state.ready:
        return web.json_response({"status": "loading"}, status=503)
    return web.json_response(
        {
            "status": "ok",
            "engine": state.engine_name,
            "model": state.served_model_name,
            "load_seconds": state.load_seconds,
        }
    )


async def models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    card = {
        "id": state.served_model_name,
        "object": "model",
        "created": state.created,
        "owned_by": "vlmhyperbench",
        "root": state.model,
        "engine": state.engine_name,
        "ready": state.ready,
        **(state.engine.describe() if state.ready else {}),
    }
    return web.json_response({"object": "list", "data": [card]})


async def memory(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].monitor.report())


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if not state.ready:
        raise APIError(503, "the model is still loading; poll GET /health", type="service_unavailable")
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise protocol.bad_request(f"request body is not valid JSON: {e}") from None
    chat = protocol.parse_chat_request(body, state.served_model_name)
    loop = asyncio.get_running_loop()
    images = await loop.run_in_executor(state.decode_pool, decode_images, chat.images)

    request_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    async with state.slots:
        run = _Run(state, loop)
        try:
            try:
                await run.start(chat, images)
                first = await run.next_piece()
            except APIError:
                raise
            except Exception as e:
                log.error("engine failed on %s\n%s", request_id, traceback.format_exc())
                raise _server_error(e) from None
            if chat.stream:
                return await _stream(request, run, first, chat, request_id, created)
            return await _complete(run, first, chat, request_id, created)
        finally:
            await run.close()


class _Run:
    """Drives one Generation from the event loop, a piece per worker-thread call."""

    def __init__(self, state: ServerState, loop: asyncio.AbstractEventLoop):
        self.state, self.loop = state, loop
        self.generation: Generation | None = None
        self._pending: asyncio.Future | None = None

    async def start(self, chat: ChatRequest, images: list[Any]) -> None:
        self.generation = await self._call(self.state.engine.generate, chat, images)

    async def next_piece(self) -> str | None:
        """The next piece of text, None when the answer is complete."""
        return await self._call(next, self.generation.pieces, None)

    async def _call(self, fn, *args):
        # Shielded: if the handler is cancelled, the thread's work is awaited in close(), not dropped.
        self._pending = asyncio.ensure_future(self.loop.run_in_executor(self.state.pool, fn, *args))
        return await asyncio.shield(self._pending)

    async def close(self) -> None:
        generation, pending = self.generation, self._pending
        if generation is not None:
            generation.cancel()  # a no-op once finished; else the engine stops at its next step
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
        if generation is not None:
            try:
                await self.loop.run_in_executor(self.state.pool, generation.close)
            except Exception:
                log.warning("closing a generation failed\n%s", traceback.format_exc())


async def _complete(
    run: _Run, first: str | None, chat: ChatRequest, request_id: str, created: int
) -> web.Response:
    pieces = []
    piece = first
    try:
        while piece is not None:
            pieces.append(piece)
            piece = await run.next_piece()
    except APIError:
        raise
    except Exception as e:
        log.error("engine failed on %s\n%s", request_id, traceback.format_exc())
        raise _server_error(e) from None
    g = run.generation
    body = protocol.completion(
        request_id,
        created,
        chat.model,
        "".join(pieces),
        g.finish_reason,
        protocol.usage(g.prompt_tokens, g.completion_tokens),
    )
    return web.json_response(body)


async def _stream(
    request: web.Request, run: _Run, first: str | None, chat: ChatRequest, request_id: str, created: int
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)

    def chunk(**kw) -> dict[str, Any]:
        return protocol.chunk(request_id, created, chat.model, with_usage_field=chat.include_usage, **kw)

    try:
        await _send(response, chunk(delta={"role": "assistant", "content": ""}))
        piece = first
        try:
            while piece is not None:
                await _send(response, chunk(delta={"content": piece}))
                piece = await run.next_piece()
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as e:
            log.error("engine failed mid-stream on %s\n%s", request_id, traceback.format_exc())
            await _send(response, _server_error(e).body())
            await response.write(b"data: [DONE]\n\n")
            return response
        g = run.generation
        await _send(response, chunk(delta={}, finish_reason=g.finish_reason))
        if chat.include_usage:
            await _send(
                response,
                protocol.chunk(
                    request_id,
                    created,
                    chat.model,
                    usage_=protocol.usage(g.prompt_tokens, g.completion_tokens),
                ),
            )
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
    except ConnectionResetError:
        log.info("client left during %s; generation cancelled", request_id)
    return response


async def _send(response: web.StreamResponse, body: dict[str, Any]) -> None:
    await response.write(b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n")
