'use strict';
// Shared helpers and the tabs. Every request goes to this server, which knows the page by its token cookie.
const Lab = {
  async json(url, options) {
    const response = await fetch(url, options);
    const text = await response.text();
    if (!response.ok) throw new Error(text.trim() || `${response.status} ${response.statusText}`);
    return JSON.parse(text);
  },
  el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  },
  row(cells) {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c ?? '';
      tr.appendChild(td);
    }
    return tr;
  },
  percent: v => (v === null || v === undefined || typeof v !== 'number') ? '' : (v * 100).toFixed(2) + '%',
  number: v => (typeof v === 'number' && isFinite(v)) ? v : null,
  info: null,
  ready: null,
};

function showTab(name) {
  for (const s of document.querySelectorAll('section.tab')) s.hidden = s.id !== name;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.tab === name);
}

window.addEventListener('hashchange', () => showTab(location.hash.slice(1) || 'runs'));
Lab.ready = Lab.json('/api/info').then(info => {
  Lab.info = info;
  document.getElementById('info').textContent = `${info.data} · runs: ${info.runs} · jobs at once: ${info.jobs}`;
  const status = document.getElementById('report-status');
  if (info.report) status.replaceChildren(Lab.el('a', 'Open the lab report', { href: '/report/index.html' }));
  else status.textContent = 'No lab report found: write one with "cnnlab lab", then serve it with --report DIR.';
  return info;
});
showTab(location.hash.slice(1) || 'runs');
