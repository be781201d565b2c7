"""Server engines as the orchestrator knows them: what each needs installed in a model's environment.

The engines themselves (vlmhb_server/engine_*.py) run inside model environments and are never imported
here; the server finds them there by name, plugins included (vlmhb_server/engines.py). This registry
holds what the orchestrator needs to build an environment for one: pip requirements, and the Debian
packages a Docker image needs (a venv relies on the host having them).

A plugin engine is an entry point in the group `vlmhyperbench.server_engines` that names an Engine
class; its package goes into the model row's `packages`, and nothing of it is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmhb_core.registry import Registry

SERVER_PACKAGES: tuple[str, ...] = ("aiohttp>=3.9", "pillow>=10")
"""What the project's own server needs in every environment (engines bring Pillow along anyway)."""


@dataclass(frozen=True)
class EngineInfo:
    """A server engine's needs."""

    name: str
    packages: tuple[str, ...] = ()
    """Default pip requirements (a model row may pin other releases)."""
    apt_packages: tuple[str, ...] = ()
    """Debian packages a Docker environment installs for it."""
    description: str = ""
    replaced_by: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(a project a row may name instead, the default projects it replaces): another packaging of the engine
    (rapidocr-onnxruntime 1.x for rapidocr 3.x) takes the place of the defaults, not a seat beside them."""

    def requirements(self) -> tuple[str, ...]:
        """Everything pip must install into an environment that serves this engine."""
        return tuple(dict.fromkeys([*SERVER_PACKAGES, *self.packages]))


ENGINES: Registry[EngineInfo] = Registry(
    "server_engines",
    kind="server engine",
    expects="point the entry point at an Engine subclass",
    describe=lambda info: info.description,
    # A plugin engine is imported inside the model's environment only: here, its entry point is enough.
    from_entry=lambda entry: EngineInfo(entry.name, description=f"plugin engine {entry.value}"),
)
for _info in (
    EngineInfo(
        "rapidocr",
        # 3.x ships its models in the wheel (offline) and keeps the spaces between words; it leaves the
        # inference engine to the user, hence onnxruntime.
        ("rapidocr>=3,<4", "onnxruntime>=1.18"),
        ("libgl1", "libglib2.0-0"),  # OpenCV, pulled in by either release
        "RapidOCR (ONNX Runtime): classic OCR baseline",
        replaced_by=(("rapidocr-onnxruntime", ("rapidocr", "onnxruntime")),),
    ),
    EngineInfo(
        "tesseract",
        ("pytesseract>=0.3.10",),
        ("tesseract-ocr", "tesseract-ocr-rus"),
        "Tesseract through pytesseract: classic OCR baseline",
    ),
):
    ENGINES.add(_info.name, _info)
