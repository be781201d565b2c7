"""Scoring speed: anls, cer and wer on 1,000,000 short pairs, against the reference packages.

    python bench/bench_scoring.py [--pairs 1000000] [--sample 20000] [--seed 0]

Our figures time `metrics.score(metric, table)` on the whole table (the Unicode tables it builds on
first use are timed apart, as a one-off). The anls package and jiwer are called once per pair, as
a per-sample metric must call them, on a random subsample only: their time is extrapolated to all
pairs, and the output says so. The values of the subsample are compared for equality.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics import score  # noqa: E402
from metrics._unicode import odd_chars, re_whitespace, whitespace  # noqa: E402

LETTERS = "абвгдеёжзийклмнопрстуфхцчшщыьэюяabcdefghijklmnopqrstuvwxyz"


def make_pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Short OCR/VQA-like pairs: 1-8 words of Russian, English, numbers; predictions with word
    and character errors, some exact, some empty, some with case or spacing changes only."""
    rng = np.random.default_rng(seed)
    vocab_rng = np.random.default_rng(seed + 1)
    vocab = ["".join(vocab_rng.choice(list(LETTERS), vocab_rng.integers(1, 10))) for _ in range(3000)]
    vocab = [w.capitalize() if i % 3 == 0 else w for i, w in enumerate(vocab)]
    vocab += [str(x) for x in vocab_rng.integers(0, 100000, 1000)] + ["№", "ООО", "ИНН", "12,50", "—"]
    vocab = np.array(vocab)
    lengths = rng.integers(1, 9, n)
    words = vocab[rng.integers(0, len(vocab), lengths.sum())]
    wrong = rng.random(lengths.sum()) < 0.15
    pred_words = np.where(wrong, vocab[rng.integers(0, len(vocab), lengths.sum())], words)
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    wl, pl_ = words.tolist(), pred_words.tolist()
    refs = [" ".join(wl[a:b]) for a, b in zip(starts, ends)]
    preds = [" ".join(pl_[a:b]) for a, b in zip(starts, ends)]
    kind = rng.random(n)
    pos = rng.random(n)
    typo = rng.choice(list(LETTERS + " "), n).tolist()
    for i in np.flatnonzero(kind < 0.35).tolist():  # a character typo
        p = preds[i]
        k = int(pos[i] * len(p))
        preds[i] = p[:k] + typo[i] + p[k + 1 :]
    for i in np.flatnonzero((kind >= 0.35) & (kind < 0.45)).tolist():  # case and spacing only
        preds[i] = "  " + refs[i].upper().replace(" ", "\t ") + " "
    for i in np.flatnonzero((kind >= 0.45) & (kind < 0.48)).tolist():  # failed sample
        preds[i] = ""
    return preds, refs


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import jiwer
    import rapidfuzz
    from anls import anls_score

    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
        f"(shared: other jobs slow the wall-clock figures; cpu = this process's CPU time)"
    )
    from importlib.metadata import version

    print(
        f"polars {pl.__version__}, rapidfuzz {rapidfuzz.__version__}, jiwer {version('jiwer')}, "
        f"anls {version('anls')}"
    )
    (preds, refs), gen_s, _ = timed(lambda: make_pairs(args.pairs, args.seed))
    table = pl.DataFrame(
        {
            "sample_id": [str(i) for i in range(len(preds))],
            "prediction": preds,
            "references": [[r] for r in refs],
        }
    )
    mean_len = sum(map(len, refs)) / len(refs)
    print(f"{len(preds):,} pairs (reference {mean_len:.1f} characters on average), made in {gen_s:.1f} s")
    _, warm_s, _ = timed(lambda: (odd_chars(), whitespace(), re_whitespace()))
    print(f"one-off Unicode tables on first use: {warm_s:.2f} s (not in the figures below)\n")

    rng = np.random.default_rng(args.seed + 2)
    sub = np.sort(rng.choice(len(preds), size=min(args.sample, len(preds)), replace=False)).tolist()
    reference = {
        "anls": lambda p, r: anls_score(p, [r]),
        "cer": lambda p, r: (0.0 if not p.strip() else 1.0) if not r.strip() else jiwer.cer(r, p),
        "wer": lambda p, r: (0.0 if not p.strip() else 1.0) if not r.strip() else jiwer.wer(r, p),
    }
    package = {"anls": "anls.anls_score", "cer": "jiwer.cer", "wer": "jiwer.wer"}
    header = (
        f"{'metric':7} {'ours, all pairs':>22} {'reference per pair':>20} {'extrapolated':>13} "
        f"{'speed-up':>9}  equal on subsample"
    )
    print(header)
    print("-" * len(header))
    for metric in ("anls", "cer", "wer"):
        rows, wall, cpu = timed(lambda metric=metric: score(metric, table))
        ours = rows.get_column("value").to_numpy()
        expected, ref_wall, _ = timed(lambda fn=reference[metric]: [fn(preds[i], refs[i]) for i in sub])
        per_pair = ref_wall / len(sub)
        full = per_pair * len(preds)
        equal = ours[sub].tolist() == expected
        print(
            f"{metric:7} {wall:8.2f} s (cpu {cpu:5.2f} s) {package[metric]:>20} {full:10.1f} s "
            f"{full / wall:8.0f}x  {'yes' if equal else 'NO'} ({len(sub):,} pairs)"
        )
    print(
        f"\nreference columns: {len(sub):,} random pairs timed per pair, then x {len(preds) / len(sub):g} "
        "(EXTRAPOLATED);\ncer/wer references apply the documented empty-reference rule around jiwer"
    )


if __name__ == "__main__":
    main()
