"""report.html: one self-contained page per run (no external script, style, font or image: it opens offline
and can be mailed). Every text from the run (model output, errors, names) goes through Jinja's autoescape;
the only markup inserted as is are the SVG plots, which matplotlib writes with their text escaped. A
Content-Security-Policy without any script source keeps even a missed escape inert.

Sections: summary, leaderboard (quality and speed side by side), quality vs latency and vs cost per 1,000
pages with their Pareto fronts, load curves (throughput and latency against concurrency, saturation),
regressions against the previous run, breakdowns by doc_class and question_type, TTFT and latency
distributions, perturbation drops, worst samples (links into the sample explorer, samples.html), judges
(how many samples they saw, agreement, disagreements with images, their cost and speed), failures.
"""

from __future__ import annotations

import functools
import math
import threading
from pathlib import Path

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape

from vlmhyperbench.report import data, plots
from vlmhyperbench.report.claims import Entry, standout
from vlmhyperbench.report.judges import judge_section
from vlmhyperbench.report.numbers import figure, label
from vlmhyperbench.results.records import Manifest

PERF = [
    (column, label(column), lower)
    for column, lower in (
        ("ttft_p50_s", True),
        ("latency_p50_s", True),
        ("latency_p90_s", True),
        ("requests_per_s", False),
        ("output_tokens_per_s", False),
        ("pages_per_s", False),
        ("usd_per_1k_pages", True),
        ("peak_rss_mb", True),
    )
]
COST_LABEL = "US dollars per 1,000 pages (lower is better)"
PLOT_MODELS = 10
"""At most this many models are drawn in a bar or distribution plot (the best on the dataset's main metric);
the tables beside them list every model, so a run of hundreds of models keeps plots legible and cheap."""
PLOT_DROPS = 20
BREAKDOWNS = (
    ("by_doc_class", "document class"),
    ("by_question_type", "question type"),
    ("by_field", "field"),
    ("by_subset", "subset"),
)
"""The report's breakdowns of each dataset's primary metric, for the aggregators its pairs have groups of."""


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def _pair_label(model: str, perturbation: str) -> str:
    return model + (f" ~{perturbation}" if perturbation else "")


def _best(entries: list[tuple[int, float, float | None, float | None]], higher: bool) -> set[int]:
    """The row (index) that stands out: its interval separates from every other's (report.claims); none
    when they overlap, when there is no interval, or when there is nothing to compare with."""
    standing = standout([Entry(str(i), v, lo, hi) for i, v, lo, hi in entries], higher_is_better=higher)
    return {int(standing.leader.name)} if standing.leader is not None else set()


INTERVALS = {"latency_p50_s": ("latency_p50_ci_low_s", "latency_p50_ci_high_s")}
"""The speed columns with a 95 % interval: only these can name a best value."""


