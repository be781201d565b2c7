"""Backends: the argv each one's server is started with, readiness against real processes, the
bundled example configs. Fast; the end-to-end runs through the benchmark are in test_backends_e2e.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from environments.backends import BACKENDS
from environments.launch import ExternalServer, WatchedServerProcess, launch_for, served_name
from environments.process import ServerProcess, free_port, wait_until_ready
from tests.support.support import REPO
from vlmhb_core.errors import ServerError
from vlmhyperbench.config import ModelRow, expand_plan, load_catalog

EXAMPLES = REPO / "configs" / "examples"


def argv(**row) -> list[str]:
    model_row = ModelRow(**{"name": "m", "model": "org/vlm-7b", **row})
    return BACKENDS.get(model_row.backend).argv(launch_for(model_row, BACKENDS.get(model_row.backend), 8123))


def flag(args: list[str], name: str) -> str:
    assert args.count(name) == 1, f"{name} appears {args.count(name)} times in {args}"
    return args[args.index(name) + 1]


def test_vllm_argv_names_model_port_gpus_and_the_image_limit():
    args = argv(backend="vllm", served_model_name="vlm", gpus=2, args=("--max-model-len", "4096"))
    assert args[:2] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert flag(args, "--model") == "org/vlm-7b" and flag(args, "--served-model-name") == "vlm"
    assert flag(args, "--host") == "127.0.0.1" and flag(args, "--port") == "8123"
    assert flag(args, "--tensor-parallel-size") == "2"
    assert json.loads(flag(args, "--limit-mm-per-prompt")) == {"image": 8}, "pages come several to a request"
    assert args[-2:] == ["--max-model-len", "4096"], "extra args go last, as written"


@pytest.mark.parametrize(
    "user", [("--limit-mm-per-prompt", '{"image": 2}'), ('--limit-mm-per-prompt={"image": 2}',)]
)
def test_vllm_user_args_override_the_image_limit(user):
    args = argv(backend="vllm", args=user)
    assert [a for a in args if a.startswith("--limit-mm-per-prompt")] == [user[0]], "the default is dropped"
    assert args[-len(user) :] == list(user)


def test_vllm_and_sglang_without_gpus_still_ask_for_one_and_default_the_served_name():
    args = argv(backend="vllm")
    assert flag(args, "--tensor-parallel-size") == "1" and flag(args, "--served-model-name") == "m"
    args = argv(backend="sglang", gpus=4, args=("--mem-fraction-static", "0.8"))
    assert args[:2] == ["-m", "sglang.launch_server"]
    assert flag(args, "--model-path") == "org/vlm-7b" and flag(args, "--tp-size") == "4"
    assert flag(args, "--served-model-name") == "m" and args[-2:] == ["--mem-fraction-static", "0.8"]


def test_own_server_argv_passes_engine_args():
    args = argv(backend="tesseract", model="", args=("--engine-arg", "lang=eng"))
    assert args[:4] == ["-m", "vlmhb_server", "--engine", "tesseract"]
    assert flag(args, "--model") == "tesseract" and args[-2:] == ["--engine-arg", "lang=eng"]


@pytest.mark.parametrize("backend", ["transformers", "transformers-serve"])
def test_transformers_rows_run_transformers_serve_with_their_engine_args_as_its_flags(backend):
    """A row written for the retired engine: each engine-arg becomes serve's flag or the client's setting."""
    engine = [f"--engine-arg={a}" if a.startswith("dtype") else a for a in ENGINE_ARGS_OF_AN_OLD_ROW]
    args = argv(backend=backend, model="/models/tiny", args=(*engine, "--continuous-batching"))
    assert args[:5] == ["-m", "transformers.cli.transformers", "serve", "/models/tiny", "--host"]
    assert flag(args, "--host") == "127.0.0.1" and flag(args, "--port") == "8123"
    assert flag(args, "--device") == "cpu" and flag(args, "--dtype") == "bfloat16"
    assert flag(args, "--attn-implementation") == "sdpa" and "--trust-remote-code" in args
    assert "--continuous-batching" in args, "serve's own flags pass as written"
    assert not [a for a in args if "engine-arg" in a or "max_pixels" in a or "warmup" in a]
    read = BACKENDS.get(backend).read_args(tuple(engine))
    assert read.max_pixels == 1_500_000 and read.warm_up is False
    assert BACKENDS.get(backend).read_args(("--device", "cpu")).warm_up is True, "warm-up by default"
    assert flag(argv(backend=backend, args=("--engine-arg", "device_map=auto")), "--device") == "auto"


ENGINE_ARGS_OF_AN_OLD_ROW = (
    *("--engine-arg", "device=cpu", "dtype=bfloat16", "--engine-arg", "attn_implementation=sdpa"),
    *("--engine-arg", "trust_remote_code=true", "--engine-arg", "max_pixels=1500000"),
    *("--engine-arg", "max_new_tokens=64", "--engine-arg", "warmup=false"),
)


@pytest.mark.parametrize(
    "args, message",
    [
        (("--engine-arg", "beams=4"), "unknown engine-arg 'beams' for transformers serve; known: dtype,"),
        (("--engine-arg", "dtype"), "--engine-arg must be KEY=VALUE, got 'dtype'"),
        (
            ("--engine-arg", "dtype=float64"),
            "engine-arg dtype must be one of auto, float32, bfloat16, float16",
        ),
        (
            ("--engine-arg", "device=cpu", "--device", "cuda"),
            "engine-arg 'device' and the flag --device both",
        ),
        (("--engine-arg", "device=cpu", "--engine-arg", "device_map=auto"), "give device or device_map, not"),
        (("--engine-arg", "max_pixels=lots"), "engine-arg max_pixels must be a positive integer, got 'lots'"),
        (("--engine-arg", "warmup=yes"), "engine-arg warmup must be true or false, got 'yes'"),
        (("--engine-arg", "device=cpu", "--engine-arg", "device=cuda"), "engine-arg 'device' is given twice"),
    ],
)
def test_a_bad_engine_arg_is_named(args, message):
    with pytest.raises(ValueError) as info:
        BACKENDS.get("transformers").read_args(args)
    assert message in str(info.value)


def test_transformers_serve_cannot_rename_so_the_client_names_the_model_as_given():
    row = ModelRow(name="smol", backend="transformers", model="/models/smol", served_model_name="smolvlm")
    assert served_name(row, BACKENDS.get("transformers")) == "/models/smol"
    assert served_name(row.model_copy(update={"backend": "vllm"}), BACKENDS.get("vllm")) == "smolvlm"


def test_every_backend_has_a_ready_path_and_only_openai_is_external():
    assert {n for n, b in BACKENDS.items() if b.external} == {"openai"}
    assert BACKENDS["vllm"].ready_path == BACKENDS["sglang"].ready_path == "/v1/models"


def start(tmp_path: Path, code: str) -> ServerProcess:
    return ServerProcess([sys.executable, "-c", code], port=free_port(), log_path=tmp_path / "server.log")


def test_readiness_reports_a_crash_with_the_log_tail(tmp_path: Path):
    server = start(tmp_path, "import sys; print('loading weights'); sys.exit('CUDA out of memory')")
    try:
        with pytest.raises(ServerError, match=r"exited with code 1 before it was ready") as info:
            wait_until_ready(server, "/v1/models", 30)
        assert "loading weights" in str(info.value) and "CUDA out of memory" in str(info.value)
    finally:
        server.stop()


def test_readiness_times_out_with_the_log_tail(tmp_path: Path):
    server = start(tmp_path, "import time; print('still loading', flush=True); time.sleep(60)")
    try:
        with pytest.raises(ServerError, match=r"did not answer /v1/models within 1 s") as info:
            wait_until_ready(server, "/v1/models", 1.0)
        assert "still loading" in str(info.value)
    finally:
        server.stop()
    assert not server.is_alive()


def test_gpu_memory_is_none_without_nvml(tmp_path: Path):
    server = WatchedServerProcess(
        [sys.executable, "-c", "import time; time.sleep(30)"], port=free_port(), log_path=tmp_path / "s.log"
    )
    try:
        assert server.peak_gpu_mb is None  # no GPU (or no nvidia-ml-py) here
    finally:
        server.stop()
    assert server.peak_rss_mb and server.peak_rss_mb > 1
    assert ExternalServer("http://127.0.0.1:9").peak_gpu_mb is None


@pytest.mark.parametrize("folder", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_example_configs_load(folder: str):
    catalog = load_catalog(EXAMPLES / folder)
    assert expand_plan(catalog), "every example plans at least one pair"
    assert {f.name for f in catalog.files} >= {"models.csv", "datasets.csv", "plan.csv"}


def test_examples_cover_every_backend_and_the_mixed_file_has_five_kinds():
    folders = {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
    assert folders >= {
        "openai-endpoint",
        "vllm",
        "sglang",
        "transformers-local",
        "tesseract",
        "rapidocr",
        "mixed",
    }
    mixed = load_catalog(EXAMPLES / "mixed")
    assert sorted(m.backend for m in mixed.models.values()) == [
        "openai",
        "rapidocr",
        "tesseract",
        "transformers",
        "vllm",
    ]
    pairs = expand_plan(mixed)
    assert all(p.dataset.task == "ocr" for p in pairs if p.model.backend in ("tesseract", "rapidocr"))
    for folder in folders:
        for row in load_catalog(EXAMPLES / folder).models.values():
            assert not row.api_key_env or row.api_key_env.isupper(), "a variable's name, never a key"


def test_gpu_memory_of_the_whole_server_tree_through_nvml(tmp_path: Path, monkeypatch):
    """No GPU exists here, so NVML is a stand-in (FakeNVML) that reports 100 MB for every process whose
    command line carries a marker, and 999 MB for a process outside the server's tree."""
    import time
    import types

    import psutil

    marker = f"vlmhb-gpu-marker-{tmp_path.name}"

    def processes(handle):
        ours = [
            types.SimpleNamespace(pid=p.pid, usedGpuMemory=100_000_000)
            for p in psutil.process_iter(["cmdline"])
            if marker in " ".join(p.info["cmdline"] or [])
        ]
        return [*ours, types.SimpleNamespace(pid=1, usedGpuMemory=999_000_000)]

    fake_nvml = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetComputeRunningProcesses=processes,
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml)
    child = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', '{marker}']); "
        "time.sleep(30)"
    )
    server = WatchedServerProcess(
        [sys.executable, "-c", child, marker], port=free_port(), log_path=tmp_path / "s.log"
    )
    try:
        deadline = time.monotonic() + 20
        while (server.peak_gpu_mb or 0) < 200 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.stop()
    assert server.peak_gpu_mb == 200.0, "the server and its worker, not the process outside the tree"


