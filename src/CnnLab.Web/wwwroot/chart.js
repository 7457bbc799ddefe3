'use strict';
// A small line chart on a canvas: several named series of [x, y] points, axes with round ticks, a legend.
// Hand-written so the pages need no library and no network.
const Palette = ['#1976d2', '#d32f2f', '#388e3c', '#f57c00', '#7b1fa2', '#0097a7', '#5d4037', '#c2185b', '#455a64', '#afb42b'];

function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / power;
  return power * (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10);
}

function drawChart(canvas, title, xLabel, series) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, left = 52, right = 12, top = 24, bottom = 36;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '12px sans-serif';
  ctx.fillStyle = '#222';
  ctx.fillText(title, left, 14);
  const points = series.flatMap(s => s.points.filter(p => p[1] !== null && isFinite(p[1])));
  if (points.length === 0) {
    ctx.fillStyle = '#888';
    ctx.fillText('no points yet', left + 10, top + 30);
    return;
  }
  let x0 = Math.min(...points.map(p => p[0])), x1 = Math.max(...points.map(p => p[0]));
  let y0 = Math.min(...points.map(p => p[1])), y1 = Math.max(...points.map(p => p[1]));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const X = x => left + (x - x0) / (x1 - x0) * (w - left - right);
  const Y = y => h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom);
  ctx.strokeStyle = '#ccc';
  ctx.fillStyle = '#555';
  const yStep = niceStep(y1 - y0, 5);
  for (let y = Math.ceil(y0 / yStep) * yStep; y <= y1 + 1e-12; y += yStep) {
    ctx.beginPath(); ctx.moveTo(left, Y(y)); ctx.lineTo(w - right, Y(y)); ctx.stroke();
    ctx.fillText(+y.toPrecision(3) + '', 4, Y(y) + 4);
  }
  const xStep = niceStep(x1 - x0, 6);
  for (let x = Math.ceil(x0 / xStep) * xStep; x <= x1 + 1e-12; x += xStep) ctx.fillText(+x.toPrecision(4) + '', X(x) - 8, h - bottom + 14);
  ctx.fillText(xLabel, w - right - ctx.measureText(xLabel).width, h - 4);
  series.forEach((s, i) => {
    ctx.strokeStyle = s.color || Palette[i % Palette.length];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    for (const [x, y] of s.points) {
      if (y === null || !isFinite(y)) { started = false; continue; }
      if (started) ctx.lineTo(X(x), Y(y)); else ctx.moveTo(X(x), Y(y));
      started = true;
    }
    ctx.stroke();
    if (s.points.length === 1) { ctx.fillStyle = ctx.strokeStyle; ctx.fillRect(X(s.points[0][0]) - 2, Y(s.points[0][1]) - 2, 4, 4); }
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(s.name, left + 8 + 150 * (i % 3), top + 14 + 14 * Math.floor(i / 3));
  });
  ctx.lineWidth = 1;
}
