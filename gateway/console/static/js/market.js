// Market: instruments, the selected symbol's ladder, depth and price charts, recent trades
// (all live from the stream), the order ticket and the open orders of an account.

import { get, post, del, enc, q, newId, IS_REGULATOR } from './api.js';
import { app } from './state.js';
import { depthChart, priceChart } from './charts.js';
import {
  h, s, replace, field, input, select, choices, formValues, submitting, showOk, errorBox, notice,
  table, td, fmtTime, badge, debounce, rfc3339, toast,
} from './ui.js';

const DEPTH = 10;
const OPEN = ['NEW', 'PARTIALLY_FILLED'];

const st = {
  symbol: '',
  book: { bids: [], asks: [] },
  trades: [], // oldest first
  last: {}, // symbol -> last price
  orders: [],
  showClosed: false,
};
let els;

export function mount(section) {
  els = {
    list: h('ul', { id: 'instrument-list' }),
    filter: input('filter', { id: 'instrument-filter', type: 'search', placeholder: 'symbol' }),
    title: h('h2', { id: 'symbol-title' }, 'No instrument selected'),
    info: h('p.muted', { id: 'symbol-info' }),
    ladder: h('div', { id: 'ladder' }),
    depth: s('svg', { id: 'depth-chart' }),
    price: s('svg', { id: 'price-chart' }),
    trades: h('div', { id: 'trades' }),
    ticket: h('div', { id: 'ticket' }),
    orders: h('div', { id: 'open-orders' }),
    ordersAccount: select('ordersAccount', [], { id: 'orders-account' }),
  };
  const left = h('div.panel.instruments', { 'aria-labelledby': 'instruments-title' },
    h('div.actions', h('h2', { id: 'instruments-title' }, 'Instruments'),
      h('button.quiet.small', { type: 'button', onclick: () => loadInstruments(), 'aria-label': 'Refresh instruments' }, '↻')),
    field('Filter', els.filter),
    els.list,
    IS_REGULATOR ? instrumentForm() : null);
  els.filter.addEventListener('input', renderList);
  const center = h('div.center',
    h('div.panel.wide', els.title, els.info),
    h('div.panel', { 'aria-labelledby': 'ladder-title' }, h('h3', { id: 'ladder-title' }, 'Order book'), els.ladder),
    h('div.panel', h('h3', 'Depth'), els.depth),
    h('div.panel', h('h3', 'Price'), els.price),
    h('div.panel', { 'aria-labelledby': 'trades-title' }, h('h3', { id: 'trades-title' }, 'Recent trades'), els.trades));
  const showClosed = h('input', { type: 'checkbox', id: 'orders-closed', onchange: (e) => { st.showClosed = e.target.checked; renderOrders(); } });
  els.ordersAccount.addEventListener('change', () => loadOrders());
  const right = h('div.right.stack',
    h('div.panel', { 'aria-labelledby': 'ticket-title' }, h('h2', { id: 'ticket-title' }, 'Order ticket'), els.ticket),
    h('div.panel', { 'aria-labelledby': 'orders-title' }, h('h2', { id: 'orders-title' }, 'Orders'),
      h('div.row', field('Account', els.ordersAccount)),
      h('div.choices', h('label', showClosed, 'include closed orders')),
      els.orders));
  replace(section,
    h('div.view-head', h('h1', { id: 'market-title' }, 'Market'), h('p', 'The book, trades and your orders, live from the ledger.')),
    h('div.grid.market', left, center, right));
  renderTicket();
  app.on('accounts', () => { renderTicket(); fillAccounts(); });
  app.on('instruments', renderList);
  subscribe();
}

export async function show([symbol]) {
  if (!app.instruments.length) await loadInstruments();
  const sym = symbol || st.symbol || app.instruments[0]?.symbol || '';
  if (sym && sym !== st.symbol) await selectSymbol(sym);
  else if (!sym) renderEmpty();
}

async function loadInstruments() {
  try {
    await app.loadInstruments();
  } catch (e) {
    replace(els.list, h('li', errorBox(e)));
  }
}

function renderList() {
  if (!app.instruments.length) {
    replace(els.list, h('li.empty', IS_REGULATOR ? 'No instruments yet: list one below.' : 'No instruments listed yet.'));
    return;
  }
  const f = els.filter.value.trim().toUpperCase();
  const shown = app.instruments.filter((i) => !f || i.symbol.includes(f) || i.symbol === st.symbol);
  if (!shown.length) { replace(els.list, h('li.empty', 'No symbol matches.')); return; }
  replace(els.list, shown.map((i) => h('li', h('button', {
    type: 'button',
    'aria-pressed': String(i.symbol === st.symbol),
    dataset: { symbol: i.symbol },
    onclick: () => { location.hash = `#/market/${enc(i.symbol)}`; },
  }, h('span', i.symbol), h('span.last', st.last[i.symbol] || i.currency)))));
}

