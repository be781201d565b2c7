"""The field's standard document benchmarks by name: DocVQA, InfographicVQA, ChartQA, TextVQA, OCRBench,
OmniDocBench, olmOCR-bench, and the judge-graded MMLongBench-Doc and CharXiv (_judged).

    bench = BENCHMARKS.get("chartqa")                    # task, prompt, official metrics, headline
    source = resolve_source("hf://lmms-lab/ChartQA", benchmark=bench)   # or a folder, or a bundle
    samples = bench.read(source.path, "test")            # images stay in their parquet shards
    export_bundle(bench, source, Path("chartqa.tar.gz"))  # carry it into a closed network

Modules: _registry (Benchmark, Headline, the BENCHMARKS registry and its entries), _layout and _readers
(the published Hugging Face layouts, read lazily), _sources (folder, hf:// or bundle), _bundle (offline
bundles with sha256 manifests), _hashing, _provenance (what the run's manifest records), _judged with
_mmlongbench and _charxiv (the judge-graded benchmarks and their readers), _charxiv_texts and
_mmlongbench_texts (their official texts, word for word, as our own tables), _starter (hub-layout writers) and
_samples (synthetic sample data in a benchmark's hub layout, for `vlmhb bundle sample`).
"""

from vlmhyperbench.benchmarks import _judged  # noqa: F401  (registers the judge-graded benchmarks)
from vlmhyperbench.benchmarks._bundle import (
    MANIFEST,
    BundleManifest,
    export_bundle,
    import_bundle,
    is_bundle,
    read_manifest,
    verify_bundle,
)
from vlmhyperbench.benchmarks._layout import Layout
from vlmhyperbench.benchmarks._provenance import data_record
from vlmhyperbench.benchmarks._registry import BENCHMARKS, Benchmark, Headline, get_benchmark
from vlmhyperbench.benchmarks._sources import DataSource, is_hub, parse_hub, resolve_source

__all__ = [
    "BENCHMARKS",
    "MANIFEST",
    "Benchmark",
    "BundleManifest",
    "DataSource",
    "Headline",
    "Layout",
    "data_record",
    "export_bundle",
    "get_benchmark",
    "import_bundle",
    "is_bundle",
    "is_hub",
    "parse_hub",
    "read_manifest",
    "resolve_source",
    "verify_bundle",
]
