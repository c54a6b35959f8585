// console.test: drives the web console in Debian's chromium (headless, through playwright-core)
// against the real daemon: starts `inspectd serve` on a free loopback port, opens /, uploads digit
// PNGs, waits for the verdicts and checks that the numbers on the page are the API's answer for the
// same image and settings; uploads a non-PNG and checks the API's error message is shown; checks
// the status strip against /metrics, the graph tab against POST /graph/classify, keyboard use,
// labels, text contrast, and layout at 1280x800 and at a tablet width; then, each with its own
// daemon, a full queue (503 + Retry-After, the page retries) and an API key (the page asks for it
// with the API's 401 message). Every daemon must exit 0 on SIGTERM. Screenshots go to
// $INSPECTD_BUILD/console/; UPDATE_SCREENSHOT=1 also copies the main one to docs/console.png.
//
// Run by tests/browser.sh (which skips when node, npm or chromium is missing). Environment:
//   INSPECTD_BIN     the daemon (default <source>/build/inspectd)
//   INSPECTD_BUILD   where screenshots and the daemon log go (default <source>/build)
//   INSPECTD_MODELS  model folder for the daemon (default: browser.sh makes one)
//   CONSOLE_ITERATIONS, CONSOLE_SEED  search settings typed into the page (default 20, 7)
// Arguments: extra flags for `inspectd serve` (browser.sh passes --graph DIR when it has one).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { digitPng } from './png.mjs';
import {
  FLOAT_RTOL, apiScore, check, contrastFailures, failures, metric, noHorizontalScroll, pngDiff,
  shownMatches, startDaemon, step, stopDaemon, unlabelled,
} from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.env.INSPECTD_SOURCE || path.resolve(here, '../..');
const bin = process.env.INSPECTD_BIN || path.join(source, 'build/inspectd');
const buildDir = process.env.INSPECTD_BUILD || path.join(source, 'build');
const shotDir = path.join(buildDir, 'console');
const modelsDir = process.env.INSPECTD_MODELS || path.join(source, 'models');
const iterations = process.env.CONSOLE_ITERATIONS || '20';
const seed = process.env.CONSOLE_SEED || '7';
const daemonCfg = { bin, modelsDir, logDir: shotDir, args: process.argv.slice(2) };
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/* ---- inputs ---- */

function exampleImages() {
  const dir = path.join(source, 'examples');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.png')).sort() : [];
  if (files.length) return files.slice(0, 2).map((f) => ({ name: f, mimeType: 'image/png', buffer: fs.readFileSync(path.join(dir, f)) }));
  console.log('  (no examples/*.png: using a generated digit)');
  return [{ name: 'seven.png', mimeType: 'image/png', buffer: digitPng() }];
}

/* ---- the test ---- */

async function main() {
  if (!fs.existsSync(bin)) {
    console.log(`FAIL: no daemon at ${bin} (set INSPECTD_BIN)`);
    process.exit(1);
  }
  const daemon = await startDaemon(daemonCfg, 'daemon', []);
  console.log(`daemon at ${daemon.base} with models from ${modelsDir}`);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    await run(browser, daemon.base);
  } finally {
    await stopDaemon(daemon);
  }
  let busy = null;
  try {
    await step('a full queue: the page waits for Retry-After and tries again', async () => {
      busy = await startDaemon(daemonCfg, 'daemon-busy', ['--workers', '1', '--queue', '1', '--max-batch', '1']);
      await fullQueue(browser, busy.base);
    });
  } finally {
    await stopDaemon(busy);
  }
  let keyed = null;
  try {
    await step('a daemon with an API key: the page asks for it and then works', async () => {
      const key = 'console-test-' + process.pid;
      keyed = await startDaemon(daemonCfg, 'daemon-key', ['--api-key', key], key);
      await withKey(browser, keyed.base, key);
    });
  } finally {
    await browser.close();
    await stopDaemon(keyed);
  }
  if (failures()) {
    console.log(`daemon log: ${daemon.logPath}`);
    console.log(`${failures()} check(s) failed`);
    process.exit(1);
  }
  console.log('all browser checks passed');
}

