/* status: GET /models (the model pickers, the calibration note) and the status strip from /readyz
 * and /metrics (readiness, queue depth, busy workers, images scored). */
import { $, api, fmt, setNum } from './util.js';

export const METRICS_EVERY_MS = 5000;
let models = [];              /* from GET /models, normalised by normModel */

/* One entry of GET /models ({default, models: [AnoganModel | GcnModel]}, see openapi.yaml). */
function normModel(m) {
  const cal = m.calibration && typeof m.calibration === 'object' ? m.calibration : null;
  return {
    name: String(m.name || ''),
    kind: m.kind === 'gcn' ? 'gcn' : 'anogan',
    isDefault: m.default === true,
    hasEncoder: m.has_encoder === true,
    threshold: typeof m.threshold === 'number' ? m.threshold : null,
    cal,
    defaults: m.default_search && typeof m.default_search === 'object' ? m.default_search : {},
    graph: m.graph && typeof m.graph === 'object' ? m.graph : null,
    raw: m,
  };
}

function describeModel(m) {
  if (m.kind === 'gcn') {
    return m.name + ' (GCN' + (m.graph ? ' on ' + m.graph.name + ', ' + m.graph.nodes + ' nodes' : ', no graph') + ')';
  }
  return m.name + ' (AnoGAN' + (m.threshold !== null ? ', threshold ' + fmt(m.threshold) : ', uncalibrated') + ')';
}

export async function loadModels() {
  const r = await api('models');
  if (!r.ok || !r.data || !Array.isArray(r.data.models)) {
    $('st-models').textContent = r.status === 401 ? '–' : r.error ? r.error.message : 'unavailable';
    return;
  }
  models = r.data.models.map(normModel);
  $('st-models').textContent = models.length ? models.map(describeModel).join(' · ') : 'none loaded';
  $('st-models').title = models.map((m) => m.name + ': sha256 ' + (m.raw.sha256 || '?') +
                                     (m.raw.trained ? ', ' + m.raw.trained : '')).join('\n');
  fillSelect($('model'), models.filter((m) => m.kind === 'anogan'), 'no AnoGAN model loaded');
  const gcns = models.filter((m) => m.kind === 'gcn');
  fillSelect($('graph-model'), gcns, 'no GCN loaded');
  $('graph-model-field').hidden = gcns.length < 2;
  const g = gcns.find((m) => m.isDefault) || gcns[0];
  $('graph-meta').textContent = !g ? 'No GCN is loaded (start the daemon with --gcn and --graph); the daemon will say why a query fails.'
    : g.graph ? 'Graph ' + g.graph.name + ': ' + g.graph.nodes + ' nodes (ids 0 to ' + (g.graph.nodes - 1) + '), ' +
                g.graph.train_nodes + ' training nodes, ' + g.raw.classes + ' classes.'
    : 'GCN ' + g.name + ' has no graph loaded (start the daemon with --graph).';
  onModelChange();
}

/* Options for the models of one kind, the default one first selected; "" when there are none. */
function fillSelect(sel, list, none) {
  const keep = sel.value;
  sel.textContent = '';
  if (!list.length) sel.append(new Option('(' + none + ')', ''));
  for (const m of list) {
    const o = new Option(m.name + (m.isDefault ? ' (default)' : ''), m.name);
    o.selected = m.isDefault;
    sel.append(o);
  }
  if (list.some((m) => m.name === keep)) sel.value = keep;
}

export function selectedModel() {
  return models.find((m) => m.kind === 'anogan' && m.name === $('model').value) || null;
}

/* The search the daemon would run for the current form: what is typed, else the model's defaults. */
function effectiveSearch(m) {
  const d = m ? m.defaults : {};
  let search = $('search').value || d.search || 'auto';
  if (search === 'auto' && m) search = m.hasEncoder ? 'encoder' : 'random';
  const it = $('iterations').value.trim();
  return { search, iterations: it !== '' ? Number(it) : d.iterations };
}

