"""Test stand-in for `python -m vllm.entrypoints.openai.api_server` (tests/fake_vllm): vLLM's launch
flags, the OpenAI protocol, no model."""

import argparse
import sys

from vlmhb_fake_openai_server import run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vllm.entrypoints.openai.api_server (stand-in)")
    p.add_argument("--model", required=True)
    p.add_argument("--served-model-name", nargs="+")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
    p.add_argument("--limit-mm-per-prompt")
    # A few of vLLM's common extra flags, so that rows can pass them through.
    p.add_argument("--max-model-len", type=int)
    p.add_argument("--gpu-memory-utilization", type=float)
    p.add_argument("--dtype")
    p.add_argument("--max-num-seqs", type=int)
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--enforce-eager", action="store_true")
    return p


if __name__ == "__main__":
    sys.exit(run("vllm", parser()))
