"""python -m vlmhb_scorers [--workdir DIR]: runs request.json's entry over input.jsonl into output.jsonl."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

from vlmhb_scorers.protocol import Context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vlmhb_scorers")
    parser.add_argument("--workdir", default=".", help="the folder with request.json and input.jsonl")
    args = parser.parse_args(argv)
    work = Path(args.workdir)
    request = json.loads((work / "request.json").read_text(encoding="utf-8"))
    module_name, _, attr = request["entry"].partition(":")
    started = time.perf_counter()
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:
        print(
            f"cannot load the scorer entry {request['entry']!r}: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 3
    loaded = time.perf_counter()
    with open(work / "input.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    context = Context(
        scorer=request.get("scorer", ""),
        metrics=list(request.get("metrics", [])),
        options=dict(request.get("options", {})),
        workdir=work,
    )
    tmp = work / "output.jsonl.tmp"
    rows = 0
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            for row in fn(records, context):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                rows += 1
    except Exception:
        traceback.print_exc()
        tmp.unlink(missing_ok=True)
        return 1
    os.replace(tmp, work / "output.jsonl")
    done = time.perf_counter()
    timing = {"import_s": loaded - started, "score_s": done - loaded, "records": len(records), "rows": rows}
    (work / "timing.json").write_text(json.dumps(timing), encoding="utf-8")
    print(
        f"{request.get('scorer')}: {len(records)} samples, {rows} rows in {done - loaded:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
