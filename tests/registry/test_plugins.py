"""Plugins through entry points: discovered lazily, loaded on first use, and a broken one fails only its rows.

Each test installs small distributions the way pip lays them out (NAME.dist-info with METADATA and
entry_points.txt, beside their modules) into a temporary folder on sys.path, so importlib.metadata finds
them exactly as it finds an installed package.
"""

from __future__ import annotations

import sys

import pytest

from tests.support.plugins import install_dist
from tests.support.support import DEFAULT_CONFIG

GOOD = {
    "vlmhb_good": '''
import polars as pl
from metrics import metric
from environments.backends import Backend
from vlmhyperbench.config import TaskKind
from vlmhyperbench.datasets import ImageRef, Sample, register_perturbation

@metric("length_ratio", higher_is_better=True, tasks=("ocr",))
def length_ratio(table):
    """Prediction length over reference length."""
    refs = [r[0] if r else "" for r in table["references"].to_list()]
    values = [len(p) / max(1, len(r)) for p, r in zip(table["prediction"].to_list(), refs)]
    return pl.DataFrame({"sample_id": table["sample_id"], "value": values})

@register_perturbation("invert", default=1, low=0, high=1, unit="on/off")
def invert(img, value, rng):
    from PIL import ImageOps
    return ImageOps.invert(img) if value else img

def read_lines(path):
    """One sample per line of PATH/lines.txt."""
    return [Sample(id=str(i), images=(ImageRef(data=b"x"),), references=(line,))
            for i, line in enumerate((path / "lines.txt").read_text().splitlines())]

remote = Backend("remote", external=True)

class EchoEngine:
    """Answers with the prompt."""
    name = "echo"
    def generate(self, request, images):
        return iter(())
transcribe = TaskKind("transcribe", prompt="Copy the text. {{ question }}", metrics=("length_ratio", "cer"))
''',
}
GOOD_EPS = {
    "vlmhyperbench.metrics": {"length_ratio": "vlmhb_good:length_ratio"},
    "vlmhyperbench.perturbations": {"invert": "vlmhb_good:invert"},
    "vlmhyperbench.dataset_formats": {"lines": "vlmhb_good:read_lines"},
    "vlmhyperbench.backends": {"remote": "vlmhb_good:remote"},
    "vlmhyperbench.tasks": {"transcribe": "vlmhb_good:transcribe"},
    "vlmhyperbench.server_engines": {"echo": "vlmhb_good:EchoEngine"},
}
BROKEN_EPS = {
    "vlmhyperbench.server_engines": {"broken_engine": "vlmhb_broken:Engine"},
    "vlmhyperbench.metrics": {"broken_metric": "vlmhb_broken:metric_fn", "hollow": "vlmhb_hollow:nothing"},
    "vlmhyperbench.dataset_formats": {"broken_format": "vlmhb_broken:reader"},
}
BROKEN = {"vlmhb_broken": "import a_module_that_is_not_installed\n", "vlmhb_hollow": "nothing = 42\n"}


def registries():
    from flows.cli.registries import REGISTRIES

    return REGISTRIES


@pytest.fixture
def plugin_site(tmp_path):
    """Two installed plugin packages (vlmhb-good and vlmhb-broken) for the length of one test."""
    site = tmp_path / "site"
    install_dist(site, "vlmhb-good", GOOD_EPS, GOOD)
    install_dist(site, "vlmhb-broken", BROKEN_EPS, BROKEN)
    sys.path.insert(0, str(site))
    before = {registry.name: set(registry.registered()) for registry in registries()}
    for registry in registries():
        registry.refresh()
    yield site
    sys.path.remove(str(site))
    for name in ("vlmhb_good", "vlmhb_broken", "vlmhb_hollow"):
        sys.modules.pop(name, None)
    for registry in registries():  # what the plugins registered, however their modules were imported
        for name in set(registry.registered()) - before[registry.name]:
            registry.remove(name)
        registry.refresh()


def test_names_are_known_before_any_plugin_code_runs(plugin_site):
    import metrics
    from environments.backends import BACKENDS
    from vlmhyperbench.datasets import dataset_formats, perturbation_names

    assert "length_ratio" in metrics.metric_names() and "broken_metric" in metrics.metric_names()
    assert {"lines", "broken_format", "jsonl"} <= set(dataset_formats())
    assert "invert" in perturbation_names() and "remote" in BACKENDS.names()
    assert "vlmhb_good" not in sys.modules and "vlmhb_broken" not in sys.modules


