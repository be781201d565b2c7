"""vlmhb tiny-model llava|idefics3 OUT: a tiny random-weight VLM, made offline, to walk the transformers
backend, judges and load curves without a hub or a GPU.

The model is made in a transformers environment (environments/tiny_models.PACKAGES), built and cached by
the EnvManager exactly as a models.csv row with those packages gets it, so the row the command prints
reuses it. Its weights are random: its answers are garbage and its scores mean nothing; what it shows is
the path (build, serve, stream, score, report), at a few seconds a request on a CPU.

Exit codes: 0 done; 1 the environment or the model could not be made (the message says why); 2 bad usage.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from environments.tiny_models import KINDS, PACKAGES
from vlmhb_core.console import FOLDER, command_parser
from vlmhb_core.errors import EnvBuildError

PROG = "vlmhb tiny-model"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
ENGINE_ARGS = "--engine-arg device=cpu --engine-arg dtype=float32"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = command_parser(
        prog,
        __doc__.split("\n\n")[0],
        "llava models/tiny-llava",
        "idefics3 models/tiny-idefics3",
    )
    parser.add_argument("kind", choices=list(KINDS), help="the architecture (LLaVA or Idefics3/SmolVLM)")
    parser.add_argument("out", help="a new folder for the model").complete = FOLDER
    parser.add_argument(
        "--packages",
        default=" ".join(PACKAGES),
        help="the environment's pip requirements, space-separated (default: %(default)s)",
    )
    return parser


def models_row(name: str, folder: Path, packages: str) -> str:
    """The models.csv lines (header and row) that serve FOLDER with the transformers backend."""
    return (
        "name;backend;model;env;packages;args;concurrency;max_tokens\n"
        f"{name};transformers;{folder};venv;{packages};{ENGINE_ARGS};2;16"
    )


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    out = Path(args.out).expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        print(f"error: {args.out}: already exists and is not empty; name a new folder", file=sys.stderr)
        return EXIT_USAGE
    from environments.backends import BACKENDS
    from environments.manager import EnvManager
    from environments.tiny_models import build_in
    from vlmhyperbench.config import ModelRow

    packages = tuple(args.packages.split())
    manager = EnvManager()
    row = ModelRow(name=f"tiny-{args.kind}", backend="transformers", model=str(out), packages=packages)
    print(f"transformers environment ({' '.join(packages)}): building or reusing it...", flush=True)
    try:
        python = manager.ensure(manager.spec(row, BACKENDS.get("transformers"), "venv")).python
        folder = build_in(python, args.kind, out)
    except (EnvBuildError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"tiny random {args.kind} written to {folder} (random weights: the answers are garbage)")
    print(f"models.csv:\n{models_row(f'tiny-{args.kind}', folder, ' '.join(packages))}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
