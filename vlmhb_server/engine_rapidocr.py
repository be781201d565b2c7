"""RapidOCR engine: rapidocr-onnxruntime 1.x (`rapidocr_onnxruntime`) or rapidocr 2.x/3.x (`rapidocr`).

Engine-args:
  package=auto|rapidocr_onnxruntime|rapidocr   which import to use; auto tries rapidocr_onnxruntime
                                               first, then rapidocr (default auto)
  page_separator=TEXT                          between the pages of a multi-page request (default "\\n";
                                               the escapes \\n and \\f are understood)
  warmup=true|false                            run one tiny image before turning healthy (default true)
  any other KEY=VALUE                          passed to RapidOCR: as keyword arguments for 1.x
                                               (e.g. text_score=0.5, intra_op_num_threads=2), as
                                               `params` for newer releases (e.g. Global.text_score=0.5)

The prompt is ignored: the answer is the page's text, lines in reading order (see layout.py).
"""

from __future__ import annotations

import importlib
from typing import Any

from .engines import Engine, EngineArgError, Generation, ocr_generation, parse_scalar
from .layout import TextBox, reading_order_lines

PACKAGES = ("rapidocr_onnxruntime", "rapidocr")


def unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\f", "\f").replace("\\t", "\t")


class RapidOCREngine(Engine):
    name = "rapidocr"
    requires = ("rapidocr-onnxruntime",)
    known_args = {"package": "which import", "page_separator": "between pages", "warmup": "warm up"}
    accepts_extra_args = True

    def __init__(self, model: str, args: dict[str, str]):
        super().__init__(model, args)
        package = args.get("package", "auto")
        if package not in ("auto", *PACKAGES):
            raise EngineArgError(f"package must be auto, {' or '.join(PACKAGES)}; got {package!r}")
        self.candidates = PACKAGES if package == "auto" else (package,)
        self.page_separator = unescape(args.get("page_separator", "\n"))
        self.warmup = parse_scalar(args.get("warmup", "true")) is True
        self.options = {k: parse_scalar(v) for k, v in args.items() if k not in self.known_args}
        self.package: str | None = None
        self.version: str | None = None
        self._ocr = None

    def load(self) -> None:
        errors = []
        for name in self.candidates:
            try:
                module = importlib.import_module(name)
            except ImportError as e:
                errors.append(f"{name}: {e}")
                continue
            self.package = name
            break
        else:
            raise ImportError(
                "no RapidOCR package importable (" + "; ".join(errors) + "); "
                "pip install rapidocr-onnxruntime (or rapidocr onnxruntime)"
            )
        from importlib.metadata import PackageNotFoundError, version

        try:
            self.version = version(self.package.replace("_", "-"))
        except PackageNotFoundError:
            self.version = getattr(module, "__version__", None)
        if self.package == "rapidocr_onnxruntime":
            self._ocr = module.RapidOCR(**self.options)
        else:
            self._ocr = module.RapidOCR(params=self.options) if self.options else module.RapidOCR()
        if self.warmup:
            self.recognise(_warmup_image())

    def recognise(self, image: Any) -> list[str]:
        """One page's lines in reading order."""
        if self.package == "rapidocr_onnxruntime":
            result, _ = self._ocr(image)
            boxes = [TextBox.from_quad(box, text) for box, text, *_ in (result or [])]
        else:
            out = self._ocr(image)
            if out.boxes is None or out.txts is None:
                return []
            boxes = [TextBox.from_quad(box, text) for box, text in zip(out.boxes, out.txts, strict=True)]
        return reading_order_lines(boxes)

    def generate(self, request, images: list[Any]) -> Generation:
        return ocr_generation(images, self.recognise, self.page_separator)

    def describe(self) -> dict[str, Any]:
        return {"package": self.package, "package_version": self.version}


def _warmup_image():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 48), "white")
    ImageDraw.Draw(image).text((8, 12), "Warm up 123", fill="black", font_size=20)
    return image
