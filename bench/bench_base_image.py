"""The Docker base image made on first use: a cold build (debootstrap from the Debian mirror, then docker
import), the same call again (nothing to build), and optionally a whole `vlmhb run --env docker` on a
machine without that base image, twice.

    .venv/bin/python bench/bench_base_image.py          # cold build, then the second call
    .venv/bin/python bench/bench_base_image.py --run    # + vlmhb run --env docker --limit 2, twice

Every image it makes has a tag of its own (vlmhyperbench-base:bench-XXXX, and env images whose keys no one
else uses), removed at the end: the shared base image is never touched. Needs root, debootstrap and a
Docker engine (deployments/ci-docker.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cold_build(tag: str, cache: Path) -> None:
    import docker

    from environments.base_image import ensure_base_image

    client = docker.from_env()
    started = time.perf_counter()
    made = ensure_base_image(client, tag, cache)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    again = ensure_base_image(client, tag, cache)
    again_s = time.perf_counter() - started
    size = client.images.get(tag).attrs["Size"] / 1e6
    print(f"cold build (debootstrap + import) of {tag}: {cold_s:.1f} s, {size:.0f} MB, made={made}")
    print(f"second call: {again_s * 1000:.1f} ms, made={again}")
    client.close()


def whole_runs(tag: str, cache: Path, tmp: Path) -> list[str]:
    """Two `vlmhb run --env docker --limit 2` of the default config whose rows get a variable of their own
    (so their env images are new too); returns the env image tags it made."""
    config = tmp / "config"
    shutil.copytree(REPO / "configs" / "default", config)
    lines = (config / "models.csv").read_text().splitlines()
    marker = uuid.uuid4().hex[:8]
    rows = [lines[0] + ";env_vars"] + [f"{line};VLMHB_BENCH={marker}" for line in lines[1:]]
    (config / "models.csv").write_text("\n".join(rows) + "\n")
    env = {
        **os.environ,
        "VLMHB_BASE_IMAGE": tag,
        "VLMHB_CACHE_DIR": str(cache),
        "PREFECT_HOME": str(tmp / "ph"),
    }
    vlmhb = str(Path(sys.executable).with_name("vlmhb"))
    for attempt in ("first (no base image, no env images)", "second"):
        started = time.perf_counter()
        done = subprocess.run(
            [vlmhb, "run", "--config", str(config), "--output", str(tmp / "results"), "--limit", "2", "--env",
             "docker"],
            env=env, capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        took = time.perf_counter() - started
        built = done.stderr.count("building the base image")
        print(f"vlmhb run --env docker --limit 2, {attempt}: exit {done.returncode} in {took:.0f} s, "
              f"base image builds: {built}")  # fmt: skip
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            break
    import docker

    client = docker.from_env()
    made = [
        t for i in client.images.list(filters={"label": f"vlmhyperbench.base_image={tag}"}) for t in i.tags
    ]
    client.close()
    return made


def sys_images() -> set[str]:
    import docker

    client = docker.from_env()
    tags = {t for image in client.images.list("vlmhyperbench-sys") for t in image.tags}
    client.close()
    return tags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="also two whole runs with --env docker")
    args = parser.parse_args()
    tag = f"vlmhyperbench-base:bench-{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    before = sys_images()
    with tempfile.TemporaryDirectory(prefix="vlmhb-bench-base-") as tmp:
        cache = Path(tmp) / "cache"  # no cached root filesystem: debootstrap runs
        try:
            cold_build(tag, cache)
            if args.run:
                made = whole_runs(f"{tag}-run", cache, Path(tmp))
        finally:
            for image in [*made, *(sys_images() - before), tag, f"{tag}-run"]:
                subprocess.run(["docker", "rmi", image], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
