"""CharXiv in its published Hugging Face layout (princeton-nlp/CharXiv): `val.parquet` (split validation,
1000 charts) and `test.parquet` (1323 charts, answers withheld); the hub's parquet conversion
(`default/validation/0000.parquet`) reads too. One row per chart:

    image, category, year, original_figure_path, original_id, figure_path, num_subplots, subplot_row,
    subplot_col, subplot_loc, descriptive_q1..4 (template ids 1..19), descriptive_a1..4, reasoning_q,
    reasoning_q_source (1..3), reasoning_a, reasoning_a_type (1..4)

Each chart gives five samples, in this order: its four descriptive questions (`ID_0`..`ID_3`, ID the figure's
number from figure_path, as the official response keys) and its reasoning question (`ID`). The question
sent is the official one, built as src/generate.py builds it from src/constants.py's templates (word for
word in _charxiv_texts): a descriptive template with the subplot named ("For the current plot, ",
"For the subplot at row R and column C, ", or "For <subplot_loc>, "; none for templates 18 and 19); the
reasoning question with its answer type's instructions (number-in-general: the answer's decimal places,
from the gold answer as get_number_instruction counts them; in the test split, whose answers are withheld,
that line is left empty: the official code cannot build it either). The official order, text then chart,
is kept.

doc_class = `descriptive` or `reasoning`; question_type = the official category (descriptive: Information
Extraction, Enumeration, Pattern Recognition, Counting, Compositionality; reasoning: Text-in-Chart,
Text-in-General, Number-in-Chart, Number-in-General); annotation = what grading and the official
breakdowns need (mode, template or answer type, the raw question, subject, year, subplots, source, order).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmhb_core.errors import DatasetError
from vlmhyperbench.benchmarks._charxiv_texts import DESCRIPTIVE_RESP_INST, REASONING_RESP_INST
from vlmhyperbench.benchmarks._layout import Layout, read_rows
from vlmhyperbench.datasets import Sample
from vlmhyperbench.datasets._common import UniqueIds, as_text

SPLIT_FILES = {"validation": "val"}
"""The split's file name on the hub when it is not the split's name."""
COLUMNS = (
    "category",
    "year",
    "figure_path",
    "num_subplots",
    "subplot_row",
    "subplot_col",
    "subplot_loc",
    *(f"descriptive_q{i}" for i in range(1, 5)),
    *(f"descriptive_a{i}" for i in range(1, 5)),
    "reasoning_q",
    "reasoning_q_source",
    "reasoning_a",
    "reasoning_a_type",
)
LAYOUT = Layout(config=None, columns=tuple((c,) for c in COLUMNS), required=("figure_path", "reasoning_q"))

# How get_stats.py names its groups: the tables of CharXiv's src/score_utils.py (commit 7ebe88f, Apache-2.0)
DOMAIN2ABBR = {
    "cs": "Computer Science",
    "econ": "Economics",
    "eess": "Electrical Engineering and Systems Science",
    "math": "Mathematics",
    "physics": "Physics",
    "q-bio": "Quantitative Biology",
    "q-fin": "Quantitative Finance",
    "stat": "Statistics",
}
NUM2YEAR = {"20": "2020", "21": "2021", "22": "2022", "23": "2023"}
IDX2ANSTYPE = {1: "Text-in-Chart", 2: "Text-in-General", 3: "Number-in-Chart", 4: "Number-in-General"}
IDX2SRC = {1: "GPT-Sourced", 2: "GPT-Inspired", 3: "Completely Human"}
QTYPES = {
    "Information Extraction": (1, 2, 3, 4, 5, 6, 7),
    "Enumeration": (8, 9, 13, 14, 15),
    "Pattern Recognition": (11, 16, 18),
    "Counting": (10, 12, 19),
    "Compositionality": (17,),
}


def question_category(qid: int) -> str:
    """QNUM2QTYPE: the descriptive category of template QID."""
    for name, qids in QTYPES.items():
        if qid in qids:
            return name
    raise ValueError(f"Invalid qnum: {qid}")


def subplot_group(n: int) -> str:
    """NUMSUBPLOTS2SUBPLOTTYPE."""
    if n == 1:
        return "1 Subplot"
    if 2 <= n <= 4:
        return "2-4 Subplots"
    if n >= 5:
        return "5+ Subplots"
    raise ValueError(f"Invalid num_subplots: {n}")


def number_instruction(answer: str) -> str:
    """get_number_instruction: an exact integer, or as many decimal places as the gold answer has."""
    base = answer.split(".")
    decimal = None if len(base) == 1 else base[1]
    if decimal is None:
        return "* Your final answer must be an exact integer."
    return f"* Your final answer must be a number with {len(decimal)} decimal places."


def descriptive_question(qid: int, row: int | None, col: int | None, loc: str | None) -> str:
    """descriptive_query_helper over the hub's columns (the official JSON's subplot_loc is [row, col] or a
    text; the hub splits it into subplot_row, subplot_col and subplot_loc)."""
    template = DESCRIPTIVE_RESP_INST[qid]
    if qid in (18, 19):
        return template
    if loc:
        prefix = f"For {loc}, "
    elif row == 0:
        prefix = "For the current plot, "
    elif row is not None:
        prefix = f"For the subplot at row {row} and column {col}, "
    else:
        raise ValueError(f"Invalid subplot_loc: {loc}")
    return template.format(prefix)


def reasoning_question(query: str, answer_type: int, answer: str | None) -> str:
    """build_reasoning_queries' question: the query with its answer type's instructions."""
    template = REASONING_RESP_INST[answer_type]
    if answer_type == 4:
        return template.format(query, number_instruction(answer) if answer is not None else "")
    return template.format(query)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _split_file(path: Path, split: str) -> str:
    if path.is_file():
        return split
    names = {p.stem for p in path.rglob("*.parquet") if ".cache" not in p.relative_to(path).parts}
    return SPLIT_FILES.get(split, split) if SPLIT_FILES.get(split) in names else split


def read_charxiv(path: Path, split: str | None = None) -> list[Sample]:
    """CharXiv's questions, five per chart (see the module docstring); images stay in their shard."""
    split = split or "validation"
    samples: list[Sample] = []
    ids = UniqueIds()
    for n, (file, row, obj, image) in enumerate(read_rows(path, LAYOUT, _split_file(path, split))):
        where = f"{file}: row {row}"
        figure = Path(as_text(obj.get("figure_path"))).stem
        if not figure:
            raise DatasetError(f"{where}: field 'figure_path': missing (images/<id>.jpg)")
        common = {
            "subject": DOMAIN2ABBR.get(as_text(obj.get("category")), as_text(obj.get("category"))),
            "year": NUM2YEAR.get(as_text(obj.get("year")), as_text(obj.get("year"))),
            "subplot": subplot_group(int(obj["num_subplots"])) if obj.get("num_subplots") is not None else "",
            "figure_id": figure,
        }
        base = {
            "images": (image,),
            "split": split,
            "where": where,
            "keys": ("question", "answer", "annotation"),
        }
        for i in range(1, 5):
            qid, answer = _int(obj.get(f"descriptive_q{i}")), obj.get(f"descriptive_a{i}")
            if qid is None:
                continue
            sid = f"{figure}_{i - 1}"
            ids.add(sid, where)
            fields = {**base, "id": sid, "doc_class": "descriptive"}
            annotation = {
                **common,
                "mode": "descriptive",
                "qid": qid,
                "question": f"Q{qid}",
                "order": n * 5 + i,
            }
            try:
                question = descriptive_question(
                    qid, _int(obj.get("subplot_row")), _int(obj.get("subplot_col")), obj.get("subplot_loc")
                )
                category = question_category(qid)
            except (KeyError, ValueError) as e:
                samples.append(
                    Sample(error=f"{where}: descriptive_q{i}: {e}", annotation=annotation, **fields)
                )
                continue
            samples.append(
                Sample(
                    question=question,
                    references=(as_text(answer),) if answer is not None else (),
                    question_type=category,
                    annotation=annotation,
                    **fields,
                )
            )
        answer_type, answer = _int(obj.get("reasoning_a_type")), obj.get("reasoning_a")
        sid = figure
        ids.add(sid, where)
        query = as_text(obj.get("reasoning_q"))
        annotation = {
            **common,
            "mode": "reasoning",
            "inst_category": answer_type,
            "query": query,
            "source": IDX2SRC.get(
                _int(obj.get("reasoning_q_source")) or 0, as_text(obj.get("reasoning_q_source"))
            ),
            "order": n * 5 + 5,
        }
        fields = {**base, "id": sid, "doc_class": "reasoning", "annotation": annotation}
        if answer_type not in IDX2ANSTYPE:
            samples.append(Sample(error=f"{where}: reasoning_a_type {answer_type!r} is not 1..4", **fields))
            continue
        samples.append(
            Sample(
                question=reasoning_question(
                    query, answer_type, as_text(answer) if answer is not None else None
                ),
                references=(as_text(answer),) if answer is not None else (),
                question_type=IDX2ANSTYPE[answer_type],
                **fields,
            )
        )
    return samples
