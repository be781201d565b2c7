"""inference: every sample of one (model, dataset) pair asked of the model's server, answers persisted
as they arrive. Plain asyncio inside one task; resumable (answered samples are never asked again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from environments.serving import served_name
from tasks.progress import PairProgress
from vlmhyperbench.catalog import Catalog, Pair, dataset_path
from vlmhyperbench.client import Endpoint, RequestItem, run_requests
from vlmhyperbench.datasets import Sample, read_dataset
from vlmhyperbench.errors import DatasetError
from vlmhyperbench.prompts import pick_template, render_prompt
from vlmhyperbench.settings import get_settings
from vlmhyperbench.store import PredictionStore


@dataclass
class InferenceResult:
    requests: int
    errors: int
    skipped: int
    window_s: float | None
    stopped_early: str | None


class PerturbedImage:
    """An image that is perturbed when it is read, deterministically per sample."""

    def __init__(self, image, perturbation: str, seed_key: str):
        from vlmhyperbench.perturb import parse_perturbation

        self.image, self.seed_key = image, seed_key
        self.perturbation = parse_perturbation(perturbation)

    @property
    def mime(self) -> str:
        return "image/jpeg" if self.perturbation.steps[-1][0] == "jpeg" else "image/png"

    def read_bytes(self) -> bytes:
        return self.perturbation.apply(self.image.read_bytes(), self.seed_key)


def load_samples(catalog: Catalog, pair: Pair) -> list[Sample]:
    d = pair.dataset
    return read_dataset(
        d.format,
        dataset_path(catalog, d),
        split=d.split,
        doc_classes=list(pair.filter_doc_class) or None,
        question_types=list(pair.filter_question_type) or None,
        max_samples=pair.max_samples,
    )


def sample_fields(sample: Sample, prompt: str) -> dict:
    """What the prediction store keeps beside each answer, so scoring never needs the dataset again."""
    return {
        "doc_class": sample.doc_class,
        "question_type": sample.question_type,
        "prompt": prompt,
        "references": list(sample.references),
        "label": sample.label,
        "classes": list(sample.classes),
        "fields": json.dumps(sample.fields, ensure_ascii=False) if sample.fields is not None else None,
        "order": list(sample.order) if sample.order is not None else None,
    }


def endpoint_for(pair: Pair, base_url: str) -> Endpoint:
    m = pair.model
    return Endpoint(
        base_url=base_url.rstrip("/") + "/v1",
        model=served_name(m),
        api_key=m.api_key(),
        headers=m.headers,
        max_tokens=m.max_tokens,
        temperature=m.temperature,
        extra_body=m.extra_body,
    )


@task(name="inference", task_run_name="inference-{pair.model.name}-{pair.dataset_key}", cache_policy=NO_CACHE)
async def inference(catalog: Catalog, pair: Pair, base_url: str, journal: Path) -> InferenceResult:
    """Asks the model every sample not yet answered in JOURNAL; returns the request statistics."""
    logger = get_run_logger()
    settings = get_settings()
    samples = load_samples(catalog, pair)
    if not samples:
        filtered = pair.dataset.split or pair.filter_doc_class or pair.filter_question_type
        raise DatasetError(
            f"{dataset_path(catalog, pair.dataset)}: no samples"
            + (" after the split and filters" if filtered else "")
        )
    store = PredictionStore(journal)
    done = store.done_ids()
    prompts = catalog.prompts.get(pair.dataset.prompts or "", None)
    todo = [s for s in samples if s.id not in done]
    if done:
        logger.info(
            "%s/%s: %d of %d samples already answered, asking %d",
            pair.model.name,
            pair.dataset_key,
            len(samples) - len(todo),
            len(samples),
            len(todo),
        )

    def items() -> Iterator[RequestItem]:
        # Lazily, one at a time: request bodies and images are never all in memory.
        for sample in todo:
            template = pick_template(pair.dataset.task, prompts, sample.doc_class, sample.question_type)
            prompt = render_prompt(
                template,
                question=sample.question,
                doc_class=sample.doc_class,
                question_type=sample.question_type,
                classes=sample.classes,
                fields=sample.fields,
            )
            images = (
                sample.images
                if not pair.perturbation
                else tuple(
                    PerturbedImage(img, pair.perturbation, f"{sample.id}:{i}")
                    for i, img in enumerate(sample.images)
                )
            )
            # A sample that could not be built (e.g. its image leaves the dataset folder) is recorded
            # with its error and never sent.
            yield RequestItem(
                sample_id=sample.id,
                prompt=prompt,
                images=images,
                error=sample.error,
                meta=sample_fields(sample, prompt),
            )

    progress = PairProgress(
        f"{pair.model.name}/{pair.dataset_key}", total=len(samples), done=len(samples) - len(todo)
    )
    await progress.start()

    def on_answer(answer) -> None:
        store.append(answer)
        progress.advance()

    with store:
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
    )
