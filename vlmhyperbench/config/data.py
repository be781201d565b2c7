"""The data of a plan, checked before anything is built or started.

    check_data(catalog, pairs)          # ConfigErrors naming FILE:LINE: field, or nothing

Each dataset the plan uses is read once, as its pairs will read it (the format's reader: every required
column and field, valid JSON and types, UTF-8; the task's references on every sample; a `pdf` folder's
annotations or `reference=text_layer`), and every image and PDF it names is checked by a stat: it exists,
is a file, is not empty and may be read (datasets.file_problems). A bundle's files were checked against
their hashes when the catalog was loaded. A pair whose split and filters leave no sample is an error too.
Decoding stays with the run: an image that is there but corrupt fails its own sample.
"""

from __future__ import annotations

from vlmhb_core.errors import BenchError, ConfigError, ConfigErrors, DatasetError, PluginError
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.config.catalog import Catalog
from vlmhyperbench.config.plan import Pair
from vlmhyperbench.config.rows import DatasetRow
from vlmhyperbench.config.task_kinds import TASKS
from vlmhyperbench.datasets import Sample, check_fields, file_problems, read_dataset, select_samples

LISTED = 20
"""Problems listed per dataset; the rest are counted."""


def dataset_samples(catalog: Catalog, d: DatasetRow) -> list[Sample]:
    """Every sample of dataset D, each checked to give what its task needs (DatasetError naming FILE:LINE);
    images stay unread."""
    requires = TASKS.get(d.task).requires
    options = d.page_options()
    if d.benchmark and d.format is None:  # the benchmark's own reader, over its published layout
        samples = BENCHMARKS.get(d.benchmark).read(catalog.dataset_path(d), d.split, options=options)
        check_fields(samples, requires)
        return samples
    return read_dataset(
        d.reader_format, catalog.dataset_path(d), split=d.split, requires=requires, options=options
    )


def pair_samples(pair: Pair, samples: list[Sample]) -> list[Sample]:
    """The samples of PAIR among its dataset's SAMPLES: its filters applied, then its max_samples."""
    return select_samples(
        samples,
        doc_classes=list(pair.filter_doc_class) or None,
        question_types=list(pair.filter_question_type) or None,
        max_samples=pair.max_samples,
    )


def check_data(catalog: Catalog, pairs: list[Pair]) -> None:
    """ConfigErrors for every data problem of the datasets PAIRS use (module docstring), each naming the
    file, line and field, then the dataset and its datasets.csv row."""
    errors: list[ConfigError] = []
    datasets = {p.dataset.name: p.dataset for p in pairs}
    read: dict[str, list[Sample]] = {}
    for d in datasets.values():
        try:
            samples = dataset_samples(catalog, d)
        except PluginError:  # a plugin format or task that cannot be used: reported, only its pairs fail
            continue
        except (DatasetError, BenchError) as exc:
            errors.append(_error(catalog, d, str(exc)))
            continue
        problems = file_problems(samples)
        for problem in problems[:LISTED]:
            errors.append(_error(catalog, d, problem))
        if len(problems) > LISTED:
            errors.append(_error(catalog, d, f"… and {len(problems) - LISTED} more samples like these"))
        if not problems:
            read[d.name] = samples
    for pair in pairs:
        samples = read.get(pair.dataset.name)
        if samples is None or pair.is_level:
            continue
        if not pair_samples(pair, samples):
            filtered = pair.dataset.split or pair.filter_doc_class or pair.filter_question_type
            path = catalog.dataset_path(pair.dataset)
            text = f"{path}: no samples" + (" after the split and filters" if filtered else "")
            error = _error(catalog, pair.dataset, text)
            if str(error) not in {str(e) for e in errors}:
                errors.append(error)
    if errors:
        raise ConfigErrors(errors)


def _error(catalog: Catalog, d: DatasetRow, problem: str) -> ConfigError:
    return ConfigError(f"{problem} (dataset {d.name!r}, {catalog.root / 'datasets.csv'}:{d.line})")
