"""The report's plots, drawn offline with matplotlib and returned as inline SVG text.

Every figure is small and deterministic: text stays text (svg.fonttype none), no date in the metadata, ids
salted per figure so that several SVGs can share one HTML page, and `$` in a name is not read as math.
"""

from __future__ import annotations

import io
import math

PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
_RC = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.size": 9,
    "axes.titlesize": 10,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _svg(fig, salt: str) -> str:
    import matplotlib

    plt = _pyplot()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    return text.replace("<svg ", f'<svg role="img" aria-label="{salt}" class="plot" ', 1)


def model_colors(models: list[str]) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(set(models)))}


def pareto_front(points: list[tuple[float, float]], higher_is_better: bool) -> list[int]:
    """Indices of the points no other point beats on both cost (x: latency, dollars; lower) and quality,
    by cost."""
    front = []
    for i, (x, y) in enumerate(points):
        dominated = False
        for j, (x2, y2) in enumerate(points):
            if j == i:
                continue
            better_q = y2 >= y if higher_is_better else y2 <= y
            strictly = x2 < x or (y2 > y if higher_is_better else y2 < y)
            if x2 <= x and better_q and strictly:
                dominated = True
                break
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def quality_latency(
    points: list[dict],
    metric: str,
    higher_is_better: bool,
    colors: dict[str, str],
    salt: str,
    xlabel: str = "latency p50, s (lower is better)",
) -> str:
    """Quality (with its CI) against median latency (or another cost on the x axis: XLABEL), one point per
    model; the Pareto front joined by a line. POINTS: {label, model, x, y, low, high, front, named}. Every
    point is drawn in one call whatever their number; only the named ones (the caller's top models and the
    front) carry a label."""
    plt = _pyplot()
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        low = [max(0.0, p["y"] - p["low"]) if p.get("low") is not None else 0.0 for p in points]
        high = [max(0.0, p["high"] - p["y"]) if p.get("high") is not None else 0.0 for p in points]
        x_low = [max(0.0, p["x"] - p["x_low"]) if p.get("x_low") is not None else 0.0 for p in points]
        x_high = [max(0.0, p["x_high"] - p["x"]) if p.get("x_high") is not None else 0.0 for p in points]
        xs, ys = [p["x"] for p in points], [p["y"] for p in points]
        ax.errorbar(
            xs,
            ys,
            xerr=[x_low, x_high],
            yerr=[low, high],
            fmt="none",
            ecolor="#999",
            elinewidth=0.8,
            capsize=2,
        )
        ax.scatter(
            xs,
            ys,
            s=[64 if p["front"] else 36 for p in points],
            c=[colors.get(p["model"], "#333") for p in points],
            edgecolors=["black" if p["front"] else "none" for p in points],
            zorder=3,
        )
        for p in points:
            if p.get("named", True):
                ax.annotate(
                    p["label"], (p["x"], p["y"]), textcoords="offset points", xytext=(6, 5), fontsize=8
                )
        front = sorted((p for p in points if p["front"]), key=lambda p: p["x"])
        if len(front) > 1:
            ax.step(
                [p["x"] for p in front],
                [p["y"] for p in front],
                where="post",
                color="black",
                lw=1,
                ls="--",
                alpha=0.6,
                label="Pareto front",
            )
        positive = [x for x in xs if x > 0]
        ax.margins(x=0.15, y=0.15)
        if positive and max(positive) / min(positive) > 20:
            ax.set_xscale("log")
        else:  # seconds and dollars start at 0: two models 5 ms apart are not drawn a plot apart
            right = max([p.get("x_high") or p["x"] for p in points] + [0.0])
            ax.set_xlim(0.0, right * 1.15 if right > 0 else 1.0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{metric} ({'higher' if higher_is_better else 'lower'} is better)")
        ax.set_ylim(*metric_axis([v for p in points for v in (p["y"], p.get("low"), p.get("high"))]))
        if not higher_is_better:
            ax.invert_yaxis()  # better is always up
        return _svg(fig, salt)


def metric_axis(values: list[float | None]) -> tuple[float, float]:
    """A quality axis from its natural bound, 0 (or -1 for a metric that goes negative, as Kendall's tau), up
    to a little above the largest value or interval end: the axis spans at least the values themselves, so
    the width of the intervals (the noise) never fills it."""
    given = [v for v in values if v is not None and not math.isnan(v)]
    bottom = -1.0 if given and min(given) < 0 else 0.0
    top = max(given + [0.0])
    return bottom, (top * 1.1 if top > 0 else 1.0)


def grouped_bars(
    groups: list[str],
    series: dict[str, list[tuple[float | None, float | None, float | None]]],
    metric: str,
    colors: dict[str, str],
    salt: str,
) -> str:
    """Horizontal bars: one block per group, one bar per model, with CI whiskers.
    SERIES: model -> [(value, low, high) per group]."""
    plt = _pyplot()
    import matplotlib

    models = list(series)
    height = max(1.6, 0.22 * len(groups) * max(1, len(models)) + 0.8)
    with matplotlib.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, min(height, 14)))
        width = 0.8 / max(1, len(models))
        for k, model in enumerate(models):
            ys, vals, errs_lo, errs_hi = [], [], [], []
            for g, (v, lo, hi) in enumerate(series[model]):
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue
                ys.append(g + (k - (len(models) - 1) / 2) * width)
                vals.append(v)
                errs_lo.append(max(0.0, v - lo) if lo is not None else 0.0)
                errs_hi.append(max(0.0, hi - v) if hi is not None else 0.0)
            ax.barh(
                ys,
                vals,
                height=width * 0.9,
                color=colors.get(model, "#555"),
                label=model,
                xerr=[errs_lo, errs_hi],
                error_kw={"lw": 0.8, "capsize": 2, "ecolor": "#333"},
            )
        ax.set_yticks(range(len(groups)), [g if len(g) <= 32 else g[:31] + "…" for g in groups])
        ax.invert_yaxis()
        ax.set_xlabel(metric)
        ax.grid(axis="y", visible=False)
        if len(models) > 1:
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=min(4, len(models)))
        return _svg(fig, salt)


