/* graph: the graph tab. Node ids -> POST /graph/classify -> one row per node with the class, the
 * class probabilities as bars and the training flag (GraphResult in openapi.yaml). */
import { $, announce, api, el } from './util.js';

export async function classify(ev) {
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
