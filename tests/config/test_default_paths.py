"""`default:PATH` in datasets.csv names a file of the embedded default config, so that a config copied
anywhere (the examples) still finds the sample data."""

from __future__ import annotations

import shutil

from tests.support.support import REPO
from vlmhyperbench.config import load_catalog


def test_an_example_config_copied_elsewhere_reads_the_default_data(tmp_path):
    copy = tmp_path / "anywhere" / "mixed"
    shutil.copytree(REPO / "configs" / "examples" / "mixed", copy)
    catalog = load_catalog(copy)
    assert catalog.datasets["docs-vqa"].path == str((REPO / "configs/default/data/vqa.csv").resolve())
    assert catalog.dataset_path(catalog.datasets["docs-ocr"]).is_file()


def test_no_example_or_ci_config_climbs_out_of_its_folder():
    for datasets in [
        *REPO.glob("configs/examples/*/datasets.csv"),
        REPO / "deployments/ci/config/datasets.csv",
    ]:
        assert "../" not in datasets.read_text(), datasets
