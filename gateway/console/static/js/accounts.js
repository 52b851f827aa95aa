// Accounts: the tracked accounts with their balances (available / reserved per asset), opening
// an account, deposits and withdrawals. Balances refresh when the stream reports an order update
// of a tracked account.

import { post, enc, IS_REGULATOR } from './api.js';
import { app } from './state.js';
import {
  h, replace, field, input, select, formValues, submitting, showOk, errorBox, table, td, debounce,
} from './ui.js';

let els;
const pending = new Set();

export function mount(section) {
  els = { list: h('div', { id: 'account-list' }), move: h('div') };
  const open = h('form.form', { id: 'open-account-form', novalidate: true, 'aria-label': 'Open an account' },
    field('New account id', input('id', { id: 'open-account-id', placeholder: 'alice' }), 'letters, digits and . _ : @ -'),
    h('div.actions', h('button', { type: 'submit' }, 'Open account')));
  open.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(open, async () => {
      const { id } = formValues(open);
      const a = await post('/v1/accounts', { id }, { wait: true });
      app.track(a.id || id);
      showOk(open, `Account ${a.id || id} opened.`);
      open.reset();
    });
  });
  const add = h('form.form', { id: 'track-account-form', novalidate: true, 'aria-label': 'Show an existing account' },
    field('Existing account id', input('id', { id: 'track-account-id' })),
    h('div.actions', h('button.quiet', { type: 'submit' }, 'Show account')));
  add.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitting(add, async () => {
      const { id } = formValues(add);
      const a = await app.account(id);
      app.track(a.id);
      showOk(add, `Showing ${a.id}.`);
      add.reset();
    });
  });
  replace(section,
    h('div.view-head', h('h1', { id: 'accounts-title' }, 'Accounts'),
      h('p', IS_REGULATOR ? 'Any member\'s account, by id (read only).' : 'Balances of the accounts you work with; available and reserved per asset.')),
    h('div.grid.side',
      h('div.panel', { 'aria-labelledby': 'balances-title' },
        h('div.actions', h('h2', { id: 'balances-title' }, 'Balances'),
          h('button.quiet.small', { type: 'button', onclick: () => render(), 'aria-label': 'Refresh balances' }, '↻')),
        els.list),
      h('div.stack',
        IS_REGULATOR ? null : h('div.panel', h('h2', 'Open account'), open),
        h('div.panel', h('h2', 'Add an account'), add),
        IS_REGULATOR ? null : h('div.panel', { 'aria-labelledby': 'move-title' }, h('h2', { id: 'move-title' }, 'Deposit or withdraw'), els.move))));
  app.on('accounts', () => { render(); renderMove(); });
  app.on('account-changed', (id) => { pending.add(id); refreshSoon(); });
  app.on('instruments', renderMove);
}

export function show() {
  render();
  renderMove();
}

const refreshSoon = debounce(() => {
  for (const id of pending) refreshOne(id);
  pending.clear();
}, 800);

function render() {
  const ids = app.accounts();
  if (!ids.length) {
    replace(els.list, h('p.empty', 'No accounts yet: open one, or add an existing id.'));
    return;
  }
  replace(els.list, ids.map((id) => h('section.account', { dataset: { account: id }, 'aria-label': `Account ${id}` }, h('p.muted', `Loading ${id}…`))));
  ids.forEach(refreshOne);
}

async function refreshOne(id) {
  const box = els.list.querySelector(`section[data-account="${CSS.escape(id)}"]`);
  if (!box) return;
  const head = (org) => h('div.actions', h('h3.title', id), org ? h('span.muted', org) : null,
    h('button.small.quiet', { type: 'button', onclick: () => app.untrack(id), 'aria-label': `Stop showing ${id}` }, 'Hide'));
  try {
    const a = await app.account(id);
    const assets = Object.keys(a.balances || {}).sort();
    replace(box, head(a.org), assets.length
      ? table(null, ['Asset', ['Available', 'num'], ['Reserved', 'num']],
        assets.map((k) => h('tr', { dataset: { asset: k } }, h('td', k), td('num', a.balances[k].available), td('num', a.balances[k].reserved))),
        { 'aria-label': `Balances of ${id}` })
      : h('p.empty', 'No balances yet.'));
  } catch (e) {
    replace(box, head(), errorBox(e));
  }
}

function renderMove() {
  if (!els || IS_REGULATOR) return;
  const ids = app.accounts();
  if (!ids.length) { replace(els.move, h('p.empty', 'Open an account first.')); return; }
  const assets = [...app.currencies, ...app.instruments.map((i) => i.symbol)];
  const form = h('form.form', { id: 'movement-form', novalidate: true, 'aria-label': 'Deposit or withdraw' },
    field('Account', select('account', ids, { id: 'move-account' })),
    h('div.row', field('Asset', select('asset', assets, { id: 'move-asset' }), 'a currency, or shares of a symbol'),
      field('Amount', input('amount', { id: 'move-amount', inputmode: 'decimal', placeholder: '10000.00' }))),
    h('div.actions',
      h('button', { type: 'submit', value: 'deposits', id: 'deposit-button' }, 'Deposit'),
      h('button.quiet', { type: 'submit', value: 'withdrawals', id: 'withdraw-button' }, 'Withdraw')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const kind = ev.submitter?.value || 'deposits';
    submitting(form, async () => {
      const v = formValues(form);
      const m = await post(`/v1/accounts/${enc(v.account)}/${kind}`, { asset: v.asset, amount: v.amount }, { wait: true });
      showOk(form, `${kind === 'deposits' ? 'Deposited' : 'Withdrew'} ${m.amount} ${m.asset} ${kind === 'deposits' ? 'to' : 'from'} ${m.account}.`);
      refreshOne(v.account);
    });
  });
  replace(els.move, form);
}

