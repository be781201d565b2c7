"""run_requests against the real synthetic server (tests.support.synthetic_server) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
import statistics
import time
import urllib.request

import pytest

from vlmhyperbench.inference.chat import (
    Answer,
    Endpoint,
    RequestItem,
    build_body,
    check_health,
    list_models,
    run_requests,
)


def _synthetic():
    from tests.support import synthetic_server

    return synthetic_server


@pytest.fixture(scope="module")
def server():
    """40 ms to the first token, then 4 more 10 ms apart: a true latency of 80 ms."""
    with _synthetic().launch("--ttft-ms", "40", "--itl-ms", "10", "--tokens", "5") as url:
        yield url


def ask(url: str, prompts: list[str], **kwargs) -> tuple[list[Answer], object]:
    answers: list[Answer] = []
    kwargs = {"concurrency": 4, "timeout_s": 5.0, "backoff_s": 0.01, "on_answer": answers.append, **kwargs}
    items = [RequestItem(f"s{i}", p) for i, p in enumerate(prompts)]
    stats = asyncio.run(run_requests(Endpoint(base_url=url, model="synthetic"), items, **kwargs))
    answers.sort(key=lambda a: int(a.sample_id[1:]))
    return answers, stats


async def _bare_timings(url: str, n: int, concurrency: int) -> dict[str, float]:
    """Median TTFT, latency, TPOT and gap between chunks of a bare aiohttp loop against URL (vLLM's benchmark
    request function, reduced): what the machine lets any client measure right now."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    seen: dict[str, list[float]] = {"ttft": [], "latency": [], "tpot": [], "itl": []}

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        body = {"model": "synthetic", "stream": True, "messages": [{"role": "user", "content": f"q{i}"}]}
        async with sem:
            started = time.perf_counter()
            arrivals = []
            async with session.post(url + "/chat/completions", json=body) as resp:
                async for line in resp.content:
                    if line.startswith(b"data: {") and json.loads(line[6:])["choices"][0]["delta"].get(
                        "content"
                    ):
                        arrivals.append(time.perf_counter() - started)
            latency = time.perf_counter() - started
            seen["ttft"].append(arrivals[0])
            seen["latency"].append(latency)
            seen["tpot"].append((latency - arrivals[0]) / (len(arrivals) - 1))
            seen["itl"] += [b - a for a, b in zip(arrivals, arrivals[1:])]

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, i) for i in range(n)))
    return {name: statistics.median(values) for name, values in seen.items()}


def test_timings_match_the_servers_known_delays(server):
    """Our figures against the server's known delays, and against a bare aiohttp loop's in the same moment:
    on a shared machine every client is late by the same load; ours may not add to it."""
    bare = asyncio.run(_bare_timings(server, 8, 4))
    answers, stats = ask(server, [f"q{i}" for i in range(8)])
    assert stats.requests == stats.answered == 8 and stats.errors == 0 and stats.stopped_early is None
    for a in answers:
        assert a.error is None and a.attempts == 1
        assert a.prediction == "t0 t1 t2 t3 t4"
        assert a.output_tokens == 5
        # the client can only be late (its CPUs are shared with the server and other tests), never early
        assert a.ttft_s >= 0.040 and a.latency_s >= 0.080
        # ITL is between arrivals of text: None when a client late on a loaded machine read the answer at once
        assert a.itl_s is None or a.itl_s >= 0.005
        assert a.tpot_s == pytest.approx((a.latency_s - a.ttft_s) / 4)
        assert a.sent_at < a.finished_at and a.finished_at - a.sent_at >= a.latency_s
        assert a.queue_wait_s >= 0
    # within 15-20 ms of the true delays, or of what the bare loop measured when the machine is busy
    assert statistics.median(a.ttft_s for a in answers) < max(0.040, bare["ttft"]) + 0.015, bare
    assert statistics.median(a.latency_s for a in answers) < max(0.080, bare["latency"]) + 0.020, bare
    tpot = statistics.median(a.tpot_s for a in answers)
    assert min(0.008, bare["tpot"] - 0.004) < tpot < max(0.014, bare["tpot"] + 0.004), bare
    gaps = [a.itl_s for a in answers if a.itl_s is not None]
    assert len(gaps) >= 4 and 0.005 < statistics.median(gaps) < max(0.014, bare["itl"] + 0.004), bare
    assert stats.window_s >= 2 * 0.080  # two waves of four
    assert stats.output_tokens == 40