/* One worker and one queue slot, both taken by the test's own slow requests: the page's upload is
 * answered 503 + Retry-After, and the page retries until it is scored. */
async function fullQueue(browser, base) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById('st-ready-text').textContent === 'ready');
  const model = (await (await fetch(base + 'models')).json()).models.find((m) => m.kind === 'anogan');
  const png = digitPng();
  // blockers of about 1.5 s each on this machine: the time of one step from two short searches
  const probe = async (n) => (await apiScore(base, png, { model: model.name, search: 'random', iterations: String(n), seed: '1' })).body.elapsed_ms;
  await probe(10);
  const perStep = Math.max(0.01, ((await probe(120)) - (await probe(20))) / 100);
  const steps = Math.max(50, Math.min(10000, Math.round(1500 / perStep)));
  const slow = { model: model.name, search: 'random', iterations: String(steps), seed: '1' };
  const statuses = [];
  page.on('response', (r) => { if (new URL(r.url()).pathname === '/score') statuses.push(r.status()); });
  /* one running, then one waiting: each only once /metrics shows the previous in place */
  const until = async (name, value) => {
    for (let i = 0; i < 100; i++) {
      if (metric(await (await fetch(base + 'metrics')).text(), name) === value) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  };
  const blockers = [apiScore(base, png, slow)];
  check(await until('inspectd_workers_busy', 1), 'the first slow request runs');
  blockers.push(apiScore(base, png, { ...slow, seed: '2' }));
  check(await until('inspectd_queue_depth', 1), 'the second slow request waits');
  const third = await apiScore(base, png, { ...slow, iterations: '1' });
  check(third.status === 503 && third.body.error.code === 'queue_full', 'the queue is full for a third request', third);
  await page.fill('#iterations', iterations);
  await page.setInputFiles('#files', [{ name: 'busy.png', mimeType: 'image/png', buffer: png }]);
  const card = page.locator('.card').first();
  await page.waitForFunction(() => /queue full, retry/.test(document.querySelector('.card .verdict').textContent), null, { timeout: 10000 })
    .then(() => check(true, 'the card says it will retry'), () => check(false, 'the card says it will retry'));
  await page.waitForFunction(() => document.querySelector('.card').getAttribute('aria-busy') === 'false', null, { timeout: 60000 });
  const blocked = await Promise.all(blockers);
  check(blocked.every((b) => b.status === 200), `the slow requests (${steps} steps) were scored`,
        blocked.map((b) => b.status + ' ' + JSON.stringify(b.body).slice(0, 100)));
  check(statuses[0] === 503 && statuses[statuses.length - 1] === 200, `the page's attempts: ${statuses.join(', ')}`);
  check(await card.getAttribute('data-state') === 'done', 'the upload is scored in the end', await card.locator('.error').textContent());
  await context.close();
}

async function withKey(browser, base, key) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(base);
  await page.locator('#key-form:not([hidden])').waitFor({ timeout: 10000 });
  const r = await fetch(base + 'models');
  const body = await r.json();
  check(r.status === 401, 'the API refuses /models without the key', r.status);
  check((await page.textContent('#key-why')) === body.error.message, 'the key form shows the API\'s 401 message', await page.textContent('#key-why'));
  check(await page.evaluate(() => document.activeElement.id) === 'api-key', 'focus is on the key field');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('st-ready-text').textContent === 'ready', null, { timeout: 10000 });
  check(await page.isHidden('#key-form'), 'the key form closes');
  const list = (await (await fetch(base + 'models', { headers: { Authorization: 'Bearer ' + key } })).json()).models;
  await page.waitForFunction(() => document.getElementById('st-models').textContent !== '–');
  const strip = await page.textContent('#st-models');
  check(list.length > 0 && list.every((m) => strip.includes(m.name)), 'with the key the strip lists the models', strip);
  await page.fill('#iterations', iterations);
  await page.fill('#seed', seed);
  await page.setInputFiles('#files', [{ name: 'keyed.png', mimeType: 'image/png', buffer: digitPng() }]);
  const card = page.locator('.card', { has: page.locator('h3.name', { hasText: 'keyed.png' }) });
  await page.waitForFunction(() => document.querySelector('.card').getAttribute('aria-busy') === 'false', null, { timeout: 120000 });
  check(await card.getAttribute('data-state') === 'done', 'an upload with the key is scored', await card.locator('.error').textContent());
  await context.close();
}

