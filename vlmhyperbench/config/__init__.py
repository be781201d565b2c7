"""The configuration as code: one folder of CSV files, read, typed and checked before anything runs.

    catalog, pairs = plan_pairs("configs/default", models=["qwen"])

Modules: csv_rows (reading `;`/`,` CSV with line numbers), rows (typed rows), catalog (load_catalog:
every file checked against the registries), plan (Pair, expand_plan), data (check_data: every dataset
file of the plan, before anything runs), task_kinds (the TASKS registry:
built-in prompt, default metrics), prompts (prompts.csv lookup and rendering), gates and thresholds
(the optional gates.csv and thresholds.csv), default (where the embedded default config is).
"""

from vlmhyperbench.config.catalog import Catalog, PluginRowError, check_api_keys, load_catalog
from vlmhyperbench.config.csv_rows import CsvRow, read_csv_rows
from vlmhyperbench.config.data import check_data, dataset_samples, pair_samples
from vlmhyperbench.config.default import DEFAULT_CONFIG, default_config
from vlmhyperbench.config.gates import GateRow
from vlmhyperbench.config.plan import Pair, dropped_datasets, expand_plan, plan_pairs, synthetic_datasets
from vlmhyperbench.config.prompts import pick_template, render_prompt
from vlmhyperbench.config.rows import DatasetRow, ModelRow, PlanRow, PromptRow
from vlmhyperbench.config.task_kinds import TASKS, TaskKind, default_aggregators, default_metrics

__all__ = [
    "DEFAULT_CONFIG",
    "TASKS",
    "Catalog",
    "CsvRow",
    "DatasetRow",
    "GateRow",
    "ModelRow",
    "Pair",
    "PlanRow",
    "PluginRowError",
    "PromptRow",
    "TaskKind",
    "check_api_keys",
    "check_data",
    "dataset_samples",
    "default_aggregators",
    "default_config",
    "default_metrics",
    "dropped_datasets",
    "synthetic_datasets",
    "expand_plan",
    "load_catalog",
    "pair_samples",
    "pick_template",
    "plan_pairs",
    "read_csv_rows",
    "render_prompt",
]
