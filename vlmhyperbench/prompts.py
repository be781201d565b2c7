"""Prompts: each task's built-in prompt, and prompts.csv collections looked up by doc_class/question_type.

Templates are Jinja2, rendered in a sandbox over the sample's fields: question, doc_class,
question_type, classes, fields. Lookup order in a collection: (doc_class, question_type), then
(doc_class, any), then (any, question_type), then (any, any); an empty cell means any.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from .catalog import PromptRow

BUILTIN_PROMPTS: dict[str, str] = {
    "ocr": "Transcribe all the text in this document image exactly as it is printed, line by line, "
    "in reading order. Output only the text.",
    "vqa": "Answer the question about this document with the exact text from the document, as briefly "
    "as possible. Output only the answer.\nQuestion: {{ question }}",
    "classification": "What kind of document is this? Answer with exactly one of: "
    "{{ classes | join(', ') }}.{% if question %}\n{{ question }}{% endif %}",
    "kie": "Extract the following fields from this document and answer with one JSON object whose keys "
    "are the field names and whose values are the exact text from the document (empty string if "
    "absent): {{ fields | join(', ') }}.{% if question %}\n{{ question }}{% endif %}",
    "ordering": "These are the pages of one document, shuffled. Give the correct reading order as a JSON "
    "list of the image numbers, starting from 1 (for example [2, 1, 3]). Output only the list."
    "{% if question %}\n{{ question }}{% endif %}",
}


@lru_cache(maxsize=1)
def _jinja() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=512)
def _compile(template: str):
    return _jinja().from_string(template)


def pick_template(task: str, rows: list[PromptRow] | None, doc_class: str, question_type: str) -> str:
    """The template for one sample: the collection's best match, else the task's built-in prompt."""
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
    if task in BUILTIN_PROMPTS:
        return BUILTIN_PROMPTS[task]
    from .plugins import task_prompt

    return task_prompt(task)  # a plugin task's (PluginError, naming its package, if it cannot be used)


def render_prompt(
    template: str,
    *,
    question: str = "",
    doc_class: str = "",
    question_type: str = "",
    classes: tuple[str, ...] | list[str] = (),
    fields: dict | list | None = None,
) -> str:
    field_names = list(fields) if fields else []
    return (
        _compile(template)
        .render(
            question=question,
            doc_class=doc_class,
            question_type=question_type,
            classes=list(classes),
            fields=field_names,
        )
        .strip()
    )
