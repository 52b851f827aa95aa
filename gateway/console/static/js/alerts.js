// Alerts: the price watcher's subscriptions and the notifications received, through the
// gateway's /watcher proxy; new notifications arrive live from the watcher's alert stream.

import { watcher, q, enc, local, ORG } from './api.js';
import { app } from './state.js';
import { alertStream } from './stream.js';
import {
  h, replace, field, input, select, choices, formValues, submitting, showOk, errorBox, notice, table,
  fmtTime, badge, toast,
} from './ui.js';

let els;
let stream = null;
let unseen = 0;
let visible = false;
let items = []; // notifications, newest first

function user() { return local.get('watcherUser', ORG); }

/** background starts the live notification stream after sign-in (for the unread count). */
export function background() {
  connect();
}

function connect() {
  if (stream) stream.stop();
  stream = alertStream(user());
  stream.on('notification', (n) => {
    if (items.some((x) => x.id === n.id && x.seq === n.seq)) return;
    items.unshift(n);
    if (!visible) { unseen++; badgeCount(); }
    if (els) renderNotifications(n.seq);
  });
  stream.start();
}

function badgeCount() {
  const el = document.getElementById('alert-count');
  el.hidden = unseen === 0;
  el.textContent = String(unseen);
  el.setAttribute('aria-label', `${unseen} new`);
}

export function mount(section) {
  els = { subs: h('div', { id: 'subscriptions' }), notes: h('div', { id: 'notifications' }), create: h('div'), status: h('div') };
  const userForm = h('form.form', { id: 'watcher-user-form', novalidate: true, 'aria-label': 'Watcher user' },
    h('div.row', field('Watcher user', input('user', { id: 'watcher-user', value: user() }), 'whose subscriptions and notifications to show')),
    h('div.actions', h('button.quiet', { type: 'submit' }, 'Switch user')));
  userForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const u = formValues(userForm).user;
    if (!u) return;
    local.set('watcherUser', u);
    items = [];
    connect();
    load();
  });
  replace(section,
    h('div.view-head', h('h1', { id: 'alerts-title' }, 'Alerts'), h('p', 'Price moves of 5% or 10% (or your thresholds) within a day or a week, from the watcher.')),
    els.status,
    h('div.grid.side',
      h('div.stack',
        h('div.panel', { 'aria-labelledby': 'notes-title' },
          h('div.actions', h('h2', { id: 'notes-title' }, 'Notifications'),
            h('button.quiet.small', { type: 'button', onclick: () => loadNotifications(), 'aria-label': 'Refresh notifications' }, '↻')),
          els.notes),
        h('div.panel', { 'aria-labelledby': 'subs-title' }, h('h2', { id: 'subs-title' }, 'Subscriptions'), els.subs)),
      h('div.stack', h('div.panel', userForm), h('div.panel', h('h2', 'Subscribe'), els.create))));
}

export function show() {
  visible = true;
  unseen = 0;
  badgeCount();
  load();
  window.addEventListener('hashchange', () => { visible = location.hash.startsWith('#/alerts'); }, { once: true });
}

function load() {
  renderCreate();
  loadSubscriptions();
  loadNotifications();
}

function down(e) {
  return e.status === 502 || e.status === 0
    ? notice('The price watcher is not reachable from this gateway (', h('code', '--watcher-url'), ').')
    : errorBox(e);
}

async function loadSubscriptions() {
  try {
    const r = await watcher('GET', `/v1/subscriptions${q({ user: user() })}`);
    const subs = (r && r.subscriptions) || [];
    if (!subs.length) { replace(els.subs, h('p.empty', 'No subscriptions.')); return; }
    replace(els.subs, table(null, ['Symbol', 'Thresholds', 'Windows', 'Directions', 'Channels', ''], subs.map((s) => h('tr', { dataset: { subscription: s.id } },
      h('td', h('strong', s.symbol)), h('td', (s.thresholds || []).map((t) => `${t}%`).join(', ')),
      h('td', (s.windows || []).join(', ')), h('td', (s.directions || []).join(', ')),
      h('td', (s.channels || []).map((c) => c.type + (c.url || c.to ? ` ${c.url || c.to}` : '')).join('; ')),
      h('td', h('button.small.quiet', { type: 'button', 'aria-label': `Delete subscription to ${s.symbol}`, onclick: () => remove(s) }, 'Delete')))),
    { id: 'subscriptions-table', 'aria-labelledby': 'subs-title' }));
  } catch (e) {
    replace(els.subs, down(e));
  }
}

