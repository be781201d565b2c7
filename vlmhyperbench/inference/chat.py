"""Streamed chat requests to an OpenAI-compatible endpoint, timed on the client as vLLM's benchmark does.

``run_requests`` asks every item of an iterable with at most ``concurrency`` requests in flight (use
``concurrency=1`` for latency mode) and hands each ``Answer`` to ``on_answer`` as it arrives. It pulls
items lazily and builds each request body (image data URLs included) only when a slot is free, so
memory stays flat in the number of samples.

The hot path is aiohttp with a lean SSE parser, not the ``openai`` SDK: at concurrency 64 the SDK's
per-chunk pydantic parsing and httpx pool cost more client CPU than the whole request budget
(bench/bench_inference.py measures both).

Timing, per answered request (``time.perf_counter``; the attempt that answered):
- ``ttft_s``: from just before the request is sent to the first chunk with generated text
  (``delta.content``, or ``delta.reasoning_content`` of reasoning models);
- ``latency_s``: to the last data chunk of the stream (the usage chunk included, as vLLM does);
- ``tpot_s``: ``(latency - ttft) / (output_tokens - 1)``, None for a single token;
- ``itl_s``: the median of the gaps between successive arrivals of text of that request (None for
  fewer than two). Text chunks that arrive in one socket read are one arrival: a server that writes
  several tokens per event (``transformers serve`` drains its token queue into one write) is not
  credited with gaps of zero, and TPOT, from the token count, stays the per-token figure;
- ``output_tokens``: ``usage.completion_tokens`` when the server sends usage, else the text chunks;
  ``input_tokens``: ``usage.prompt_tokens`` (None when the server sends no usage);
- ``queue_wait_s``: client-side time before the request went out, from the moment its concurrency
  slot was free (the slot's previous request done, or the start): taking the item from the iterable
  (the dataset reader) and building the body (reading and encoding the images). It is kept out of
  the latencies above; the closed loop never holds a ready request back, so a large value means the
  client, not the server, is what limits the rate;
- a server that answers ``stream=True`` with one JSON body is accepted: its TTFT is its latency and
  it has no TPOT or ITL;
- ``sent_at`` / ``finished_at``: wall-clock (epoch) of the first attempt's send and of the end of the
  last attempt: what a throughput window over several sessions is built from.

Endpoints: ``Endpoint.chat_url`` is ``BASE_URL/chat/completions`` with the row's extra ``query``
parameters, or, for Azure OpenAI (``api_version`` set), ``ENDPOINT/openai/deployments/DEPLOYMENT/
chat/completions?api-version=V`` with the key in the ``api-key`` header, as the ``openai`` SDK's
``AzureOpenAI`` sends it. The URL is built once; query values and keys never appear in an error.

Faults: each attempt has ``timeout_s``; connection errors, timeouts, 429 and 5xx are retried up to
``max_attempts`` with exponential backoff and full jitter (``Retry-After`` honoured up to the cap);
other 4xx fail at once with the server's message. A malformed stream chunk, and a stream that ends
without ``[DONE]`` or a ``finish_reason`` (or in the middle of a chunk), are retried too: a
truncated answer is never stored as the model's. A request that still fails is an ``Answer`` with
``error`` set and the run goes on; the run stops early (``RunStats.stopped_early``) when the share of
failed requests passes ``max_error_rate`` after ``min_requests_for_rate`` requests, or when
``max_consecutive_failures`` attempts in a row fail with a timeout, connection error or 5xx without
any answer in between (a hung model would otherwise cost hours of timeouts). Requests still in
flight at an early stop are cancelled and not reported: they count as missing, so a resume asks
them again. A sample whose image cannot be read (or whose ``RequestItem.error`` is set) fails with
no request sent (attempts 0) and does not count toward the error rate; so does an empty image file
and one whose bytes are no known image format: a broken input says nothing
about the model.
"""

from __future__ import annotations

import asyncio
import base64
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from vlmhyperbench.inference.downscale import fit_pixels

try:  # orjson parses an SSE chunk in a third of json's time; prefect already depends on it
    from orjson import dumps as _dumps
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    import json as _json

    _loads = _json.loads

    def _dumps(obj: Any) -> bytes:
        return _json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


