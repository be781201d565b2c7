"""The project's own OpenAI-compatible server for the OCR engines, run inside a model's environment.

It serves what has no OpenAI-compatible server of its own: the classic OCR engines (RapidOCR, Tesseract) and
plugin engines. Hugging Face models are served by `transformers serve` instead (environments/backends.py).

EnvManager copies this package into the env and starts it with `python -m vlmhb_server --engine ENGINE
--model MODEL ...` (see __main__.py). It needs Python >= 3.10 and may import only the stdlib, aiohttp >= 3.9,
Pillow and the chosen engine's packages; each engine lives in its own module, imported only when chosen.
It imports nothing of the orchestrator, and the orchestrator never imports it (import-linter contracts in
pyproject.toml hold both); what each engine needs installed is listed in environments/engines.py.

Modules: engines (the engines by name, the Engine interface), protocol (OpenAI request parsing and
response shapes), images, layout (OCR reading order), memory (/metrics/memory), app (routes),
engine_rapidocr, engine_tesseract.
"""
