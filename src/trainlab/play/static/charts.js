// trainlab play: canvas drawing (no state of the page here). Plain JavaScript, nothing loaded from elsewhere.
"use strict";
window.TrainlabCharts = (() => {
  const REGIME_COLORS = { good: "#2e7d32", slow_start: "#1565c0", no_recovery: "#ef6c00", stuck: "#757575", diverged: "#c62828" };
  const CLASS_RGB = [[245, 130, 32], [33, 113, 181], [35, 139, 69], [117, 107, 177], [203, 24, 29], [0, 150, 150], [140, 81, 10], [231, 41, 138]];
  const LINE_COLORS = ["#e6550d", "#3182bd", "#31a354", "#756bb1", "#d62728", "#17becf", "#8c564b", "#e377c2", "#636363", "#bcbd22"];

  // colours are set through the DOM: the page's Content-Security-Policy forbids inline style attributes
  function swatch(color, text) {
    const span = document.createElement("span"), i = document.createElement("i");
    i.style.background = color;
    span.appendChild(i);
    span.appendChild(document.createTextNode(text));
    return span;
  }
  function groupsOf(info) {
    const names = [], index = [];
    for (const m of info.members) {
      const v = Object.entries(m.values).map(([k, x]) => `${k.split(".").pop()}=${x}`).join(", ") || "all";
      let i = names.indexOf(v);
      if (i < 0) { names.push(v); i = names.length - 1; }
      index.push(i);
    }
    return { names, index };
  }
  function pointsLayer(info, size) {
    const c = document.createElement("canvas");
    c.width = size; c.height = size;
    const g = c.getContext("2d");
    const [x0, x1, y0, y1] = info.extent;
    const r = size >= 80 ? 2 : 1.5;
    for (let i = 0; i < info.points.length; i++) {
      const [x, y] = info.points[i];
      const px = ((x - x0) / (x1 - x0)) * size, py = ((y1 - y) / (y1 - y0)) * size;
      const col = CLASS_RGB[info.labels[i] % CLASS_RGB.length];
      g.fillStyle = `rgb(${col[0] * 0.7},${col[1] * 0.7},${col[2] * 0.7})`;
      g.strokeStyle = "white"; g.lineWidth = 0.6;
      g.beginPath(); g.arc(px, py, r, 0, 2 * Math.PI); g.fill(); g.stroke();
    }
    return c;
  }
  // colour of each byte value: class << 5 | confidence level (0-31), 255 = not finite; RGBA packed
  // little-endian for a Uint32Array view of ImageData (one table lookup per pixel)
  const LUT = (() => {
    const lut = new Uint32Array(256);
    for (let b = 0; b < 256; b++) {
      let rgb = [120, 120, 120], a = 1;
      if (b !== 255) { rgb = CLASS_RGB[(b >> 5) % CLASS_RGB.length]; a = 0.12 + 0.6 * ((b & 31) / 31); }
      const c = rgb.map((v) => Math.round(255 + (v - 255) * a));
      lut[b] = (255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0];
    }
    return lut;
  })();
  function paintBoundary(ctx, bytes, k, n, offX, offY) {
    const img = ctx.createImageData(n, n);
    const px = new Uint32Array(img.data.buffer);
    const base = k * n * n;
    for (let i = 0; i < n * n; i++) px[i] = LUT[bytes[base + i]];
    ctx.putImageData(img, offX, offY);
  }
  function logTicks(lo, hi) {
    const out = [], e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
    const every = Math.max(1, Math.ceil((e1 - e0) / 7));
    for (let e = e0; e <= e1; e += every) out.push(Math.pow(10, e));
    return out;
  }
  function axes(g, cv, x0, x1, ylo, yhi, xlabel) {
    const L = 46, R = 10, T = 8, B = 28;
    const W = cv.width - L - R, H = cv.height - T - B;
    const lyl = Math.log10(ylo), lyh = Math.log10(yhi);
    const fx = (x) => L + ((x - x0) / Math.max(x1 - x0, 1e-12)) * W;
    const fy = (y) => T + (1 - (Math.log10(y) - lyl) / Math.max(lyh - lyl, 1e-12)) * H;
    g.strokeStyle = "#999"; g.lineWidth = 1; g.strokeRect(L, T, W, H);
    g.fillStyle = "#444"; g.font = "10px system-ui, sans-serif";
    for (const t of logTicks(ylo, yhi)) {
      if (t < ylo * 0.999 || t > yhi * 1.001) continue;
      g.fillText(t >= 1e4 || t < 1e-3 ? t.toExponential(0) : String(t), 2, fy(t) + 3);
      g.strokeStyle = "#eee"; g.beginPath(); g.moveTo(L, fy(t)); g.lineTo(L + W, fy(t)); g.stroke();
    }
    g.fillText(String(x0), L, T + H + 12);
    g.fillText(String(x1), L + W - 24, T + H + 12);
    g.fillText(xlabel, L + W / 2 - 14, T + H + 24);
    return { fx, fy, L, T, W, H };
  }
  const MAX_POINTS = 250;  // per curve: longer runs are drawn from every n-th evaluation (and the last)
  function line(g, a, rows, name, m) {
    g.beginPath();
    let pen = false;
    const every = Math.max(1, Math.ceil(rows.length / MAX_POINTS));
    for (let i = 0; i < rows.length; i++) {
      if (i % every !== 0 && i !== rows.length - 1) continue;
      const r = rows[i];
      const v = r[name] ? r[name][m] : null;
      if (v === null || v === undefined || !(v > 0)) { pen = false; continue; }
      const x = a.fx(r.step), y = a.fy(v);
      if (pen) g.lineTo(x, y); else g.moveTo(x, y);
      pen = true;
    }
    g.stroke();
  }
  function panel(g, cv, x, w, data, title, colorIndex) {
    let lo = Infinity, hi = 0;
    for (const row of data) for (const v of row) if (v !== null && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!isFinite(lo)) { lo = 1e-3; hi = 1; }
    if (hi / lo < 10) { lo /= 3; hi *= 3; }
    const sub = { width: w, height: cv.height };
    g.save(); g.translate(x, 0);
    const nl = data.length ? data[0].length : 1;
    const a = axes(g, sub, 1, Math.max(nl, 2), Math.max(lo, 1e-30), Math.min(hi, 1e30), title);
    for (let m = 0; m < data.length; m++) {
      g.strokeStyle = LINE_COLORS[colorIndex[m] % LINE_COLORS.length]; g.globalAlpha = 0.75; g.lineWidth = 1.2;
      g.beginPath();
      let pen = false;
      data[m].forEach((v, i) => {
        if (v === null || !(v > 0)) { pen = false; return; }
        const px = a.fx(i + 1), py = a.fy(v);
        if (pen) g.lineTo(px, py); else g.moveTo(px, py);
        pen = true;
      });
      g.stroke();
    }
    g.globalAlpha = 1; g.restore();
  }
  function tile(cv, bytes, k, n, info, regime) {
    const g = cv.getContext("2d");
    g.clearRect(0, 0, cv.width, cv.height);
    if (bytes) {
      const off = document.createElement("canvas"); off.width = n; off.height = n;
      paintBoundary(off.getContext("2d"), bytes, k, n, 0, 0);
      g.imageSmoothingEnabled = true;
      g.drawImage(off, 0, 0, cv.width, cv.height);
    }
    g.drawImage(pointsLayer(info, cv.width), 0, 0);
    if (regime) { g.strokeStyle = REGIME_COLORS[regime]; g.lineWidth = 3; g.strokeRect(1.5, 1.5, cv.width - 3, cv.height - 3); }
  }
  return { REGIME_COLORS, CLASS_RGB, LINE_COLORS, swatch, groupsOf, pointsLayer, paintBoundary, axes, line, panel, tile };
})();
