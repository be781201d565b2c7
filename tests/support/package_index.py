"""A PEP 503 package index on 127.0.0.1 that serves one small wheel, made on the spot, with scripted faults:
its first requests can answer 503, and every answer can wait (an index that drops or stalls)."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROBE = "vlmhb-flaky-probe"


def probe_wheel() -> tuple[str, bytes]:
    """A pure-Python wheel of PROBE 0.1, made here (nothing is downloaded)."""
    name = "vlmhb_flaky_probe"
    files = {
        f"{name}/__init__.py": b"VERSION = '0.1'\n",
        f"{name}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {PROBE}\nVersion: 0.1\n".encode(),
        f"{name}-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ] + [f"{name}-0.1.dist-info/RECORD,,"]
    files[f"{name}-0.1.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return f"{name}-0.1-py3-none-any.whl", buf.getvalue()


class FlakyIndex:
    """A PEP 503 package index on 127.0.0.1 that answers 503 to its first FAILURES requests and waits
    DELAY_S before every answer; it serves PROBE 0.1 (and 404 for any other project)."""

    def __init__(self, failures: int = 0, delay_s: float = 0.0):
        self.failures, self.delay_s, self.requests = failures, delay_s, 0
        wheel_name, wheel = probe_wheel()
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                index.requests += 1
                time.sleep(index.delay_s)
                if index.requests <= index.failures:
                    self.send_error(503, "Service Unavailable")
                    return
                if self.path.rstrip("/") == f"/simple/{PROBE}":
                    body = f'<html><body><a href="/packages/{wheel_name}">{wheel_name}</a></body></html>'
                    self._send(200, body.encode(), "text/html")
                elif self.path == f"/packages/{wheel_name}":
                    self._send(200, wheel, "application/octet-stream")
                else:
                    self.send_error(404, "Not Found")

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