def test_a_coarse_stream_is_timed_per_token_and_per_arrival(server):
    """transformers serve's stream: several tokens to a write, no [DONE]. Tokens are made 10 ms apart after
    40 ms; they arrive as [t0] at 40 ms, [t1..t4] at 80 ms, [t5..t8] at 120 ms, then finish and usage."""
    answers, stats = ask(server, ["#tokens=9 #burst=4 #nodone q"] * 8)
    assert stats.answered == 8 and stats.errors == 0
    for a in answers:
        assert a.error is None and a.attempts == 1, "no [DONE]: complete on its finish_reason"
        assert a.prediction == " ".join(f"t{i}" for i in range(9))
        assert a.output_tokens == 9, "from the usage, not the 3 arrivals nor the 9 chunks' reads"
        assert a.ttft_s >= 0.040 and a.latency_s >= 0.120
        assert a.tpot_s == pytest.approx((a.latency_s - a.ttft_s) / 8)
        # the gaps between arrivals, never the zeros inside one read (None: a late client read it all at once)
        assert a.itl_s is None or a.itl_s > 0.005
    # wide bounds: other tests share the CPUs; a late first arrival shortens the gaps after it (the
    # server's deadlines are absolute), and 40 ms per token (per arrival) or 0 (per chunk) stay far out
    assert statistics.median(a.ttft_s for a in answers) < 0.040 + 0.040
    assert 0.006 < statistics.median(a.tpot_s for a in answers) < 0.016, "the per-token figure"
    gaps = [a.itl_s for a in answers if a.itl_s is not None]
    assert len(gaps) >= 4 and 0.025 < statistics.median(gaps) < 0.055, "4 tokens per arrival"


def test_connections_are_reused(server):
    root = server.removesuffix("/v1")
    urllib.request.urlopen(urllib.request.Request(root + "/reset", method="POST", data=b""), timeout=5).read()
    answers, _ = ask(server, ["#ttft=1 #itl=1 q"] * 40, concurrency=4)
    with urllib.request.urlopen(root + "/stats", timeout=5) as resp:
        stats = json.loads(resp.read())
    assert stats["requests"] == 40 and stats["connections"] <= 4


def test_tokens_are_counted_from_chunks_without_usage(server):
    (a,), _ = ask(server, ["#nousage #tokens=3"])
    assert a.prediction == "t0 t1 t2" and a.output_tokens == 3


def test_a_server_that_does_not_stream_still_answers(server):
    (a,), _ = ask(server, ["#nostream #tokens=3"])
    assert a.prediction == "t0 t1 t2" and a.output_tokens == 3
    assert a.ttft_s == a.latency_s >= 0.060 and a.tpot_s is None and a.itl_s is None


def test_retries_5xx_429_and_dropped_connections_but_not_400(server):
    prompts = ["#fail=500x2 a", "#fail=429x1 b", "#drop=1 c", "#status=400 d", "#fail=503x9 e"]
    answers, stats = ask(server, prompts, max_attempts=3)
    by = {a.sample_id: a for a in answers}
    assert (by["s0"].error, by["s0"].attempts, by["s0"].prediction) == (None, 3, "t0 t1 t2 t3 t4")
    assert (by["s1"].error, by["s1"].attempts) == (None, 2)
    assert (by["s2"].error, by["s2"].attempts) == (None, 2)
    assert by["s3"].attempts == 1 and by["s3"].error == "HTTP 400: synthetic failure"
    assert by["s3"].prediction is None and by["s3"].ttft_s is None
    assert by["s4"].attempts == 3 and by["s4"].error.startswith("HTTP 503: synthetic failure 3 of 9")
    assert stats.errors == 2 and stats.answered == 3


