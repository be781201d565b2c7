"""Task kinds: each task's default metrics (and its built-in prompt) live with the task, not the metrics."""

from __future__ import annotations

import pytest

from vlmhb_core.errors import UnknownNameError
from vlmhyperbench.config import default_aggregators, default_metrics, expand_plan, load_catalog


def test_default_metrics_per_task():
    assert default_metrics("ocr") == ["cer", "wer"]
    assert default_metrics("vqa") == ["anls", "exact_match"]
    assert default_metrics("classification") == ["accuracy", "f1_macro"]
    assert default_metrics("kie") == ["field_f1"]
    assert default_metrics("ordering") == ["kendall_tau"]
    with pytest.raises(UnknownNameError, match="unknown task 'ocrr'"):
        default_metrics("ocrr")


def test_default_aggregators_follow_the_task():
    assert default_aggregators("ocr") == ["general", "by_doc_class"]
    assert default_aggregators("vqa") == ["general", "by_doc_class", "by_question_type"]
    assert default_aggregators("kie") == ["general", "by_doc_class", "by_field"]


def test_a_kie_pair_shows_per_field_scores_and_no_unnamed_group(write_config, tmp_path):
    """The plan gives each pair its task's aggregators; scored, a KIE pair has a group per field, and its
    samples without a document class make no unnamed by_doc_class group."""
    import json

    import polars as pl
    from PIL import Image

    from vlmhyperbench.scoring import score_pair

    image = tmp_path / "config" / "data" / "page.png"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (8, 8), "white").save(image)
    kie = [
        {"id": f"k{i}", "image": "page.png", "fields": {"total": "12.50", "date": f"0{i}.05"}} for i in (1, 2)
    ]
    vqa = [{"id": "q1", "image": "page.png", "question": "Total?", "answer": "12.50"}]
    config = write_config(
        {
            "models.csv": "name;backend;model;base_url;env\napi;openai;m;http://127.0.0.1:9/v1;none\n",
            "datasets.csv": (
                "name;task;format;path\nreceipts;kie;jsonl;data/kie.jsonl\nqa;vqa;jsonl;data/vqa.jsonl\n"
            ),
            "data/kie.jsonl": "".join(json.dumps(r) + "\n" for r in kie),
            "data/vqa.jsonl": "".join(json.dumps(r) + "\n" for r in vqa),
        }
    )
    pairs = {p.dataset.name: p for p in expand_plan(load_catalog(config))}
    assert pairs["receipts"].aggregators == ("general", "by_doc_class", "by_field")
    assert pairs["qa"].aggregators == ("general", "by_doc_class", "by_question_type")

    predictions = tmp_path / "receipts.parquet"
    pl.DataFrame(
        {
            "sample_id": ["k1", "k2"],
            "prediction": ['{"total": "12.50", "date": "01.05"}', '{"total": "12.50", "date": "?"}'],
            "references": [[], []],
            "fields": [json.dumps(r["fields"]) for r in kie],
            "doc_class": [None, None],
            "question_type": [None, None],
            "error": [None, None],
            "attempts": [1, 1],
        }
    ).write_parquet(predictions)
    pair = pairs["receipts"]
    summary = score_pair(
        predictions, {"model": "api", "dataset": "receipts"}, ["field_f1"], list(pair.aggregators)
    )
    groups = {(r["aggregator"], r["group"]): r["value"] for r in summary.summary.iter_rows(named=True)}
    assert groups == {("general", ""): 0.75, ("by_field", "total"): 1.0, ("by_field", "date"): 0.5}
