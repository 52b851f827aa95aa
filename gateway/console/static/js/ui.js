// DOM helpers: elements are built with h() (text is always set as text, never parsed as HTML).

const SVGNS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' || k === 'required') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** h('tag.class', {attrs}, ...children) builds an HTML element. */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (attrs instanceof Node || Array.isArray(attrs) || typeof attrs !== 'object')) {
    children.unshift(attrs);
    attrs = null;
  }
  return build(el, attrs, children);
}

/** s('tag', {attrs}, ...children) builds an SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVGNS, tag), attrs, children);
}

/** replace(node, ...children) empties node and appends children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let idSeq = 0;
/** uid returns a document-unique id with prefix. */
export function uid(prefix = 'f') { return `${prefix}-${++idSeq}`; }

/** field builds a labelled control: a label and an input/select/textarea with the same id. */
export function field(label, control, hint) {
  if (!control.id) control.id = uid(control.name || 'f');
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hid = uid('hint');
    control.setAttribute('aria-describedby', hid);
    parts.push(h('small.muted', { id: hid }, hint));
  }
  return h('div.field', parts);
}

/** input(name, attrs) is a text input. */
export function input(name, attrs = {}) { return h('input', { name, type: 'text', autocomplete: 'off', ...attrs }); }

/** select(name, options, attrs): options are strings or [value, label] pairs. */
export function select(name, options, attrs = {}) {
  return h('select', { name, ...attrs }, options.map((o) => {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v }, l);
  }));
}

/** choices builds a fieldset of checkboxes or radios. */
export function choices(legend, type, name, options, checked = []) {
  return h('fieldset', h('legend', legend), h('div.choices', options.map((o) => {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    return h('label', h('input', { type, name, value: v, checked: checked.includes(v) }), l);
  })));
}

/** formValues returns the named controls' values (checkbox groups as arrays). */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') {
      if (form.querySelectorAll(`input[type=checkbox][name="${el.name}"]`).length > 1) {
        (out[el.name] ||= []);
        if (el.checked) out[el.name].push(el.value);
      } else out[el.name] = el.checked;
    } else if (el.type === 'radio') {
      if (el.checked) out[el.name] = el.value;
    } else out[el.name] = el.value.trim();
  }
  return out;
}

/** status returns the message area of a form (created on first use, role=alert). */
function statusOf(form) {
  let el = form.querySelector(':scope > .form-status');
  if (!el) {
    el = h('p.form-status', { role: 'alert' });
    form.append(el);
  }
  return el;
}

/** clearErrors resets a form's error marks and message. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const st = form.querySelector(':scope > .form-status');
  if (st) { st.className = 'form-status'; st.textContent = ''; }
}

/**
 * showError writes an API error under a form: its code and message exactly as the gateway
 * sent them; a message that names a field ("field price: ...") marks that control invalid.
 */
export function showError(form, err) {
  const st = statusOf(form);
  st.className = 'form-status error';
  replace(st, err.code ? h('span.code', err.code) : null, err.code ? ': ' : '', err.message || String(err));
  const m = /(?:field|parameter) ([A-Za-z]+)/.exec(err.message || '');
  if (m) {
    const el = form.elements[m[1]];
    if (el && el.setAttribute) {
      el.setAttribute('aria-invalid', 'true');
      el.focus();
    }
  }
}

/** showOk writes a success message under a form. */
export function showOk(form, ...msg) {
  const st = statusOf(form);
  st.className = 'form-status ok';
  replace(st, ...msg);
}

/** submitting disables a form's buttons while fn runs; errors are shown under the form. */
export async function submitting(form, fn) {
  clearErrors(form);
  const buttons = [...form.querySelectorAll('button')];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    return await fn();
  } catch (err) {
    showError(form, err);
    return undefined;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

/** errorBox is an inline error for a panel (not a form). */
export function errorBox(err) {
  return h('p.error', { role: 'alert' }, err.code ? h('span.code', err.code) : null, err.code ? ': ' : '', err.message || String(err));
}

/** notice is an informational box. */
export function notice(...text) { return h('p.notice', { role: 'note' }, ...text); }

/** toast shows a short message at the bottom right. */
export function toast(msg, bad = false) {
  const el = h('div.toast' + (bad ? '.bad' : ''), msg);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), bad ? 7000 : 4000);
}

/** table builds a table with a caption, header cells and rows (arrays of cells or <tr>). */
export function table(caption, headers, rows, attrs = {}) {
  return h('div.scroll', h('table', attrs,
    caption ? h('caption', caption) : null,
    h('thead', h('tr', headers.map((x) => {
      const [label, cls] = Array.isArray(x) ? x : [x, null];
      return h('th', { scope: 'col', class: cls }, label);
    }))),
    h('tbody', rows.map((r) => (r instanceof Node ? r : h('tr', r.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', c)))))))));
}

/** td with a class. */
export function td(cls, ...content) { return h('td', { class: cls }, ...content); }

/** fmtTime renders an RFC 3339 time in local time (date omitted when today). */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const now = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === now.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

/** badge renders a status with a colour by its meaning. */
export function badge(status) {
  const good = ['VALID', 'FILLED', 'SETTLED', 'COMPLETED', 'ACTIVE', 'DONE', 'OBSERVED', 'CLAIMED', 'GRANT', 'delivered', 'DELIVERED'];
  const bad = ['INVALID', 'CANCELED', 'CANCELLED', 'REJECTED', 'EXPIRED', 'DENIED', 'FAILED', 'REFUNDED', 'EXPIRED_UNCLAIMED', 'DENY', 'dead', 'DEAD'];
  const cls = good.includes(status) ? 'good' : bad.includes(status) ? 'bad' : 'wait';
  return h('span.badge.' + cls, status || '—');
}

/** debounce calls fn once, ms after the last call. */
export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

/** rfc3339 turns a datetime-local value into RFC 3339 (UTC). */
export function rfc3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** localInput returns a datetime-local value ms from now. */
export function localInput(ms) {
  const d = new Date(Date.now() + ms);
  d.setSeconds(0, 0);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** facts renders a definition list of [label, value] pairs (empty values skipped). */
export function facts(pairs) {
  return h('dl.facts', pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', k), h('dd', v)]));
}