def test_unknown_model_fails_at_once_with_the_servers_message(server):
    answers: list[Answer] = []
    stats = asyncio.run(
        run_requests(
            Endpoint(base_url=server, model="nope"),
            [RequestItem("x", "hi")],
            concurrency=1,
            timeout_s=5,
            on_answer=answers.append,
        )
    )
    assert answers[0].attempts == 1
    assert "HTTP 404" in answers[0].error and "does not exist" in answers[0].error
    assert stats.errors == 1


def test_a_stalled_request_times_out_and_the_run_goes_on(server):
    t = time.perf_counter()
    answers, stats = ask(server, ["#sleep=3 slow", "fast"], timeout_s=0.3, max_attempts=2)
    assert time.perf_counter() - t < 3.0  # 2 x 0.3 s and a backoff; waiting out the stall would take 6 s
    assert answers[0].error == "timeout after 0.3 s" and answers[0].attempts == 2
    assert answers[1].error is None


def test_stops_early_when_the_error_rate_passes_the_threshold(server):
    prompts = ["#status=500"] * 100
    answers, stats = ask(
        server,
        prompts,
        concurrency=2,
        max_attempts=1,
        max_error_rate=0.5,
        min_requests_for_rate=10,
        max_consecutive_failures=1000,
    )
    assert stats.stopped_early and "error rate" in stats.stopped_early and "HTTP 500" in stats.stopped_early
    assert 10 <= stats.requests <= 12 and len(answers) == stats.requests


def test_a_dead_endpoint_stops_within_seconds():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    answers, stats = ask(f"http://127.0.0.1:{port}/v1", ["q"] * 1000, concurrency=4, max_attempts=3)
    assert time.perf_counter() - t < 5
    assert stats.stopped_early and "in a row" in stats.stopped_early
    assert "connection error" in stats.stopped_early
    assert stats.answered == 0 and len(answers) < 20


class CountingImage:
    mime = None  # sniffed from the bytes

    def __init__(self, data: bytes, log: list[str]):
        self.data, self.log = data, log

    def read_bytes(self) -> bytes:
        self.log.append("read")
        return self.data


def test_items_are_pulled_lazily_and_images_read_at_send_time(server):
    log: list[str] = []
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

    def items():
        for i in range(40):
            log.append("pulled")
            pages = [CountingImage(png, log), CountingImage(png, log)]
            yield RequestItem(str(i), "#ttft=1 #itl=1 what?", pages)

    ahead: list[int] = []

    def on_answer(a: Answer) -> None:
        assert a.error is None
        ahead.append(log.count("pulled") - len(ahead) - 1)

    asyncio.run(
        run_requests(
            Endpoint(base_url=server, model="synthetic"),
            items(),
            concurrency=4,
            timeout_s=5,
            on_answer=on_answer,
        )
    )
    assert len(ahead) == 40 and max(ahead) <= 4  # never more than `concurrency` items held
    assert log.count("read") == 80
    # every item's images are read right after it is pulled, not all up front
    assert log[:3] == ["pulled", "read", "read"]


