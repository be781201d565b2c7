"""Config as code: every error case stops with FILE:LINE: column 'NAME' before anything runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.support import DEFAULT_CONFIG, REPO
from vlmhb_core.errors import ConfigError
from vlmhyperbench.config import expand_plan, load_catalog

MODELS = "name;backend;model;base_url;api_key_env;env\nocr1;rapidocr;;;;venv\napi;openai;gpt-x;http://127.0.0.1:9/v1;KEY;\n"
DATASETS = "name;task;format;path\nocr;ocr;vlmhyperbench;data/ocr\nvqa;vqa;vlmhyperbench;data/vqa\n"
ANNOTATION = "data_index;split;image_path;question;answer;doc_class;question_type\n"


def config(write_config, **files):
    base = {
        "models.csv": MODELS,
        "datasets.csv": DATASETS,
        "data/ocr/annotation.csv": ANNOTATION,
        "data/vqa/annotation.csv": ANNOTATION,
    }
    base.update({k.replace("__", "."): v for k, v in files.items()})
    return write_config({k: v for k, v in base.items() if v is not None})


def error_of(root) -> str:
    with pytest.raises(ConfigError) as info:
        load_catalog(root)
    return str(info.value)


def test_the_default_config_is_valid():
    catalog = load_catalog(DEFAULT_CONFIG)
    pairs = expand_plan(catalog)
    assert pairs, "the default plan has pairs"
    assert {p.dataset.task for p in pairs} == {"ocr"}, "OCR engines are paired with OCR datasets only"


def test_a_valid_config_expands_wildcards_and_skips_incompatible_pairs(write_config):
    root = config(write_config)
    pairs = expand_plan(load_catalog(root))
    assert sorted((p.model.name, p.dataset.name) for p in pairs) == [
        ("api", "ocr"),
        ("api", "vqa"),
        ("ocr1", "ocr"),
    ]


@pytest.mark.parametrize(
    "models, expected",
    [
        ("name;backend\nm;nope\n", "models.csv:2: column 'backend': unknown backend 'nope'"),
        (
            "name;backend\nm;rapidocr\nm;rapidocr\n",
            "models.csv:3: column 'name': duplicate name 'm' (first defined at line 2)",
        ),
        (
            "name;backend;concurrency\nm;rapidocr;many\n",
            "models.csv:2: column 'concurrency': 'many' is not valid",
        ),
        (
            "name;backend;concurrency\nm;rapidocr;0\n",
            "models.csv:2: column 'concurrency': 0 is below the minimum 1",
        ),
        ("name;backend;env\nm;rapidocr;conda\n", "models.csv:2: column 'env': 'conda' is not valid"),
        ("name;backend;env\nm;openai;venv\n", "models.csv:2: column 'env'"),
        (
            "name;backend\nm;openai\n",
            "models.csv:2: column 'base_url': backend 'openai' needs the endpoint's URL",
        ),
        (
            "name;backend;base_url\nm;openai;ftp://x\n",
            "models.csv:2: column 'base_url': 'ftp://x' is not an http(s) URL",
        ),
        (
            "name;backend;base_url;model;api_key_env\nm;openai;http://127.0.0.1:1/v1;x;sk-abc123\n",
            "models.csv:2: column 'api_key_env': must be the NAME of an environment variable",
        ),
        (
            "name;backend\nm;transformers\n",
            "models.csv:2: column 'model': backend 'transformers' needs a model id or path",
        ),
        ("name;backend;extra_body\nm;rapidocr;{oops\n", "models.csv:2: column 'extra_body': cannot parse"),
        (
            "name;backend;temperature\nm;rapidocr;5\n",
            "models.csv:2: column 'temperature': 5.0 is outside 0..2",
        ),
        ("name;backend\nbad name;rapidocr\n", "models.csv:2: column 'name': 'bad name' is not a valid name"),
        ("name;backend;colour\nm;rapidocr;red\n", "models.csv:1: column 'colour': unknown column"),
        ("name;model\nm;x\n", "models.csv:1: column 'backend': required column is missing"),
        (
            "name;backend\nm;rapidocr;extra;cells\n",
            "models.csv:2: row has 4 cells but the header has 2 columns",
        ),
        ("", "models.csv:1: file is empty"),
        (
            "name;backend;cost_per_hour\nm;rapidocr;-2\n",
            "models.csv:2: column 'cost_per_hour': -2.0 is not a price in US dollars (0 or more)",
        ),
        (
            "name;backend;price_in\nm;rapidocr;cheap\n",
            "models.csv:2: column 'price_in': 'cheap' is not valid",
        ),
        (
            "name;backend;cost_per_hour;price_out\nm;rapidocr;1.5;2\n",
            "models.csv:2: column 'cost_per_hour': give the price by the hour (cost_per_hour) or by the",
        ),
        (
            "name;backend;base_url;model;api_key_env;deployment\nm;openai;https://r.openai.azure.com;gpt;K;dep\n",
            "models.csv:2: column 'deployment': an Azure OpenAI deployment needs the row's api_version",
        ),
        (
            "name;backend;base_url;model;api_version\nm;openai;https://r.openai.azure.com;gpt;2024-10-21\n",
            "models.csv:2: column 'api_key_env': Azure OpenAI needs a key",
        ),
        (
            "name;backend;model;query\nm;vllm;Qwen/Qwen2-VL;team=docs\n",
            "models.csv:2: column 'query': only an external endpoint takes query",
        ),
        (
            "name;backend;base_url;model;query\nm;openai;http://127.0.0.1:1/v1;x;oops\n",
            "models.csv:2: column 'query': cannot parse 'oops': expected KEY=VALUE items",
        ),
        (
            "name;backend;model;args\nm;transformers;/models/x;--engine-arg dtype=float64\n",
            "models.csv:2: column 'args': engine-arg dtype must be one of auto, float32, bfloat16, float16, "
            "got 'float64'",
        ),
        (
            "name;backend;model;args\nm;transformers;/models/x;--engine-arg beams=4\n",
            "models.csv:2: column 'args': unknown engine-arg 'beams' for transformers serve; known: dtype,",
        ),
    ],
)
def test_model_errors_name_file_line_and_column(write_config, models, expected):
    assert expected in error_of(config(write_config, models__csv=models))


@pytest.mark.parametrize(
    "datasets, expected",
    [
        (
            "name;task;path\nd;translation;data/ocr\n",
            "datasets.csv:2: column 'task': unknown task 'translation' (allowed: ocr, vqa",
        ),
        (
            "name;task;format;path\nd;ocr;tiff;data/ocr\n",
            "datasets.csv:2: column 'format': unknown format 'tiff'",
        ),
        (
            "name;task;path\nd;ocr;data/missing\n",
            "datasets.csv:2: column 'path': 'data/missing' does not exist",
        ),
        (
            "name;task;path;metrics\nd;ocr;data/ocr;cer nonsense\n",
            "datasets.csv:2: column 'metrics': unknown name 'nonsense'",
        ),
        (  # a typo gets the close match README promises, then the whole list
            "name;task;path;metrics\nd;ocr;data/ocr;cerr\n",
            "datasets.csv:2: column 'metrics': unknown name 'cerr'; did you mean 'cer'? (allowed: accuracy, ",
        ),
        (
            "name;task;path\nd;ocrr;data/ocr\n",
            "datasets.csv:2: column 'task': unknown task 'ocrr'; did you mean 'ocr'? (allowed: ",
        ),
        (
            "name;task;path;prompts\nd;ocr;data/ocr;nothere\n",
            "datasets.csv:2: column 'prompts': no prompt collection 'nothere'",
        ),
        ("name;task;path\nd;ocr;\n", "datasets.csv:2: column 'path': required value is empty"),
    ],
)
def test_dataset_errors(write_config, datasets, expected):
    assert expected in error_of(config(write_config, datasets__csv=datasets))


@pytest.mark.parametrize(
    "plan, expected",
    [
        ("model;dataset\nghost;ocr\n", "plan.csv:2: column 'model': unknown model 'ghost'"),
        ("model;dataset\nocr1;nope\n", "plan.csv:2: column 'dataset': unknown dataset 'nope'"),
        (
            "model;dataset\nocr1;vqa\n",
            "plan.csv:2: column 'dataset': model 'ocr1' (backend rapidocr) cannot answer task 'vqa'",
        ),
        (
            "model;dataset\nocr1;ocr\nocr1;ocr\n",
            "plan.csv:3: column 'dataset': pair (ocr1, ocr) is planned twice (also at line 2)",
        ),
        (
            "model;dataset;max_samples\nocr1;ocr;-3\n",
            "plan.csv:2: column 'max_samples': -3 is below the minimum 1",
        ),
        (
            "model;dataset;aggregators\nocr1;ocr;by_moon\n",
            "plan.csv:2: column 'aggregators': unknown name 'by_moon'",
        ),
        (
            "model;dataset;perturbation\nocr1;ocr;melt:3\n",
            "plan.csv:2: column 'perturbation': unknown perturbation 'melt'",
        ),
        (
            "model;dataset;concurrency\nocr1;ocr;1 4 x\n",
            "plan.csv:2: column 'concurrency': '1 4 x' is not valid: value error, expected whole numbers",
        ),
        (
            "model;dataset;concurrency\nocr1;ocr;0 4\n",
            "plan.csv:2: column 'concurrency': 0 is below the minimum 1",
        ),
    ],
)
def test_plan_errors(write_config, plan, expected):
    assert expected in error_of(config(write_config, plan__csv=plan))


def test_prompt_errors(write_config):
    root = config(write_config, prompts__csv="collection;template\nc;{{ question \nd;{{ secret }}\n")
    text = error_of(root)
    assert "prompts.csv:2: column 'template': Jinja2 syntax error" in text
    assert "prompts.csv:3: column 'template': unknown variable(s) secret" in text


def test_every_error_is_reported_at_once(write_config):
    root = config(write_config, models__csv="name;backend\na;nope\nb;nada\n")
    text = error_of(root)
    assert "models.csv:2:" in text and "models.csv:3:" in text


def test_comma_header_bom_and_blank_lines_are_accepted(write_config):
    models = "\ufeffname,backend,packages\n\nm,rapidocr,rapidocr-onnxruntime==1.4.4 numpy\n"
    catalog = load_catalog(config(write_config, models__csv=models))
    assert catalog.models["m"].packages == ("rapidocr-onnxruntime==1.4.4", "numpy")


def test_non_utf8_file_is_named_with_its_line(write_config):
    root = config(write_config, models__csv=b"name;backend\nm;rapidocr\nn\xe9;rapidocr\n")
    assert "models.csv:3: not valid UTF-8" in error_of(root)


def test_missing_models_file(write_config):
    root = config(write_config, models__csv=None)
    assert "models.csv: file not found" in error_of(root)


def test_the_cli_exits_2_before_anything_runs(write_config, tmp_path):
    root = config(write_config, models__csv="name;backend\nm;nope\n")
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "flows.benchmark", "--config", str(root), "--output", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "models.csv:2: column 'backend': unknown backend 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not out.exists(), "nothing is written for a bad config"


def test_unknown_cli_filter_names_are_config_errors(write_config, tmp_path):
    root = config(write_config)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.benchmark",
            "--config",
            str(root),
            "--models",
            "nobody",
            "--output",
            str(tmp_path / "r"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "--models: unknown name(s) nobody" in proc.stderr


def test_a_concurrency_list_is_a_load_curve_of_one_pair_per_level(write_config):
    root = config(
        write_config, plan__csv="model;dataset;concurrency;max_samples\nocr1;ocr;16 1 4;5\napi;vqa;3;\n"
    )
    pairs = expand_plan(load_catalog(root))
    curve = [p for p in pairs if p.model.name == "ocr1"]
    assert [(p.concurrency, p.key.concurrency, p.key.stem, p.max_samples) for p in curve] == [
        (1, None, "ocr", 5),  # the first level is the pair itself: its files and key as ever
        (4, 4, "ocr@c4", 5),
        (16, 16, "ocr@c16", 5),
    ]
    assert all(p.base_key == curve[0].key for p in curve)
    single = next(p for p in pairs if p.model.name == "api")
    assert (single.concurrency, single.levels, single.key.concurrency) == (3, (), None)


def test_prices_and_gateway_columns_are_read(write_config, monkeypatch):
    models = (
        "name;backend;model;base_url;api_key_env;api_version;deployment;query;price_in;price_out;cost_per_hour\n"
        "az;openai;gpt-4o;https://r.openai.azure.com;AZ_KEY;2024-10-21;prod-4o;;2.5;10;\n"
        "gw;openai;m;http://127.0.0.1:9/v1;;;;team=docs&code=${GW_CODE};;;1.25\n"
    )
    catalog = load_catalog(config(write_config, models__csv=models))
    az, gw = catalog.models["az"], catalog.models["gw"]
    assert (az.api_version, az.deployment, az.price_in, az.price_out) == ("2024-10-21", "prod-4o", 2.5, 10.0)
    monkeypatch.setenv("GW_CODE", "s3cr3t")
    assert gw.query_params() == {"team": "docs", "code": "s3cr3t"}
    assert "s3cr3t" not in repr(gw) and gw.query_variables() == ["GW_CODE"]
    assert gw.cost_per_hour == 1.25
