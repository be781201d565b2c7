"""Sample bundles (`vlmhb bundle sample`): for every standard benchmark, a few synthetic samples in its
exact hub layout that its own reader reads, labelled as synthetic on every question, page, README, the
bundle manifest and a run's data record; and a datasets.csv that names one plans with a warning."""

from __future__ import annotations

import tarfile

import pytest

from flows.cli.bundle import main as bundle_main
from vlmhyperbench.benchmarks import BENCHMARKS, data_record, read_manifest, resolve_source
from vlmhyperbench.benchmarks._samples import LABEL, write_starter
from vlmhyperbench.config import load_catalog, plan_pairs, synthetic_datasets

BUILT_IN = [
    "docvqa", "infographicvqa", "chartqa", "textvqa", "ocrbench", "omnidocbench", "olmocr_bench",
    "ocrbench_v2", "cc_ocr", "mmlongbench_doc",
]  # fmt: skip
# (charxiv's sample writes five questions a chart: tests/benchmarks/test_judged_benchmarks.py)


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_benchmarks_sample_is_read_by_its_own_reader_and_labelled(tmp_path, name):
    benchmark = BENCHMARKS.get(name)
    folder = write_starter(benchmark, tmp_path / name, samples=4)
    assert "SYNTHETIC SAMPLE DATA: not" in (folder / "README.md").read_text()
    samples = benchmark.read(folder)
    assert len(samples) == 4
    if benchmark.task == "vqa":
        assert all(s.question.startswith(LABEL) and s.references for s in samples)
    for sample in samples[:1]:  # the page is there and is an image (or a PDF page) that can be read
        assert sample.images


def test_the_sample_command_writes_a_verified_synthetic_bundle(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VLMHB_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "chartqa-sample.tar.gz"
    assert bundle_main(["sample", "chartqa", str(out), "--samples", "3"], prog="vlmhb bundle") == 0
    printed = capsys.readouterr().out
    assert "3 SYNTHETIC samples in the layout of lmms-lab/ChartQA" in printed
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert "README.md" in names and "data/test-00000-of-00001.parquet" in names
    assert bundle_main(["verify", str(out)], prog="vlmhb bundle") == 0
    assert "SYNTHETIC sample data, not the benchmark's" in capsys.readouterr().out
    source = resolve_source(str(out), tmp_path, BENCHMARKS.get("chartqa"))
    assert source.synthetic and read_manifest(source.path).synthetic
    record = data_record(BENCHMARKS.get("chartqa"), source, None)
    assert record["synthetic"] is True and record["samples"] == 3
    # a config that names it is planned with a warning that says what it is
    config = tmp_path / "config"
    config.mkdir()
    (config / "models.csv").write_text(
        "name;backend;model;base_url;env\napi;openai;m;http://127.0.0.1:9/v1;none\n"
    )
    (config / "datasets.csv").write_text(f"name;benchmark;path\nchart;chartqa;{out}\n")
    catalog, pairs = plan_pairs(str(config))
    (line,) = synthetic_datasets(catalog, pairs)
    assert "dataset 'chart' reads SYNTHETIC sample data" in line and "say nothing about a model" in line
    assert load_catalog(config).datasets["chart"].path == str(out)


def test_a_benchmark_without_a_sample_writer_says_so(tmp_path, capsys):
    assert bundle_main(["sample", "nope", str(tmp_path / "x")], prog="vlmhb bundle") == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err
    assert bundle_main(["sample", "docvqa", str(tmp_path / "y"), "--samples", "0"], prog="vlmhb bundle") == 1
    assert "--samples must be at least 1" in capsys.readouterr().err


def test_a_benchmark_folder_under_a_dot_cache_folder_is_read(tmp_path):
    """A tarball bundle is imported into VLMHB_CACHE_DIR/bundles, by default under ~/.cache: the hub's own
    download metadata (ROOT/.cache) is left out, not every folder below a `.cache`."""
    docvqa = BENCHMARKS.get("docvqa")
    folder = write_starter(docvqa, tmp_path / ".cache" / "vlmhyperbench" / "bundles" / "x", samples=2)
    (folder / ".cache" / "huggingface").mkdir(parents=True)
    (folder / ".cache" / "huggingface" / "stray.parquet").write_bytes(b"not a shard")
    assert len(docvqa.read(folder)) == 2
