// trainlab play: the page. Plain JavaScript and canvas; it talks only to the server that served it.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const token = document.querySelector('meta[name="trainlab-token"]').content;
  // what the page knows; tests and benchmarks read it (window.__play, window.__frames)
  const P = (window.__play = {
    hello: null, info: null, uid: null, state: null, rows: [], findings: new Map(), regimes: [],
    frozen: {}, scales: null, boundaries: null, step: 0, status: "connecting", seconds: 0,
    final: null, stop: null, fixes: {}, exported: null, errors: [], connected: false,
  });
  window.__frames = 0;  // redraws (a view drawn again), counted by the page itself
  window.__busy = { draw: 0, messages: 0 };  // milliseconds the page spent drawing and reading messages
  const LIST_KEYS = new Set(["hidden", "values"]);
  const { REGIME_COLORS, LINE_COLORS, swatch, groupsOf, pointsLayer, paintBoundary, axes, line, panel, tile } = window.TrainlabCharts;
  let ws = null, dirty = true, sendTimer = null, playAfterReady = false, fixesDirty = false;
  const stale = { grid: true, loss: true, layers: true };  // which views changed since their last draw

  // ---- messages --------------------------------------------------------------------------------
  function showMessage(text, kind) {
    const m = $("message");
    m.textContent = text;
    m.className = kind || "";
    m.hidden = !text;
  }
  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }
  function connect() {
    ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
    ws.onopen = () => { P.connected = true; };
    ws.onmessage = (ev) => {
      const t0 = performance.now();
      onMessage(JSON.parse(ev.data));
      window.__busy.messages += performance.now() - t0;
    };
    ws.onclose = () => {
      P.connected = false;
      setStatus("disconnected: restart trainlab play and open the address it prints");
    };
  }
  function onMessage(msg) {
    switch (msg.type) {
      case "hello": return onHello(msg);
      case "ready": return onReady(msg);
      case "frame": return onFrame(msg);
      case "error": return onError(msg);
      case "export": return onExport(msg);
      case "fix": return onFix(msg);
      default: return undefined;
    }
  }

  // ---- controls, state and URL -----------------------------------------------------------------
  function controls() { return Array.from(document.querySelectorAll("[data-key]")); }
  function readControls() {
    const s = {};
    for (const el of controls()) {
      const k = el.dataset.key;
      s[k] = LIST_KEYS.has(k) ? el.value.split(",").map((x) => x.trim()).filter((x) => x.length) : el.value;
    }
    return s;
  }
  function writeControls(state) {
    for (const el of controls()) {
      const v = state[el.dataset.key];
      if (v === undefined) continue;
      // a number box cannot hold text (the browser would warn): it stays empty, and the server's
      // message names the text it got
      el.value = el.type === "number" && !Number.isFinite(Number(v)) ? "" : Array.isArray(v) ? v.join(", ") : String(v);
    }
    $("c-depth").value = String((state.hidden || []).length);
    updateNotes(state);
  }
  function stateToUrl(state) {
    const q = new URLSearchParams();
    for (const c of P.hello.controls) {
      const v = state[c.key];
      if (v !== undefined) q.set(c.key, Array.isArray(v) ? v.join(",") : String(v));
    }
    history.replaceState(null, "", `${location.pathname}?${q.toString()}`);
  }
  function stateFromUrl() {
    const q = new URLSearchParams(location.search);
    const s = Object.assign({}, P.hello.defaults);
    for (const c of P.hello.controls) {
      if (!q.has(c.key)) continue;
      const v = q.get(c.key);
      s[c.key] = LIST_KEYS.has(c.key) ? v.split(",").map((x) => x.trim()).filter((x) => x.length) : v;
    }
    return s;
  }
  function updateNotes(state) {
    const hidden = (state.hidden || []).map(Number);
    const lab = P.hello.lab_structures.some((s) => s.length === hidden.length && s.every((w, i) => w === hidden[i]));
    const lim = P.hello.limits;
    const beyond = hidden.length > lim.layers || hidden.some((w) => w > lim.width);
    const note = $("structure-note");
    note.hidden = !(lab && beyond);
    note.textContent = lab && beyond
      ? `a lab preset's structure, beyond the controls' limit of ${lim.layers} layers of ${lim.width} units: it runs as the lab defines it; change depth or widths to leave it`
      : "";
    const nValues = state.vary === "seeds" ? 1 : Math.max(1, (state.values || []).length);
    const k = nValues * Number(state.seeds || 1);
    $("members-note").textContent = `${k} member${k === 1 ? "" : "s"} (at most ${lim.members})`;
    $("c-values").disabled = state.vary === "seeds";
  }
  function clearBad() { for (const el of document.querySelectorAll(".bad")) el.classList.remove("bad"); }
  function changed() {
    clearBad();
    const s = readControls();
    updateNotes(s);
    stateToUrl(s);
    clearTimeout(sendTimer);
    sendTimer = setTimeout(() => sendState(s), 250);
  }
  function sendState(s) {
    playAfterReady = P.status === "playing";
    P.state = s;
    send({ type: "state", state: s });
  }

  function onHello(msg) {
    P.hello = msg;
    for (const [key, choices] of Object.entries(msg.choices)) {
      const sel = $(`c-${key}`);
      sel.innerHTML = "";
      for (const c of choices) sel.add(new Option(c, c));
    }
    const ps = $("preset");
    for (const [name, p] of Object.entries(msg.presets)) ps.add(new Option(p.title, name));
    for (const el of controls()) el.addEventListener("change", changed);
    $("c-depth").addEventListener("change", () => {
      const d = Math.max(1, Math.floor(Number($("c-depth").value) || 1));
      const widths = $("c-hidden").value.split(",").map((x) => x.trim()).filter((x) => x.length);
      const last = widths.length ? widths[widths.length - 1] : "8";
      while (widths.length < d) widths.push(last);
      widths.length = d;
      $("c-hidden").value = widths.join(", ");
      changed();
    });
    ps.addEventListener("change", () => {
      if (!ps.value) return;
      const s = msg.presets[ps.value].state;
      writeControls(s);
      stateToUrl(s);
      clearBad();
      sendState(readControls());
    });
    const s = stateFromUrl();
    writeControls(s);
    sendState(s);  // as the URL has it, so a bad value is reported as given
  }

  function onReady(msg) {
    P.info = msg.info; P.uid = msg.info.uid; P.state = msg.state;
    P.rows = []; P.findings = new Map(); P.regimes = []; P.frozen = {}; P.scales = null; P.boundaries = null;
    P.final = null; P.stop = null; P.step = 0; P.status = "paused"; P.fixes = {}; P.seconds = 0;
    $("findings").innerHTML = ""; $("fixes").innerHTML = ""; $("fixes-panel").hidden = true;
    showMessage("");
    layoutGrid();
    renderNumbers();
    stale.grid = stale.loss = stale.layers = true;
    dirty = true;
    if (playAfterReady) send({ type: "play" });
    playAfterReady = false;
  }
  function onError(msg) {
    P.errors.push(msg.message);
    showMessage(msg.message, "");
    if (msg.field) {
      const el = $(`c-${msg.field}`);
      if (el) el.classList.add("bad");
    }
    if (msg.fatal) for (const b of document.querySelectorAll("button, input, select")) b.disabled = true;
  }
  function onExport(msg) {
    P.exported = msg.yaml;
    $("export-yaml").textContent = msg.yaml;
    $("export-panel").open = true;
    const url = URL.createObjectURL(new Blob([msg.yaml], { type: "text/yaml" }));
    const a = document.createElement("a");
    a.href = url; a.download = msg.filename;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---- frames from the runs --------------------------------------------------------------------
  function decode(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function onFrame(msg) {
    if (msg.run !== "main") return onFixFrame(msg);
    if (msg.uid !== P.uid) return undefined; // a frame of a run this page has replaced
    P.step = msg.step; P.status = msg.status; P.regimes = msg.regimes; P.frozen = msg.frozen; P.seconds = msg.seconds;
    document.body.dataset.status = msg.status;  // for scripts that wait on the page (benchmarks/play.py)
    for (const r of msg.rows) P.rows.push(r);
    if (msg.rows.length) stale.loss = true;
    if (msg.boundaries) { P.boundaries = decode(msg.boundaries); stale.grid = true; }
    if (msg.scales) { P.scales = msg.scales; stale.layers = true; }
    if (msg.findings.length) addFindings(msg.findings);
    if (msg.final !== undefined) { P.final = msg.final; P.stop = msg.stop; if (msg.error) showMessage(msg.error); renderNumbers(); }
    if (Object.keys(P.fixes).length) fixesDirty = true;  // the cards show the original beside its copy
    dirty = true;
    return undefined;
  }
  function onFixFrame(msg) {
    const f = P.fixes[msg.run];
    if (!f || f.info.uid !== msg.uid) return;
    f.step = msg.step; f.status = msg.status; f.regimes = msg.regimes;
    for (const r of msg.rows) f.rows.push(r);
    if (msg.rows.length) stale.loss = true;
    if (msg.boundaries) f.boundaries = decode(msg.boundaries);
    for (const x of msg.findings) f.findings.set(`${x.code}|${x.layer}`, x);
    if (msg.final !== undefined) { f.final = msg.final; renderNumbers(); }
    fixesDirty = true; dirty = true;
  }
  function onFix(msg) {
    P.fixes[msg.run] = { info: msg.info, member: msg.member, code: msg.code, fix: msg.fix, changes: msg.changes, rows: [], boundaries: null, final: null, step: 0, status: "playing", findings: new Map() };
    const card = document.createElement("div");
    card.className = "fixcard"; card.id = `card-${msg.run}`;
    const changes = msg.changes.map((c) => `<li>${escapeHtml(c)}</li>`).join("");
    card.innerHTML = `<div><b>member #${msg.member}</b>: ${escapeHtml(msg.code)} &rarr; ${escapeHtml(msg.fix)}</div>
      <div class="pair"><div>original<canvas width="96" height="96" data-role="orig"></canvas></div>
      <div>fixed copy<canvas width="96" height="96" data-role="fixed"></canvas></div></div>
      <ul>${changes}</ul><div class="result" data-role="result">training...</div>`;
    $("fixes").appendChild(card);
    $("fixes-panel").hidden = false;
    showMessage(`training a fixed copy of member #${msg.member}: ${msg.fix}`, "info");
    fixesDirty = true; dirty = true;
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // ---- findings --------------------------------------------------------------------------------
  function memberLabel(m) { return P.info && P.info.members[m] ? P.info.members[m].label : `#${m}`; }
  function addFindings(list) {
    const ol = $("findings");
    for (const f of list) {
      const key = `${f.member}|${f.code}|${f.layer}`;
      let li = P.findings.has(key) ? P.findings.get(key).li : null;
      if (!li) {
        li = document.createElement("li");
        li.dataset.member = f.member; li.dataset.code = f.code;
        li.innerHTML = `<span class="sev-${f.severity}">${f.severity.toUpperCase()}</span> <b>${escapeHtml(memberLabel(f.member))}</b>:
          <code>${escapeHtml(f.code)}</code>${f.layer ? ` [${escapeHtml(f.layer)}]` : ""} <span data-role="what"></span>
          <div class="fix">fix: <b>${escapeHtml(f.fix.name)}</b> (${escapeHtml(f.fix.description)})</div>`;
        if (f.fix.why_not) {
          const note = document.createElement("span");
          note.className = "note"; note.textContent = ` (not for this member: ${f.fix.why_not})`;
          li.querySelector(".fix").appendChild(note);
        } else if (f.fix.available) {
          const b = document.createElement("button");
          b.textContent = "try the fix"; b.className = "try-fix";
          b.addEventListener("click", () => send({ type: "fix", member: f.member, code: f.code }));
          li.querySelector(".fix").appendChild(b);
        }
        ol.appendChild(li);
      }
      li.querySelector('[data-role="what"]').textContent = `at step ${f.first_step}${f.count > 1 ? ` (seen ${f.count}x, last at ${f.step})` : ""}: ${f.message}`;
      P.findings.set(key, Object.assign({}, f, { li }));
    }
    const n = P.findings.size;
    const members = new Set(Array.from(P.findings.values()).map((f) => f.member)).size;
    $("findings-sub").textContent = `${n} finding${n === 1 ? "" : "s"} on ${members} member${members === 1 ? "" : "s"}`;
  }

  // ---- drawing ---------------------------------------------------------------------------------
  // The grid is two canvases. Below: every member's boundary at the grid's own resolution (n x n
  // pixels a tile), which the browser scales up to the tiles; a frame writes 64 small images into
  // it and nothing else. Above: points, regime borders and labels, drawn only when they change.
  const grid = { cols: 1, rows: 1, n: 32, gap: 2, label: 6, scale: 2, over: "" };
  function layoutGrid() {
    const info = P.info, box = $("grid-box"), below = $("grid"), above = $("grid-over");
    const width = Math.max(320, box.parentElement.clientWidth - 20);
    const k = info.k, n = info.grid;
    grid.n = n;
    grid.cols = Math.min(k, Math.max(1, Math.ceil(Math.sqrt(k * 2))));
    grid.rows = Math.ceil(k / grid.cols);
    const tile = Math.max(48, Math.min(128, Math.floor(width / grid.cols) - 6));
    grid.scale = tile / n;  // display pixels per boundary pixel
    grid.label = Math.ceil(14 / grid.scale);
    below.width = grid.cols * (n + grid.gap);
    below.height = grid.rows * (n + grid.gap + grid.label);
    const w = below.width * grid.scale, h = below.height * grid.scale;
    below.style.width = `${w}px`; below.style.height = `${h}px`;
    above.width = Math.round(w); above.height = Math.round(h);
    box.style.height = `${Math.ceil(h)}px`;
    grid.points = pointsLayer(info, Math.round(n * grid.scale));
    grid.over = "";
    const legend = $("legend");
    legend.textContent = "tile border = regime: ";
    for (const [r, c] of Object.entries(REGIME_COLORS)) legend.appendChild(swatch(c, r.replace("_", " ")));
    const groups = groupsOf(info);
    if (groups.names.length > 1) {
      legend.appendChild(document.createElement("br"));
      legend.appendChild(document.createTextNode("lines: "));
      groups.names.forEach((nm, i) => legend.appendChild(swatch(LINE_COLORS[i % LINE_COLORS.length], nm)));
    }
    $("grid-sub").textContent = `${k} members, ${info.source}`;
  }
  function tileAt(k) {  // a tile's corner in boundary pixels
    const col = k % grid.cols, row = Math.floor(k / grid.cols);
    return [col * (grid.n + grid.gap) + grid.gap / 2, row * (grid.n + grid.gap + grid.label) + grid.label];
  }
  function drawGrid() {
    const info = P.info, n = grid.n;
    if (P.boundaries) {
      const g = $("grid").getContext("2d");
      for (let k = 0; k < info.k; k++) { const [x, y] = tileAt(k); paintBoundary(g, P.boundaries, k, n, x, y); }
    }
    const key = JSON.stringify([P.regimes, Object.keys(P.frozen)]);
    if (key === grid.over) return;  // borders and labels unchanged
    grid.over = key;
    const cv = $("grid-over"), g = cv.getContext("2d"), s = grid.scale, tile = Math.round(n * s);
    g.clearRect(0, 0, cv.width, cv.height);
    g.font = "10px system-ui, sans-serif";
    for (let k = 0; k < info.k; k++) {
      const [bx, by] = tileAt(k), x = Math.round(bx * s), y = Math.round(by * s);
      g.drawImage(grid.points, x, y);
      g.strokeStyle = REGIME_COLORS[P.regimes[k] || "good"]; g.lineWidth = 3;
      g.strokeRect(x - 1.5, y - 1.5, tile + 3, tile + 3);
      g.fillStyle = "#222";
      const m = info.members[k];
      g.fillText(`#${m.id} ${Object.values(m.values).join(" ")}`.slice(0, Math.floor(tile / 5)), x, y - 4);
      if (P.frozen[String(k)]) { g.fillStyle = "rgba(198,40,40,0.85)"; g.fillText("frozen (NaN)", x + 3, y + 12); }
    }
  }
  function drawLoss() {
    const info = P.info, cv = $("loss"), g = cv.getContext("2d");
    g.clearRect(0, 0, cv.width, cv.height);
    let lo = Infinity, hi = 0;
    const series = [["train_loss", []], ["val_loss", [3, 3]]];
    const allRows = [P.rows].concat(Object.values(P.fixes).map((f) => f.rows));
    for (const rows of allRows) for (const r of rows) for (const [name] of series) for (const v of r[name] || []) if (v !== null && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    lo = Math.min(lo, info.ln_c * 0.9); hi = Math.max(hi, info.ln_c * 1.1);
    if (!isFinite(lo)) { lo = 0.01; hi = 10; }
    lo = Math.max(lo, 1e-6); hi = Math.min(hi, 1e12);
    const a = axes(g, cv, 0, info.steps, lo, hi, "step");
    const groups = groupsOf(info);
    g.save(); g.beginPath(); g.rect(a.L, a.T, a.W, a.H); g.clip();
    for (const [name, dash] of series) {
      g.setLineDash(dash);
      for (let m = 0; m < info.k; m++) {
        g.strokeStyle = LINE_COLORS[groups.index[m] % LINE_COLORS.length]; g.globalAlpha = 0.75; g.lineWidth = 1.2;
        line(g, a, P.rows, name, m);
      }
    }
    g.globalAlpha = 1;
    for (const f of Object.values(P.fixes)) {
      g.strokeStyle = "#000"; g.lineWidth = 2.2; g.setLineDash([6, 3]);
      line(g, a, f.rows, "train_loss", 0);
    }
    g.setLineDash([8, 4]); g.strokeStyle = "#444"; g.lineWidth = 1;
    g.beginPath(); g.moveTo(a.L, a.fy(info.ln_c)); g.lineTo(a.L + a.W, a.fy(info.ln_c)); g.stroke();
    g.setLineDash([]); g.restore();
    g.fillStyle = "#444"; g.fillText(`ln C = ${info.ln_c.toFixed(3)}`, a.L + a.W - 70, a.fy(info.ln_c) - 3);
  }
  function drawLayers() {
    const cv = $("layers"), g = cv.getContext("2d");
    g.clearRect(0, 0, cv.width, cv.height);
    const s = P.scales;
    if (!s) return;
    $("layers-sub").textContent = `at step ${s.step}: activation std (hidden layers) | weight-gradient norm (all layers)`;
    const half = Math.floor(cv.width / 2);
    const colors = groupsOf(P.info).index;
    panel(g, cv, 0, half, s.act_std, "activation std, by layer", colors);
    panel(g, cv, half, half, s.grad_norm, "gradient norm, by layer", colors);
  }
  function drawFixes() {
    const info = P.info, n = info.grid;
    for (const [run, f] of Object.entries(P.fixes)) {
      const card = $(`card-${run}`);
      if (!card) continue;
      const orig = card.querySelector('[data-role="orig"]'), fixed = card.querySelector('[data-role="fixed"]');
      tile(orig, P.boundaries, f.member, n, info, P.regimes[f.member]);
      tile(fixed, f.boundaries, 0, f.info.grid, f.info, f.regimes ? f.regimes[0] : null);
      const last = (rows, m) => (rows.length ? rows[rows.length - 1].train_loss[m] : null);
      const a = last(P.rows, f.member), b = last(f.rows, 0);
      const fmt = (v) => (v === null || v === undefined ? "n/a" : v.toPrecision(4));
      const codes = Array.from(new Set(Array.from(f.findings.values()).map((x) => x.code)));
      card.querySelector('[data-role="result"]').textContent =
        `train loss: original ${fmt(a)} (step ${P.step}), fixed ${fmt(b)} (step ${f.step}${f.final ? ", done" : ""}); ` +
        `findings on the copy: ${codes.length ? codes.join(", ") : "none"}`;
    }
  }
  function renderNumbers() {
    const t = $("numbers");
    const fmt = (v) => (v === null || v === undefined ? "n/a" : Number(v).toPrecision(6));
    let html = "<tr><th>member</th><th>regime</th><th>train loss</th><th>val loss</th><th>train acc</th><th>val acc</th></tr>";
    if (P.info && P.final) {
      for (let m = 0; m < P.info.k; m++) {
        html += `<tr><td>${escapeHtml(memberLabel(m))}</td><td>${P.regimes[m] || ""}</td><td>${fmt(P.final.train_loss[m])}</td><td>${fmt((P.final.val_loss || [])[m])}</td><td>${fmt(P.final.train_acc[m])}</td><td>${fmt((P.final.val_acc || [])[m])}</td></tr>`;
      }
    }
    for (const f of Object.values(P.fixes)) {
      if (!f.final) continue;
      html += `<tr><td>${escapeHtml(f.info.members[0].label)}</td><td></td><td>${fmt(f.final.train_loss[0])}</td><td>${fmt((f.final.val_loss || [])[0])}</td><td>${fmt(f.final.train_acc[0])}</td><td>${fmt((f.final.val_acc || [])[0])}</td></tr>`;
    }
    t.innerHTML = html;
  }
  function setStatus(text) { $("status").textContent = text; }
  const LOSS_EVERY_MS = 200;  // the curves change slowly: at most 5 redraws a second while training
  let lossDrawn = 0;
  function draw() {
    // returns whether a view was redrawn; window.__frames counts those redraws
    if (!P.info) return false;
    let drew = false;
    if (stale.grid) { drawGrid(); stale.grid = false; drew = true; }
    const now = performance.now();
    if (stale.loss && (P.status !== "playing" || now - lossDrawn >= LOSS_EVERY_MS)) {
      drawLoss(); stale.loss = false; lossDrawn = now; drew = true;
    }
    if (stale.layers) { drawLayers(); stale.layers = false; drew = true; }
    if (fixesDirty) { drawFixes(); fixesDirty = false; drew = true; }
    const rate = P.seconds > 0 ? ` · ${(P.step / P.seconds).toFixed(0)} steps/s` : "";
    setStatus(`step ${P.step} / ${P.info.steps} · ${P.status} · ${P.info.k} members${rate}`);
    return drew;
  }
  function loop() {
    if (dirty) {
      dirty = false;
      const t0 = performance.now();
      if (draw()) window.__frames += 1;
      window.__busy.draw += performance.now() - t0;
      if (stale.loss) dirty = true;  // curves held back by LOSS_EVERY_MS: come back for them
    }
    requestAnimationFrame(loop);
  }

  // ---- buttons ---------------------------------------------------------------------------------
  function wire() {
    $("btn-play").addEventListener("click", () => send({ type: "play" }));
    $("btn-pause").addEventListener("click", () => send({ type: "pause" }));
    $("btn-step").addEventListener("click", () => send({ type: "step" }));
    $("btn-reset").addEventListener("click", () => { playAfterReady = false; send({ type: "reset" }); });
    $("btn-export").addEventListener("click", () => send({ type: "export" }));
    window.addEventListener("resize", () => { if (P.info) { layoutGrid(); stale.grid = true; dirty = true; } });
  }
  wire();
  connect();
  requestAnimationFrame(loop);
})();
