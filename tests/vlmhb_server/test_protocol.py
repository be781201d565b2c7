"""The project's own server without an engine (vlmhb_server/): its package lists, its imports, the OpenAI
request parsing, and its command line, in this venv (stdlib and aiohttp). The engines it serves, each in its
own environment, are tested in test_server.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from environments.engines import ENGINES as ENGINE_NEEDS
from tests.vlmhb_server.harness import BAD_BODIES, chat, free_port, page, server_env
from vlmhb_server.engines import ENGINES
from vlmhb_server.layout import TextBox, reading_order_lines
from vlmhb_server.protocol import APIError, parse_chat_request


def test_engine_packages_cover_every_engine():
    # Hugging Face models are served by `transformers serve` (environments/transformers_serve.py)
    assert set(ENGINE_NEEDS.registered()) == set(ENGINES) == {"rapidocr", "tesseract"}
    assert list(ENGINE_NEEDS.get("rapidocr").requirements())[0].startswith("aiohttp")
    with pytest.raises(KeyError, match="known: rapidocr, tesseract"):
        ENGINE_NEEDS.get("paddle")


def test_server_imports_no_engine_and_nothing_of_the_orchestrator(server_pythonpath):
    code = (
        "import sys, vlmhb_server, vlmhb_server.__main__, vlmhb_server.app, "
        "vlmhb_server.engine_rapidocr, vlmhb_server.engine_tesseract\n"
        "heavy = {'torch', 'transformers', 'PIL', 'numpy', 'rapidocr_onnxruntime', 'rapidocr',"
        " 'pytesseract', 'prefect', 'pydantic', 'polars', 'environments', 'vlmhyperbench'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(server_pythonpath)},
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    bare = subprocess.run(
        [sys.executable, "-c", "import sys, vlmhb_server; print('aiohttp' in sys.modules)"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(server_pythonpath)},
        cwd="/",
    )
    assert bare.stdout.strip() == "False"  # the package lists are readable without aiohttp


def box(left, top, bottom, text):
    return TextBox(left, top, bottom, text)


def test_reading_order_groups_boxes_into_lines():
    boxes = [
        box(300, 102, 130, "USD"),  # same line as "Total:", a little lower
        box(20, 20, 50, "INVOICE"),
        box(20, 100, 128, "Total:"),
        box(150, 18, 49, "No. 12345"),
        box(120, 99, 131, "1,234.56"),
        box(20, 160, 190, "   "),  # empty boxes are dropped
        box(20, 200, 230, "Thanks"),
    ]
    assert reading_order_lines(boxes) == ["INVOICE No. 12345", "Total: 1,234.56 USD", "Thanks"]


def test_reading_order_keeps_close_lines_apart():
    # Lines 30 px tall, 24 px apart: they overlap by 6 px, under half a height, so two lines.
    boxes = [box(0, 24, 54, "second"), box(0, 0, 30, "first"), box(100, 25, 55, "line")]
    assert reading_order_lines(boxes) == ["first", "second line"]
    quad = TextBox.from_quad([[10, 5], [90, 7], [90, 30], [10, 28]], "skewed")
    assert (quad.left, quad.top, quad.bottom) == (10, 5, 30)


def test_chat_request_parses_parts_and_options():
    request = parse_chat_request(
        chat(
            "m",
            page("a"),
            page("b"),
            max_tokens=7,
            temperature=0.5,
            seed=3,
            stream=True,
            stream_options={"include_usage": True},
        ),
        "m",
    )
    assert len(request.images) == 2 and request.images[0].startswith(b"\x89PNG")
    assert [p.kind for p in request.messages[0].parts] == ["image", "image", "text"]
    assert (request.max_tokens, request.temperature, request.seed) == (7, 0.5, 3)
    assert request.stream and request.include_usage
    plain = parse_chat_request({"messages": [{"role": "developer", "content": "hi"}]}, "m")
    assert plain.model == "m" and plain.messages[0].role == "system" and plain.messages[0].text == "hi"


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_chat_request_rejects_bad_bodies(body):
    with pytest.raises(APIError) as caught:
        parse_chat_request(body, "m")
    assert caught.value.status == 400
    assert caught.value.body()["error"]["type"] == "invalid_request_error"


def test_chat_request_for_another_model_is_404():
    with pytest.raises(APIError) as caught:
        parse_chat_request({"model": "other", "messages": [{"role": "user", "content": "x"}]}, "m")
    assert caught.value.status == 404 and caught.value.code == "model_not_found"


# ---------------------------------------------------------------- command line (this venv has aiohttp)


def run_cli(pythonpath: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vlmhb_server", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=server_env(pythonpath),
    )


def test_cli_rejects_bad_engine_args(server_pythonpath):
    port = str(free_port())
    unknown = run_cli(
        server_pythonpath, "--engine", "tesseract", "--port", port, "--engine-arg", "colour=red"
    )
    assert unknown.returncode == 2 and "does not know engine-arg(s) ['colour']" in unknown.stderr
    malformed = run_cli(server_pythonpath, "--engine", "tesseract", "--engine-arg", "novalue")
    assert malformed.returncode == 2 and "KEY=VALUE" in malformed.stderr
    retired = run_cli(server_pythonpath, "--engine", "transformers", "--model", "/models/x")
    assert retired.returncode == 2 and "invalid choice: 'transformers'" in retired.stderr


def test_cli_exits_1_naming_the_packages_when_the_engine_is_missing(server_pythonpath):
    # This venv has aiohttp but no pytesseract: the server binds, fails to load, says what to install.
    assert importlib.util.find_spec("pytesseract") is None, "the orchestrator's venv has no OCR engine"
    done = run_cli(server_pythonpath, "--engine", "tesseract", "--port", str(free_port()))
    assert done.returncode == 1
    assert "ModuleNotFoundError" in done.stderr and "pip install pytesseract" in done.stderr
