// Settlements: escrowed DvP agreements with their state and message thread, cross-channel swaps
// with each step, and single HTLCs. The routes (/v1/settlements, /v1/swaps, /v1/htlcs) are newer
// than the rest of the API: a gateway that does not serve them gets a clear notice instead.

import { get, post, enc, q, serves, MSP } from './api.js';
import { app } from './state.js';
import { sha256bytes } from './sha256.js';
import {
  h, replace, field, input, select, choices, formValues, submitting, showOk, errorBox, notice, table,
  fmtTime, badge, facts, rfc3339, localInput, toast,
} from './ui.js';

const STATUSES = ['PROPOSED', 'AFFIRMED', 'FUNDING', 'SETTLED', 'EXPIRED', 'CANCELLED'];
const FINAL = ['SETTLED', 'EXPIRED', 'CANCELLED'];
let els;
let avail = { settlements: true, swaps: true, htlcs: true };

export function mount(section) {
  els = {
    agreements: h('div', { id: 'agreements' }),
    agreement: h('div', { id: 'agreement-detail' }),
    swaps: h('div', { id: 'swaps' }),
    swap: h('div', { id: 'swap-detail' }),
    htlc: h('div', { id: 'htlc-detail' }),
    propose: h('div'),
    startSwap: h('div'),
    htlcForms: h('div'),
    filter: h('form.form', { id: 'agreement-filter', novalidate: true, 'aria-label': 'Filter agreements' }),
  };
  replace(section,
    h('div.view-head', h('h1', { id: 'settlements-title' }, 'Settlements'),
      h('p', 'Delivery versus payment: escrowed agreements, and swaps of shares on market against cash on payments.')),
    h('div.grid.side',
      h('div.stack',
        h('div.panel', { 'aria-labelledby': 'agreements-title' }, h('h2', { id: 'agreements-title' }, 'Agreements'), els.filter, els.agreements, els.agreement),
        h('div.panel', { 'aria-labelledby': 'swaps-title' },
          h('div.actions', h('h2', { id: 'swaps-title' }, 'Swaps'),
            h('button.quiet.small', { type: 'button', onclick: () => loadSwaps(), 'aria-label': 'Refresh swaps' }, '↻')),
          els.swaps, els.swap),
        h('div.panel', { 'aria-labelledby': 'htlc-title' }, h('h2', { id: 'htlc-title' }, 'Hash-time locks'), els.htlcForms, els.htlc)),
      h('div.stack',
        h('div.panel', h('h2', 'Propose an agreement'), els.propose),
        h('div.panel', h('h2', 'Start or accept a swap'), els.startSwap))));
  app.on('accounts', () => { if (avail.settlements) renderFilter(); });
}

export async function show([kind, id]) {
  const [s, sw, hl] = await Promise.all([serves('GET', '/v1/settlements'), serves('GET', '/v1/swaps'), serves('GET', '/v1/htlcs/{id}')]);
  avail = { settlements: s, swaps: sw, htlcs: hl };
  if (s) { renderFilter(); renderPropose(); loadAgreements(); } else {
    replace(els.filter);
    replace(els.agreements, unavailable('Settlement agreements', '/v1/settlements'));
    replace(els.propose, unavailable('Proposing agreements', '/v1/settlements'));
  }
  if (sw) { loadSwaps(); renderSwapForms(); } else {
    replace(els.swaps, unavailable('Swaps', '/v1/swaps'));
    replace(els.startSwap, unavailable('Swaps', '/v1/swaps'));
  }
  if (hl) renderHTLCForms(); else replace(els.htlcForms, unavailable('HTLCs', '/v1/htlcs'));
  if (kind === 'agreement' && id && s) loadAgreement(id);
  if (kind === 'swap' && id && sw) loadSwap(id);
}

function unavailable(what, route) {
  return notice(`${what}: not available on this gateway yet (it does not serve ${route}).`);
}

/** guard turns a "no route" 404 into the notice, other errors into an error box. */
function failed(box, e, what, route) {
  replace(box, e.noRoute ? unavailable(what, route) : errorBox(e));
}

// ---- agreements

