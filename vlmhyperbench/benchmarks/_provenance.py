"""What a run records of a benchmark's data: where it came from, its hub revision and its content hash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlmhyperbench.benchmarks._hashing import data_hash, sha256_file

if TYPE_CHECKING:
    from vlmhyperbench.benchmarks._registry import Benchmark
    from vlmhyperbench.benchmarks._sources import DataSource


def data_record(benchmark: Benchmark, source: DataSource, split: str | None) -> dict:
    """benchmark, source, kind, path, split, revision, sha256 (of the files the split's questions are read
    from: see _hashing.data_hash), files, samples and synthetic (sample data, not the benchmark's): the
    manifest's `benchmarks` entry of one dataset."""
    split = split or benchmark.default_split
    samples = benchmark.read(source.path, split)
    files = sorted({img.path for s in samples for img in s.images if img.path is not None})
    return {
        "benchmark": benchmark.name,
        "source": source.spec,
        "kind": source.kind,
        "path": str(source.path),
        "split": split,
        "revision": source.revision,
        "sha256": data_hash([sha256_file(f) for f in files]),
        "files": len(files),
        "samples": len(samples),
        "synthetic": source.synthetic,
    }