function renderEmpty() {
  replace(els.title, 'No instrument selected');
  replace(els.ladder, h('p.empty', 'Select an instrument.'));
}

async function selectSymbol(symbol) {
  st.symbol = symbol;
  st.book = { bids: [], asks: [] };
  st.trades = [];
  renderList();
  const ins = app.instrument(symbol);
  replace(els.title, symbol);
  replace(els.info, ins ? `${ins.currency} · tick ${ins.tickSize} · lot ${ins.lotSize} · ${ins.algorithm || 'FIFO'}` : '');
  renderTicket();
  fillAccounts();
  await Promise.all([loadBook(), loadTrades(), loadOrders()]);
}

async function loadBook() {
  const sym = st.symbol;
  try {
    const b = await get(`/v1/orderbook/${enc(sym)}${q({ depth: DEPTH })}`);
    if (sym === st.symbol) { st.book = b; renderBook(false); }
  } catch (e) {
    replace(els.ladder, errorBox(e));
  }
}

async function loadTrades() {
  const sym = st.symbol;
  try {
    // Oldest first, at most 1000 a page: follow the pages to the newest trades.
    let all = [];
    let after = '';
    for (let i = 0; i < 10; i++) {
      const page = await get(`/v1/trades${q({ symbol: sym, limit: 1000, after })}`);
      all = all.concat(page || []).slice(-500);
      if (!page || page.length < 1000) break;
      after = page[page.length - 1].tradeId;
    }
    if (sym !== st.symbol) return;
    st.trades = all;
    if (all.length) st.last[sym] = all[all.length - 1].price;
    renderTrades();
  } catch (e) {
    replace(els.trades, errorBox(e));
  }
}

function subscribe() {
  app.stream.on('book', (m) => {
    const b = m.data;
    if (b.lastPrice) { st.last[b.symbol] = b.lastPrice; renderLast(b.symbol); }
    if (b.symbol !== st.symbol) return;
    st.book = b;
    renderBook(true);
  });
  app.stream.on('trade', (m) => {
    const t = m.data;
    st.last[t.symbol] = t.price;
    renderLast(t.symbol);
    if (t.symbol !== st.symbol || st.trades.some((x) => x.tradeId === t.tradeId)) return;
    st.trades.push(t);
    st.trades = st.trades.slice(-500);
    renderTradesSoon();
  });
  app.stream.on('orderUpdate', (m) => {
    const u = m.data;
    if (app.accounts().includes(u.account)) {
      app.emit('account-changed', u.account);
      if (u.account === els.ordersAccount.value) loadOrdersSoon();
    }
  });
}

const renderTradesSoon = debounce(() => renderTrades(true), 50);
const loadOrdersSoon = debounce(() => loadOrders(), 300);

function renderLast(symbol) {
  const b = els.list.querySelector(`button[data-symbol="${CSS.escape(symbol)}"] .last`);
  if (b) b.textContent = st.last[symbol];
}

function renderBook(flash) {
  const { bids = [], asks = [] } = st.book;
  const max = Math.max(1, ...bids.map((l) => parseFloat(l.quantity)), ...asks.map((l) => parseFloat(l.quantity)));
  const row = (side, l) => {
    const bar = h('div.bar');
    bar.style.width = `${(100 * parseFloat(l.quantity)) / max}%`;
    return h('tr', { class: side, dataset: { price: l.price }, onclick: () => setTicketPrice(l.price) },
      td('px', h('span', l.price)),
      td('qty', bar, h('span', l.quantity)),
      td('num', h('span', String(l.orders ?? ''))));
  };
  const askRows = asks.slice(0, DEPTH).reverse().map((l) => row('ask', l));
  const bidRows = bids.slice(0, DEPTH).map((l) => row('bid', l));
  let spread = 'empty book';
  if (asks.length && bids.length) spread = `spread ${(parseFloat(asks[0].price) - parseFloat(bids[0].price)).toFixed(decimals(asks[0].price))}`;
  else if (asks.length || bids.length) spread = asks.length ? 'no bids' : 'no asks';
  const spreadRow = h('tr.spread', h('td', { colspan: 3 }, spread));
  const t = table(`Order book of ${st.symbol}: asks above, bids below`, ['Price', ['Quantity', 'num'], ['Orders', 'num']],
    [...askRows, spreadRow, ...bidRows], { class: 'ladder', id: 'ladder-table' });
  t.querySelector('caption').className = 'muted';
  replace(els.ladder, t);
  if (flash) t.querySelector('table').classList.add('flash');
  depthChart(els.depth, st.book, st.symbol);
}

