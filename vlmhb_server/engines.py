"""Engines the server can wrap: their packages, their lazy entries and the interface they share.

Stdlib only: the server imports an engine's module (and with it torch, onnxruntime, ...) only once the
engine is chosen. What each engine needs installed is the orchestrator's business (environments/engines.py):
nothing of the orchestrator is imported here, and the orchestrator never imports this package.

An engine is a class built from (model, engine_args) whose `load()` is called once, in a worker
thread, before the server turns healthy, and whose `generate(request, images)` returns a `Generation`:
an iterator of text pieces (blocking, consumed in a worker thread) that knows its token counts once
exhausted. Engines whose `thread_safe` is False get one request at a time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import ChatRequest

__all__ = [
    "ENGINES",
    "Engine",
    "EngineArgError",
    "Generation",
    "engine_names",
    "load_engine_class",
    "ocr_generation",
]

# name -> "module:Class", relative to this package, imported only when chosen.
ENGINES: dict[str, str] = {
    "rapidocr": ".engine_rapidocr:RapidOCREngine",
    "tesseract": ".engine_tesseract:TesseractEngine",
}


class EngineArgError(ValueError):
    """An --engine-arg the engine does not know or cannot use."""


@dataclass
class Generation:
    """One answer being produced: iterate for text pieces; counts are final once iteration ends.

    `cancel` (any thread, non-blocking) asks the engine to stop early; `close` (a worker thread, once
    no piece is being computed) releases what the generation holds and returns when the engine is idle.
    """

    pieces: Iterator[str]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    on_cancel: Callable[[], None] | None = field(default=None, repr=False)
    on_close: Callable[[], None] | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    def cancel(self) -> None:
        if self.on_cancel is not None:
            self.on_cancel()

    def close(self) -> None:
        close = getattr(self.pieces, "close", None)
        if close is not None:
            close()
        if self.on_close is not None:
            self.on_close()


def ocr_generation(
    images: list[Any], recognise: Callable[[Any], list[str]], page_separator: str = "\n"
) -> Generation:
    """Stream an OCR engine's lines: one piece per line, pages in order, as soon as each page is read.

    Lines are joined by "\n", pages by `page_separator`; prompt_tokens is 0 (an OCR engine reads no
    prompt) and completion_tokens counts whitespace-separated words of the text sent.
    """
    generation = Generation(iter(()))

    def pieces() -> Iterator[str]:
        sent_any = False
        for image in images:
            for i, line in enumerate(recognise(image)):
                if sent_any:
                    line = (page_separator if i == 0 else "\n") + line
                sent_any = True
                generation.completion_tokens += count_words(line)
                yield line

    generation.pieces = pieces()
    return generation


class Engine:
    """Base class: subclasses set `name`, declare `known_args`, implement load() and generate()."""

    name = "engine"
    requires: tuple[str, ...] = ()
    """The pip packages the engine imports (the orchestrator pins their versions: environments/engines.py)."""
    thread_safe = False
    max_concurrency = 1  # used only when thread_safe
    known_args: dict[str, str] = {}  # engine-arg -> one-line help
    accepts_extra_args = False  # True: unknown engine-args are passed through to the library

    def __init__(self, model: str, args: dict[str, str]):
        unknown = sorted(set(args) - set(self.known_args))
        if unknown and not self.accepts_extra_args:
            known = ", ".join(sorted(self.known_args)) or "none"
            raise EngineArgError(
                f"engine {self.name!r} does not know engine-arg(s) {unknown}; known: {known}"
            )
        self.model = model
        self.args = args

    def load(self) -> None:
        raise NotImplementedError

    def generate(self, request: ChatRequest, images: list[Any]) -> Generation:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Facts for /v1/models (library versions and the like)."""
        return {}


# Plugin engines: an entry point in this group names an Engine subclass (the plugin's package must be
# installed in the model's environment: its backend lists it in `packages`).
ENTRY_POINT_GROUP = "vlmhyperbench.server_engines"


def engine_names() -> list[str]:
    """Built-in engines and those that installed packages offer through entry points."""
    from importlib.metadata import entry_points

    return sorted(set(ENGINES) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def load_engine_class(name: str) -> type[Engine]:
    if name not in ENGINES:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
            dist = getattr(ep, "dist", None)
            try:
                return ep.load()
            except Exception as exc:
                raise ImportError(
                    f"plugin server engine '{name}' from package "
                    f"'{dist.metadata['Name'] if dist else '?'}' (entry point '{ep.name} = "
                    f"{ep.value}' in group '{ENTRY_POINT_GROUP}') cannot be used: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        raise KeyError(f"unknown server engine {name!r}; known: {', '.join(engine_names())}")
    module_name, _, attr = ENGINES[name].partition(":")
    module = importlib.import_module(module_name, package=__package__)
    return getattr(module, attr)


def parse_scalar(value: str) -> Any:
    """An engine-arg value as the library wants it: bool, int, float, None, or the string itself."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def count_words(text: str) -> int:
    """OCR engines have no tokenizer: their 'tokens' are whitespace-separated words."""
    return len(text.split())
