/* util: what every part of the console shares: element lookup, the fetch wrapper that turns any
 * failure into the API's {"error": {"code", "message"}} shape, the API key (kept in this tab's
 * sessionStorage, sent as a bearer token), number formatting and the screen-reader announcer. */
export const $ = (id) => document.getElementById(id);
const KEY_STORE = 'inspectd.api_key';

/* ---- API key: only when the daemon was started with one (it answers 401) ---- */

export function apiKey() {
  try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (e) { return ''; }
}
export function setApiKey(k) {
  try { if (k) sessionStorage.setItem(KEY_STORE, k); else sessionStorage.removeItem(KEY_STORE); } catch (e) { /* storage off */ }
}
export function showKeyForm(why) {
  $('key-form').hidden = false;
  $('key-toggle').hidden = false;
  $('key-toggle').setAttribute('aria-expanded', 'true');
  $('key-why').textContent = why || '';
  if (why) $('api-key').focus();
}

/* ---- HTTP ---- */

/* fetch that never throws: {ok, status, data (parsed JSON or text), error {code, message}, headers} */
export async function api(path, opts) {
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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ---- formatting ---- */

export function fmt(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return v.toFixed(a >= 100 ? 2 : a >= 1 ? 3 : 4);
}
/* Shows v (rounded: fmt, or to `decimals`) and keeps the exact value in data-value. */
export function setNum(el, v, suffix, decimals) {
  el.dataset.value = v === undefined || v === null ? '' : String(v);
  const text = decimals !== undefined && typeof v === 'number' && Number.isFinite(v) ? v.toFixed(decimals) : fmt(v);
  el.textContent = text + (suffix && typeof v === 'number' ? suffix : '');
}
export function fmtRatio(r) {
  return r < 0.01 ? 'less than 0.01×' : r >= 100 ? Math.round(r) + '×' : r.toFixed(2) + '×';
}
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
export function announce(text) {
  const a = $('announce');
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 50);
}
