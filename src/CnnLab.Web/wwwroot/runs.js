'use strict';
// The Runs page: every run folder, and one run's curves, live while a trainer appends to its metrics.jsonl.
const Runs = { current: null, stream: null, metrics: [] };

async function loadRuns() {
  const runs = await Lab.json('/api/runs');
  const body = document.querySelector('#run-list tbody');
  body.replaceChildren(...runs.map(r => {
    const tr = Lab.row([r.name, r.model ?? r.config_error, r.init, r.optimizer, `${r.epochs_done}/${r.epochs ?? '?'}`,
      Lab.percent(r.test_acc), r.writing ? 'training' : r.checkpoint ? 'checkpoint' : '']);
    tr.dataset.run = r.name;
    tr.addEventListener('click', () => openRun(r.name));
    return tr;
  }));
  Explainer.setRuns(runs.filter(r => r.checkpoint).map(r => r.name));
}

function drawRun() {
  const m = Runs.metrics;
  // The count of epochs shown, on the page itself: scripts and tests can wait for the next one.
  document.getElementById('run-detail').dataset.epochs = m.length;
  const pts = key => m.map(e => [e.epoch, Lab.number(e[key])]);
  drawChart(document.getElementById('run-loss'), 'loss', 'epoch',
    [{ name: 'train loss', points: pts('train_loss') }, { name: 'test loss', points: pts('test_loss') }]);
  drawChart(document.getElementById('run-acc'), 'accuracy', 'epoch',
    [{ name: 'train acc', points: pts('train_acc') }, { name: 'test acc', points: pts('test_acc') }]);
}

async function openRun(name) {
  if (Runs.stream) Runs.stream.close();
  Runs.current = name;
  Runs.metrics = [];
  const run = await Lab.json(`/api/runs/${encodeURIComponent(name)}`);
  document.getElementById('run-detail').hidden = false;
  document.getElementById('run-title').textContent = name;
  document.getElementById('run-config').textContent = run.config ? JSON.stringify(run.config, null, 2) : run.config_error;
  const files = document.getElementById('run-files');
  files.replaceChildren('Files: ');
  for (const f of run.files) {
    files.appendChild(Lab.el('a', f, { href: `/api/runs/${encodeURIComponent(name)}/files/${f}`, download: f }));
    files.append(' ');
  }
  document.getElementById('run-confusion').replaceChildren();
  document.getElementById('run-eval-status').textContent = '';
  drawRun();
  // The stream sends every line already written, then each new epoch as it is appended.
  Runs.stream = new EventSource(`/api/runs/${encodeURIComponent(name)}/stream`);
  Runs.stream.addEventListener('reset', () => { Runs.metrics = []; drawRun(); });
  Runs.stream.addEventListener('epoch', e => { Runs.metrics.push(JSON.parse(e.data)); drawRun(); });
}

async function evaluateRun() {
  const status = document.getElementById('run-eval-status');
  const table = document.getElementById('run-confusion');
  status.textContent = 'evaluating…';
  try {
    const r = await Lab.json(`/api/runs/${encodeURIComponent(Runs.current)}/evaluate`, { method: 'POST' });
    status.textContent = `test accuracy ${Lab.percent(r.test_acc)} on ${r.images} images (rows: true class, columns: predicted)`;
    const head = Lab.row(['', ...r.classes]);
    table.replaceChildren(head, ...r.matrix.map((counts, i) => Lab.row([r.classes[i], ...counts])));
  } catch (e) {
    status.textContent = e.message;
  }
}

document.getElementById('run-evaluate').addEventListener('click', evaluateRun);
loadRuns().catch(e => { document.querySelector('#run-list tbody').replaceChildren(Lab.row([e.message])); });
setInterval(() => { if (!document.getElementById('runs').hidden) loadRuns().catch(() => {}); }, 3000);
