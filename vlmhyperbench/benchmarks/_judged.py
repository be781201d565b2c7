"""The judge-graded standard benchmarks: MMLongBench-Doc (a judge extracts the answer, the official rules
score it) and CharXiv (a judge grades each answer). Their official judge questions are in
vlmhyperbench.judges (_mmlongbench, _charxiv), their scoring in metrics (_mmlongbench, _charxiv)."""

from __future__ import annotations

from vlmhyperbench.benchmarks._registry import BENCHMARKS, Benchmark, Headline

MMLONGBENCH_DOC = Benchmark(
    name="mmlongbench_doc",
    title="MMLongBench-Doc",
    task="vqa",
    reader="vlmhyperbench.benchmarks._mmlongbench:read_mmlongbench_doc",
    metrics=("mmlongbench_doc_acc", "mmlongbench_doc_f1"),
    prompt="{{ question }}",
    prompt_source=(
        "MMLongBench-Doc run_api.py process_sample_gpt (commit d73f0dc): the question's text, then every "
        "page (up to --max_pages 120) as an image, rendered at 144 DPI: run.sh, which produced the published "
        "figures, calls run_api.py / run_lvlm.py without --resolution, whose default is 144 (PyMuPDF "
        "get_pixmap(dpi=144); lmms-eval renders at 144 too). A row's dpi overrides it; predictions and the "
        "manifest record the DPI used"
    ),
    headline=Headline(
        "mmlongbench_doc_acc", 100.0, "Acc ×100", subsplits="by_subset", also=(("mmlongbench_doc_f1", "F1"),)
    ),
    hub_repo="yubo2333/MMLongBench-Doc",
    config=None,
    splits=("train",),
    default_split="train",
    columns=(
        "doc_id",
        "doc_type",
        "question",
        "answer",
        "evidence_pages",
        "evidence_sources",
        "answer_format",
    ),
    image_columns=(),
    aggregators=("general", "by_doc_class", "by_subset"),
    scorer_source=(
        "mayubo2333/MMLongBench-Doc eval/extract_answer.py + eval/prompt_for_answer_extraction.md (the "
        "judge's extraction), eval/eval_score.py eval_score, eval_acc_and_f1 and show_results "
        "(Ma et al. 2024)"
    ),
    description="1082 questions on 135 long PDFs (47.5 pages on average); 22 % unanswerable; Acc and F1",
    files=("data/*.parquet", "documents/*"),
    judge_asks=(("extract", "mmlongbench_doc"),),
    official_judge=(
        "gpt-4o (eval/extract_answer.py): temperature 0, max_tokens 256, top_p 1; a models.csv row such as "
        'gpt4o-judge;openai;gpt-4o;https://api.openai.com/v1;OPENAI_API_KEY;none;16;256;0;"{""top_p"": 1}"'
    ),
    text_first=True,
    starter="vlmhyperbench.benchmarks._samples:sample_mmlongbench_doc",
)

CHARXIV = Benchmark(
    name="charxiv",
    title="CharXiv",
    task="vqa",
    reader="vlmhyperbench.benchmarks._charxiv:read_charxiv",
    metrics=("charxiv_reasoning", "charxiv_descriptive"),
    prompt="{{ question }}",
    prompt_source=(
        "CharXiv src/generate.py: build_descriptive_quries / build_reasoning_queries with src/constants.py's "
        "DESCRIPTIVE_RESP_INST and REASONING_RESP_INST (the question with its instructions), then the chart"
    ),
    headline=Headline(
        "charxiv_reasoning",
        100.0,
        "reasoning accuracy ×100",
        subsplits="by_question_type",
        also=(("charxiv_descriptive", "descriptive"),),
    ),
    hub_repo="princeton-nlp/CharXiv",
    config=None,
    splits=("validation", "test"),
    default_split="validation",
    columns=(
        "image",
        "category",
        "year",
        "original_figure_path",
        "original_id",
        "figure_path",
        "num_subplots",
        "subplot_row",
        "subplot_col",
        "subplot_loc",
        *(f"descriptive_q{i}" for i in range(1, 5)),
        *(f"descriptive_a{i}" for i in range(1, 5)),
        "reasoning_q",
        "reasoning_q_source",
        "reasoning_a",
        "reasoning_a_type",
    ),
    aggregators=("general", "by_question_type", "by_subset"),
    scorer_source=(
        "princeton-nlp/CharXiv src/evaluate.py with reasoning_utils.py and descriptive_utils.py (the judge's "
        "grades), src/get_stats.py (Wang et al. 2024)"
    ),
    description="2323 arXiv charts: 4 descriptive + 1 reasoning question each; test answers withheld",
    split_files=(("validation", "val"),),
    judge_asks=(("grade", "charxiv"),),
    official_judge=(
        "gpt-4o-2024-05-13 (src/evaluate.py): temperature 0, top_p 1, seed 42, max_tokens 256, JSON answers; "
        "a models.csv row such as gpt4o-judge;openai;gpt-4o-2024-05-13;https://api.openai.com/v1;"
        'OPENAI_API_KEY;none;16;256;0;"{""seed"": 42, ""top_p"": 1}"'
    ),
    text_first=True,
    starter="vlmhyperbench.benchmarks._samples:sample_charxiv",
)

for _b in (MMLONGBENCH_DOC, CHARXIV):
    BENCHMARKS.add(_b.name, _b)
