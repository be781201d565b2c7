"""Tesseract engine through pytesseract (the `tesseract` binary and its language data come from apt).

Engine-args:
  lang=rus+eng            tesseract languages, each needs its traineddata (default rus+eng)
  psm=N                   page segmentation mode (default: tesseract's own, 3)
  oem=N                   OCR engine mode (default: tesseract's own)
  config=TEXT             more tesseract command-line options, verbatim
  tesseract_cmd=PATH      the binary (default: `tesseract` on PATH)
  timeout=SECONDS         per page; 0 = none (default 0)
  workers=N               pages read at once across requests (default min(4, CPUs)); each is its
                          own tesseract process, so requests may overlap; set OMP_THREAD_LIMIT=1 in
                          the server's environment when workers > 1 to avoid oversubscription
  page_separator=TEXT     between the pages of a multi-page request (default "\\n")
  layout=tesseract|xycut  reading order: tesseract's own page segmentation (default; it finds columns
                          itself), or its word boxes put in order by layout.py, as rapidocr's are

The prompt is ignored. Blank lines (paragraph breaks) and trailing spaces are dropped, so the answer is
lines joined by "\\n", as with rapidocr.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from .engine_rapidocr import unescape
from .engines import Engine, EngineArgError, Generation, ocr_generation
from .layout import TextBox, reading_order_lines


class TesseractEngine(Engine):
    name = "tesseract"
    requires = ("pytesseract",)
    thread_safe = True
    known_args = {
        k: ""
        for k in (
            "lang",
            "psm",
            "oem",
            "config",
            "tesseract_cmd",
            "timeout",
            "workers",
            "page_separator",
            "layout",
        )
    }

    def __init__(self, model: str, args: dict[str, str]):
        super().__init__(model, args)
        self.lang = args.get("lang", "rus+eng")
        options = []
        try:
            if "psm" in args:
                options.append(f"--psm {int(args['psm'])}")
            if "oem" in args:
                options.append(f"--oem {int(args['oem'])}")
            self.timeout = float(args.get("timeout", "0"))
            self.max_concurrency = max(1, int(args.get("workers", min(4, os.cpu_count() or 1))))
        except ValueError as e:
            raise EngineArgError(f"tesseract engine-arg: {e}") from None
        if args.get("config"):
            options.append(args["config"])
        self.config = " ".join(options)
        self.page_separator = unescape(args.get("page_separator", "\n"))
        self.layout = args.get("layout", "tesseract")
        if self.layout not in ("tesseract", "xycut"):
            raise EngineArgError(f"layout must be tesseract or xycut; got {self.layout!r}")
        self.version: str | None = None
        self._pytesseract = None

    def load(self) -> None:
        import pytesseract

        if "tesseract_cmd" in self.args:
            pytesseract.pytesseract.tesseract_cmd = self.args["tesseract_cmd"]
        self.version = str(pytesseract.get_tesseract_version())  # fails clearly if the binary is absent
        available = set(pytesseract.get_languages(config=""))
        missing = [lang for lang in self.lang.split("+") if lang not in available]
        if missing:
            raise RuntimeError(
                f"tesseract has no language data for {missing} (has {sorted(available)}); "
                f"install e.g. apt-get install "
                + " ".join(f"tesseract-ocr-{m.lower().replace('_', '-')}" for m in missing)
            )
        self._pytesseract = pytesseract

    def recognise(self, image: Any) -> list[str]:
        # pytesseract hands tesseract a PNG it writes itself: ~0.25 s per A4 page of compression.
        # An uncompressed BMP costs ~0.03 s, so the page's latency is tesseract's own.
        with tempfile.TemporaryDirectory(prefix="vlmhb-tess-") as folder:
            path = os.path.join(folder, "page.bmp")
            image.save(path, "BMP")
            if self.layout == "xycut":
                return self._xycut(path)
            text = self._pytesseract.image_to_string(
                path, lang=self.lang, config=self.config, timeout=self.timeout
            )
        return [line.rstrip() for line in text.splitlines() if line.strip()]

    def _xycut(self, path: str) -> list[str]:
        data = self._pytesseract.image_to_data(
            path, lang=self.lang, config=self.config, timeout=self.timeout, output_type="dict"
        )
        boxes = [
            TextBox(left, top, top + height, text, left + width)
            for left, top, width, height, text in zip(
                data["left"], data["top"], data["width"], data["height"], data["text"]
            )
            if text and text.strip()
        ]
        return reading_order_lines(boxes)

    def generate(self, request, images: list[Any]) -> Generation:
        return ocr_generation(images, self.recognise, self.page_separator)

    def describe(self) -> dict[str, Any]:
        return {
            "tesseract_version": self.version,
            "lang": self.lang,
            "config": self.config,
            "layout": self.layout,
        }
