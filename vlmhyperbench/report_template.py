"""The Jinja template of report.html (rendered with autoescape on; only the SVG plots are marked safe)."""
# ruff: noqa: E501  (HTML lines)

TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>VLMHyperBench — run {{ run_id }}</title>
<style>
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#d9d9de;--head:#f3f3f6;--bad:#b00020;--good:#0a7d32;--warn:#9a5b00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:var(--fg);background:#fff}
header{padding:1.2rem 2rem .6rem;border-bottom:1px solid var(--line);background:#fafafc}
main{padding:0 2rem 3rem;max-width:1400px}
h1{font-size:1.45rem;margin:.2rem 0}h2{font-size:1.2rem;margin:2.2rem 0 .6rem;padding-top:.4rem;border-top:1px solid var(--line)}
h3{font-size:1.02rem;margin:1.4rem 0 .4rem}
nav a{margin-right:.9rem;color:#1a56b5;text-decoration:none}nav{margin-top:.5rem;font-size:.92rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.92rem}
th,td{border:1px solid var(--line);padding:.28rem .5rem;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.best{font-weight:700;background:#eef7ee}
.failed{color:var(--bad)}.ok{color:var(--good)}.meta{color:var(--muted)}.warn{color:var(--warn)}
.ci{display:block;font-size:.78rem;color:var(--muted);font-weight:400}
.scroll{overflow-x:auto;max-width:100%}
.worst td:nth-child(5),.worst td:nth-child(6),.worst td:nth-child(7){min-width:14rem}
.delta{display:block;font-size:.8rem;color:var(--muted)}.delta.up{color:var(--good)}.delta.down{color:var(--warn)}
.delta.reg{color:var(--bad);font-weight:700}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:8px;padding:.6rem .9rem;min-width:15rem;background:#fff}
.card b{font-size:1.05rem}.card.alert{border-color:var(--bad);background:#fff5f6}
.card.fine{border-color:#9ccc9c;background:#f5fbf5}
.plot{max-width:100%;height:auto;display:block}
figure svg{max-width:100%;height:auto}
figure{margin:.4rem 0 1.2rem;max-width:100%}figure.wide{max-width:900px}
figcaption{color:var(--muted);font-size:.85rem}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
pre,.text{white-space:pre-wrap;word-break:break-word;margin:0;font:12.5px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.text{max-height:12rem;overflow:auto;max-width:34rem}
td.thumb{width:1%}td.thumb img{max-width:130px;max-height:170px;border:1px solid var(--line)}
.star{color:#b8860b}
details{margin:.4rem 0}
</style></head><body>
<header>
<h1>VLMHyperBench — run {{ run_id }}</h1>
<div class="meta">status <b class="{{ 'ok' if status == 'completed' else 'failed' }}">{{ status }}</b>
 · {{ n_completed }} of {{ n_pairs }} pairs completed · started {{ started }} · finished {{ finished }}{% if commit %} · commit {{ commit }}{% endif %}</div>
<nav><a href="#leaderboard">Leaderboard</a><a href="#pareto">Quality vs latency</a><a href="#regressions">Regressions</a>
<a href="#breakdowns">Breakdowns</a><a href="#latency">Latency</a>{% if drops %}<a href="#robustness">Perturbations</a>{% endif %}
<a href="#worst">Worst samples</a><a href="#failures">Failures</a><a href="#details">Run details</a></nav>
</header>
<main>
<div class="cards" id="summary">
{% for h in headline %}
<div class="card"><div class="meta">{{ h.dataset }} · {{ h.metric }}</div>
best <b>{{ h.best }}</b> ({{ fmt(h.value) }}){% if h.fastest %}<br>fastest <b>{{ h.fastest }}</b> ({{ fmt(h.latency) }} s p50){% endif %}
{% if h.front %}<br><span class="meta">Pareto front: {{ h.front | join(', ') }}</span>{% endif %}</div>
{% endfor %}
<div class="card {{ 'alert' if regressions else 'fine' }}"><div class="meta">against the previous run</div>
{% if regressions %}<b class="failed">{{ regressions | length }} regression{{ 's' if regressions | length != 1 }}</b>{% else %}<b>no regression</b>{% endif %}</div>
<div class="card {{ 'alert' if failed else 'fine' }}"><div class="meta">pairs</div>
{% if failed %}<b class="failed">{{ failed | length }} failed</b>{% else %}<b>all completed</b>{% endif %}</div>
</div>

<h2 id="leaderboard">Leaderboard</h2>
<p class="meta">Quality: general value [95 % bootstrap interval], ↑ higher / ↓ lower is better; the change is against the
previous run with the same model, dataset and metric. Speed: per request, measured on the client. Best values in bold;
<span class="star">★</span> on the quality/latency Pareto front.</p>
{% for b in boards %}
<h3>{{ b.dataset }}{% if b.perturbation %} <span class="warn">~ {{ b.perturbation }}</span>{% endif %}</h3>
<div class="scroll"><table class="leaderboard"><thead><tr><th>model</th>{% for m in b.metrics %}<th>{{ m }}{% if m == b.main %} (main){% endif %}</th>{% endfor %}
{% for label in perf_labels %}<th>{{ label }}</th>{% endfor %}<th>errors / requests</th><th>status</th></tr></thead><tbody>
{% for r in b.rows %}
<tr><td>{{ r.model }}{% if r.pareto %} <span class="star" title="Pareto front">★</span>{% endif %}</td>
{% for c in r.cells %}<td class="num{{ ' best' if c.best }}">{{ c.value }} {{ c.arrow }}{% if c.ci %}<span class="ci">{{ c.ci }}</span>{% endif %}{% if c.delta is not none %}
<span class="delta {{ 'reg' if c.regressed else ('up' if c.better else ('down' if c.better == false else '')) }}" title="against run {{ c.prev_run }}">{{ '%+.4f' | format(c.delta) }}{% if c.regressed %} regression{% endif %}</span>{% endif %}</td>{% endfor %}
{% for p in r.perf %}<td class="num{{ ' best' if p.best }}">{{ p.text }}</td>{% endfor %}
<td class="num">{{ r.errors }}</td>
<td class="{{ 'ok' if r.status == 'completed' else 'failed' }}">{{ r.status }}</td></tr>
{% endfor %}
</tbody></table></div>
{% endfor %}

<h2 id="pareto">Quality versus latency</h2>
<p class="meta">Each point is a model: its main metric (with its interval) against its median request latency. The dashed
line is the Pareto front: no other model is both better and faster than a model on it.</p>
<div class="grid">
{% for b in boards if b.plot %}
<figure>{{ b.plot | safe }}<figcaption>{{ b.dataset }}{% if b.perturbation %} ~ {{ b.perturbation }}{% endif %} · {{ b.main }}</figcaption></figure>
{% else %}<p class="meta">No completed pair has both a score and a latency.</p>
{% endfor %}
</div>

<h2 id="regressions">Regressions against the previous run</h2>
{% if regressions %}
<table><thead><tr><th>model</th><th>dataset</th><th>metric</th><th>previous run</th><th>previous</th><th>now</th><th>worse by</th><th>95 % CI of the drop</th><th>n</th><th>rule</th></tr></thead><tbody>
{% for g in regressions %}
<tr class="failed"><td>{{ g.model }}</td><td>{{ g.dataset }}{% if g.perturbation %} ~{{ g.perturbation }}{% endif %}</td><td>{{ g.metric }}</td><td>{{ g.previous_run }}</td>
<td class="num">{{ fmt(g.previous_value, 4) }}</td><td class="num">{{ fmt(g.value, 4) }}</td><td class="num">{{ fmt(g.drop, 4) }}</td>
<td class="num">[{{ fmt(g.drop_ci_low, 4) }}, {{ fmt(g.drop_ci_high, 4) }}]</td><td class="num">{{ g.n }}</td>
<td>{% if g.rule == 'threshold' %}drop &gt; threshold {{ g.threshold }}{% elif g.rule == 'ci' %}paired bootstrap CI above 0{% else %}beyond both runs' intervals{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% else %}<p class="ok">No regression: nothing got significantly worse than in the previous run of the same model, dataset and metric.</p>
{% endif %}

<h2 id="breakdowns">Breakdowns</h2>
{% for bd in breakdowns %}
<h3>{{ bd.dataset }} by {{ bd.title }} · {{ bd.metric }} {{ '↑' if bd.hib else '↓' }}</h3>
<div class="grid"><figure>{{ bd.plot | safe }}</figure>
<details><summary>table ({{ bd.rows | length }} rows)</summary>
<table><thead><tr><th>{{ bd.title }}</th><th>model</th><th>value</th><th>95 % CI</th><th>n</th></tr></thead><tbody>
{% for r in bd.rows %}<tr><td>{{ r.group or '(none)' }}</td><td>{{ r.model }}</td><td class="num">{{ fmt(r.value) }}</td>
<td class="num">[{{ fmt(r.ci_low) }}, {{ fmt(r.ci_high) }}]</td><td class="num">{{ r.n }}</td></tr>{% endfor %}
</tbody></table></details></div>
{% else %}<p class="meta">No breakdown in the summary (add the by_doc_class / by_question_type aggregators in plan.csv).</p>
{% endfor %}

<h2 id="latency">TTFT and latency distributions</h2>
<p class="meta">Empirical distribution of answered requests (share of requests at most x seconds); dashed: perturbed pairs.</p>
{% for d in dists %}
<figure class="wide">{{ d.plot | safe }}<figcaption>{{ d.dataset }}</figcaption></figure>
{% else %}<p class="meta">No timing was recorded.</p>
{% endfor %}

{% if drops %}
<h2 id="robustness">Perturbation drop</h2>
<p class="meta">The main metric on perturbed images against the clean ones, on the same samples; the interval is a paired bootstrap.</p>
<div class="grid"><figure>{{ drop_plot | safe }}</figure>
<table><thead><tr><th>model</th><th>dataset</th><th>perturbation</th><th>metric</th><th>clean</th><th>perturbed</th><th>drop</th><th>95 % CI</th><th>n</th></tr></thead><tbody>
{% for d in drops %}<tr><td>{{ d.model }}</td><td>{{ d.dataset }}</td><td>{{ d.perturbation }}</td><td>{{ d.metric }}</td>
<td class="num">{{ fmt(d.clean) }}</td><td class="num">{{ fmt(d.perturbed) }}</td><td class="num{{ ' failed' if d.significant }}">{{ fmt(d.drop) }}</td>
<td class="num">[{{ fmt(d.low) }}, {{ fmt(d.high) }}]</td><td class="num">{{ d.n }}</td></tr>{% endfor %}
</tbody></table></div>
{% endif %}

<h2 id="worst">Worst samples</h2>
<p class="meta">The worst-scored samples of each dataset on its main metric, across models (perfect answers left out).</p>
{% for (dataset, pert), items in worst_groups %}
<h3>{{ dataset }}{% if pert %} ~ {{ pert }}{% endif %} · {{ items[0].metric }}</h3>
<div class="scroll"><table class="worst"><thead><tr><th>image</th><th>sample</th><th>model</th><th>score</th><th>question</th><th>answer</th><th>reference</th></tr></thead><tbody>
{% for w in items %}
<tr><td class="thumb">{% if w.thumbnail %}<img src="{{ w.thumbnail }}" alt="sample {{ w.sample_id }}">{% else %}<span class="meta">–</span>{% endif %}</td>
<td>{{ w.sample_id }}<br><span class="meta">{{ w.doc_class or '' }}{% if w.question_type %} · {{ w.question_type }}{% endif %}</span></td>
<td>{{ w.model }}</td><td class="num">{{ fmt(w.value) }}</td>
<td><div class="text">{{ w.question if w.question else (w.prompt or '–') }}</div></td>
<td><div class="text">{% if w.error %}<span class="failed">error: {{ w.error }}</span>{% else %}{{ w.prediction if w.prediction is not none else '–' }}{% endif %}</div></td>
<td><div class="text">{{ w.references | join('\n') if w.references else '–' }}</div></td></tr>
{% endfor %}
</tbody></table></div>
{% else %}<p class="meta">No per-sample scores.</p>
{% endfor %}

<h2 id="failures">Failures</h2>
{% if failed %}
<table><thead><tr><th>model</th><th>dataset</th><th>status</th><th>reason</th></tr></thead><tbody>
{% for r in failed %}<tr><td>{{ r.model }}</td><td>{{ r.dataset }}{% if r.perturbation %} ~{{ r.perturbation }}{% endif %}</td>
<td class="failed">{{ r.status }}</td><td><pre>{{ r.error or '' }}</pre></td></tr>{% endfor %}
</tbody></table>
{% else %}<p class="ok">Every pair completed.</p>{% endif %}
{% if sample_errors %}
<h3>Failed requests inside completed pairs</h3>
<table><thead><tr><th>model</th><th>dataset</th><th>count</th><th>error</th></tr></thead><tbody>
{% for e in sample_errors %}<tr><td>{{ e.model }}</td><td>{{ e.dataset }}{% if e.perturbation %} ~{{ e.perturbation }}{% endif %}</td>
<td class="num">{{ e.count }}</td><td><pre>{{ e.error }}</pre></td></tr>{% endfor %}
</tbody></table>
{% endif %}

<h2 id="details">Run details</h2>
<details><summary>parameters, environments and versions</summary>
<table><tbody>
<tr><th>config</th><td>{{ config }}</td></tr>
{% for k, v in parameters.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
{% for name, e in environments.items() %}<tr><th>env {{ name }}</th><td>{{ e.provider }} {{ e.key }}{% if e.build_s is defined %} · build {{ e.build_s }} s{% endif %}{% if e.cached %} (cached){% endif %}</td></tr>{% endfor %}
{% for k, v in versions.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
</tbody></table></details>
<p class="meta">Generated by VLMHyperBench. Values are fractions; intervals are 95 % bootstrap intervals.</p>
</main></body></html>
"""
