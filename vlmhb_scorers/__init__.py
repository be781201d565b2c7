"""The scorers' runner, run inside a scorer's environment: `python -m vlmhb_scorers`.

The orchestrator (vlmhyperbench/scorers/) builds the scorer's environment, copies this package into it,
and hands it a work folder with three files:

    request.json   {"entry": "module:function", "scorer": NAME, "metrics": [...], "options": {...}}
    input.jsonl    one line per sample: sample_id, prediction ("" for a failed sample), references,
                   annotation (the dataset's own annotation, JSON), error, and the task fields
    output.jsonl   written here, complete or not at all (renamed into place at the end)

The entry function is called as `fn(records, context)` and yields rows:

    {"sample_id": "p1", "metric": "m", "value": 0.8, ...}   a score; extra keys become score columns:
                                                            num/den (pooled ratios), category, parts
                                                            (a list of numbers), detail (text)
    {"not_scored": "m", "reason": "...", "part": "..."}    what could not be scored here, and why

`context` has the request's `metrics`, `options` and the `workdir` (for scratch and detail files).
A team's in-house scorer is such a function in its own package, installed into the environment.

This package needs Python >= 3.9 and imports only the stdlib at its top; each built-in scorer's module
imports its official package when it runs (omnidocbench, olmocr). It imports nothing of the
orchestrator, and the orchestrator never imports it (import-linter contracts in pyproject.toml).
"""
