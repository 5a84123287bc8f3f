// wordlens explorer: a thin page over the public HTTP API (see /docs).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], defaultModel: null };

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = (body && body.error) || {};
  }
}

async function api(path, body) {
  let response;
  try {
    response = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { error: { message: "The server did not answer. Is it running?" } });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function query(path, params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of [].concat(value)) if (item !== undefined && item !== "") search.append(key, item);
  }
  return `${path}?${search}`;
}

// A sentence a person can read, from the API's error body.
function friendly(error) {
  const body = error.body || {};
  if (body.code === "unknown_word") {
    const words = body.missing.map((w) => `“${w}”`).join(", ");
    const verb = body.missing.length > 1 ? "are" : "is";
    return `${words} ${verb} not in the vocabulary of model ${body.model}.`;
  }
  if (body.code === "unknown_model") return `Unknown model. Available: ${body.available.join(", ")}.`;
  if (body.code === "unsupported_query") return `This model cannot answer that: ${body.message}`;
  if (body.code === "too_large") return `Too large: ${body.message}`;
  return error.message;
}

// The error, and for an unknown word the API's suggestions as links that explore them.
function showError(id, error) {
  const box = $(id);
  box.replaceChildren(friendly(error));
  const offered = [...new Set(Object.values((error.body && error.body.suggestions) || {}).flat())];
  if (offered.length) {
    box.append(" Did you mean ", ...offered.flatMap((w, i) => [i ? ", " : "",
      element("a", { href: `?${new URLSearchParams({ word: w, model: $("model").value })}`, class: "suggestion", "data-word": w, text: w })]), "?");
  }
  box.hidden = false;
}

function clearError(id) {
  $(id).hidden = true;
  $(id).textContent = "";
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const format = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3));

// What a score means, in words, from the method the API names (never the model's name).
const MEANINGS = {
  cosine: "cosine: 1 = same contexts, 0 = unrelated",
  pmi: "PMI inner product: they appear together e^x times more often than chance (x in nats)",
  hs: "½[log p(b|a) + log p(a|b)] − λ log p(b): how well each predicts the other, less how common b is (nats)",
  ns: "½[log p(b|a) + log p(a|b)] − λ log p(b): how well each predicts the other, less how common b is (nats)",
};
const KEYWORD_MEANINGS = {
  pmi: "score: mean PMI between the keyword and the text's tokens (nats)",
  hs: "score: mean log-probability per token of the text given the keyword (nats; closer to 0 = better)",
  ns: "score: mean log-probability per token of the text given the keyword (nats; closer to 0 = better)",
};

const modelInfo = (name) => state.models.find((m) => m.name === name) || { family: "", queries: [] };
const answers = (name, queryName) => modelInfo(name).queries.includes(queryName);

// The chosen model, and in compare mode the first model of another family that
// scores context (e.g. PMI inner products beside Word2Vec's output layer).
function selectedModels() {
  const chosen = $("model").value;
  if (!$("compare").checked) return [chosen];
  const other = state.models.find((m) => m.family !== modelInfo(chosen).family && m.queries.includes("context_similarity"));
  return other ? [chosen, other.name] : [chosen];
}

// ------------------------------------------------------------------ models

async function loadModels() {
  const [models, ready] = await Promise.all([api("/models"), api("/readyz").catch((e) => e.body)]);
  state.models = models;
  state.defaultModel = ready && ready.default_model;
  const select = $("model");
  select.replaceChildren(...models.map((m) => element("option", { value: m.name, text: `${m.name} (${m.kind})` })));
  if (state.defaultModel) select.value = state.defaultModel;
  renderModels(models);
}

