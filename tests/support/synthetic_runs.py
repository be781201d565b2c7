"""Synthetic run folders for the report and history tests: no model is served, the predictions are written
directly, then scored, profiled and reported by the project's real code.

    config = make_config(tmp_path)                       # a dataset with real PNG pages + datasets.csv
    run = write_run(tmp_path / "results", "r1", config, {"good": set(), "bad": {1, 2, 3}})

A model's entry is the set of sample indices it answers wrongly; everything else is answered right.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
from PIL import Image, ImageDraw

from vlmhyperbench.inference.performance import performance_row
from vlmhyperbench.report import write_report
from vlmhyperbench.results import EnvironmentRecord, Manifest, PairKey, PairOutcome, RunFolder
from vlmhyperbench.scoring import score_pair_file

DOC_CLASSES = ["invoice", "receipt", "letter"]
QUESTION_TYPES = ["number", "date"]
DATASETS = {"docs-vqa": ("vqa", "anls exact_match"), "docs-ocr": ("ocr", "cer anls")}


def sample_id(i: int) -> str:
    return f"s{i:03d}"


def answer(dataset: str, i: int) -> str:
    if dataset == "docs-ocr":
        return f"INVOICE No {1000 + i} dated 2024-0{1 + i % 9}-1{i % 10} total {i * 7}.50 EUR paid"
    return f"INV-{1000 + i}"


def wrong(dataset: str, i: int) -> str:
    if dataset == "docs-ocr":  # a few characters off: CER about 0.15
        return (
            answer(dataset, i).replace("INVOICE", "1NV0ICE").replace("total", "tota1").replace("paid", "pald")
        )
    return f"unknown {i}"


def make_config(root: Path, n: int = 40, datasets: tuple[str, ...] = ("docs-vqa",), pages: int = 4) -> Path:
    """A config folder whose datasets (vlmhyperbench format) have N samples over PAGES real PNG pages
    (sample i on page i % PAGES)."""
    config = root / "config-src"
    (config / "data" / "images").mkdir(parents=True, exist_ok=True)
    for k in range(pages):
        img = Image.new("RGB", (620, 820), "white")
        draw = ImageDraw.Draw(img)
        draw.rectangle([30, 30, 590, 110], outline="black", width=3)
        draw.text((50, 55), f"INVOICE page {k}", fill="black")
        for line in range(12):
            draw.line(
                [50, 160 + line * 45, 560 - (line * 17 + k * 31) % 200, 160 + line * 45], fill="#444", width=4
            )
        img.save(config / "data" / "images" / f"page{k}.png", compress_level=1)
    rows = ["name;task;format;path;metrics"]
    for name in datasets:
        task, metric_names = DATASETS[name]
        lines = ["data_index;split;image_path;question;answer;doc_class;question_type"]
        for i in range(n):
            lines.append(
                f"{sample_id(i)};test;images/page{i % pages}.png;What is the number of document {i}?;"
                f"{answer(name, i)};{DOC_CLASSES[i % 3]};{QUESTION_TYPES[i % 2]}"
            )
        (config / "data" / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows.append(f"{name};{task};vlmhyperbench;data/{name}.csv;{metric_names}")
    (config / "datasets.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return config


def _predictions(
    dataset: str,
    model: str,
    n: int,
    wrong_ids: set[int],
    overrides: dict[int, str],
    speed: float,
    seed: int,
    errors: dict[int, str] | None = None,
) -> pl.DataFrame:
    rng = random.Random(f"{model}/{dataset}/{seed}")
    t = 1_700_000_000.0
    rows = []
    for i in range(n):
        ttft = speed * (0.05 + 0.05 * rng.random())
        latency = ttft + speed * (0.2 + 0.3 * rng.random())
        pred = overrides.get(i, wrong(dataset, i) if i in wrong_ids else answer(dataset, i))
        error = (errors or {}).get(i)
        rows.append(
            {
                "sample_id": sample_id(i),
                "doc_class": DOC_CLASSES[i % 3],
                "question_type": QUESTION_TYPES[i % 2],
                "prompt": f"Answer the question.\nQuestion: What is the number of document {i}?",
                "prediction": None if error else pred,
                "references": [answer(dataset, i)],
                "error": error,
                "attempts": 1,
                "ttft_s": ttft,
                "latency_s": latency,
                "output_tokens": 8,
                "tpot_s": 0.01,
                "itl_s": 0.01,
                "queue_wait_s": 0.0,
                "sent_at": t,
                "finished_at": t + latency,
                "session_start": 1.0,
            }
        )
        t += latency / 4
    return pl.DataFrame(rows)


def write_run(
    results: Path,
    run_id: str,
    config: Path,
    models: dict[str, set[int]],
    *,
    report: bool = True,
    remove_scores: bool = False,
    **options,
) -> RunFolder:
    """A complete run folder: manifest, config copy, predictions, then scores/summary/performance/report
    written by the report's write_report (which also compares the run with earlier ones in RESULTS)."""
    run, manifest, scores, summaries, performance = build_run(results, run_id, config, models, **options)
    if report:
        write_report(run, manifest, scores, summaries, performance, print_table=False)
    if remove_scores:
        (run.root / "scores.parquet").unlink()
    return run