NO_KEY = "EMPTY"
"""What the SDK sends for an endpoint that needs no key (vLLM's convention): it must send some key, and it
would otherwise take the orchestrator's OPENAI_API_KEY to an endpoint that has no business seeing it."""

__all__ = [
    "Endpoint",
    "ImageSource",
    "RequestItem",
    "Answer",
    "RunStats",
    "run_requests",
    "check_health",
    "list_models",
    "build_body",
]


class Endpoint(BaseModel):
    """Where and how to ask: an OpenAI-compatible server and the sampling parameters of the model."""

    model_config = ConfigDict(frozen=True)

    base_url: str
    """Up to and including ``/v1``, as the ``openai`` client takes it: ``http://127.0.0.1:8000/v1``."""
    model: str
    """The served model name, sent as ``model`` in each request."""
    api_key: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)
    """Extra HTTP headers; kept out of repr and dumps, as they may carry credentials too."""
    max_tokens: int = 512
    temperature: float = 0.0
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Merged into every request body (``top_p``, ``seed``, vLLM's ``repetition_penalty`` ...)."""
    query: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)
    """Query parameters every request carries (a gateway's routing or its access code); kept out of repr
    and dumps, and out of error messages, as a gateway may take a secret there."""
    api_version: str | None = None
    """Azure OpenAI's ``api-version``: when set, ``base_url`` is the resource's endpoint
    (``https://NAME.openai.azure.com``) and requests go to its deployment ``deployment``."""
    deployment: str | None = None
    """Azure OpenAI's deployment name (None: ``model``)."""
    max_pixels: int | None = None
    """Pages above this many pixels are shrunk (aspect kept) before they are sent, as PNG: a server with no
    such setting of its own (a `transformers` row's ``--engine-arg max_pixels=N``). None: sent as read."""

    @property
    def azure(self) -> bool:
        return self.api_version is not None

    @property
    def chat_path(self) -> str:
        """The chat URL without its query: what an error may show."""
        base = self.base_url.rstrip("/")
        if self.azure:
            base = base.removesuffix("/openai")
            return (
                f"{base}/openai/deployments/{quote(self.deployment or self.model, safe='')}/chat/completions"
            )
        return base + "/chat/completions"

    @property
    def query_params(self) -> dict[str, str]:
        """Every query parameter of a request: the row's, then Azure's api-version."""
        return {**self.query, **({"api-version": self.api_version} if self.azure else {})}

    @property
    def chat_url(self) -> str:
        params = self.query_params
        return self.chat_path + ("?" + urlencode(params) if params else "")

    def http_headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "User-Agent": "vlmhyperbench",
            **self.headers,
        }
        if self.api_key is not None:
            if self.azure:  # Azure's key header, as AzureOpenAI sends it
                headers["api-key"] = self.api_key.get_secret_value()
            else:
                headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return headers


class ImageSource(Protocol):
    """An image read only when its request is sent (a dataset's image file, a parquet cell ...).

    The type is sniffed from the first bytes (PNG, JPEG, GIF, TIFF, BMP, WebP), else taken from an
    optional ``mime`` attribute: ``datasets.ImageRef`` and a plain ``pathlib.Path`` both work.
    """

    def read_bytes(self) -> bytes: ...


@dataclass(slots=True)
class RequestItem:
    """One question to the model: its prompt and its images (pages), in the order they are sent."""

    sample_id: str
    prompt: str
    images: Sequence[ImageSource] = ()
    meta: dict[str, Any] | None = None
    """Passed through untouched to ``Answer.meta`` (the row fields the prediction store writes)."""
    error: str | None = None
    """Set for a sample the reader could not build: it becomes a failed Answer, nothing is sent."""
    text_first: bool = False
    """The prompt's text before the images in the user message (the official order of some benchmarks:
    MMLongBench-Doc, CharXiv); default: the images first."""
    followups: tuple[tuple[str, str], ...] = ()
    """(role, text) messages after the user message, sent as they are: MMLongBench-Doc's answer extraction
    hands its judge the question and the model's reply as an assistant message."""
    body: dict[str, Any] | None = None
    """Request fields of this item, over the endpoint's (a judge question's `response_format`)."""


