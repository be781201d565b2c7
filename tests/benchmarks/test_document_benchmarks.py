"""OmniDocBench and olmOCR-bench among the standard benchmarks: named in datasets.csv by `benchmark`, read in
their published layouts, scored by their scorers' metrics, with their files for downloads and bundles."""

from __future__ import annotations

from tests.support.documents import olmocr_bench_folder, omnidocbench_folder, omnidocbench_page
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.config import expand_plan, load_catalog
from vlmhyperbench.datasets import PageOptions


def test_rows_name_the_two_benchmarks_and_get_their_task_metrics_and_prompt(write_config):
    root = write_config(
        {
            "models.csv": "name;backend;env\ntess;tesseract;venv\n",
            "datasets.csv": "name;benchmark;path;dpi\nodb;omnidocbench;odb;\nolm;olmocr_bench;repo;100\n",
        }
    )
    omnidocbench_folder(root / "odb", [omnidocbench_page("p.png", [("text_block", "Hello there.")])])
    olmocr_bench_folder(
        root / "repo" / "bench_data", {"tables": [("t", ["Cell"], [{"type": "present", "text": "Cell"}])]}
    )
    catalog = load_catalog(root)
    odb, olm = catalog.datasets["odb"], catalog.datasets["olm"]
    assert (odb.task, odb.metrics[0], olm.task, olm.metrics) == (
        "parse",
        "omnidocbench_overall",
        "parse",
        ("olmocr_bench",),
    )
    assert odb.prompt_template.startswith("You are an AI assistant specialized in converting PDF images")
    pairs = {p.dataset.name: p for p in expand_plan(catalog)}
    assert "olmocr_bench" in pairs["olm"].metric_names()
    samples = BENCHMARKS.get("olmocr_bench").read(
        catalog.dataset_path(olm), olm.split, options=olm.page_options()
    )
    assert [(s.id, s.dpi) for s in samples] == [
        ("tables/t.pdf", 100)
    ]  # found under bench_data/, at the row's dpi
    assert [s.id for s in BENCHMARKS.get("omnidocbench").read(catalog.dataset_path(odb))] == ["p.png"]


def test_page_columns_apply_only_to_a_benchmark_that_reads_pdfs(write_config):
    root = write_config(
        {
            "models.csv": "name;backend;env\ntess;tesseract;venv\n",
            "datasets.csv": "name;benchmark;path;dpi\nodb;omnidocbench;odb;200\n",
        }
    )
    (root / "odb").mkdir()
    import pytest

    from vlmhb_core.errors import ConfigError

    with pytest.raises(ConfigError, match="column 'dpi': benchmark 'omnidocbench' reads images, not PDFs"):
        load_catalog(root)


def test_their_files_are_named_for_downloads_and_bundles():
    assert BENCHMARKS.get("omnidocbench").file_patterns() == ["OmniDocBench.json", "images/*", "README.md"]
    assert "bench_data/pdfs/*" in BENCHMARKS.get("olmocr_bench").file_patterns("test")
    assert PageOptions.of(dpi=100).dpi == 100
