// attnrec explorer: plain JavaScript, no build step, no library, no network beyond this server.
"use strict";

const state = {
  health: null,
  users: [],
  current: null, // {kind: "user", user} or {kind: "profile", ratings: [...]}
  profile: new Map(), // item key -> {item, title, rating}
  seed: 0,
  counterfactual: null,
  requests: {}, // panel -> AbortController of its request in flight
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ helpers

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "style") node.setAttribute("style", value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmt(value, digits = 3) {
  return Number(value).toFixed(digits);
}

// an attention weight with three significant digits (alpha_rec of a long profile is ~0.004)
function weight(value) {
  const number = Number(value);
  return number >= 0.1 || number === 0 ? number.toFixed(3) : number.toPrecision(3);
}

function titleOf(entry) {
  return entry.title || `item ${entry.item}`;
}

async function api(path, options = {}, panel = null) {
  // one request per panel at a time: a newer one cancels the older
  if (panel) {
    if (state.requests[panel]) state.requests[panel].abort();
    state.requests[panel] = new AbortController();
    options.signal = state.requests[panel].signal;
  }
  if (options.body !== undefined) {
    options.method = options.method || "POST";
    options.headers = { "Content-Type": "application/json" };
    options.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Error("The server cannot be reached. Is `attnrec serve` still running?");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (error) {
    payload = null;
  }
  if (!response.ok) {
    const detail = payload && payload.detail ? payload.detail : response.statusText;
    throw new Error(`${detail} (HTTP ${response.status})`);
  }
  return payload;
}

function setBusy(panelId, busy) {
  const panel = $(panelId);
  panel.setAttribute("aria-busy", busy ? "true" : "false");
  const loading = panel.querySelector(".loading");
  if (loading) loading.hidden = !busy;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// true for a request cancelled by a newer one (nothing to show); else shows the error
function aborted(error) {
  if (error && error.name === "AbortError") return true;
  showError(error.message || String(error));
  return false;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function settings() {
  const limit = state.health ? state.health.limits.max_n : 50;
  const n = Math.max(1, Math.min(limit, parseInt($("opt-n").value, 10) || 10));
  const delta = Math.max(0, Math.min(1, parseFloat($("opt-delta").value)));
  return { n, delta: Number.isFinite(delta) ? delta : 0.8, fallback: $("opt-fallback").checked };
}

// ------------------------------------------------------------------ start

async function start() {
  bindEvents();
  try {
    state.health = await api("/api/health");
    const health = state.health;
    $("run-info").textContent =
      `${health.dataset} · ${health.n_users.toLocaleString()} users · ` +
      `${health.n_items.toLocaleString()} items · ${health.n_ratings.toLocaleString()} ratings · ` +
      `${health.n_neighbours} neighbours per user`;
    $("opt-n").max = String(Math.min(50, health.limits.max_n));
    $("scramble-p").max = String(health.limits.max_permutations);
    await loadUserOptions("");
  } catch (error) {
    $("run-info").textContent = "Not connected";
    aborted(error);
    return;
  }
  renderEmpty();
  const match = /user=([^&]+)/.exec(window.location.hash);
  if (match) {
    $("user-input").value = decodeURIComponent(match[1]);
    showUser($("user-input").value);
  }
}

function bindEvents() {
  $("tab-user").addEventListener("click", () => selectTab("user"));
  $("tab-profile").addEventListener("click", () => selectTab("profile"));
  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const user = $("user-input").value.trim();
    if (user) showUser(user);
  });
  $("user-input").addEventListener("input", debounce(() => loadUserOptions($("user-input").value), 200));
  $("random-user").addEventListener("click", () => {
    if (!state.users.length) return;
    const pick = state.users[Math.floor(Math.random() * state.users.length)];
    $("user-input").value = String(pick.user);
    showUser(String(pick.user));
  });
  $("search-input").addEventListener("input", debounce(() => search($("search-input").value), 200));
  $("profile-go").addEventListener("click", () => showProfile());
  $("scramble-toggle").addEventListener("change", () => toggleScramble());
  $("scramble-view").addEventListener("change", () => {
    if (state.counterfactual) renderScramble(state.counterfactual);
  });
  $("scramble-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.seed += 1;
    loadScramble();
  });
  for (const id of ["opt-n", "opt-delta", "opt-fallback"]) {
    $(id).addEventListener("change", () => refresh());
  }
}

function selectTab(which) {
  const user = which === "user";
  $("tab-user").setAttribute("aria-selected", String(user));
  $("tab-profile").setAttribute("aria-selected", String(!user));
  $("pane-user").hidden = !user;
  $("pane-profile").hidden = user;
  (user ? $("user-input") : $("search-input")).focus();
}

async function loadUserOptions(prefix) {
  try {
    const found = await api(`/api/users?prefix=${encodeURIComponent(prefix.trim())}&limit=100`,
      {}, "users");
    if (!prefix) state.users = found.users;
    $("user-options").replaceChildren(
      ...found.users.map((u) => h("option", { value: String(u.user) }, `${u.n_ratings} ratings`)));
  } catch (error) {
    aborted(error);
  }
}

function refresh() {
  if (!state.current) return;
  if (state.current.kind === "user") showUser(state.current.user);
  else showProfile();
}

// ------------------------------------------------------------------ an existing user

async function showUser(user) {
  clearError();
  state.current = { kind: "user", user };
  window.history.replaceState(null, "", `#user=${encodeURIComponent(user)}`);
  $("recs-title").textContent = `Recommendations for user ${user}`;
  $("recs-sub").textContent = "Each item comes with the similar user whose rating explains it.";
  const { n, delta, fallback } = settings();
  const base = `/api/users/${encodeURIComponent(user)}`;
  const query = `n=${n}&delta=${delta}&fallback=${fallback}`;
  setBusy("recs-panel", true);
  setBusy("sim-panel", true);
  setBusy("rec-att-panel", true);
  try {
    const [recs, attention] = await Promise.all([
      api(`${base}/recommendations?${query}`, {}, "recs"),
      api(`${base}/attention?top=10`, {}, "attention"),
    ]);
    renderRecommendations(recs);
    renderAttention(attention);
    $("scramble-toggle").disabled = false;
    if ($("scramble-toggle").checked) loadScramble();
  } catch (error) {
    if (aborted(error)) return;
    renderEmpty(`No results for user ${user}.`);
  } finally {
    setBusy("recs-panel", false);
    setBusy("sim-panel", false);
    setBusy("rec-att-panel", false);
  }
}

// ------------------------------------------------------------------ a new profile

async function search(text) {
  const list = $("search-results");
  const query = text.trim();
  if (!query) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(h("li", { class: "search-status" }, "Searching…"));
  try {
    const found = await api(`/api/items/search?q=${encodeURIComponent(query)}&limit=8`, {}, "search");
    if (!found.items.length) {
      list.replaceChildren(h("li", { class: "search-status" }, `No title contains “${query}”.`));
      return;
    }
    list.replaceChildren(...found.items.map(searchRow));
  } catch (error) {
    if (aborted(error)) return;
    list.replaceChildren(h("li", { class: "search-status" }, "Search failed."));
  }
}

function ratingSelect(value, label) {
  const high = state.health ? state.health.rating_scale[1] : 5;
  const low = state.health ? state.health.rating_scale[0] : 1;
  const select = h("select", { "aria-label": label });
  for (let r = high; r >= low; r -= 1) {
    select.append(h("option", { value: String(r), selected: r === value }, `${r} ★`));
  }
  return select;
}

function searchRow(entry) {
  const key = String(entry.item);
  const select = ratingSelect(4, `Rating of ${titleOf(entry)}`);
  const added = state.profile.has(key);
  const button = h("button", {
    type: "button",
    class: "icon-button add",
    "aria-label": `Add ${titleOf(entry)}`,
    disabled: added,
    onclick: () => {
      addToProfile(entry, parseFloat(select.value));
      button.disabled = true;
      button.textContent = "✓";
    },
  }, added ? "✓" : "+");
  const mean = entry.mean_rating === null ? "" : ` · mean ${fmt(entry.mean_rating, 1)}`;
  return h("li", { "data-item": key },
    h("span", { class: "title" }, titleOf(entry),
      h("span", { class: "meta" }, `${entry.n_ratings} ratings${mean}`)),
    select, button);
}

function addToProfile(entry, rating) {
  const limit = state.health ? state.health.limits.max_profile : 1000;
  if (state.profile.size >= limit) {
    showError(`A profile holds at most ${limit} ratings.`);
    return;
  }
  state.profile.set(String(entry.item), { item: entry.item, title: entry.title, rating });
  renderProfile();
}

function renderProfile() {
  const rows = [...state.profile.entries()].map(([key, entry]) => {
    const select = ratingSelect(entry.rating, `Rating of ${titleOf(entry)}`);
    select.addEventListener("change", () => {
      entry.rating = parseFloat(select.value);
    });
    return h("li", { "data-item": key },
      h("span", { class: "title" }, titleOf(entry)),
      select,
      h("button", {
        type: "button",
        class: "icon-button remove",
        "aria-label": `Remove ${titleOf(entry)}`,
        onclick: () => {
          state.profile.delete(key);
          renderProfile();
          search($("search-input").value);
        },
      }, "×"));
  });
  $("profile-list").replaceChildren(...rows);
  $("profile-empty").hidden = rows.length > 0;
  $("profile-count").textContent = rows.length ? `(${rows.length})` : "";
  $("profile-go").disabled = rows.length === 0;
}

function profileRatings() {
  return [...state.profile.values()].map((e) => ({ item: e.item, rating: e.rating }));
}

async function showProfile() {
  if (!state.profile.size) return;
  clearError();
  state.current = { kind: "profile" };
  window.history.replaceState(null, "", "#profile");
  const count = state.profile.size;
  $("recs-title").textContent = "Recommendations for your profile";
  $("recs-sub").textContent =
    `From your ${count} rating${count > 1 ? "s" : ""}, answered without retraining.`;
  const { n, delta, fallback } = settings();
  setBusy("recs-panel", true);
  setBusy("sim-panel", true);
  setBusy("rec-att-panel", true);
  try {
    const answer = await api("/api/profile/recommendations", {
      body: { ratings: profileRatings(), n, delta, fallback, top: 10 },
    }, "recs");
    renderRecommendations(answer.recommendations);
    renderAttention(answer.attention);
    $("scramble-toggle").disabled = false;
    if ($("scramble-toggle").checked) loadScramble();
  } catch (error) {
    if (aborted(error)) return;
    renderEmpty("No results for this profile.");
  } finally {
    setBusy("recs-panel", false);
    setBusy("sim-panel", false);
    setBusy("rec-att-panel", false);
  }
}

// ------------------------------------------------------------------ recommendations

function renderEmpty(message) {
  $("recs-list").replaceChildren(h("li", { class: "empty" },
    message || "Pick a user on the left, or build a profile from a few titles you know."));
  $("recs-note").hidden = true;
  $("scramble-toggle").checked = false;
  $("scramble-toggle").disabled = true;
  $("scramble-panel").hidden = true;
  state.counterfactual = null;
  $("chart-sim").replaceChildren(h("p", { class: "muted small" }, "Nothing to show yet."));
  $("chart-rec").replaceChildren(h("p", { class: "muted small" }, "Nothing to show yet."));
}

function renderRecommendations(data) {
  const items = data.recommendations;
  const top = items.reduce((m, r) => Math.max(m, r.score), 0) || 1;
  const scale = state.health ? state.health.rating_scale[1] : 5;
  $("recs-list").replaceChildren(...items.map((r, i) => recommendationCard(r, i, top, scale)));
  if (!items.length) {
    $("recs-list").replaceChildren(h("li", { class: "empty" },
      "No item passes the delta-rule. Lower delta or allow unexplained items in Settings."));
  }
  $("recs-note").textContent = data.note || "";
  $("recs-note").hidden = !data.note;
}

function userChip(user) {
  return h("button", {
    type: "button",
    class: "chip",
    title: `Explore user ${user}`,
    onclick: () => {
      selectTab("user");
      $("user-input").value = String(user);
      showUser(String(user));
    },
  }, `user ${user}`);
}

function recommendationCard(r, index, top, scale) {
  const badge = r.explainable
    ? h("span", { class: "badge ok" }, "explained")
    : h("span", { class: "badge warn" }, "no explanation");
  const support = r.neighbour
    ? h("div", { class: "support" },
      h("span", {}, "Supporting neighbour"), userChip(r.neighbour.user),
      h("span", {}, `rated it ${r.neighbour.rating}/${scale}`))
    : null;
  const others = r.other_neighbours.length
    ? h("li", {}, `Other supporters: `,
      r.other_neighbours.map((s, i) => [i ? ", " : "", `user ${s.user} (${s.rating}/${scale})`]))
    : null;
  const own = r.own_items.length
    ? h("li", {}, "Your most attended items: ",
      r.own_items.map((a, i) => [i ? "; " : "", `${titleOf(a)} (${a.rating}/${scale}, α ${weight(a.attention)})`]))
    : null;
  const details = others || own
    ? h("details", {}, h("summary", {}, "Other supporters and your most attended items"),
      h("ul", {}, others, own))
    : null;
  return h("li", { class: `rec${r.explainable ? "" : " fallback"}`, "data-item": String(r.item) },
    h("div", { class: "rank" }, String(index + 1)),
    h("div", { class: "rec-main" },
      h("div", { class: "rec-title" }, titleOf(r), badge),
      h("p", { class: "sentence" }, r.sentence),
      support,
      details),
    h("div", { class: "score", title: "y^: the model's probability for this item" },
      h("span", {}, `score · #${r.rank}`),
      h("strong", {}, fmt(r.score, 4)),
      h("div", { class: "meter" }, h("span", { style: `width:${(100 * r.score) / top}%` }))));
}

// ------------------------------------------------------------------ attention charts

function renderAttention(attention) {
  const scale = state.health ? state.health.rating_scale[1] : 5;
  renderBars($("chart-sim"), attention.similar_users, {
    label: (s) => h("button", {
      type: "button",
      class: "bar-label",
      title: `user ${s.user}: cosine ${fmt(s.cosine, 2)}, ${s.n_ratings} ratings`,
      onclick: () => {
        selectTab("user");
        $("user-input").value = String(s.user);
        showUser(String(s.user));
      },
    }, `user ${s.user}`),
    empty: "This user has no similar users.",
    more: attention.n_neighbours,
  });
  renderBars($("chart-rec"), attention.rated_items, {
    label: (a) => h("span", { class: "bar-label", title: `${titleOf(a)}: rated ${a.rating}/${scale}` },
      h("span", { class: "stars" }, `${a.rating}★`), titleOf(a)),
    empty: "No rated items.",
    more: attention.n_rated,
  });
}

function renderBars(container, rows, { label, empty, more }) {
  if (!rows.length) {
    container.replaceChildren(h("p", { class: "muted small" }, empty));
    return;
  }
  const top = Math.max(...rows.map((r) => r.attention)) || 1;
  const bars = rows.map((r) => h("div", { class: "bar-row", role: "listitem" },
    label(r),
    h("div", { class: "bar-track" },
      h("div", { class: "bar-fill", style: `width:${Math.max(1, (100 * r.attention) / top)}%` })),
    h("span", { class: "bar-value" }, weight(r.attention))));
  const footer = more > rows.length
    ? h("p", { class: "muted small" }, `Top ${rows.length} of ${more}.`)
    : null;
  container.replaceChildren(...bars, ...(footer ? [footer] : []));
}

// ------------------------------------------------------------------ scramble

function toggleScramble() {
  const on = $("scramble-toggle").checked;
  $("scramble-panel").hidden = !on;
  if (on) {
    $("scramble-panel").scrollIntoView({ block: "start" });
    loadScramble();
  }
}

async function loadScramble() {
  if (!state.current) return;
  const { n } = settings();
  const permutations = Math.max(1, Math.min(200, parseInt($("scramble-p").value, 10) || 20));
  setBusy("scramble-panel", true);
  try {
    let answer;
    if (state.current.kind === "user") {
      const user = encodeURIComponent(state.current.user);
      answer = await api(
        `/api/users/${user}/counterfactual?n=${n}&permutations=${permutations}&seed=${state.seed}`,
        {}, "scramble");
    } else {
      answer = await api("/api/profile/counterfactual", {
        body: { ratings: profileRatings(), n, permutations, seed: state.seed },
      }, "scramble");
    }
    state.counterfactual = answer;
    renderScramble(answer);
  } catch (error) {
    if (aborted(error)) return;
    $("scramble-body").replaceChildren(h("p", { class: "muted" }, "The permutation test failed."));
  } finally {
    setBusy("scramble-panel", false);
  }
}

const FAMILY_NAMES = {
  recommendation: ["α", h("sub", {}, "rec"), " permuted"],
  similarity: ["α", h("sub", {}, "sim"), " permuted"],
};

function familyLabel(family) {
  return FAMILY_NAMES[family].map((part) => (part instanceof Node ? part.cloneNode(true) : part));
}

function moveMark(entry) {
  if (!entry.in_original) return h("span", { class: "move up", title: `was #${entry.original_rank}` }, "new");
  const delta = entry.original_rank - entry.rank;
  if (delta > 0) return h("span", { class: "move up", title: `was #${entry.original_rank}` }, `↑${delta}`);
  if (delta < 0) return h("span", { class: "move down", title: `was #${entry.original_rank}` }, `↓${-delta}`);
  return null;
}

function renderScramble(cf) {
  const view = $("scramble-view").value;
  const lists = cf.families.map((f) => f[view]);
  const rows = cf.original.map((entry, i) => h("tr", {},
    h("td", { class: "pos" }, String(i + 1)),
    h("td", { "data-item": String(entry.item) }, titleOf(entry)),
    ...lists.map((list) => {
      const other = list[i];
      if (!other) return h("td", {}, "");
      return h("td", {
        class: other.in_original ? "" : "new",
        "data-item": String(other.item),
      }, titleOf(other), moveMark(other));
    })));
  const what = view === "example" ? "one random permutation" : `the mean over ${cf.n_permutations} permutations`;
  const head = h("tr", {},
    h("th", {}, "#"),
    h("th", {}, "Original", h("span", { class: "stat" }, "top items by score")),
    ...cf.families.map((f) => h("th", {}, ...familyLabel(f.family),
      h("span", { class: "stat" },
        `keeps ${Math.round(100 * f.mean_overlap)}% of the top ${cf.n} · ` +
        `top-1 changes in ${Math.round(100 * f.top1_changed)}%` +
        (f.tvd_median === null ? "" : ` · TVD ${fmt(f.tvd_median)}`)))));
  const table = h("table", { class: "compare", id: "scramble-table" },
    h("colgroup", {}, h("col", { class: "pos" }), h("col"), h("col"), h("col")),
    h("thead", {}, head), h("tbody", {}, rows));
  const summary = h("p", { class: "summary-line" },
    `Showing ${what} (seed ${cf.seed}). Percentages are over all ${cf.n_permutations} ` +
    "permutations of each family. A model whose attention matters changes its list when the " +
    "attention is scrambled.");
  $("scramble-body").replaceChildren(table, summary);
}

document.addEventListener("DOMContentLoaded", start);
