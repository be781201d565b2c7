"""The vLLM and SGLang stand-ins of tests/data/fake_vllm (they need a GPU; these speak their command lines
and the OpenAI API), as pip requirements for a model row."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from tests.support.support import REPO

FAKES = REPO / "tests" / "data" / "fake_vllm"


def stand_in_requirements() -> tuple[str, str]:
    """file:// requirements of a content-addressed copy of tests/data/fake_vllm: the env rebuilds when the
    stand-ins change, and pip's build folders never land in the repository."""
    from vlmhb_core.settings import get_settings

    digest = hashlib.sha256()
    for path in sorted(FAKES.rglob("*")):
        if (
            path.is_file()
            and "egg-info" not in str(path)
            and "build" not in path.parts
            and path.suffix != ".pyc"
        ):
            digest.update(str(path.relative_to(FAKES)).encode() + path.read_bytes())
    copy = Path(get_settings().cache_dir).expanduser() / "test-stand-ins" / digest.hexdigest()[:12]
    if not copy.exists():
        tmp = copy.with_name(f"{copy.name}.{os.getpid()}.tmp")
        shutil.copytree(FAKES, tmp, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
        try:
            tmp.rename(copy)
        except OSError:  # another session made the same copy first
            shutil.rmtree(tmp, ignore_errors=True)
    common = f"'vlmhb-fake-openai-server @ {(copy / 'common').as_uri()}'"
    return (
        f"'vllm @ {(copy / 'vllm').as_uri()}' {common}",
        f"'sglang @ {(copy / 'sglang').as_uri()}' {common}",
    )
