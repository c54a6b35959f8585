/* score: the score tab. Each dropped or chosen file becomes a card; uploads go to POST /score as
 * PNG bodies with the settings in the query (openapi.yaml), at most MAX_PARALLEL at a time so the
 * console never floods a daemon that serves a line; a full queue (503) is retried after
 * Retry-After. A card shows input, G(z), anomaly map, verdict and every number of the answer, or
 * the API's error message. */
import { $, api, announce, el, fmt, fmtRatio, setNum, sleep } from './util.js';
import { statusSoon } from './status.js';

const MAX_PARALLEL = 2;       /* uploads in flight at once; the daemon queues the rest */
const MAX_RETRIES_503 = 5;    /* queue full: retry after Retry-After, at most this often */

function settings() {
  const s = {};
  if ($('model').value) s.model = $('model').value;
  if ($('search').value) s.search = $('search').value;
  for (const k of ['iterations', 'seed']) {
    const v = $(k).value.trim();
    if (v !== '') s[k] = v;
  }
  return s;
}

const queue = [];
let running = 0;

export function addFiles(fileList) {
  const files = Array.from(fileList || []);
  if (!files.length) return;
  const s = settings();
  const batch = document.createDocumentFragment(); /* newest drop on top, in file order */
  for (const f of files) {
    const card = newCard(f);
    batch.append(card);
    queue.push({ file: f, settings: s, card });
  }
  $('results').prepend(batch);
  $('results-empty').hidden = true;
  pump();
}

function pump() {
  while (running < MAX_PARALLEL && queue.length) {
    const job = queue.shift();
    running++;
    scoreOne(job).finally(() => { running--; pump(); statusSoon(); });
  }
}

function field(card, name) { return card.querySelector('[data-field="' + name + '"]'); }

function newCard(file) {
  const card = $('card-template').content.firstElementChild.cloneNode(true);
  card.querySelector('.name').textContent = file.name || 'image';
  const input = field(card, 'input');
  input.alt = 'Input image ' + (file.name || '');
  input.onerror = () => { input.removeAttribute('src'); input.alt = 'cannot display ' + (file.name || 'this file'); };
  input.src = URL.createObjectURL(file);
  return card;
}

async function scoreOne(job) {
  const { file, settings: s, card } = job;
  const q = new URLSearchParams(Object.assign({}, s, { reconstruction: 'true', anomaly_map: 'true' }));
  let r;
  for (let attempt = 0; ; attempt++) {
    r = await api('score?' + q.toString(), { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: file });
    if (r.status !== 503 || attempt >= MAX_RETRIES_503) break;
    const wait = Math.min(10, Math.max(1, Number(r.headers && r.headers.get('Retry-After')) || 1));
    field(card, 'verdict').textContent = 'queue full, retry in ' + wait + ' s';
    await sleep(wait * 1000);
  }
  card.setAttribute('aria-busy', 'false');
  if (!r.ok || !r.data || typeof r.data !== 'object') {
    showCardError(card, r);
    return;
  }
  showResult(card, r.data);
}

function showCardError(card, r) {
  const e = r.error || { code: 'bad_answer', message: 'The daemon answered without JSON.' };
  card.dataset.state = 'error';
  field(card, 'verdict').textContent = 'error';
  card.querySelector('.figs').hidden = !field(card, 'input').getAttribute('src');
  field(card, 'reconstruction').closest('figure').hidden = true;
  field(card, 'anomaly_map').closest('figure').hidden = true;
  card.querySelector('.meter').hidden = true;
  card.querySelector('.nums').hidden = true;
  const p = card.querySelector('.error');
  p.hidden = false;
  p.textContent = '';
  p.append(el('span', 'message', e.message), ' ', el('span', 'code', '(' + (r.status ? 'HTTP ' + r.status + ', ' : '') + e.code + ')'));
  p.dataset.code = e.code;
  p.dataset.status = String(r.status);
  announce(card.querySelector('.name').textContent + ': error: ' + e.message);
}

