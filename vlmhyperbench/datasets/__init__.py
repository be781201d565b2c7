"""Datasets: one sample model, a reader per format (`vlmhyperbench`, `docvqa`, `jsonl`, `parquet`, `pdf`,
`omnidocbench`, `olmocr_bench`), PDF pages rendered when read, and image perturbations for robustness runs.

    samples = read_dataset("jsonl", Path("data/kie.jsonl"), split="test", max_samples=100)
    png = samples[0].images[0].read_bytes()      # images are read only now; SampleError if missing

Image paths are confined to the dataset's folder (the annotation file's folder, or the Parquet
folder): a path that leaves it, by `..`, an absolute path or a symlink, yields a sample whose
`error` says so, and the run records that sample as failed. A dataset that cannot be read as a
whole raises `DatasetError` with `FILE:LINE: field 'NAME': what is wrong`.
"""

from vlmhyperbench.datasets._check import file_problems, image_problem
from vlmhyperbench.datasets._formats import (
    FORMATS,
    Reader,
    check_fields,
    dataset_formats,
    get_reader,
    read_dataset,
    register_reader,
    select_samples,
    stable_rank,
    unknown_fields,
)
from vlmhyperbench.datasets._options import (
    PageOptions,
    PageSelection,
    page_modes,
    parse_pages,
    takes_page_options,
)
from vlmhyperbench.datasets._pages import DEFAULT_DPI, PdfPage
from vlmhyperbench.datasets._sample import ImageRef, Sample, SampleError, sniff_mime
from vlmhyperbench.datasets.perturbations import (
    PERTURBATIONS,
    Perturbation,
    PerturbationKind,
    PerturbedImage,
    parse_perturbation,
    perturb,
    perturbation_names,
    register_perturbation,
)

__all__ = [
    "DEFAULT_DPI",
    "FORMATS",
    "PageOptions",
    "PageSelection",
    "PdfPage",
    "page_modes",
    "parse_pages",
    "takes_page_options",
    "PERTURBATIONS",
    "Perturbation",
    "PerturbationKind",
    "PerturbedImage",
    "parse_perturbation",
    "perturb",
    "perturbation_names",
    "register_perturbation",
    "ImageRef",
    "Reader",
    "Sample",
    "SampleError",
    "dataset_formats",
    "get_reader",
    "check_fields",
    "file_problems",
    "image_problem",
    "read_dataset",
    "register_reader",
    "select_samples",
    "unknown_fields",
    "sniff_mime",
    "stable_rank",
]
