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
  const SIDEBAR_KEY = "mara.sidebar_collapsed";
  const LIST_LIMIT = 100;
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

  /** Only these link targets become clickable; anything else (javascript:, data:) stays text.
   *  Browsers read "\\" as "/" and drop tabs and newlines, so "/\\host" or "/<tab>/host" would
   *  be an off-site link: a target with a backslash, whitespace or control character is refused. */
  function safeHref(url) {
    if (/[\\\s\u0000-\u001f\u007f]/.test(url)) return null;
    if (/^(https?:|mailto:)/i.test(url)) return url;
    if (/^\/(?!\/)/.test(url) || url.startsWith("#")) return url;
    return null;
  }

  function link(text, url, bare) {
    const href = safeHref(url);
    if (!href) return document.createTextNode(text);
    const external = /^https?:/i.test(href);
    const a = el("a", { href, target: external ? "_blank" : null,
      rel: external ? "noopener noreferrer" : null });
    if (bare) a.textContent = text; // a bare URL is its own text: parsing it again would recurse
    else appendInline(a, text, true);
    return a;
  }

  /** Append inline Markdown (code, bold, italics, links) to a node as DOM nodes; inside a
   *  link (``inLink``) links are not made again (no link in a link). */
  function appendInline(parent, text, inLink) {
    let last = 0;
    INLINE.lastIndex = 0;
    const matches = [...text.matchAll(INLINE)];
    for (const m of matches) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      if (m[1] !== undefined) parent.append(el("code", { text: m[1] }));
      else if (m[2] !== undefined || m[3] !== undefined) {
        const strong = el("strong");
        appendInline(strong, m[2] ?? m[3], inLink);
        parent.append(strong);
      } else if (m[4] !== undefined || m[5] !== undefined) {
        const em = el("em");
        appendInline(em, m[4] ?? m[5], inLink);
        parent.append(em);
      } else if (inLink) parent.append(m[0]);
      else if (m[6] !== undefined) parent.append(link(m[6], m[7], false));
      else if (m[8] !== undefined) parent.append(link(m[8], m[8], true));
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
      } else if (/^Details:\s/.test(line)) {  // technical metrics: folded into a details view
        const body = el("p");
        appendInline(body, line.replace(/^Details:\s*/, ""));
        frag.append(el("details", { class: "sql" }, el("summary", { text: "Details" }), body));
        i++;
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

  const SYMBOLS = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", CAD: "CA$", AUD: "A$" };

  /** A number under the result's column format (decided once, server side: tools/results.py
   *  format_value says the same in text): money with its currency, percent, share, count, id. */
  function formatNumber(value, fmt) {
    const kind = fmt && fmt.kind;
    const n = (v, d) => v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    if (kind === "id") return String(value);
    if (kind === "percent") return `${n(value, 1)}%`;
    if (kind === "share") return `${n(value * 100, 1).replace(/\.0$/, "")}%`;
    if (kind === "money") {
      const digits = Math.abs(value) >= 1000 && fmt.currency ? 0 : 2; // no currency known: cents stay
      const amount = n(Math.abs(value), digits);
      const sign = value < 0 ? "-" : "";
      const symbol = SYMBOLS[fmt.currency];
      return symbol ? `${sign}${symbol}${amount}` : `${sign}${amount}${fmt.currency ? ` ${fmt.currency}` : ""}`;
    }
    if (kind === "count") return n(value, 0);
    return null;
  }

  function formatCell(value, decimals, fmt) {
    if (value === null || value === undefined) return "∅";
    if (isNumber(value) && fmt) {
      const shown = formatNumber(value, fmt);
      if (shown !== null) return shown;
    }
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

  /** A column a marketer reads as people ("customer_id", "Customer ID"). */
  const CUSTOMER_KEY = /^(customer|cust|client|member|subscriber|contact)[ _-]?id$/i;

  /** A result card: sortable preview of the first rows, row counts, a CSV named after the result
   *  and, on a customer list, actions (save as audience, export opted-in, draft copy). */
  function renderTable(data, message) {
    const columns = Array.isArray(data.columns) ? data.columns : [];
    const allRows = Array.isArray(data.rows) ? data.rows : [];
    const formats = Array.isArray(data.formats) ? data.formats : [];
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
        return el("td", { class: cls || null,
          text: formatCell(v, numeric[c] ? decimals[c] : undefined, formats[c]) });
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
        "aria-label": `Download CSV: ${data.title || "table"}` }, "↓ Download CSV")); // name starts with the visible text (WCAG 2.5.3)
    }
    const customerList = columns.length > 0 && CUSTOMER_KEY.test(String(columns[0])) && data.sql;
    const card = el("section", { class: "card", "aria-label": data.title || "Result table" },
      el("div", { class: "card-head" },
        el("div", {}, el("h3", { class: "card-title", text: data.title || "Result" }),
          el("span", { class: "card-meta", text: `${plural(columns.length, "column")}` })),
        actions),
      el("div", { class: "table-scroll" },
        el("table", { class: "data" }, el("thead", {}, el("tr", {}, ...headCells)), tbody)),
      el("div", { class: "card-foot" }, footText, toggle));
    if (customerList) card.append(audienceActions(data, total, message));
    if (data.sql && message) message.howSql(data.title || "Result", data.sql);
    return card;
  }

  /** Name a saved audience after the result ("Customers in Germany" → "customers-in-germany"). */
  function audienceName(title) {
    const stem = String(title || "customers").toLowerCase().normalize("NFKD")
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
    return stem || "customers";
  }

  /** Actions on a customer list, through the REST routes (POST /v1/audiences, GET …/{name}.csv)
   *  and, for copy, a follow-up question in the same chat. */
  function audienceActions(data, total, message) {
    const status = el("span", { class: "card-status", role: "status" });
    let saved = null;
    const save = async () => {
      if (saved) return saved;
      const name = audienceName(data.title);
      const response = await fetch("/v1/audiences", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ name, kind: "query", params: { sql: data.sql } }),
      });
      if (!response.ok) throw new Error(await errorMessage(response));
      saved = await response.json();
      return saved;
    };
    const run = (button, work) => async () => {
      button.disabled = true;
      try { await work(); } catch (err) { status.textContent = `Not done: ${describe(err)}`; }
      finally { button.disabled = false; }
    };
    const saveButton = el("button", { type: "button", class: "btn btn-small", text: "Save as audience" });
    saveButton.addEventListener("click", run(saveButton, async () => {
      const audience = await save();
      status.textContent = `Saved as audience “${audience.name}” (${plural(audience.size ?? total, "customer")}).`;
    }));
    const exporter = (channel, label) => {
      const button = el("button", { type: "button", class: "btn btn-small", text: `Export opted-in for ${label}` });
      button.addEventListener("click", run(button, async () => {
        const audience = await save();
        const href = `/v1/audiences/${encodeURIComponent(audience.name)}.csv?channel=${channel}`;
        const link = el("a", { href, download: "", hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        status.textContent = `Exporting the customers of “${audience.name}” who opted in to ${label}.`;
      }));
      return button;
    };
    const draft = el("button", { type: "button", class: "btn btn-small", text: "Draft copy for these" });
    draft.addEventListener("click", run(draft, async () => {
      const audience = await save();
      followUp(`Draft 3 email variants for the saved audience “${audience.name}”`);
    }));
    return el("div", { class: "card-tools", role: "group", "aria-label": "Actions on these customers" },
      saveButton, exporter("sms", "SMS"), exporter("email", "e-mail"), draft, status);
  }

  /** A follow-up sent through the chat like a typed question (the assistant answers it). */
  function followUp(text) {
    if (controller) { toast("Wait for the current answer, or press Stop.", "error"); return; }
    send(text);
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
  function renderChart(data, message) {
    const spec = data.spec && typeof data.spec === "object" ? data.spec : {};
    const title = data.title || specTitle(spec) || "Chart";
    const subtitle = spec.title && typeof spec.title.subtitle === "string" ? spec.title.subtitle : "";
    const actions = el("div", { class: "card-actions" });
    const tableId = data.table_id || null;
    if (tableId) {
      actions.append(el("a", { class: "link", href: artifactUrl(tableId), download: "",
        "aria-label": `Download CSV: the data of ${title}` }, "↓ Download CSV"));
    }
    const view = el("div", { class: "chart-view", role: "img",
      "aria-label": spec.description || title });
    const status = el("p", { class: "chart-status", text: "Drawing chart…" });
    const chart = { node: view, spec, view: null };
    // PNG and SVG from the chart's own Vega view (the vendored renderer, nothing remote)
    const fileStem = audienceName(title);
    for (const kind of ["png", "svg"]) {
      const button = el("button", { type: "button", class: "link link-btn chart-download",
        "aria-label": `Download ${title} as ${kind.toUpperCase()}`, text: `↓ ${kind.toUpperCase()}` });
      button.addEventListener("click", async () => {
        if (!chart.view) return;
        const url = await chart.view.toImageURL(kind, kind === "png" ? 2 : 1);
        const link = el("a", { href: url, download: `${fileStem}.${kind}`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
      });
      actions.append(button);
    }
    const card = el("section", { class: "card card-chart", "aria-label": title },
      el("div", { class: "card-head" },
        el("div", {}, el("h3", { class: "card-title", text: title }),
          subtitle ? el("span", { class: "card-meta", text: subtitle }) : null),
        actions),
      el("div", { class: "chart-body" }, view, status));
    if (message) message.howSpec(title, spec);
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
        status.textContent = "The chart could not be drawn here; its spec is under “How I got this”.";
        card.dataset.chartError = String((err && err.message) || err);
      });
    });
    return card;
  }

  // ---- draft cards -----------------------------------------------------------------------------
  // One card per drafted variant (the ``draft`` event): labelled fields, counts computed by the
  // server (characters with merge fields at channel width; SMS encoding and segments), the merge
  // fields previewed for a made-up sample customer, and each check as a badge with its detail.

  const CHECK_LABELS = { length: "Length", items: "Fields", sms_segments: "SMS segments",
    banned_words: "Banned words", conditional_claims: "Conditions", claims: "Claims",
    disclaimer: "Disclaimer", merge_fields: "Merge fields", must_know: "Offer details",
    language: "Language", tone: "Tone" };
  const checkLabel = (name) => CHECK_LABELS[name]
    || String(name || "check").replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

  async function copyText(text, button) {
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch {
      const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      area.value = text;
      document.body.append(area);
      area.select();
      try { ok = document.execCommand("copy"); } catch { ok = false; }
      area.remove();
    }
    if (button) {
      const before = button.textContent;
      button.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { button.textContent = before; }, 1500);
    }
    return ok;
  }

  function draftCount(item, limit) {
    const bits = [`${item.chars.toLocaleString()}${limit ? `/${limit}` : ""} characters`];
    if (item.sms) {
      bits.push(`${plural(item.sms.segments, "SMS segment")} (${item.sms.encoding === "GSM-7"
        ? "GSM-7" : "UCS-2: emoji or special characters"})`);
    }
    return bits.join(" · ");
  }

  function renderDraft(data) {
    const fields = Array.isArray(data.fields) ? data.fields : [];
    const checks = Array.isArray(data.checks) ? data.checks : [];
    const channel = data.channel_label || data.channel || "Copy";
    const title = `${channel} draft ${data.variant || 1}${data.of ? ` of ${data.of}` : ""}`;
    const body = el("dl", { class: "draft-fields" });
    for (const field of fields) {
      const items = Array.isArray(field.items) ? field.items : [];
      body.append(el("dt", { text: field.label || field.name }));
      for (const item of items) {
        const over = field.limit && item.chars > field.limit;
        body.append(el("dd", { class: "draft-field" },
          el("p", { class: "draft-text", text: item.preview ?? item.text }),
          el("span", { class: `draft-count${over ? " over" : ""}`, text: draftCount(item, field.limit) })));
      }
    }
    const merged = Object.entries(data.sample_customer || {});
    const sample = merged.length ? el("p", { class: "draft-sample" },
      "Previewed for a sample customer: ", merged.map(([k, v]) => `${k} = ${v}`).join(", "),
      ". Merge fields fill in per customer when sent.") : null;
    const failed = checks.filter((c) => !c.passed).length;
    const badges = el("ul", { class: "draft-checks", "aria-label": failed
      ? `${failed} of ${checks.length} checks failed` : `All ${checks.length} checks passed` },
    ...checks.map((check, i) => {
      const tipId = `tip-${Math.random().toString(36).slice(2)}-${i}`;
      return el("li", {},
        el("span", { class: `check-badge ${check.passed ? "pass" : "fail"}`, tabindex: "0",
          "aria-describedby": tipId },
        el("span", { "aria-hidden": "true", text: check.passed ? "✓ " : "✕ " }),
        checkLabel(check.name),
        el("span", { class: "visually-hidden", text: check.passed ? " passed" : " failed" })),
        el("span", { class: "check-tip", role: "tooltip", id: tipId, text: check.detail || "" }));
    }));
    const plain = fields.map((f) => {
      const items = (f.items || []).map((i) => i.text);
      return fields.length > 1 ? `${f.label || f.name}: ${items.join(" | ")}` : items.join("\n");
    }).join("\n");
    const copy = el("button", { type: "button", class: "btn btn-small", text: "Copy",
      "aria-label": `Copy ${title}` });
    copy.addEventListener("click", () => copyText(plain, copy));
    const ask = (label, text) => {
      const button = el("button", { type: "button", class: "btn btn-small", text: label });
      button.addEventListener("click", () => followUp(text));
      return button;
    };
    const n = data.variant || 1;
    const key = String(data.channel || "email").replace(/_/g, " ");
    const tools = el("div", { class: "card-tools", role: "group", "aria-label": `Actions on ${title}` },
      copy,
      ask("Shorter", `Make these ${key} variants shorter`),
      ask("More like this", `Draft 3 more ${key} variants like variant ${n}`),
      data.channel !== "sms" ? ask("Try as SMS", "Now as an SMS") : null);
    return el("section", { class: "card card-draft", "aria-label": title },
      el("div", { class: "card-head" },
        el("div", {}, el("h3", { class: "card-title", text: title }),
          data.brief ? el("span", { class: "card-meta", text: `Brief: ${data.brief}` }) : null)),
      body, sample, badges, tools);
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
      this.drafts = 0;
      // technical detail (tools, arguments, SQL, chart specs, tokens) behind one disclosure
      this.howStatus = el("span", { class: "how-status" });
      this.howBox = el("div", { class: "how-body" });
      this.how = el("details", { class: "how", hidden: true },
        el("summary", {}, el("span", { text: "How I got this" }), this.howStatus),
        this.stepsBox, this.howBox);
      this.node = el("li", { class: "msg msg-assistant", "aria-busy": "true" },
        el("span", { class: "avatar", "aria-hidden": "true", text: "M" }),
        el("div", { class: "body" }, el("span", { class: "visually-hidden", text: "Mara said:" }),
          this.thinking, this.md, this.artifactsBox, this.citationsBox,
          this.noticesBox, this.how, this.footer));
      list.append(this.node);
    }

    howSql(title, sql) {
      this.how.hidden = false;
      this.howBox.append(el("h4", { text: `Query behind “${title}”` }), el("pre", { text: sql }));
    }

    howSpec(title, spec) {
      this.how.hidden = false;
      this.howBox.append(el("details", { class: "sql" }, el("summary", { text: `Chart spec of “${title}”` }),
        el("pre", { text: JSON.stringify(spec, null, 2) })));
    }

    /** The reply as shown: technical lines ("_How: …_", "Details: …") go to the disclosure;
     *  with draft cards, the text's own listing of the variants is left to the cards. */
    shownText() {
      const kept = [];
      const technical = [];
      for (const block of this.text.split(/\n{2,}/)) {
        if (/^\s*(_How:|Details:)/.test(block)) technical.push(block.replace(/^\s*_?|_\s*$/g, ""));
        else kept.push(block);
      }
      this.technical = technical;
      // the cards show the variants; notes (a banned word left out, a missing offer) stay in the text
      if (this.drafts > 0) {
        const first = kept.findIndex((b) => /^\s*\*\*Variant \d+\*\*/.test(b));
        if (first > 0) return [...kept.slice(0, first), ...kept.slice(first).filter((b) => /^\s*_Note:/.test(b))].join("\n\n");
      }
      return kept.join("\n\n");
    }

    handle(type, data) {
      data = data || {};
      switch (type) {
        case "text": this.appendText(data.delta || ""); break;
        case "tool_start": this.toolStart(data); break;
        case "progress": this.toolProgress(data); break;
        case "tool_end": this.toolEnd(data); break;
        case "table": this.artifactsBox.append(renderTable(data, this)); break;
        case "chart": this.artifactsBox.append(renderChart(data, this)); break;
        case "draft":
          this.drafts += 1;
          this.artifactsBox.append(renderDraft(data));
          this.render();
          break;
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
        this.render();
        scrollToBottom();
      });
    }

    render() {
      this.md.replaceChildren(renderMarkdown(this.shownText()));
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
      this.steps.set(data.id || `step-${this.steps.size}`, { node, time, state, detail, name: data.name });
      this.stepsBox.append(node);
      this.how.hidden = false;
      this.howStatus.textContent = " · working…";
      scrollToBottom();
    }

    toolProgress(data) {
      const running = [...this.steps.values()].reverse().find((step) =>
        step.node.classList.contains("step-running") && (!data.name || step.name === data.name));
      if (!running) return;
      const share = data.total ? ` (${data.done ?? 0}/${data.total})` : "";
      running.time.textContent = `${data.message || "working…"}${share}`;
      this.howStatus.textContent = ` · ${data.message || "working…"}${share}`;
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
      if (this.renderPending === false) this.render();
      for (const step of this.steps.values()) {
        if (step.node.classList.contains("step-running")) {
          step.node.className = "step step-error";
          step.state.textContent = "interrupted";
          step.time.textContent = "interrupted";
        }
      }
      for (const line of this.technical || []) this.howBox.append(el("p", { text: line }));
      if (this.usage && isNumber(this.usage.total_tokens)) {
        this.howBox.append(el("p", { class: "how-usage", text: `${plural(this.usage.total_tokens, "token")}`
          + (this.mode ? ` · ${this.mode === "llm" ? "LLM" : "offline planner"}` : "") }));
      }
      const steps = this.steps.size;
      this.howStatus.textContent = steps ? ` · ${plural(steps, "step")}` : "";
      if (this.howBox.childElementCount || steps) this.how.hidden = false;
      this.footer.replaceChildren();
      if (note) this.footer.append(el("span", { class: "msg-note", text: note }));
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

  const userTurns = () => [...ui.messages.querySelectorAll(".msg-user")];

  function addUserMessage(text) {
    ui.empty.hidden = true;
    const bubble = el("div", { class: "bubble", text });
    const edit = el("button", { type: "button", class: "msg-action msg-edit", text: "Edit",
      "aria-label": "Edit this question and send it again" });
    const node = el("li", { class: "msg msg-user" },
      el("span", { class: "visually-hidden", text: "You said:" }), bubble,
      el("div", { class: "msg-user-actions" }, edit));
    node.dataset.text = text;
    edit.addEventListener("click", () => startEdit(node));
    ui.messages.append(node);
    return node;
  }

  /** Edit and resend: the question becomes a box; sending replaces that turn and what followed. */
  function startEdit(node) {
    if (controller || node.querySelector(".edit-box")) return;
    const box = el("textarea", { class: "edit-box", rows: "3", "aria-label": "Edit your question",
      maxlength: "20000" });
    box.value = node.dataset.text || "";
    const save = el("button", { type: "button", class: "btn btn-primary btn-small", text: "Send" });
    const cancel = el("button", { type: "button", class: "btn btn-ghost btn-small", text: "Cancel" });
    const form = el("div", { class: "edit-form" }, box, el("div", { class: "edit-actions" }, cancel, save));
    const bubble = node.querySelector(".bubble");
    bubble.hidden = true;
    node.append(form);
    box.focus();
    const close = () => { form.remove(); bubble.hidden = false; };
    cancel.addEventListener("click", close);
    const submit = () => {
      const text = box.value.trim();
      if (!text) return;
      const turn = userTurns().indexOf(node) + 1;
      close();
      send(text, { replaceTurn: turn });
    };
    save.addEventListener("click", submit);
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
      else if (event.key === "Escape") { event.preventDefault(); close(); }
    });
  }

  /** Drop turn ``turn`` (1 = the first) and everything after it from the page. */
  function dropFrom(turn) {
    const first = userTurns()[turn - 1];
    if (!first) return;
    while (first.nextSibling) first.nextSibling.remove();
    first.remove();
    pruneCharts();
  }

  function newConversationId() {
    const random = window.crypto && crypto.randomUUID ? crypto.randomUUID()
      : `${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
    return random.replace(/-/g, "");
  }

  /** Send a question (or, with ``replaceTurn``, put it in place of that turn: regenerate, edit, retry). */
  async function send(text, { replaceTurn = null } = {}) {
    if (controller || !text.trim()) return;
    loadToken += 1; // a conversation still loading must not land under this turn
    if (replaceTurn) dropFrom(replaceTurn);
    if (!conversationId) { // the id is ours from the start, so Stop can name the turn at once
      setConversation(newConversationId());
      provisional = { conversation_id: conversationId, title: text };
      renderConversations();
    }
    const userNode = addUserMessage(text);
    const turn = userTurns().length;
    const reply = new AssistantMessage(ui.messages);
    scrollToBottom(true);
    controller = new AbortController();
    setBusy(true);
    let note = "";
    let failed = false;
    try {
      const response = await fetch("/v1/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ message: text, conversation_id: conversationId, stream: true,
          replace_turn: replaceTurn || undefined }),
        signal: controller.signal,
      });
      if (!response.ok) {
        const message = await errorMessage(response);
        reply.error(message);
        failed = true;
        if (response.status === 401) showSignIn(message);
        return;
      }
      const headerId = response.headers.get("X-Conversation-Id");
      if (headerId && headerId !== conversationId) {
        setConversation(headerId);
        renderConversations();
      }
      for await (const event of readEvents(response.body)) {
        reply.handle(event.type, event.data);
        if (event.type === "error") failed = true;
        if (event.type === "done" && event.data && event.data.conversation_id) {
          setConversation(event.data.conversation_id);
        }
      }
    } catch (err) {
      if (err && err.name === "AbortError") note = "Stopped";
      else {
        failed = true;
        reply.error(`Could not reach Mara: ${err && err.message ? err.message : err}`);
      }
    } finally {
      reply.finish(note);
      answerActions(reply, userNode, turn, failed || Boolean(note));
      controller = null;
      setBusy(false);
      autosize();
      ui.input.focus();
      refreshConversations();
    }
  }

  /** Under an answer: copy it, regenerate it (or retry after an error / Stop), rate it. */
  function answerActions(reply, userNode, turn, failed) {
    const question = () => userNode.dataset.text || "";
    const again = el("button", { type: "button", class: "msg-action msg-regenerate",
      text: failed ? "Retry" : "Regenerate",
      "aria-label": failed ? "Retry this question" : "Regenerate this answer" });
    again.addEventListener("click", () => {
      const at = userTurns().indexOf(userNode) + 1;
      if (at > 0) send(question(), { replaceTurn: at });
    });
    const bar = el("span", { class: "msg-actions" }, again);
    if (reply.text) {
      const copy = el("button", { type: "button", class: "msg-action", text: "Copy",
        "aria-label": "Copy this answer" });
      copy.addEventListener("click", () => copyText(reply.shownText(), copy));
      bar.prepend(copy);
    }
    reply.footer.append(bar);
    if (!failed && conversationId && reply.text) reply.footer.append(feedbackButtons(conversationId, turn));
  }

  /** Stop: the server ends the turn, tool work included (POST …/stop), then the stream is dropped. */
  async function stopTurn() {
    if (!controller) return;
    const running = controller;
    const asked = conversationId // sent before the stream is dropped; not awaited, the UI stops now
      ? fetch(`/v1/conversations/${encodeURIComponent(conversationId)}/stop`, { method: "POST" })
        .catch(() => null) // offline: dropping the stream still ends the turn at its next step
      : null;
    running.abort();
    await asked;
  }

  /** Thumbs up / down under an answer, stored with its turn (an admin can promote a thumbs-up). */
  function feedbackButtons(id, turn) {
    const box = el("span", { class: "feedback" });
    const rate = async (rating) => {
      let ok = false;
      try {
        const response = await fetch(`/v1/conversations/${encodeURIComponent(id)}/turns/${turn}/feedback`, {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rating }),
        });
        ok = response.ok;
      } catch { /* offline */ }
      box.replaceChildren(el("span", { text: ok ? "Thanks for the feedback." : "Feedback not saved." }));
    };
    box.append(
      el("button", { type: "button", class: "feedback-btn", "aria-label": "Good answer", title: "Good answer", text: "👍", onclick: () => rate("up") }),
      el("button", { type: "button", class: "feedback-btn", "aria-label": "Wrong answer", title: "Wrong answer", text: "👎", onclick: () => rate("down") }));
    return box;
  }

  /** Empty the conversation pane (no conversation selected). */
  function clearMessages() {
    if (controller) controller.abort();
    loadToken += 1;
    ui.messages.replaceChildren();
    ui.empty.hidden = false;
    pruneCharts();
  }

  function newChat() {
    clearMessages();
    setConversation(null);
    renderConversations();
    closeDrawer();
    ui.input.value = "";
    autosize();
    ui.input.focus();
  }

  // ---- stored conversations ------------------------------------------------------------------

  const TOOL_SUMMARY_CHARS = 2000;

  /** Render stored messages: user and assistant text, tool calls as collapsed steps, result cards. */
  function renderStored(messages) {
    let reply = null;
    let asked = null;
    const close = () => {
      if (reply) {
        reply.finish("");
        if (asked) answerActions(reply, asked, userTurns().indexOf(asked) + 1, /^Stopped\.?$/.test(reply.text.trim()));
      }
      reply = null;
    };
    for (const message of messages || []) {
      if (message.role === "user") {
        close();
        asked = addUserMessage(message.content || "");
      } else if (message.role === "assistant") {
        if (!reply) reply = new AssistantMessage(ui.messages);
        for (const call of message.tool_calls || []) {
          reply.toolStart({ id: call.id, name: call.name, args: call.args || {} });
        }
        if (message.content) reply.appendText((reply.text ? "\n\n" : "") + message.content);
      } else if (message.role === "tool" && reply) {
        const text = String(message.content || "");
        reply.toolEnd({
          id: message.tool_call_id, name: message.name,
          ok: !/^\s*(error|tool error)\b/i.test(text),
          summary: text.length > TOOL_SUMMARY_CHARS ? `${text.slice(0, TOOL_SUMMARY_CHARS)}…` : text,
        });
        // the result cards the turn showed (tables, charts, sources), stored with the tool's message
        for (const card of message.cards || []) reply.handle(card.type, card.data);
      }
    }
    close();
  }

  /** Open a stored conversation: fetch its messages and show them. */
  async function openConversation(id, { quiet = false } = {}) {
    const token = ++loadToken;
    try {
      const response = await fetch(`/v1/conversations/${encodeURIComponent(id)}`,
        { headers: { Accept: "application/json" } });
      if (token !== loadToken) return false;
      if (response.status === 401) {
        if (!quiet) showSignIn(await errorMessage(response));
        return false;
      }
      if (!response.ok) {
        if (!quiet) toast(response.status === 404
          ? "That conversation no longer exists." : await errorMessage(response), "error");
        if (response.status === 404) {
          if (conversationId === id) setConversation(null);
          refreshConversations();
        }
        return false;
      }
      const conversation = await response.json();
      if (token !== loadToken) return false;
      ui.messages.replaceChildren();
      pruneCharts();
      ui.empty.hidden = true;
      setConversation(id);
      renderStored(conversation.messages);
      if (!ui.messages.childElementCount) ui.empty.hidden = false;
      renderConversations();
      requestAnimationFrame(() => scrollToBottom(true));
      return true;
    } catch (err) {
      if (!quiet && token === loadToken) toast(`Could not open the conversation: ${describe(err)}`, "error");
      return false;
    }
  }

  async function selectConversation(id) {
    closeDrawer();
    if (id === conversationId && ui.messages.childElementCount) { // already shown (maybe streaming)
      ui.input.focus();
      return;
    }
    if (controller) controller.abort();
    const done = await openConversation(id);
    if (done && !editing) ui.input.focus(); // not while a double-click renames the entry
  }

  // ---- the conversation list (sidebar) ------------------------------------------------------

  let conversations = []; // summaries from GET /v1/conversations, most recent first
  let provisional = null; // the conversation started by the running turn, until listed
  let listLoaded = false;
  let listRequest = 0;
  let loadToken = 0;
  let editing = null; // id being renamed: the list is not redrawn under the input

  const describe = (err) => (err && err.message ? err.message : String(err));

  let toastTimer = null;

  /** A small, non-blocking message at the bottom of the page. */
  function toast(message, kind) {
    ui.toast.textContent = message;
    ui.toast.className = `toast${kind === "error" ? " toast-error" : ""}`;
    ui.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 5000);
  }

  function parseTime(value) {
    const time = Date.parse(value);
    return Number.isNaN(time) ? null : new Date(time);
  }

  const startOfDay = (date) => new Date(date.getFullYear(), date.getMonth(), date.getDate());

  /** "just now", "5 min ago", "3 h ago", "Yesterday", "Mon", "Mar 3", "Mar 3, 2024". */
  function relativeTime(date, now = new Date()) {
    if (!date) return "";
    const seconds = Math.round((now - date) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    const days = Math.round((startOfDay(now) - startOfDay(date)) / 86400000);
    if (days <= 0) return `${Math.floor(seconds / 3600)} h ago`;
    if (days === 1) return "Yesterday";
    if (days < 7) return date.toLocaleDateString(undefined, { weekday: "long" });
    return date.toLocaleDateString(undefined, date.getFullYear() === now.getFullYear()
      ? { month: "short", day: "numeric" } : { year: "numeric", month: "short", day: "numeric" });
  }

  function groupLabel(date, now = new Date()) {
    if (!date) return "Older";
    const days = Math.round((startOfDay(now) - startOfDay(date)) / 86400000);
    if (days <= 0) return "Today";
    if (days === 1) return "Yesterday";
    if (days < 7) return "Previous 7 days";
    if (days < 30) return "Previous 30 days";
    return "Older";
  }

  const PENCIL = '<svg aria-hidden="true" viewBox="0 0 16 16" width="14" height="14"><path d="M10.5 2.5l3 3L6 13H3v-3z" stroke="currentColor" stroke-width="1.4" stroke-linejoin="round" fill="none"/></svg>';
  const TRASH = '<svg aria-hidden="true" viewBox="0 0 16 16" width="14" height="14"><path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.6 8.5h5.8l.6-8.5" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" stroke-linejoin="round" fill="none"/></svg>';

  function icon(markup) {
    // constant SVG markup written above, never data from the API
    const template = document.createElement("template");
    template.innerHTML = markup;
    return template.content.firstChild;
  }

  /** The list as shown: the server's, plus the running turn's new conversation at the top. */
  function shownConversations() {
    const list = conversations.slice();
    if (provisional) {
      if (list.some((c) => c.conversation_id === provisional.conversation_id)) provisional = null;
      else {
        const now = new Date().toISOString();
        list.unshift({ conversation_id: provisional.conversation_id,
          title: provisional.title, started: now, updated: now, turns: 0 });
      }
    }
    return list;
  }

  function conversationItem(summary) {
    const id = summary.conversation_id;
    const title = String(summary.title || "Conversation").split(/\s+/).join(" ").trim() || "Conversation";
    const current = id === conversationId;
    const updated = parseTime(summary.updated);
    const open = el("button", { type: "button", class: "conv-open", title,
      "aria-current": current ? "true" : null },
    el("span", { class: "conv-title", text: title }),
    el("time", { class: "conv-time", datetime: summary.updated || null,
      title: updated ? updated.toLocaleString() : null, text: relativeTime(updated) }));
    open.addEventListener("click", () => selectConversation(id));
    open.addEventListener("dblclick", (event) => { event.preventDefault(); startRename(item, summary); });
    const rename = el("button", { type: "button", class: "conv-action conv-rename",
      "aria-label": `Rename “${title}”`, title: "Rename" }, icon(PENCIL));
    rename.addEventListener("click", () => startRename(item, summary));
    const remove = el("button", { type: "button", class: "conv-action conv-delete",
      "aria-label": `Delete “${title}”`, title: "Delete" }, icon(TRASH));
    remove.addEventListener("click", () => confirmDelete(summary, title));
    const item = el("li", { class: `conv-item${current ? " is-current" : ""}`, "data-id": id },
      open, el("div", { class: "conv-actions" }, rename, remove));
    return item;
  }

  /** Redraw the sidebar list from the cached summaries. */
  function renderConversations() {
    if (editing) return;
    const focusedId = document.activeElement && document.activeElement.closest
      && document.activeElement.closest(".conv-item")
      ? document.activeElement.closest(".conv-item").dataset.id : null;
    const focusedClass = focusedId
      ? [...document.activeElement.classList].pop() : null;
    const now = new Date();
    const groups = new Map();
    for (const summary of shownConversations()) {
      const label = groupLabel(parseTime(summary.updated), now);
      if (!groups.has(label)) groups.set(label, []);
      groups.get(label).push(summary);
    }
    const sections = [];
    let n = 0;
    for (const [label, items] of groups) {
      const headingId = `conv-group-${n++}`;
      sections.push(el("section", { class: "conv-group", "aria-labelledby": headingId },
        el("h2", { class: "conv-group-title", id: headingId, text: label }),
        el("ul", { class: "conv-list" }, ...items.map(conversationItem))));
    }
    ui.convList.replaceChildren(...sections);
    ui.convEmpty.hidden = !listLoaded || sections.length > 0;
    if (focusedId) {
      const again = [...ui.convList.querySelectorAll(".conv-item")]
        .find((li) => li.dataset.id === focusedId);
      const target = again && (again.querySelector(`.${focusedClass}`) || again.querySelector(".conv-open"));
      if (target) target.focus();
    }
  }

  /** Fetch the caller's conversations and redraw the list. */
  async function refreshConversations() {
    const request = ++listRequest;
    try {
      const response = await fetch(`/v1/conversations?limit=${LIST_LIMIT}`,
        { headers: { Accept: "application/json" } });
      if (request !== listRequest) return;
      if (response.status === 401) { conversations = []; renderConversations(); return; }
      if (!response.ok) throw new Error(await errorMessage(response));
      const body = await response.json();
      if (request !== listRequest) return;
      conversations = Array.isArray(body.conversations) ? body.conversations : [];
      if (provisional && !controller
        && !conversations.some((c) => c.conversation_id === provisional.conversation_id)) {
        provisional = null; // the turn failed before the conversation was stored
      }
      listLoaded = true;
      ui.convList.setAttribute("aria-busy", "false");
      renderConversations();
    } catch (err) {
      if (request === listRequest) {
        ui.convList.setAttribute("aria-busy", "false");
        toast(`Could not load your conversations: ${describe(err)}`, "error");
      }
    }
  }

  function startRename(item, summary) {
    if (editing) return;
    const id = summary.conversation_id;
    const open = item.querySelector(".conv-open");
    const actions = item.querySelector(".conv-actions");
    const before = summary.title || "";
    const input = el("input", { type: "text", class: "conv-rename-input", maxlength: "120",
      "aria-label": "Conversation title", spellcheck: "false" });
    input.value = before;
    editing = id;
    open.hidden = true;
    actions.hidden = true;
    item.prepend(input);
    input.focus();
    input.select();
    let finished = false;

    // refocus: finished from the keyboard (Enter, Escape), not by clicking elsewhere
    const setTitle = (value) => {
      summary.title = value; // the list may have been refreshed meanwhile: update both copies
      for (const c of conversations) if (c.conversation_id === id) c.title = value;
      if (provisional && provisional.conversation_id === id) provisional.title = value;
    };
    const finish = async (save, refocus) => {
      if (finished) return;
      finished = true;
      const title = input.value.split(/\s+/).join(" ").trim().slice(0, 120);
      editing = null;
      const changed = save && title && title !== before;
      if (changed) setTitle(title); // optimistic; the refresh below confirms
      renderConversations();
      if (refocus) focusItem(id, ".conv-open");
      if (!changed) return;
      try {
        const response = await fetch(`/v1/conversations/${encodeURIComponent(id)}`, {
          method: "PATCH",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ title }),
        });
        if (!response.ok) {
          setTitle(before);
          toast(`Could not rename the conversation: ${await errorMessage(response)}`, "error");
        }
      } catch (err) {
        setTitle(before);
        toast(`Could not rename the conversation: ${describe(err)}`, "error");
      }
      renderConversations();
      refreshConversations();
    };

    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.isComposing) { event.preventDefault(); finish(true, true); }
      else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false, true);
      }
    });
    input.addEventListener("blur", () => finish(true, false));
  }

  function focusItem(id, selector) {
    const item = [...ui.convList.querySelectorAll(".conv-item")].find((li) => li.dataset.id === id);
    const target = item && item.querySelector(selector);
    if (target) target.focus();
  }

  let pendingDelete = null;

  function confirmDelete(summary, title) {
    pendingDelete = summary;
    ui.confirmName.textContent = `“${title}”`;
    if (typeof ui.confirm.showModal === "function") ui.confirm.showModal();
    else ui.confirm.setAttribute("open", "");
    ui.confirmCancel.focus();
  }

  function closeConfirm() {
    if (ui.confirm.open) ui.confirm.close();
  }

  async function deleteConfirmed() {
    const summary = pendingDelete;
    pendingDelete = null;
    closeConfirm();
    if (!summary) return;
    const id = summary.conversation_id;
    const list = [...ui.convList.querySelectorAll(".conv-item")];
    const index = list.findIndex((li) => li.dataset.id === id);
    const neighbour = list[index + 1] || list[index - 1];
    try {
      const response = await fetch(`/v1/conversations/${encodeURIComponent(id)}`, { method: "DELETE" });
      if (!response.ok && response.status !== 404) {
        toast(`Could not delete the conversation: ${await errorMessage(response)}`, "error");
        return;
      }
    } catch (err) {
      toast(`Could not delete the conversation: ${describe(err)}`, "error");
      return;
    }
    conversations = conversations.filter((c) => c.conversation_id !== id);
    if (provisional && provisional.conversation_id === id) provisional = null;
    if (id === conversationId) {
      clearMessages();
      setConversation(null);
    }
    renderConversations();
    toast("Conversation deleted.");
    if (neighbour) focusItem(neighbour.dataset.id, ".conv-open");
    else ui.newChat.focus();
    refreshConversations();
  }

  // ---- search across one's own conversations (GET /v1/conversations/search) ------------------

  let searchTimer = null;
  let searchRequest = 0;

  function showSearch(results, query) {
    const hits = results.hits || [];
    const list = el("ul", { class: "conv-list" }, ...hits.map((hit) => {
      const open = el("button", { type: "button", class: "conv-open search-hit" },
        el("span", { class: "conv-title", text: hit.title || "Conversation" }),
        el("span", { class: "search-snippet", text: hit.snippet || "" }));
      open.addEventListener("click", () => selectConversation(hit.conversation_id));
      return el("li", { class: "conv-item", "data-id": hit.conversation_id }, open);
    }));
    ui.searchResults.replaceChildren(
      el("h2", { class: "conv-group-title", text: hits.length
        ? `${plural(hits.length, "conversation")} mention “${query}”` : `Nothing mentions “${query}”` }),
      list);
    ui.searchResults.hidden = false;
    ui.convNav.hidden = true;
  }

  function clearSearch() {
    searchRequest += 1;
    ui.searchResults.hidden = true;
    ui.searchResults.replaceChildren();
    ui.convNav.hidden = false;
  }

  async function runSearch() {
    const query = ui.searchInput.value.trim();
    if (!query) { clearSearch(); return; }
    const request = ++searchRequest;
    try {
      const response = await fetch(`/v1/conversations/search?q=${encodeURIComponent(query)}`,
        { headers: { Accept: "application/json" } });
      if (request !== searchRequest) return;
      if (!response.ok) throw new Error(await errorMessage(response));
      showSearch(await response.json(), query);
    } catch (err) {
      if (request === searchRequest) toast(`Search failed: ${describe(err)}`, "error");
    }
  }

  // relative times ("5 min ago") stay current
  setInterval(() => { if (ui.convList && !editing) renderConversations(); }, 60000);

  // ---- sidebar visibility: a column on wide screens, a drawer below 800px ---------------------

  const narrowQuery = window.matchMedia ? window.matchMedia("(max-width: 799px)") : null;
  const isNarrow = () => Boolean(narrowQuery && narrowQuery.matches);

  function sidebarShown() {
    return isNarrow() ? ui.app.classList.contains("sidebar-open")
      : !ui.app.classList.contains("sidebar-collapsed");
  }

  function syncToggle() {
    const shown = sidebarShown();
    ui.sidebarToggle.setAttribute("aria-expanded", String(shown));
    ui.sidebarToggle.setAttribute("aria-label", shown ? "Hide conversations" : "Show conversations");
    ui.backdrop.hidden = !(isNarrow() && shown);
    ui.sidebar.inert = isNarrow() && !shown;
  }

  function toggleSidebar() {
    if (isNarrow()) {
      const open = !ui.app.classList.contains("sidebar-open");
      ui.app.classList.toggle("sidebar-open", open);
      syncToggle();
      if (open) {
        const target = ui.convList.querySelector(".conv-item.is-current .conv-open") || ui.newChat;
        // wait for the drawer to become visible before moving focus into it
        setTimeout(() => target.focus(), 30);
      } else ui.sidebarToggle.focus();
      return;
    }
    const collapsed = !ui.app.classList.contains("sidebar-collapsed");
    ui.app.classList.toggle("sidebar-collapsed", collapsed);
    try { localStorage.setItem(SIDEBAR_KEY, collapsed ? "1" : "0"); } catch { /* storage disabled */ }
    syncToggle();
    if (!collapsed) ui.newChat.focus();
    else ui.sidebarToggle.focus();
  }

  function closeDrawer() {
    if (!ui.app || !isNarrow() || !ui.app.classList.contains("sidebar-open")) return;
    ui.app.classList.remove("sidebar-open");
    syncToggle();
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
      refreshConversations(); // also after a sign-out and a second sign-in
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
    listRequest += 1;
    conversations = [];
    provisional = null;
    listLoaded = false;
    renderConversations();
    showSignIn("");
  }

  async function loadMode() {
    const labels = { offline: "Offline mode", llm: "LLM mode" };
    const titles = {
      offline: "Answers come from Mara's built-in planner; no LLM is called. Set OPENAI_API_KEY or "
        + "MARA_LLM_BASE_URL on the server for free-form answers.",
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

  /** After a reload, show the stored conversation again (unless the user already started). */
  async function restoreConversation() {
    let id = null;
    try { id = sessionStorage.getItem(STORAGE_KEY); } catch { /* storage disabled */ }
    if (!id || controller || ui.messages.childElementCount) return;
    conversationId = id;
    const token = loadToken;
    const response = await fetch(`/v1/conversations/${encodeURIComponent(id)}`,
      { headers: { Accept: "application/json" } }).catch(() => null);
    if (!response || token !== loadToken || controller || ui.messages.childElementCount) return;
    if (response.status === 401) return; // signed out: keep the id for after sign-in
    if (!response.ok) { setConversation(null); renderConversations(); return; }
    try {
      const conversation = await response.json();
      if (token !== loadToken || controller || ui.messages.childElementCount) return;
      ui.empty.hidden = true;
      renderStored(conversation.messages);
      if (!ui.messages.childElementCount) ui.empty.hidden = false;
      renderConversations();
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
      app: $("#app"),
      sidebar: $("#sidebar"),
      sidebarToggle: $("#sidebar-toggle"),
      sidebarClose: $("#sidebar-close"),
      backdrop: $("#sidebar-backdrop"),
      newChatCompact: $("#new-chat-compact"),
      convList: $("#conversation-list"),
      convEmpty: $("#conversation-empty"),
      confirm: $("#confirm-delete"),
      confirmName: $("#confirm-name"),
      confirmOk: $("#confirm-ok"),
      confirmCancel: $("#confirm-cancel"),
      toast: $("#toast"),
      searchForm: $("#conv-search"),
      searchInput: $("#conv-search-input"),
      searchResults: $("#search-results"),
      convNav: $(".sidebar-nav"),
    });
    ui.searchForm.addEventListener("submit", (event) => { event.preventDefault(); runSearch(); });
    ui.searchInput.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(runSearch, 250);
    });
    ui.searchInput.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { ui.searchInput.value = ""; clearSearch(); }
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
        stopTurn();
      }
    });
    ui.input.addEventListener("input", autosize);
    ui.stop.addEventListener("click", stopTurn);
    ui.newChat.addEventListener("click", newChat);
    ui.newChatCompact.addEventListener("click", newChat);
    ui.sidebarToggle.addEventListener("click", toggleSidebar);
    ui.sidebarClose.addEventListener("click", toggleSidebar);
    ui.backdrop.addEventListener("click", closeDrawer);
    ui.confirmOk.addEventListener("click", deleteConfirmed);
    ui.confirmCancel.addEventListener("click", closeConfirm);
    ui.confirm.addEventListener("close", () => { pendingDelete = null; });
    ui.confirm.addEventListener("click", (event) => {
      if (event.target === ui.confirm) closeConfirm(); // a click on the backdrop
    });
    ui.toast.addEventListener("click", () => { ui.toast.hidden = true; });
    try {
      if (localStorage.getItem(SIDEBAR_KEY) === "1") ui.app.classList.add("sidebar-collapsed");
    } catch { /* storage disabled */ }
    syncToggle();
    if (narrowQuery && narrowQuery.addEventListener) {
      narrowQuery.addEventListener("change", () => {
        ui.app.classList.remove("sidebar-open");
        syncToggle();
      });
    }
    document.addEventListener("keydown", (event) => {
      const key = event.key.toLowerCase();
      if (key === "o" && event.shiftKey && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        newChat();
      } else if (key === "s" && event.shiftKey && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        toggleSidebar();
      } else if (event.key === "Escape" && isNarrow() && ui.app.classList.contains("sidebar-open")
        && !editing && !ui.confirm.open) {
        closeDrawer();
        ui.sidebarToggle.focus();
      }
    });
    for (const button of document.querySelectorAll(".suggestion")) {
      button.addEventListener("click", () => send(button.textContent.trim()));
    }

    autosize();
    setBusy(false);
    loadMode();
    checkSession().then(() => {
      refreshConversations();
      restoreConversation();
    });
    ui.input.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  // exposed for debugging and browser tests
  window.Mara = { renderMarkdown, parseFrame, renderChart, loadVega };
})();