def distributions(curves: dict[str, dict[str, list[float]]], colors: dict[str, str], salt: str) -> str:
    """Empirical CDFs of TTFT and latency per model: CURVES label -> {"ttft_s": quantiles, "latency_s": ...,
    "model": name}; quantiles at evenly spaced probabilities."""
    plt = _pyplot()
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.0), sharey=True)
        for ax, col, title in zip(axes, ("ttft_s", "latency_s"), ("time to first token", "request latency")):
            drawn = False
            for label, c in curves.items():
                q = [v for v in c.get(col) or [] if v is not None]
                if not q:
                    continue
                ps = [i / (len(q) - 1) if len(q) > 1 else 1.0 for i in range(len(q))]
                ax.step(
                    q,
                    ps,
                    where="post",
                    color=colors.get(c["model"], "#555"),
                    ls="--" if c.get("perturbed") else "-",
                    lw=1.4,
                    label=label,
                )
                drawn = True
            ax.set_title(title)
            ax.set_xlabel("seconds")
            ax.set_xlim(left=0.0)  # from 0 s: the spread between models is seen at its true scale
            if not drawn:
                ax.text(
                    0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes, color="#777"
                )
        axes[0].set_ylabel("share of requests ≤ x")
        handles, labels = axes[1].get_legend_handles_labels() or axes[0].get_legend_handles_labels()
        if not handles:
            handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(
                handles, labels, loc="lower center", ncols=min(4, len(labels)), bbox_to_anchor=(0.5, -0.08)
            )
        fig.tight_layout()
        return _svg(fig, salt)


def drop_bars(items: list[dict], colors: dict[str, str], salt: str) -> str:
    """Perturbation drops (> 0 is worse) with paired CIs: ITEMS {label, model, drop, low, high}."""
    plt = _pyplot()
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.32 * len(items) + 0.7)))
        ys = list(range(len(items)))
        vals = [it["drop"] for it in items]
        lo = [max(0.0, it["drop"] - it["low"]) if it.get("low") is not None else 0.0 for it in items]
        hi = [max(0.0, it["high"] - it["drop"]) if it.get("high") is not None else 0.0 for it in items]
        ax.barh(
            ys,
            vals,
            color=[colors.get(it["model"], "#555") for it in items],
            xerr=[lo, hi],
            error_kw={"lw": 0.8, "capsize": 2, "ecolor": "#333"},
            height=0.6,
        )
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(ys, [it["label"] for it in items])
        ax.invert_yaxis()
        ax.set_xlabel("drop from clean (towards worse; > 0 is worse)")
        ax.grid(axis="y", visible=False)
        return _svg(fig, salt)


def load_curves(curves: list[dict], colors: dict[str, str], salt: str) -> str:
    """Throughput, and median and p99 latency, against concurrency, one line per model; the saturation level
    ringed. CURVES: {model, levels: [{concurrency, requests_per_s, latency_p50_s, latency_p99_s}],
    saturation}; levels without figures (failed) are left out."""
    plt = _pyplot()
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.0))
        for c in curves:
            done = [lv for lv in c["levels"] if lv.get("requests_per_s") is not None]
            if not done:
                continue
            xs = [lv["concurrency"] for lv in done]
            color = colors.get(c["model"], "#555")
            left.plot(
                xs, [lv["requests_per_s"] for lv in done], "o-", color=color, lw=1.4, ms=4, label=c["model"]
            )
            right.plot(xs, [lv["latency_p50_s"] for lv in done], "o-", color=color, lw=1.4, ms=4)
            right.plot(xs, [lv.get("latency_p99_s") for lv in done], "o:", color=color, lw=1.0, ms=3)
            sat = next((lv for lv in done if lv["concurrency"] == c.get("saturation")), None)
            if sat is not None:
                for ax, y in ((left, sat["requests_per_s"]), (right, sat["latency_p50_s"])):
                    ax.scatter(
                        [sat["concurrency"]], [y], s=160, facecolors="none", edgecolors="black", zorder=4
                    )
        levels = sorted({lv["concurrency"] for c in curves for lv in c["levels"]})
        for ax in (left, right):
            ax.set_xscale("log", base=2)
            ax.set_xticks(levels, [f"{int(v)}" for v in levels])  # plain numbers: math text is off
            ax.minorticks_off()
            ax.set_xlabel("concurrency (requests in flight)")
        left.set_ylim(bottom=0.0)
        right.set_ylim(bottom=0.0)
        left.set_title("throughput (req/s)")
        right.set_title("latency p50 (solid), p99 (dotted), s")
        handles, labels = left.get_legend_handles_labels()
        if handles:
            fig.legend(
                handles, labels, loc="lower center", ncols=min(4, len(labels)), bbox_to_anchor=(0.5, -0.08)
            )
        fig.tight_layout()
        return _svg(fig, salt)