function decimals(p) { const i = String(p).indexOf('.'); return i < 0 ? 0 : String(p).length - i - 1; }

function renderTrades(flash) {
  const recent = st.trades.slice(-50).reverse();
  const rows = recent.map((t, i) => h('tr', { class: flash && i === 0 ? 'flash' : null, dataset: { trade: t.tradeId } },
    h('td', fmtTime(t.time)), td('num', t.price), td('num', t.quantity),
    h('td', t.takerSide ? h('span', { class: `side-${t.takerSide}` }, t.takerSide === 'BUY' ? 'buy' : 'sell') : '')));
  replace(els.trades, recent.length
    ? table(null, ['Time', ['Price', 'num'], ['Qty', 'num'], 'Taker'], rows, { id: 'trades-table', 'aria-labelledby': 'trades-title' })
    : h('p.empty', 'No trades yet.'));
  priceChart(els.price, st.trades, st.symbol);
}

// ---- order ticket

let ticketForm;

function setTicketPrice(p) {
  if (ticketForm && ticketForm.elements.price && !ticketForm.elements.price.disabled) {
    ticketForm.elements.price.value = p;
    ticketForm.elements.price.focus();
  }
}

function renderTicket() {
  if (!els) return;
  const accts = app.accounts();
  if (!st.symbol) { replace(els.ticket, h('p.empty', 'Select an instrument.')); return; }
  if (!accts.length) {
    replace(els.ticket, notice('Open or add an account under ', h('a', { href: '#/accounts' }, 'Accounts'), ' to trade.'));
    return;
  }
  const prev = ticketForm ? formValues(ticketForm) : {};
  const type = select('type', ['LIMIT', 'MARKET', 'STOP', 'STOP_LIMIT'], { id: 'ticket-type' });
  const tif = select('timeInForce', [['', 'default'], 'GTC', 'IOC', 'FOK', 'GTT'], { id: 'ticket-tif' });
  const price = input('price', { id: 'ticket-price', inputmode: 'decimal', placeholder: '20.15' });
  const stop = input('stopPrice', { id: 'ticket-stop', inputmode: 'decimal' });
  const exp = h('input', { name: 'expireTime', id: 'ticket-expire', type: 'datetime-local' });
  const cap = input('maxNotional', { id: 'ticket-cap', inputmode: 'decimal' });
  const f = {
    price: field('Price', price), stop: field('Stop price', stop),
    exp: field('Expires', exp), cap: field('Max notional', cap, 'cash cap of a market buy'),
  };
  const sideSet = choices('Side', 'radio', 'side', [['BUY', 'Buy'], ['SELL', 'Sell']], [prev.side || 'BUY']);
  const form = h('form.form', { id: 'ticket-form', novalidate: true, 'aria-label': `Order ticket for ${st.symbol}` },
    field('Account', select('account', accts, { id: 'ticket-account' })),
    sideSet,
    h('div.row', field('Type', type), field('Time in force', tif)),
    h('div.row', field('Quantity', input('quantity', { id: 'ticket-qty', inputmode: 'decimal', placeholder: '100' })), f.price),
    h('div.row', f.stop, f.exp),
    f.cap,
    h('div.actions', h('button', { type: 'submit', id: 'ticket-submit' }, 'Place order')));
  const sync = () => {
    const v = type.value;
    const limit = v === 'LIMIT' || v === 'STOP_LIMIT';
    const stopT = v === 'STOP' || v === 'STOP_LIMIT';
    const buy = form.querySelector('input[name=side]:checked')?.value === 'BUY';
    toggle(f.price, limit);
    toggle(f.stop, stopT);
    toggle(f.exp, tif.value === 'GTT');
    toggle(f.cap, !limit);
    cap.required = !limit && buy;
    const btn = form.querySelector('#ticket-submit');
    btn.className = buy ? 'buy' : 'sell';
    btn.textContent = `${buy ? 'Buy' : 'Sell'} ${st.symbol}`;
  };
  type.addEventListener('change', sync);
  tif.addEventListener('change', sync);
  sideSet.addEventListener('change', sync);
  for (const [k, v] of Object.entries(prev)) {
    const el = form.elements[k];
    if (el && el.tagName && k !== 'side' && v !== undefined) el.value = v;
  }
  if (prev.account && accts.includes(prev.account)) form.elements.account.value = prev.account;
  form.elements.account.addEventListener('change', () => { els.ordersAccount.value = form.elements.account.value; loadOrders(); });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); placeOrder(form); });
  ticketForm = form;
  replace(els.ticket, form);
  sync();
}

