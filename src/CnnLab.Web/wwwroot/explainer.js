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
    document.getElementById('explain-maps').replaceChildren(...r.stages.map(s => {
      const figure = Lab.el('figure');
      figure.append(Lab.el('img', null, { src: s.url, alt: s.stage }), Lab.el('figcaption', s.stage));
      return figure;
    }));
  } catch (e) {
    error.textContent = e.message;
  }
}

document.getElementById('explain-form').addEventListener('submit', e => {
  e.preventDefault();
  const file = e.target.image.files[0];
  if (!file) { document.getElementById('explain-error').textContent = 'choose an image file first'; return; }
  explain(file);
});
document.getElementById('explain-drawing').addEventListener('click', () => canvas.toBlob(blob => explain(blob), 'image/png'));

