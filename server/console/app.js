/* inspectd console: the page's behaviour. Reads /models, /metrics and /readyz for the status strip,
 * sends each dropped PNG to POST /score (PNG body, settings as query parameters) and shows input,
 * reconstruction, anomaly map and verdict; the graph tab calls POST /graph/classify. All URLs are
 * relative so the page also works behind a proxy under a sub-path. Every API failure is shown as
 * the API's own error message ({"error": {"code", "message"}}), never as a blank card. */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const MAX_PARALLEL = 2;       /* uploads in flight at once; the daemon queues the rest */
  const MAX_RETRIES_503 = 5;    /* queue full: retry after Retry-After, at most this often */
  const METRICS_EVERY_MS = 5000;

  let models = [];              /* from GET /models, normalised by normModel */
  const KEY_STORE = 'inspectd.api_key';

  /* ---- API key: only when the daemon was started with one (it answers 401) ---- */

  function apiKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (e) { return ''; }
  }
  function setApiKey(k) {
    try { if (k) sessionStorage.setItem(KEY_STORE, k); else sessionStorage.removeItem(KEY_STORE); } catch (e) { /* storage off */ }
  }
  function showKeyForm(why) {
    $('key-form').hidden = false;
    $('key-toggle').hidden = false;
    $('key-toggle').setAttribute('aria-expanded', 'true');
    $('key-why').textContent = why || '';
    if (why) $('api-key').focus();
  }

  /* ---- HTTP ---- */

  /* fetch that never throws: {ok, status, data (parsed JSON or text), error {code, message}, headers} */
  async function api(path, opts) {
    let res;
    const o = Object.assign({ cache: 'no-store' }, opts || {});
    const key = apiKey();
    if (key) o.headers = Object.assign({}, o.headers || {}, { Authorization: 'Bearer ' + key });
    try {
      res = await fetch(path, o);
    } catch (e) {
      return { ok: false, status: 0, data: null, headers: null,
               error: { code: 'network', message: 'Cannot reach the daemon (' + e.message + ')' } };
    }
    const type = res.headers.get('Content-Type') || '';
    let data = null;
    try {
      data = type.includes('json') ? await res.json() : await res.text();
    } catch (e) {
      data = null;
    }
    let error = null;
    if (!res.ok) {
      const e = data && typeof data === 'object' && data.error ? data.error : null;
      error = {
        code: e && e.code ? String(e.code) : 'http_' + res.status,
        message: e && e.message ? String(e.message)
                 : 'HTTP ' + res.status + ' ' + (res.statusText || '') + ' (no error message from the daemon)',
      };
      if (res.status === 401) showKeyForm(error.message);
    }
    return { ok: res.ok, status: res.status, data, error, headers: res.headers };
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /* ---- formatting ---- */

  function fmt(v) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return v.toFixed(a >= 100 ? 2 : a >= 1 ? 3 : 4);
  }
  /* Shows v (rounded: fmt, or to `decimals`) and keeps the exact value in data-value. */
  function setNum(el, v, suffix, decimals) {
    el.dataset.value = v === undefined || v === null ? '' : String(v);
    const text = decimals !== undefined && typeof v === 'number' && Number.isFinite(v) ? v.toFixed(decimals) : fmt(v);
    el.textContent = text + (suffix && typeof v === 'number' ? suffix : '');
  }
  function fmtRatio(r) {
    return r < 0.01 ? 'less than 0.01×' : r >= 100 ? Math.round(r) + '×' : r.toFixed(2) + '×';
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function announce(text) {
    const a = $('announce');
    a.textContent = '';
    setTimeout(() => { a.textContent = text; }, 50);
  }

  /* ---- models and status strip ---- */

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

  async function loadModels() {
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

  function selectedModel() {
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
  function onModelChange() {
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

  function updateHint() {
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

  async function refreshStatus() {
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
  function statusSoon() {
    clearTimeout(statusTimer);
    statusTimer = setTimeout(refreshStatus, 300);
  }

  /* ---- scoring ---- */

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

  function addFiles(fileList) {
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
    announce(name + ': ' + v.textContent + ', score ' + fmt(d.score));
  }

  /* ---- graph tab ---- */

  async function classify(ev) {
    ev.preventDefault();
    const errP = $('graph-error');
    errP.hidden = true;
    const raw = $('nodes').value.trim();
    const tokens = raw ? raw.split(/[\s,;]+/).filter(Boolean) : [];
    const bad = tokens.find((t) => !/^\d+$/.test(t));
    if (!tokens.length || bad !== undefined) {
      showGraphError({ code: 'input', message: tokens.length ? '"' + bad + '" is not a node id (ids are whole numbers).' : 'Type one or more node ids.' }, 0);
      $('nodes').focus();
      return;
    }
    const body = { nodes: tokens.map(Number) };
    if ($('graph-model').value) body.model = $('graph-model').value;
    $('classify').disabled = true;
    const r = await api('graph/classify', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    $('classify').disabled = false;
    if (!r.ok || !r.data || typeof r.data !== 'object') {
      showGraphError(r.error || { code: 'bad_answer', message: 'The daemon answered without JSON.' }, r.status);
      return;
    }
    /* d: GraphResult {model, graph, classes (a count), nodes: [{id, class, probabilities, training}]} */
    const d = r.data;
    const list = Array.isArray(d.nodes) ? d.nodes : [];
    const tbody = $('graph-table').querySelector('tbody');
    tbody.textContent = '';
    for (const n of list) {
      const probs = Array.isArray(n.probabilities) ? n.probabilities : [];
      const tr = el('tr');
      tr.dataset.node = String(n.id);
      const cls = el('td', 'cls', String(n.class));
      cls.dataset.value = String(n.class);
      tr.append(el('td', 'id', String(n.id)), cls);
      const pd = el('div', 'probs');
      probs.forEach((p, i) => {
        const row = el('div', i === n.class ? 'best' : '');
        const bar = el('span', 'bar');
        const fill = el('span');
        fill.style.width = Math.max(0, Math.min(1, p)) * 100 + '%';
        bar.append(fill);
        bar.setAttribute('role', 'img');
        bar.setAttribute('aria-label', 'class ' + i + ': ' + (p * 100).toFixed(1) + ' percent');
        const pv = el('span', 'p', (p * 100).toFixed(1) + '%');
        pv.dataset.value = String(p);
        row.append(el('span', 'cname', 'class ' + i), bar, pv);
        pd.append(row);
      });
      const ptd = el('td');
      ptd.append(pd);
      const ttd = el('td', 'training');
      ttd.dataset.value = String(n.training);
      ttd.append(el('span', 'tag ' + (n.training ? 'yes' : 'no'), n.training ? 'yes: training node' : 'no'));
      tr.append(ptd, ttd);
      tbody.append(tr);
    }
    $('graph-table').hidden = false;
    $('graph-meta').textContent = 'Model ' + d.model + (d.graph ? ' on graph ' + d.graph : '') + ': ' +
      list.length + ' node' + (list.length === 1 ? '' : 's') + ' classified into ' + d.classes + ' classes.';
    announce(list.length + ' nodes classified');
  }

  function showGraphError(e, status) {
    const p = $('graph-error');
    p.textContent = '';
    p.append(el('span', 'message', e.message), ' ', el('span', 'code', '(' + (status ? 'HTTP ' + status + ', ' : '') + e.code + ')'));
    p.hidden = false;
    $('graph-table').hidden = true;
  }

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

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
