"""vlmhb: the project's one command. Each subcommand is the command line of the module that owns it, so
`vlmhb run ARGS` and `python -m flows.benchmark ARGS` are one parser, one behaviour and one exit code.

    vlmhb run [--config DIR] [--limit N] ...     python -m flows.benchmark
    vlmhb rescore RUN_DIR                         python -m flows.rescore
    vlmhb history [--output DIR] ...              python -m flows.history
    vlmhb env build|list|prune ...                python -m environments (flows/cli/env.py)
    vlmhb list                                    python -m flows.benchmark --list
    vlmhb deploy [--gpu-hosts ...] [--names ...]  make deploy
    vlmhb worker [--host NAME] [--slots N]        python -m flows.cli.worker
    vlmhb bundle export|import|verify|sample ...  python -m flows.cli.bundle
    vlmhb tiny-model llava|idefics3 OUT           a tiny random VLM, made offline (flows/cli/tiny_model.py)
    vlmhb completion bash|zsh                     the shell completion script

A subcommand's module is imported only when it runs (`vlmhb --help` imports neither Prefect nor polars).
Adding one is one line in COMMANDS: a module with `build_parser(prog)` and `main(argv, prog) -> int`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Command:
    """A subcommand: NAME runs MODULE's `main(argv, prog)`; `build_parser(prog)` is its parser."""

    name: str
    module: str
    help: str

    @property
    def prog(self) -> str:
        return f"vlmhb {self.name}"

    def main(self, argv: list[str]) -> int:
        return import_module(self.module).main(argv, prog=self.prog)

    def parser(self) -> argparse.ArgumentParser:
        return import_module(self.module).build_parser(self.prog)


COMMANDS: list[Command] = [
    Command("run", "flows.benchmark", "run a benchmark: every model of a config on its datasets"),
    Command("rescore", "flows.rescore", "recompute scores and reports of a run from its stored answers"),
    Command("history", "flows.history", "the trend of every metric across the runs of a results folder"),
    Command("env", "flows.cli.env", "build, list or prune the cached model environments"),
    Command("list", "flows.cli.registries", "every backend, format, task, metric... a config can name"),
    Command("deploy", "flows.cli.deploy", "work pools, limits and Prefect deployments (make deploy)"),
    Command("worker", "flows.cli.worker", "a GPU host's Docker worker of the per-model pool, named after it"),
    Command("bundle", "flows.cli.bundle", "offline bundles of standard benchmarks, and synthetic samples"),
    Command("tiny-model", "flows.cli.tiny_model", "a tiny random VLM, made offline, to try the VLM paths"),
    Command("completion", "flows.cli.completion", "print the bash or zsh completion script"),
]
EXAMPLES = """\
examples:
  vlmhb run --limit 5                       # the embedded default benchmark, 5 samples per dataset
  vlmhb run --config configs/mine --env docker
  vlmhb run --help                          # each command's options and examples
  source <(vlmhb completion bash)           # tab completion in this shell
"""


def top_parser() -> argparse.ArgumentParser:
    """`vlmhb COMMAND [ARGS...]`: only the command's name is parsed here; its module parses the rest."""
    width = max(len(c.name) for c in COMMANDS)
    listing = "\n".join(f"  {c.name.ljust(width)}  {c.help}" for c in COMMANDS)
    parser = argparse.ArgumentParser(
        prog="vlmhb",
        description="Benchmark vision-language models and OCR engines on document understanding.",
        epilog=f"commands:\n{listing}\n\n{EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "command", choices=[c.name for c in COMMANDS], metavar="COMMAND", help="one of the commands below"
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the command's own options")
    return parser


def full_parser() -> argparse.ArgumentParser:
    """Every command's own parser under one `vlmhb` parser (imports every command: for completion only)."""
    parser = argparse.ArgumentParser(prog="vlmhb")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        commands.add_parser(command.name, help=command.help, parents=[command.parser()], add_help=False)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vlmhyperbench")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """The console script `vlmhb`: the command's exit code; 2 for a usage error, as argparse gives."""
    argv = sys.argv[1:] if argv is None else argv
    parser = top_parser()
    if not argv:  # argparse would say that COMMAND *and* ARGS are missing: ARGS never is
        parser.print_help(sys.stderr)
        return 2
    args = parser.parse_args(argv)
    command = next(c for c in COMMANDS if c.name == args.command)
    return command.main(args.args)


if __name__ == "__main__":
    sys.exit(main())
