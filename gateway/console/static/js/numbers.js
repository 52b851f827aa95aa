// Numbers: look a phone number up, run its transfer (request, confirm, reject, cancel, escalate,
// resolve), its porting code, its history as a timeline; the Regulator's allocation and its view
// of open requests and escalations.

import { get, post, del, enc, local, MSP, IS_REGULATOR } from './api.js';
import { app } from './state.js';
import { sha256hex } from './sha256.js';
import {
  h, replace, field, input, select, formValues, submitting, showOk, errorBox, table, fmtTime,
  badge, facts, toast,
} from './ui.js';

let els;
let current = ''; // the number shown

export function mount(section) {
  els = {
    lookup: h('form.form', { id: 'number-lookup', novalidate: true, role: 'search', 'aria-label': 'Look up a number' }),
    recent: h('div.quick', { 'aria-label': 'Recent numbers' }),
    detail: h('div', { id: 'number-detail' }),
    actions: h('div', { id: 'number-actions' }),
    history: h('div', { id: 'number-history' }),
    queue: h('div', { id: 'transfer-queue' }),
  };
  replace(els.lookup,
    h('div.row', field('Phone number (E.164)', input('number', { id: 'number-input', placeholder: '+4915112345678', inputmode: 'tel' }))),
    h('div.actions', h('button', { type: 'submit' }, 'Look up')));
  els.lookup.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = formValues(els.lookup).number.replace(/[\s()-]/g, '');
    if (n) location.hash = `#/numbers/${enc(n)}`;
  });
  replace(section,
    h('div.view-head', h('h1', { id: 'numbers-title' }, 'Numbers'),
      h('p', IS_REGULATOR ? 'Allocate numbers, watch transfers, decide escalations.' : `Number porting for ${MSP}: request, confirm or reject transfers.`)),
    h('div.grid.side',
      h('div.stack',
        h('div.panel', els.lookup, els.recent),
        IS_REGULATOR ? h('div.panel', { 'aria-labelledby': 'queue-title' },
          h('div.actions', h('h2', { id: 'queue-title' }, 'Open requests and escalations'),
            h('button.quiet.small', { type: 'button', onclick: () => loadQueue(), 'aria-label': 'Refresh open requests' }, '↻')),
          els.queue) : null,
        h('div.panel', { 'aria-labelledby': 'number-title' }, els.detail),
        h('div.panel', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'History'), els.history)),
      h('div.stack',
        h('div.panel', { 'aria-labelledby': 'number-actions-title' }, h('h2', { id: 'number-actions-title' }, 'Actions'), els.actions),
        IS_REGULATOR ? h('div.panel', h('h2', 'Allocate'), allocateForm()) : null)));
}

export function show([number]) {
  renderRecent();
  if (IS_REGULATOR) loadQueue();
  if (number) {
    els.lookup.elements.number.value = number;
    load(number);
  } else if (!current) {
    replace(els.detail, h('h2', { id: 'number-title' }, 'Number'), h('p.empty', 'Look a number up to see its owner, transfer and history.'));
    replace(els.actions, h('p.empty', 'Nothing selected.'));
    replace(els.history, h('p.empty', '—'));
  }
}

function remember(n) {
  local.set('numbers', [n, ...local.get('numbers', []).filter((x) => x !== n)].slice(0, 8));
  renderRecent();
}

function renderRecent() {
  const list = local.get('numbers', []);
  replace(els.recent, list.length ? [h('span.muted', 'Recent:'), list.map((n) => h('a', { href: `#/numbers/${enc(n)}` }, n))] : null);
}

async function load(number) {
  current = number;
  replace(els.detail, h('h2', { id: 'number-title' }, number), h('p.muted', 'Loading…'));
  let num;
  let hist = [];
  try {
    [num, hist] = await Promise.all([get(`/v1/numbers/${enc(number)}`), get(`/v1/numbers/${enc(number)}/history`)]);
  } catch (e) {
    if (number !== current) return;
    replace(els.detail, h('h2', { id: 'number-title' }, number), errorBox(e));
    replace(els.actions, IS_REGULATOR ? h('p.empty', 'Allocate it with the form below.') : h('p.empty', '—'));
    replace(els.history, h('p.empty', '—'));
    return;
  }
  if (number !== current) return;
  remember(num.number);
  hist = hist || [];
  // The number's current or last transfer: the pending one, else the newest in the history.
  let last = num.pendingTransfer;
  if (!last) {
    for (const e of hist) if (e.record === 'transfer' && e.transfer && !e.deleted) last = e.transfer;
  }
  renderDetail(num, last);
  renderActions(num, last);
  renderHistory(hist);
}