def test_each_registry_loads_its_plugin_on_first_use(plugin_site):
    import polars as pl

    import metrics
    from environments.backends import BACKENDS
    from vlmhyperbench.config import default_metrics, pick_template
    from vlmhyperbench.datasets import parse_perturbation, read_dataset

    table = pl.DataFrame({"sample_id": ["a"], "prediction": ["abcd"], "references": [["ab"]]})
    assert metrics.score("length_ratio", table)["value"].to_list() == [2.0]
    assert "vlmhb_good" in sys.modules
    assert parse_perturbation("invert+blur:1").steps == (("invert", 1.0), ("blur", 1.0))
    (plugin_site / "data").mkdir()
    (plugin_site / "data" / "lines.txt").write_text("one\ntwo\n")
    assert [s.references for s in read_dataset("lines", plugin_site / "data")] == [("one",), ("two",)]
    assert BACKENDS.get("remote").external
    assert default_metrics("transcribe") == ["length_ratio", "cer"]
    assert pick_template("transcribe", None, "", "") == "Copy the text. {{ question }}"


def test_server_engines_come_from_the_models_environment(plugin_site):
    from vlmhb_server.engines import engine_names, load_engine_class

    assert {"echo", "broken_engine", "rapidocr"} <= set(engine_names())
    assert load_engine_class("echo").__name__ == "EchoEngine"
    with pytest.raises(ImportError, match="plugin server engine 'broken_engine' from package 'vlmhb-broken'"):
        load_engine_class("broken_engine")


def test_a_broken_plugin_names_its_package_and_entry_point(plugin_site):
    import metrics
    from vlmhb_core.errors import PluginError
    from vlmhyperbench.datasets import read_dataset

    with pytest.raises(PluginError) as err:
        metrics.get_metric("broken_metric")
    text = str(err.value)
    assert "plugin metric 'broken_metric' from package 'vlmhb-broken 0.1'" in text
    assert "entry point 'broken_metric = vlmhb_broken:metric_fn' in group 'vlmhyperbench.metrics'" in text
    assert "ModuleNotFoundError: No module named 'a_module_that_is_not_installed'" in text
    with pytest.raises(PluginError, match="registers no metric named 'hollow'"):
        metrics.get_metric("hollow")
    with pytest.raises(PluginError, match="dataset format 'broken_format' from package 'vlmhb-broken 0.1'"):
        read_dataset("broken_format", plugin_site)
    with pytest.raises(metrics.UnknownNameError):  # an unknown name is still an unknown name
        metrics.get_metric("no_such_metric")


def test_config_check_reports_a_broken_plugin_on_its_rows_and_keeps_the_others(plugin_site, write_config):
    from vlmhyperbench.config import expand_plan, load_catalog

    data = (DEFAULT_CONFIG / "data").resolve()
    root = write_config(
        {
            "models.csv": (DEFAULT_CONFIG / "models.csv").read_text(),
            "datasets.csv": "name;task;format;path;metrics\n"
            f"good;ocr;vlmhyperbench;{data}/ocr.csv;cer length_ratio\n"
            f"bad-metric;ocr;vlmhyperbench;{data}/ocr.csv;cer broken_metric\n"
            f"bad-format;ocr;broken_format;{data};cer\n",
        }
    )
    catalog = load_catalog(root)  # no exception: the broken plugin costs its rows only
    assert set(catalog.datasets) == {"good", "bad-metric", "bad-format"}
    warnings = [str(w) for w in catalog.warnings]
    assert len(warnings) == 2
    assert warnings[0].startswith(
        f"{root / 'datasets.csv'}:3: column 'metrics': plugin metric 'broken_metric' "
        "from package 'vlmhb-broken 0.1'"
    )
    assert warnings[1].startswith(
        f"{root / 'datasets.csv'}:4: column 'format': plugin dataset format 'broken_format'"
    )
    assert all("only the pairs that use it will fail" in w for w in warnings)
    assert len(expand_plan(catalog)) == 6


def test_listing_shows_every_registry_with_the_package_of_each_name(plugin_site):
    from flows.cli.registries import REGISTRIES

    rows = {(r.registry, r.name): r for r in (row for registry in REGISTRIES for row in registry.listing())}
    assert {r for r, _ in rows} == {registry.name for registry in REGISTRIES}
    assert rows[("metrics", "cer")].package == "vlmhyperbench" and rows[("metrics", "cer")].status == "ok"
    assert rows[("server_engines", "rapidocr")].package == "vlmhyperbench"
    for key in (
        ("metrics", "length_ratio"),
        ("dataset_formats", "lines"),
        ("backends", "remote"),
        ("tasks", "transcribe"),
        ("perturbations", "invert"),
        ("server_engines", "echo"),
    ):
        assert (rows[key].package, rows[key].status) == ("vlmhb-good 0.1", "ok"), key
    broken = rows[("metrics", "broken_metric")]
    assert broken.package == "vlmhb-broken 0.1" and broken.status.startswith("error: ModuleNotFoundError")


def test_cli_list_prints_the_tables(plugin_site, capsys):
    from flows.benchmark import main

    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for text in (
        "metrics",
        "vlmhyperbench.dataset_formats",
        "length_ratio",
        "vlmhb-good 0.1",
        "broken_metric",
    ):
        assert text in out