/* A new model: the encoder start only where there is an encoder, its defaults as placeholders. */
export function onModelChange() {
  const m = selectedModel();
  const enc = $('search').querySelector('option[value="encoder"]');
  enc.disabled = !!m && !m.hasEncoder;
  if (enc.disabled && $('search').value === 'encoder') $('search').value = '';
  const d = m ? m.defaults : {};
  const auto = $('search').querySelector('option[value=""]');
  auto.textContent = 'model default' + (d.search ? ' (' + (d.search === 'auto' && m ? (m.hasEncoder ? 'encoder' : 'random') : d.search) + ')' : '');
  $('iterations').placeholder = Number.isInteger(d.iterations) ? String(d.iterations) : 'default';
  updateHint();
}

export function updateHint() {
  const h = $('calib-hint');
  const m = selectedModel();
  h.classList.remove('warn');
  if (!m) { h.textContent = ''; return; }
  if (m.threshold === null) { h.textContent = 'Model ' + m.name + ' has no calibrated threshold: scores only, no verdict.'; return; }
  const c = m.cal || {};
  let t = 'Threshold ' + fmt(m.threshold);
  if (typeof c.percentile === 'number') t += ' = ' + fmt(c.percentile) + 'th percentile';
  if (typeof c.count === 'number') t += ' of ' + c.count + ' normal image' + (c.count === 1 ? '' : 's');
  if (c.search) t += ', scored with ' + c.search + ' start';
  if (Number.isInteger(c.iterations)) t += ', ' + c.iterations + ' iterations';
  t += '.';
  const e = effectiveSearch(m);
  if ((c.search && c.search !== e.search) || (Number.isInteger(c.iterations) && Number.isInteger(e.iterations) && e.iterations !== c.iterations)) {
    t += ' These settings (' + e.search + ', ' + e.iterations + ' iterations) differ, so scores are not strictly comparable with it.';
    h.classList.add('warn');
  }
  h.textContent = t;
}

/* Sum of all samples of the first metric name that matches (labels summed over). */
function metricValue(text, patterns) {
  for (const re of patterns) {
    let found = false, sum = 0;
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m || !re.test(m[1])) continue;
      const v = Number(m[3]);
      if (Number.isFinite(v)) { sum += v; found = true; }
    }
    if (found) return sum;
  }
  return null;
}

export async function refreshStatus() {
  const [ready, metrics] = await Promise.all([api('readyz'), api('metrics')]);
  const dot = $('st-ready');
  if (ready.status === 0) { dot.dataset.state = 'down'; $('st-ready-text').textContent = 'daemon unreachable'; }
  else if (ready.status === 401) { dot.dataset.state = 'busy'; $('st-ready-text').textContent = 'API key needed'; }
  else if (ready.ok) { dot.dataset.state = 'ready'; $('st-ready-text').textContent = 'ready'; }
  else { dot.dataset.state = 'busy'; $('st-ready-text').textContent = 'not ready' + (ready.error ? ': ' + ready.error.message : ''); }
  if (metrics.ok && typeof metrics.data === 'string') {
    const q = metricValue(metrics.data, [/^inspectd_queue_depth$/, /queue_depth$/]);
    const s = metricValue(metrics.data, [/^inspectd_images_scored_total$/, /images_scored(_total)?$/]);
    const busy = metricValue(metrics.data, [/^inspectd_workers_busy$/]);
    const workers = metricValue(metrics.data, [/^inspectd_workers$/]);
    setNum($('st-queue'), q);
    setNum($('st-scored'), s);
    $('st-workers-stat').hidden = busy === null || workers === null;
    $('st-workers').textContent = fmt(busy) + ' of ' + fmt(workers);
  }
  $('st-updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}

/* After a result: refresh the strip once the burst of uploads settles. */
let statusTimer = null;
export function statusSoon() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(refreshStatus, 300);
}
