"""Prompts: prompts.csv collections looked up by doc_class/question_type, else the task's built-in prompt.

Templates are Jinja2, rendered in a sandbox over the sample's fields: question, doc_class,
question_type, classes, fields. Lookup order in a collection: (doc_class, question_type), then
(doc_class, any), then (any, question_type), then (any, any); an empty cell means any. A rendered prompt
is stripped of leading and trailing whitespace, except that the template `{{ question }}` alone sends the
question exactly as the dataset writes it (CharXiv's official questions end in a newline and spaces).
"""

from __future__ import annotations

import re
from functools import lru_cache

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from vlmhyperbench.config.rows import PromptRow
from vlmhyperbench.config.task_kinds import TASKS


@lru_cache(maxsize=1)
def _jinja() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


_QUESTION_ALONE = re.compile(r"\{\{\s*question\s*\}\}")


@lru_cache(maxsize=512)
def _compile(template: str):
    return _jinja().from_string(template)


def pick_template(
    task: str, rows: list[PromptRow] | None, doc_class: str, question_type: str, default: str | None = None
) -> str:
    """The template for one sample: the collection's best match, else DEFAULT (a benchmark's standard
    prompt), else the task's built-in prompt."""
    if rows:
        for want_class, want_type in (
            (doc_class, question_type),
            (doc_class, None),
            (None, question_type),
            (None, None),
        ):
            for row in rows:
                if row.doc_class == want_class and row.question_type == want_type:
                    return row.template
    if default is not None:
        return default
    return TASKS.get(task).prompt  # a plugin task's: PluginError, naming its package, if it cannot be used


def render_prompt(
    template: str,
    *,
    question: str = "",
    doc_class: str = "",
    question_type: str = "",
    classes: tuple[str, ...] | list[str] = (),
    fields: dict | list | None = None,
    **extra,
) -> str:
    """TEMPLATE rendered over a sample's fields; EXTRA adds what a judge prompt sees (answer, references,
    prompt: config.rows.JUDGE_TEMPLATE_FIELDS)."""
    if _QUESTION_ALONE.fullmatch(template):
        return question
    field_names = list(fields) if fields else []
    return (
        _compile(template)
        .render(
            question=question,
            doc_class=doc_class,
            question_type=question_type,
            classes=list(classes),
            fields=field_names,
            **extra,
        )
        .strip()
    )
