"""Offline bundles and data sources: export to a folder or a tarball, import that checks every hash, a
missing, changed or unexpected file named (and nothing left behind), `hf://` through the hub's cache, and
`python -m flows.cli.bundle` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile

import pytest

from flows.cli.bundle import main as bundle_main
from tests.support.support import REPO
from vlmhb_core.errors import BundleError, DatasetError
from vlmhyperbench.benchmarks import (
    BENCHMARKS,
    MANIFEST,
    export_bundle,
    import_bundle,
    read_manifest,
    resolve_source,
    verify_bundle,
)
from vlmhyperbench.benchmarks._hub_layouts import write_benchmark
from vlmhyperbench.benchmarks._sources import _resolved

COMMIT = "0123456789abcdef0123456789abcdef01234567"
ROWS = [{"question": f"q{i}", "answer": str(i), "type": "human_test"} for i in range(5)]


@pytest.fixture
def chartqa(tmp_path):
    root = write_benchmark(tmp_path / "ChartQA", "chartqa", ROWS)
    (root / "README.md").write_text("# ChartQA\n")
    (root / "notes.txt").write_text("not part of the benchmark\n")
    return root


def test_export_then_import_a_folder_bundle(tmp_path, chartqa):
    bench = BENCHMARKS.get("chartqa")
    out = export_bundle(bench, resolve_source(str(chartqa), benchmark=bench), tmp_path / "bundle")
    manifest = read_manifest(out)
    assert sorted(manifest.files) == ["README.md", "data/test-00000-of-00001.parquet"]
    assert manifest.benchmark == "chartqa" and manifest.source == str(chartqa)
    assert all(len(meta["sha256"]) == 64 and meta["size"] > 0 for meta in manifest.files.values())
    dest = import_bundle(out, tmp_path / "imported")
    assert len(bench.read(dest)) == 5
    source = resolve_source(str(dest), benchmark=bench)
    assert source.kind == "bundle"


@pytest.mark.parametrize("damage", ["changed", "missing", "unexpected"])
def test_a_damaged_bundle_names_the_file_and_nothing_is_imported(tmp_path, chartqa, damage):
    bench = BENCHMARKS.get("chartqa")
    out = export_bundle(bench, resolve_source(str(chartqa), benchmark=bench), tmp_path / "bundle")
    shard = out / "data" / "test-00000-of-00001.parquet"
    if damage == "changed":
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF  # same size, other content
        shard.write_bytes(bytes(data))
    elif damage == "missing":
        shard.unlink()
    else:
        (out / "data" / "test-00001-of-00001.parquet").write_bytes(b"PAR1")
    expected = {
        "changed": rf"{shard}: changed: its sha256 is [0-9a-f]{{64}}, the manifest says [0-9a-f]{{64}}",
        "missing": rf"{shard}: missing",
        "unexpected": r"test-00001-of-00001.parquet: unexpected file",
    }[damage]
    with pytest.raises(BundleError, match=expected):
        verify_bundle(out)
    with pytest.raises(BundleError, match=expected):
        import_bundle(out, tmp_path / "imported")
    assert not (tmp_path / "imported").exists()
    with pytest.raises(BundleError, match=expected):
        resolve_source(str(out), benchmark=bench)


def test_a_tarball_bundle_is_checked_before_it_is_unpacked_in_place(tmp_path, chartqa, monkeypatch):
    monkeypatch.setenv("VLMHB_CACHE_DIR", str(tmp_path / "cache"))
    from vlmhb_core.settings import get_settings

    get_settings.cache_clear()
    bench = BENCHMARKS.get("chartqa")
    tarball = export_bundle(bench, resolve_source(str(chartqa), benchmark=bench), tmp_path / "chartqa.tar.gz")
    with tarfile.open(tarball) as tar:
        assert sorted(tar.getnames()) == sorted([MANIFEST, "README.md", "data/test-00000-of-00001.parquet"])
    source = resolve_source(str(tarball), benchmark=bench)  # imported once into the cache, checked there
    assert source.kind == "bundle" and source.path.is_relative_to(tmp_path / "cache" / "bundles")
    assert len(bench.read(source.path)) == 5
    # A tarball whose member was changed: rebuilt by hand with the original manifest.
    bad = tmp_path / "bad.tar"
    with tarfile.open(tarball) as src, tarfile.open(bad, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.endswith(".parquet"):
                data = data[:-8] + b"PAR1PAR1"
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            import io

            dst.addfile(info, io.BytesIO(data))
    with pytest.raises(BundleError, match=rf"{bad}:data/test-00000-of-00001.parquet: changed"):
        import_bundle(bad, tmp_path / "imported")
    assert not (tmp_path / "imported").exists() and not list(tmp_path.glob(".imported.*"))
    get_settings.cache_clear()


def test_hf_paths_resolve_through_the_hub_cache_offline(tmp_path, monkeypatch, chartqa):
    """A stand-in for a hub download (none can happen here): the hub cache's own layout, made by hand."""
    cache = tmp_path / "hub"
    repo = cache / "datasets--lmms-lab--ChartQA"
    snapshot = repo / "snapshots" / COMMIT
    (snapshot / "data").mkdir(parents=True)
    (snapshot / "data" / "test-00000-of-00001.parquet").write_bytes(
        (chartqa / "data" / "test-00000-of-00001.parquet").read_bytes()
    )
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    _resolved.clear()
    bench = BENCHMARKS.get("chartqa")
    for spec in ("hf://lmms-lab/ChartQA", f"hf://lmms-lab/ChartQA@{COMMIT}"):
        source = resolve_source(spec, benchmark=bench, split="test")
        assert (source.kind, source.revision, source.path) == ("hub", COMMIT, snapshot)
    assert len(bench.read(source.path)) == 5
    with pytest.raises(
        DatasetError, match=r"hf://lmms-lab/Other: not in the Hugging Face cache and HF_HUB_OFFLINE"
    ):
        resolve_source("hf://lmms-lab/Other", benchmark=bench)
    with pytest.raises(DatasetError, match=r"is not a hub path"):
        resolve_source("hf://only-org", benchmark=bench)
    # A local copy inside the cache knows its revision too.
    assert resolve_source(str(snapshot), benchmark=bench).revision == COMMIT
    _resolved.clear()


