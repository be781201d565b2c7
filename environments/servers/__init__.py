"""The project's own OpenAI-compatible model server, run inside a model's environment.

EnvManager copies this folder into the env as the package `vlmhb_server` and starts it with
`python -m vlmhb_server --engine ENGINE --model MODEL ...` (see __main__.py). It needs Python >= 3.10
and may import only the stdlib, aiohttp >= 3.9, Pillow and the chosen engine's packages; each engine
lives in its own module, imported only when chosen. This file stays dependency-free so that the
orchestrator can read the engines' package lists without aiohttp.

Modules: engines (package lists, registry, the Engine interface), protocol (OpenAI request parsing and
response shapes), images, layout (OCR reading order), memory (/metrics/memory), app (routes),
engine_rapidocr, engine_tesseract, engine_transformers.
"""

from .engines import ENGINE_APT_PACKAGES, ENGINE_PACKAGES, ENGINES, SERVER_PACKAGES, packages_for

__all__ = ["ENGINES", "ENGINE_APT_PACKAGES", "ENGINE_PACKAGES", "SERVER_PACKAGES", "packages_for"]