function renderModels(models) {
  const score = (entry, key) => (entry && entry[key] !== undefined && entry[key] !== null ? format(entry[key]) : "—");
  const rows = models.map((m) => {
    const e = m.evaluation || {};
    return element("tr", {},
      element("th", { scope: "row", text: m.name }),
      element("td", { text: m.kind }),
      element("td", { text: m.family }),
      element("td", { text: m.vocab_size.toLocaleString() }),
      element("td", { text: String(m.dim) }),
      element("td", { text: m.tokenizer.phrases && m.tokenizer.phrases.pairs
        ? `${m.tokenizer.name} + ${m.tokenizer.phrases.pairs.toLocaleString()} phrases` : m.tokenizer.name }),
      element("td", { text: m.output_layers.join(", ") || "none" }),
      element("td", { text: m.training && m.training.seconds ? `${m.training.seconds.toFixed(1)} s` : "—" }),
      element("td", { text: score(e.wordsim353, "spearman_cosine") }),
      element("td", { text: score(e.simlex999, "spearman_cosine") }),
      element("td", { text: score(e.analogy, "3cosadd") }));
  });
  const head = ["model", "kind", "family", "words", "dims", "tokenizer", "output layers", "training",
    "WordSim-353", "SimLex-999", "analogies"].map((h) => element("th", { scope: "col", text: h }));
  $("models").replaceChildren(element("table", {},
    element("caption", { text: "Loaded models and their evaluation (Spearman ρ by cosine; analogy accuracy, 3CosAdd)" }),
    element("thead", {}, element("tr", {}, ...head)), element("tbody", {}, ...rows)));
}

// ---------------------------------------------------------- one word

// Words in both lists of a model (similar and related) are marked "both".
function neighbourList(neighbours, both = new Set()) {
  return element("ol", {}, ...neighbours.map((n) => element("li", both.has(n.word) ? { class: "both" } : {},
    element("button", { type: "button", class: "word", text: n.word, "data-word": n.word }),
    both.has(n.word) ? element("span", { class: "badge", text: "both" }) : "",
    element("span", { class: "score", text: format(n.score) }))));
}

function column(kind, title, note, result, meaning) {
  const box = element("div", { class: `column ${kind}` },
    element("h3", {}, title, " ", element("small", { text: note })));
  if (meaning) box.append(element("p", { class: "meaning", text: meaning }));
  if (result instanceof ApiError) box.append(element("p", { class: "error", text: friendly(result) }));
  else if (result === null) box.append(element("p", { class: "note", text: "This model has vectors only: it cannot score related words." }));
  else box.append(neighbourList(result.neighbours, result.both));
  return box;
}

// The results on show, for export: one row per (model, list, rank).
let shown = [];

async function explore(word, { push = true } = {}) {
  cancelLookups();
  clearError("word-error");
  $("infer-form").hidden = true;
  if (push) pushState({ word });
  const topn = Number($("topn").value) || 10;
  const names = selectedModels();
  const request = ++exploreCounter;
  $("neighbours").setAttribute("aria-busy", "true");
  try {
    const results = await Promise.all(names.map(async (model) => {
      const [info, similar, related] = await Promise.all([
        api(query(`/words/${encodeURIComponent(word)}`, { model })),
        api(query("/most_similar", { positive: word, topn, model })),
        answers(model, "context_similarity") ? api(query("/related", { word, topn, model })).catch((error) => error) : null,
      ]);
      return { model, info, similar, related };
    }));
    if (request !== exploreCounter) return;  // a newer query has started
    for (const r of results) markBoth(r.similar, r.related);
    $("word-info").replaceChildren(...results.map(({ model, info }) => element("p", {
      text: `${model}: “${info.word}” — rank ${info.rank.toLocaleString()}` +
        (info.count !== null ? `, seen ${info.count.toLocaleString()} times` : "") +
        `, vector norm ${format(info.norm)}`,
    })));
    $("neighbours").replaceChildren(...results.flatMap(({ model, similar, related }) => [
      column("similar", `Similar — ${model}`, "can replace it", similar, MEANINGS.cosine),
      column("related", `Related — ${model}`, related && related.method ? `context (${related.method}): appear with it` : "context",
        related, related && related.method ? MEANINGS[related.method] : ""),
    ]));
    shown = results.flatMap(({ model, similar, related }) => [
      ...rows(model, "similar", "cosine", similar.neighbours),
      ...(related && !(related instanceof ApiError) ? rows(model, "related", related.method, related.neighbours) : []),
    ]);
    $("export").hidden = false;
    await drawMap(results[0]);
  } catch (error) {
    if (request !== exploreCounter) return;
    $("word-info").replaceChildren();
    $("neighbours").replaceChildren();
    $("map-figure").hidden = true;
    $("export").hidden = true;
    shown = [];
    showError("word-error", error);
    // An unknown word: offer to infer its vector from example sentences.
    if (error.body && error.body.code === "unknown_word") {
      $("infer-word").textContent = word;
      $("infer-form").hidden = false;
    }
  } finally {
    if (request === exploreCounter) $("neighbours").removeAttribute("aria-busy");
  }
}
let exploreCounter = 0;