@dataclass(slots=True)
class Answer:
    """What one request came to: the prediction or the error, with its timings (see module doc)."""

    sample_id: str
    prediction: str | None
    error: str | None
    attempts: int
    ttft_s: float | None = None
    latency_s: float | None = None
    tpot_s: float | None = None
    itl_s: float | None = None
    output_tokens: int | None = None
    queue_wait_s: float | None = None
    sent_at: float | None = None
    finished_at: float | None = None
    session_start: float | None = None
    """Epoch start of the ``run_requests`` call that produced it: throughput windows are per session."""
    meta: dict[str, Any] | None = field(default=None, repr=False)
    input_tokens: int | None = None
    """``usage.prompt_tokens`` (text and image tokens) when the server reports usage (what a judge's cost
    is counted in, too)."""


@dataclass(slots=True)
class RunStats:
    """One ``run_requests`` call: counts, the measured window (epoch seconds) and why it stopped early."""

    requests: int = 0
    answered: int = 0
    errors: int = 0
    output_tokens: int = 0
    started_at: float | None = None
    """Epoch of the first send; None when nothing was sent."""
    finished_at: float | None = None
    """Epoch of the last completion."""
    stopped_early: str | None = None

    @property
    def window_s(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return self.finished_at - self.started_at

    @property
    def requests_per_s(self) -> float:
        return self.answered / self.window_s if self.window_s > 0 else math.nan


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.counts = True  # toward max_consecutive_failures (a 429 does not: the model is alive)


class _Fatal(Exception):
    pass


class _InputError(Exception):
    """The sample itself is broken (an unreadable image): no request was sent."""


@dataclass(slots=True)
class _Timing:
    text: str
    ttft: float
    latency: float
    itl: float | None
    chunks: int
    usage_tokens: int | None
    streamed: bool = True
    prompt_tokens: int | None = None


_IMAGE_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
)


def _mime(image: ImageSource, data: bytes) -> str:
    # the bytes in hand first: asking the source could read the file a second time
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, name in _IMAGE_MAGIC:
        if data.startswith(magic):
            return name
    return getattr(image, "mime", None) or "application/octet-stream"


