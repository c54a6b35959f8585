/* inspectd console: the page's entry point (an ES module; the others are imported from it).
 * Reads /models, /metrics and /readyz for the status strip (status.js), sends each dropped PNG to
 * POST /score and shows input, reconstruction, anomaly map and verdict (score.js); the graph tab
 * calls POST /graph/classify (graph.js). All URLs are relative so the page also works behind a
 * proxy under a sub-path. Every API failure is shown as the API's own error message
 * ({"error": {"code", "message"}}), never as a blank card. */
import { $, apiKey, el, setApiKey } from './util.js';
import { METRICS_EVERY_MS, loadModels, onModelChange, refreshStatus, updateHint } from './status.js';
import { addFiles } from './score.js';
import { classify } from './graph.js';

/* ---- tabs (WAI-ARIA tabs pattern: arrows move, Home/End jump) ---- */

function selectTab(tab, focus) {
  for (const t of document.querySelectorAll('[role="tab"]')) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
  history.replaceState(null, '', tab.id === 'tab-graph' ? '#graph' : '#score');
}

function initTabs() {
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  for (const t of tabs) {
    t.addEventListener('click', () => selectTab(t, false));
    t.addEventListener('keydown', (ev) => {
      const i = tabs.indexOf(t);
      let j = null;
      if (ev.key === 'ArrowRight') j = (i + 1) % tabs.length;
      else if (ev.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
      else if (ev.key === 'Home') j = 0;
      else if (ev.key === 'End') j = tabs.length - 1;
      if (j === null) return;
      ev.preventDefault();
      selectTab(tabs[j], true);
    });
  }
  if (location.hash === '#graph') selectTab($('tab-graph'), false);
}

/* ---- wiring ---- */

function init() {
  const live = el('div', 'visually-hidden');
  live.id = 'announce';
  live.setAttribute('aria-live', 'polite');
  document.body.append(live);
  initTabs();
  $('files').addEventListener('change', (ev) => { addFiles(ev.target.files); ev.target.value = ''; });
  const drop = $('drop');
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => { ev.preventDefault(); drop.classList.remove('over'); addFiles(ev.dataTransfer.files); });
  /* a file dropped beside the zone must not navigate away from the page */
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => ev.preventDefault());
  $('model').addEventListener('change', onModelChange);
  $('search').addEventListener('change', updateHint);
  $('iterations').addEventListener('input', updateHint);
  $('score-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('graph-form').addEventListener('submit', classify);
  $('clear').addEventListener('click', () => {
    for (const img of $('results').querySelectorAll('img[src^="blob:"]')) URL.revokeObjectURL(img.src);
    $('results').textContent = '';
    $('results-empty').hidden = false;
  });
  $('st-refresh').addEventListener('click', () => { loadModels(); refreshStatus(); });
  $('key-toggle').hidden = !apiKey();
  $('key-toggle').addEventListener('click', () => {
    const open = $('key-form').hidden;
    $('key-form').hidden = !open;
    $('key-toggle').setAttribute('aria-expanded', String(open));
    if (open) $('api-key').focus();
  });
  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setApiKey($('api-key').value.trim());
    $('api-key').value = '';
    $('key-why').textContent = '';
    $('key-form').hidden = true;
    $('key-toggle').hidden = !apiKey();
    $('key-toggle').setAttribute('aria-expanded', 'false');
    loadModels();
    refreshStatus();
  });
  $('key-forget').addEventListener('click', () => {
    setApiKey('');
    $('key-why').textContent = 'Key forgotten.';
  });
  loadModels();
  refreshStatus();
  setInterval(() => { if (!document.hidden) refreshStatus(); }, METRICS_EVERY_MS);
}

init(); /* a module runs after the document is parsed */
