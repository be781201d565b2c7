"""Answers whose whitespace padding changed their `docvqa_anls` (report.html flags them).

The DocVQA/RRC script divides the edit distance of the normalised strings by the length of the RAW ones,
so padding an answer with spaces lowers its normalised distance: `"dog" + 200 spaces` against "invoice
2019" scores 0.95. We keep the official value (metrics/README.md, "Where the peers differ"); each score row
of docvqa_anls carries `value_trimmed`, the value with the normalised strings' lengths, and an answer
whose two values differ is listed here with both.
"""

from __future__ import annotations

import polars as pl

from vlmhyperbench.report import data

METRIC = "docvqa_anls"
LISTED = 20


def padded_answers(run, scores: pl.DataFrame, limit: int = LISTED) -> dict | None:
    """{counts: [{model, dataset, perturbation, answers}], samples: [...]} of the answers whose padding
    changed their docvqa_anls (the largest change first); None when there is none."""
    if not scores.height or "value_trimmed" not in scores.columns:
        return None
    changed = scores.filter(
        (pl.col("metric") == METRIC)
        & pl.col("value_trimmed").is_not_null()
        & ((pl.col("value") - pl.col("value_trimmed")).abs() > 1e-9)
    )
    if not changed.height:
        return None
    keys = ["model", "dataset", "perturbation"]
    changed = changed.with_columns(pl.col("perturbation").fill_null(""))
    counts = changed.group_by(keys, maintain_order=True).len("answers").sort(keys).to_dicts()
    top = changed.with_columns((pl.col("value") - pl.col("value_trimmed")).abs().alias("gap")).sort(
        ["gap", "sample_id"], descending=[True, False]
    )
    items = [
        {k: r[k] for k in (*keys, "sample_id", "value", "value_trimmed")}
        for r in top.head(limit).iter_rows(named=True)
    ]
    data.attach_predictions(run, items)
    for item in items:
        answer = item.get("prediction") or ""
        item["length"] = len(answer)
        item["padding"] = len(answer) - len(" ".join(answer.split()))
    return {"counts": counts, "samples": items, "total": changed.height}


def padding_markdown(found: dict | None) -> str:
    """leaderboard.md's note on them (empty when there is none)."""
    if not found:
        return ""
    lines = [
        "",
        f"## {METRIC}: answers whose whitespace padding changed their score",
        "",
        "The official script divides by the raw strings' length, so padding earns credit; the values stand "
        "as the script gives them (metrics/README.md). Answers affected:",
        "",
    ]
    for c in found["counts"]:
        pert = f" ~{c['perturbation']}" if c["perturbation"] else ""
        lines.append(f"- {c['model']} / {c['dataset']}{pert}: {c['answers']}")
    return "\n".join(lines) + "\n"
