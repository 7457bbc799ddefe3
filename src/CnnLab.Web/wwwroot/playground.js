'use strict';
// The Playground: start training jobs, follow each one's events, overlay their curves, stop them.
const Play = { jobs: new Map() };

function fillSelect(select, values, chosen) {
  select.replaceChildren(...values.map(v => Lab.el('option', v, v === chosen ? { value: v, selected: '' } : { value: v })));
}

function drawJobs() {
  const jobs = [...Play.jobs.values()];
  drawChart(document.getElementById('play-loss'), 'training loss (running mean over the epoch)', 'step',
    jobs.map(j => ({ name: j.label, points: j.points.map(p => [p.step, p.loss]) })));
  drawChart(document.getElementById('play-acc'), 'training accuracy', 'step',
    jobs.map(j => ({ name: j.label, points: j.points.map(p => [p.step, p.acc]) })));
}

function showJobs() {
  const body = document.querySelector('#job-list tbody');
  body.replaceChildren(...[...Play.jobs.values()].map((j, i) => {
    const d = j.status;
    const state = d.state === 'queued' ? `queued (place ${d.position})` : d.message ? `${d.state}: ${d.message}` : d.state;
    const action = (name, enabled) => {
      const button = Lab.el('button', name);
      button.disabled = !enabled;
      button.addEventListener('click', () => Lab.json(`/api/jobs/${d.id}/${name}`, { method: 'POST' }).catch(e => alert(e.message)));
      return button;
    };
    const stop = action('stop', ['queued', 'running', 'paused'].includes(d.state));
    // Pause stops with a checkpoint as Stop does; Resume continues the same run folder, and the curve goes on from its step.
    const pause = d.state === 'paused' ? action('resume', true) : action('pause', d.state === 'running');
    const buttons = Lab.el('span');
    buttons.append(pause, stop);
    const swatch = Lab.el('span', '', { class: 'swatch', style: `background:${Palette[i % Palette.length]}` });
    return Lab.row([swatch, d.run, d.model, d.init, d.optimizer, d.lr, state, `${d.steps}/${d.total_steps}`, buttons]);
  }));
}

// The init doctor's numbers of the job that reported last: per weight layer, measured on 64 test images.
function showLayers(job, report) {
  const fixed = v => (typeof v === 'number') ? v.toPrecision(3) : '';
  document.getElementById('layers-title').textContent =
    `Layers of job ${job.status.id} ${report.epoch === 0 ? 'before training' : `after epoch ${report.epoch}`} (step ${report.step})`;
  const head = Lab.row(['layer', 'activation', 'activation std', 'weight grad std', 'dead ReLUs', 'update:weight since last']);
  document.getElementById('play-layers').replaceChildren(head, ...report.layers.map(l =>
    Lab.row([l.name, l.activation, fixed(l.activation_std), fixed(l.grad_std), l.dead === null ? '' : Lab.percent(l.dead), fixed(l.update_ratio)])));
}

function follow(status) {
  const job = { status, points: [], label: `${status.id}: ${status.model} ${status.init} ${status.optimizer} lr ${status.lr}` };
  Play.jobs.set(status.id, job);
  const events = new EventSource(`/api/jobs/${status.id}/events`);
  events.addEventListener('status', e => { job.status = JSON.parse(e.data); showJobs(); });
  events.addEventListener('layers', e => showLayers(job, JSON.parse(e.data)));
  events.addEventListener('batch', e => { job.points.push(JSON.parse(e.data)); job.status.steps = job.points.at(-1).step; drawJobs(); });
  // A finished job's run folder has its checkpoint: the Runs list and the Explainer's choice of runs show it now.
  events.addEventListener('done', () => { events.close(); showJobs(); loadRuns().catch(() => {}); });
  showJobs();
}

document.getElementById('play-form').addEventListener('submit', async e => {
  e.preventDefault();
  const error = document.getElementById('play-error');
  error.textContent = '';
  const body = Object.fromEntries(new FormData(e.target).entries());
  if (body.spec && body.spec.trim()) delete body.model;   // a pasted spec is the model
  try {
    const status = await Lab.json('/api/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    follow(status);
  } catch (err) {
    error.textContent = err.message;
  }
});

Lab.ready.then(async info => {
  const form = document.getElementById('play-form');
  fillSelect(form.model, info.models, info.defaults.model);
  fillSelect(form.init, info.inits, info.defaults.init);
  fillSelect(form.optimizer, info.optimizers, info.defaults.optimizer);
  fillSelect(form.pool, info.pools, info.defaults.pool);
  fillSelect(form.relu_order, info.relu_orders, info.defaults.relu_order);
  for (const status of await Lab.json('/api/jobs')) follow(status);
});
