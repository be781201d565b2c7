"""The client under stream faults, against the synthetic server's fault modes (no Prefect, a second each)."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.fault_servers import FaultServer
from vlmhyperbench.inference.chat import Answer, Endpoint, RequestItem, run_requests


@pytest.fixture
def server(request):
    s = FaultServer(*request.param)
    yield s
    s.stop()


def ask(server: FaultServer, items: list[RequestItem], **kwargs) -> list[Answer]:
    answers: list[Answer] = []
    asyncio.run(
        run_requests(
            Endpoint(base_url=server.base_url, model="synthetic"),
            items,
            concurrency=1,
            timeout_s=5,
            on_answer=answers.append,
            backoff_s=0.01,
            **kwargs,
        )
    )
    return sorted(answers, key=lambda a: a.sample_id)


@pytest.mark.parametrize("server", [("--truncate-every", "1")], indirect=True)
def test_a_stream_cut_mid_chunk_is_never_an_answer(server):
    (answer,) = ask(server, [RequestItem("1", "q")])
    assert answer.prediction is None and answer.attempts == 3
    assert "stream ended before the answer was complete" in answer.error


@pytest.mark.parametrize("server", [("--malformed-every", "2", "--answer", "echo")], indirect=True)
def test_a_malformed_chunk_is_retried(server):
    answers = ask(server, [RequestItem(str(i), f"question {i}") for i in range(4)])
    assert all(a.error is None and a.prediction.startswith(f"question {a.sample_id}") for a in answers)
    assert [a.attempts for a in answers] == [1, 2, 2, 2]  # every second request garbled, asked again


@pytest.mark.parametrize(
    "server",
    [
        (
            "--answer",
            "echo",
        )
    ],
    indirect=True,
)
def test_empty_and_unknown_images_fail_their_sample_with_nothing_sent(server, tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.png").write_bytes(b"this is not an image")
    (tmp_path / "ok.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    items = [RequestItem(name, "q", [tmp_path / f"{name}.png"]) for name in ("zero", "text", "ok")]
    ok, text, zero = ask(server, items, min_requests_for_rate=1, max_error_rate=0.0)
    assert ok.error is None
    assert "empty (0 bytes)" in zero.error and zero.attempts == 0
    assert "not an image" in text.error and text.attempts == 0
    assert server.stats()["chats"] == 1, "only the readable image was sent"