def render_report(
    run,
    manifest: Manifest,
    rows: list[dict],
    summary: pl.DataFrame,
    performance: pl.DataFrame,
    *,
    scores: pl.DataFrame | None = None,
    comparison=None,
    thumbnails: bool = True,
    judges=None,
    curves: list[dict] | None = None,
    explorer: bool = False,
    padded: dict | None = None,
) -> str:
    """The page's HTML. SCORES default to the run's scores.parquet; COMPARISON (history.Comparison, what was
    compared with earlier runs: None, not compared) and CURVES (load curves, leaderboard.load_curves) to
    none; JUDGES: the run's judge tables (report.judges.JudgeTables), for its Judges section; PADDED: the
    answers whose whitespace padding changed their docvqa_anls (report.padding)."""
    if scores is None:
        path = Path(run.root) / "scores.parquet"
        scores = pl.read_parquet(path) if path.is_file() else pl.DataFrame()
    regressions = list(comparison.regressions) if comparison is not None else []
    load_curves = list(curves or [])  # `curves` is the latency distributions' name below
    datasets_cfg = data.dataset_rows(run)
    primary = data.primary_metrics(summary, datasets_cfg)
    completed = [r for r in rows if r["status"] == "completed"]
    colors = plots.model_colors([r["model"] for r in rows])
    counter = iter(range(1, 10_000))

    def salt(kind: str) -> str:
        return f"{kind}-{next(counter)}"

    previous = _previous(run, manifest)
    regressed = {(g.model, g.dataset, g.perturbation, g.metric) for g in regressions}

    # ---- leaderboard tables and quality-vs-latency points
    boards = []
    shown: dict[str, list[str]] = {}  # dataset -> the models its plots draw
    by_key: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_key.setdefault((r["dataset"], r["perturbation"]), []).append(r)
    for (dataset, pert), group in by_key.items():
        metrics = list(dict.fromkeys(m for r in group for m in r["metrics"]))
        main = primary.get(dataset, (None, True))[0]
        if main in metrics:
            metrics.remove(main)
            metrics.insert(0, main)
        best_metric = {}
        for m in metrics:
            vals = [
                (i, r["metrics"][m]["value"], r["metrics"][m].get("ci_low"), r["metrics"][m].get("ci_high"))
                for i, r in enumerate(group)
                if m in r["metrics"] and r["metrics"][m]["value"] is not None
            ]
            hib = next((r["metrics"][m]["higher_is_better"] for r in group if m in r["metrics"]), True)
            best_metric[m] = _best(vals, bool(hib))
        best_perf = {}
        for col, _, lower in PERF:
            low, high = INTERVALS.get(col, (None, None))
            vals = [
                (
                    i,
                    r["perf"][col],
                    r["perf"].get(low) if low else None,
                    r["perf"].get(high) if high else None,
                )
                for i, r in enumerate(group)
                if r["status"] == "completed" and isinstance(r["perf"].get(col), (int, float))
            ]
            best_perf[col] = _best(vals, not lower)
        points, front = _points(group, main, primary.get(dataset, (None, True))[1])
        if not pert:
            shown[dataset] = _ranked(points, primary.get(dataset, (None, True))[1])[:PLOT_MODELS]
        for p in points:
            p["named"] = p["front"] or p["model"] in shown.get(dataset, ())
        table = []
        for i, r in enumerate(group):
            cells = []
            for m in metrics:
                rec = r["metrics"].get(m)
                prev = previous.get((r["model"], dataset, pert, m))
                delta = None
                if rec is not None and prev is not None and None not in (rec["value"], prev["value"]):
                    delta = rec["value"] - prev["value"]
                not_scored = rec is not None and rec["value"] is None and rec.get("note")
                cells.append(
                    {
                        "value": "not scored" if not_scored else _fmt(rec["value"]) if rec else "–",
                        "arrow": ("↑" if rec["higher_is_better"] else "↓") if rec else "",
                        "ci": f"[{_fmt(rec['ci_low'])}, {_fmt(rec['ci_high'])}]"
                        if rec and rec.get("ci_low") is not None
                        else "",
                        "best": i in best_metric[m],
                        "delta": delta,
                        "better": None
                        if delta is None or delta == 0
                        else (delta > 0) == bool(rec["higher_is_better"]),
                        "regressed": (r["model"], dataset, pert, m) in regressed,
                        "prev_run": prev["run_id"] if prev else None,
                    }
                )
            perf = [{"text": figure(c, r["perf"].get(c)), "best": i in best_perf[c]} for c, _, _ in PERF]
            errors = r["perf"].get("errors")
            requests = r["perf"].get("requests")
            table.append(
                {
                    "model": r["model"],
                    "status": r["status"],
                    "error": r["error"],
                    "official": (r.get("official") or {}).get("text"),
                    "subsplits": (r.get("official") or {}).get("subsplits") or [],
                    "cells": cells,
                    "perf": perf,
                    "pareto": r["model"] in front,
                    "errors": f"{_fmt(errors, 0)} / {_fmt(requests, 0)}" if requests is not None else "–",
                }
            )
        plot = cost_plot = None
        if len(points) >= 1 and main:
            plot = plots.quality_latency(points, main, primary[dataset][1], colors, salt("quality-latency"))
        cost_points, cost_front = _points(
            group, main, primary.get(dataset, (None, True))[1], "usd_per_1k_pages"
        )
        for p in cost_points:
            p["named"] = p["front"] or p["model"] in shown.get(dataset, ())
        if cost_points and main:
            cost_plot = plots.quality_latency(
                cost_points, main, primary[dataset][1], colors, salt("quality-cost"), xlabel=COST_LABEL
            )
        boards.append(
            {
                "dataset": dataset,
                "perturbation": pert,
                "metrics": metrics,
                "rows": table,
                "official": next((r["official"] for r in group if r.get("official")), None),
                "main": main,
                "plot": plot,
                "front": sorted(front),
                "plot_note": _plot_note(len(points), "labelled"),
                "cost_plot": cost_plot,
                "cost_front": sorted(cost_front),
                "cost_note": _plot_note(len(cost_points), "labelled"),
            }
        )

    # ---- breakdowns by doc_class, question_type and KIE field (primary metric), where the summary has them
    breakdowns = []
    for aggregator, title in BREAKDOWNS:
        if not summary.height:
            break
        part = summary.filter(pl.col("aggregator") == aggregator)
        for dataset, (metric, hib) in primary.items():
            sel = part.filter((pl.col("dataset") == dataset) & (pl.col("metric") == metric))
            if "perturbation" in sel.columns:
                sel = sel.filter(pl.col("perturbation").fill_null("") == "")
            if not sel.height:
                continue
            groups = (
                sel.group_by("group")
                .agg(pl.col("n").max())
                .sort(["n", "group"], descending=[True, False])
                .head(25)["group"]
                .sort()
                .to_list()
            )
            every = sorted(sel["model"].unique().to_list())
            models = [m for m in shown.get(dataset, every) if m in every] or every[:PLOT_MODELS]
            series = {}
            for m in models:
                recs = {r["group"]: r for r in sel.filter(pl.col("model") == m).iter_rows(named=True)}
                series[m] = [
                    (recs[g]["value"], recs[g]["ci_low"], recs[g]["ci_high"])
                    if g in recs
                    else (None, None, None)
                    for g in groups
                ]
            breakdowns.append(
                {
                    "title": title,
                    "dataset": dataset,
                    "metric": metric,
                    "hib": hib,
                    "groups": groups,
                    "table": _pivot(sel, groups),
                    "plot_note": _plot_note(len(every), "drawn"),
                    "plot": plots.grouped_bars(
                        [g or "(none)" for g in groups], series, metric, colors, salt(aggregator)
                    ),
                }
            )

    # ---- latency distributions, per dataset
    quantiles = data.latency_quantiles(run, [r for r in completed])
    dists = []
    for dataset in dict.fromkeys(r["dataset"] for r in completed):
        curves = {}
        drawn = set(
            shown.get(dataset) or [r["model"] for r in completed if r["dataset"] == dataset][:PLOT_MODELS]
        )
        for (model, ds, pert), q in quantiles.items():
            if ds == dataset and model in drawn and any(q.get(c) for c in ("ttft_s", "latency_s")):
                curves[_pair_label(model, pert)] = {**q, "model": model, "perturbed": bool(pert)}
        if curves:
            n_models = len({m for m, ds, _ in quantiles if ds == dataset})
            dists.append(
                {
                    "dataset": dataset,
                    "plot": plots.distributions(curves, colors, salt("latency")),
                    "plot_note": _plot_note(n_models, "drawn"),
                }
            )

    # ---- load curves: throughput and latency against concurrency, per dataset (clean images)
    load = []
    for dataset in dict.fromkeys(c["dataset"] for c in load_curves):
        group = [c for c in load_curves if c["dataset"] == dataset and not c["perturbation"]]
        if not group:
            continue
        wanted = shown.get(dataset) or [c["model"] for c in group]
        drawn = [c for c in group if c["model"] in wanted][:PLOT_MODELS] or group[:PLOT_MODELS]
        load.append(
            {
                "dataset": dataset,
                "plot": plots.load_curves(drawn, colors, salt("load-curve")),
                "plot_note": _plot_note(len(group), "drawn"),
            }
        )

    # ---- perturbation drops
    drops = data.perturbation_drops(scores, primary) if scores.height else []
    drop_plot = None
    if drops:
        drop_plot = plots.drop_bars(
            [
                {**d, "label": f"{d['model']} · {d['dataset']} ~{d['perturbation']}"}
                for d in sorted(drops, key=lambda d: -(d["drop"] or 0))[:PLOT_DROPS]
            ],
            colors,
            salt("perturbation"),
        )

    # ---- worst samples, failures
    worst = data.worst_samples(run, scores, primary) if scores.height else []
    worst_notes = data.uniform_groups(scores, primary) if scores.height else []
    judge_view = judge_section(run, manifest, judges) if judges is not None else None
    pictured = judge_view["disagreements"] if judge_view else []
    if thumbnails and pictured:
        data.attach_thumbnails(pictured, manifest, datasets_cfg)
    worst_groups: dict[tuple[str, str], list[dict]] = {}
    for w in worst:
        worst_groups.setdefault((w["dataset"], w["perturbation"]), []).append(w)
    failed = [r for r in rows if r["status"] != "completed"]
    sample_errors = data.sample_errors(run, completed)

    # ---- the headline
    headline = []
    for b in boards:
        if b["perturbation"] or not b["main"]:
            continue
        done = [
            r for r in by_key[(b["dataset"], "")] if r["status"] == "completed" and b["main"] in r["metrics"]
        ]
        if not done:
            continue
        hib = bool(done[0]["metrics"][b["main"]]["higher_is_better"])
        quality = standout(
            [
                Entry(r["model"], *(r["metrics"][b["main"]].get(k) for k in ("value", "ci_low", "ci_high")))
                for r in done
            ],
            higher_is_better=hib,
        )
        timed = [r for r in done if r["perf"].get("latency_p50_s") is not None]
        speed = standout(
            [
                Entry(r["model"], *(r["perf"].get(k) for k in ("latency_p50_s", *INTERVALS["latency_p50_s"])))
                for r in timed
            ],
            higher_is_better=False,
        )
        headline.append(
            {
                "dataset": b["dataset"],
                "metric": b["main"],
                "quality": quality.text("best") or _alone(done, b["main"]),
                "speed": speed.text("fastest", " s p50"),
                "front": b["front"],
            }
        )

    template = _templates().get_template("report.html.j2")
    return template.render(
        run_id=run.run_id,
        manifest=manifest,
        status=manifest.status,
        started=manifest.started_at,
        finished=manifest.finished_at,
        commit=(manifest.git_commit or "")[:12],
        boards=boards,
        perf_labels=[label for _, label, _ in PERF],
        headline=headline,
        regressions=regressions,
        comparison=_comparison_view(comparison),
        breakdowns=breakdowns,
        dists=dists,
        drops=drops,
        drop_plot=drop_plot,
        load=load,
        curves=load_curves,
        cost_boards=[b for b in boards if b["cost_plot"]],
        worst_groups=list(worst_groups.items()),
        failed=failed,
        sample_errors=sample_errors,
        n_pairs=len(rows),
        n_completed=len(completed),
        environments={name: e.model_dump() for name, e in manifest.environments.items()},
        versions=manifest.versions,
        parameters=manifest.parameters,
        config=manifest.config,
        fmt=_fmt,
        figure=figure,
        colors=colors,
        judges=judge_view,
        explorer=explorer,
        worst_notes=worst_notes,
        sample_link=_sample_link,
        padded=padded,
    )


