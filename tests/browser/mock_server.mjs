// mock_server: a stand-in for the daemon's API, for working on the console page without a built
// daemon (`node mock_server.mjs [port]`, then open the printed URL). Not used by the CTest test,
// which always drives the real daemon. Serves server/console/* and plausible JSON answers.
// `node mock_server.mjs PORT KEY` asks for `Authorization: Bearer KEY` on the API routes.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const consoleDir = path.resolve(here, '../../server/console');
const types = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
let scored = 0;

function json(res, status, obj) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(obj));
}
const error = (res, status, code, message) => json(res, status, { error: { code, message } });

const models = [
  { name: 'mnist-anogan', kind: 'anogan', architecture: { zdim: 20, width: 64, image_size: 64, channels: 1 },
    preprocessing: { resize: 'bicubic', mean: 0.1307, std: 0.3081 }, has_encoder: true,
    calibration: { threshold: 120.5, percentile: 99, count: 1000, search: 'encoder', iterations: 50 },
    threshold: 120.5, sha256: 'ab'.repeat(32) },
  { name: 'cora-gcn', kind: 'gcn', classes: ['Case_Based', 'Genetic_Algorithms', 'Neural_Networks', 'Probabilistic_Methods',
    'Reinforcement_Learning', 'Rule_Learning', 'Theory'], sha256: 'cd'.repeat(32) },
];

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const p = url.pathname === '/' ? '/index.html' : url.pathname;
    if (req.method === 'GET' && types[path.extname(p)] && fs.existsSync(path.join(consoleDir, p))) {
      res.writeHead(200, { 'Content-Type': types[path.extname(p)] });
      return res.end(fs.readFileSync(path.join(consoleDir, p)));
    }
    const key = process.argv[3];
    if (key && !types[path.extname(p)] && p !== '/healthz' && req.headers.authorization !== 'Bearer ' + key) {
      return error(res, 401, 'unauthorized', "missing or wrong API key: send 'Authorization: Bearer <key>'");
    }
    if (p === '/models') return json(res, 200, { models });
    if (p === '/readyz') return json(res, 200, { status: 'ready' });
    if (p === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      return res.end(`# TYPE inspectd_queue_depth gauge\ninspectd_queue_depth 0\n# TYPE inspectd_images_scored_total counter\ninspectd_images_scored_total ${scored}\n`);
    }
    if (p === '/score' && req.method === 'POST') {
      if (body.length < 8 || body.readUInt32BE(0) !== 0x89504e47) return error(res, 400, 'bad_png', 'the body is not a PNG image (bad signature)');
      const h = crypto.createHash('sha256').update(body).update([...url.searchParams].sort().join('&')).digest();
      const score = 60 + (h.readUInt16BE(0) / 65535) * 120;
      scored++;
      const b64 = body.toString('base64');
      return setTimeout(() => json(res, 200, {
        model: 'mnist-anogan', score, residual: score * 0.9, discrimination: score * 1.1, threshold: 120.5,
        anomalous: score > 120.5, iterations: Number(url.searchParams.get('iterations') || 50),
        elapsed_ms: 40 + (h[3] % 50), reconstruction_png_base64: b64, anomaly_map_png_base64: b64,
      }), 200);
    }
    if (p === '/graph/classify' && req.method === 'POST') {
      let q;
      try { q = JSON.parse(body.toString()); } catch { return error(res, 400, 'bad_json', 'the body is not valid JSON'); }
      const bad = (q.nodes || []).find((n) => n >= 2708);
      if (bad !== undefined) return error(res, 422, 'bad_node', `node ${bad} is out of range (graph has 2708 nodes)`);
      return json(res, 200, { model: 'cora-gcn', classes: models[1].classes, nodes: q.nodes.map((id) => {
        const pr = Array.from({ length: 7 }, (_, i) => Math.exp(Math.sin(id * 7 + i) * 3));
        const s = pr.reduce((a, b) => a + b);
        const probabilities = pr.map((v) => v / s);
        const cls = probabilities.indexOf(Math.max(...probabilities));
        return { id, class: cls, class_name: models[1].classes[cls], probabilities, training: id < 140 };
      }) });
    }
    return error(res, 404, 'not_found', `no route for ${req.method} ${p}`);
  });
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}/`));
