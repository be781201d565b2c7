"""Datasets: one sample model, and a reader per format (`vlmhyperbench`, `docvqa`, `jsonl`, `parquet`).

    samples = read_dataset("jsonl", Path("data/kie.jsonl"), split="test", max_samples=100)
    png = samples[0].images[0].read_bytes()      # images are read only now; SampleError if missing

Image paths are confined to the dataset's folder (the annotation file's folder, or the Parquet
folder): a path that leaves it, by `..`, an absolute path or a symlink, yields a sample whose
`error` says so, and the run records that sample as failed. A dataset that cannot be read as a
whole raises `DatasetError` with `FILE:LINE: field 'NAME': what is wrong`.
"""

from vlmhyperbench.datasets._registry import (
    ENTRY_POINT_GROUP,
    Reader,
    dataset_formats,
    get_reader,
    read_dataset,
    register_reader,
    stable_rank,
)
from vlmhyperbench.datasets._sample import ImageRef, Sample, SampleError, sniff_mime

__all__ = [
    "ENTRY_POINT_GROUP",
    "ImageRef",
    "Reader",
    "Sample",
    "SampleError",
    "dataset_formats",
    "get_reader",
    "read_dataset",
    "register_reader",
    "sniff_mime",
    "stable_rank",
]
