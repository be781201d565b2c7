"""What report.html shows, gathered from a run folder: primary metrics, Pareto points, breakdowns, latency
distributions, perturbation drops, worst samples (with thumbnails when the dataset can still be read)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import polars as pl

from vlmhyperbench.benchmarks import BENCHMARKS, resolve_source
from vlmhyperbench.config.csv_rows import read_csv_rows
from vlmhyperbench.config.task_kinds import default_metrics
from vlmhyperbench.results.records import Manifest, PairKey

WORST_PER_DATASET = 10
MAX_THUMBNAILS = 16
THUMB_PX = 180
N_QUANTILES = 101


def dataset_rows(run) -> dict[str, dict]:
    """datasets.csv of the run's config copy: name -> cells (empty when unreadable)."""
    path = Path(run.config_dir) / "datasets.csv"
    try:
        return {r.cells["name"]: r.cells for r in read_csv_rows(path, required=["name"]) if "name" in r.cells}
    except Exception:  # an old or hand-edited copy: the report goes on without it
        return {}


def primary_metrics(summary: pl.DataFrame, datasets: dict[str, dict]) -> dict[str, tuple[str, bool]]:
    """dataset -> (its headline metric, higher_is_better): the first of the dataset's metrics (config,
    else the task's defaults) that the summary has, else the first metric in the summary."""
    out: dict[str, tuple[str, bool]] = {}
    if not summary.height:
        return out
    general = summary.filter(pl.col("aggregator") == "general")
    for (dataset,), g in general.group_by(["dataset"], maintain_order=True):
        present = list(dict.fromkeys(g["metric"].to_list()))
        cells = datasets.get(dataset, {})
        wanted = cells.get("metrics", "").split()
        if not wanted and cells.get("benchmark") in BENCHMARKS:
            wanted = list(BENCHMARKS.get(cells["benchmark"]).metrics)
        if not wanted and cells.get("task"):
            try:
                wanted = default_metrics(cells["task"])
            except Exception:
                wanted = []
        name = next((m for m in wanted if m in present), present[0])
        hib = g.filter(pl.col("metric") == name)["higher_is_better"][0]
        out[dataset] = (name, bool(hib))
    return out


def scan_predictions(run, pairs: list[dict], columns: tuple[str, ...]) -> pl.LazyFrame | None:
    """The prediction files of PAIRS as one lazy frame of COLUMNS (those a file lacks are null) with the
    pair's model, dataset and perturbation: the report reads every file once. Files whose COLUMNS have the
    same types are read by one multi-file scan (one lazy frame per file made the plan grow with the pairs:
    12 s for 1,000 pairs), and each row gets its pair from its file's path."""
    groups: dict[tuple, list[str]] = {}  # the COLUMNS a file has, with their types -> its paths
    owners: dict[str, PairKey] = {}
    for p in pairs:
        key = PairKey(model=p["model"], dataset=p["dataset"], perturbation=p.get("perturbation"))
        path = run.predictions(key)
        if not path.is_file():
            continue
        try:
            schema = pl.read_parquet_schema(path)
        except (pl.exceptions.PolarsError, OSError):
            continue
        groups.setdefault(tuple((c, schema[c]) for c in columns if c in schema), []).append(str(path))
        owners[str(path)] = key
    if not owners:
        return None
    pair_of = pl.LazyFrame(
        {
            "_file": list(owners),
            "model": [k.model for k in owners.values()],
            "dataset": [k.dataset for k in owners.values()],
            "perturbation": [k.perturbation or "" for k in owners.values()],
        }
    )
    frames = [
        pl.scan_parquet(paths, include_file_paths="_file").select("_file", *(c for c, _ in present))
        for present, paths in groups.items()
    ]
    return (
        pl.concat(frames, how="diagonal_relaxed")
        .join(pair_of, on="_file", how="left", maintain_order="left")
        .drop("_file")
    )


def latency_quantiles(run, pairs: list[dict]) -> dict[tuple[str, str, str], dict[str, list[float]]]:
    """(model, dataset, perturbation) -> quantiles of ttft_s and latency_s of answered requests."""
    import numpy as np

    lf = scan_predictions(run, pairs, ("ttft_s", "latency_s", "error"))
    if lf is None:
        return {}
    try:
        df = lf.collect()
    except (pl.exceptions.PolarsError, OSError):
        return {}
    if "error" in df.columns:
        df = df.filter(pl.col("error").is_null())
    cols = [c for c in ("ttft_s", "latency_s") if c in df.columns]
    probs = np.linspace(0, 1, N_QUANTILES)
    out = {}
    for key, group in df.group_by(["model", "dataset", "perturbation"], maintain_order=True):
        curves = {}
        for c in cols:
            values = group[c].cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
            curves[c] = np.quantile(values, probs).tolist() if values.size else []
        out[tuple(key)] = curves
    return out


