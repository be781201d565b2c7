"""A scorer offered by an installed package (entry-point group vlmhyperbench.scorers) is named in a config
like a built-in one: its name stands for its metrics, which it registers when it loads."""

from __future__ import annotations

import sys

import pytest

from flows.cli.registries import REGISTRIES
from tests.support.plugins import install_dist
from vlmhb_core.errors import ConfigError
from vlmhyperbench.config import expand_plan, load_catalog
from vlmhyperbench.scorers import SCORERS

PLUGIN = """
from vlmhyperbench.scorers import Scorer, scorer_metric

SCORER = Scorer(
    name="acme",
    entry="acme_scorer:score",
    packages=("acme-scorer==2.1",),
    metrics=(
        scorer_metric("acme_f1", "acme", higher_is_better=True, aggregation="ratio"),
        scorer_metric("acme_cer", "acme", higher_is_better=False),
    ),
)
"""


@pytest.fixture
def plugin(tmp_path):
    site = tmp_path / "site"
    install_dist(
        site, "acme-vlmhb", {"vlmhyperbench.scorers": {"acme": "vlmhb_acme:SCORER"}}, {"vlmhb_acme": PLUGIN}
    )
    sys.path.insert(0, str(site))
    before = {r.name: set(r.registered()) for r in REGISTRIES}
    for registry in REGISTRIES:
        registry.refresh()
    yield
    sys.path.remove(str(site))
    sys.modules.pop("vlmhb_acme", None)
    for registry in REGISTRIES:
        for name in set(registry.registered()) - before[registry.name]:
            registry.remove(name)
        registry.refresh()


def test_a_plugin_scorer_is_named_in_datasets_csv(plugin, write_config):
    assert "acme" in SCORERS.names() and not SCORERS.is_registered("acme")  # known, not imported yet
    root = write_config(
        {
            "models.csv": "name;backend;env\nt;tesseract;venv\n",
            "datasets.csv": "name;task;format;path;metrics\nd;ocr;jsonl;d.jsonl;cer acme\n",
            "d.jsonl": '{"id": "1", "image": "a.png", "answer": "x"}\n',
        }
    )
    (pair,) = expand_plan(load_catalog(root))
    assert pair.metric_names() == ["cer", "acme_f1", "acme_cer"]
    assert SCORERS.origin("acme") == "acme-vlmhb 0.1"
    from metrics import METRICS

    assert METRICS.get("acme_f1").scorer_env == "acme" and METRICS.get("acme_f1").aggregation == "ratio"


def test_an_unknown_metric_or_scorer_name_is_a_config_error(write_config):
    root = write_config(
        {
            "models.csv": "name;backend;env\nt;tesseract;venv\n",
            "datasets.csv": "name;task;format;path;metrics\nd;parse;jsonl;d.jsonl;omnidocbnch\n",
            "d.jsonl": "",
        }
    )
    with pytest.raises(ConfigError) as info:
        load_catalog(root)
    message = str(info.value)
    assert "datasets.csv:2: column 'metrics': unknown name 'omnidocbnch'" in message
    assert "omnidocbench" in message and "olmocr_bench" in message
