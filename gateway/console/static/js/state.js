// State shared by the sections: the live stream, instruments, and the accounts this browser
// tracks (the REST API lists an account's data by id; which ids an operator works with is kept
// in localStorage, per org).

import { get, local, enc } from './api.js';

const listeners = new Map();

export const app = {
  /** stream is the market stream (set after sign-in). */
  stream: null,

  /** on/emit: a small event bus between sections ("accounts", "instruments"). */
  on(ev, fn) {
    if (!listeners.has(ev)) listeners.set(ev, new Set());
    listeners.get(ev).add(fn);
  },
  emit(ev, data) {
    for (const fn of listeners.get(ev) || []) fn(data);
  },

  instruments: [],
  async loadInstruments() {
    const list = await get('/v1/instruments');
    this.instruments = (list || []).sort((a, b) => a.symbol.localeCompare(b.symbol));
    this.emit('instruments', this.instruments);
    return this.instruments;
  },
  instrument(symbol) { return this.instruments.find((i) => i.symbol === symbol); },

  /** accounts are the tracked account ids, most recent first. */
  accounts() { return local.get('accounts', []); },
  track(id) {
    const list = [id, ...this.accounts().filter((a) => a !== id)].slice(0, 50);
    local.set('accounts', list);
    this.emit('accounts', list);
  },
  untrack(id) {
    const list = this.accounts().filter((a) => a !== id);
    local.set('accounts', list);
    this.emit('accounts', list);
  },
  async account(id) { return get(`/v1/accounts/${enc(id)}`); },

  /** currencies the ledger knows (cash assets). */
  currencies: ['USD', 'EUR', 'GBP', 'CHF', 'JPY'],
  /** orgs that can hold accounts and numbers, by MSP ID. */
  telcos: ['Org1MSP', 'Org2MSP', 'Org3MSP'],
  orgs: ['Org1MSP', 'Org2MSP', 'Org3MSP', 'RegulatorMSP'],
};
