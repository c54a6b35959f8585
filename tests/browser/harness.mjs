// harness: what the browser test needs besides the browser: a check/step reporter that counts
// failures, the daemon on a free loopback port (started from flags only, stopped with SIGTERM and
// a check of its exit status), the API called directly, Prometheus text, PNG comparison, and page
// checks for layout, labels and WCAG text contrast.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { decodePng } from './png.mjs';

let failures_ = 0;
export function check(cond, what, detail) {
  if (cond) {
    console.log('  ok   ' + what);
  } else {
    failures_++;
    console.log('  FAIL ' + what + (detail !== undefined ? ': ' + (typeof detail === 'string' ? detail : JSON.stringify(detail)) : ''));
  }
}
export async function step(name, fn) {
  console.log('# ' + name);
  try {
    await fn();
  } catch (e) {
    failures_++;
    console.log('  FAIL ' + name + ' threw: ' + (e && e.stack ? e.stack : e));
  }
}


/* Checks failed so far. */
export const failures = () => failures_;
/* ---- the daemon ---- */

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/* The daemon's own configuration variables (INSPECTD_PORT, INSPECTD_API_KEY, ...) from the
 * caller's shell must not change what the test starts: everything comes from flags. */
function daemonEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INSPECTD_')) env[k] = v;
  return env;
}

/* d: {bin, modelsDir, logDir, args (extra flags for every daemon)}. Resolves to {child, base, logPath}
 * once /readyz answers 200 (with the key when given); retries a port lost to a race. */
export async function startDaemon(d, name, flags, key) {
  const { bin, modelsDir, logDir: shotDir, args: extraArgs } = d;
  fs.mkdirSync(shotDir, { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const logPath = path.join(shotDir, name + '.log');
    const log = fs.openSync(logPath, 'w');
    const child = spawn(bin, ['serve', '--bind', '127.0.0.1', '--port', String(port), '--models', modelsDir,
      '--workers', '2', ...extraArgs, ...flags], { stdio: ['ignore', log, log], env: daemonEnv() });
    fs.closeSync(log);
    let exited = null;
    child.on('exit', (code, sig) => { exited = { code, sig }; });
    const base = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline && !exited) {
      try {
        const r = await fetch(base + 'readyz', { headers: key ? { Authorization: 'Bearer ' + key } : {} });
        if (r.ok) return { child, base, logPath };
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!exited) child.kill('SIGKILL');
    const text = fs.readFileSync(logPath, 'utf8');
    console.log(`daemon did not become ready on port ${port} (${exited ? 'exit ' + JSON.stringify(exited) : 'timeout'}):\n${text}`);
    if (!/address already in use|bind/i.test(text)) break; // retry only a lost port race
  }
  throw new Error('the daemon did not start');
}

/* SIGTERM, then a check that it stopped cleanly (exit 0: under ASan a leak or error fails it). */
export async function stopDaemon(d) {
  if (!d) return;
  if (d.child.exitCode === null && d.child.signalCode === null) {
    const done = new Promise((r) => d.child.on('exit', r));
    d.child.kill('SIGTERM');
    const t = setTimeout(() => d.child.kill('SIGKILL'), 30000);
    await done;
    clearTimeout(t);
  }
  check(d.child.exitCode === 0, `${path.basename(d.logPath, '.log')} exits 0 on SIGTERM`,
        `exit ${d.child.exitCode} signal ${d.child.signalCode}; see ${d.logPath}`);
}

/* The score the API gives for these bytes with the settings the page was given. */
export async function apiScore(base, buffer, query) {
  const r = await fetch(base + 'score?' + new URLSearchParams(query), {
    method: 'POST', headers: { 'Content-Type': 'image/png' }, body: buffer,
  });
  return { status: r.status, body: await r.json() };
}

export function metric(text, name) {
  let sum = null;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum = (sum || 0) + Number(m[3]);
  }
  return sum;
}

/* Relative tolerance between the page's answer and the test's own answer for the same image and
 * settings. The API promises the same score whatever the batch, and score and residual do come
 * back bit for bit; the discrimination term of an image searched in a batch of two was seen to
 * differ from the image alone in the 8th significant digit (float32 summation order in the
 * batched feature pass), so floats are compared to a few float32 ulps. */
export const FLOAT_RTOL = 1e-6;

/* Largest per-channel difference between two base64 PNGs of the same size (Infinity if not). */
export function pngDiff(a64, b64) {
  if (typeof a64 !== 'string' || typeof b64 !== 'string') return { same: false, max: Infinity };
  if (a64 === b64) return { same: true, max: 0 };
  const a = decodePng(Buffer.from(a64, 'base64')), b = decodePng(Buffer.from(b64, 'base64'));
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) return { same: false, max: Infinity };
  let max = 0;
  for (let i = 0; i < a.pixels.length; i++) max = Math.max(max, Math.abs(a.pixels[i] - b.pixels[i]));
  return { same: false, max };
}

/* Decimals shown must round the API's value: |shown - value| <= half a unit of the last digit. */
export function shownMatches(text, value) {
  const m = /-?\d+(\.(\d+))?/.exec(text || '');
  if (!m) return false;
  const decimals = m[2] ? m[2].length : 0;
  return Math.abs(Number(m[0]) - value) <= 0.5 * 10 ** -decimals + 1e-12;
}

/* ---- page checks shared by several steps ---- */

export async function noHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
}

/* Every visible text node's colour against the first opaque background behind it: WCAG 2.x ratio
 * >= 4.5 (3 for large text). Returns the failures. */
export async function contrastFailures(page) {
  return page.evaluate(() => {
    const lum = (c) => {
      const [r, g, b] = c.slice(0, 3).map((v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const rgba = (s) => (s.match(/[\d.]+/g) || []).map(Number).concat([1]).slice(0, 4);
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c[3] > 0.9) return c;
      }
      return [255, 255, 255, 1];
    };
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el || !el.checkVisibility({ visibilityProperty: true })) continue;
      const cs = getComputedStyle(el);
      if (cs.clip === 'rect(0px, 0px, 0px, 0px)' || el.closest('.visually-hidden')) continue;
      const fg = rgba(cs.color), bg = bgOf(el);
      const l1 = lum(fg), l2 = lum(bg);
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      if (ratio < need) out.push(`"${n.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)} < ${need}`);
    }
    return out;
  });
}

/* Form controls without an accessible name (label, aria-label(ledby) or text). */
export async function unlabelled(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('input, select, button, textarea'))
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') &&
                   !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
    .map((e) => e.id || e.outerHTML.slice(0, 60)));
}

