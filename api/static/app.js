// Mara web chat: vanilla JS, no framework, nothing from a CDN.
// Streams POST /v1/chat as Server-Sent Events through fetch + ReadableStream
// (EventSource cannot POST) and renders each event as it arrives.
//
// Safety: model text never reaches innerHTML. The Markdown renderer below builds DOM
// nodes and puts every piece of text in with textContent / text nodes, so HTML in a
// reply is shown as text, and only http(s), mailto and same-site links become <a>.

"use strict";

(() => {
  const STORAGE_KEY = "mara.conversation_id";
  const TABLE_PREVIEW_ROWS = 10;

  // ---- DOM helpers ------------------------------------------------------------------------

  /** Create an element: el("div", {class: "x", "aria-label": "y"}, child, "text", ...). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const $ = (selector) => document.querySelector(selector);

  // ---- Markdown (minimal, safe) ---------------------------------------------------------------

  const INLINE = new RegExp(
    [
      "`([^`\\n]+)`", // 1 code
      "\\*\\*(?=\\S)([\\s\\S]+?)\\*\\*", // 2 bold
      "(?<![A-Za-z0-9_])__(?=\\S)([\\s\\S]+?)__(?![A-Za-z0-9_])", // 3 bold
      "\\*(?=[^\\s*])([\\s\\S]+?)\\*", // 4 italic
      "(?<![A-Za-z0-9_])_(?=[^\\s_])([\\s\\S]+?)_(?![A-Za-z0-9_])", // 5 italic
      "\\[([^\\]\\n]+)\\]\\(([^)\\s]+)\\)", // 6 text, 7 url
      "(https?:\\/\\/[^\\s<>()]*[^\\s<>().,;:!?'\"])", // 8 bare url
    ].join("|"),
    "g",
  );

  /** Only these link targets become clickable; anything else (javascript:, data:) stays text. */
  function safeHref(url) {
    if (/^(https?:|mailto:)/i.test(url)) return url;
    if (/^\/(?!\/)/.test(url) || url.startsWith("#")) return url;
    return null;
  }

  function link(text, url) {
    const href = safeHref(url);
    if (!href) return document.createTextNode(text);
    const external = /^https?:/i.test(href);
    const a = el("a", { href, target: external ? "_blank" : null,
      rel: external ? "noopener noreferrer" : null });
    appendInline(a, text);
    return a;
  }

  /** Append inline Markdown (code, bold, italics, links) to a node as DOM nodes. */
  function appendInline(parent, text) {
    let last = 0;
    INLINE.lastIndex = 0;
    const matches = [...text.matchAll(INLINE)];
    for (const m of matches) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      if (m[1] !== undefined) parent.append(el("code", { text: m[1] }));
      else if (m[2] !== undefined || m[3] !== undefined) {
        const strong = el("strong");
        appendInline(strong, m[2] ?? m[3]);
        parent.append(strong);
      } else if (m[4] !== undefined || m[5] !== undefined) {
        const em = el("em");
        appendInline(em, m[4] ?? m[5]);
        parent.append(em);
      } else if (m[6] !== undefined) parent.append(link(m[6], m[7]));
      else if (m[8] !== undefined) parent.append(link(m[8], m[8]));
      last = m.index + m[0].length;
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  const LIST_ITEM = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/;
  const TABLE_SEPARATOR = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;

  function isBlockStart(line, next) {
    return /^\s*(```|>|#{1,6}\s)/.test(line) || LIST_ITEM.test(line)
      || (line.trim().startsWith("|") && next !== undefined && TABLE_SEPARATOR.test(next));
  }

  function tableCells(line) {
    return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  }

  /** Render Markdown source to a DocumentFragment (paragraphs, lists, quotes, code, tables). */
  function renderMarkdown(source) {
    const frag = document.createDocumentFragment();
    const lines = source.replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) { i++; continue; }
      let m;
      if (/^\s*```/.test(line)) {
        const code = [];
        i++;
        while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) code.push(lines[i++]);
        i++;
        frag.append(el("pre", {}, el("code", { text: code.join("\n") })));
      } else if ((m = line.match(/^\s*(#{1,6})\s+(.*)$/))) {
        const heading = el(m[1].length <= 2 ? "h3" : "h4");
        appendInline(heading, m[2]);
        frag.append(heading);
        i++;
      } else if (/^\s*>/.test(line)) {
        const quoted = [];
        while (i < lines.length && /^\s*>/.test(lines[i])) {
          quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
        }
        frag.append(el("blockquote", {}, renderMarkdown(quoted.join("\n"))));
      } else if (LIST_ITEM.test(line)) {
        const ordered = /\d/.test(line.match(LIST_ITEM)[1]);
        const list = el(ordered ? "ol" : "ul");
        if (ordered) {
          const start = parseInt(line.match(LIST_ITEM)[1], 10);
          if (start !== 1) list.setAttribute("start", String(start));
        }
        while (i < lines.length) {
          const item = lines[i].match(LIST_ITEM);
          if (item && /\d/.test(item[1]) === ordered) {
            const li = el("li");
            appendInline(li, item[2]);
            list.append(li);
            i++;
          } else if (!item && lines[i].trim() && /^\s+/.test(lines[i]) && list.lastChild) {
            list.lastChild.append(" ");
            appendInline(list.lastChild, lines[i].trim());
            i++;
          } else break;
        }
        frag.append(list);
      } else if (line.trim().startsWith("|") && TABLE_SEPARATOR.test(lines[i + 1] || "")) {
        const head = tableCells(line);
        i += 2;
        const body = [];
        while (i < lines.length && lines[i].trim().startsWith("|")) body.push(tableCells(lines[i++]));
        const tr = el("tr", {}, ...head.map((c) => { const th = el("th"); appendInline(th, c); return th; }));
        const rows = body.map((cells) => el("tr", {}, ...cells.map((c) => {
          const td = el("td");
          appendInline(td, c);
          return td;
        })));
        frag.append(el("div", { class: "table-scroll card" },
          el("table", { class: "data" }, el("thead", {}, tr), el("tbody", {}, ...rows))));
      } else {
        const p = el("p");
        let first = true;
        while (i < lines.length && lines[i].trim() && !(isBlockStart(lines[i], lines[i + 1]) && !first)) {
          if (!first) p.append(el("br"));
          appendInline(p, lines[i].trim());
          first = false;
          i++;
        }
        frag.append(p);
      }
    }
    return frag;
  }

  // ---- formatting ---------------------------------------------------------------------------

  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

  /** Decimals to show for a numeric column: as many as its values use, at most 4. */
  function columnDecimals(values) {
    let digits = 0;
    for (const v of values) {
      if (isNumber(v) && !Number.isInteger(v)) {
        const text = String(v);
        const dot = text.indexOf(".");
        digits = Math.max(digits, dot < 0 || text.includes("e") ? 4 : text.length - dot - 1);
      }
    }
    return Math.min(digits, 4);
  }

  function formatCell(value, decimals) {
    if (value === null || value === undefined) return "∅";
    if (isNumber(value)) {
      const digits = decimals ?? (Number.isInteger(value) ? 0 : 2);
      return value.toLocaleString(undefined,
        { minimumFractionDigits: digits, maximumFractionDigits: digits });
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function formatDuration(ms) {
    if (!isNumber(ms)) return "";
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

  // ---- tables --------------------------------------------------------------------------------

  function compareValues(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    if (isNumber(a) && isNumber(b)) return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
  }

  function artifactUrl(id) {
    return `/v1/artifacts/${encodeURIComponent(id)}.csv`;
  }

  /** A result card: sortable preview of the first rows, row counts, SQL and a CSV download. */
  function renderTable(data) {
    const columns = Array.isArray(data.columns) ? data.columns : [];
    const allRows = Array.isArray(data.rows) ? data.rows : [];
    const numeric = columns.map((_, c) => {
      const values = allRows.map((r) => r[c]).filter((v) => v !== null && v !== undefined);
      return values.length > 0 && values.every(isNumber);
    });
    const decimals = columns.map((_, c) => (numeric[c] ? columnDecimals(allRows.map((r) => r[c])) : 0));
    const state = { column: -1, direction: 1, expanded: false };
    const total = isNumber(data.row_count) ? data.row_count : allRows.length;

    const headCells = columns.map((name, c) => {
      const button = el("button", { type: "button", text: name,
        "aria-label": `Sort by ${name}` });
      const th = el("th", { scope: "col", class: numeric[c] ? "num" : null, "aria-sort": "none" }, button);
      button.addEventListener("click", () => {
        state.direction = state.column === c ? -state.direction : 1;
        state.column = c;
        headCells.forEach((cell, k) => cell.setAttribute("aria-sort",
          k !== c ? "none" : state.direction === 1 ? "ascending" : "descending"));
        draw();
      });
      return th;
    });
    const tbody = el("tbody");
    const footText = el("span");
    const toggle = el("button", { type: "button", class: "link link-btn" });
    toggle.addEventListener("click", () => { state.expanded = !state.expanded; draw(); });

    function draw() {
      let rows = allRows.slice();
      if (state.column >= 0) {
        rows.sort((a, b) => state.direction * compareValues(a[state.column], b[state.column]));
      }
      const shown = state.expanded ? rows : rows.slice(0, TABLE_PREVIEW_ROWS);
      tbody.replaceChildren(...shown.map((row) => el("tr", {}, ...columns.map((_, c) => {
        const v = row[c];
        const cls = [numeric[c] ? "num" : "", v === null || v === undefined ? "null" : ""]
          .join(" ").trim();
        return el("td", { class: cls || null, text: formatCell(v, numeric[c] ? decimals[c] : undefined) });
      }))));
      const more = allRows.length > TABLE_PREVIEW_ROWS;
      footText.textContent = total > shown.length
        ? `Showing ${shown.length.toLocaleString()} of ${plural(total, "row")}`
          + (data.truncated ? " (row cap reached)" : "")
        : plural(total, "row");
      toggle.hidden = !more;
      toggle.textContent = state.expanded ? "Show fewer" : `Show ${allRows.length.toLocaleString()}`;
    }
    draw();

    const actions = el("div", { class: "card-actions" });
    if (data.artifact_id) {
      actions.append(el("a", { class: "link", href: artifactUrl(data.artifact_id), download: "",
        "aria-label": `Download ${data.title || "table"} as CSV` }, "↓ Download CSV"));
    }
    const card = el("section", { class: "card", "aria-label": data.title || "Result table" },
      el("div", { class: "card-head" },
        el("div", {}, el("h3", { class: "card-title", text: data.title || "Result" }),
          el("span", { class: "card-meta", text: `${plural(columns.length, "column")}` })),
        actions),
      el("div", { class: "table-scroll" },
        el("table", { class: "data" }, el("thead", {}, el("tr", {}, ...headCells)), tbody)),
      el("div", { class: "card-foot" }, footText, toggle));
    if (data.sql) {
      card.append(el("details", { class: "sql" }, el("summary", { text: "SQL" }),
        el("pre", { text: data.sql })));
    }
    return card;
  }

  // ---- charts ------------------------------------------------------------------------------
  // Vega, Vega-Lite and vega-embed are vendored under /static/vendor and loaded on the first
  // chart. Expressions run through vega-interpreter (no eval), so the page's CSP holds.

  const VEGA_SCRIPTS = ["vega.min.js", "vega-lite.min.js", "vega-interpreter.min.js",
    "vega-embed.min.js"].map((name) => `/static/vendor/${name}`);
  const charts = new Set(); // {node, spec, view} of charts on the page, re-themed on change
  const darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  let vegaReady = null;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = el("script", { src });
      script.async = false;
      script.addEventListener("load", () => resolve());
      script.addEventListener("error", () => reject(new Error(`could not load ${src}`)));
      document.head.append(script);
    });
  }

  /** Load the vendored chart libraries once, in order; resolves to vegaEmbed. */
  function loadVega() {
    if (!vegaReady) {
      vegaReady = VEGA_SCRIPTS.reduce((prev, src) => prev.then(() => loadScript(src)),
        Promise.resolve()).then(() => {
        if (typeof window.vegaEmbed !== "function" || !window.vega
          || !window.vega.expressionInterpreter) {
          throw new Error("chart libraries did not initialise");
        }
        return window.vegaEmbed;
      });
      vegaReady.catch(() => { vegaReady = null; }); // a later chart may retry
    }
    return vegaReady;
  }

  /** Vega config matching the page's light/dark theme (read from the CSS variables). */
  function chartTheme() {
    const css = getComputedStyle(document.documentElement);
    const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const text = v("--text", "#1c1c21");
    const muted = v("--text-3", v("--text-2", "#6b6b76"));
    const grid = v("--border", "#e4e4e9");
    const axis = v("--border-strong", "#d0d0d8");
    const font = v("--font", "system-ui, sans-serif");
    const dark = Boolean(darkQuery && darkQuery.matches);
    return {
      background: "transparent",
      font,
      padding: 8,
      title: { color: text, subtitleColor: muted, fontSize: 14, fontWeight: 600, anchor: "start" },
      axis: { labelColor: muted, titleColor: muted, gridColor: grid, domainColor: axis,
        tickColor: axis, labelFontSize: 11.5, titleFontSize: 12, titleFontWeight: 500 },
      legend: { labelColor: muted, titleColor: muted, labelFontSize: 11.5, titleFontSize: 12 },
      view: { stroke: null },
      range: {
        category: dark
          ? ["#8d8bff", "#4ade80", "#f0b45a", "#f87171", "#38bdf8", "#e879f9", "#a3e635",
            "#fb923c", "#94a3b8", "#2dd4bf"]
          : ["#5e5ce6", "#1f9d55", "#d97706", "#d93f3f", "#0284c7", "#c026d3", "#65a30d",
            "#ea580c", "#64748b", "#0d9488"],
      },
      mark: { color: v("--accent", "#5e5ce6") },
      arc: { stroke: v("--surface", "#ffffff"), strokeWidth: 1 },
    };
  }

  /** Embed (or re-embed after a theme change) one chart; throws when Vega fails. */
  async function drawChart(chart) {
    const vegaEmbed = await loadVega();
    if (chart.view) chart.view.finalize();
    const { title: _shownInCardHead, ...spec } = chart.spec;
    const result = await vegaEmbed(chart.node, spec, {
      actions: false,
      renderer: "svg",
      defaultStyle: false, // vega-embed's injected <style> would break style-src 'self'
      ast: true,
      expr: window.vega.expressionInterpreter,
      config: chartTheme(),
      tooltip: { theme: darkQuery && darkQuery.matches ? "dark" : "light",
        disableDefaultStyle: true }, // styled in app.css
    });
    chart.view = result.view;
  }

  /** Release the views of charts no longer on the page (e.g. after "New chat"). */
  function pruneCharts() {
    for (const chart of charts) {
      if (!chart.node.isConnected) {
        if (chart.view) chart.view.finalize();
        charts.delete(chart);
      }
    }
  }

  if (darkQuery && darkQuery.addEventListener) {
    darkQuery.addEventListener("change", () => {
      pruneCharts();
      for (const chart of charts) drawChart(chart).catch(() => {});
    });
  }

  function specTitle(spec) {
    if (typeof spec.title === "string") return spec.title;
    if (spec.title && typeof spec.title.text === "string") return spec.title.text;
    return "";
  }

  /** A chart card: the chart drawn by Vega, or the spec as text when Vega cannot load. */
  function renderChart(data) {
    const spec = data.spec && typeof data.spec === "object" ? data.spec : {};
    const title = data.title || specTitle(spec) || "Chart";
    const subtitle = spec.title && typeof spec.title.subtitle === "string" ? spec.title.subtitle : "";
    const actions = el("div", { class: "card-actions" });
    const tableId = data.table_id || null;
    if (tableId) {
      actions.append(el("a", { class: "link", href: artifactUrl(tableId), download: "",
        "aria-label": `Download the data of ${title} as CSV` }, "↓ Download CSV"));
    }
    const view = el("div", { class: "chart-view", role: "img",
      "aria-label": spec.description || title });
    const status = el("p", { class: "chart-status", text: "Drawing chart…" });
    const details = el("details", { class: "sql" }, el("summary", { text: "Vega-Lite spec" }),
      el("pre", { text: JSON.stringify(spec, null, 2) }));
    const card = el("section", { class: "card card-chart", "aria-label": title },
      el("div", { class: "card-head" },
        el("div", {}, el("h3", { class: "card-title", text: title }),
          subtitle ? el("span", { class: "card-meta", text: subtitle }) : null),
        actions),
      el("div", { class: "chart-body" }, view, status),
      details);
    const chart = { node: view, spec, view: null };
    pruneCharts();
    // draw after the card is in the document, so "container" width has a width to fill
    requestAnimationFrame(() => {
      drawChart(chart).then(() => {
        status.remove();
        charts.add(chart);
        scrollToBottom();
      }).catch((err) => {
        view.remove();
        status.className = "chart-status chart-error";
        status.textContent = "The chart could not be drawn here; its spec is below.";
        card.dataset.chartError = String((err && err.message) || err);
      });
    });
    return card;
  }

  // ---- one assistant message -------------------------------------------------------------------

  class AssistantMessage {
    constructor(list) {
      this.text = "";
      this.steps = new Map();
      this.citationCount = 0;
      this.renderPending = false;
      this.stepsBox = el("div", { class: "steps" });
      this.artifactsBox = el("div", { class: "artifacts" });
      this.md = el("div", { class: "md cursor" });
      this.thinking = el("div", { class: "thinking", "aria-label": "Mara is thinking" },
        el("span"), el("span"), el("span"));
      this.citationsBox = el("div", { class: "citations", hidden: true, "aria-label": "Sources" });
      this.noticesBox = el("div", { class: "notices" });
      this.footer = el("div", { class: "msg-footer" });
      this.node = el("li", { class: "msg msg-assistant", "aria-busy": "true" },
        el("span", { class: "avatar", "aria-hidden": "true", text: "M" }),
        el("div", { class: "body" }, el("span", { class: "visually-hidden", text: "Mara said:" }),
          this.stepsBox, this.artifactsBox, this.thinking, this.md, this.citationsBox,
          this.noticesBox, this.footer));
      list.append(this.node);
    }

    handle(type, data) {
      data = data || {};
      switch (type) {
        case "text": this.appendText(data.delta || ""); break;
        case "tool_start": this.toolStart(data); break;
        case "tool_end": this.toolEnd(data); break;
        case "table": this.artifactsBox.append(renderTable(data)); break;
        case "chart": this.artifactsBox.append(renderChart(data)); break;
        case "citation": this.citation(data); break;
        case "usage": this.usage = data; break;
        case "error": this.error(data.message || "Something went wrong."); break;
        case "done":
          if (!this.text && data.reply) this.appendText(data.reply);
          this.mode = data.mode;
          break;
        default: break;
      }
    }

    appendText(delta) {
      this.text += delta;
      this.thinking.hidden = true;
      if (this.renderPending) return;
      this.renderPending = true;
      requestAnimationFrame(() => {
        this.renderPending = false;
        this.md.replaceChildren(renderMarkdown(this.text));
        scrollToBottom();
      });
    }

    toolStart(data) {
      const status = el("span", { class: "step-status", "aria-hidden": "true" });
      const state = el("span", { class: "visually-hidden", text: "running" });
      const time = el("span", { class: "step-time", text: "running…" });
      const detail = el("div", { class: "step-detail" },
        el("h4", { text: "Arguments" }), el("pre", { text: JSON.stringify(data.args ?? {}, null, 2) }));
      const node = el("details", { class: "step step-running" },
        el("summary", {}, status, el("span", { class: "step-name", text: data.name || "tool" }),
          state, time),
        detail);
      this.steps.set(data.id || `step-${this.steps.size}`, { node, time, state, detail });
      this.stepsBox.append(node);
      scrollToBottom();
    }

    toolEnd(data) {
      const key = data.id || `step-${this.steps.size}`;
      if (!this.steps.has(key)) this.toolStart({ id: key, name: data.name, args: {} });
      const step = this.steps.get(key);
      const ok = data.ok !== false;
      step.node.className = `step ${ok ? "step-ok" : "step-error"}`;
      step.state.textContent = ok ? "succeeded" : "failed";
      step.time.textContent = formatDuration(data.duration_ms) || (ok ? "done" : "failed");
      if (data.summary) {
        step.detail.append(el("h4", { text: ok ? "Result" : "Error" }), el("pre", { text: data.summary }));
      }
    }

    citation(data) {
      this.citationCount += 1;
      const label = data.title || data.source || `Source ${this.citationCount}`;
      const passage = el("blockquote", { class: "citation-text", hidden: true,
        id: `cite-${Math.random().toString(36).slice(2)}` },
      data.text || "", data.source ? el("cite", { text: data.source }) : null);
      const chip = el("button", { type: "button", class: "chip", "aria-expanded": "false",
        "aria-controls": passage.id, title: data.source || label },
      el("span", { class: "chip-index", text: String(this.citationCount) }),
      el("span", { class: "chip-label", text: label }));
      chip.addEventListener("click", () => {
        const open = chip.getAttribute("aria-expanded") !== "true";
        this.citationsBox.querySelectorAll(".chip").forEach((c) => c.setAttribute("aria-expanded", "false"));
        this.citationsBox.querySelectorAll(".citation-text").forEach((p) => { p.hidden = true; });
        chip.setAttribute("aria-expanded", String(open));
        passage.hidden = !open;
      });
      this.citationsBox.hidden = false;
      this.citationsBox.append(chip);
      this.citationsBox.append(passage);
      // keep passages after all chips so chips stay on one wrapped row
      this.citationsBox.querySelectorAll(".citation-text").forEach((p) => this.citationsBox.append(p));
    }

    error(message) {
      this.thinking.hidden = true;
      this.noticesBox.append(el("div", { class: "notice", role: "alert", text: message }));
      scrollToBottom();
    }

    /** The turn ended (normally, stopped or failed). */
    finish(note) {
      this.thinking.hidden = true;
      this.md.classList.remove("cursor");
      if (this.renderPending === false) this.md.replaceChildren(renderMarkdown(this.text));
      for (const step of this.steps.values()) {
        if (step.node.classList.contains("step-running")) {
          step.node.className = "step step-error";
          step.state.textContent = "interrupted";
          step.time.textContent = "interrupted";
        }
      }
      const bits = [];
      if (this.mode) bits.push(this.mode === "llm" ? "LLM" : "Offline");
      if (this.usage && isNumber(this.usage.total_tokens)) bits.push(plural(this.usage.total_tokens, "token"));
      if (note) bits.push(note);
      this.footer.textContent = bits.join(" · ");
      this.node.setAttribute("aria-busy", "false");
    }
  }

  // ---- Server-Sent Events over fetch ----------------------------------------------------------

  function parseFrame(frame) {
    let type = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return null;
    try {
      return { type, data: JSON.parse(data.join("\n")) };
    } catch {
      return { type, data: { raw: data.join("\n") } };
    }
  }

  /** Yield {type, data} for each SSE frame of a fetch response body. */
  async function* readEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = (buffer + value).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
    if (buffer.trim()) {
      const event = parseFrame(buffer);
      if (event) yield event;
    }
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch { /* not JSON */ }
    return `Mara answered HTTP ${response.status}.`;
  }

  // ---- the page ---------------------------------------------------------------------------------

  const ui = {};
  let conversationId = null;
  let controller = null;

  function scrollToBottom(force) {
    const box = ui.conversation;
    const near = box.scrollHeight - box.scrollTop - box.clientHeight < 160;
    if (force || near) box.scrollTop = box.scrollHeight;
  }

  function setConversation(id) {
    conversationId = id;
    try {
      if (id) sessionStorage.setItem(STORAGE_KEY, id);
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch { /* storage disabled */ }
  }

  function setBusy(busy) {
    ui.send.hidden = busy;
    ui.stop.hidden = !busy;
    ui.send.disabled = busy || !ui.input.value.trim();
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
    ui.send.disabled = Boolean(controller) || !ui.input.value.trim();
  }

  function addUserMessage(text) {
    ui.empty.hidden = true;
    ui.messages.append(el("li", { class: "msg msg-user" },
      el("span", { class: "visually-hidden", text: "You said:" }),
      el("div", { class: "bubble", text })));
  }

  async function send(text) {
    if (controller || !text.trim()) return;
    addUserMessage(text);
    const reply = new AssistantMessage(ui.messages);
    scrollToBottom(true);
    controller = new AbortController();
    setBusy(true);
    let note = "";
    try {
      const response = await fetch("/v1/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ message: text, conversation_id: conversationId, stream: true }),
        signal: controller.signal,
      });
      if (!response.ok) {
        const message = await errorMessage(response);
        reply.error(message);
        if (response.status === 401) showSignIn(message);
        return;
      }
      const headerId = response.headers.get("X-Conversation-Id");
      if (headerId) setConversation(headerId);
      for await (const event of readEvents(response.body)) {
        reply.handle(event.type, event.data);
        if (event.type === "done" && event.data && event.data.conversation_id) {
          setConversation(event.data.conversation_id);
        }
      }
    } catch (err) {
      if (err && err.name === "AbortError") note = "stopped";
      else reply.error(`Could not reach Mara: ${err && err.message ? err.message : err}`);
    } finally {
      reply.finish(note);
      controller = null;
      setBusy(false);
      autosize();
      ui.input.focus();
    }
  }

  function newChat() {
    if (controller) controller.abort();
    setConversation(null);
    ui.messages.replaceChildren();
    ui.empty.hidden = false;
    ui.input.value = "";
    autosize();
    ui.input.focus();
  }

  // ---- sign-in (only when the API says a key is needed) -------------------------------------

  let signedIn = null; // resolves once the page may call the API

  function showSignIn(message) {
    ui.signOut.hidden = true;
    ui.signin.hidden = false;
    ui.signinError.textContent = message && !/needs an API key/.test(message) ? message : "";
    ui.signinKey.value = "";
    ui.signinKey.focus();
  }

  function signedInAs(session) {
    ui.signin.hidden = true;
    ui.signinError.textContent = "";
    const viaCookie = session && session.via === "session";
    ui.signOut.hidden = !viaCookie;
    if (viaCookie) ui.signOut.title = `Signed in as ${session.name}`;
  }

  /** Ask the API whether a key is needed; resolve when the page may use the API. */
  function checkSession() {
    signedIn = new Promise((resolve) => {
      ui.signinResolve = resolve;
    });
    fetch("/v1/auth/session", { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((session) => {
        if (session && session.auth_required && !session.authenticated) {
          showSignIn("");
        } else {
          signedInAs(session);
          ui.signinResolve();
        }
      })
      .catch(() => ui.signinResolve());
    return signedIn;
  }

  async function signIn(event) {
    event.preventDefault();
    const key = ui.signinKey.value.trim();
    if (!key) return;
    ui.signinSubmit.disabled = true;
    ui.signinError.textContent = "";
    try {
      const response = await fetch("/v1/auth/session", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ key }),
      });
      if (!response.ok) {
        ui.signinError.textContent = response.status === 401
          ? "That key is not valid (or was revoked). Check it and try again."
          : await errorMessage(response);
        ui.signinKey.select();
        return;
      }
      signedInAs(await response.json());
      ui.signinKey.value = "";
      if (ui.signinResolve) ui.signinResolve();
      ui.input.focus();
    } catch (err) {
      ui.signinError.textContent = `Could not reach Mara: ${err && err.message ? err.message : err}`;
    } finally {
      ui.signinSubmit.disabled = false;
    }
  }

  async function signOut() {
    try { await fetch("/v1/auth/session", { method: "DELETE" }); } catch { /* offline */ }
    newChat();
    showSignIn("");
  }

  async function loadMode() {
    const labels = { offline: "Offline mode", llm: "LLM mode" };
    const titles = {
      offline: "Answers come from Mara's built-in planner; no LLM is called.",
      llm: "Answers come from the configured LLM endpoint.",
    };
    try {
      const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const health = await response.json();
      ui.badge.textContent = labels[health.mode] || health.mode;
      ui.badge.title = titles[health.mode] || "";
      ui.badge.className = `badge badge-${health.mode === "llm" ? "llm" : "offline"}`;
    } catch {
      ui.badge.textContent = "Unavailable";
      ui.badge.title = "The Mara server did not answer /healthz.";
      ui.badge.className = "badge badge-down";
    }
  }

  /** After a reload, show the stored conversation's user and assistant messages. */
  async function restoreConversation() {
    let id = null;
    try { id = sessionStorage.getItem(STORAGE_KEY); } catch { /* storage disabled */ }
    if (!id) return;
    try {
      const response = await fetch(`/v1/conversations/${encodeURIComponent(id)}`);
      if (response.status === 401) return; // signed out: keep the id for after sign-in
      if (!response.ok) { setConversation(null); return; }
      const conversation = await response.json();
      if (controller || ui.messages.childElementCount) return; // the user already started typing
      setConversation(id);
      for (const message of conversation.messages || []) {
        if (message.role === "user") addUserMessage(message.content);
        else if (message.role === "assistant" && message.content && !message.tool_calls) {
          const reply = new AssistantMessage(ui.messages);
          reply.appendText(message.content);
          reply.finish("");
        }
      }
      scrollToBottom(true);
    } catch { /* keep the empty state */ }
  }

  function init() {
    Object.assign(ui, {
      conversation: $("#conversation"),
      messages: $("#messages"),
      empty: $("#empty-state"),
      form: $("#composer"),
      input: $("#composer-input"),
      send: $("#send"),
      stop: $("#stop"),
      badge: $("#mode-badge"),
      newChat: $("#new-chat"),
      signOut: $("#sign-out"),
      signin: $("#signin"),
      signinForm: $("#signin-form"),
      signinKey: $("#signin-key"),
      signinError: $("#signin-error"),
      signinSubmit: $("#signin-submit"),
    });
    ui.signinForm.addEventListener("submit", signIn);
    ui.signOut.addEventListener("click", signOut);

    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = ui.input.value;
      if (!text.trim() || controller) return;
      ui.input.value = "";
      autosize();
      send(text);
    });
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ui.form.requestSubmit();
      } else if (event.key === "Escape" && controller) {
        controller.abort();
      }
    });
    ui.input.addEventListener("input", autosize);
    ui.stop.addEventListener("click", () => controller && controller.abort());
    ui.newChat.addEventListener("click", newChat);
    document.addEventListener("keydown", (event) => {
      if (event.key.toLowerCase() === "o" && event.shiftKey && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        newChat();
      }
    });
    for (const button of document.querySelectorAll(".suggestion")) {
      button.addEventListener("click", () => send(button.textContent.trim()));
    }

    autosize();
    setBusy(false);
    loadMode();
    checkSession().then(restoreConversation);
    ui.input.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  // exposed for debugging and browser tests
  window.Mara = { renderMarkdown, parseFrame, renderChart, loadVega };
})();
