"""Bad inputs: the config and dataset cases test_catalog.py and test_datasets.py leave out, and fuzzing of
every reader. A bad config is a ConfigError naming FILE:LINE: column; a bad dataset a DatasetError naming
FILE:LINE: field; a bad sample fails alone. No other exception may escape a reader."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlmhb_core.errors import ConfigError, DatasetError
from vlmhyperbench.config import load_catalog
from vlmhyperbench.config.csv_rows import read_csv_rows
from vlmhyperbench.datasets import read_dataset

FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
MODELS = "name;backend;model;base_url;env\napi;openai;m;http://127.0.0.1:9/v1;none\n"
ANNOTATION = "data_index;split;image_path;question;answer;doc_class;question_type\n"
DATASETS = "name;task;format;path\nd;vqa;vlmhyperbench;data\n"


def config(tmp_path, **files):
    root = tmp_path / "config"
    base = {
        "models.csv": MODELS,
        "datasets.csv": DATASETS,
        "data/annotation.csv": ANNOTATION + "1;t;a.png;q;a;x;y\n",
    }
    base.update({k.replace("__", "."): v for k, v in files.items()})
    for name, text in base.items():
        if text is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return root


def config_error(root) -> str:
    with pytest.raises(ConfigError) as info:
        load_catalog(root)
    return str(info.value)


# ---------------------------------------------------------------- config: the gaps of test_catalog.py


@pytest.mark.parametrize(
    "models, expected",
    [
        (
            "name;backend;model;base_url;max_tokens\nm;openai;x;http://h/v1;1.5\n",
            "models.csv:2: column 'max_tokens': '1.5' is not valid",
        ),
        ("name;backend;gpus\nm;rapidocr;-1\n", "models.csv:2: column 'gpus': -1 is below the minimum 0"),
        (
            "name;backend;temperature\nm;rapidocr;hot\n",
            "models.csv:2: column 'temperature': 'hot' is not valid",
        ),
        (
            "name;backend;timeout_s\nm;rapidocr;soon\n",
            "models.csv:2: column 'timeout_s': 'soon' is not valid",
        ),
        (
            "name;backend;python\nm;rapidocr;2.7.1\n",
            "models.csv:2: column 'python': '2.7.1' is not a Python version",
        ),
        ('name;backend;args\nm;rapidocr;--x "unclosed\n', "models.csv:2: column 'args': cannot parse"),
        ("name;backend;headers\nm;rapidocr;NoColonHere\n", "models.csv:2: column 'headers': cannot parse"),
        (
            "name;backend;env_vars\nm;rapidocr;1BAD=x\n",
            "models.csv:2: column 'env_vars': '1BAD' is not a valid",
        ),
        ("name;backend;extra_body\nm;rapidocr;[1, 2]\n", "models.csv:2: column 'extra_body': cannot parse"),
        ("name;name;backend\nm;m;rapidocr\n", "models.csv:1: column 'name': duplicate column in the header"),
        (
            "name;backend\n../escape;rapidocr\n",
            "models.csv:2: column 'name': '../escape' is not a valid name",
        ),
        ("name;backend\n;rapidocr\n", "models.csv:2: column 'name': required value is empty"),
        ("name;backend;base_url;model\nm;openai;http://h/v1;x;extra\n", "models.csv:2: row has 5 cells"),
    ],
)
def test_wrong_types_and_values_in_models(tmp_path, models, expected):
    assert expected in config_error(config(tmp_path, models__csv=models))


def test_duplicate_dataset_names_and_missing_files(tmp_path):
    text = config_error(config(tmp_path, datasets__csv=DATASETS + "d;ocr;vlmhyperbench;data\n"))
    assert "datasets.csv:3: column 'name': duplicate name 'd' (first defined at line 2)" in text
    assert "datasets.csv: file not found" in config_error(config(tmp_path / "b", datasets__csv=None))
    assert "config folder" in config_error(tmp_path / "nowhere")


def test_binary_and_zero_byte_config_files(tmp_path):
    assert "models.csv:1: file is empty" in config_error(config(tmp_path, models__csv=b""))
    text = config_error(config(tmp_path / "b", models__csv=b"\x89PNG\r\n\x1a\n\xff\xfe\x00"))
    assert "models.csv:1: not valid UTF-8" in text


def test_a_huge_cell_is_a_config_error(tmp_path):
    text = config_error(
        config(tmp_path, models__csv='name;backend;args\nm;rapidocr;"' + "x" * 200_000 + '"\n')
    )
    assert "models.csv:2:" in text


# ---------------------------------------------------------------- datasets: the gaps of test_datasets.py


def test_zero_byte_and_header_only_annotations(tmp_path):
    (tmp_path / "zero").mkdir()
    (tmp_path / "zero" / "annotation.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"annotation.csv:1: column 'data_index': missing"):
        read_dataset("vlmhyperbench", tmp_path / "zero")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "annotation.csv").write_text(ANNOTATION)
    assert read_dataset("vlmhyperbench", tmp_path / "empty") == []
    (tmp_path / "e.jsonl").write_text("\n\n")
    assert read_dataset("jsonl", tmp_path / "e.jsonl") == []


@pytest.mark.parametrize(
    "fmt, name, data, expected",
    [
        (
            "vlmhyperbench",
            "annotation.csv",
            ANNOTATION.encode() + b"1;t;a.png;caf\xe9;a;x;y\n",
            r"annotation.csv:2: not UTF-8",
        ),
        (
            "jsonl",
            "d.jsonl",
            b'{"id": 1, "image": "a.png"}\n{"id": 2, "image": "caf\xe9.png"}\n',
            r"d.jsonl:2: not UTF-8",
        ),
        (
            "docvqa",
            "d.json",
            b'{"data": [{"questionId": 1, "question": "caf\xe9", "image": "a.png"}]}',
            r"d.json:1: not UTF-8",
        ),
    ],
)
def test_non_utf8_datasets_name_file_and_line(tmp_path, fmt, name, data, expected):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DatasetError, match=expected):
        read_dataset(fmt, tmp_path / name)


@pytest.mark.parametrize(
    "line, expected",
    [
        ('{"id": 1, "images": "a.png"}', "d.jsonl:1: field 'images': expected a list"),
        ('{"id": 1, "image": "a.png", "classes": 3}', "d.jsonl:1: field 'classes': expected a list"),
        ('{"id": 1, "image": "a.png", "fields": [1]}', "d.jsonl:1: field 'fields': expected an object"),
        (
            '{"id": 1, "image": "a.png", "order": "[1, \\"x\\"]"}',
            "d.jsonl:1: field 'order': expected a list of integers",
        ),
        ('{"id": 1, "image": "a.png", "order": 5}', "d.jsonl:1: field 'order': expected a list of integers"),
        ("[1, 2]", "d.jsonl:1: expected a JSON object"),
    ],
)
def test_jsonl_wrong_types_name_line_and_field(tmp_path, line, expected):
    (tmp_path / "d.jsonl").write_text(line + "\n")
    with pytest.raises(DatasetError) as info:
        read_dataset("jsonl", tmp_path / "d.jsonl")
    assert expected in str(info.value)


def test_docvqa_answers_given_as_one_string_stay_one_answer(tmp_path):
    (tmp_path / "d.json").write_text(
        json.dumps({"data": [{"questionId": 1, "question": "q", "image": "a.png", "answers": "yes"}]})
    )
    (sample,) = read_dataset("docvqa", tmp_path / "d.json")
    assert sample.references == ("yes",)


@pytest.mark.parametrize("image", ["../outside.png", "/etc/hostname", "sub/../../outside.png", ""])
def test_image_paths_that_leave_the_folder_fail_their_sample(tmp_path, image):
    folder = tmp_path / "ds"
    folder.mkdir()
    (tmp_path / "outside.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "annotation.csv").write_text(ANNOTATION + f"1;t;{image};q;a;x;y\n2;t;ok.png;q;a;x;y\n")
    bad, ok = read_dataset("vlmhyperbench", folder)
    assert bad.error and not bad.images and ok.error is None


def test_parquet_with_wrong_column_types_is_a_dataset_error_or_reads(tmp_path):
    import polars as pl

    pl.DataFrame(
        {"id": [[1], [2]], "question": [1, 2], "answers": [3, 4], "image": [b"\x89PNG", None]}
    ).write_parquet(tmp_path / "x.parquet")
    try:
        samples = read_dataset("parquet", tmp_path / "x.parquet")
    except DatasetError:
        return
    assert len(samples) == 2 and all(isinstance(s.id, str) for s in samples)
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DatasetError, match="junk.parquet: not a readable Parquet file"):
        read_dataset("parquet", tmp_path / "junk.parquet")


# ------------------------------------------------------- fuzzing: only ConfigError / DatasetError escape

CSV_TEXT = st.text(
    alphabet=st.sampled_from(list(string.printable) + ["é", "\ufeff", "\x00", "\u2028", ";", ",", '"']),
    max_size=300,
)
HEADERS = st.lists(
    st.sampled_from(
        [
            "name",
            "backend",
            "model",
            "base_url",
            "env",
            "concurrency",
            "args",
            "headers",
            "extra_body",
            "env_vars",
            "python",
            "gpus",
            "temperature",
            "api_key_env",
            "timeout_s",
            "bogus",
        ]
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(data=st.one_of(st.binary(max_size=400), CSV_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_fuzz_read_csv_rows(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("csv") / "models.csv"
    path.write_bytes(data)
    try:
        rows = read_csv_rows(path, required=["name"], known=None)
    except ConfigError as exc:
        assert "models.csv" in str(exc)
        return
    for row in rows:
        assert row.line >= 1 and all(isinstance(v, str) for v in row.cells.values())


@FUZZ
@given(
    header=HEADERS,
    cells=st.lists(
        st.lists(CSV_TEXT.filter(lambda t: "\n" not in t and "\r" not in t), max_size=6), max_size=4
    ),
    which=st.sampled_from(["models.csv", "datasets.csv", "plan.csv", "prompts.csv"]),
)
def test_fuzz_load_catalog(tmp_path_factory, header, cells, which):
    text = ";".join(header) + "\n" + "".join(";".join(row) + "\n" for row in cells)
    root = config(tmp_path_factory.mktemp("cfg"), **{which.replace(".", "__"): text})
    try:
        load_catalog(root)
    except ConfigError:
        pass


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
SAMPLE_KEYS = [
    "id",
    "image",
    "images",
    "question",
    "answer",
    "answers",
    "doc_class",
    "question_type",
    "split",
    "label",
    "classes",
    "fields",
    "order",
    "questionId",
]
OBJECTS = st.dictionaries(st.sampled_from(SAMPLE_KEYS), JSON, max_size=8)


def _read_all(fmt, path):
    try:
        samples = read_dataset(fmt, path)
    except DatasetError:
        return
    for s in samples:
        assert isinstance(s.id, str) and all(isinstance(r, str) for r in s.references)
        for image in s.images:
            try:
                image.read_bytes()
            except Exception as exc:  # a bad sample fails alone, with the project's SampleError
                assert type(exc).__name__ == "SampleError", exc


@FUZZ
@given(
    lines=st.lists(st.one_of(OBJECTS.map(json.dumps), JSON.map(json.dumps), st.text(max_size=40)), max_size=5)
)
def test_fuzz_jsonl_reader(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("jsonl") / "d.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    _read_all("jsonl", path)


@FUZZ
@given(
    doc=st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"data": st.lists(st.one_of(OBJECTS, JSON), max_size=4)}, optional={"dataset_split": JSON}
        ),
    )
)
def test_fuzz_docvqa_reader(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("docvqa") / "d.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _read_all("docvqa", path)


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(st.lists(CSV_TEXT.filter(lambda t: "\n" not in t), min_size=1, max_size=8), max_size=5).map(
            lambda rows: (ANNOTATION + "".join(";".join(r) + "\n" for r in rows)).encode()
        ),
    )
)
def test_fuzz_vlmhyperbench_reader(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("ds")
    (folder / "annotation.csv").write_bytes(data)
    _read_all("vlmhyperbench", folder)


@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_parquet_reader_with_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("pq") / "d.parquet"
    path.write_bytes(b"PAR1" + data + b"PAR1")
    _read_all("parquet", path)