def _per_sample(scores: pl.DataFrame, metric: str) -> pl.DataFrame:
    keep = pl.col("metric") == metric
    for column in ("field", "subset"):
        if column in scores.columns:
            keep &= pl.col(column).is_null()
    out = scores.filter(keep)
    if "perturbation" not in out.columns:
        out = out.with_columns(pl.lit("", pl.String).alias("perturbation"))
    return out.with_columns(pl.col("perturbation").fill_null(""))


def perturbation_drops(scores: pl.DataFrame, primary: dict[str, tuple[str, bool]]) -> list[dict]:
    """For each perturbed pair with a clean counterpart: its primary metric's drop (towards worse) from clean,
    with a paired bootstrap CI over the samples both scored."""
    from metrics import MetricError, paired_difference

    out = []
    if not scores.height:
        return out
    for dataset, (metric, hib) in primary.items():
        rows = _per_sample(scores, metric).filter(pl.col("dataset") == dataset)
        for (model, pert), g in rows.group_by(["model", "perturbation"], maintain_order=True):
            if not pert:
                continue
            clean = rows.filter((pl.col("model") == model) & (pl.col("perturbation") == ""))
            if not clean.height:
                continue
            cols = [c for c in g.columns if c in clean.columns and c != "perturbation"]
            try:
                d = paired_difference(clean.select(cols), g.select(cols), metric)  # clean - perturbed
            except (MetricError, ValueError, pl.exceptions.PolarsError):
                continue
            sign = 1 if hib else -1
            low, high = (
                (d.ci_low, d.ci_high)
                if hib
                else (None if d.ci_high is None else -d.ci_high, None if d.ci_low is None else -d.ci_low)
            )
            out.append(
                {
                    "model": model,
                    "dataset": dataset,
                    "perturbation": pert,
                    "metric": metric,
                    "clean": d.value_a,
                    "perturbed": d.value_b,
                    "drop": sign * d.value,
                    "low": low,
                    "high": high,
                    "n": d.n,
                    "significant": low is not None and low > 0,
                }
            )
    return sorted(out, key=lambda r: (r["dataset"], r["perturbation"], r["model"]))


def worst_samples(
    run, scores: pl.DataFrame, primary: dict[str, tuple[str, bool]], per_dataset: int = WORST_PER_DATASET
) -> list[dict]:
    """The worst-scored samples of each (dataset, perturbation) on its primary metric, across models, with the
    stored question prompt, answer, references and error."""
    out = []
    if not scores.height:
        return out
    for dataset, (metric, hib) in primary.items():
        rows = _per_sample(scores, metric).filter(
            (pl.col("dataset") == dataset) & pl.col("value").is_not_null()
        )
        for (pert,), g in rows.group_by(["perturbation"], maintain_order=True):
            best = g["value"].max() if hib else g["value"].min()
            worst = (
                g.filter(pl.col("value") != best)  # a perfect answer is nobody's worst
                .sort(["value", "model", "sample_id"], descending=[not hib, False, False])
                .head(per_dataset)
            )
            for rec in worst.iter_rows(named=True):
                out.append(
                    {
                        "dataset": dataset,
                        "perturbation": pert,
                        "model": rec["model"],
                        "sample_id": str(rec["sample_id"]),
                        "metric": metric,
                        "value": rec["value"],
                        "higher_is_better": hib,
                    }
                )
    attach_predictions(run, out)
    return sorted(
        out,
        key=lambda r: (
            r["dataset"],
            r["perturbation"] != "",
            r["perturbation"],
            r["value"] if r["higher_is_better"] else -r["value"],
            r["model"],
            r["sample_id"],
        ),
    )


def uniform_groups(scores: pl.DataFrame, primary: dict[str, tuple[str, bool]]) -> list[dict]:
    """The (dataset, perturbation) groups whose every answer scored the same on the primary metric (so they
    have no worst samples): `perfect` when that value is full marks (1, or 0 where lower is better)."""
    out = []
    for dataset, (metric, hib) in primary.items():
        rows = _per_sample(scores, metric).filter(
            (pl.col("dataset") == dataset) & pl.col("value").is_not_null()
        )
        for (pert,), g in rows.group_by(["perturbation"], maintain_order=True):
            if g["value"].n_unique() != 1:
                continue
            value = float(g["value"][0])
            out.append(
                {
                    "dataset": dataset,
                    "perturbation": pert,
                    "metric": metric,
                    "value": value,
                    "n": g.height,
                    "perfect": value == (1.0 if hib else 0.0),
                }
            )
    return out