def test_a_path_is_an_image_source(tmp_path):
    page = tmp_path / "page.png"
    page.write_bytes(b"\x89PNG\r\n\x1a\nrest")
    body = json.loads(build_body(Endpoint(base_url="http://x/v1", model="m"), RequestItem("1", "q", [page])))
    assert body["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_body_is_one_user_message_images_then_text():
    item = RequestItem(
        "1",
        "What is the total?",
        [CountingImage(b"\xff\xd8\xff\xe0jpeg", []), CountingImage(b"\x89PNG\r\n\x1a\npng", [])],
    )
    ep = Endpoint(base_url="http://x/v1", model="m", max_tokens=7, extra_body={"seed": 1})
    body = json.loads(build_body(ep, item))
    assert body["model"] == "m" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 7 and body["temperature"] == 0.0 and body["seed"] == 1
    (message,) = body["messages"]
    first, second, text = message["content"]
    assert first["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert base64.b64decode(second["image_url"]["url"].split(",", 1)[1]) == b"\x89PNG\r\n\x1a\npng"
    assert text == {"type": "text", "text": "What is the total?"}


def test_pages_above_max_pixels_are_shrunk_before_they_are_sent(tmp_path):
    """A `transformers` row's max_pixels (transformers serve has no such setting): the client shrinks."""
    from PIL import Image

    def png(size) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", size, "white").save(buf, format="PNG")
        return buf.getvalue()

    big, small = png((400, 200)), png((40, 20))
    jpeg = io.BytesIO()
    Image.new("RGB", (300, 300), "white").save(jpeg, format="JPEG")
    item = RequestItem(
        "1", "q", [CountingImage(big, []), CountingImage(small, []), CountingImage(jpeg.getvalue(), [])]
    )
    body = json.loads(build_body(Endpoint(base_url="http://x/v1", model="m", max_pixels=20_000), item))
    urls = [p["image_url"]["url"] for p in body["messages"][0]["content"][:3]]
    sent = [base64.b64decode(u.split(",", 1)[1]) for u in urls]
    assert Image.open(io.BytesIO(sent[0])).size == (200, 100), "aspect kept, within 20,000 pixels"
    assert sent[1] == small, "a page that fits is sent as read"
    assert urls[2].startswith("data:image/png;") and Image.open(io.BytesIO(sent[2])).size == (141, 141)
    unbounded = json.loads(build_body(Endpoint(base_url="http://x/v1", model="m"), item))
    assert base64.b64decode(unbounded["messages"][0]["content"][0]["image_url"]["url"].split(",")[1]) == big


class MissingImage:
    mime = "image/png"

    def read_bytes(self) -> bytes:
        raise FileNotFoundError("page.png")


def test_an_unreadable_image_fails_its_sample_only(server):
    answers: list[Answer] = []
    items = [RequestItem(str(i), "q", [MissingImage()]) for i in range(30)] + [RequestItem("ok", "q")]
    items.append(RequestItem("bad", "q", error="image path leaves the dataset folder"))
    stats = asyncio.run(
        run_requests(
            Endpoint(base_url=server, model="synthetic"),
            items,
            concurrency=2,
            timeout_s=5,
            on_answer=answers.append,
            min_requests_for_rate=5,
        )
    )
    assert stats.stopped_early is None  # broken inputs say nothing about the model
    bad = [a for a in answers if a.sample_id not in ("ok", "bad")]
    assert len(bad) == 30 and all(a.attempts == 0 and a.error.startswith("image unreadable") for a in bad)
    assert [a.error for a in answers if a.sample_id == "bad"] == ["image path leaves the dataset folder"]
    assert [a.error for a in answers if a.sample_id == "ok"] == [None]


def test_an_on_answer_failure_stops_the_run_and_is_raised(server):
    def on_answer(a: Answer) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        asyncio.run(
            run_requests(
                Endpoint(base_url=server, model="synthetic"),
                (RequestItem(str(i), "q") for i in range(100)),
                concurrency=4,
                timeout_s=5,
                on_answer=on_answer,
            )
        )


def test_health_and_models(server):
    assert asyncio.run(check_health(server, 5)) is None
    assert asyncio.run(check_health(server, 5, model="synthetic")) is None
    assert "does not serve model 'other'" in asyncio.run(check_health(server, 5, model="other"))
    assert asyncio.run(list_models(server)) == ["synthetic"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert asyncio.run(check_health(f"http://127.0.0.1:{port}/v1", 2)) is not None


def test_api_key_never_shows():
    ep = Endpoint(base_url="http://x/v1", model="m", api_key="sk-very-secret", headers={"X-Token": "t0ken"})
    for text in (repr(ep), str(ep), ep.model_dump_json(), str(ep.model_dump())):
        assert "sk-very-secret" not in text and "t0ken" not in text
    assert ep.http_headers()["Authorization"] == "Bearer sk-very-secret"
