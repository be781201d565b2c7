"""RapidOCR engine: rapidocr 2.x/3.x (`rapidocr`, the current release) or rapidocr-onnxruntime 1.x
(`rapidocr_onnxruntime`).

The two differ in what they are given and what they return: 1.x takes keyword arguments
(`RapidOCR(text_score=0.5, intra_op_num_threads=2)`) and returns `(result, elapse)`, a list of
(box, text, score); 2.x/3.x take dotted `params` (`RapidOCR(params={"Global.text_score": 0.5})`, where
the model choices are enums) and return an object with `boxes` and `txts`. 3.x ships its default models
(PP-OCR) in the wheel, so it runs offline; unlike 1.x it keeps the spaces between words.

Engine-args:
  package=auto|rapidocr|rapidocr_onnxruntime   which import to use; auto tries rapidocr first, then
                                               rapidocr_onnxruntime (default auto)
  page_separator=TEXT                          between the pages of a multi-page request (default "\\n";
                                               the escapes \\n and \\f are understood)
  warmup=true|false                            run one tiny image before turning healthy (default true)
  any other KEY=VALUE                          passed to RapidOCR: as keyword arguments for 1.x
                                               (e.g. text_score=0.5, intra_op_num_threads=2), as
                                               `params` for 2.x/3.x (e.g. Global.text_score=0.5,
                                               Det.model_type=server); the 1.x names below are
                                               understood by 2.x/3.x too, so one row's args serve both

The prompt is ignored: the answer is the page's text, lines in reading order (see layout.py).
"""

from __future__ import annotations

import importlib
from typing import Any

from .engines import Engine, EngineArgError, Generation, ocr_generation, parse_scalar
from .layout import TextBox, reading_order_lines

PACKAGES = ("rapidocr", "rapidocr_onnxruntime")
V1_NAMES = {
    "intra_op_num_threads": "EngineConfig.onnxruntime.intra_op_num_threads",
    "inter_op_num_threads": "EngineConfig.onnxruntime.inter_op_num_threads",
    "text_score": "Global.text_score",
    "use_det": "Global.use_det",
    "use_cls": "Global.use_cls",
    "use_rec": "Global.use_rec",
    "min_height": "Global.min_height",
    "width_height_ratio": "Global.width_height_ratio",
    "max_side_len": "Global.max_side_len",
    "min_side_len": "Global.min_side_len",
    "box_thresh": "Det.box_thresh",
    "unclip_ratio": "Det.unclip_ratio",
    "limit_side_len": "Det.limit_side_len",
}
"""rapidocr-onnxruntime 1.x keyword arguments -> the 2.x/3.x params that mean the same."""
ENUM_PARAMS = {"engine_type": "EngineType", "model_type": "ModelType", "ocr_version": "OCRVersion"}
"""2.x/3.x params whose values must be the package's enums (`Det.model_type=server` -> ModelType.SERVER)."""


def unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\f", "\f").replace("\\t", "\t")


class RapidOCREngine(Engine):
    name = "rapidocr"
    requires = ("rapidocr", "onnxruntime")
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
            self._ocr = module.RapidOCR(params=params_v3(module, self.options))
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


def params_v3(module, options: dict[str, Any]) -> dict[str, Any]:
    """OPTIONS as rapidocr 2.x/3.x `params`: 1.x names translated, enum values made enums; its log is kept
    to warnings unless asked (its INFO lines are about model files, once per model)."""
    params: dict[str, Any] = {"Global.log_level": "warning"}
    for key, value in options.items():
        if "." not in key and key not in V1_NAMES:
            raise EngineArgError(
                "rapidocr 2.x/3.x takes dotted params (Section.name=value, e.g. Global.text_score=0.5 or "
                f"Det.model_type=server) or one of {', '.join(sorted(V1_NAMES))}; got {key!r}"
            )
        key = V1_NAMES.get(key, key)
        enum = ENUM_PARAMS.get(key.rsplit(".", 1)[-1])
        if enum is not None and isinstance(value, str):
            kind = getattr(module, enum)
            try:
                value = kind(value)
            except ValueError:
                allowed = ", ".join(str(member.value) for member in kind)
                raise EngineArgError(f"{key} must be one of {allowed}; got {value!r}") from None
        params[key] = value
    return params


def _warmup_image():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 48), "white")
    ImageDraw.Draw(image).text((8, 12), "Warm up 123", fill="black", font_size=20)
    return image