function renderFilter() {
  const accts = app.accounts();
  replace(els.filter,
    h('div.row',
      field('Account', select('account', [['', 'all my accounts'], ...accts], { id: 'agreement-account' })),
      field('Status', select('status', [['', 'any'], ...STATUSES], { id: 'agreement-status' }))),
    h('div.actions', h('button.quiet', { type: 'submit' }, 'Show')));
  els.filter.onsubmit = (ev) => { ev.preventDefault(); loadAgreements(); };
}

async function loadAgreements() {
  const v = formValues(els.filter);
  const accts = v.account ? [v.account] : app.accounts();
  if (!accts.length) { replace(els.agreements, h('p.empty', 'Add an account under Accounts to see its agreements.')); return; }
  try {
    const lists = await Promise.all(accts.map((a) => get(`/v1/settlements${q({ account: a, status: v.status })}`)));
    const byId = new Map();
    for (const l of lists) for (const a of l || []) byId.set(a.settlementId, a);
    const all = [...byId.values()].sort((a, b) => Date.parse(b.deadline || 0) - Date.parse(a.deadline || 0));
    if (!all.length) { replace(els.agreements, h('p.empty', 'No agreements.')); return; }
    const list = all.slice(0, 50);
    replace(els.agreements, all.length > list.length ? h('p.muted', `The latest ${list.length} deadlines of ${all.length} agreements.`) : null,
      table(null, ['Id', 'Terms', 'Seller → buyer', 'Status', 'Deadline'], list.map((a) => h('tr.clickable', {
      tabindex: 0,
      dataset: { settlement: a.settlementId },
      onclick: () => loadAgreement(a.settlementId),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); loadAgreement(a.settlementId); } },
    }, h('td.mono', short(a.settlementId)), h('td', `${a.quantity} ${a.symbol} @ ${a.price} ${a.currency}`),
    h('td', `${a.seller} → ${a.buyer}`), h('td', badge(a.status)), h('td', fmtTime(a.deadline)))), { id: 'agreements-table', 'aria-label': 'Agreements (select one for its thread)' }));
  } catch (e) {
    failed(els.agreements, e, 'Settlement agreements', '/v1/settlements');
  }
}

function short(id) { return id && id.length > 14 ? `${id.slice(0, 12)}…` : id; }

async function loadAgreement(id) {
  try {
    renderAgreement(await get(`/v1/settlements/${enc(id)}`));
  } catch (e) {
    failed(els.agreement, e, 'Settlement agreements', '/v1/settlements');
  }
}

function stepper(status) {
  const path = ['PROPOSED', 'AFFIRMED', 'FUNDING', 'SETTLED'];
  const closed = status === 'EXPIRED' || status === 'CANCELLED';
  const at = closed ? -1 : path.indexOf(status);
  return h('ol.steps', { 'aria-label': `State: ${status}` },
    path.map((p, i) => h('li', { class: i < at ? 'reached' : i === at ? 'current' : null, 'aria-current': i === at ? 'step' : null }, p)),
    closed ? h('li.closed', { 'aria-current': 'step' }, status) : null);
}