function renderDetail(num, t) {
  const pac = num.pac;
  replace(els.detail,
    h('div.actions', h('h2', { id: 'number-title' }, num.number), badge(num.status),
      h('button.quiet.small', { type: 'button', onclick: () => load(num.number), 'aria-label': 'Refresh number' }, '↻')),
    facts([
      ['Owner', h('strong', { id: 'number-owner' }, num.owner)],
      ['Previous owner', num.previousOwner],
      ['Allocated', fmtTime(num.allocatedAt)],
      ['Updated', fmtTime(num.updatedAt)],
      ['Porting code', pac ? `${pac.status}${pac.expiresAt ? ` · expires ${fmtTime(pac.expiresAt)}` : ''}` : 'none'],
    ]),
    t ? h('section', { 'aria-label': 'Transfer', id: 'transfer-card' },
      h('h3', 'Transfer'),
      facts([
        ['Status', h('span', { id: 'transfer-status' }, badge(t.status))],
        ['From → to', `${t.from} → ${t.to}`],
        ['Requested', fmtTime(t.requestedAt)],
        ['Deadline', t.deadline ? `${fmtTime(t.deadline)}${t.overdue ? ' (overdue)' : ''}` : ''],
        ['Code presented', t.pacPresented ? 'yes' : 'no'],
        ['Rejected', t.rejectedAt ? `${fmtTime(t.rejectedAt)}: ${t.rejectReason || ''}` : ''],
        ['Dispute until', fmtTime(t.disputeUntil)],
        ['Escalated', t.escalatedAt ? `${fmtTime(t.escalatedAt)} by ${t.escalatedBy} (${t.escalationCause}) ${t.escalationReason || ''}` : ''],
        ['Resolution', t.resolution ? `${t.resolution}: ${t.resolutionReason || ''}` : ''],
        ['Customer data', t.customerDataPurgedAt ? `purged ${fmtTime(t.customerDataPurgedAt)}` : t.customerDataHash ? 'held by both telcos (hash on chain)' : ''],
      ])) : h('p.muted', 'No transfer yet.'));
}

function open(t) { return t && (t.status === 'OPEN' || t.status === 'ESCALATED'); }

function renderActions(num, t) {
  const n = num.number;
  const parts = [];
  const mine = num.owner === MSP;
  const pending = open(num.pendingTransfer) ? num.pendingTransfer : null;
  const disputable = t && t.status === 'REJECTED' && t.disputeUntil && Date.parse(t.disputeUntil) > Date.now();
  if (IS_REGULATOR) {
    if (pending && pending.status === 'ESCALATED') parts.push(resolveForm(n));
    else parts.push(h('p.empty', pending ? 'The transfer is open between the telcos; you decide once it is escalated.' : 'No escalated transfer.'));
  } else if (mine) {
    if (pending && pending.from === MSP) {
      if (pending.status === 'OPEN') {
        parts.push(h('p', `${pending.to} asks for this number.`));
        parts.push(stepButton(n, 'confirm', 'Confirm transfer', {}, 'confirm-transfer'));
        parts.push(reasonForm(n, 'reject', 'Reject', 'reject-form'));
      }
      parts.push(reasonForm(n, 'escalate', 'Escalate to the Regulator', 'escalate-form'));
    } else if (!pending) {
      parts.push(pacForm(n, num.pac));
      if (disputable && t.from === MSP) parts.push(reasonForm(n, 'escalate', 'Escalate the rejection', 'escalate-form'));
    }
  } else if (pending && pending.to === MSP) {
    parts.push(h('p', `Waiting for ${pending.from} to confirm.`));
    parts.push(stepButton(n, 'cancel', 'Withdraw request', {}, 'cancel-transfer', true));
    parts.push(reasonForm(n, 'escalate', 'Escalate to the Regulator', 'escalate-form'));
  } else if (pending) {
    parts.push(h('p.empty', `A transfer to ${pending.to} is under way.`));
  } else {
    parts.push(requestForm(n, num.pac));
    if (disputable && t.to === MSP) parts.push(reasonForm(n, 'escalate', 'Dispute the rejection', 'escalate-form'));
  }
  if (!IS_REGULATOR && t && (t.from === MSP || t.to === MSP) && !t.customerDataPurgedAt && t.customerDataHash) {
    const out = h('div');
    parts.push(h('details', h('summary', 'Customer data'),
      h('div.actions',
        h('button.quiet.small', { type: 'button', onclick: () => showCustomer(n, out) }, 'Show'),
        h('button.quiet.small', { type: 'button', onclick: () => eraseCustomer(n, out) }, 'Erase')), out));
  }
  replace(els.actions, parts);
}