def attach_predictions(run, items: list[dict]) -> None:
    """Adds each item's stored prompt, answer, references, error and latency (items name model, dataset,
    perturbation and sample_id); `question` and `thumbnail` start as None (attach_thumbnails)."""
    columns = (
        "sample_id",
        "doc_class",
        "question_type",
        "prompt",
        "prediction",
        "references",
        "error",
        "latency_s",
    )
    pairs = list({(it["model"], it["dataset"], it["perturbation"]): it for it in items}.values())
    lf = scan_predictions(run, pairs, columns)
    found: dict[tuple[str, str, str, str], dict] = {}
    if lf is not None:
        ids = list({it["sample_id"] for it in items})
        try:
            df = lf.filter(pl.col("sample_id").cast(pl.String).is_in(ids)).collect()
            for r in df.iter_rows(named=True):
                found[(r["model"], r["dataset"], r["perturbation"], str(r["sample_id"]))] = r
        except (pl.exceptions.PolarsError, OSError):
            found = {}
    for it in items:
        rec = found.get((it["model"], it["dataset"], it["perturbation"], it["sample_id"]), {})
        it.update(
            doc_class=rec.get("doc_class"),
            question_type=rec.get("question_type"),
            prompt=rec.get("prompt"),
            prediction=rec.get("prediction"),
            references=list(rec.get("references") or []),
            error=rec.get("error"),
            latency_s=rec.get("latency_s"),
            question=None,
            thumbnail=None,
        )


def attach_thumbnails(
    items: list[dict], manifest: Manifest, datasets: dict[str, dict], limit: int = MAX_THUMBNAILS
) -> None:
    """Adds `question` and a small JPEG data URI `thumbnail` (first page, perturbed as the model saw it) to
    the first LIMIT distinct images of ITEMS, when the dataset can still be read; otherwise leaves None."""
    config = manifest.config
    wanted: dict[str, set[str]] = {}
    for it in items:
        wanted.setdefault(it["dataset"], set()).add(it["sample_id"])
    samples: dict[tuple[str, str], object] = {}
    for name, ids in wanted.items():
        for s in dataset_samples(datasets.get(name), config):
            if s.id in ids:
                samples[(name, s.id)] = s
    made: dict[tuple[str, str, str], str | None] = {}
    for it in items:
        sample = samples.get((it["dataset"], it["sample_id"]))
        if sample is None:
            continue
        it["question"] = getattr(sample, "question", None)
        key = (it["dataset"], it["sample_id"], it["perturbation"])
        if key not in made:
            made[key] = _thumbnail(sample, it["perturbation"]) if len(made) < limit else None
        it["thumbnail"] = made[key]


def dataset_samples(cells: dict | None, config: str | None) -> list:
    """The samples of a dataset (its datasets.csv CELLS, paths relative to the run's CONFIG folder), read
    again for their images and questions; [] when it can no longer be read (moved, changed, or no row)."""
    if not cells or not cells.get("path"):
        return []
    path = Path(cells["path"])
    if not path.is_absolute() and config:
        path = Path(config) / path
    try:
        from vlmhyperbench.datasets import PageOptions, read_dataset

        options = PageOptions.from_cells(cells)
        if cells.get("benchmark") and not cells.get("format"):
            benchmark = BENCHMARKS.get(cells["benchmark"])
            source = resolve_source(cells["path"], Path(config) if config else None, benchmark)
            return list(benchmark.read(source.path, cells.get("split"), options=options))
        fmt = cells.get("format") or "vlmhyperbench"
        return list(read_dataset(fmt, path, split=cells.get("split"), options=options))
    except Exception:  # the dataset moved or changed: no images, the rest of the report stands
        return []


def _thumbnail(sample, perturbation: str) -> str | None:
    from PIL import Image

    try:
        images = getattr(sample, "images", ()) or ()
        if not images:
            return None
        data = images[0].read_bytes()
        if perturbation:
            from vlmhyperbench.datasets.perturbations import perturb

            data = perturb(data, perturbation, f"{sample.id}:0")
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("RGB")
            img.thumbnail((THUMB_PX, THUMB_PX))
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=60, optimize=True)
    except Exception:  # unreadable or missing images: no thumbnail
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def sample_errors(run, pairs: list[dict], top: int = 3) -> list[dict]:
    """The most frequent per-sample error messages of each pair (failed requests of a completed pair)."""
    lf = scan_predictions(run, pairs, ("error",))
    if lf is None:
        return []
    try:
        df = (
            lf.filter(pl.col("error").is_not_null())
            .select("model", "dataset", "perturbation", pl.col("error").cast(pl.String).str.slice(0, 300))
            .group_by("model", "dataset", "perturbation", "error")
            .len()
            .sort(
                ["model", "dataset", "perturbation", "len", "error"],
                descending=[False, False, False, True, False],
            )
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError):
        return []
    df = df.group_by("model", "dataset", "perturbation", maintain_order=True).head(top)
    return [
        {"model": r["model"], "dataset": r["dataset"], "perturbation": r["perturbation"], "error": r["error"],
         "count": r["len"]}
        for r in df.iter_rows(named=True)
    ]  # fmt: skip