function renderAgreement(a) {
  const id = a.settlementId;
  const act = (action, label, body, cls = 'button.quiet') => {
    const form = h('form.form', { novalidate: true, 'aria-label': label, id: `agreement-${action}` },
      body ? body() : null, h('div.actions', h(cls, { type: 'submit' }, label)));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(form, async () => {
        const v = formValues(form);
        const payload = {};
        for (const [k, x] of Object.entries(v)) if (x) payload[k] = x;
        const r = await post(`/v1/settlements/${enc(id)}/${action}`, payload, { wait: true });
        toast(`${label}: ${r.status}`);
        renderAgreement(r);
        loadAgreements();
      });
    });
    return form;
  };
  const open = !FINAL.includes(a.status);
  replace(els.agreement,
    h('section.detail', { 'aria-label': `Agreement ${id}` },
      h('h3.title', `Agreement ${short(id)}`),
      stepper(a.status),
      facts([
        ['Id', h('span.mono', id)],
        ['Terms', `${a.quantity} ${a.symbol} @ ${a.price} ${a.currency} = ${a.cashAmount}`],
        ['Seller', `${a.seller} (${a.sellerOrg})`],
        ['Buyer', `${a.buyer} (${a.buyerOrg})`],
        ['Proposed by', a.proposerOrg],
        ['Deadline', fmtTime(a.deadline)],
        ['Partial settlement', a.allowPartial ? 'allowed' : 'no'],
        ['Notary', a.notary ? `${a.notary}${a.notaryApproved ? ' (approved)' : ''}` : ''],
        ['Funded', `seller ${a.sellerFundedQuantity || '0'} ${a.symbol}; buyer ${a.buyerFundedCash || '0'} ${a.currency}`],
        ['Settled', a.settledQuantity && a.settledQuantity !== '0' ? `${a.settledQuantity} ${a.symbol} for ${a.settledCash} ${a.currency}` : ''],
      ]),
      h('h3', 'Messages'),
      (a.messages || []).length ? h('ol.timeline', { id: 'agreement-thread' }, a.messages.map((m) => h('li', { class: m.type === 'SETTLED' ? 'done' : null },
        h('div', h('strong', m.type), ` from ${m.senderOrg}`), h('div.when', fmtTime(m.time)), m.details ? h('div', m.details) : null)))
        : h('p.empty', 'No messages.'),
      open ? h('div.stack',
        h('h3', 'Act'),
        act('affirm', 'Affirm'),
        act('fund', 'Fund my leg', () => h('div.row',
          field('Leg', select('leg', [['', 'my org\'s'], ['seller', 'seller'], ['buyer', 'buyer']])),
          field('Quantity (optional)', input('quantity', { inputmode: 'decimal' })))),
        a.notary === MSP ? act('approve', 'Approve (notary)') : null,
        act('cancel', 'Cancel', () => field('Reason', input('reason'))),
        act('expire', 'Expire (after the deadline)')) : null));
}

function renderPropose() {
  const accts = app.accounts();
  const form = h('form.form', { id: 'propose-form', novalidate: true, 'aria-label': 'Propose an agreement' },
    h('div.row', field('Seller account', input('seller', { list: 'tracked-accounts' })), field('Buyer account', input('buyer', { list: 'tracked-accounts' }))),
    h('datalist', { id: 'tracked-accounts' }, accts.map((a) => h('option', { value: a }))),
    h('div.row', field('Symbol', select('symbol', app.instruments.map((i) => i.symbol))), field('Quantity', input('quantity', { inputmode: 'decimal' }))),
    h('div.row', field('Price', input('price', { inputmode: 'decimal' })), field('Currency', select('currency', app.currencies))),
    field('Deadline', h('input', { type: 'datetime-local', name: 'deadline', value: localInput(3600e3) })),
    h('div.row', field('Notary (optional)', select('notary', [['', 'none'], ...app.orgs])),
      choices('Partial settlement', 'checkbox', 'allowPartial', [['yes', 'allowed']])),
    h('div.actions', h('button', { type: 'submit' }, 'Propose')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const body = { seller: v.seller, buyer: v.buyer, symbol: v.symbol, quantity: v.quantity, price: v.price, currency: v.currency,
      deadline: rfc3339(v.deadline), allowPartial: (v.allowPartial || []).includes('yes') };
    if (v.notary) body.notary = v.notary;
    submitting(form, async () => {
      const a = await post('/v1/settlements', body, { wait: true });
      showOk(form, `Proposed ${short(a.settlementId)} (${a.status}).`);
      loadAgreements();
      if (a.settlementId) loadAgreement(a.settlementId);
    });
  });
  if (!app.instruments.length) app.loadInstruments().then(renderPropose).catch(() => {});
  replace(els.propose, form);
}

// ---- swaps

async function loadSwaps() {
  if (!avail.swaps) return;
  try {
    const list = (await get('/v1/swaps')) || [];
    if (!list.length) { replace(els.swaps, h('p.empty', 'No swaps on this gateway.')); return; }
    list.sort((a, b) => Date.parse(b.created || 0) - Date.parse(a.created || 0));
    const shown = list.slice(0, 25);
    replace(els.swaps, list.length > shown.length ? h('p.muted', `The newest ${shown.length} of ${list.length}.`) : null,
      table(null, ['Id', 'Role', 'Terms', 'Status'], shown.map((s) => h('tr.clickable', {
      tabindex: 0,
      dataset: { swap: s.swapId },
      onclick: () => loadSwap(s.swapId),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); loadSwap(s.swapId); } },
    }, h('td.mono', short(s.swapId)), h('td', s.role),
    h('td', s.terms ? `${s.terms.quantity} ${s.terms.symbol} for ${s.terms.amount} ${s.terms.currency}` : ''),
    h('td', badge(s.status)))), { id: 'swaps-table', 'aria-label': 'Swaps (select one for its steps)' }));
  } catch (e) {
    failed(els.swaps, e, 'Swaps', '/v1/swaps');
  }
}