async function step(n, action, body) {
  return post(`/v1/numbers/${enc(n)}/transfers/${action}`, body, { wait: true });
}

function done(n, res, what) {
  const t = res.transfer || res;
  toast(`${what}: ${t.status || 'done'}${res.applied === false ? ' (escalated instead)' : ''}`);
  load(n);
  if (IS_REGULATOR) loadQueue();
}

function stepButton(n, action, label, body, id, quiet) {
  const form = h('form.form', { id, novalidate: true, 'aria-label': label },
    h('div.actions', h(quiet ? 'button.quiet' : 'button', { type: 'submit' }, label)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(form, async () => done(n, await step(n, action, body), label));
  });
  return form;
}

function reasonForm(n, action, label, id) {
  const form = h('form.form', { id, novalidate: true, 'aria-label': label },
    field(`Reason (${action})`, input('reason', { maxlength: 500 }), 'public on the channel: no customer data'),
    h('div.actions', h(action === 'reject' ? 'button.danger' : 'button.quiet', { type: 'submit' }, label)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(form, async () => done(n, await step(n, action, formValues(form)), label));
  });
  return form;
}

function resolveForm(n) {
  const form = h('form.form', { id: 'resolve-form', novalidate: true, 'aria-label': 'Resolve the escalation' },
    field('Decision', select('decision', [['GRANT', 'Grant: move the number'], ['DENY', 'Deny: close the request']])),
    field('Reason', input('reason', { maxlength: 500 })),
    h('div.actions', h('button', { type: 'submit' }, 'Resolve')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(form, async () => done(n, await step(n, 'resolve', formValues(form)), 'Resolved'));
  });
  return form;
}

function requestForm(n, pac) {
  const hash = input('contractHash', { id: 'contract-hash', pattern: '[0-9a-fA-F]{64}', spellcheck: 'false', class: 'mono' });
  const text = h('textarea', { id: 'contract-text', name: 'contractText' });
  const form = h('form.form', { id: 'request-form', novalidate: true, 'aria-label': 'Request this number' },
    h('p', `Request ${n} for ${MSP}. Customer data goes to the two telcos' and the Regulator's peers only.`),
    field('Customer name', input('name', { id: 'customer-name', autocomplete: 'off' })),
    h('div.row', field('Date of birth', h('input', { type: 'date', name: 'dateOfBirth', id: 'customer-dob' })),
      field('Address', input('address', { id: 'customer-address' }))),
    field('Contract SHA-256 (hex)', hash),
    h('details', h('summary', 'Compute the hash from the contract text'),
      field('Contract text', text),
      h('button.quiet.small', { type: 'button', onclick: () => { hash.value = sha256hex(text.value); } }, 'Hash it')),
    pac && pac.outstanding ? field('Porting code (from the customer)', input('pac', { id: 'request-pac', autocomplete: 'off' }), 'required: the owner issued a code') : null,
    h('div.actions', h('button', { type: 'submit' }, 'Request transfer')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const customer = {};
    for (const k of ['name', 'dateOfBirth', 'address']) if (v[k]) customer[k] = v[k];
    if (!v.contractHash && v.contractText) v.contractHash = sha256hex(v.contractText);
    const body = { customer, contractHash: v.contractHash };
    if (v.pac) body.pac = v.pac;
    submitting(form, async () => {
      const t = await post(`/v1/numbers/${enc(n)}/transfers`, body, { wait: true });
      showOk(form, `Requested: ${t.status}.`);
      done(n, t, 'Transfer requested');
    });
  });
  return form;
}