def test_the_bundle_command(tmp_path, chartqa, capsys):
    tarball = tmp_path / "chartqa.tgz"
    assert bundle_main(["export", "chartqa", str(chartqa), str(tarball), "--split", "test"]) == 0
    assert bundle_main(["verify", str(tarball)]) == 0
    assert bundle_main(["import", str(tarball), str(tmp_path / "data" / "chartqa")]) == 0
    out = capsys.readouterr().out
    assert "every hash checked" in out and f"chartqa;chartqa;{tmp_path / 'data' / 'chartqa'};test" in out
    assert bundle_main(["import", str(tarball), str(tmp_path / "data" / "chartqa")]) == 1  # exists already
    assert "already exists" in capsys.readouterr().err
    assert bundle_main(["export", "chartqa", str(chartqa), str(tmp_path / "x"), "--split", "val"]) == 1
    assert "has no split 'val' (allowed: test)" in capsys.readouterr().err
    assert bundle_main(["export", "chartqaa", str(chartqa), str(tmp_path / "y")]) == 2
    assert "did you mean 'chartqa'" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "data" / "chartqa" / MANIFEST).read_text())
    (tmp_path / "data" / "chartqa" / "README.md").write_text("changed\n")
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli.bundle", "verify", str(tmp_path / "data" / "chartqa")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert f"{tmp_path / 'data' / 'chartqa' / 'README.md'}: changed" in proc.stderr
    assert manifest["split"] == "test" and manifest["format"] == "vlmhyperbench-bundle"
