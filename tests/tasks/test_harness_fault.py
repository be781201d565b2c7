"""Which failures are the harness's (errored) and which the model's (failed), and what each makes of a
model's subflow state and of the run's parallelism. The exceptions are the ones Prefect's client and httpx
raise (built with real requests and responses); the e2e cases are in tests/flows/test_harness_faults.py."""

from __future__ import annotations

import httpx
import pytest
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.cli.parallel import PARALLEL_BY_KIND, parallel_limits
from flows.evaluate_model import model_state
from tasks.runtime import harness_fault, pair_failure
from vlmhb_core.errors import ServerError
from vlmhyperbench.config import load_catalog
from vlmhyperbench.results import ModelResult, PairKey, PairOutcome

API = "http://127.0.0.1:4200/api"


def api_error(status: int, path: str = "/task_runs/") -> PrefectHTTPStatusError:
    request = httpx.Request("POST", API + path)
    response = httpx.Response(status, request=request, json={"exception_message": "Service Unavailable"})
    return PrefectHTTPStatusError.from_httpx_error(
        httpx.HTTPStatusError("server error", request=request, response=response)
    )


def chained(outer: BaseException, cause: BaseException) -> BaseException:
    try:
        raise outer from cause
    except BaseException as exc:
        return exc


@pytest.fixture
def api():
    with temporary_settings(updates={PREFECT_API_URL: API}):
        yield


@pytest.mark.parametrize(
    "exc, harness",
    [
        (api_error(503), True),  # overloaded, its database locked
        (api_error(500), True),
        (api_error(429), True),
        (api_error(404, "/flow_runs/x"), False),  # a wrong request is a bug, not load
        (httpx.ConnectError("refused", request=httpx.Request("GET", API + "/health")), True),
        (httpx.ReadTimeout("timed out", request=httpx.Request("POST", API + "/flow_runs/")), True),
        # the same errors against the model's endpoint are the model's
        (httpx.ConnectError("refused", request=httpx.Request("GET", "http://127.0.0.1:9/v1/models")), False),
        (ServerError("the server exited with code 1"), False),
        (ValueError("bad answer"), False),
        (chained(RuntimeError("Failed to reach API"), api_error(503)), True),
    ],
)
def test_harness_faults_are_told_from_model_faults(api, exc, harness):
    assert harness_fault(exc) is harness


def test_a_harness_fault_errors_the_pair_and_others_fail_it(api):
    key = PairKey(model="m", dataset="d")
    errored = pair_failure(key, api_error(503))
    assert errored.status == "errored" and errored.error.startswith("harness fault, not the model's: ")
    failed = pair_failure(key, ServerError("the server exited with code 1"))
    assert failed.status == "failed" and failed.error == "ServerError: the server exited with code 1"


def test_a_model_whose_pairs_only_errored_crashes_and_one_that_failed_fails():
    ok = PairOutcome.completed(PairKey(model="m", dataset="a"))
    lost = PairOutcome.errored(PairKey(model="m", dataset="b"), "harness fault, not the model's: 503")
    broken = PairOutcome.failed(PairKey(model="m", dataset="c"), "ServerError: died")
    assert model_state("m", ModelResult(pairs=[ok])).is_completed()
    crashed = model_state("m", ModelResult(pairs=[ok, lost]))
    assert crashed.is_crashed() and "errored by the harness, not the model" in crashed.message
    assert model_state("m", ModelResult(pairs=[ok, lost, broken])).is_failed()


def test_models_run_side_by_side_by_kind_unless_one_limit_is_set(write_config):
    root = write_config(
        {
            "models.csv": "name;backend;model;base_url;env;gpus\n"
            "remote;openai;x;http://127.0.0.1:9/v1;none;0\n"
            "ocr;rapidocr;;;venv;0\n"
            "big;vllm;org/model;;venv;1\n",
            "datasets.csv": "name;task;format;path\n",
        }
    )
    catalog = load_catalog(root, check_paths=False)
    limits = parallel_limits(catalog, None)
    assert limits["remote"]._value == PARALLEL_BY_KIND["endpoint"]
    assert limits["ocr"]._value == PARALLEL_BY_KIND["server"]
    assert limits["big"]._value == PARALLEL_BY_KIND["gpu"] == 1
    shared = parallel_limits(catalog, 3)
    assert shared["remote"] is shared["big"] and shared["ocr"]._value == 3
    # On a pool whose GPU hosts hold 3 slots in all, as many served models run as the hosts take.
    pooled = parallel_limits(catalog, None, pool_slots=3)
    assert (pooled["big"]._value, pooled["ocr"]._value, pooled["remote"]._value) == (3, 3, 16)
