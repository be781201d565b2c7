"""inference: every sample of one (model, dataset) pair asked of the model's server, answers persisted
as they arrive. Plain asyncio inside one task; resumable (answered samples are never asked again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from environments.launch import served_name
from tasks.progress import PairProgress
from vlmhb_core.console import TERMINAL
from vlmhb_core.errors import DatasetError
from vlmhb_core.settings import get_settings
from vlmhyperbench.config import Catalog, ModelRow, Pair, pick_template, render_prompt
from vlmhyperbench.config.data import dataset_samples, pair_samples
from vlmhyperbench.datasets import (
    PerturbedImage,
    Sample,
    unknown_fields,
)
from vlmhyperbench.inference import Endpoint, PredictionJournal, RequestItem, run_requests
from vlmhyperbench.results import RunFolder


@dataclass
class InferenceResult:
    requests: int
    errors: int
    skipped: int
    window_s: float | None
    stopped_early: str | None
    pages: int = 0
    """Page images of the pair's samples (asked now or before): what the manifest records."""
    dpi: int | None = None
    """The resolution PDF pages were rendered at (None: the dataset's images are files)."""


def already_complete(run: RunFolder, pair: Pair) -> bool:
    """Resume: a pair whose results were all written and whose every sample was answered needs no server.
    A judged pair needs no server once its performance is written and every sample answered: its scores
    wait for its judges."""
    files = run.pair_files(pair.key)
    if not (files.performance.exists() if pair.judged else files.all_exist()):
        return False
    errors = PredictionJournal(run.journal(pair.key)).load()["error"]
    return errors.null_count() == errors.len()


def load_samples(catalog: Catalog, pair: Pair) -> list[Sample]:
    """The pair's samples, each checked to give what its task needs (DatasetError naming FILE:LINE)."""
    return pair_samples(pair, dataset_samples(catalog, pair.dataset))


def sample_fields(sample: Sample, prompt: str) -> dict:
    """What the journal keeps beside each answer, so scoring (and a judge) never needs the dataset again."""
    return {
        "question": sample.question,
        "doc_class": sample.doc_class,
        "question_type": sample.question_type,
        "prompt": prompt,
        "references": list(sample.references),
        "label": sample.label,
        "classes": list(sample.classes),
        "fields": json.dumps(sample.fields, ensure_ascii=False) if sample.fields is not None else None,
        "order": list(sample.order) if sample.order is not None else None,
        "pages": len(sample.images),
        "dpi": sample.dpi,
        "annotation": (
            json.dumps(sample.annotation, ensure_ascii=False) if sample.annotation is not None else None
        ),
    }


def sample_images(sample: Sample, pair: Pair) -> tuple:
    """The sample's images as the pair's model sees them (perturbed when the pair perturbs them)."""
    if not pair.perturbation:
        return tuple(sample.images)
    return tuple(
        PerturbedImage(img, pair.perturbation, f"{sample.id}:{i}") for i, img in enumerate(sample.images)
    )


def endpoint_for(pair: Pair, base_url: str) -> Endpoint:
    return model_endpoint(pair.model, pair.backend, base_url)


def model_endpoint(m: ModelRow, backend, base_url: str) -> Endpoint:
    """Where the requests of model row M served at BASE_URL go (a candidate's, or a judge's): BASE_URL/v1,
    or an Azure OpenAI resource's deployment."""
    return Endpoint(
        base_url=m.base_url if m.api_version else base_url.rstrip("/") + "/v1",
        model=served_name(m, backend),
        api_key=m.api_key(),
        headers=m.headers,
        max_tokens=m.max_tokens,
        temperature=m.temperature,
        extra_body=m.extra_body,
        query=m.query_params(),
        api_version=m.api_version,
        deployment=m.deployment,
        max_pixels=backend.read_args(m.args).max_pixels if backend is not None else None,
    )


@task(name="inference", task_run_name="inference-{pair.model.name}-{pair.key.stem}", cache_policy=NO_CACHE)
async def inference(catalog: Catalog, pair: Pair, base_url: str, journal: Path) -> InferenceResult:
    """Asks the model every sample not yet answered in JOURNAL; returns the request statistics."""
    logger = get_run_logger()
    settings = get_settings()
    samples = load_samples(catalog, pair)
    if not samples:
        filtered = pair.dataset.split or pair.filter_doc_class or pair.filter_question_type
        raise DatasetError(
            f"{catalog.dataset_path(pair.dataset)}: no samples"
            + (" after the split and filters" if filtered else "")
        )
    ignored = unknown_fields(samples)
    if ignored:
        logger.warning("%s", ignored, extra=TERMINAL)
    journal_file = PredictionJournal(journal)
    done = journal_file.done_ids()
    prompts = catalog.prompts.get(pair.dataset.prompts or "", None)
    todo = [s for s in samples if s.id not in done]
    if done:
        logger.info(
            "%s: %d of %d samples already answered, asking %d",
            pair.key.label,
            len(samples) - len(todo),
            len(samples),
            len(todo),
            extra=TERMINAL,
        )

    def items() -> Iterator[RequestItem]:
        # Lazily, one at a time: request bodies and images are never all in memory.
        for sample in todo:
            template = pick_template(
                pair.dataset.task,
                prompts,
                sample.doc_class,
                sample.question_type,
                pair.dataset.prompt_template,
            )
            prompt = render_prompt(
                template,
                question=sample.question,
                doc_class=sample.doc_class,
                question_type=sample.question_type,
                classes=sample.classes,
                fields=sample.fields,
            )
            images = sample_images(sample, pair)
            # A sample that could not be built (e.g. its image leaves the dataset folder) is recorded
            # with its error and never sent.
            yield RequestItem(
                sample_id=sample.id,
                prompt=prompt,
                images=images,
                error=sample.error,
                meta=sample_fields(sample, prompt),
                text_first=pair.dataset.text_first,
            )

    progress = PairProgress(pair.key.label, total=len(samples), done=len(samples) - len(todo))
    await progress.start()

    def on_answer(answer) -> None:
        journal_file.append(answer)
        progress.advance()

    with journal_file:
        stats = await run_requests(
            endpoint_for(pair, base_url),
            items(),
            concurrency=pair.concurrency,
            timeout_s=pair.model.timeout_s or settings.request_timeout_s,
            max_error_rate=settings.max_error_rate,
            on_answer=on_answer,
        )
    await progress.close()
    return InferenceResult(
        requests=stats.requests,
        errors=stats.errors,
        skipped=len(samples) - len(todo),
        window_s=stats.window_s,
        stopped_early=stats.stopped_early,
        pages=sum(len(s.images) for s in samples),
        dpi=next((s.dpi for s in samples if s.dpi is not None), None),
    )