async function remove(s) {
  try {
    await watcher('DELETE', `/v1/subscriptions/${enc(s.id)}`);
    toast(`Unsubscribed from ${s.symbol}`);
    loadSubscriptions();
  } catch (e) {
    toast(`${e.code}: ${e.message}`, true);
  }
}

async function loadNotifications() {
  try {
    // Oldest first, by sequence number: follow the pages to the newest.
    let all = [];
    let after = '';
    for (let i = 0; i < 5; i++) {
      const r = await watcher('GET', `/v1/alerts${q({ user: user(), limit: 1000, after })}`);
      const page = (r && r.alerts) || [];
      all = all.concat(page).slice(-100);
      if (page.length < 1000) break;
      after = page[page.length - 1].seq;
    }
    const seen = new Set(all.map((n) => `${n.id}/${n.seq}`));
    items = [...items.filter((n) => !seen.has(`${n.id}/${n.seq}`)), ...all.reverse()].sort((a, b) => (b.seq || 0) - (a.seq || 0)).slice(0, 100);
    renderNotifications();
  } catch (e) {
    replace(els.notes, down(e));
  }
}

function renderNotifications(newSeq) {
  if (!items.length) { replace(els.notes, h('p.empty', `No notifications for ${user()} yet.`)); return; }
  replace(els.notes, h('ul.alerts-list', { id: 'notification-list', 'aria-live': 'polite' }, items.slice(0, 100).map((n) => {
    const title = n.title || (n.type === 'PRICE_CHANGE'
      ? `${n.symbol} ${String(n.changePercent || '').startsWith('-') ? 'down' : 'up'} ${String(n.changePercent || '').replace(/^[-+]/, '')}% over ${n.window}`
      : `${n.symbol} ${n.type}`);
    return h('li', { class: n.seq === newSeq ? 'new' : null },
      h('div.actions', h('strong', title), n.state ? badge(n.state) : null),
      h('div.when', fmtTime(n.createdAt || n.time), n.price ? ` · ${n.price} (was ${n.referencePrice}, threshold ${n.threshold}%)` : ''),
      n.message ? h('div', n.message) : null);
  })));
}

function renderCreate() {
  const symbols = app.instruments.map((i) => i.symbol);
  const chan = select('channel', [['stream', 'this console (live stream)'], ['webhook', 'webhook'], ['email', 'e-mail']], { id: 'sub-channel' });
  const target = input('target', { id: 'sub-target', placeholder: 'https://… or name@example.com' });
  const targetField = field('Webhook URL or e-mail address', target);
  const form = h('form.form', { id: 'subscribe-form', novalidate: true, 'aria-label': 'Subscribe to price alerts' },
    field('Symbol', input('symbol', { id: 'sub-symbol', list: 'alert-symbols', placeholder: symbols[0] || 'ACME' })),
    h('datalist', { id: 'alert-symbols' }, symbols.map((s) => h('option', { value: s }))),
    field('Thresholds (%)', input('thresholds', { id: 'sub-thresholds', placeholder: '5, 10' }), 'empty: 5 and 10'),
    choices('Windows', 'checkbox', 'windows', [['1d', 'day'], ['1w', 'week']], ['1d', '1w']),
    choices('Directions', 'checkbox', 'directions', [['up', 'up'], ['down', 'down']], ['up', 'down']),
    field('Deliver to', chan),
    targetField,
    h('div.actions', h('button', { type: 'submit' }, 'Subscribe')));
  const sync = () => { targetField.hidden = chan.value === 'stream'; target.disabled = chan.value === 'stream'; };
  chan.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const channel = { type: v.channel };
    if (v.channel === 'webhook') channel.url = v.target;
    if (v.channel === 'email') channel.to = v.target;
    const body = {
      user: user(), symbol: v.symbol,
      thresholds: v.thresholds ? v.thresholds.split(/[\s,]+/).filter(Boolean) : [],
      windows: v.windows, directions: v.directions, channels: [channel],
    };
    submitting(form, async () => {
      const s = await watcher('POST', '/v1/subscriptions', body);
      showOk(form, `Subscribed to ${s.symbol}.`);
      loadSubscriptions();
    });
  });
  replace(els.create, form);
}