async function run(browser, base) {
  const modelList = (await (await fetch(base + 'models')).json()).models;
  const anogans = modelList.filter((m) => m.kind === 'anogan');
  const anogan = anogans.find((m) => m.default) || anogans[0];
  const gcn = modelList.find((m) => m.kind === 'gcn' && m.graph);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  /* console errors other than the browser's note on each 4xx/5xx answer (a CSP refusal, say) */
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text()); });
  const images = exampleImages();
  /* The settings typed in: the encoder start where there is an encoder (the better picture for
   * docs/console.png with a trained model), else the random start with the seed. */
  const searchFor = (model) => (model.has_encoder ? 'encoder' : 'random');
  const query = (model) => ({ model: model.name, search: searchFor(model), iterations, seed, reconstruction: 'true', anomaly_map: 'true' });

  await step('page loads from the daemon with its status strip', async () => {
    const r = await page.goto(base);
    check(r && r.status() === 200, 'GET / answers 200', r && r.status());
    check((await page.title()).includes('inspectd'), 'title names inspectd');
    await page.waitForFunction(() => document.getElementById('st-updated').textContent !== '');
    check(await page.textContent('#st-ready-text') === 'ready', 'status strip says ready', await page.textContent('#st-ready-text'));
    const strip = await page.textContent('#st-models');
    for (const m of modelList) check(strip.includes(m.name), `status strip lists model ${m.name}`, strip);
    check(await page.getAttribute('#st-queue', 'data-value') !== '', 'queue depth shown');
    const options = await page.locator('#model option').evaluateAll((os) => os.map((o) => o.value));
    check(JSON.stringify(options) === JSON.stringify(anogans.map((m) => m.name)), 'the model list is /models\' AnoGAN models', options);
    check(await page.inputValue('#model') === anogan.name, 'the default model is selected', await page.inputValue('#model'));
  });

  /* Uploads files with the form as it is; returns the page's own /score answers, in any order. */
  async function upload(files) {
    const pending = [];
    const onResponse = (resp) => {
      if (new URL(resp.url()).pathname === '/score' && resp.request().method() === 'POST') {
        pending.push(resp.json().catch(() => null).then((body) => ({ url: resp.url(), status: resp.status(), body })));
      }
    };
    page.on('response', onResponse);
    const before = await page.locator('.card').count();
    await page.setInputFiles('#files', files);
    await page.waitForFunction((n) => document.querySelectorAll('.card[aria-busy="false"]').length >= n,
                               before + files.length, { timeout: 120000 });
    page.off('response', onResponse);
    return Promise.all(pending);
  }
  const cardOf = (name) => page.locator('.card', { has: page.locator('h3.name', { hasText: name }) }).first();

  /* Every number and picture on the card is the page's answer, and that answer is what the API
   * gives for the same bytes and settings. */
  async function checkCard(img, answers, model) {
    const card = cardOf(img.name);
    check(await card.getAttribute('data-state') === 'done', `${img.name}: card done`, await card.getAttribute('data-state'));
    const shown = {};
    for (const k of ['score', 'threshold', 'residual', 'discrimination', 'iterations', 'elapsed_ms']) {
      const f = card.locator(`[data-field="${k}"]`);
      shown[k] = { value: await f.getAttribute('data-value'), text: await f.textContent() };
    }
    const mine = answers.find((a) => a.body && String(a.body.score) === shown.score.value);
    check(!!mine, `${img.name}: the page shows one of its /score answers`, shown.score);
    if (!mine) return;
    const q = new URL(mine.url).searchParams;
    const want = query(model);
    check(Object.keys(want).every((k) => q.get(k) === want[k]), `${img.name}: the page sent the settings chosen`, mine.url);
    for (const k of Object.keys(shown)) {
      const v = mine.body[k];
      check(shown[k].value === (v === null ? '' : String(v)), `${img.name}: ${k} holds the answer's value`, `${shown[k].value} vs ${v}`);
      if (typeof v === 'number') check(shownMatches(shown[k].text, v), `${img.name}: ${k} shown as ${shown[k].text.trim()} rounds ${v}`);
    }
    const verdict = (await card.locator('[data-field="verdict"]').textContent()).trim().toLowerCase();
    const expect = mine.body.anomalous === true ? 'anomalous' : mine.body.anomalous === false ? 'normal' : 'no threshold';
    check(verdict === expect, `${img.name}: verdict "${verdict}" for anomalous=${mine.body.anomalous}`);
    check(await card.getAttribute('data-verdict') === (mine.body.anomalous === null ? 'none' : expect), `${img.name}: card coloured as ${expect}`);
    check((await card.locator('[data-field="model"]').textContent()) === mine.body.model, `${img.name}: model shown`);
    const searchText = await card.locator('[data-field="search"]').textContent();
    const wantSearch = mine.body.search === 'random' ? `random, seed ${mine.body.seed}` : mine.body.search;
    check(searchText === wantSearch, `${img.name}: search shown as "${searchText}"`, wantSearch);
    check((await card.locator('[data-field="details"]').textContent()).includes(`batch of ${mine.body.batch}`), `${img.name}: batch shown`);
    const again = await apiScore(base, img.buffer, want);
    check(again.status === 200, `${img.name}: own POST /score answers 200`, again.status);
    for (const k of ['model', 'search', 'seed', 'max_iterations', 'threshold', 'anomalous', 'iterations', 'width', 'height']) {
      check(again.body[k] !== undefined && again.body[k] === mine.body[k], `${img.name}: ${k} equals the API's answer (${again.body[k]})`,
            `page got ${mine.body[k]}`);
    }
    /* The float terms: equal up to float32 rounding. The page may have been searched in a batch
     * with its other uploads and this request alone; see FLOAT_RTOL. */
    for (const k of ['score', 'residual', 'discrimination']) {
      const a = again.body[k], b = mine.body[k];
      const note = a === b ? 'bit for bit' : `within ${FLOAT_RTOL} (batch ${mine.body.batch} vs ${again.body.batch}: ${b} vs ${a})`;
      check(typeof a === 'number' && Math.abs(a - b) <= FLOAT_RTOL * Math.max(Math.abs(a), Math.abs(b)),
            `${img.name}: ${k} equals the API's answer, ${note}`, `page got ${b}, API ${a}`);
    }
    for (const k of ['reconstruction', 'anomaly_map']) {
      const d = pngDiff(again.body[k + '_png_base64'], mine.body[k + '_png_base64']);
      check(d.same ? true : d.max <= 1, `${img.name}: ${k} PNG equals the API's` + (d.same ? ' byte for byte' : `, pixels within ${d.max}`), d);
    }
    for (const f of ['input', 'reconstruction', 'anomaly_map']) {
      const box = await card.locator(`img[data-field="${f}"]`).evaluate((e) => ({
        w: e.naturalWidth, h: e.naturalHeight, shown: e.getBoundingClientRect().width, alt: e.alt, px: getComputedStyle(e).imageRendering }));
      check(box.w === mine.body.width && box.h === mine.body.height && box.shown >= 112 && box.alt && box.px === 'pixelated',
            `${img.name}: ${f} image ${box.w}x${box.h} shown ${box.shown}px wide, pixelated, with alt text`, box);
    }
    for (const f of ['reconstruction', 'anomaly_map']) {
      const src = await card.locator(`img[data-field="${f}"]`).getAttribute('src');
      check(src === 'data:image/png;base64,' + mine.body[f + '_png_base64'], `${img.name}: the ${f} is the answer's PNG`);
    }
  }

  await step(`upload ${images.length} digit(s), wait for the verdicts, compare with the API`, async () => {
    await page.selectOption('#search', searchFor(anogan));
    await page.fill('#iterations', iterations);
    await page.fill('#seed', seed);
    const answers = await upload(images);
    check(answers.length === images.length, 'one POST /score per image', answers.length);
    for (const img of images) await checkCard(img, answers, anogan);
    await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
    await page.screenshot({ path: path.join(shotDir, 'console-1280.png') }); // the one for docs/
  });

  for (const other of anogans.filter((m) => m !== anogan).slice(0, 1)) {
    await step(`the same digit with model ${other.name}: its threshold, its verdict`, async () => {
      await page.selectOption('#model', other.name);
      await page.selectOption('#search', searchFor(other));
      const img = { ...images[0], name: 'other-' + images[0].name };
      const answers = await upload([img]);
      await checkCard(img, answers, other);
      check(answers[0] && answers[0].body.threshold === other.threshold, 'the threshold is the model\'s', answers[0] && answers[0].body);
      await page.selectOption('#model', anogan.name);
      await page.selectOption('#search', searchFor(anogan));
    });
  }

  await step('status strip agrees with /metrics after scoring', async () => {
    let ok = false, last = '';
    for (let i = 0; i < 5 && !ok; i++) {
      const text = await (await fetch(base + 'metrics')).text();
      const scored = metric(text, 'inspectd_images_scored_total');
      const queue = metric(text, 'inspectd_queue_depth');
      const before = await page.textContent('#st-updated');
      await page.waitForTimeout(1100); // the strip's clock has one-second resolution
      await page.click('#st-refresh');
      await page.waitForFunction((b) => document.getElementById('st-updated').textContent !== b, before, { timeout: 10000 }).catch(() => {});
      const shownScored = await page.getAttribute('#st-scored', 'data-value');
      const shownQueue = await page.getAttribute('#st-queue', 'data-value');
      last = `page scored=${shownScored} queue=${shownQueue}, /metrics scored=${scored} queue=${queue}`;
      ok = shownScored === String(scored) && shownQueue === String(queue);
    }
    check(ok, 'images scored and queue depth equal /metrics', last);
    check(Number(await page.getAttribute('#st-scored', 'data-value')) >= images.length * 2, 'images scored counts our uploads');
  });

  await step('layout, labels and contrast at 1280x800 and at tablet width', async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    check(await noHorizontalScroll(page), 'no horizontal scrolling at 1280x800');
    const contrast = await contrastFailures(page);
    check(contrast.length === 0, 'text contrast >= WCAG AA', contrast);
    check((await unlabelled(page)).length === 0, 'every control has a label', await unlabelled(page));
    await page.setViewportSize({ width: 800, height: 1100 });
    check(await noHorizontalScroll(page), 'no horizontal scrolling at 800px');
    const right = await page.locator('.card[data-state="done"] .figs').first().evaluate((e) => e.getBoundingClientRect().right);
    check(right <= 800, 'all three images fit at 800px', right);
    await page.screenshot({ path: path.join(shotDir, 'console-800.png') });
    check((await contrastFailures(page)).length === 0, 'text contrast >= WCAG AA at 800px', await contrastFailures(page));
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step('a non-PNG upload shows the API\'s error message', async () => {
    const bogus = Buffer.from('this is not a PNG, just text\n');
    await upload([{ name: 'notes.txt', mimeType: 'text/plain', buffer: bogus }]);
    const card = cardOf('notes.txt');
    const api = await apiScore(base, bogus, query(anogan));
    check(api.status === 400 && api.body.error.code === 'bad_png', 'the API rejects it: 400 bad_png', api);
    check((await card.locator('.error .message').textContent()) === api.body.error.message, 'the card shows the API\'s message',
          await card.locator('.error').textContent());
    check(await card.locator('.error').getAttribute('data-status') === '400', 'the card shows the HTTP status');
    check((await card.locator('.error .code').textContent()).includes('bad_png'), 'the card shows the error code');
    check(await card.locator('.error').getAttribute('role') === 'alert', 'the error is announced (role=alert)');
    check(await card.getAttribute('data-state') === 'error', 'card in error state');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(shotDir, 'console-error.png') });
  });

  await step('a refused setting shows the API\'s message too', async () => {
    await page.fill('#iterations', '999999999');
    await upload([{ ...images[0], name: 'too-many-steps.png' }]);
    const api = await apiScore(base, images[0].buffer, { ...query(anogan), iterations: '999999999' });
    const card = cardOf('too-many-steps.png');
    check(api.status >= 400 && api.status < 500, 'the API refuses 999999999 iterations', api.status);
    check((await card.locator('.error .message').textContent()) === api.body.error.message, 'the card shows the API\'s message',
          await card.locator('.error').textContent());
    await page.fill('#iterations', iterations);
  });

  await step('keyboard: tab order reaches the file chooser; arrow keys switch tabs', async () => {
    await page.locator('#seed').focus();
    let reached = false;
    for (let i = 0; i < 5 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'files');
    }
    check(reached, 'Tab from the settings reaches the file chooser');
    await page.locator('#tab-score').focus();
    await page.keyboard.press('ArrowRight');
    check(await page.getAttribute('#tab-graph', 'aria-selected') === 'true', 'ArrowRight selects the graph tab');
    check(await page.isVisible('#panel-graph') && !(await page.isVisible('#panel-score')), 'graph panel shown, score panel hidden');
    check(await page.evaluate(() => document.activeElement.id) === 'tab-graph', 'focus follows the tab');
  });

  await step('graph tab: node ids -> class, probabilities, training flag', async () => {
    const ids = [0, 1, 2707];
    await page.locator('#nodes').focus();
    await page.keyboard.type(ids.join(', '));
    await page.keyboard.press('Enter');
    const r = await fetch(base + 'graph/classify', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ nodes: ids }) });
    const api = await r.json();
    if (!gcn) {
      await page.locator('#graph-error:not([hidden])').waitFor({ timeout: 15000 });
      check(!r.ok && (await page.textContent('#graph-error .message')) === api.error.message, 'without a graph: the API\'s message', api);
      console.log('  (no GCN with a graph loaded: only the refusal is checked)');
      return;
    }
    await page.locator('#graph-table:not([hidden])').waitFor({ timeout: 15000 });
    check(r.ok && api.nodes.length === ids.length, 'the API answers one entry per node', api);
    for (const n of api.nodes || []) {
      const row = page.locator(`#graph-table tr[data-node="${n.id}"]`);
      check(await row.count() === 1, `node ${n.id}: one row`);
      check(await row.locator('td.cls').getAttribute('data-value') === String(n.class), `node ${n.id}: class ${n.class}`);
      const probs = await row.locator('.p').evaluateAll((es) => es.map((e) => e.dataset.value));
      check(JSON.stringify(probs) === JSON.stringify(n.probabilities.map(String)), `node ${n.id}: ${probs.length} probabilities as bars`, { probs, want: n.probabilities });
      check(await row.locator('.best .p').getAttribute('data-value') === String(n.probabilities[n.class]), `node ${n.id}: the predicted class's bar is highlighted`);
      check(await row.locator('td.training').getAttribute('data-value') === String(n.training), `node ${n.id}: training flag ${n.training}`);
    }
    check((await page.textContent('#graph-meta')).includes(api.model), 'the GCN model is named');
    check(await noHorizontalScroll(page), 'no horizontal scrolling on the graph tab');
    check((await contrastFailures(page)).length === 0, 'graph tab text contrast >= WCAG AA', await contrastFailures(page));
    await page.screenshot({ path: path.join(shotDir, 'graph-1280.png') });
    const n = gcn.graph.nodes;
    await page.fill('#nodes', `0, ${n}`);
    await page.press('#nodes', 'Enter');
    const bad = await fetch(base + 'graph/classify', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ nodes: [0, n] }) });
    const badBody = await bad.json();
    await page.locator('#graph-error:not([hidden])').waitFor({ timeout: 15000 });
    check(bad.status === 404 && (await page.textContent('#graph-error .message')) === badBody.error.message,
          `node ${n} (one past the end) shows the API's message`, badBody);
  });

  check(pageErrors.length === 0, 'no JavaScript or console errors on the page', pageErrors);

  if (process.env.UPDATE_SCREENSHOT === '1') {
    fs.copyFileSync(path.join(shotDir, 'console-1280.png'), path.join(source, 'docs/console.png'));
    console.log('copied console-1280.png to docs/console.png');
  }
  console.log(`screenshots in ${shotDir}`);
  await context.close();
}

await main();
