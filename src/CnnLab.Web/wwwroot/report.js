'use strict';
// The Report tab: re-run one experiment with its quick budget; its log and end come as events, then the report is reloaded.
const Report = { events: null };

function showRerun(status) {
  const text = status ? `${status.experiment}: ${status.state}${status.message ? ` (${status.message})` : ''}` : '';
  document.getElementById('report-rerun-status').textContent = text;
  for (const b of document.querySelectorAll('#report-experiments button')) b.disabled = status?.state === 'running';
}

function followRerun() {
  if (Report.events) Report.events.close();
  const log = document.getElementById('report-rerun-log');
  log.textContent = '';
  Report.events = new EventSource('/api/report/rerun/events');
  Report.events.addEventListener('status', e => showRerun(JSON.parse(e.data)));
  Report.events.addEventListener('log', e => { log.textContent += JSON.parse(e.data).line + '\n'; });
  Report.events.addEventListener('done', e => {
    Report.events.close();
    showRerun(JSON.parse(e.data));
    Lab.json('/api/info').then(info => {
      if (info.report) document.getElementById('report-status')
        .replaceChildren(Lab.el('a', 'Open the lab report', { href: `/report/index.html?t=${Date.now()}` }));
    }).catch(() => {});
  });
}

async function rerun(name) {
  try {
    showRerun(await Lab.json(`/api/report/experiments/${encodeURIComponent(name)}/rerun`, { method: 'POST' }));
    followRerun();
  } catch (err) {
    document.getElementById('report-rerun-status').textContent = err.message;
  }
}

Lab.ready.then(async () => {
  const list = await Lab.json('/api/report/experiments');
  document.querySelector('#report-experiments tbody').replaceChildren(...list.experiments.map(e => {
    const button = Lab.el('button', 're-run');
    button.addEventListener('click', () => rerun(e.name));
    return Lab.row([e.topic, e.name, e.title, button]);
  }));
  showRerun(list.rerun);
  if (list.rerun?.state === 'running') followRerun();
});
