// The sample explorer of a run (samples.html). Its data are scripts under samples/data/ that call
// VLMHB.index(...) and VLMHB.chunk(...). Every text of the run is put in the page as text (textContent),
// never as markup. The address (#...) holds the filters and the open sample: a link opens the same view.
(function () {
  "use strict";
  var BASE = document.currentScript.getAttribute("data-base");
  var PAGE_ROWS = 100;
  var IDX = null;
  var chunks = {};
  var waiting = {};
  var state = {};
  var view = { rows: [], shown: PAGE_ROWS, selected: -1 };
  var ui = {};

  window.VLMHB = {
    index: function (data) { IDX = data; },
    chunk: function (d, k, records) {
      chunks[d + "/" + k] = records;
      (waiting[d + "/" + k] || []).forEach(function (f) { f(); });
      delete waiting[d + "/" + k];
    },
    lastFilterMs: null,
  };

  // ---------------------------------------------------------------- small helpers
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = v;
        else if (k === "cls") node.className = v;
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x) node.appendChild(x); });
      else node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || typeof v !== "number" || !isFinite(v)) return "–";
    return v.toFixed(digits === undefined ? 3 : digits);
  }
  function loadScript(src, onload, onerror) {
    var s = document.createElement("script");
    s.src = src;
    s.onload = onload;
    s.onerror = onerror;
    document.head.appendChild(s);
  }
  function option(value, label, selected) {
    var o = el("option", { value: value, text: label });
    if (selected) o.selected = true;
    return o;
  }

  // ---------------------------------------------------------------- the address
  var KEYS = ["dataset", "sample", "models", "class", "qtype", "metric", "min", "max", "failed", "disagree",
    "judge", "sort", "a", "b"];
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    var s = {};
    KEYS.forEach(function (k) { if (p.has(k)) s[k] = p.get(k); });
    return s;
  }
  function writeHash(push) {
    var p = new URLSearchParams();
    KEYS.forEach(function (k) {
      if (state[k] !== undefined && state[k] !== null && state[k] !== "") p.set(k, state[k]);
    });
    var h = "#" + p.toString();
    if (h === location.hash) return;
    if (push) history.pushState(null, "", h);
    else history.replaceState(null, "", h);
  }

  // ---------------------------------------------------------------- the dataset in view
  function dataset() {
    var byName = IDX.datasets.filter(function (d) { return d.name === state.dataset; })[0];
    if (byName) return byName;
    if (state.sample) {
      var has = IDX.datasets.filter(function (d) { return d.ids.indexOf(state.sample) >= 0; })[0];
      if (has) return has;
    }
    return IDX.datasets[0];
  }
  function systemLabel(g) { return IDX.systems[g].label; }
  function shownSystems(d) {
    // positions (in d.systems) of the systems the filter shows
    var wanted = state.models ? state.models.split(",") : null;
    var out = [];
    d.systems.forEach(function (g, k) {
      if (!wanted || wanted.indexOf(systemLabel(g)) >= 0) out.push(k);
    });
    return out;
  }
  function metricIndex(d) {
    var m = state.metric && d.metrics.indexOf(state.metric) >= 0 ? state.metric : d.main;
    var i = d.metrics.indexOf(m);
    return i >= 0 ? i : 0;
  }
  function systemPos(d, label) {
    for (var k = 0; k < d.systems.length; k++) if (systemLabel(d.systems[k]) === label) return k;
    return -1;
  }

  // ---------------------------------------------------------------- filtering and sorting
  function filterRows(d) {
    var shown = shownSystems(d);
    var mi = metricIndex(d);
    var vals = d.values[mi] || [];
    var hib = d.hib[mi] !== false;
    var cls = state["class"] !== undefined ? d.classes.indexOf(state["class"]) : -1;
    var qt = state.qtype !== undefined ? d.qtypes.indexOf(state.qtype) : -1;
    var lo = state.min !== undefined && state.min !== "" ? parseFloat(state.min) : null;
    var hi = state.max !== undefined && state.max !== "" ? parseFloat(state.max) : null;
    var failed = state.failed === "1";
    var judge = state.judge === "1";
    var dis = state.disagree !== undefined && state.disagree !== "" ? parseFloat(state.disagree) : null;
    var rows = [];
    var n = d.ids.length;
    for (var i = 0; i < n; i++) {
      if (state["class"] !== undefined && d.dc[i] !== cls) continue;
      if (state.qtype !== undefined && d.qt[i] !== qt) continue;
      var inRange = lo === null && hi === null, anyFail = false, anyJudge = false;
      var vmin = Infinity, vmax = -Infinity, seen = 0;
      for (var s = 0; s < shown.length; s++) {
        var k = shown[s];
        var v = vals[k] ? vals[k][i] : null;
        if (v !== null && v !== undefined) {
          seen++;
          if (v < vmin) vmin = v;
          if (v > vmax) vmax = v;
          if (!inRange && (lo === null || v >= lo) && (hi === null || v <= hi)) inRange = true;
        }
        if (d.fail[k][i] === 1) anyFail = true;
        if (d.jr[k][i] === 1) anyJudge = true;
      }
      if (!inRange || (failed && !anyFail) || (judge && !anyJudge)) continue;
      if (dis !== null && !(seen >= 2 && vmax - vmin > dis)) continue;
      rows.push(i);
    }
    var sort = state.sort || "order";
    if (sort !== "order") {
      var key = sortKey(d, sort, shown, vals, hib);
      rows.sort(function (x, y) {
        var a = key(x), b = key(y);
        if (a === null && b === null) return x - y;
        if (a === null) return 1;
        if (b === null) return -1;
        return a === b ? x - y : a - b;
      });
    }
    return rows;
  }
  function sortKey(d, sort, shown, vals, hib) {
    // a number to sort ascending by (null: last)
    if (sort === "worst" || sort === "best") {
      var sign = (sort === "worst") === hib ? 1 : -1;
      return function (i) {
        var t = 0, c = 0;
        shown.forEach(function (k) { var v = vals[k] ? vals[k][i] : null; if (v !== null) { t += v; c++; } });
        return c ? sign * t / c : null;
      };
    }
    if (sort === "diff") {
      var a = systemPos(d, state.a), b = systemPos(d, state.b);
      return function (i) {
        if (a < 0 || b < 0) return null;
        var va = vals[a][i], vb = vals[b][i];
        return va === null || vb === null ? null : -(va - vb);
      };
    }
    if (sort === "latency") {
      return function (i) {
        var m = null;
        shown.forEach(function (k) { var v = d.lat[k][i]; if (v !== null && (m === null || v > m)) m = v; });
        return m === null ? null : -m;
      };
    }
    return function (i) { return i; };
  }

  // ---------------------------------------------------------------- the filters bar
  function buildFilters() {
    var d = dataset();
    var bar = document.getElementById("filters");
    bar.textContent = "";
    ui = {};
    function select(name, label, options, current) {
      var s = el("select", { name: name, "data-filter": name });
      options.forEach(function (o) { s.appendChild(option(o[0], o[1], o[0] === (current || ""))); });
      s.addEventListener("change", function () { set(name, s.value); });
      ui[name] = s;
      bar.appendChild(el("label", null, label + " ", s));
    }
    select("dataset", "dataset", IDX.datasets.map(function (x) { return [x.name, x.name + " (" + x.ids.length + ")"]; }), d.name);
    var models = el("span", { id: "models" });
    var wanted = state.models ? state.models.split(",") : null;
    d.systems.forEach(function (g) {
      var label = systemLabel(g);
      var box = el("input", { type: "checkbox", "data-model-filter": label });
      box.checked = !wanted || wanted.indexOf(label) >= 0;
      box.addEventListener("change", function () {
        var on = [];
        models.querySelectorAll("input").forEach(function (b) { if (b.checked) on.push(b.getAttribute("data-model-filter")); });
        set("models", on.length === d.systems.length ? "" : on.join(","));
      });
      models.appendChild(el("label", null, box, " " + label));
    });
    bar.appendChild(el("span", null, "models ", models));
    select("class", "doc class", [["", "all"]].concat(d.classes.filter(function (c) { return c !== ""; }).map(function (c) { return [c, c]; })), state["class"]);
    select("qtype", "question type", [["", "all"]].concat(d.qtypes.filter(function (c) { return c !== ""; }).map(function (c) { return [c, c]; })), state.qtype);
    select("metric", "metric", d.metrics.map(function (m, i) { return [m, m + (m === d.main ? " (main)" : "") + (d.hib[i] ? " ↑" : " ↓")]; }), d.metrics[metricIndex(d)]);
    function number(name, label, placeholder) {
      var inp = el("input", { type: "number", step: "any", name: name, "data-filter": name, placeholder: placeholder });
      inp.value = state[name] || "";
      inp.addEventListener("change", function () { set(name, inp.value); });
      ui[name] = inp;
      return el("label", null, label + " ", inp);
    }
    bar.appendChild(el("span", null, number("min", "score from", "min"), " ", number("max", "to", "max")));
    function check(name, label) {
      var box = el("input", { type: "checkbox", name: name, "data-filter": name });
      box.checked = state[name] === "1";
      box.addEventListener("change", function () { set(name, box.checked ? "1" : ""); });
      ui[name] = box;
      return el("label", null, box, " " + label);
    }
    bar.appendChild(check("failed", "failed requests only"));
    bar.appendChild(number("disagree", "models disagree by more than", "e.g. 0.5"));
    if (d.judged) bar.appendChild(check("judge", "judge and rule disagree"));
    var labels = d.systems.map(function (g) { return [systemLabel(g), systemLabel(g)]; });
    select("sort", "sort", [["order", "dataset order"], ["worst", "score, worst first"], ["best", "score, best first"],
      ["diff", "A − B, largest first"], ["latency", "latency, slowest first"]], state.sort || "order");
    select("a", "A", labels, state.a || labels[0][0]);
    select("b", "B", labels, state.b || (labels[1] || labels[0])[0]);
    ui.count = el("span", { id: "count" });
    bar.appendChild(ui.count);
  }

  function set(name, value) {
    if ((state[name] === undefined ? "" : state[name]) === (value === null ? "" : value)) return; // no change
    if (value === "" || value === null) delete state[name];
    else state[name] = value;
    if (name === "dataset") {
      ["models", "class", "qtype", "metric", "sample", "a", "b"].forEach(function (k) { delete state[k]; });
    }
    if ((name === "a" || name === "b") && state.sort !== "diff") state.sort = "diff";
    var t0 = performance.now();
    writeHash(false);
    if (name === "dataset" || name === "a" || name === "b") buildFilters();
    renderList();
    if (name === "models" || name === "dataset") renderDetail();
    void document.body.offsetHeight; // the list laid out: what a person waits for
    window.VLMHB.lastFilterMs = performance.now() - t0;
  }

  // ---------------------------------------------------------------- the list
  function valueClass(v, hib) {
    if (v === null || v === undefined) return "";
    var good = hib ? v : 1 - v;
    return good >= 0.999 ? "v2" : good >= 0.5 ? "v1" : "v0";
  }
  function renderList() {
    var d = dataset();
    view.rows = filterRows(d);
    view.shown = Math.max(PAGE_ROWS, view.shown);
    var shown = shownSystems(d);
    var mi = metricIndex(d);
    var list = document.getElementById("list");
    list.textContent = "";
    ui.count.textContent = view.rows.length + " of " + d.ids.length + " samples";
    if (!view.rows.length) {
      list.appendChild(el("p", { id: "empty", text: "No sample passes these filters." }));
      return;
    }
    var head = el("tr", null, el("th", { text: "page" }), el("th", { text: "sample" }),
      shown.map(function (k) { return el("th", { text: systemLabel(d.systems[k]), title: d.metrics[mi] }); }));
    var body = el("tbody");
    var limit = Math.min(view.rows.length, view.shown);
    for (var r = 0; r < limit; r++) body.appendChild(listRow(d, view.rows[r], shown, mi));
    list.appendChild(el("table", { id: "rows" }, el("thead", null, head), body));
    if (limit < view.rows.length) {
      list.appendChild(el("p", null, el("button", { id: "more", text: "show " + Math.min(PAGE_ROWS, view.rows.length - limit) + " more",
        onclick: function () { view.shown += PAGE_ROWS; renderList(); } })));
    }
  }
  function listRow(d, i, shown, mi) {
    var thumb = d.thumbs[i];
    var tr = el("tr", { cls: "row" + (d.ids[i] === state.sample ? " sel" : ""), "data-row-sample": d.ids[i] },
      el("td", { cls: "thumb" }, thumb ? el("img", { src: thumb, loading: "lazy", alt: "" }) : null),
      el("td", null, el("div", { text: d.ids[i] }),
        el("div", { cls: "meta", text: [d.classes[d.dc[i]], d.qtypes[d.qt[i]]].filter(Boolean).join(" · ") })));
    shown.forEach(function (k) {
      var v = d.values[mi] && d.values[mi][k] ? d.values[mi][k][i] : null;
      var td = el("td", { cls: "num " + valueClass(v, d.hib[mi] !== false), text: d.fail[k][i] === null ? "" : fmt(v) });
      if (d.fail[k][i] === 1) td.appendChild(el("span", { cls: "failed", title: "the request failed", text: " ✗" }));
      if (d.jr[k][i] === 1) td.appendChild(el("span", { cls: "warn", title: "judge and rule disagree", text: " ⚖" }));
      tr.appendChild(td);
    });
    tr.addEventListener("click", function () { open(d.ids[i]); });
    return tr;
  }

  function open(id) {
    state.sample = id;
    state.dataset = dataset().name;
    writeHash(true);
    document.querySelectorAll("tr.row.sel").forEach(function (t) { t.classList.remove("sel"); });
    var row = document.querySelector('tr.row[data-row-sample="' + CSS.escape(id) + '"]');
    if (row) row.classList.add("sel");
    renderDetail();
  }

  // ---------------------------------------------------------------- one sample
  function withChunk(d, pos, done) {
    var k = Math.floor(pos / IDX.chunk);
    var key = IDX.datasets.indexOf(d) + "/" + k;
    if (chunks[key]) return done(chunks[key][pos % IDX.chunk]);
    var first = !waiting[key];
    (waiting[key] = waiting[key] || []).push(function () { done(chunks[key][pos % IDX.chunk]); });
    if (first) {
      var name = "c" + String(k).padStart(5, "0") + ".js";
      loadScript(BASE + "/" + d.dir + "/" + name, null, function () {
        detailMessage("The samples file " + BASE + "/" + d.dir + "/" + name + " could not be loaded.");
      });
    }
  }
  function detailMessage(text) {
    var box = document.getElementById("detail");
    box.textContent = "";
    box.appendChild(el("p", { cls: "failed", text: text }));
  }
  function renderDetail() {
    var box = document.getElementById("detail");
    var d = dataset();
    if (!state.sample) return;
    var pos = d.ids.indexOf(state.sample);
    if (pos < 0) {
      detailMessage("No sample " + state.sample + " in dataset " + d.name + ".");
      return;
    }
    withChunk(d, pos, function (rec) {
      if (state.sample !== rec.id) return; // another sample was opened meanwhile
      box.textContent = "";
      box.appendChild(sampleView(d, pos, rec));
      box.scrollTop = 0;
    });
  }
  function sampleView(d, pos, rec) {
    var at = view.rows.indexOf(pos);
    var nav = el("div", { cls: "nav" },
      el("button", { text: "← previous", disabled: at <= 0, onclick: function () { open(d.ids[view.rows[at - 1]]); } }),
      el("button", { text: "next →", disabled: at < 0 || at >= view.rows.length - 1, onclick: function () { open(d.ids[view.rows[at + 1]]); } }),
      el("span", { cls: "meta", text: at >= 0 ? (at + 1) + " of " + view.rows.length + " in the list" : "not in the filtered list" }));
    var root = el("div", { id: "sample", "data-sample-id": rec.id },
      el("h2", { text: "Sample " + rec.id }),
      el("div", { cls: "meta", text: [d.name, rec.doc_class, rec.question_type].filter(Boolean).join(" · ") }), nav);
    var out = root;
    var left = el("div", { cls: "pagecol" }, el("h3", { text: rec.pages.length > 1 ? rec.pages.length + " pages" : "Page" }),
      pagesView(rec.pages));
    var right = el("div", { cls: "textcol" });
    out.appendChild(el("div", { cls: "detailgrid" }, left, right));
    out = right;
    if (rec.question && rec.question !== rec.prompt) {
      out.appendChild(el("h3", { text: "Question" }));
      out.appendChild(el("pre", { cls: "question", text: rec.question }));
    }
    out.appendChild(el("h3", { text: "Prompt as sent" }));
    out.appendChild(rec.prompt !== null && rec.prompt !== undefined ? el("pre", { cls: "prompt", text: rec.prompt })
      : el("p", { cls: "meta", text: "The models were sent different prompts: each answer shows its own." }));
    out.appendChild(el("h3", { text: "References" }));
    out.appendChild(rec.references.length ? el("ol", { cls: "refs" }, rec.references.map(function (r) { return el("li", null, el("pre", { cls: "reference", text: r })); }))
      : el("p", { cls: "meta", text: "none" }));
    out.appendChild(el("h3", { text: "Answers" }));
    var answers = el("div", { cls: "answers" });
    shownSystems(d).forEach(function (k) { answers.appendChild(answerView(d, k, rec)); });
    out.appendChild(answers);
    return root;
  }
  function pagesView(pages) {
    var wrap = el("div", { cls: "pages" });
    if (!pages.length) {
      wrap.appendChild(el("p", { cls: "meta", text: "No image: the dataset could not be read again when this report was written." }));
      return wrap;
    }
    pages.forEach(function (p, n) {
      if (!p.src) {
        wrap.appendChild(el("p", { cls: "failed", text: "Page " + (n + 1) + ": " + (p.error || "not available") }));
        return;
      }
      var img = el("img", { cls: "page fit", src: p.src, alt: "page " + (n + 1) });
      var tried = false;
      img.addEventListener("error", function () {
        if (tried) { img.replaceWith(el("p", { cls: "failed", text: "Page " + (n + 1) + " could not be loaded: " + p.src })); return; }
        tried = true; // the run folder was moved without its dataset: where the page was when it was written
        img.src = new URL(p.src, IDX.origin).href;
      });
      var scale = null;
      function zoom(f) {
        if (!img.naturalWidth) return;
        scale = f === "fit" ? null : f === 1 ? 1 : (scale || img.clientWidth / img.naturalWidth) * f;
        img.classList.toggle("fit", scale === null);
        img.style.width = scale === null ? "" : Math.round(img.naturalWidth * scale) + "px";
        label.textContent = scale === null ? "fit" : Math.round(scale * 100) + " %";
      }
      var label = el("span", { cls: "meta", text: "fit" });
      var bar = el("div", { cls: "zoom" },
        el("span", { cls: "meta", text: "page " + (n + 1) + " " }),
        el("button", { text: "fit", onclick: function () { zoom("fit"); } }),
        el("button", { text: "100 %", onclick: function () { zoom(1); } }),
        el("button", { text: "−", title: "zoom out", onclick: function () { zoom(1 / 1.5); } }),
        el("button", { text: "+", title: "zoom in", onclick: function () { zoom(1.5); } }), label);
      wrap.appendChild(el("div", null, bar, el("div", { cls: "pagebox" }, img)));
    });
    return wrap;
  }
  function answerView(d, k, rec) {
    var g = d.systems[k];
    var sys = IDX.systems[g];
    var a = rec.answers[k];
    var card = el("div", { cls: "answer" + (a && a.error ? " err" : ""), "data-sample-id": rec.id, "data-model": sys.model,
      "data-perturbation": sys.perturbation });
    card.appendChild(el("h4", { text: sys.label }));
    if (!a) {
      card.appendChild(el("p", { cls: "meta", text: "No answer to this sample." }));
      return card;
    }
    if (sys.perturbation) card.appendChild(el("div", { cls: "meta", text: "saw the page ~" + sys.perturbation + " (shown clean above)" }));
    var mi = metricIndex(d);
    var rows = d.metrics.map(function (m, i) {
      var v = a.scores[m];
      return el("tr", { "data-metric": m }, el("th", { text: m + (d.hib[i] ? " ↑" : " ↓") }),
        el("td", { cls: "num " + valueClass(v, d.hib[i] !== false) + (i === mi ? " main" : ""), text: fmt(v) }));
    });
    card.appendChild(el("table", { cls: "scores" }, rows));
    card.appendChild(el("div", { cls: "meta timing", text: "latency " + fmt(a.latency_s, 2) + " s · TTFT " + fmt(a.ttft_s, 2) +
      " s · " + (a.output_tokens === null || a.output_tokens === undefined ? "–" : a.output_tokens) + " tokens" +
      (a.attempts > 1 ? " · " + a.attempts + " attempts" : "") }));
    if (a.judge_rule === true) card.appendChild(el("span", { cls: "badge warn", text: "judge and rule disagree" }));
    if (a.error) card.appendChild(el("pre", { cls: "error failed", text: "error: " + a.error }));
    if (a.prompt) card.appendChild(el("details", null, el("summary", { text: "its own prompt" }), el("pre", { text: a.prompt })));
    if (a.answer !== null && a.answer !== undefined) {
      card.appendChild(el("div", { cls: "meta", text: "answer" }));
      card.appendChild(el("pre", { cls: "box prediction", text: a.answer === "" ? "(empty)" : a.answer }));
      if (rec.references.length) card.appendChild(diffView(a.answer, rec.references));
    }
    if (a.raw) {
      card.appendChild(el("details", { cls: "reasoning" }, el("summary", { text: "reasoning removed before scoring (the raw answer)" }),
        el("pre", { cls: "box", text: a.raw })));
    }
    (a.judges || []).forEach(function (j) {
      var verdict = j.verdict === null || j.verdict === undefined ? "no verdict" : j.verdict;
      var judge = el("div", { cls: "judge", "data-judge": j.judge },
        el("div", null, "judge ", el("b", { text: j.judge }), " (" + j.kind + "): ",
          el("b", { cls: "verdict " + (j.verdict === "C" ? "ok" : j.verdict === "I" ? "failed" : "warn"), text: verdict })));
      if (j.error) judge.appendChild(el("pre", { cls: "failed", text: "request failed: " + j.error }));
      if (j.verdict_error) judge.appendChild(el("div", { cls: "warn", text: j.verdict_error }));
      if (j.answer !== null && j.answer !== undefined) judge.appendChild(el("pre", { cls: "box judge-answer", text: j.answer }));
      if (j.raw) judge.appendChild(el("details", null, el("summary", { text: "the judge's reasoning" }), el("pre", { cls: "box", text: j.raw })));
      card.appendChild(judge);
    });
    return card;
  }

  // ---------------------------------------------------------------- the diff against the closest reference
  var MAX_CELLS = 4e6;
  function lcsOps(a, b) {
    // a, b: arrays of tokens; the edit script as [[op, tokens]] with op "=", "-" (reference only), "+" (answer only)
    var pre = 0;
    while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
    var suf = 0;
    while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
    var A = a.slice(pre, a.length - suf), B = b.slice(pre, b.length - suf);
    var n = A.length, m = B.length;
    if ((n + 1) * (m + 1) > MAX_CELLS) return null;
    var w = m + 1;
    var L = new (n < 65535 && m < 65535 ? Uint16Array : Uint32Array)((n + 1) * w);
    for (var i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        L[i * w + j] = A[i] === B[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    var ops = [];
    function push(op, t) {
      var last = ops[ops.length - 1];
      if (last && last[0] === op) last[1].push(t); else ops.push([op, [t]]);
    }
    a.slice(0, pre).forEach(function (t) { push("=", t); });
    i = 0; j = 0;
    while (i < n && j < m) {
      if (A[i] === B[j]) { push("=", A[i]); i++; j++; }
      else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) { push("-", A[i]); i++; }
      else { push("+", B[j]); j++; }
    }
    for (; i < n; i++) push("-", A[i]);
    for (; j < m; j++) push("+", B[j]);
    a.slice(a.length - suf).forEach(function (t) { push("=", t); });
    return ops;
  }
  function diffOps(ref, answer) {
    var ops = lcsOps(Array.from(ref), Array.from(answer));
    if (ops) return { ops: ops, unit: "character" };
    ops = lcsOps(ref.split(/(\s+)/), answer.split(/(\s+)/));
    return ops ? { ops: ops, unit: "word" } : null;
  }
  function cost(ops) {
    var c = 0;
    ops.forEach(function (o) { if (o[0] !== "=") c += o[1].join("").length; });
    return c;
  }
  function diffView(answer, refs) {
    var best = null;
    refs.forEach(function (r, n) {
      var d = diffOps(r, answer);
      if (d && (!best || cost(d.ops) < best.cost)) best = { n: n, ops: d.ops, unit: d.unit, cost: cost(d.ops) };
    });
    var wrap = el("div", { cls: "diffwrap" });
    if (!best) {
      wrap.appendChild(el("div", { cls: "meta", text: "answer and references too long and too different to diff" }));
      return wrap;
    }
    wrap.appendChild(el("div", { cls: "meta", text: (best.cost ? best.unit + " diff against reference " + (best.n + 1) +
      (refs.length > 1 ? " (the closest)" : "") + ": " : "same as reference " + (best.n + 1)) }));
    if (!best.cost) return wrap;
    var box = el("pre", { cls: "box diff", "data-reference": best.n });
    best.ops.forEach(function (o) {
      var text = o[1].join("");
      box.appendChild(o[0] === "=" ? document.createTextNode(text) : el(o[0] === "+" ? "ins" : "del",
        { text: text, title: o[0] === "+" ? "in the answer only" : "in the reference only" }));
    });
    wrap.appendChild(box);
    return wrap;
  }

  // ---------------------------------------------------------------- start
  function start() {
    state = readHash();
    if (!IDX.datasets.length) {
      document.getElementById("filters").textContent = "This run has no answers to show.";
      return;
    }
    if (!state.dataset) state.dataset = dataset().name;
    buildFilters();
    renderList();
    renderDetail();
    document.body.setAttribute("data-ready", "1");
  }
  window.addEventListener("hashchange", function () { state = readHash(); buildFilters(); renderList(); renderDetail(); });
  window.addEventListener("popstate", function () { state = readHash(); buildFilters(); renderList(); renderDetail(); });
  loadScript(BASE + "/index.js", start, function () {
    document.getElementById("filters").textContent = "The samples index (" + BASE + "/index.js) could not be loaded: " +
      "samples.html needs the samples/ folder beside it.";
  });
})();