def build_body(endpoint: Endpoint, item: RequestItem, *, stream: bool = True) -> bytes:
    """The chat-completions request body: one user message, the images (data URLs) then the text (the text
    first with `text_first`), then the item's follow-up messages."""
    if item.images:
        content: Any = []
        for image in item.images:
            try:
                data = image.read_bytes()
            except Exception as e:  # a missing file, a path the reader refused: this sample only
                raise _InputError(f"image unreadable: {type(e).__name__}: {e}") from e
            if not data:
                raise _InputError("image unreadable: the file is empty (0 bytes)")
            mime = _mime(image, data)
            if mime == "application/octet-stream":  # no server can read it: say so, send nothing
                raise _InputError(
                    f"image unreadable: not an image (unknown format, first bytes {data[:8]!r})"
                )
            if endpoint.max_pixels:
                try:
                    data, mime = fit_pixels(data, mime, endpoint.max_pixels)
                except Exception as e:  # Pillow's errors vary by format (a decompression bomb too)
                    raise _InputError(f"image unreadable: {type(e).__name__}: {e}") from e
            url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        text = {"type": "text", "text": item.prompt}
        content.insert(0 if item.text_first else len(content), text)
    else:
        content = item.prompt
    messages = [{"role": "user", "content": content}]
    messages += [{"role": role, "content": text} for role, text in item.followups]
    body = {
        "model": endpoint.model,
        "messages": messages,
        "max_tokens": endpoint.max_tokens,
        "temperature": endpoint.temperature,
        "stream": stream,
        **endpoint.extra_body,
        **(item.body or {}),
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return _dumps(body)


async def _stream(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], st: float
) -> _Timing:
    """One attempt: send, read the SSE stream to its end (so the connection goes back to the pool)."""
    perf = time.perf_counter
    async with session.post(url, data=body, headers=headers) as resp:
        if resp.status != 200:
            raw = await resp.read()
            message = _server_message(raw)
            text = f"HTTP {resp.status}: {message}"
            if resp.status == 429 or resp.status >= 500:
                err = _Retryable(text, _retry_after(resp.headers.get("Retry-After")))
                err.counts = resp.status != 429
                raise err
            raise _Fatal(text)
        if resp.content_type == "application/json":  # a server that ignores stream=True
            raw = await resp.read()
            now = perf()
            try:
                obj = _loads(raw)
                text = obj["choices"][0]["message"].get("content") or ""
            except (ValueError, KeyError, IndexError, TypeError) as e:
                raise _Fatal(f"malformed completion: {raw[:200]!r}") from e
            usage = obj.get("usage") or {}
            return _Timing(
                text,
                now - st,
                now - st,
                None,
                1 if text else 0,
                usage.get("completion_tokens"),
                streamed=False,
                prompt_tokens=usage.get("prompt_tokens"),
            )
        parts: list[str] = []
        ttft = last_text = last_data = 0.0
        gaps: list[float] = []
        usage_tokens = prompt_tokens = None
        text_chunks = 0
        pending = b""
        complete = False  # [DONE] or a finish_reason seen: a stream that ends without either was cut
        async for data in resp.content.iter_any():
            now = perf()
            if pending:
                data = pending + data
            lines = data.split(b"\n")
            pending = lines.pop()
            for line in lines:
                if not line.startswith(b"data:"):
                    continue  # blank separators, ": keep-alive" comments, "event:" lines
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    complete = True
                    continue  # keep reading to EOF so the connection is reusable
                try:
                    chunk = _loads(payload)
                except ValueError as e:  # a garbled stream is the transport's fault: ask again
                    raise _Retryable(f"malformed stream chunk: {payload[:200]!r}") from e
                last_data = now
                if "error" in chunk:
                    _raise_stream_error(chunk["error"])
                choices = chunk.get("choices")
                if choices:
                    if choices[0].get("finish_reason"):
                        complete = True
                    delta = choices[0].get("delta") or {}
                    piece = delta.get("content")
                    if piece or delta.get("reasoning_content") or delta.get("reasoning"):
                        text_chunks += 1
                        if not ttft:
                            ttft = now - st
                        elif now != last_text:  # text of one read is one arrival, not gaps of zero
                            gaps.append(now - last_text)
                        last_text = now
                        if piece:
                            parts.append(piece)
                usage = chunk.get("usage")
                if usage:
                    usage_tokens = usage.get("completion_tokens")
                    prompt_tokens = usage.get("prompt_tokens")
        tail = pending.strip()
        if tail in (b"data: [DONE]", b"data:[DONE]"):
            complete = True
        elif tail.startswith(b"data:") or not complete:
            # A clean end of the body in the middle of a chunk, or before the answer finished: a
            # truncated answer must not be stored as if it were the model's.
            raise _Retryable(f"stream ended before the answer was complete (last bytes: {tail[-80:]!r})")
    chunks = text_chunks
    if not ttft:  # an empty answer: time it to the end of the stream
        ttft = (last_data or perf()) - st
    gaps.sort()
    n = len(gaps)
    itl = None if not n else (gaps[n // 2] if n % 2 else (gaps[n // 2 - 1] + gaps[n // 2]) / 2)
    return _Timing(
        "".join(parts),
        ttft,
        (last_data or perf()) - st,
        itl,
        chunks,
        usage_tokens,
        prompt_tokens=prompt_tokens,
    )


def _server_message(raw: bytes) -> str:
    """An error body's message: OpenAI's {"error": {"message"}}, vLLM's {"message"}, FastAPI's {"detail"}."""
    try:
        obj = _loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:1000]
    if isinstance(obj, dict):
        err = obj.get("error") or obj
        obj = (err.get("message") or err.get("detail") or err) if isinstance(err, dict) else err
    return str(obj)[:1000]


def _raise_stream_error(err: Any) -> None:
    message = err.get("message", err) if isinstance(err, dict) else err
    code = err.get("code") if isinstance(err, dict) else None
    text = f"stream error: {message}"
    if isinstance(code, int) and 400 <= code < 500 and code != 429:
        raise _Fatal(text)
    raise _Retryable(text)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


async def run_requests(
    endpoint: Endpoint,
    items: Iterable[RequestItem],
    *,
    concurrency: int,
    timeout_s: float,
    max_attempts: int = 3,
    max_error_rate: float = 0.5,
    min_requests_for_rate: int = 20,
    max_consecutive_failures: int | None = None,
    on_answer: Callable[[Answer], None],
    on_progress: Callable[[RunStats], None] | None = None,
    backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
) -> RunStats:
    """Ask every item, at most ``concurrency`` at a time; ``on_answer`` gets each answer as it arrives.

    ``max_consecutive_failures`` defaults to ``max(10, concurrency)`` failed attempts in a row
    (timeouts, connection errors, 5xx; neither a 429 nor another 4xx counts). An exception raised
    by ``on_answer`` (a full disk) cancels the requests in flight and is raised here.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    if max_consecutive_failures is None:
        max_consecutive_failures = max(10, concurrency)
    url, headers = endpoint.chat_url, endpoint.http_headers()

    def _safe(e: BaseException) -> str:  # an error never shows the query (it may hold a gateway's code)
        return str(e).replace(url, endpoint.chat_path)

    perf = time.perf_counter
    epoch0 = time.time() - perf()  # perf_counter -> epoch, without a clock call per request
    session_start = epoch0 + perf()
    stats = RunStats()
    first_send = math.inf
    last_end = -math.inf
    counted = 0  # requests that count toward the error rate (not broken inputs)
    counted_errors = 0
    consecutive = 0
    failure: BaseException | None = None
    iterator = iter(items)
    workers: list[asyncio.Task] = []
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(timeout_s, 30.0))

    def stop(reason: str) -> None:
        if stats.stopped_early is None:
            stats.stopped_early = reason
        me = asyncio.current_task()
        for task in workers:
            if task is not me:
                task.cancel()

    def attempt_failed(err: _Retryable | _Fatal) -> None:
        nonlocal consecutive
        if not isinstance(err, _Retryable) or not err.counts:
            return  # a 4xx is the request's fault, a 429 a busy server: neither says the model is dead
        consecutive += 1
        if consecutive >= max_consecutive_failures and stats.stopped_early is None:
            stop(f"{consecutive} attempts in a row failed without an answer (last: {err})")

    async def ask(session: aiohttp.ClientSession, item: RequestItem, free_since: float) -> None:
        nonlocal first_send, last_end, counted, counted_errors, consecutive, failure
        sent = None
        error = None
        timing = None
        attempts = 0
        try:
            if item.error is not None:
                raise _InputError(item.error)
            body = build_body(endpoint, item)
        except _InputError as e:
            error = str(e)
        else:
            while True:
                attempts += 1
                st = perf()
                if sent is None:
                    sent = st
                    if st < first_send:
                        first_send = st
                try:
                    async with asyncio.timeout(timeout_s):
                        timing = await _stream(session, url, body, headers, st)
                    error = None
                    break
                except (_Retryable, _Fatal) as e:
                    err = e
                except TimeoutError:
                    err = _Retryable(f"timeout after {timeout_s:g} s")
                except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as e:
                    err = _Retryable(f"connection error: {type(e).__name__}: {_safe(e)}")
                except aiohttp.ClientError as e:
                    err = _Fatal(f"client error: {type(e).__name__}: {_safe(e)}")
                error = str(err)
                attempt_failed(err)
                if isinstance(err, _Fatal) or attempts >= max_attempts or stats.stopped_early is not None:
                    break
                delay = min(max_backoff_s, backoff_s * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)
                if err.retry_after is not None:
                    delay = max(delay, min(err.retry_after, max_backoff_s))
                await asyncio.sleep(delay)
        end = perf()
        queue_wait = (sent if sent is not None else end) - free_since
        if sent is not None and end > last_end:
            last_end = end
        if timing is not None:
            consecutive = 0
            tokens = timing.usage_tokens if timing.usage_tokens is not None else timing.chunks
            answer = Answer(
                item.sample_id,
                timing.text,
                None,
                attempts,
                timing.ttft,
                timing.latency,
                (timing.latency - timing.ttft) / (tokens - 1) if tokens > 1 and timing.streamed else None,
                timing.itl,
                tokens,
                queue_wait,
                epoch0 + sent,
                epoch0 + end,
                session_start,
                item.meta,
                input_tokens=timing.prompt_tokens,
            )
            stats.answered += 1
            stats.output_tokens += tokens
        else:
            answer = Answer(
                item.sample_id,
                None,
                error,
                attempts,
                queue_wait_s=queue_wait,
                sent_at=None if sent is None else epoch0 + sent,
                finished_at=epoch0 + end,
                session_start=session_start,
                meta=item.meta,
            )
            stats.errors += 1
        stats.requests += 1
        if sent is not None:
            counted += 1
            counted_errors += timing is None
        try:
            on_answer(answer)
            if on_progress is not None:
                on_progress(stats)
        except Exception as e:  # the store failed: nothing more can be kept, stop now
            failure = failure or e
            stop(f"on_answer failed: {e!r}")
            return
        if (
            counted >= min_requests_for_rate
            and counted_errors > max_error_rate * counted
            and stats.stopped_early is None
        ):
            stop(
                f"error rate {counted_errors}/{counted} = {counted_errors / counted:.0%} passed "
                f"{max_error_rate:.0%} (last error: {error})"
            )

    async def worker(session: aiohttp.ClientSession) -> None:
        # A worker takes the next item only when its previous request is done: the concurrency slot.
        nonlocal failure
        free_since = perf()
        while stats.stopped_early is None:
            try:
                item = next(iterator)
            except StopIteration:
                return
            except Exception as e:  # the dataset reader broke: the run cannot go on
                failure = failure or e
                stop(f"reading the items failed: {e!r}")
                return
            await ask(session, item, free_since)
            free_since = perf()

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=300)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        workers.extend(asyncio.create_task(worker(session)) for _ in range(concurrency))
        try:
            await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)  # a bug in a worker ends all
        finally:
            for task in workers:
                task.cancel()
            await asyncio.wait(workers)
        for task in workers:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()
    if failure is not None:
        raise failure
    if first_send != math.inf:
        stats.started_at = epoch0 + first_send
        stats.finished_at = epoch0 + max(last_end, first_send)
    return stats


async def list_models(
    base_url: str, *, timeout_s: float = 10.0, api_key: SecretStr | str | None = None
) -> list[str]:
    """The model ids the endpoint serves (``GET {base_url}/models``, by the ``openai`` SDK's typed client:
    speed does not matter here); raises RuntimeError naming the status on an HTTP error."""
    import openai

    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    client = openai.AsyncOpenAI(
        base_url=base_url,
        api_key=key or NO_KEY,  # never the orchestrator's OPENAI_API_KEY
        max_retries=0,
        timeout=timeout_s,
        http_client=openai.DefaultAsyncHttpxClient(trust_env=False, timeout=timeout_s),
    )
    try:
        return [m.id async for m in client.models.list()]
    except openai.APIStatusError as e:
        raise RuntimeError(
            f"GET /models: HTTP {e.status_code}: {_server_message(e.response.content)}"
        ) from None
    except openai.APIError as e:
        raise RuntimeError(f"GET /models: {type(e).__name__}: {e.__cause__ or e}") from None
    finally:
        await client.close()


async def check_health(
    base_url: str, timeout: float = 10.0, *, model: str | None = None, api_key: SecretStr | str | None = None
) -> str | None:
    """None when the endpoint answers ``GET /models`` (and serves ``model``, if given), else why not."""
    try:
        models = await list_models(base_url, timeout_s=timeout, api_key=api_key)
    except (aiohttp.ClientError, TimeoutError, RuntimeError, ValueError) as e:
        return f"{base_url}: {type(e).__name__}: {e}" if str(e) else f"{base_url}: {type(e).__name__}"
    if model is not None and model not in models:
        return f"{base_url} does not serve model {model!r} (it serves {', '.join(models) or 'none'})"
    return None
