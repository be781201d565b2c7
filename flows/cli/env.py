"""python -m environments build|list|prune [--config DIR ...] [--models A,B] [--env venv|docker]

build   pre-builds the environments of a config's models and of the scorers its datasets use
list    shows every cached environment with its spec, size, last use and the config that used it last
prune   removes cached environments: those that none of the --config folders uses (for their models and
        scorers), and/or those unused for --unused-days DAYS. One of the two is required: the cache is shared
        by every config and checkout on the machine, so prune never guesses which configs still matter.
        With --images, the orchestrator and job images of other code than this checkout's instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from vlmhb_core.console import FOLDER, command_parser
from vlmhb_core.errors import ConfigError, EnvBuildError

PROG = "python -m environments"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line's parser (also `vlmhb env`'s, under PROG)."""
    parser = command_parser(
        prog,
        __doc__.split("\n\n", 1)[1],  # what each command does
        "build --config configs/mine --env docker   # CI/CD: bake the images before the run",
        "list",
        "prune --config configs/default --config configs/mine --dry-run",
        "prune --images --older-than 30",
    )
    parser.add_argument("command", choices=["build", "list", "prune"], help="what to do (above)")
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        metavar="DIR",
        help="config folder (build: default configs/default; prune: keep what these configs use; repeatable)",
    ).complete = FOLDER
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    parser.add_argument("--env", choices=["venv", "docker"], default=None)
    parser.add_argument(
        "--unused-days",
        "--older-than",
        dest="older_than",
        type=float,
        default=None,
        metavar="DAYS",
        help="prune: remove environments unused for DAYS (with --config: also those of the configs)",
    )
    parser.add_argument("--dry-run", action="store_true", help="prune: only say what would be removed")
    parser.add_argument(
        "--images",
        action="store_true",
        help="prune: the work pools' orchestrator and job images of older code, not environments",
    )
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """The command line: `python -m environments ARGV`, or `vlmhb env ARGV` (PROG names it in messages)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.images:
        if args.command != "prune":
            parser.error("--images goes with prune")
        return _prune_images(args.older_than, args.dry_run)

    from environments.manager import EnvManager
    from vlmhyperbench.config import default_config, load_catalog

    manager = EnvManager()
    kinds = [args.env] if args.env else ["venv", "docker"]
    if args.command == "list":
        return _list(manager, kinds)
    if args.command == "prune" and not args.config and args.older_than is None:
        parser.error(
            "prune needs --config DIR (one or more: keep what they use) or --unused-days N: the cache is "
            "shared by every config and checkout on this machine"
        )
    configs = args.config or [default_config()]
    specs = {}
    for config in configs:
        try:
            catalog = load_catalog(config)
        except ConfigError as exc:
            print(f"configuration error:\n{exc}", file=sys.stderr)
            return 2
        wanted = args.models.split(",") if args.models else list(catalog.models)
        unknown = [m for m in wanted if m not in catalog.models]
        if unknown:
            known = ", ".join(catalog.models)
            print(f"{config}: unknown model(s): {', '.join(unknown)} (known: {known})", file=sys.stderr)
            return 2
        for name in wanted:
            if catalog.backends[name] is not None:
                specs[f"{name}" if len(configs) == 1 else f"{config}:{name}"] = manager.spec(
                    catalog.models[name], catalog.backends[name], args.env
                )
        specs.update(_scorer_specs(catalog, args.env, args.models is None))
    if args.command == "build":
        failed = 0
        for name, spec in specs.items():
            if not spec.installs:
                print(f"{name}: external endpoint, nothing to build")
                continue
            try:
                env = manager.ensure(spec, used_by=configs[0])
            except EnvBuildError as exc:
                failed += 1
                print(f"{name}: FAILED\n{exc}", file=sys.stderr)
                continue
            state = f"cached ({env.ready_s:.2f} s)" if env.cached else f"built in {env.build_s:.1f} s"
            print(f"{name}: {spec.provider} {spec.key} {state} -> {env.location}")
        return 1 if failed else 0
    keep = {spec.key for spec in specs.values()} if args.config else None
    cutoff = time.time() - args.older_than * 86400 if args.older_than is not None else None
    judged = []
    if args.config:
        judged.append("keeping what these configs use: " + ", ".join(str(Path(c).resolve()) for c in configs))
    if cutoff is not None:
        judged.append(f"removing what was unused for {args.older_than:g} days")
    print("prune: " + "; ".join(judged))
    for kind in kinds:
        for info in _safe_list(manager, kind):
            usage = manager.usage(kind, info.key) or {}
            last_used = max(info.last_used or 0, usage.get("used_at") or 0) or None
            unused = keep is not None and info.key not in keep
            stale = cutoff is not None and (last_used or 0) < cutoff
            if unused or stale:
                by = f", last used by {usage['config']}" if usage.get("config") else ""
                print(
                    f"{'would remove' if args.dry_run else 'removing'} {kind} {info.key} ({info.backend}, "
                    f"{info.size_mb} MB, last used {_when(last_used)}{by})"
                )
                if not args.dry_run:
                    manager.provider(kind).remove(info.key)
                    manager.forget_use(kind, info.key)
    return 0


def _scorer_specs(catalog, env: str | None, every_pair: bool) -> dict:
    """The environments of the scorers the config's pairs use, named `scorer:NAME` (none when --models
    picks models: their scorers are built on first use)."""
    from vlmhb_core.errors import BenchError
    from vlmhyperbench.config import expand_plan
    from vlmhyperbench.scorers import SCORERS, provider_for, scorer_spec

    if not every_pair:
        return {}
    names: set[str] = set()
    for pair in expand_plan(catalog):
        try:
            names |= {s for m in pair.metric_names() if (s := _scorer_of(m))}
        except BenchError:  # a plugin that cannot be used: its pairs fail when run
            continue
    out = {}
    for name in sorted(names):
        scorer = SCORERS.get(name)
        out[f"scorer:{name}"] = scorer_spec(scorer, provider_for(scorer, env))
    return out


def _scorer_of(metric: str) -> str | None:
    from metrics import METRICS

    spec = METRICS.find(metric)
    return spec.scorer_env if spec is not None else None


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else "never"


def _prune_images(older_than: float | None, dry_run: bool) -> int:
    """Deployments made from older code still name their images: run `make deploy` again after this."""
    from environments.job_images import _client, stale_images

    try:
        client = _client()
    except EnvBuildError as exc:  # no SDK or no engine
        print(exc, file=sys.stderr)
        return 1
    import docker

    failed = 0
    try:
        for tag, created in stale_images(client, older_than):
            print(f"{'would remove' if dry_run else 'removing'} image {tag} (built {created} UTC)")
            if dry_run:
                continue
            try:
                client.images.remove(tag)
            except docker.errors.APIError as exc:  # e.g. a container still uses it
                failed += 1
                print(f"  kept {tag}: {exc.explanation or exc}", file=sys.stderr)
    finally:
        client.close()
    return 1 if failed else 0


def _safe_list(manager, kind: str):
    try:
        return manager.provider(kind).list()
    except Exception as exc:  # e.g. no Docker engine here: listing venvs must still work
        print(f"({kind}: {exc})", file=sys.stderr)
        return []


def _list(manager, kinds: list[str]) -> int:
    from vlmhb_core.console import print_table

    rows = []
    for kind in kinds:
        for info in _safe_list(manager, kind):
            usage = manager.usage(kind, info.key) or {}
            last_used = max(info.last_used or 0, usage.get("used_at") or 0) or None
            row = [kind, info.key, info.backend, info.packages, str(info.size_mb), _when(last_used)]
            rows.append([*row, usage.get("config", ""), info.location])
    print_table(
        ["provider", "key", "backend", "packages", "size MB", "last used", "used by", "location"],
        rows,
        title="cached model environments",
        fold=("packages", "used by", "location"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
