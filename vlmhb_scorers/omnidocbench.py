"""OmniDocBench's end-to-end scorer: the `omnidocbench` package's evaluate_page, page by page.

Each record's annotation is the page's entry of OmniDocBench.json (layout_dets, page_info, extra). It is
turned into the package's ground-truth form ({"blocks": [{"type", "content"}], "relations": [...]}):
elements in their annotated reading order (`order`), `ignore`d ones left out, categories renamed as the
package names them (text_block -> text, equation_isolated -> equation, figure_caption -> image_caption,
code_txt -> code, reference -> ref_text ...; figures and `abandon` have no text and are dropped), a
table's content its `html` (else its `latex`), an equation's its `latex`, any other its `text`; the
`truncated` relations (by anno_id) join split paragraphs, as the package expects.

Rows per page: text, table and formula edit distances and the reading-order edit (lower is better; the
page's edit_len / max_len, absent where the page has no element of the kind), TEDS and TEDS-S pooled
over tables (num / den), CDM over formulas, and the overall figure's parts. CDM renders LaTeX with
xelatex and ImageMagick at fixed paths of the package authors' machines; where those do not exist it is
reported as not scored, and so is the overall figure, which needs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from vlmhb_scorers.protocol import Context, not_scored, score_row

CATEGORY = {
    "text_block": "text",
    "title": "title",
    "code_txt": "code",
    "code_txt_caption": "code_caption",
    "reference": "ref_text",
    "equation_caption": "equation_caption",
    "figure_caption": "image_caption",
    "figure_footnote": "image_footnote",
    "table_caption": "table_caption",
    "table_footnote": "table_footnote",
    "code_algorithm": "code_algorithm",
    "code_algorithm_caption": "code_algorithm_caption",
    "header": "header",
    "footer": "footer",
    "page_footnote": "page_footnote",
    "page_number": "page_number",
    "equation_isolated": "equation",
    "table": "table",
}
# The tools the package's CDM calls (omnidocbench/cdm/latex2bbox_color.py), at these very paths.
CDM_TOOLS = (
    "/share/sunyuefeng/packages/2023/bin/x86_64-linux/xelatex",
    "/share/jinzhenjiang/ImageMagick-7.1.2-bin/bin/magick",
)
PREFIX = "omnidocbench_"


def to_ground_truth(page: dict[str, Any]) -> dict[str, Any]:
    """An OmniDocBench.json page in the omnidocbench package's ground-truth form (see the docstring)."""
    dets = [
        d
        for d in page.get("layout_dets", [])
        if isinstance(d, dict) and d.get("category_type") in CATEGORY and not d.get("ignore")
    ]
    position = {id(d): i for i, d in enumerate(dets)}
    dets.sort(key=lambda d: (d.get("order") is None, d.get("order") or 0, position[id(d)]))
    blocks, index = [], {}
    for i, d in enumerate(dets):
        kind = CATEGORY[d["category_type"]]
        if kind == "table":
            content = d.get("html") or d.get("latex") or ""
        elif kind == "equation":
            content = d.get("latex") or d.get("text") or ""
        else:
            content = d.get("text") or ""
        blocks.append({"type": kind, "content": content})
        if d.get("anno_id") is not None:
            index[d["anno_id"]] = i
    relations = []
    for rel in (page.get("extra") or {}).get("relation", []) or []:
        kind = rel.get("relation") or rel.get("relation_type")
        src, dst = index.get(rel.get("source_anno_id")), index.get(rel.get("target_anno_id"))
        if kind == "truncated" and src is not None and dst is not None:
            relations.append({"relation": "truncated", "from": src, "to": dst})
    return {"blocks": blocks, "relations": relations}


def cdm_available() -> tuple[bool, str]:
    missing = [tool for tool in CDM_TOOLS if not os.access(tool, os.X_OK)]
    if not missing:
        return True, ""
    return False, (
        "CDM renders formulas with xelatex and ImageMagick, which the omnidocbench package calls at fixed "
        f"paths of its authors' machines ({', '.join(missing)}); they are not in this environment"
    )


def _ratio(part: dict[str, Any], key: str = "edit_ratio") -> float | None:
    value = part.get(key)
    return None if value is None else float(value)


def score(records: list[dict[str, Any]], ctx: Context) -> Iterator[dict[str, Any]]:
    from omnidocbench import evaluate_page

    with_cdm, why = cdm_available()
    if not with_cdm:
        for metric in ("formula_cdm", "overall"):
            if ctx.wants(PREFIX + metric):
                reason = why if metric == "formula_cdm" else f"it needs formula_cdm: {why}"
                yield not_scored(PREFIX + metric, reason)
    for n, record in enumerate(records):
        sid = record["sample_id"]
        truth = to_ground_truth(record.get("annotation") or {})
        try:
            result = evaluate_page(
                record.get("prediction") or "",
                truth,
                cdm_dir=str(ctx.workdir / "cdm" / str(n)),
                disable_cdm=not with_cdm,
            )
        except (Exception, SystemExit) as exc:  # evaluate_page calls sys.exit() when matching fails
            for metric in ctx.metrics:
                yield not_scored(
                    metric, f"the omnidocbench package failed on it: {type(exc).__name__}: {exc}", sid
                )
            continue
        yield from _rows(sid, result, ctx, with_cdm)


def _rows(sid: str, result: dict[str, Any], ctx: Context, with_cdm: bool) -> Iterator[dict[str, Any]]:
    text, table = result["text"], result["table"]
    formula, order = result["equation"], result["reading_order"]
    for metric, part in (
        ("text_edit", text),
        ("table_edit", table),
        ("formula_edit", formula),
        ("reading_order_edit", order),
    ):
        value = _ratio(part)
        if value is not None and ctx.wants(PREFIX + metric):
            yield score_row(
                sid, PREFIX + metric, value, num=float(part["edit_len"]), den=float(part["max_len"])
            )
    n_tables = len(table.get("sections", []))
    for metric, key in (("table_teds", "teds"), ("table_teds_s", "s_teds")):
        if n_tables and table.get(key) is not None and ctx.wants(PREFIX + metric):
            value = float(table[key])
            yield score_row(sid, PREFIX + metric, value, num=value * n_tables, den=float(n_tables))
    n_formulas = len(formula.get("sections", []))
    cdm = formula.get("cdm")
    if with_cdm and n_formulas and cdm is not None and ctx.wants(PREFIX + "formula_cdm"):
        yield score_row(
            sid, PREFIX + "formula_cdm", float(cdm), num=float(cdm) * n_formulas, den=float(n_formulas)
        )
    if with_cdm and ctx.wants(PREFIX + "overall"):
        text_edit = _ratio(text)
        parts = [
            text_edit or 0.0,
            1.0 if text_edit is not None else 0.0,
            float(table.get("teds") or 0.0) * n_tables,
            float(n_tables),
            float(cdm or 0.0) * n_formulas,
            float(n_formulas),
        ]
        yield score_row(sid, PREFIX + "overall", overall(parts), parts=parts)


def overall(sums: list[float]) -> float:
    """OmniDocBench's overall, ((1 - text edit) + TEDS + CDM) / 3, as a fraction, from summed parts."""
    text = 1.0 - (sums[0] / sums[1] if sums[1] else 0.0)
    teds = sums[2] / sums[3] if sums[3] else 0.0
    cdm = sums[4] / sums[5] if sums[5] else 0.0
    return (text + teds + cdm) / 3
