"""Offline bundles of standard benchmarks, to take them into a closed network.

    python -m flows.cli.bundle export BENCHMARK SOURCE OUT [--split SPLIT]
    python -m flows.cli.bundle import BUNDLE DEST
    python -m flows.cli.bundle verify BUNDLE
    python -m flows.cli.bundle sample BENCHMARK OUT [--samples N]

`export` writes the benchmark's files from SOURCE (a local folder with the hub's files, or
hf://ORG/NAME[@REVISION]) with a manifest of their sha256 hashes and the source revision to OUT: a folder,
or a tarball when OUT ends in .tar, .tar.gz or .tgz. `import` checks every hash of BUNDLE (a folder or a
tarball) and only then puts it at DEST; a missing or changed file is an error that names it, and nothing is
left at DEST. `verify` checks a bundle in place. In datasets.csv, a row's path may name an imported bundle
folder, or a bundle tarball directly (imported once into VLMHB_CACHE_DIR/bundles). `sample` writes a bundle
of a few SYNTHETIC samples in the benchmark's exact hub layout (not its data: to try the benchmark offline).

Exit codes: 0 done; 1 the bundle or its source cannot be used (the message names the file); 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from vlmhb_core.console import command_parser
from vlmhb_core.errors import DatasetError, UnknownNameError
from vlmhyperbench.benchmarks import (
    BENCHMARKS,
    DataSource,
    export_bundle,
    import_bundle,
    read_manifest,
    resolve_source,
    verify_bundle,
)
from vlmhyperbench.benchmarks._bundle import is_tarball, unpack
from vlmhyperbench.benchmarks._samples import write_starter

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


PROG = "python -m flows.cli.bundle"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line's parser (also `vlmhb bundle`'s, under PROG)."""
    parser = command_parser(
        prog,
        __doc__.split("\n\n")[0],
        "export docvqa hf://lmms-lab/DocVQA@<commit> docvqa-val.tar.gz --split validation",
        "import docvqa-val.tar.gz /data/docvqa-val",
        "verify /data/docvqa-val",
        "sample docvqa docvqa-sample.tar.gz          # synthetic pages, to try it offline",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a benchmark's files and their hashes to a bundle")
    export.add_argument("benchmark", help=f"one of: {', '.join(BENCHMARKS.names())}")
    export.add_argument("source", help="a local folder with the hub's files, or hf://ORG/NAME[@REVISION]")
    export.add_argument("out", help="a new folder, or a file ending in .tar, .tar.gz or .tgz")
    export.add_argument("--split", default=None, help="only this split's files (default: every split)")
    imp = commands.add_parser("import", help="check a bundle's every hash, then put it at DEST")
    imp.add_argument("bundle", help="a bundle folder or tarball")
    imp.add_argument("dest", help="a new folder")
    verify = commands.add_parser("verify", help="check a bundle's every hash in place")
    verify.add_argument("bundle", help="a bundle folder or tarball")
    with_samples = [n for n in BENCHMARKS.names() if _has_sample(n)]
    sample = commands.add_parser(
        "sample",
        aliases=["starter"],
        help="a bundle of synthetic samples in a benchmark's exact hub layout, to try it offline",
    )
    sample.add_argument("benchmark", help=f"one of: {', '.join(with_samples)}")
    sample.add_argument("out", help="a new folder, or a file ending in .tar, .tar.gz or .tgz")
    sample.add_argument("--samples", type=int, default=8, metavar="N", help="how many (default %(default)s)")
    return parser


def _has_sample(name: str) -> bool:
    try:
        return bool(BENCHMARKS.get(name).starter)
    except Exception:  # a plugin benchmark that cannot be loaded: listed by `vlmhb list`, not here
        return False


def parse_args(argv: list[str] | None, prog: str = PROG) -> argparse.Namespace:
    return build_parser(prog).parse_args(argv)


def _describe(folder: Path) -> str:
    manifest = read_manifest(folder)
    size = sum(meta.get("size", 0) for meta in manifest.files.values())
    return (
        f"benchmark {manifest.benchmark}, {len(manifest.files)} files, {size / 2**20:.1f} MiB, "
        f"source {manifest.source}, revision {manifest.revision or 'unknown'}"
        + ("; SYNTHETIC sample data, not the benchmark's" if manifest.synthetic else "")
    )


def run(args: argparse.Namespace) -> int:
    if args.command == "export":
        benchmark = BENCHMARKS.get(args.benchmark)
        if args.split and args.split not in benchmark.splits:
            allowed = ", ".join(benchmark.splits)
            raise DatasetError(
                f"benchmark '{benchmark.name}' has no split '{args.split}' (allowed: {allowed})"
            )
        source = resolve_source(args.source, Path.cwd(), benchmark, args.split)
        out = export_bundle(benchmark, source, Path(args.out), args.split)
        print(f"exported {out}: {source.kind} {source.spec}, revision {source.revision or 'unknown'}")
        return EXIT_OK
    if args.command in ("sample", "starter"):
        return _sample(BENCHMARKS.get(args.benchmark), Path(args.out), args.samples)
    if args.command == "import":
        dest = import_bundle(Path(args.bundle), Path(args.dest))
        manifest = read_manifest(dest)
        print(f"imported {dest}: every hash checked ({_describe(dest)})")
        split = manifest.split or ""
        row = f"{manifest.benchmark};{manifest.benchmark};{dest};{split}"
        print(f"datasets.csv row:  name;benchmark;path;split\n  {row}")
        return EXIT_OK
    bundle = Path(args.bundle)
    if bundle.is_file() and is_tarball(bundle):
        with tempfile.TemporaryDirectory() as tmp:
            unpack(bundle, Path(tmp))
            verify_bundle(Path(tmp), shown=str(bundle))
            print(f"{bundle}: every hash matches ({_describe(Path(tmp))})")
        return EXIT_OK
    verify_bundle(bundle)
    print(f"{bundle}: every hash matches ({_describe(bundle)})")
    return EXIT_OK


def _sample(benchmark, out: Path, samples: int) -> int:
    """`sample`: SAMPLES synthetic samples of BENCHMARK as a bundle at OUT, labelled as such everywhere."""
    if not benchmark.starter:
        raise DatasetError(
            f"benchmark '{benchmark.name}' has no sample data (its Benchmark names no starter)"
        )
    if samples < 1:
        raise DatasetError(f"--samples must be at least 1, not {samples}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_starter(benchmark, Path(tmp) / "sample", samples)
        spec = f"synthetic sample data (vlmhb bundle sample; not {benchmark.title})"
        export_bundle(benchmark, DataSource(spec, folder, "folder"), out, synthetic=True)
    print(f"wrote {out}: {samples} SYNTHETIC samples in the layout of {benchmark.hub_repo} (not its data)")
    print(f"datasets.csv row:  name;benchmark;path\n  {benchmark.name}-sample;{benchmark.name};{out}")
    return EXIT_OK


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """The command line: `python -m flows.cli.bundle ARGV`, or `vlmhb bundle ARGV` (PROG names it in
    messages)."""
    args = parse_args(argv, prog)
    try:
        return run(args)
    except UnknownNameError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DatasetError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
