"""Judges in the config: `judge` and `judge_images` columns of datasets.csv and plan.csv, judged metric
names, the `reasoning` rule, judge prompt collections; every mistake is FILE:LINE: column 'NAME'."""

from __future__ import annotations

import pytest

from vlmhb_core.errors import ConfigError
from vlmhyperbench.config import expand_plan, load_catalog

MODELS = """name;backend;model;base_url;env
cand;openai;c;http://127.0.0.1:9/v1;none
other;openai;o;http://127.0.0.1:9/v1;none
judge;openai;j;http://127.0.0.1:9/v1;none
judge2;openai;j;http://127.0.0.1:9/v1;none
tess;tesseract;;;venv
"""
ANNOTATION = "data_index;split;image_path;question;answer;doc_class;question_type\n"


def config(write_config, datasets: str, **files):
    base = {"models.csv": MODELS, "datasets.csv": datasets, "qa/annotation.csv": ANNOTATION}
    base.update({k.replace("__", "."): v for k, v in files.items()})
    return write_config(base)


def error_of(root) -> str:
    with pytest.raises(ConfigError) as info:
        expand_plan(load_catalog(root))
    return str(info.value)


def test_a_judge_is_not_a_candidate_unless_a_plan_row_names_it(write_config):
    datasets = (
        "name;task;path;metrics;judge;judge_images;reasoning\n"
        "qa;vqa;qa;anls|judge judge_correct;judge;yes;keep\n"
    )
    root = config(write_config, datasets)
    pairs = expand_plan(load_catalog(root))
    # judge2 is no judge here: a candidate like any row; tess answers OCR only
    assert sorted(p.model.name for p in pairs) == ["cand", "judge2", "other"]
    pair = pairs[0]
    assert pair.judges == ("judge",) and pair.judge_images and pair.judged
    assert pair.reasoning_tags == () and [j.name for j in pair.judged_metrics()] == [
        "anls|judge",
        "judge_correct",
    ]
    # a plan row may benchmark the judge too, and give a pair other judges
    plan = "model;dataset;judge;judge_images\n*;qa;;\njudge;qa;judge2;no\n"  # judge2 judges now
    pairs = {
        p.model.name: p for p in expand_plan(load_catalog(config(write_config, datasets, plan__csv=plan)))
    }
    assert set(pairs) == {"cand", "other", "judge"}
    assert pairs["judge"].judges == ("judge2",) and not pairs["judge"].judge_images
    assert pairs["cand"].judges == ("judge",)


def test_rule_metrics_alone_are_not_judged(write_config):
    root = config(write_config, "name;task;path;metrics;judge\nqa;vqa;qa;anls;judge\n")
    assert not any(p.judged for p in expand_plan(load_catalog(root)))


@pytest.mark.parametrize(
    ("datasets", "expected"),
    [
        (
            "name;task;path;metrics;judge\nqa;vqa;qa;anls|judge;\n",
            "datasets.csv:2: column 'judge': metric(s) anls|judge of pair (cand, qa) need a judge",
        ),
        (
            "name;task;path;metrics;judge\nqa;vqa;qa;judge_correct;judje\n",
            "datasets.csv:2: column 'judge': unknown judge 'judje': name a models.csv row "
            "(allowed: cand, judge",
        ),
        (
            "name;task;path;metrics;judge\nqa;vqa;qa;judge_correct;tess\n",
            "datasets.csv:2: column 'judge': model 'tess' (backend tesseract) cannot judge: "
            "it answers only ocr",
        ),
        (
            "name;task;path;metrics;judge\nqa;vqa;qa;judge_correct;judge judge\n",
            "datasets.csv:2: column 'judge': judge 'judge' is named twice",
        ),
        (
            "name;task;path;metrics;judge\nqa;vqa;qa;anlz|judge;judge\n",
            "datasets.csv:2: column 'metrics': judged metric 'anlz|judge': unknown metric 'anlz'; "
            "did you mean 'anls'",
        ),
        (
            "name;task;path;metrics;judge\nqa;vqa;qa;anls|judge:x;judge\n",
            "datasets.csv:2: column 'metrics': judged metric 'anls|judge:x': 'anls|judge:x': "
            "the threshold 'x'",
        ),
        (
            "name;task;path;judge_images\nqa;vqa;qa;maybe\n",
            "datasets.csv:2: column 'judge_images': cannot parse 'maybe': must be yes or no",
        ),
        (
            "name;task;path;reasoning\nqa;vqa;qa;drop\n",
            "datasets.csv:2: column 'reasoning': 'drop' is not a reasoning rule "
            "(allowed: strip, keep, strip:TAG,TAG)",
        ),
        (
            "name;task;path;prompts\nqa;vqa;qa;judge\n",
            "datasets.csv:2: column 'prompts': 'judge' holds judge prompts, not the model's",
        ),
    ],
)
def test_judge_mistakes_name_file_line_and_column(write_config, datasets, expected):
    assert expected in error_of(config(write_config, datasets))


def test_a_plan_rows_judged_metrics_need_a_judge_at_that_row(write_config):
    datasets = "name;task;path\nqa;vqa;qa\n"
    plan = "model;dataset;metrics\ncand;qa;anls\nother;qa;judge_correct\n"
    message = error_of(config(write_config, datasets, plan__csv=plan))
    assert "plan.csv:3: column 'judge': metric(s) judge_correct of pair (other, qa) need a judge" in message


def test_judge_prompts_see_the_answer_and_references_and_model_prompts_do_not(write_config):
    prompts = (
        "collection;doc_class;question_type;template\n"
        "judge;;;Q {{ question }} A {{ answer }} R {{ references | join(',') }} P {{ prompt }}\n"
        "judge_extract;;;{{ answer }}\n"
    )
    datasets = "name;task;path;metrics;judge\nqa;vqa;qa;judge_correct;judge\n"
    catalog = load_catalog(config(write_config, datasets, prompts__csv=prompts))
    assert set(catalog.prompts) == {"judge", "judge_extract"}
    bad = prompts + "docs;;;{{ answer }}\n"
    assert "prompts.csv:4: column 'template': unknown variable(s) answer" in error_of(
        config(write_config, datasets, prompts__csv=bad)
    )


def test_a_quality_gate_may_name_a_judged_metric(write_config):
    datasets = "name;task;path;metrics;judge\nqa;vqa;qa;anls|judge:0.8;judge\n"
    gates = "model;dataset;metric;min\ncand;qa;anls|judge:0.8;0.7\n"
    catalog = load_catalog(config(write_config, datasets, gates__csv=gates))
    assert [g.metric for g in catalog.gates] == ["anls|judge:0.8"]
    assert "unknown metric 'anls|judge'" in error_of(
        config(write_config, datasets, gates__csv=gates.replace(":0.8;0.7", ";0.7"))
    )
