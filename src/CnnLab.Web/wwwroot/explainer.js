'use strict';
// The Explainer: an uploaded or drawn image through a run's checkpoint: top classes, feature maps, one pixel's arithmetic.
const Explainer = {
  setRuns(names) {
    const select = document.querySelector('#explain-form select[name=run]');
    const chosen = select.value;
    if ([...select.options].map(o => o.value).join() === names.join()) return;
    fillSelect(select, names, chosen);
  },
};

const canvas = document.getElementById('draw');
const pen = canvas.getContext('2d');
function clearCanvas() { pen.fillStyle = '#000'; pen.fillRect(0, 0, canvas.width, canvas.height); }
clearCanvas();
let drawing = false;
canvas.addEventListener('pointerdown', e => { drawing = true; pen.beginPath(); pen.moveTo(e.offsetX, e.offsetY); });
canvas.addEventListener('pointerup', () => { drawing = false; });
canvas.addEventListener('pointerleave', () => { drawing = false; });
canvas.addEventListener('pointermove', e => {
  if (!drawing) return;
  pen.strokeStyle = '#fff'; pen.lineWidth = 22; pen.lineCap = 'round'; pen.lineJoin = 'round';
  pen.lineTo(e.offsetX, e.offsetY); pen.stroke();
});
document.getElementById('canvas-clear').addEventListener('click', clearCanvas);

async function explain(image) {
  const form = document.getElementById('explain-form');
  const error = document.getElementById('explain-error');
  error.textContent = 'working…';
  const data = new FormData();
  data.append('run', form.run.value);
  data.append('top', form.top.value);
  if (form.invert.checked) data.append('invert', 'on');
  data.append('image', image, 'image.png');
  try {
    const r = await Lab.json('/api/explain', { method: 'POST', body: data });
    error.textContent = '';
    document.getElementById('explain-top').replaceChildren(...r.top.map(t => Lab.el('li', `${t.class}: ${Lab.percent(t.probability)}`)));
    document.getElementById('explain-arithmetic').textContent = (r.arithmetic || []).join('\n');
    document.getElementById('explain-pixel').replaceChildren();
    document.getElementById('explain-maps').replaceChildren(...r.stages.map(s => {
      const figure = Lab.el('figure');
      const conv = r.conv_layers.find(c => c.stage === s.stage);
      const caption = conv ? `${s.stage} (click to choose one of its output pixels)` : s.stage;
      figure.append(Lab.el('img', null, { src: s.url, alt: s.stage }), Lab.el('figcaption', caption));
      if (conv) figure.addEventListener('click', () => pickPixel(r.id, conv));
      if (conv) figure.classList.add('clickable');
      return figure;
    }));
  } catch (e) {
    error.textContent = e.message;
  }
}

// One channel of a conv layer drawn cell by cell: the pixel clicked gets its arithmetic (window, kernel, products, sum, bias).
async function pickPixel(id, conv, channel = 0) {
  const box = document.getElementById('explain-pixel');
  const error = document.getElementById('explain-error');
  try {
    const map = await Lab.json(`/api/explain/${id}/map?layer=${conv.layer}&channel=${channel}`);
    const cell = Math.max(4, Math.floor(256 / Math.max(conv.height, conv.width)));
    const picture = Lab.el('canvas', null, { width: conv.width * cell, height: conv.height * cell, class: 'pixel-map' });
    const ink = picture.getContext('2d');
    const lo = Math.min(...map.values), hi = Math.max(...map.values);
    map.values.forEach((v, k) => {
      const g = hi > lo ? Math.round(255 * (v - lo) / (hi - lo)) : 128;
      ink.fillStyle = `rgb(${g},${g},${g})`;
      ink.fillRect((k % conv.width) * cell, Math.floor(k / conv.width) * cell, cell, cell);
    });
    picture.addEventListener('click', async e => {
      const row = Math.floor(e.offsetY / cell), col = Math.floor(e.offsetX / cell);
      const url = `/api/explain/${id}/arithmetic?layer=${conv.layer}&channel=${channel}&row=${row}&col=${col}`;
      try {
        document.getElementById('explain-arithmetic').textContent = (await Lab.json(url)).lines.join('\n');
        ink.strokeStyle = '#e53935'; ink.strokeRect(col * cell + 0.5, row * cell + 0.5, cell - 1, cell - 1);
      } catch (err) { error.textContent = err.message; }
    });
    const pick = Lab.el('input', null, { type: 'number', min: 0, max: conv.channels - 1, value: channel });
    pick.addEventListener('change', () => pickPixel(id, conv, Number(pick.value)));
    const label = Lab.el('label', `${conv.stage}: channel (0–${conv.channels - 1}) `);
    label.append(pick);
    box.replaceChildren(label, Lab.el('p', `Click a pixel of this ${conv.height}x${conv.width} map to see the arithmetic behind it.`), picture);
    box.scrollIntoView({ block: 'nearest' });
  } catch (err) {
    error.textContent = err.message;
  }
}

document.getElementById('explain-form').addEventListener('submit', e => {
  e.preventDefault();
  const file = e.target.image.files[0];
  if (!file) { document.getElementById('explain-error').textContent = 'choose an image file first'; return; }
  explain(file);
});
document.getElementById('explain-drawing').addEventListener('click', () => canvas.toBlob(blob => explain(blob), 'image/png'));