/* d: the ScoreResult (SearchUsed + ImageScore in openapi.yaml). */
function showResult(card, d) {
  const name = card.querySelector('.name').textContent;
  card.dataset.state = 'done';
  for (const k of ['score', 'threshold', 'residual', 'discrimination', 'iterations']) setNum(field(card, k), d[k]);
  setNum(field(card, 'elapsed_ms'), d.elapsed_ms, ' ms', 1);
  field(card, 'model').textContent = d.model || '–';
  field(card, 'search').textContent = (d.search || '–') + (d.search === 'random' && d.seed !== undefined ? ', seed ' + d.seed : '');
  const extra = [];
  if (Number.isInteger(d.max_iterations)) extra.push('at most ' + d.max_iterations + ' steps');
  if (typeof d.queue_ms === 'number') extra.push('queued ' + d.queue_ms.toFixed(1) + ' ms');
  if (Number.isInteger(d.batch)) extra.push('batch of ' + d.batch);
  if (Number.isInteger(d.width) && Number.isInteger(d.height)) extra.push(d.width + '×' + d.height + ' px');
  field(card, 'details').textContent = extra.join(' · ');
  for (const [k, label] of [['reconstruction', 'Reconstruction of '], ['anomaly_map', 'Anomaly map of ']]) {
    const b64 = d[k + '_png_base64'];
    const img = field(card, k);
    if (b64) { img.src = 'data:image/png;base64,' + b64; img.alt = label + name; }
    else { img.removeAttribute('src'); img.alt = ''; img.closest('figure').hidden = true; }
  }
  const v = field(card, 'verdict');
  const hasThr = typeof d.threshold === 'number';
  const meter = card.querySelector('.meter');
  if (d.anomalous === true || d.anomalous === false) {
    card.dataset.verdict = d.anomalous ? 'anomalous' : 'normal';
    v.textContent = d.anomalous ? 'Anomalous' : 'Normal';
  } else {
    card.dataset.verdict = 'none';
    v.textContent = 'No threshold';
  }
  v.dataset.value = String(d.anomalous);
  const side = d.anomalous ? ': above it, anomalous.' : ': not above it, normal.';
  if (hasThr && d.threshold > 0 && Number.isFinite(d.score / d.threshold)) {
    /* the bar spans 0 to twice the threshold; the mark in the middle is the threshold */
    const ratio = d.score / d.threshold;
    meter.querySelector('.fill').style.width = Math.min(100, Math.max(0, ratio * 50)) + '%';
    field(card, 'ratio').textContent = 'Score ' + fmt(d.score) + ' is ' + fmtRatio(ratio) + ' the threshold ' + fmt(d.threshold) + side;
  } else if (hasThr) {
    meter.hidden = true;
    field(card, 'ratio').textContent = 'Score ' + fmt(d.score) + ' against the threshold ' + fmt(d.threshold) + side;
  } else {
    meter.hidden = true;
    field(card, 'ratio').textContent = 'This model has no calibrated threshold, so there is no verdict.';
  }
  /* the line's verdict (OK / NOT_OK / NOT_DECIDABLE in the band) and the defect regions */
  const ev = field(card, 'evaluation');
  ev.textContent = (d.evaluation || '–').replace('_', ' ') +
    (d.band && d.band.low !== d.band.high ? ' (band ' + fmt(d.band.low) + '–' + fmt(d.band.high) + ')' : '');
  ev.dataset.value = d.evaluation || '';
  const regions = Array.isArray(d.regions) ? d.regions : [];
  setNum(field(card, 'regions'), Number.isInteger(d.regions_total) ? d.regions_total : regions.length);
  const overlay = field(card, 'regions_overlay');
  overlay.querySelectorAll('.box').forEach((b) => b.remove());
  if (Number.isInteger(d.width) && Number.isInteger(d.height) && d.width > 0 && d.height > 0 && d.anomaly_map_png_base64) {
    for (const r of regions) {
      const b = el('span', 'box');
      b.style.left = (100 * r.x / d.width) + '%';
      b.style.top = (100 * r.y / d.height) + '%';
      b.style.width = (100 * r.width / d.width) + '%';
      b.style.height = (100 * r.height / d.height) + '%';
      b.title = r.area + ' px, peak ' + fmt(r.peak);
      overlay.append(b);
    }
  }
  announce(name + ': ' + v.textContent + ', score ' + fmt(d.score));
}
