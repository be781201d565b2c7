"""Test stand-in for `python -m sglang.launch_server` (tests/fake_vllm): SGLang's launch flags, the
OpenAI protocol, no model."""

import argparse
import sys

from vlmhb_fake_openai_server import run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sglang.launch_server (stand-in)")
    p.add_argument("--model-path", "--model", dest="model", required=True)
    p.add_argument("--served-model-name")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=30000)
    p.add_argument("--tp-size", "--tensor-parallel-size", dest="tp_size", type=int, default=1)
    # A few of SGLang's common extra flags, so that rows can pass them through.
    p.add_argument("--mem-fraction-static", type=float)
    p.add_argument("--context-length", type=int)
    p.add_argument("--chat-template")
    p.add_argument("--dtype")
    p.add_argument("--trust-remote-code", action="store_true")
    return p


if __name__ == "__main__":
    sys.exit(run("sglang", parser()))