def _sample_link(
    dataset: str, sample_id: str | None = None, model: str | None = None, perturbation: str = ""
) -> str:
    """The address of the sample explorer at one sample (or a dataset's list), with MODEL's answer shown."""
    from urllib.parse import urlencode

    params = {"dataset": dataset}
    if sample_id is not None:
        params["sample"] = sample_id
    if model is not None:
        params["models"] = _pair_label(model, perturbation)
    return "samples.html#" + urlencode(params)


def _alone(done: list[dict], metric: str) -> str:
    """The headline of a dataset with one model: its value, no claim."""
    if len(done) != 1:
        return ""
    return f"{done[0]['model']} ({_fmt(done[0]['metrics'][metric]['value'])})"


def _comparison_view(comparison) -> dict | None:
    """The report's card and section on the comparison with earlier runs (None: no comparison was made)."""
    if comparison is None:
        return None
    found = len(comparison.regressions)
    if not comparison.anything_compared:
        title, verdict, kind = "against earlier runs", "nothing compared", ""
    else:
        title = f"against {comparison.runs_text()}"
        verdict = f"{found} regression{'s' if found != 1 else ''}" if found else "no regression"
        kind = "alert" if found else "fine"
    fresh = comparison.not_compared_pairs()
    note = (
        f"no earlier run of {len(fresh)} of {len(set(k[:3] for k in comparison.keys))} pairs"
        if fresh and comparison.anything_compared
        else ("no earlier run of these models and datasets" if fresh else "")
    )
    return {
        "title": title,
        "verdict": verdict,
        "kind": kind,
        "note": note,
        "headline": comparison.headline(),
        "not_compared": comparison.not_compared_lines(limit=50),
    }


