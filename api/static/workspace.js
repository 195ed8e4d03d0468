// Mara web chat: the marketer's workspace panel (data, brand, audiences and models, keys).
// Vanilla JS, nothing from a CDN; every text goes in with textContent (never innerHTML).
// Opened by the "Workspace" button in the header (#workspace-open) or Ctrl+Shift+K; a modal
// <dialog>, so focus stays inside it and Escape closes it. The server decides what a key may
// do (scopes, same-origin writes); the panel hides forms the signed-in key lacks the scope for.

"use strict";

(() => {
  const OPT_IN = /_opt_in$/;
  const POLL_MS = 400;
  const READINGS = {
    money: "Money", date: "Date", flag: "Yes/no flag", category: "Category", personal: "Personal",
    id: "Identifier", number: "Number", text: "Text",
  };
  const DATA_TYPES = ".csv,.tsv,.txt,.parquet,.pq,.jsonl,.ndjson,.json,.xlsx,.xlsm";
  const DOC_TYPES = ".md,.markdown,.txt,.html,.htm,.pdf,.docx,.csv";

  let scopes = [];
  let dialog = null;
  let panels = {};
  let tabs = [];
  let lastModel = null;

  // ---- helpers ------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;
  const fmt = (n) => Number(n).toLocaleString("en-US");
  const can = (scope) => scopes.includes(scope) || scopes.includes("admin");

  /** The error text of a failed response: Mara's {"error": {"message", "details"}} shape. */
  async function problem(response) {
    try {
      const body = await response.json();
      const error = body && body.error;
      if (error) {
        const details = (error.details || []).map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`);
        return [error.message, ...details].filter(Boolean).join(" ");
      }
    } catch { /* not JSON */ }
    return `The server answered ${response.status}.`;
  }

  async function api(path, options = {}) {
    const init = { ...options, headers: { Accept: "application/json", ...(options.headers || {}) } };
    if (options.json !== undefined) {
      init.body = JSON.stringify(options.json);
      init.headers["Content-Type"] = "application/json";
      delete init.json;
    }
    const response = await fetch(path, init);
    if (!response.ok) throw new Error(await problem(response));
    return response.status === 204 ? null : response.json();
  }

  /** A status line: role=status for progress, role=alert for errors. */
  function say(node, text, kind = "info") {
    node.textContent = text;
    node.className = `ws-status ws-status-${kind}`;
    node.setAttribute("role", kind === "error" ? "alert" : "status");
    node.hidden = !text;
  }

  /** POST a FormData with XMLHttpRequest (fetch has no upload progress). */
  function send(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else {
          const error = body && body.error;
          const details = ((error && error.details) || []).map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`);
          reject(new Error(error ? [error.message, ...details].join(" ") : `The server answered ${xhr.status}.`));
        }
      });
      xhr.addEventListener("error", () => reject(new Error("The upload did not reach Mara (connection lost).")));
      xhr.send(form);
    });
  }

  function progressBar(label) {
    const bar = el("progress", { class: "ws-progress", max: "100", "aria-label": label });
    bar.hidden = true;
    return bar;
  }

  function setProgress(bar, percent) {
    bar.hidden = false;
    if (percent === null) bar.removeAttribute("value");
    else bar.value = Math.max(0, Math.min(100, percent));
  }

  function askInChat(text) {
    const box = document.getElementById("composer-input");
    if (!box) return;
    dialog.close();
    box.value = text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  }

  function confirmed(text) {
    return window.confirm(text); // the browser's own dialog: keyboard and screen-reader ready
  }

  function section(title, ...children) {
    const id = nextId("ws-h");
    return el("section", { class: "ws-section", "aria-labelledby": id },
      el("h3", { id, class: "ws-h3", text: title }), ...children);
  }

  function field(label, input, hint) {
    const id = input.id || nextId("ws-f");
    input.id = id;
    const hintNode = hint ? el("p", { class: "ws-hint", id: `${id}-hint`, text: hint }) : null;
    if (hintNode) input.setAttribute("aria-describedby", hintNode.id);
    return el("div", { class: "ws-field" }, el("label", { for: id, text: label }), input, hintNode);
  }

  // ---- Data ---------------------------------------------------------------------------------

  function dataPanel() {
    const panel = el("div", { class: "ws-stack" });
    const status = el("p", { hidden: true });
    const bar = progressBar("Upload progress");
    const file = el("input", { type: "file", accept: DATA_TYPES, required: true, name: "file" });
    const table = el("input", { type: "text", name: "table", pattern: "[A-Za-z_][A-Za-z0-9_]{0,62}",
      autocomplete: "off", spellcheck: "false" });
    const replace = el("input", { type: "checkbox", name: "replace", id: nextId("ws-replace") });
    const submit = el("button", { class: "btn btn-primary", type: "submit", text: "Upload" });
    const result = el("div", { class: "ws-result", hidden: true });
    const form = el("form", { class: "ws-form", "aria-label": "Upload a data file" },
      field("Data file", file, "CSV, TSV, Parquet, JSON lines or Excel. Loaded all-or-nothing, as 'mara data load' does."),
      field("Table name (optional)", table, "Letters, digits and _; by default from the file name."),
      el("div", { class: "ws-check" }, replace, el("label", { for: replace.id, text: "Replace a table of the same name" })),
      el("div", { class: "ws-actions" }, submit), bar, status, result);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!file.files.length) { say(status, "Choose a file first.", "error"); file.focus(); return; }
      const chosen = file.files[0];
      const progressId = `up-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
      const body = new FormData();
      body.append("file", chosen);
      if (table.value.trim()) body.append("table", table.value.trim());
      body.append("replace", replace.checked ? "true" : "false");
      body.append("progress_id", progressId);
      submit.disabled = true;
      result.hidden = true;
      setProgress(bar, 0);
      say(status, `Sending ${chosen.name}…`);
      let polling = null;
      let sent = false;
      const poll = async () => {
        if (!sent) return;
        try {
          const p = await api(`/v1/data/loads/${progressId}`);
          if (p.stage === "reading") {
            setProgress(bar, 50 + p.percent / 2);
            say(status, `Reading ${chosen.name}: ${Math.round(p.percent)}%`);
          } else if (p.stage === "modelling") {
            setProgress(bar, 96);
            say(status, "Working out what each column means…");
          }
        } catch { /* not started yet */ }
      };
      try {
        polling = setInterval(poll, POLL_MS);
        const report = await send("/v1/data/tables", body, (fraction) => {
          setProgress(bar, fraction * 50);
          say(status, `Sending ${chosen.name}: ${Math.round(fraction * 100)}%`);
          if (fraction >= 1) { sent = true; say(status, `Reading ${chosen.name}…`); }
        });
        setProgress(bar, 100);
        say(status, `Loaded ${fmt(report.rows)} rows into “${report.table}”${report.replaced ? " (replaced)" : ""}.`, "ok");
        showLoaded(result, report);
        form.reset();
        await refreshTables();
      } catch (err) {
        bar.hidden = true;
        say(status, err.message, "error");
      } finally {
        clearInterval(polling);
        submit.disabled = false;
      }
    });
    const tables = el("div", { class: "ws-tables", id: "ws-tables", "aria-busy": "true" });
    panel.append(
      can("data:write")
        ? section("Upload data", form)
        : el("p", { class: "ws-hint", text: "Uploading data needs a key with the data:write scope." }),
      section("Tables Mara knows", tables),
    );
    return panel;
  }

  function showLoaded(node, report) {
    const question = `How many ${report.table.replace(/_/g, " ")} are there?`;
    node.replaceChildren(
      el("p", {}, `${report.columns.length} columns: `,
        report.columns.slice(0, 12).map((c) => `${c.name} (${c.type})`).join(", ")),
      report.notes.length ? el("ul", { class: "ws-notes" }, ...report.notes.map((n) => el("li", { text: n }))) : null,
      el("button", { class: "btn btn-small", type: "button", text: `Ask: “${question}”`, onclick: () => askInChat(question) }),
    );
    node.hidden = false;
  }

  /** Reload the table list; ``reopen`` names a table to show open again with focus on it. */
  async function refreshTables(reopen) {
    const holder = document.getElementById("ws-tables");
    if (!holder) return;
    holder.setAttribute("aria-busy", "true");
    try {
      lastModel = await api("/v1/data/model");
      holder.replaceChildren(...lastModel.tables.map(tableView));
      if (!lastModel.tables.length) holder.append(el("p", { class: "ws-hint", text: "No tables yet: upload a file above." }));
      const again = reopen && [...holder.querySelectorAll("details")].find((d) => d.dataset.table === reopen);
      if (again) { again.open = true; again.querySelector("summary").focus(); }
    } catch (err) {
      holder.replaceChildren(el("p", { class: "ws-status ws-status-error", role: "alert", text: err.message }));
    } finally {
      holder.setAttribute("aria-busy", "false");
    }
  }

  function tableView(table) {
    const counts = {};
    for (const c of table.columns) counts[c.reading] = (counts[c.reading] || 0) + 1;
    const summary = Object.entries(counts).map(([k, n]) => `${n} ${(READINGS[k] || k).toLowerCase()}`).join(", ");
    const rows = table.columns.map((column) => {
      const words = el("td", { class: "ws-words" },
        column.description ? el("span", { text: column.description }) : null,
        column.synonyms.length ? el("span", { class: "ws-syn", text: `also: ${column.synonyms.join(", ")}` }) : null);
      const edit = can("data:write")
        ? el("button", { class: "btn btn-small", type: "button", text: "Edit words",
          "aria-label": `Edit words for ${table.name}.${column.name}`,
          onclick: (event) => editWords(event.currentTarget, table, column) })
        : null;
      return el("tr", {},
        el("th", { scope: "row", text: column.name }),
        el("td", {}, el("span", { class: `ws-reading ws-reading-${column.reading}`, text: READINGS[column.reading] || column.reading })),
        words, el("td", {}, edit));
    });
    return el("details", { class: "ws-table", "data-table": table.name },
      el("summary", {}, el("strong", { text: table.name }), ` · ${fmt(table.rows)} rows · ${summary}`),
      table.description ? el("p", { class: "ws-hint", text: table.description }) : null,
      el("div", { class: "ws-scroll" },
        el("table", { class: "ws-grid" },
          el("caption", { class: "visually-hidden", text: `Columns of ${table.name} and how Mara reads them` }),
          el("thead", {}, el("tr", {}, ...["Column", "Mara reads it as", "Description and synonyms", ""].map(
            (h) => el("th", { scope: "col", text: h })))),
          el("tbody", {}, ...rows))));
  }

  function editWords(button, table, column) {
    const row = button.closest("tr");
    const next = row.nextElementSibling;
    if (next && next.classList.contains("ws-edit-row")) { next.remove(); button.focus(); return; }
    const description = el("input", { type: "text", maxlength: "500", value: column.description || "" });
    const synonyms = el("input", { type: "text", value: column.synonyms.join(", ") });
    const status = el("p", { hidden: true });
    const cancel = el("button", { class: "btn btn-ghost", type: "button", text: "Cancel" });
    const form = el("form", { class: "ws-form ws-inline", "aria-label": `Words for ${table.name}.${column.name}` },
      field("Description", description),
      field("Synonyms", synonyms, "Comma-separated words people use for this column."),
      el("div", { class: "ws-actions" }, el("button", { class: "btn btn-primary", type: "submit", text: "Save" }), cancel),
      status);
    const editRow = el("tr", { class: "ws-edit-row" }, el("td", { colspan: "4" }, form));
    row.after(editRow);
    cancel.addEventListener("click", () => { editRow.remove(); button.focus(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const words = synonyms.value.split(",").map((s) => s.trim()).filter(Boolean);
      try {
        await api(`/v1/data/model/${encodeURIComponent(table.name)}`, {
          method: "PATCH",
          json: { columns: { [column.name]: { description: description.value, synonyms: words } } },
        });
        await refreshTables(table.name);
      } catch (err) {
        say(status, err.message, "error");
      }
    });
    description.focus();
  }

  // ---- Brand ---------------------------------------------------------------------------------

  const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);

  function brandPanel() {
    const panel = el("div", { class: "ws-stack" });
    const status = el("p", { hidden: true });
    const inputs = {
      name: el("input", { type: "text", required: true, maxlength: "120" }),
      audience: el("textarea", { rows: "2" }),
      voice: el("textarea", { rows: "4" }),
      banned: el("textarea", { rows: "4" }),
      conditional: el("textarea", { rows: "2" }),
      allowed_claims: el("textarea", { rows: "3" }),
      disclaimers: el("textarea", { rows: "3" }),
    };
    const readOnly = !can("kb:write");
    for (const input of Object.values(inputs)) if (readOnly) input.readOnly = true;
    let loaded = null;
    const form = el("form", { class: "ws-form", "aria-label": "Brand profile" },
      field("Brand name", inputs.name),
      field("Audience", inputs.audience),
      field("Voice", inputs.voice, "One per line: “Warm: one friendly line”."),
      field("Banned words", inputs.banned, "One per line. A draft that uses one fails its checks."),
      field("Words allowed only with care", inputs.conditional, "One per line."),
      field("Allowed claims", inputs.allowed_claims, "One per line: the only product claims copy may make."),
      field("Disclaimers", inputs.disclaimers, "One per line: “sms: Reply STOP to opt out”."),
      readOnly ? el("p", { class: "ws-hint", text: "Editing the brand needs a key with the kb:write scope." })
        : el("div", { class: "ws-actions" }, el("button", { class: "btn btn-primary", type: "submit", text: "Save brand profile" })),
      status);
    const load = async () => {
      try {
        const doc = await api("/v1/brand");
        loaded = doc.profile;
        inputs.name.value = loaded.name || "";
        inputs.audience.value = loaded.audience || "";
        inputs.voice.value = (loaded.voice || []).map((v) => (v.description ? `${v.name}: ${v.description}` : v.name)).join("\n");
        inputs.banned.value = (loaded.banned || []).join("\n");
        inputs.conditional.value = (loaded.conditional || []).join("\n");
        inputs.allowed_claims.value = (loaded.allowed_claims || []).join("\n");
        inputs.disclaimers.value = Object.entries(loaded.disclaimers || {})
          .flatMap(([channel, texts]) => texts.map((t) => `${channel}: ${t}`)).join("\n");
        if (!doc.exists) say(status, "No brand profile saved yet: this is the sample brand's. Saving makes it yours.");
      } catch (err) {
        say(status, err.message, "error");
      }
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const disclaimers = {};
      for (const line of lines(inputs.disclaimers.value)) {
        const [channel, ...rest] = line.split(":");
        (disclaimers[channel.trim()] = disclaimers[channel.trim()] || []).push(rest.join(":").trim());
      }
      const profile = {
        ...(loaded || {}),
        name: inputs.name.value.trim(),
        audience: inputs.audience.value.trim(),
        voice: lines(inputs.voice.value),
        banned: lines(inputs.banned.value),
        conditional: lines(inputs.conditional.value),
        allowed_claims: lines(inputs.allowed_claims.value),
        disclaimers,
      };
      try {
        const doc = await api("/v1/brand", { method: "PUT", json: profile });
        loaded = doc.profile;
        say(status, "Brand profile saved. New drafts are checked against it.", "ok");
      } catch (err) {
        say(status, err.message, "error");
      }
    });
    load();
    panel.append(section("Brand profile", form), section("Brand documents", documentsView()));
    return panel;
  }

  function documentsView() {
    const wrap = el("div", { class: "ws-stack" });
    const list = el("ul", { class: "ws-list", "aria-busy": "true" });
    const status = el("p", { hidden: true });
    const bar = progressBar("Document upload progress");
    const files = el("input", { type: "file", accept: DOC_TYPES, multiple: true });
    const submit = el("button", { class: "btn btn-primary", type: "submit", text: "Upload documents" });
    const form = el("form", { class: "ws-form", "aria-label": "Upload brand documents" },
      field("Documents", files, "Markdown, text, HTML, PDF, Word or CSV. A file with the same name replaces the old one."),
      el("div", { class: "ws-actions" }, submit), bar);
    const refresh = async () => {
      try {
        const docs = await api("/v1/kb/documents");
        list.replaceChildren(...docs.map((doc) => {
          const actions = can("kb:write") ? [
            el("button", { class: "btn btn-small", type: "button", text: "Re-ingest",
              disabled: !doc.reingestable, title: doc.reingestable ? null : "Mara keeps no copy of this file; upload it again.",
              "aria-label": `Re-ingest ${doc.source}`, onclick: () => run(`Re-ingesting ${doc.source}…`,
                () => api(`/v1/kb/documents/${encodeURIComponent(doc.source)}/reingest`, { method: "POST" }),
                (r) => `Re-ingested ${doc.source}: ${(r.added || []).length + (r.updated || []).length} document(s) read again.`) }),
            el("button", { class: "btn btn-small btn-danger-ghost", type: "button", text: "Remove",
              "aria-label": `Remove ${doc.source}`, onclick: () => confirmed(`Remove ${doc.source} from the knowledge base?`)
                && run(`Removing ${doc.source}…`,
                  () => api(`/v1/kb/documents/${encodeURIComponent(doc.source)}`, { method: "DELETE" }),
                  (r) => `Removed ${doc.source} (${r.removed} passages).`) }),
          ] : [];
          return el("li", { class: "ws-item" },
            el("span", { class: "ws-item-main" }, el("strong", { text: doc.title || doc.source }),
              el("span", { class: "ws-hint", text: ` ${doc.source} · ${fmt(doc.chunks)} passages` })),
            el("span", { class: "ws-item-actions" }, ...actions));
        }));
        if (!docs.length) list.append(el("li", { class: "ws-hint", text: "No documents yet." }));
      } catch (err) {
        say(status, err.message, "error");
      } finally {
        list.setAttribute("aria-busy", "false");
      }
    };
    const run = async (doing, action, done) => {
      say(status, doing);
      setProgress(bar, null);
      try {
        say(status, done(await action()), "ok");
        await refresh();
      } catch (err) {
        say(status, err.message, "error");
      } finally {
        bar.hidden = true;
      }
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!files.files.length) { say(status, "Choose one or more documents first.", "error"); return; }
      const body = new FormData();
      for (const f of files.files) body.append("files", f);
      submit.disabled = true;
      await run("Sending documents…", () => send("/v1/kb/documents", body, (fraction) => {
        setProgress(bar, fraction < 1 ? fraction * 100 : null);
        say(status, fraction < 1 ? `Sending documents: ${Math.round(fraction * 100)}%` : "Reading and indexing the documents…");
      }), (r) => {
        const failed = (r.errors || []).map((e) => `${e.source}: ${e.message}`);
        return `Added ${(r.added || []).length}, updated ${(r.updated || []).length}, unchanged ${(r.unchanged || []).length}.`
          + (failed.length ? ` Not read: ${failed.join("; ")}` : "");
      });
      form.reset();
      submit.disabled = false;
    });
    refresh();
    wrap.append(can("kb:write") ? form : null, status, list);
    return wrap;
  }

  // ---- Audiences and models ------------------------------------------------------------------

  function audiencesPanel() {
    const panel = el("div", { class: "ws-stack" });
    const status = el("p", { hidden: true });
    const list = el("ul", { class: "ws-list", "aria-busy": "true" });
    const models = el("ul", { class: "ws-list", "aria-busy": "true" });
    const channels = async () => {
      const model = lastModel || await api("/v1/data/model").catch(() => ({ tables: [] }));
      const customers = model.tables.find((t) => t.name === "customers") || { columns: [] };
      return customers.columns.filter((c) => OPT_IN.test(c.name)).map((c) => c.name.replace(OPT_IN, ""));
    };
    const exportCsv = async (audience, channel) => {
      say(status, `Exporting ${audience.name}…`);
      const query = channel ? `?channel=${encodeURIComponent(channel)}` : "";
      const response = await fetch(`/v1/audiences/${encodeURIComponent(audience.name)}.csv${query}`);
      if (!response.ok) { say(status, await problem(response), "error"); return; }
      const rows = response.headers.get("X-Rows");
      const excluded = response.headers.get("X-Excluded-No-Opt-In");
      const link = el("a", { href: URL.createObjectURL(await response.blob()),
        download: `audience-${audience.name}${channel ? `-${channel}` : ""}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      say(status, `Exported ${fmt(rows || 0)} customers of ${audience.name}`
        + (channel ? ` who opted in to ${channel} (${fmt(excluded || 0)} left out: no opt-in).` : "."), "ok");
    };
    const refresh = async () => {
      try {
        const [{ audiences }, known] = await Promise.all([api("/v1/audiences"), channels()]);
        list.replaceChildren(...audiences.map((audience) => {
          const select = el("select", { "aria-label": `Channel for exporting ${audience.name}` },
            el("option", { value: "", text: "Everyone" }),
            ...known.map((c) => el("option", { value: c, text: `Opted in to ${c}` })));
          return el("li", { class: "ws-item" },
            el("span", { class: "ws-item-main" }, el("strong", { text: audience.name }),
              el("span", { class: "ws-hint", text: ` ${fmt(audience.size)} customers · ${audience.kind.replace("_", " ")} · refreshed ${audience.refreshed.slice(0, 10)}` })),
            el("span", { class: "ws-item-actions" },
              el("button", { class: "btn btn-small", type: "button", text: "Refresh", "aria-label": `Refresh ${audience.name}`,
                onclick: async () => {
                  say(status, `Refreshing ${audience.name}…`);
                  try {
                    const fresh = await api(`/v1/audiences/${encodeURIComponent(audience.name)}/refresh`, { method: "POST" });
                    say(status, `${fresh.name} now holds ${fmt(fresh.size)} customers (was ${fmt(audience.size)}).`, "ok");
                    refresh();
                  } catch (err) { say(status, err.message, "error"); }
                } }),
              select,
              el("button", { class: "btn btn-small", type: "button", text: "Export CSV", "aria-label": `Export ${audience.name} as CSV`,
                onclick: () => exportCsv(audience, select.value) }),
              el("button", { class: "btn btn-small btn-danger-ghost", type: "button", text: "Delete", "aria-label": `Delete ${audience.name}`,
                onclick: async () => {
                  if (!confirmed(`Delete the audience ${audience.name}? Customer data is not touched.`)) return;
                  try {
                    await api(`/v1/audiences/${encodeURIComponent(audience.name)}`, { method: "DELETE" });
                    say(status, `Deleted ${audience.name}.`, "ok");
                    refresh();
                  } catch (err) { say(status, err.message, "error"); }
                } })));
        }));
        if (!audiences.length) list.append(el("li", { class: "ws-hint", text: "No audiences yet. Ask Mara, e.g. “save the at-risk customers as an audience”." }));
        const saved = await api("/v1/data/models");
        models.replaceChildren(...saved.map((m) => el("li", { class: "ws-item ws-item-col" },
          el("strong", { text: `${m.target || m.label || m.kind || "model"} · ${m.table || ""}` }),
          el("span", { text: m.summary }),
          el("span", { class: "ws-hint", text: `${m.model_id} · saved ${String(m.created || "").slice(0, 10)}` }))));
        if (!saved.length) models.append(el("li", { class: "ws-hint", text: "No saved models yet." }));
      } catch (err) {
        say(status, err.message, "error");
      } finally {
        list.setAttribute("aria-busy", "false");
        models.setAttribute("aria-busy", "false");
      }
    };
    refresh();
    panel.append(status, section("Audiences", list), section("Saved models", models));
    return panel;
  }

  // ---- Keys -----------------------------------------------------------------------------------

  function keysPanel() {
    const panel = el("div", { class: "ws-stack" });
    const status = el("p", { hidden: true });
    const list = el("ul", { class: "ws-list", "aria-busy": "true" });
    const name = el("input", { type: "text", required: true, maxlength: "64", pattern: "[A-Za-z0-9][A-Za-z0-9_.@\\-]{0,63}", autocomplete: "off" });
    const scopeBoxes = ["chat", "copy", "data:read", "data:write", "kb:write", "admin"].map((scope) => {
      const box = el("input", { type: "checkbox", value: scope, id: nextId("ws-scope"), checked: ["chat", "copy", "data:read"].includes(scope) });
      return el("span", { class: "ws-check" }, box, el("label", { for: box.id, text: scope }));
    });
    const shown = el("div", { class: "ws-result", hidden: true });
    const form = el("form", { class: "ws-form", "aria-label": "Create an API key" },
      field("Name", name, "Who or what uses it, e.g. ana or crm-sync."),
      el("fieldset", { class: "ws-fieldset" }, el("legend", { text: "Scopes" }), ...scopeBoxes),
      el("div", { class: "ws-actions" }, el("button", { class: "btn btn-primary", type: "submit", text: "Create key" })),
      status, shown);
    const refresh = async () => {
      try {
        const keys = await api("/v1/keys");
        list.replaceChildren(...keys.map((k) => el("li", { class: "ws-item" },
          el("span", { class: "ws-item-main" }, el("strong", { text: k.name }),
            el("span", { class: "ws-hint", text: ` ${k.scopes.join(", ")} · ${k.active ? `last used ${k.last_used ? k.last_used.slice(0, 10) : "never"}` : `revoked ${k.revoked.slice(0, 10)}`}` })),
          el("span", { class: "ws-item-actions" }, k.active ? el("button", {
            class: "btn btn-small btn-danger-ghost", type: "button", text: "Revoke", "aria-label": `Revoke key ${k.name}`,
            onclick: async () => {
              if (!confirmed(`Revoke the key ${k.name}? Everyone using it is signed out at once.`)) return;
              try {
                await api(`/v1/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
                say(status, `Revoked ${k.name}.`, "ok");
                refresh();
              } catch (err) { say(status, err.message, "error"); }
            } }) : el("span", { class: "ws-hint", text: "revoked" })))));
        if (!keys.length) list.append(el("li", { class: "ws-hint", text: "No keys yet: the API is open to this computer only. Creating the first key turns sign-in on." }));
      } catch (err) {
        say(status, err.message, "error");
      } finally {
        list.setAttribute("aria-busy", "false");
      }
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chosen = scopeBoxes.map((s) => s.querySelector("input")).filter((b) => b.checked).map((b) => b.value);
      try {
        const created = await api("/v1/keys", { method: "POST", json: { name: name.value.trim(), scopes: chosen } });
        const value = el("input", { type: "text", readonly: true, value: created.key, class: "ws-key", "aria-label": `New key for ${created.name}` });
        shown.replaceChildren(
          el("p", { text: `Key for ${created.name} — copy it now, it is not shown again:` }), value,
          el("button", { class: "btn btn-small", type: "button", text: "Copy", onclick: async () => {
            value.select();
            try { await navigator.clipboard.writeText(created.key); say(status, "Copied.", "ok"); } catch { say(status, "Press Ctrl+C to copy the selected key."); }
          } }));
        shown.hidden = false;
        value.focus();
        value.select();
        form.querySelector("input[type=text]").value = "";
        say(status, `Created ${created.name} (${created.scopes.join(", ")}).`, "ok");
        refresh();
      } catch (err) {
        say(status, err.message, "error");
      }
    });
    refresh();
    panel.append(section("Create a key", form), section("Keys", list));
    return panel;
  }

  // ---- the dialog -------------------------------------------------------------------------------

  function selectTab(index, focus) {
    tabs.forEach((tab, i) => {
      const on = i === index;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      panels[tab.id].hidden = !on;
    });
    if (focus) tabs[index].focus();
    const panel = panels[tabs[index].id];
    if (!panel.dataset.built) {
      panel.dataset.built = "1";
      panel.append(panel.builder());
      if (panel.builder === dataPanel) refreshTables();
    }
  }

  async function open() {
    try {
      const session = await api("/v1/auth/session");
      scopes = session.authenticated ? session.scopes : [];
    } catch { scopes = []; }
    build();
    dialog.showModal();
    selectTab(0, true);
  }

  function build() {
    if (dialog) dialog.remove();
    uid = 0;
    const sections = [
      ["Data", dataPanel, can("data:read")],
      ["Brand", brandPanel, can("data:read")],
      ["Audiences & models", audiencesPanel, can("data:read")],
      ["Keys", keysPanel, can("admin")],
    ].filter(([, , allowed]) => allowed);
    const tablist = el("div", { class: "ws-tabs", role: "tablist", "aria-label": "Workspace sections" });
    panels = {};
    tabs = sections.map(([label, builder], i) => {
      const tab = el("button", { class: "ws-tab", role: "tab", type: "button", id: `ws-tab-${i}`,
        "aria-controls": `ws-panel-${i}`, text: label });
      const panel = el("div", { class: "ws-panel", role: "tabpanel", id: `ws-panel-${i}`,
        "aria-labelledby": tab.id, tabindex: "0" });
      panel.builder = builder;
      panel.hidden = true;
      panels[tab.id] = panel;
      tab.addEventListener("click", () => selectTab(i, false));
      return tab;
    });
    tablist.append(...tabs);
    tablist.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(document.activeElement);
      if (at < 0) return;
      const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      selectTab((moves[event.key] + tabs.length) % tabs.length, true);
    });
    const close = el("button", { class: "btn btn-icon btn-ghost", type: "button", "aria-label": "Close workspace",
      title: "Close (Esc)", onclick: () => dialog.close() });
    const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("viewBox", "0 0 16 16");
    icon.setAttribute("width", "16");
    icon.setAttribute("height", "16");
    icon.setAttribute("aria-hidden", "true");
    const cross = document.createElementNS("http://www.w3.org/2000/svg", "path");
    cross.setAttribute("d", "M4 4l8 8M12 4l-8 8");
    cross.setAttribute("stroke", "currentColor");
    cross.setAttribute("stroke-width", "1.6");
    cross.setAttribute("stroke-linecap", "round");
    icon.append(cross);
    close.append(icon);
    dialog = el("dialog", { class: "ws-dialog", id: "workspace", "aria-labelledby": "ws-title" },
      el("header", { class: "ws-head" }, el("h2", { id: "ws-title", text: "Workspace" }), close),
      sections.length ? tablist : el("p", { class: "ws-hint", text: "Sign in with a key to see the workspace." }),
      ...Object.values(panels));
    dialog.addEventListener("close", () => {
      const opener = document.getElementById("workspace-open");
      if (opener && !document.activeElement?.closest?.(".composer")) opener.focus();
    });
    document.body.append(dialog);
  }

  function init() {
    const opener = document.getElementById("workspace-open");
    if (opener) opener.addEventListener("click", open);
    document.addEventListener("keydown", (event) => {
      if (event.key.toLowerCase() === "k" && event.shiftKey && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (dialog && dialog.open) dialog.close(); else open();
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  window.MaraWorkspace = { open };
})();
