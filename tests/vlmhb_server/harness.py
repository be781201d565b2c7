"""What the server's tests share: the package as EnvManager installs it, its process environment, free ports,
and the pages and chat bodies they send."""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
SERVERS_DIR = REPO / "vlmhb_server"


def copy_server(root: Path) -> Path:
    """ROOT holding the server as EnvManager installs it (a package named vlmhb_server): a PYTHONPATH."""
    shutil.copytree(SERVERS_DIR, root / "vlmhb_server", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(pythonpath: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(pythonpath),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "2",
        "PYTHONUNBUFFERED": "1",
    }


def page(*lines: str, size=(640, 200), font=None) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((24, 24 + 64 * i), line, fill="black", font=font, font_size=None if font else 34)
    return image


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def chat(
    name: str, *images: Image.Image, text: str = "Read all the text on the page.", image_format="PNG", **extra
) -> dict:
    content = [{"type": "image_url", "image_url": {"url": data_url(i, image_format)}} for i in images]
    content.append({"type": "text", "text": text})
    return {"model": name, "messages": [{"role": "user", "content": content}], **extra}


# Requests the server answers with 400 invalid_request_error, by what is wrong.
BAD_BODIES = {
    "not an object": [],
    "no messages": {"model": "m"},
    "empty messages": {"model": "m", "messages": []},
    "bad role": {"messages": [{"role": "robot", "content": "x"}]},
    "bad content": {"messages": [{"role": "user", "content": 5}]},
    "bad part": {"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
    "http image": {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}],
            }
        ]
    },
    "bad base64": {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}],
            }
        ]
    },
    "zero max_tokens": {"messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
    "hot temperature": {"messages": [{"role": "user", "content": "x"}], "temperature": 3},
    "n=2": {"messages": [{"role": "user", "content": "x"}], "n": 2},
    "stream string": {"messages": [{"role": "user", "content": "x"}], "stream": "yes"},
}