def build_run(
    results: Path,
    run_id: str,
    config: Path,
    models: dict[str, set[int]],
    *,
    datasets: tuple[str, ...] = ("docs-vqa",),
    n: int = 40,
    started_at: str | None = None,
    failed: dict[str, str] | None = None,
    perturbation: str | None = None,
    perturbed_wrong: dict[str, set[int]] | None = None,
    overrides: dict[str, dict[int, str]] | None = None,
    speeds: dict[str, float] | None = None,
    seed: int = 0,
    errors: dict[str, dict[int, str]] | None = None,
):
    """The run folder up to its report: (run, manifest, scores, summaries, performance), as the benchmark
    flow hands them to the report task."""
    run = RunFolder(Path(results) / run_id)
    run.config_dir.mkdir(parents=True, exist_ok=True)
    (run.config_dir / "datasets.csv").write_bytes((config / "datasets.csv").read_bytes())
    failed = failed or {}
    pairs, scores, summaries, performance = [], [], [], []
    for name in datasets:
        keys = [(m, None) for m in list(models) + list(failed)]
        if perturbation:
            keys += [(m, perturbation) for m in (perturbed_wrong or {})]
        for model, pert in keys:
            key = PairKey(model=model, dataset=name, perturbation=pert)
            if model in failed:
                pairs.append(PairOutcome(**key.model_dump(), status="failed", error=failed[model]))
                continue
            wrong_ids = (perturbed_wrong or {}).get(model, set()) if pert else models[model]
            speed = (speeds or {}).get(model, 1.0 + list(models).index(model))
            df = _predictions(
                name,
                model,
                n,
                wrong_ids,
                (overrides or {}).get(model, {}) if not pert else {},
                speed,
                seed,
                (errors or {}).get(model) if not pert else None,
            )
            path = run.predictions(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            df.write_parquet(path)
            s, summary = score_pair_file(
                path,
                {"model": model, "dataset": name, "perturbation": pert or ""},
                DATASETS[name][1].split(),
                ["general", "by_doc_class", "by_question_type"],
            )
            scores.append(s)
            summaries.append(summary)
            perf = performance_row(df, concurrency=4)
            perf.update(
                model=model,
                dataset=name,
                perturbation=pert or "",
                peak_rss_mb=512.0,
                peak_gpu_mb=None,
                env_build_s=1.0,
                server_start_s=2.0,
            )
            performance.append(perf)
            pairs.append(PairOutcome(**key.model_dump(), status="completed"))
    status = "completed" if not failed else "partial"
    started_at = started_at or "2026-01-01T00:00:00+00:00"
    manifest = Manifest(
        schema_version=2,
        run_id=run_id,
        status=status,
        started_at=started_at,
        finished_at=started_at,
        git_commit="0123456789abcdef",
        config=str(config.resolve()),
        parameters={"models": None, "datasets": None, "max_samples": None, "env": None},
        environments={
            m: EnvironmentRecord(provider="venv", key="synthetic", cached=True, build_s=0.0) for m in models
        },
        versions={"python": "3.11"},
        pairs=pairs,
    )
    run.save_manifest(manifest)
    return run, manifest, scores, summaries, performance