// Sets result.both: the words a model puts in both its similar and related lists.
function markBoth(similar, related) {
  if (!related || related instanceof ApiError) return;
  const relatedWords = new Set(related.neighbours.map((n) => n.word));
  similar.both = related.both = new Set(similar.neighbours.map((n) => n.word).filter((w) => relatedWords.has(w)));
}

const rows = (model, list, score, neighbours) =>
  neighbours.map((n, i) => ({ model, list, rank: i + 1, word: n.word, score: n.score, score_kind: score }));

// ------------------------------------------------------------------ export

function download(name, type, text) {
  const link = element("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function toCsv(records) {
  const columns = ["model", "list", "rank", "word", "score", "score_kind"];
  const cell = (value) => (/[",\n]/.test(String(value)) ? `"${String(value).replace(/"/g, '""')}"` : String(value));
  return [columns.join(","), ...records.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

$("export-csv").addEventListener("click", () => download(`wordlens-${$("word").value.trim()}.csv`, "text/csv", toCsv(shown)));
$("export-json").addEventListener("click", () =>
  download(`wordlens-${$("word").value.trim()}.json`, "application/json", JSON.stringify(shown, null, 2)));

// --------------------------------------------------------------- URL state

// The view in the query string: word, model, compare. Each query pushes a history entry;
// back/forward restore the inputs and re-run.
function pushState({ word }) {
  const params = new URLSearchParams({ word, model: $("model").value });
  if ($("compare").checked) params.set("compare", "1");
  const url = `?${params}`;
  if (url !== location.search) history.pushState(null, "", url);
}

function restoreState() {
  const params = new URLSearchParams(location.search);
  const model = params.get("model");
  if (model && state.models.some((m) => m.name === model)) $("model").value = model;
  $("compare").checked = params.get("compare") === "1";
  const word = params.get("word");
  if (word) { $("word").value = word; explore(word, { push: false }); }
}

window.addEventListener("popstate", restoreState);

// A new model or compare mode re-runs the word on show.
for (const id of ["model", "compare"]) {
  $(id).addEventListener("change", () => {
    const word = $("word").value.trim();
    if (word && (shown.length || !$("word-error").hidden)) explore(word);
  });
}

// The vector of an unknown word, inferred from the sentences of the textarea
// (POST /infer, each model that answers it): its similar words and the confidence.
async function infer() {
  clearError("word-error");
  const word = $("infer-word").textContent;
  const contexts = $("infer-contexts").value.split("\n").map((line) => line.trim()).filter(Boolean);
  const topn = Number($("topn").value) || 10;
  const names = selectedModels().filter((model) => answers(model, "infer"));
  $("neighbours").setAttribute("aria-busy", "true");
  try {
    const results = await Promise.all(names.map((model) =>
      api("/infer", { model, word, contexts, topn }).catch((error) => error)));
    $("neighbours").replaceChildren(...results.map((result, i) => column(
      "similar", `Inferred — ${names[i]}`,
      result instanceof ApiError ? "" : `confidence ${format(result.confidence)} from ${result.occurrences} occurrences`,
      result instanceof ApiError ? result : { neighbours: result.similar })));
  } finally {
    $("neighbours").removeAttribute("aria-busy");
  }
}

// Top two principal components of the rows of X (n × d), by power iteration on X Xᵀ.
function pca2(rows) {
  const n = rows.length, d = rows[0].length;
  const mean = new Array(d).fill(0);
  rows.forEach((r) => r.forEach((x, k) => { mean[k] += x / n; }));
  const centred = rows.map((r) => r.map((x, k) => x - mean[k]));
  const gram = centred.map((a) => centred.map((b) => a.reduce((s, x, k) => s + x * b[k], 0)));
  const components = [];
  for (let c = 0; c < 2; c++) {
    let v = Array.from({ length: n }, (_, i) => Math.sin(i + 1 + c));
    let value = 0;
    for (let iteration = 0; iteration < 200; iteration++) {
      let w = gram.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
      for (const [u, lambda] of components) {  // deflate the components found
        const dot = u.reduce((s, x, j) => s + x * v[j], 0);
        w = w.map((x, j) => x - lambda * dot * u[j]);
      }
      const length = Math.hypot(...w) || 1;
      value = length;
      v = w.map((x) => x / length);
    }
    components.push([v, value]);
  }
  return rows.map((_, i) => components.map(([v, value]) => v[i] * Math.sqrt(value)));
}

// Places labels right of their points, moved down (then up) in steps until no two overlap.
// size: the labels' font size in the map's own units (11 on a wide screen).
function placeLabels(points, words, size) {
  const placed = [];
  const height = size * 1.25, width = (w) => size * 0.62 * w.length;
  return points.map(([x, y], i) => {
    const box = (dy) => ({ x: x + 9, y: y + 4 + dy, w: width(words[i]) });
    const clashes = (b) => placed.some((p) => b.x < p.x + p.w && p.x < b.x + b.w && Math.abs(b.y - p.y) < height);
    let dy = 0;
    for (let step = 1; step < 40 && clashes(box(dy)); step++) dy = (step % 2 ? 1 : -1) * Math.ceil(step / 2) * height;
    const b = box(dy);
    placed.push(b);
    return b;
  });
}

async function drawMap({ model, info, similar, related }) {
  const both = similar.both || new Set();
  const groups = [["query", [info.word]], ["similar", similar.neighbours.map((n) => n.word)]];
  if (related && !(related instanceof ApiError)) groups.push(["related", related.neighbours.map((n) => n.word)]);
  const seen = new Map();
  for (const [kind, words] of groups) for (const w of words) if (!seen.has(w)) seen.set(w, both.has(w) ? "both" : kind);
  const body = await api("/vectors", { words: [...seen.keys()], norm: true, model });
  if (body.words.length < 3) { $("map-figure").hidden = true; return; }
  const points = pca2(body.vectors);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const scale = (values, size) => {
    const low = Math.min(...values), high = Math.max(...values);
    return (x) => 30 + ((x - low) / ((high - low) || 1)) * (size - 60);
  };
  const sx = scale(xs, 500), sy = scale(ys, 360);  // room on the right for labels
  const screen = points.map(([x, y]) => [sx(x), sy(y)]);
  const words = [...seen.keys()];
  const svg = $("map");
  // The map is scaled to the page's width: on a phone its 11-unit labels would shrink
  // to about 7 px, so they grow to stay near 11 px on screen (at most 1.7×).
  // (The figure may still be hidden here: measure its section, the map's max-width 720.)
  const shown = Math.min(720, svg.closest("section").clientWidth) || 600;
  const size = 11 * Math.min(1.7, Math.max(1, 600 / shown));
  const labels = placeLabels(screen, words, size);
  const ns = "http://www.w3.org/2000/svg";
  const names = { query: "the word", similar: "similar", related: "related", both: "similar and related" };
  svg.replaceChildren();
  words.forEach((w, i) => {
    const kind = seen.get(w);
    const point = document.createElementNS(ns, "g");
    point.setAttribute("class", `point ${kind}`);
    point.setAttribute("data-word", w);
    point.setAttribute("tabindex", "0");
    point.setAttribute("role", "button");
    point.setAttribute("aria-label", `${w}, ${names[kind]}: explore`);
    const circle = document.createElementNS(ns, "circle");
    circle.setAttribute("cx", screen[i][0]);
    circle.setAttribute("cy", screen[i][1]);
    circle.setAttribute("r", kind === "query" ? 8 : 6);
    circle.setAttribute("class", kind);
    const title = document.createElementNS(ns, "title");
    title.textContent = `${w} (${names[kind]})`;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", labels[i].x);
    label.setAttribute("y", labels[i].y);
    label.setAttribute("font-size", size.toFixed(1));
    label.textContent = w;
    point.append(title, circle, label);
    svg.append(point);
  });
  $("map-figure").hidden = false;
}

// Map points explore their word on click, Enter or Space.
function exploreFromMap(event) {
  const point = event.target.closest && event.target.closest("g.point");
  if (!point) return;
  if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
  event.preventDefault();
  const word = point.getAttribute("data-word");
  $("word").value = word;
  explore(word);
}
$("map").addEventListener("click", exploreFromMap);
$("map").addEventListener("keydown", exploreFromMap);

// ----------------------------------------------------------- autocomplete

// Each look-up has a number; a response whose number is not the latest is stale and
// dropped. Submitting a query aborts the pending look-up and closes the list for good.
let suggestionTimer = null;
let activeSuggestion = -1;
let lookupCounter = 0;
let lookupAbort = null;

function cancelLookups() {
  clearTimeout(suggestionTimer);
  lookupCounter++;
  if (lookupAbort) lookupAbort.abort();
  lookupAbort = null;
  setSuggestions([]);
}

function setSuggestions(words) {
  const list = $("suggestions");
  activeSuggestion = -1;
  list.replaceChildren(...words.map((w, i) => element("li", { role: "option", id: `suggestion-${i}`, "aria-selected": "false", text: w })));
  list.hidden = words.length === 0;
  $("word").setAttribute("aria-expanded", String(words.length > 0));
  $("word").removeAttribute("aria-activedescendant");
}

function moveSuggestion(step) {
  const items = [...$("suggestions").children];
  if (!items.length) return;
  activeSuggestion = (activeSuggestion + step + items.length) % items.length;
  items.forEach((item, i) => item.setAttribute("aria-selected", String(i === activeSuggestion)));
  $("word").setAttribute("aria-activedescendant", items[activeSuggestion].id);
}

function pickSuggestion(word) {
  $("word").value = word;
  explore(word);
}

async function lookUp(prefix) {
  const request = ++lookupCounter;
  if (lookupAbort) lookupAbort.abort();
  lookupAbort = new AbortController();
  try {
    const response = await fetch(query("/complete", { prefix, limit: 8, model: selectedModels()[0] }), { signal: lookupAbort.signal });
    const body = response.ok ? await response.json() : { words: [], suggestions: [] };
    if (request === lookupCounter) setSuggestions(body.words.length ? body.words : body.suggestions || []);
  } catch (error) {
    if (request === lookupCounter) setSuggestions([]);
  }
}

$("word").addEventListener("input", () => {
  clearTimeout(suggestionTimer);
  const prefix = $("word").value.trim();
  if (!prefix) { cancelLookups(); return; }
  suggestionTimer = setTimeout(() => lookUp(prefix), 120);
});

$("word").addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown") { event.preventDefault(); moveSuggestion(1); }
  else if (event.key === "ArrowUp") { event.preventDefault(); moveSuggestion(-1); }
  else if (event.key === "Escape") cancelLookups();
  else if (event.key === "Enter" && activeSuggestion >= 0) {
    event.preventDefault();
    pickSuggestion($("suggestions").children[activeSuggestion].textContent);
  }
});

$("suggestions").addEventListener("mousedown", (event) => {
  if (event.target.matches("li")) { event.preventDefault(); pickSuggestion(event.target.textContent); }
});

$("word").addEventListener("blur", () => setTimeout(cancelLookups, 100));

$("word-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const word = $("word").value.trim();
  cancelLookups();
  if (word) explore(word);
});

// Suggested words (unknown-word errors) explore in place.
$("word-error").addEventListener("click", (event) => {
  const word = event.target.getAttribute && event.target.getAttribute("data-word");
  if (!word) return;
  event.preventDefault();
  $("word").value = word;
  explore(word);
});

$("infer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  infer();
});

$("neighbours").addEventListener("click", (event) => {
  const word = event.target.getAttribute && event.target.getAttribute("data-word");
  if (word) { $("word").value = word; explore(word); }
});

// -------------------------------------------------------------- two words

$("pair-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError("pair-error");
  const w1 = $("w1").value.trim(), w2 = $("w2").value.trim();
  if (!w1 || !w2) return;
  try {
    const lines = await Promise.all(selectedModels().map(async (model) => {
      const cosine = await api(query("/similarity", { w1, w2, model }));
      let contextText = "no context similarity (vectors only)";
      if (answers(model, "context_similarity")) {
        const context = await api(query("/context_similarity", { w1, w2, model })).catch((e) => e);
        contextText = context instanceof ApiError ? friendly(context)
          : `context similarity (${context.method}) ${format(context.score)}`;
      }
      return element("p", { text: `${model}: cosine similarity ${format(cosine.similarity)}; ${contextText}` });
    }));
    $("pair-result").replaceChildren(...lines);
  } catch (error) {
    $("pair-result").replaceChildren();
    showError("pair-error", error);
  }
});

// ---------------------------------------------------------------- analogy

$("analogy-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError("analogy-error");
  const [a, b, c] = ["a", "b", "c"].map((id) => $(id).value.trim());
  if (!a || !b || !c) return;
  try {
    // Compare mode: one answer per model, side by side.
    const names = selectedModels();
    const results = await Promise.all(names.map((model) =>
      api(query("/most_similar", { positive: [a, c], negative: b, topn: 5, model }))));
    $("analogy-result").replaceChildren(...results.map((body, i) => element("div", { class: "column similar" },
      element("h3", { text: `${a} − ${b} + ${c} — ${names[i]}` }),
      element("p", { class: "meaning", text: MEANINGS.cosine }),
      element("ol", {}, ...body.neighbours.map((n) => element("li", { text: `${n.word} (${format(n.score)})` }))))));
  } catch (error) {
    $("analogy-result").replaceChildren();
    showError("analogy-error", error);
  }
});

// --------------------------------------------------------------- keywords

// The text with every occurrence of a keyword wrapped in <mark>, built as DOM nodes from
// the server's spans ([start, end) in characters of the text as sent), not re-tokenised here.
function highlight(text, keywords) {
  // The server counts characters (code points); JavaScript strings index UTF-16 units.
  const chars = Array.from(text);
  const marks = keywords
    .flatMap((k, i) => (k.spans || []).map(([start, end]) => ({ start, end, rank: i + 1, score: k.score })))
    .sort((a, b) => a.start - b.start);
  const nodes = [];
  let last = 0;
  for (const { start, end, rank, score } of marks) {
    if (start < last) continue; // overlapping spans (a phrase and its word): keep the first
    nodes.push(document.createTextNode(chars.slice(last, start).join("")));
    nodes.push(element("mark", { title: `keyword ${rank}, score ${format(score)}`, "data-rank": String(rank) },
      chars.slice(start, end).join(""), element("sup", { text: String(rank) })));
    last = end;
  }
  nodes.push(document.createTextNode(chars.slice(last).join("")));
  return nodes;
}

// A keyword with its score and the tokens that contributed most to it.
function keywordItem(keyword) {
  const why = (keyword.contributions || []).slice(0, 3).map((c) => `${c.token} ${format(c.contribution)}`);
  return element("li", { text: `${keyword.word} (${format(keyword.score)})` },
    why.length ? element("span", { class: "why", text: ` from ${why.join(", ")}` }) : "");
}

function keywordColumn(model, body) {
  return element("div", { class: "column" },
    element("h3", { text: `Keywords — ${model}` }),
    element("p", { class: "meaning", text: KEYWORD_MEANINGS[body.method] || "" }),
    element("ol", {}, ...body.keywords.map((k) => element("li", { text: `${k.word} (${format(k.score)})` }))));
}

$("keywords-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError("keywords-error");
  const text = $("text").value;
  try {
    // Compare mode: the chosen model's keywords are highlighted and explained; each
    // model's list also goes in a column, side by side.
    const names = selectedModels();
    const bodies = await Promise.all(names.map((model) => api("/keywords", {
      text, topn: Number($("keyword-topn").value) || 5, exclude_stopwords: $("stopwords").checked, model,
      diversity: Number($("keyword-diversity").value) || 0, explain: true,
    })));
    const body = bodies[0];
    $("keyword-compare").replaceChildren(...(bodies.length > 1 ? bodies.map((other, i) => keywordColumn(names[i], other)) : []));
    $("highlighted").replaceChildren(...highlight(text, body.keywords));
    $("keyword-list").replaceChildren(...body.keywords.map(keywordItem));
    $("keyword-meaning").textContent = body.keywords.length ? KEYWORD_MEANINGS[body.method] || "" : "";
    if (!body.keywords.length) showError("keywords-error", new Error(`No keywords: ${body.reason}.`));
  } catch (error) {
    $("highlighted").replaceChildren();
    $("keyword-list").replaceChildren();
    $("keyword-compare").replaceChildren();
    showError("keywords-error", error);
  }
});

loadModels().then(restoreState).catch((error) => showError("word-error", error));