function toggle(wrap, on) {
  wrap.hidden = !on;
  for (const el of wrap.querySelectorAll('input,select')) el.disabled = !on;
}

async function placeOrder(form) {
  const v = formValues(form);
  const body = { clientOrderId: newId('web'), account: v.account, symbol: st.symbol, side: v.side, type: v.type, quantity: v.quantity };
  if (v.timeInForce) body.timeInForce = v.timeInForce;
  for (const k of ['price', 'stopPrice', 'maxNotional']) if (v[k]) body[k] = v[k];
  if (v.expireTime) body.expireTime = rfc3339(v.expireTime);
  await submitting(form, async () => {
    const o = await post('/v1/orders', body);
    showOk(form, `Order ${o.orderId ? o.orderId.slice(0, 12) : ''} accepted (${o.status || 'NEW'}); it trades at the next match.`);
    toast(`${body.side} ${body.quantity} ${body.symbol} accepted`);
    if (els.ordersAccount.value !== body.account) els.ordersAccount.value = body.account;
    loadOrdersSoon();
  });
}

// ---- orders

function fillAccounts() {
  const accts = app.accounts();
  const cur = els.ordersAccount.value || ticketForm?.elements?.account?.value || accts[0] || '';
  replace(els.ordersAccount, accts.map((a) => h('option', { value: a }, a)));
  if (accts.includes(cur)) els.ordersAccount.value = cur;
}

async function loadOrders() {
  const acct = els.ordersAccount.value;
  if (!acct || !st.symbol) { replace(els.orders, h('p.empty', 'No account selected.')); return; }
  try {
    st.orders = (await get(`/v1/orders${q({ account: acct, symbol: st.symbol })}`)) || [];
    renderOrders();
  } catch (e) {
    replace(els.orders, errorBox(e));
  }
}

function renderOrders() {
  const list = st.orders.filter((o) => st.showClosed || OPEN.includes(o.status))
    .sort((a, b) => (b.createdTime || '').localeCompare(a.createdTime || ''));
  if (!list.length) {
    replace(els.orders, h('p.empty', st.showClosed ? 'No orders in this symbol.' : 'No open orders in this symbol.'));
    return;
  }
  const rows = list.map((o) => h('tr', { dataset: { order: o.orderId } },
    h('td', h('span', { class: `side-${o.side}` }, o.side)),
    h('td', o.type === 'LIMIT' ? '' : o.type),
    td('num', o.price || o.stopPrice || 'mkt'),
    td('num', `${o.filledQuantity || '0'}/${o.quantity}`),
    h('td', badge(o.status)),
    h('td', OPEN.includes(o.status)
      ? h('button.small.quiet', { type: 'button', 'aria-label': `Cancel order ${o.clientOrderId || o.orderId}`, onclick: (e) => cancel(o, e.target) }, 'Cancel')
      : '')));
  replace(els.orders, table(null, ['Side', 'Type', ['Price', 'num'], ['Filled', 'num'], 'Status', ''], rows, { id: 'orders-table', 'aria-labelledby': 'orders-title' }));
}

async function cancel(o, btn) {
  btn.disabled = true;
  try {
    await del(`/v1/orders/${enc(o.orderId)}`);
    btn.textContent = 'Cancelling…';
    toast('Cancel requested: applied by the next match');
    loadOrdersSoon();
  } catch (e) {
    btn.disabled = false;
    toast(`${e.code}: ${e.message}`, true);
  }
}

// ---- listing (Regulator)

function instrumentForm() {
  const form = h('form.form', { id: 'instrument-form', novalidate: true, 'aria-label': 'List an instrument' },
    h('div.row', field('Symbol', input('symbol', { placeholder: 'ACME' })), field('Currency', select('currency', app.currencies))),
    h('div.row', field('Tick size', input('tickSize', { value: '0.01', inputmode: 'decimal' })), field('Lot size', input('lotSize', { value: '1', inputmode: 'decimal' }))),
    field('Algorithm', select('algorithm', ['FIFO', 'PRO_RATA'])),
    h('div.actions', h('button', { type: 'submit' }, 'List instrument')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(form, async () => {
      const v = formValues(form);
      const ins = await post('/v1/instruments', v, { wait: true });
      showOk(form, `${ins.symbol} listed.`);
      await loadInstruments();
      location.hash = `#/market/${enc(ins.symbol)}`;
    });
  });
  return h('details', h('summary', 'List an instrument'), form);
}
