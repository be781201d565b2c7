"""Every data error before anything starts: the plan reads each dataset the run uses and stats each image and
PDF, so a wrong header, a missing field or reference, a missing, empty or escaping image, a `pdf` folder
without annotations, a non-UTF-8 file or a filter that leaves nothing exits 2 in seconds, naming FILE:LINE:
field, before any environment, Prefect API or server starts. An image that is there but only decoding finds
broken still fails its own sample (tests/flows/test_faults.py)."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.documents import text_pdf
from tests.support.fault_servers import cli_env, make_images, run_cli, write_annotation
from vlmhb_core.errors import ConfigErrors
from vlmhyperbench.config import check_data, plan_pairs

MODELS = "name;backend;model;base_url;env\nm;openai;synthetic;http://127.0.0.1:9/v1;none\n"


def write_bad_config(root):
    """One dataset a problem, each of a different kind and format; `fine` has none."""
    img = make_images(root / "fine", 2)
    write_annotation(root / "fine", [("f0", img[0], "q", "a"), ("f1", img[1], "q", "a")])
    make_images(root / "noidx", 1)
    (root / "noidx" / "annotation.csv").write_text("image_path;question;answer\ndoc_000.png;q;a\n")
    make_images(root / "holes", 2)
    (root / "holes" / "empty.png").write_bytes(b"")
    write_annotation(
        root / "holes",
        [
            ("ok", "doc_000.png", "q", "a"),
            ("missing", "gone.png", "q", "a"),
            ("empty", "empty.png", "q", "a"),
            ("escape", "../fine/doc_000.png", "q", "a"),
        ],
    )
    text_pdf(root / "pdfs" / "a.pdf", ["page one"])  # a folder of PDFs without annotation.jsonl
    (root / "pdfann").mkdir()
    (root / "pdfann" / "annotation.jsonl").write_text(
        json.dumps({"id": "x", "pdf": "nope.pdf", "answer": "a"})
    )
    make_images(root / "lines", 1)
    (root / "lines" / "typo.jsonl").write_text(
        json.dumps({"id": "t", "image": "doc_000.png", "text": "X"}) + "\n"
    )
    make_images(root / "latin", 1)
    (root / "latin" / "annotation.csv").write_bytes(
        b"data_index;image_path;question;answer\n1;doc_000.png;caf\xe9;a\n"
    )
    (root / "models.csv").write_text(MODELS)
    (root / "datasets.csv").write_text(
        "name;task;format;path;split\n"
        "fine;vqa;vlmhyperbench;fine;\n"
        "noidx;vqa;vlmhyperbench;noidx;\n"
        "holes;vqa;vlmhyperbench;holes;\n"
        "pdfs;ocr;pdf;pdfs;\n"
        "pdfann;ocr;pdf;pdfann;\n"
        "typo;ocr;jsonl;lines/typo.jsonl;\n"
        "latin;vqa;vlmhyperbench;latin;\n"
        "nosplit;vqa;vlmhyperbench;fine;validation\n"
    )
    return root


def test_bad_dataset_files_exit_2_in_seconds_before_anything_starts(tmp_path):
    root = write_bad_config(tmp_path / "config")
    out = tmp_path / "results"
    env = cli_env(tmp_path, PREFECT_LOGGING_LEVEL="INFO")
    env.pop("PREFECT_API_URL", None)  # nothing may start a temporary API either
    started = time.monotonic()
    code, output = run_cli("--config", str(root), "--output", str(out), env=env, log=tmp_path / "cli.log")
    took = time.monotonic() - started
    assert code == 2, output[-3000:]
    # every problem at once, each with its file, line and field, and the datasets.csv row it belongs to
    expected = [
        f"{root}/noidx/annotation.csv:1: column 'data_index': missing",
        f"{root}/holes/annotation.csv:3: field 'image_path': image '{root}/holes/gone.png' not found",
        f"{root}/holes/annotation.csv:4: field 'image_path': image '{root}/holes/empty.png' is empty",
        f"{root}/holes/annotation.csv:5: field 'image_path': image path '../fine/doc_000.png' leaves",
        f"{root}/pdfs: no annotation.jsonl: give one",
        f"{root}/pdfann/annotation.jsonl:1: field 'pdf': PDF 'nope.pdf' not found",
        f"{root}/lines/typo.jsonl:1: field 'answer' (or 'answers'): missing (the row gives: id, image, text)",
        f"{root}/latin/annotation.csv:2: not UTF-8 text",
        f"{root}/fine: no samples after the split and filters (dataset 'nosplit', {root}/datasets.csv:9)",
    ]
    for line in expected:
        assert line in output, (line, output[-4000:])
    assert "(dataset 'holes', " in output and "dataset 'fine'" not in output
    # before anything starts: no run folder, no Prefect API, no server, no environment
    assert not out.exists()
    assert "temporary server" not in output and "Starting" not in output and "prefect" not in output.lower()
    assert took < 60, f"exit 2 took {took:.1f} s"  # about 2-5 s on an idle machine: the imports


def test_the_flows_plan_task_checks_the_data_too(tmp_path):
    """A deployment runs the flow without the command line: its plan stage stops on the same errors."""
    root = write_bad_config(tmp_path / "config")
    from tasks.plan import plan

    with pytest.raises(ConfigErrors, match=r"holes/annotation\.csv:3: field 'image_path'"):
        plan.fn(str(root), datasets=["holes"])


@pytest.mark.parametrize(
    ("files", "datasets", "expected"),
    [
        (
            {
                "d/data.json": {
                    "data": [{"questionId": 1, "question": "q", "image": "gone.png", "answers": ["a"]}]
                }
            },
            "d;vqa;docvqa;d/data.json",
            "d/data.json: data[0]: field 'image': image '",
        ),
        (
            {"d/x.jsonl": {"id": "a", "images": ["p.png", "../../etc/passwd"], "answer": "a"}},
            "d;vqa;jsonl;d/x.jsonl",
            "d/x.jsonl:1: field 'images': image path '../../etc/passwd' leaves the dataset folder",
        ),
        (
            {"d/x.jsonl": {"id": "a", "image": "p.png", "answer": "a"}},
            "d;classification;jsonl;d/x.jsonl",
            "d/x.jsonl:1: field 'classes': missing (the row gives: answer, id, image)",
        ),
    ],
    ids=["docvqa-missing-image", "jsonl-escaping-page", "classification-without-classes"],
)
def test_each_format_names_the_line_and_field(tmp_path, files, datasets, expected):
    root = tmp_path / "config"
    make_images(root / "d", 1)
    (root / "d" / "doc_000.png").rename(root / "d" / "p.png")
    for name, obj in files.items():
        (root / name).write_text(json.dumps(obj) + "\n")
    (root / "models.csv").write_text(MODELS)
    (root / "datasets.csv").write_text(f"name;task;format;path\n{datasets}\n")
    catalog, pairs = plan_pairs(root)
    with pytest.raises(ConfigErrors) as info:
        check_data(catalog, pairs)
    assert expected in str(info.value), str(info.value)
    assert f"(dataset 'd', {root}/datasets.csv:2)" in str(info.value)


def test_a_clean_plan_passes_and_reads_each_dataset_once(tmp_path):
    root = tmp_path / "config"
    img = make_images(root / "fine", 3)
    write_annotation(root / "fine", [(f"f{i}", n, "q", "a") for i, n in enumerate(img)])
    (root / "models.csv").write_text(MODELS + "m2;openai;synthetic;http://127.0.0.1:9/v1;none\n")
    (root / "datasets.csv").write_text("name;task;path\nfine;vqa;fine\n")
    catalog, pairs = plan_pairs(root)
    assert len(pairs) == 2
    check_data(catalog, pairs)  # nothing raised
