"""The project's own server with its engines (vlmhb_server/, run in model environments): RapidOCR, Tesseract.

Servers run for real: the package is copied as EnvManager copies it, started with a model env's python on a
free 127.0.0.1 port, and spoken to over HTTP (raw, and with the `openai` client the benchmark uses). Which
python serves each engine comes from the fixtures `rapidocr_python`, `rapidocr3_python` and
`tesseract_python`: by default the env var VLMHB_TEST_<ENGINE>_PYTHON, else the engine's environment built
by EnvManager in the shared cache (~/.cache/vlmhyperbench), as the benchmark builds it; a missing one is a
skip that says so (a failure under CI). Slow: each environment is built once, then found in the cache. The
parts that need no engine (protocol, command line) are in test_protocol.py, reading order in test_layout.py.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from tests.vlmhb_server.harness import BAD_BODIES, chat, free_port, page, server_env

# Each engine's env is built by EnvManager (cached under VLMHB_CACHE_DIR); a variable can point elsewhere.
ENV_ROWS = {  # env -> (backend, packages of the model row)
    "rapidocr": ("rapidocr", ("rapidocr-onnxruntime==1.4.4",)),
    "rapidocr3": ("rapidocr", ("rapidocr==3.10.0",)),  # the embedded default's rapidocr-3 environment
    "tesseract": ("tesseract", ()),
}
ENV_IMPORTS = {
    "rapidocr": "rapidocr_onnxruntime",
    "rapidocr3": "rapidocr, onnxruntime",
    "tesseract": "pytesseract",
}
START_TIMEOUT_S = 180

pytestmark = pytest.mark.slow  # each engine's environment is built (or found in the shared cache)


# ---------------------------------------------------------------- harness


def env_python(env: str) -> str:
    """The python of an env that can serve `env`'s engine, or a skip that says what is missing."""
    from tests.support.support import built_env_python, require

    var = f"VLMHB_TEST_{env.upper()}_PYTHON"
    python = os.environ.get(var) or built_env_python(*ENV_ROWS[env])
    if not Path(python).exists():
        require(False, f"no {env} env: {python} does not exist (set {var})")
    probe = subprocess.run(
        [python, "-c", f"import aiohttp, PIL, {ENV_IMPORTS[env]}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode != 0:
        require(False, f"{python} cannot serve {env} (set {var}): {probe.stderr.strip().splitlines()[-1]}")
    return python


@pytest.fixture(scope="session")
def rapidocr_python() -> str:
    return env_python("rapidocr")


@pytest.fixture(scope="session")
def rapidocr3_python() -> str:
    return env_python("rapidocr3")


@pytest.fixture(scope="session")
def tesseract_python() -> str:
    return env_python("tesseract")


@dataclass
class Server:
    url: str
    name: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def server_command(
    python: str,
    engine: str,
    port: int,
    model: str | None = None,
    name: str = "m",
    engine_args: dict[str, str] | None = None,
) -> list[str]:
    cmd = [
        python,
        "-m",
        "vlmhb_server",
        "--engine",
        engine,
        "--served-model-name",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if model:
        cmd += ["--model", model]
    for key, value in (engine_args or {}).items():
        cmd += ["--engine-arg", f"{key}={value}"]
    return cmd


@contextlib.contextmanager
def running_server(python: str, engine: str, pythonpath: Path, log_dir: Path, **kwargs) -> Iterator[Server]:
    port = free_port()
    log = log_dir / f"{engine}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            server_command(python, engine, port, **kwargs),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=server_env(pythonpath),
        )
    server = Server(f"http://127.0.0.1:{port}", kwargs.get("name", "m"), process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"{engine} server exited with {process.returncode}:\n{server.log_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if http("GET", f"{server.url}/health")[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{engine} server not healthy in {START_TIMEOUT_S} s:\n{server.log_text()[-3000:]}"
                )
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def http(
    method: str, url: str, body: object = None, raw: bytes | None = None, timeout: float = 60
) -> tuple[int, dict]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def sse(url: str, body: dict, timeout: float = 60) -> list[str]:
    """The `data:` payloads of a streamed answer, as sent (including the final [DONE])."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return [line[len(b"data: ") :].decode().strip() for line in response if line.startswith(b"data: ")]


def streamed(payloads: list[str]) -> tuple[str, list[dict], dict | None]:
    """(the text, the content chunks, the usage chunk) of an SSE answer, checking its framing."""
    assert payloads[-1] == "[DONE]"
    events = [json.loads(p) for p in payloads[:-1]]
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    usage = events[-1] if events[-1]["choices"] == [] else None
    body = events[:-1] if usage else events
    assert body[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    content = [e for e in body[:-1] if e["choices"][0]["delta"].get("content")]
    return "".join(e["choices"][0]["delta"]["content"] for e in content), content, usage


# ---------------------------------------------------------------- rapidocr


@pytest.fixture(scope="module")
def rapidocr_server(rapidocr_python, server_pythonpath, tmp_path_factory) -> Iterator[Server]:
    with running_server(
        rapidocr_python, "rapidocr", server_pythonpath, tmp_path_factory.mktemp("logs"), name="rapidocr-test"
    ) as server:
        yield server


INVOICE = ("INVOICE No. 12345", "Total: 1,234.56 USD")


def test_rapidocr_health_and_models(rapidocr_server):
    status, health = http("GET", f"{rapidocr_server.url}/health")
    assert status == 200 and health["status"] == "ok" and health["load_seconds"] > 0
    status, models = http("GET", f"{rapidocr_server.url}/v1/models")
    assert status == 200 and models["object"] == "list"
    card = models["data"][0]
    assert card["id"] == "rapidocr-test" and card["engine"] == "rapidocr"
    assert card["package"] == "rapidocr_onnxruntime" and card["package_version"].startswith("1.")


def test_rapidocr_answers_lines_in_reading_order(rapidocr_server):
    status, answer = http(
        "POST", f"{rapidocr_server.url}/v1/chat/completions", chat(rapidocr_server.name, page(*INVOICE))
    )
    assert status == 200, answer
    text = answer["choices"][0]["message"]["content"]
    lines = text.split("\n")
    assert len(lines) == 2 and "12345" in lines[0] and lines[1].replace(" ", "") == "Total:1,234.56USD"
    assert answer["object"] == "chat.completion" and answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"] == {
        "prompt_tokens": 0,
        "completion_tokens": len(text.split()),
        "total_tokens": len(text.split()),
    }


def test_rapidocr_streams_one_chunk_per_line_over_pages(rapidocr_server):
    body = chat(rapidocr_server.name, page(*INVOICE), page("Page two", "The end"))
    status, whole = http("POST", f"{rapidocr_server.url}/v1/chat/completions", body)
    assert status == 200
    payloads = sse(
        f"{rapidocr_server.url}/v1/chat/completions",
        {**body, "stream": True, "stream_options": {"include_usage": True}},
    )
    text, chunks, usage = streamed(payloads)
    assert text == whole["choices"][0]["message"]["content"]
    assert len(chunks) == 4 and text.count("\n") == 3 and text.endswith("The end")
    assert usage["usage"] == whole["usage"] and all(c["usage"] is None for c in chunks)
    no_usage = sse(f"{rapidocr_server.url}/v1/chat/completions", {**body, "stream": True})
    assert streamed(no_usage)[2] is None


def test_rapidocr_with_the_openai_client(rapidocr_server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{rapidocr_server.url}/v1", api_key="unused")
    body = chat(rapidocr_server.name, page(*INVOICE))
    answer = client.chat.completions.create(model=body["model"], messages=body["messages"])
    pieces, usage = [], None
    for event in client.chat.completions.create(
        model=body["model"], messages=body["messages"], stream=True, stream_options={"include_usage": True}
    ):
        pieces += [c.delta.content for c in event.choices if c.delta.content]
        usage = event.usage or usage
    assert "".join(pieces) == answer.choices[0].message.content
    assert usage.completion_tokens == answer.usage.completion_tokens > 0
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="other", messages=body["messages"])


def test_rapidocr_page_without_text_is_an_empty_answer(rapidocr_server):
    status, answer = http(
        "POST",
        f"{rapidocr_server.url}/v1/chat/completions",
        chat(rapidocr_server.name, Image.new("RGB", (300, 200), "white")),
    )
    assert status == 200 and answer["choices"][0]["message"]["content"] == ""
    assert answer["usage"]["completion_tokens"] == 0


def test_rapidocr_bad_requests_are_400_and_harmless(rapidocr_server):
    url = f"{rapidocr_server.url}/v1/chat/completions"
    not_image = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "data:image/png;base64," + base64.b64encode(b"not an image").decode()
                        },
                    }
                ],
            }
        ]
    }
    for body in (not_image, BAD_BODIES["http image"], {"model": rapidocr_server.name}):
        status, error = http("POST", url, body)
        assert status == 400 and error["error"]["type"] == "invalid_request_error", error
    status, error = http("POST", url, raw=b"{not json")
    assert status == 400 and "not valid JSON" in error["error"]["message"]
    assert "cannot be decoded" in http("POST", url, not_image)[1]["error"]["message"]
    status, error = http("GET", f"{rapidocr_server.url}/v2/nothing")
    assert status == 404 and "error" in error
    assert http("GET", f"{rapidocr_server.url}/health")[0] == 200
    assert rapidocr_server.process.poll() is None


def test_rapidocr_health_answers_while_a_request_runs(rapidocr_server):
    body = chat(rapidocr_server.name, *[page(*INVOICE * 10, size=(1654, 2339))] * 2)  # 2 A4 pages
    thread = threading.Thread(target=http, args=("POST", f"{rapidocr_server.url}/v1/chat/completions", body))
    thread.start()
    time.sleep(0.3)
    started = time.perf_counter()
    status, _ = http("GET", f"{rapidocr_server.url}/health")
    waited = time.perf_counter() - started
    busy = thread.is_alive()
    thread.join()
    assert status == 200 and waited < 0.5 and busy


def test_rapidocr_memory_report(rapidocr_server):
    status, memory = http("GET", f"{rapidocr_server.url}/metrics/memory")
    assert status == 200
    assert set(memory) >= {"rss_mb", "peak_rss_mb", "peak_gpu_mb"}
    assert 50 < memory["rss_mb"] <= memory["peak_rss_mb"]
    assert memory["peak_gpu_mb"] is None and memory["gpu_source"] is None


def test_rapidocr_stops_cleanly_on_sigterm(rapidocr_python, server_pythonpath, tmp_path):
    with running_server(
        rapidocr_python, "rapidocr", server_pythonpath, tmp_path, engine_args={"warmup": "false"}
    ) as server:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=20) == 0


def test_rapidocr_3_is_served_through_the_same_engine(rapidocr3_python, server_pythonpath, tmp_path):
    """3.x takes dotted params, and the 1.x names the default config uses (intra_op_num_threads) mean the
    same there; it keeps the spaces between words."""
    with running_server(
        rapidocr3_python,
        "rapidocr",
        server_pythonpath,
        tmp_path,
        engine_args={"intra_op_num_threads": "1", "Global.text_score": "0.5", "Det.model_type": "small"},
    ) as server:
        card = http("GET", f"{server.url}/v1/models")[1]["data"][0]
        assert card["package"] == "rapidocr" and card["package_version"].startswith("3.")
        status, answer = http("POST", f"{server.url}/v1/chat/completions", chat(server.name, page(*INVOICE)))
        assert status == 200
        assert answer["choices"][0]["message"]["content"] == "\n".join(INVOICE)
    for arg, message in (
        ("colour=red", "rapidocr 2.x/3.x takes dotted params (Section.name=value"),
        ("Det.model_type=huge", "Det.model_type must be one of mobile, server"),
    ):
        done = subprocess.run(
            [*server_command(rapidocr3_python, "rapidocr", free_port()), "--engine-arg", arg],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            env=server_env(server_pythonpath),
        )
        assert done.returncode != 0 and message in done.stderr, (arg, done.stderr[-2000:])


# ---------------------------------------------------------------- tesseract


@pytest.fixture(scope="module")
def tesseract_server(tesseract_python, server_pythonpath, tmp_path_factory) -> Iterator[Server]:
    with running_server(
        tesseract_python,
        "tesseract",
        server_pythonpath,
        tmp_path_factory.mktemp("logs"),
        engine_args={"lang": "rus+eng", "psm": "6"},
    ) as server:
        yield server


def test_tesseract_reads_russian_and_english_lines(tesseract_server):
    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font_path.exists():
        pytest.skip("no DejaVuSans.ttf to draw Cyrillic with")
    font = ImageFont.truetype(str(font_path), 30)
    body = chat("m", page("Счёт № 42", "Итого: 100 руб.", font=font), page(*INVOICE))
    status, whole = http("POST", f"{tesseract_server.url}/v1/chat/completions", body)
    assert status == 200, whole
    text = whole["choices"][0]["message"]["content"]
    assert text.split("\n")[0].startswith("Счёт") and text.split("\n")[-1] == "Total: 1,234.56 USD"
    stream_body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    streamed_text, chunks, usage = streamed(sse(f"{tesseract_server.url}/v1/chat/completions", stream_body))
    assert streamed_text == text and len(chunks) == 4
    assert usage["usage"]["completion_tokens"] == len(text.split())
    card = http("GET", f"{tesseract_server.url}/v1/models")[1]["data"][0]
    assert card["lang"] == "rus+eng" and card["config"] == "--psm 6"


def test_tesseract_failures_are_500_or_an_error_event(tesseract_python, server_pythonpath, tmp_path):
    # A page of noise takes tesseract ~20 s; a 6 s per-page timeout makes pytesseract raise: a real
    # engine error (and leaves a line of text its 6 s on a busy machine). Before any text it is an HTTP
    # 500; after the first line, an SSE error event.
    noise = Image.effect_noise((4000, 4000), 100).convert("RGB")
    with running_server(
        tesseract_python,
        "tesseract",
        server_pythonpath,
        tmp_path,
        engine_args={"lang": "eng", "timeout": "6"},
    ) as server:
        url = f"{server.url}/v1/chat/completions"
        for stream in (False, True):
            status, error = http("POST", url, chat("m", noise, image_format="JPEG", stream=stream))
            assert status == 500 and error["error"]["type"] == "server_error"
            assert "timeout" in error["error"]["message"].lower()
        payloads = sse(url, chat("m", page("Hello world"), noise, image_format="JPEG", stream=True))
        assert payloads[-1] == "[DONE]"
        assert json.loads(payloads[1])["choices"][0]["delta"]["content"] == "Hello world"
        assert "timeout" in json.loads(payloads[-2])["error"]["message"].lower()
        assert http("GET", f"{server.url}/health")[0] == 200


def test_tesseract_without_the_language_data_fails_to_load(tesseract_python, server_pythonpath):
    done = subprocess.run(
        server_command(tesseract_python, "tesseract", free_port(), engine_args={"lang": "eng+klingon"}),
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(server_pythonpath),
    )
    assert done.returncode == 1 and "apt-get install tesseract-ocr-klingon" in done.stderr