def test_peak_rss_covers_the_whole_server_tree(tmp_path: Path):
    """A known server: a small process whose worker (a child, as `transformers serve`'s model process)
    holds 200 MB; the peak is the tree's, not the parent's alone."""
    import time

    import psutil

    worker = "import time; ballast = b'x' * 200_000_000; print('held', flush=True); time.sleep(60)"
    parent = (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {worker!r}]); time.sleep(60)"
    )
    server = WatchedServerProcess(
        [sys.executable, "-c", parent], port=free_port(), log_path=tmp_path / "s.log"
    )
    try:
        deadline = time.monotonic() + 30
        while "held" not in server.log_tail() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # a few samples while the worker holds its ballast
        own = psutil.Process(server.proc.pid).memory_info().rss / 1e6
    finally:
        server.stop()
    assert own < 100, "the parent alone holds little"
    assert 200 < server.peak_rss_mb < 200 + 2 * 100, "the worker's ballast and both interpreters"


def test_the_gpu_script_says_in_one_line_that_there_is_no_gpu(tmp_path: Path):
    import subprocess

    sys.path.insert(0, str(REPO / "bench"))
    try:
        from gpu_transformers import gpu_count
    finally:
        sys.path.remove(str(REPO / "bench"))
    if gpu_count():
        pytest.skip("a GPU is here: run bench/gpu_transformers.py itself")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu_transformers.py")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines() == [
        "no NVIDIA GPU here (NVML and nvidia-smi see none): nothing measured, nothing started"
    ]