async function loadSwap(id) {
  try {
    renderSwap(await get(`/v1/swaps/${enc(id)}`));
  } catch (e) {
    failed(els.swap, e, 'Swaps', '/v1/swaps');
  }
}

function renderSwap(s) {
  const t = s.terms || {};
  const stepCls = (st) => (st === 'DONE' || st === 'OBSERVED' ? 'done' : st === 'FAILED' ? 'failed' : st === 'PENDING' || st === 'SKIPPED' ? 'pending' : null);
  replace(els.swap, h('section.detail', { 'aria-label': `Swap ${s.swapId}` },
    h('div.actions', h('h3.title', `Swap ${short(s.swapId)}`), badge(s.status),
      h('button.quiet.small', { type: 'button', onclick: () => loadSwap(s.swapId), 'aria-label': 'Refresh swap' }, '↻')),
    facts([
      ['Id', h('span.mono', s.swapId)], ['Role', s.role],
      ['Initiator', `${t.initiator} gives ${t.quantity} ${t.symbol} (market), until ${fmtTime(t.initiatorTimelock)}`],
      ['Counterparty', `${t.counterparty} gives ${t.amount} ${t.currency} (payments), until ${fmtTime(t.counterpartyTimelock)}`],
      ['Hashlock', h('span.mono', t.hashlock || '')], ['Message', s.message],
    ]),
    h('h3', 'Steps'),
    h('ol.timeline', { id: 'swap-steps' }, (s.steps || []).map((st) => h('li', { class: stepCls(st.status) },
      h('div', h('strong', st.name), ' ', badge(st.status), ` on ${st.channel}`),
      h('div.when', st.time ? fmtTime(st.time) : '', st.attempts ? ` · ${st.attempts} attempt(s)` : '', st.txId ? ` · tx ${st.txId.slice(0, 12)}…` : ''),
      st.message ? h('div', st.message) : null))),
    s.role !== 'COUNTERPARTY' ? h('details', h('summary', 'Terms for the counterparty\'s gateway'),
      h('pre.json', JSON.stringify({ swapId: s.swapId, ...t }, null, 2))) : null));
}

function renderSwapForms() {
  const start = h('form.form', { id: 'swap-form', novalidate: true, 'aria-label': 'Start a swap' },
    h('p.muted', 'You give shares (locked on market); the counterparty gives cash (locked on payments).'),
    h('div.row', field('My account', input('initiator', { list: 'tracked-accounts' })), field('Counterparty account', input('counterparty'))),
    h('div.row', field('Symbol', select('symbol', app.instruments.map((i) => i.symbol))), field('Quantity', input('quantity', { inputmode: 'decimal' }))),
    h('div.row', field('Currency', select('currency', app.currencies)), field('Cash amount', input('amount', { inputmode: 'decimal' }))),
    h('div.actions', h('button', { type: 'submit' }, 'Start swap')));
  start.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(start, async () => {
      const s = await post('/v1/swaps', formValues(start), { wait: true });
      showOk(start, `Swap ${short(s.swapId)}: ${s.status}.`);
      renderSwap(s);
      loadSwaps();
    });
  });
  const accept = h('form.form', { id: 'swap-accept-form', novalidate: true, 'aria-label': 'Accept a swap' },
    field('Terms from the initiator (JSON)', h('textarea', { name: 'terms', class: 'mono', spellcheck: 'false' }), 'as the initiator\'s console shows them'),
    h('div.actions', h('button.quiet', { type: 'submit' }, 'Accept swap')));
  accept.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(accept, async () => {
      let terms;
      try { terms = JSON.parse(formValues(accept).terms); } catch (e) {
        throw Object.assign(new Error(`field terms: not JSON (${e.message})`), { code: 'INVALID_ARGUMENT' });
      }
      const { swapId, ...body } = terms;
      const s = await post(`/v1/swaps/${enc(swapId || '')}/accept`, body, { wait: true });
      showOk(accept, `Swap ${short(s.swapId)}: ${s.status}.`);
      renderSwap(s);
      loadSwaps();
    });
  });
  replace(els.startSwap, start, h('hr'), accept);
}

