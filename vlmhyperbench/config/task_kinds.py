"""Task kinds: what `task` in datasets.csv means. Each kind has its built-in prompt (Jinja2, as in
prompts.csv), the metrics and aggregators a dataset of the kind gets when its cells are empty, and the
reference fields its samples carry.

    TASKS.get("kie").metrics        -> ("field_f1",)
    default_metrics("ocr")          -> ["cer", "wer"]
    default_aggregators("kie")      -> ["general", "by_doc_class", "by_field"]

A plugin adds a task with an entry point in the group `vlmhyperbench.tasks` that names a TaskKind.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmhb_core.registry import Registry


@dataclass(frozen=True)
class TaskKind:
    """A task as datasets.csv names it."""

    name: str
    prompt: str
    """The built-in prompt, used when the dataset names no prompt collection."""
    metrics: tuple[str, ...]
    """The metrics a dataset of the task gets when its `metrics` cell is empty."""
    description: str = ""
    aggregators: tuple[str, ...] = ("general", "by_doc_class")
    """The aggregators a plan row gets when its `aggregators` cell is empty (and its dataset's benchmark
    names none). A group needs a label: samples without a document class (question type) are in no
    by_doc_class (by_question_type) group, so an aggregator that a dataset has no labels for shows nothing."""
    requires: tuple[tuple[str, ...], ...] = (("answer", "answers"),)
    """The fields every sample of the task must give, each a group of names any of which will do: a
    sample without one is a DatasetError that names its file, line and field."""


TASKS: Registry[TaskKind] = Registry(
    "tasks",
    kind="task",
    expects="point the entry point at a vlmhyperbench.config.TaskKind",
    accept=lambda obj: obj if isinstance(obj, TaskKind) else None,
    describe=lambda kind: (
        (f"{kind.description}; " if kind.description else "") + f"default metrics: {' '.join(kind.metrics)}"
    ),
    sort_names=False,
)

for _kind in (
    TaskKind(
        "ocr",
        "Transcribe all the text in this document image exactly as it is printed, line by line, "
        "in reading order. Output only the text.",
        ("cer", "wer"),
        "full-page transcription",
    ),
    TaskKind(
        "vqa",
        "Answer the question about this document with the exact text from the document, as briefly "
        "as possible. Output only the answer.\nQuestion: {{ question }}",
        ("anls", "exact_match"),
        "document visual question answering",
        aggregators=("general", "by_doc_class", "by_question_type"),
    ),
    TaskKind(
        "classification",
        "What kind of document is this? Answer with exactly one of: "
        "{{ classes | join(', ') }}.{% if question %}\n{{ question }}{% endif %}",
        ("accuracy", "f1_macro"),
        "document class",
        requires=(("label", "answer", "answers"), ("classes",)),
    ),
    TaskKind(
        "kie",
        "Extract the following fields from this document and answer with one JSON object whose keys "
        "are the field names and whose values are the exact text from the document (empty string if "
        "absent): {{ fields | join(', ') }}.{% if question %}\n{{ question }}{% endif %}",
        ("field_f1",),
        "key-information extraction",
        aggregators=("general", "by_doc_class", "by_field"),
        requires=(("fields", "answer", "answers"),),
    ),
    TaskKind(
        "ordering",
        "These are the pages of one document, shuffled. Give the correct reading order as a JSON "
        "list of the image numbers, starting from 1 (for example [2, 1, 3]). Output only the list."
        "{% if question %}\n{{ question }}{% endif %}",
        ("kendall_tau",),
        "page ordering",
        requires=(("order", "answer", "answers"),),
    ),
    TaskKind(
        "parse",
        "Convert this document page to Markdown, in reading order. Write headings with #, tables as HTML "
        "(<table>...</table>) and formulas in LaTeX ($...$ inline, $$...$$ displayed). Skip pictures. "
        "Output only the Markdown.{% if question %}\n{{ question }}{% endif %}",
        ("parse_edit", "teds", "teds_s", "reading_order"),
        "document parsing: page to Markdown with tables",
        # a reference Markdown, or an annotation an official scorer reads (olmOCR-bench's unit tests)
        requires=(("answer", "answers", "annotation"),),
    ),
):
    TASKS.add(_kind.name, _kind)


def default_metrics(task: str) -> list[str]:
    """The metrics a dataset of TASK gets when its `metrics` cell is empty."""
    return list(TASKS.get(task).metrics)


def default_aggregators(task: str) -> list[str]:
    """The aggregators a pair of TASK gets when its plan row names none."""
    return list(TASKS.get(task).aggregators)