function pacForm(n, pac) {
  const form = h('form.form', { id: 'pac-form', novalidate: true, 'aria-label': 'Porting code' },
    h('p.muted', pac && pac.outstanding ? 'A porting code is outstanding: a request must present it.' : 'No porting code outstanding: any telco may request the number.'),
    field('New porting code', input('pac', { autocomplete: 'off', placeholder: 'ABCD1234' }), '8-32 capital letters or digits; only its hash goes on chain'),
    h('div.actions', h('button.quiet', { type: 'submit' }, 'Issue code'),
      pac && pac.outstanding ? h('button.quiet', { type: 'button', onclick: () => revoke() }, 'Revoke code') : null));
  const revoke = () => submitting(form, async () => {
    await del(`/v1/numbers/${enc(n)}/pac`, { wait: true });
    toast('Porting code revoked');
    load(n);
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(form, async () => {
      await post(`/v1/numbers/${enc(n)}/pac`, formValues(form), { wait: true });
      toast('Porting code issued');
      load(n);
    });
  });
  return form;
}

async function showCustomer(n, out) {
  try {
    const c = await get(`/v1/numbers/${enc(n)}/transfers/customer`);
    replace(out, facts([['Hash verified', c.hashVerified ? 'yes' : 'no'], ...Object.entries(c.customer || {}).map(([k, v]) => [k, String(v)])]));
  } catch (e) {
    replace(out, errorBox(e));
  }
}

async function eraseCustomer(n, out) {
  try {
    await del(`/v1/numbers/${enc(n)}/transfers/customer`, { wait: true });
    toast('Customer data erased; the hash stays on chain');
    load(n);
  } catch (e) {
    replace(out, errorBox(e));
  }
}

function renderHistory(hist) {
  if (!hist.length) { replace(els.history, h('p.empty', 'No history.')); return; }
  replace(els.history, h('ol.timeline', { id: 'history-timeline' }, hist.map((e) => {
    const t = e.transfer;
    const detail = e.record === 'transfer' && t ? `${t.from} → ${t.to}: ${t.status}`
      : e.record === 'number' && e.number ? `owner ${e.number.owner || ''} ${e.number.status || ''}`
        : e.record === 'pac' && e.pac ? `code ${e.pac.status}` : '';
    const cls = t && ['REJECTED', 'CANCELLED', 'DENIED'].includes(t.status) ? 'failed' : t && t.status === 'COMPLETED' ? 'done' : null;
    return h('li', { class: cls },
      h('div', h('strong', e.action || e.record), e.actor ? ` by ${e.actor}` : '', e.deleted ? ' (deleted)' : ''),
      h('div.when', fmtTime(e.timestamp), ' · ', e.record),
      detail ? h('div', detail) : null);
  })));
}

// ---- Regulator

async function loadQueue() {
  if (!els.queue) return;
  try {
    const page = await get('/v1/numbers/transfers');
    const list = (page && page.transfers) || [];
    if (!list.length) { replace(els.queue, h('p.empty', 'No open or escalated transfers.')); return; }
    list.sort((a, b) => (a.status === b.status ? (a.requestedAt || '').localeCompare(b.requestedAt || '') : a.status === 'ESCALATED' ? -1 : 1));
    replace(els.queue, table(null, ['Number', 'From → to', 'Status', 'Requested', 'Deadline'], list.map((t) => h('tr', { dataset: { number: t.number } },
      h('td', h('a', { href: `#/numbers/${enc(t.number)}` }, t.number)),
      h('td', `${t.from} → ${t.to}`),
      h('td', badge(t.status), t.escalationCause ? ` ${t.escalationCause}` : ''),
      h('td', fmtTime(t.requestedAt)),
      h('td', fmtTime(t.deadline), t.overdue ? ' (overdue)' : ''))), { id: 'queue-table', 'aria-labelledby': 'queue-title' }));
  } catch (e) {
    replace(els.queue, errorBox(e));
  }
}

function allocateForm() {
  const form = h('form.form', { id: 'allocate-form', novalidate: true, 'aria-label': 'Allocate a number' },
    field('Number (or first of a range)', input('number', { placeholder: '+4915112345678', inputmode: 'tel' })),
    field('Last of a range (optional)', input('last', { inputmode: 'tel' })),
    field('Owner', select('owner', app.telcos)),
    h('div.actions', h('button', { type: 'submit' }, 'Allocate')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const body = v.last ? { first: v.number, last: v.last, owner: v.owner } : { number: v.number, owner: v.owner };
    submitting(form, async () => {
      const r = await post('/v1/numbers', body, { wait: true });
      showOk(form, r.count ? `${r.count} numbers allocated to ${r.owner}.` : `${r.number} allocated to ${r.owner}.`);
      if (!v.last) location.hash = `#/numbers/${enc(v.number)}`;
    });
  });
  return form;
}

