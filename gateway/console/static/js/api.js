// The REST client: the gateway's /v1 routes and the watcher's through /watcher, with the API key
// of the session. Errors are ApiError with the gateway's {"error":{"code","message"}}.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || '';

/** ORG is this gateway's org ("org1", ..., "regulator"); MSP its MSP ID. */
export const ORG = meta('fabmarket-org');
export const MSP = meta('fabmarket-msp');
export const IS_REGULATOR = ORG === 'regulator';

const KEY_ITEM = `fabmarket.apikey.${ORG}`;

/** key returns the API key of this tab's session, or ''. */
export function key() { return sessionStorage.getItem(KEY_ITEM) || ''; }
export function setKey(k) { sessionStorage.setItem(KEY_ITEM, k); }
export function clearKey() { sessionStorage.removeItem(KEY_ITEM); }

/** ApiError is a failed call: HTTP status, the gateway's code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** noRoute: this gateway does not serve the route (not: the resource does not exist). */
  get noRoute() { return this.status === 404 && /^no route /.test(this.message); }
}

let onUnauthorized = () => {};
/** whenUnauthorized sets what happens on a 401 (the key was revoked or is wrong). */
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/**
 * call sends a request. opts.wait adds ?wait=commit; opts.key overrides the session key;
 * opts.idempotencyKey sets Idempotency-Key.
 */
export async function call(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const k = opts.key ?? key();
  if (k) headers.Authorization = `Bearer ${k}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let url = path;
  if (opts.wait) url += (url.includes('?') ? '&' : '?') + 'wait=commit';
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'UNAVAILABLE', `the gateway did not answer (${e.message})`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const err = new ApiError(res.status, e.code || `HTTP_${res.status}`, e.message || text || res.statusText);
    if (res.status === 401 && !opts.key) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path, opts) => call('GET', path, undefined, opts);
export const post = (path, body, opts) => call('POST', path, body, opts);
export const del = (path, opts) => call('DELETE', path, undefined, opts);

/** watcher calls the price watcher's REST API through the gateway's same-origin proxy. */
export const watcher = (method, path, body) => call(method, `/watcher${path}`, body);

/** q builds a query string from an object, skipping empty values. */
export function q(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** enc percent-encodes a path segment ("+49..." becomes "%2B49..."). */
export const enc = encodeURIComponent;

let spec;
/**
 * serves reports whether this gateway serves "METHOD /path" (path in OpenAPI form), read from
 * its OpenAPI document (which a test keeps equal to the router's routes).
 */
export async function serves(method, path) {
  if (!spec) {
    spec = fetch('/openapi.json', { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : { paths: {} }))
      .catch(() => ({ paths: {} }));
  }
  const doc = await spec;
  return !!(doc.paths && doc.paths[path] && doc.paths[path][method.toLowerCase()]);
}

/** newId returns a fresh client id with prefix (client order ids, idempotency keys). */
export function newId(prefix) {
  const r = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${r[0].toString(36)}${r[1].toString(36)}`;
}

/** local is this org's persistent browser state (tracked accounts, recent numbers, ...). */
export const local = {
  get(name, def) {
    try { return JSON.parse(localStorage.getItem(`fabmarket.${ORG}.${name}`)) ?? def; } catch { return def; }
  },
  set(name, v) { localStorage.setItem(`fabmarket.${ORG}.${name}`, JSON.stringify(v)); },
};