def _points(
    group: list[dict], metric: str | None, hib: bool, cost: str = "latency_p50_s"
) -> tuple[list[dict], set[str]]:
    """Each completed model's (COST, quality) point, and the models on their Pareto front."""
    pts = []
    for r in group:
        rec = r["metrics"].get(metric) if metric else None
        x = r["perf"].get(cost)
        if r["status"] != "completed" or rec is None or rec["value"] is None or x is None:
            continue
        x_low, x_high = INTERVALS.get(cost, (None, None))
        pts.append(
            {
                "label": r["model"],
                "model": r["model"],
                "x": float(x),
                "y": float(rec["value"]),
                "low": rec.get("ci_low"),
                "high": rec.get("ci_high"),
                "x_low": r["perf"].get(x_low) if x_low else None,
                "x_high": r["perf"].get(x_high) if x_high else None,
            }
        )
    idx = plots.pareto_front([(p["x"], p["y"]) for p in pts], hib)
    for i, p in enumerate(pts):
        p["front"] = i in idx
    return pts, {pts[i]["model"] for i in idx}


def _ranked(points: list[dict], higher_is_better: bool) -> list[str]:
    """The models of POINTS, best first on their quality (ties by name)."""
    sign = -1 if higher_is_better else 1
    return [p["model"] for p in sorted(points, key=lambda p: (sign * p["y"], p["model"]))]