// ---- HTLCs

function renderHTLCForms() {
  const look = h('form.form', { id: 'htlc-lookup', novalidate: true, role: 'search', 'aria-label': 'Look up an HTLC' },
    h('div.row', field('HTLC id', input('id')), field('Channel', select('channel', [['', 'either'], 'market', 'payments']))),
    h('div.actions', h('button.quiet', { type: 'submit' }, 'Look up')));
  look.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(look);
    submitting(look, async () => renderHTLC(await get(`/v1/htlcs/${enc(v.id)}${q({ channel: v.channel })}`)));
  });
  const preimage = input('preimage', { class: 'mono', spellcheck: 'false' });
  const hashlock = input('hashlock', { class: 'mono', spellcheck: 'false' });
  const lock = h('form.form', { id: 'htlc-lock', novalidate: true, 'aria-label': 'Lock an HTLC' },
    h('div.row', field('Asset', input('asset', { placeholder: 'USD or a symbol' })), field('Amount', input('amount', { inputmode: 'decimal' }))),
    h('div.row', field('Sender (my account)', input('sender', { list: 'tracked-accounts' })), field('Receiver account', input('receiver'))),
    field('Hashlock (hex SHA-256 of the secret)', hashlock),
    h('details', h('summary', 'Draw a secret'), field('Secret (keep it until you claim)', preimage),
      h('button.quiet.small', { type: 'button', onclick: () => {
        const b = crypto.getRandomValues(new Uint8Array(32));
        preimage.value = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
        hashlock.value = sha256bytes(b);
      } }, 'Draw')),
    field('Timelock', h('input', { type: 'datetime-local', name: 'timelock', value: localInput(2 * 3600e3) })),
    h('div.actions', h('button', { type: 'submit' }, 'Lock')));
  lock.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(lock);
    delete v.preimage;
    v.timelock = rfc3339(v.timelock);
    submitting(lock, async () => {
      const x = await post('/v1/htlcs', v, { wait: true });
      showOk(lock, `Locked ${x.htlcId} on ${x.channel}.`);
      renderHTLC(x);
    });
  });
  replace(els.htlcForms, look, h('details', h('summary', 'Lock a new HTLC'), lock));
}

function renderHTLC(x) {
  const claim = h('form.form', { novalidate: true, 'aria-label': 'Claim the HTLC' },
    field('Secret (preimage, 64 hex)', input('preimage', { class: 'mono' })),
    h('div.actions', h('button', { type: 'submit' }, 'Claim'),
      h('button.quiet', { type: 'button', onclick: () => refund() }, 'Refund (after the timelock)')));
  const path = `/v1/htlcs/${enc(x.htlcId)}`;
  const refund = () => submitting(claim, async () => renderHTLC(await post(`${path}/refund${q({ channel: x.channel })}`, {}, { wait: true })));
  claim.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(claim, async () => renderHTLC(await post(`${path}/claim${q({ channel: x.channel })}`, formValues(claim), { wait: true })));
  });
  replace(els.htlc, h('section.detail', { 'aria-label': `HTLC ${x.htlcId}` },
    h('div.actions', h('h3.title', `HTLC ${short(x.htlcId)}`), badge(x.status)),
    facts([['Channel', x.channel], ['Amount', `${x.amount} ${x.asset}`], ['Sender', `${x.sender} (${x.senderOrg})`],
      ['Receiver', `${x.receiver} (${x.receiverOrg})`], ['Hashlock', h('span.mono', x.hashlock)], ['Timelock', fmtTime(x.timelock)],
      ['Secret', x.preimage ? h('span.mono', x.preimage) : '']]),
    (x.messages || []).length ? h('ol.timeline', x.messages.map((m) => h('li', h('div', h('strong', m.type), ` from ${m.senderOrg}`), h('div.when', fmtTime(m.time))))) : null,
    x.status === 'LOCKED' ? claim : null));
}
