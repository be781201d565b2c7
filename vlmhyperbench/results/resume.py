"""A resumed run is the run it names: its parameters come from its manifest, never from the new command line.

    params = resumed_parameters(run, given={"models": ["qwen"], "max_samples": None, ...}, dispatch=None)

The manifest records what the run was started with (`parameters`: models, datasets, max_samples, env,
dispatch; `config`: the config folder). A resume takes every one of them from there, so that a run's rows
are never a mix of two plans (3 samples here, 36 there; a model the run never had; venvs where it ran in
Docker). An option given again with its stored value is fine; one that differs is a ConfigError that names
the option, the stored value and the given one. The config folder's files must still be those the run
copied when it started (config/): a changed models.csv would change the models under the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmhb_core.errors import ConfigError, ConfigErrors
from vlmhyperbench.results.run_folder import RunFolder

OPTIONS = {
    "models": "--models",
    "datasets": "--datasets",
    "max_samples": "--limit",
    "env": "--env",
    "dispatch": "VLMHB_DISPATCH",
}
"""Each stored parameter and the option (or setting) that gives it."""
CONFIG_FILES = ("models.csv", "datasets.csv", "prompts.csv", "plan.csv", "gates.csv", "thresholds.csv")
"""The files of a config folder (vlmhyperbench.config): one added since the run started changes it too."""


@dataclass(frozen=True)
class RunParameters:
    """What a run is: its config folder and the options it was started with."""

    config: str
    models: list[str] | None = None
    datasets: list[str] | None = None
    max_samples: int | None = None
    env: str | None = None
    dispatch: str | None = None
    """`local` or `pool`; None in manifests written before it was recorded (the current setting then)."""

    def as_dict(self) -> dict[str, Any]:
        """The manifest's `parameters` (the config is the manifest's own `config`)."""
        return {name: getattr(self, name) for name in OPTIONS}


def resumed_parameters(run: RunFolder, given: dict[str, Any], *, config: str | None = None) -> RunParameters:
    """RUN's stored parameters. GIVEN: the options of the resuming command that were given (None: not
    given), keyed as OPTIONS; CONFIG: the --config given, if any. ConfigErrors listing every option that
    differs from the stored value, and every config file changed since the run started."""
    manifest = run.read_manifest()
    stored = manifest.parameters
    folder = Path(manifest.config or run.config_dir)
    errors: list[ConfigError] = []
    if not folder.is_dir():
        raise ConfigError(f"cannot resume {run.run_id}: its config folder {folder} no longer exists")
    if config is not None and Path(config).resolve() != folder.resolve():
        errors.append(_differs(run.run_id, "--config", str(folder), config))
    for name, option in OPTIONS.items():
        value = given.get(name)
        if value is None or name not in stored or stored[name] is None and name == "dispatch":
            continue
        if _normal(value) != _normal(stored[name]):
            errors.append(_differs(run.run_id, option, _show(name, stored[name]), _show(name, value)))
    errors += _changed_files(run, folder)
    if errors:
        raise ConfigErrors(errors)
    dispatch = stored.get("dispatch") or given.get("dispatch")
    return RunParameters(
        config=str(folder),
        models=stored.get("models"),
        datasets=stored.get("datasets"),
        max_samples=stored.get("max_samples"),
        env=stored.get("env"),
        dispatch=dispatch,
    )


def _normal(value: Any) -> Any:
    """Lists compare as sets of names (`--models a,b` is `--models b,a`)."""
    return sorted(value) if isinstance(value, (list, tuple)) else value


NOT_GIVEN = {
    "models": "every planned model",
    "datasets": "every planned dataset",
    "max_samples": "no limit",
    "env": "each row's env",
}


def _show(name: str, value: Any) -> str:
    if value is None:
        return NOT_GIVEN.get(name, "none")
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _differs(run_id: str, option: str, stored: str, given: str) -> ConfigError:
    return ConfigError(
        f"{option}: run {run_id} was started with {stored}, this command gives {given}. A resumed run "
        f"continues exactly the run it names: leave {option} out to resume it, or start a new run "
        "(without --resume) for other models, datasets or options"
    )


def _changed_files(run: RunFolder, folder: Path) -> list[ConfigError]:
    """The config files that differ from the copy the run took when it started (or that it did not have)."""
    copy = run.config_dir
    if not copy.is_dir():  # a run folder from before copies were kept: nothing to compare with
        return []
    errors = []
    names = {p.name for p in copy.iterdir()} | set(CONFIG_FILES)
    for original in sorted(folder / name for name in names if (folder / name).is_file()):
        kept = copy / original.name
        if not kept.is_file():
            errors.append(
                ConfigError(
                    f"{original}: added since run {run.run_id} started (its copy {copy} has no "
                    f"{original.name}): remove it to resume, or start a new run",
                )
            )
        elif kept.read_bytes() != original.read_bytes():
            errors.append(
                ConfigError(
                    f"{original}: changed since run {run.run_id} started (its copy: {kept}): restore it to "
                    "resume, or start a new run with the new config",
                )
            )
    return errors