def _plot_note(n_models: int, verb: str) -> str:
    """The caption of a plot that shows only the best PLOT_MODELS of N_MODELS models."""
    if n_models <= PLOT_MODELS:
        return ""
    return f"The {PLOT_MODELS} best of {n_models} models on the main metric are {verb}; the table lists all."


def _pivot(sel: pl.DataFrame, groups: list) -> list[dict]:
    """One row per model, one cell per group: {model, cells: [{value, ci, n} | None]} (a breakdown table
    stays one screen wide and one row per model, however many models the run has)."""
    rows: dict[str, dict] = {}
    for r in sel.sort(["model", "group"]).iter_rows(named=True):
        rows.setdefault(r["model"], {})[r["group"]] = r
    return [
        {
            "model": model,
            "cells": [
                {
                    "value": _fmt(by_group[g]["value"]),
                    "ci": f"95 % CI [{_fmt(by_group[g]['ci_low'])}, {_fmt(by_group[g]['ci_high'])}]",
                    "n": by_group[g]["n"],
                }
                if g in by_group
                else None
                for g in groups
            ],
        }
        for model, by_group in rows.items()
    ]


def _previous(run, manifest: Manifest) -> dict[tuple[str, str, str, str], dict]:
    """The previous run's general values of every key (for the leaderboard's change column)."""
    try:
        from vlmhyperbench.history.regressions import previous_values

        prev = previous_values(Path(run.root).parent, run.run_id, manifest.started_at)
    except Exception:  # an unreadable older run must not cost this run its report
        return {}
    return {(r["model"], r["dataset"], r["perturbation"], r["metric"]): r for r in prev.iter_rows(named=True)}


def render_fallback(run, manifest: Manifest, leaderboard_md: str, error: BaseException) -> str:
    """A plain page (the leaderboard as text and the error) for when the full report cannot be drawn."""
    return (
        _templates()
        .get_template("fallback.html.j2")
        .render(
            run_id=run.run_id,
            status=manifest.status,
            text=leaderboard_md,
            error=f"{type(error).__name__}: {error}",
        )
    )


def warm_up() -> None:
    """Starts loading what the report needs in a thread (matplotlib, the compiled template: about a second),
    so that a command that writes its report after a long stage (the models, a rescore's scoring) does not
    also wait for imports then."""
    threading.Thread(target=_load, name="report-warm-up", daemon=True).start()


def _load() -> None:
    plots._pyplot()
    _templates().get_template("report.html.j2")


@functools.cache
def _templates() -> Environment:
    """The package's templates (templates/*.html.j2), every value autoescaped; compiled once per process."""
    return Environment(
        loader=PackageLoader("vlmhyperbench.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
