// Entry point: sign-in, the section router (#/market, #/accounts, ...), the live stream.

import { ORG, key, setKey, clearKey, get, whenUnauthorized } from './api.js';
import { marketStream } from './stream.js';
import { app } from './state.js';
import * as market from './market.js';
import * as accounts from './accounts.js';
import * as settlements from './settlements.js';
import * as numbers from './numbers.js';
import * as alerts from './alerts.js';
import { toast } from './ui.js';

const views = { market, accounts, settlements, numbers, alerts };
const mounted = new Set();
let shown = '';
const $ = (id) => document.getElementById(id);

function setLive(on) {
  const el = $('live');
  el.textContent = on ? '● live' : '○ reconnecting';
  el.classList.toggle('on', on);
}

function route() {
  if (!key()) return;
  const [, name = 'market', ...rest] = location.hash.replace(/^#/, '').split('/');
  const view = views[name] ? name : 'market';
  for (const [n] of Object.entries(views)) {
    $(`view-${n}`).hidden = n !== view;
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const section = $(`view-${view}`);
  if (!mounted.has(view)) {
    views[view].mount(section);
    mounted.add(view);
  }
  views[view].show(rest.map(decodeURIComponent));
  if (shown && shown !== view) {
    // Screen readers and keyboards start at the new screen's heading.
    const h1 = section.querySelector('h1');
    if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: true }); }
  }
  shown = view;
}

function signedIn() {
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('session').hidden = false;
  app.stream = marketStream(setLive);
  app.stream.start();
  alerts.background();
  if (!location.hash) location.replace('#/market');
  route();
}

function signOut() {
  clearKey();
  location.hash = '';
  location.reload();
}

async function signIn(ev) {
  ev.preventDefault();
  const input = $('apikey');
  const err = $('signin-error');
  err.hidden = true;
  const k = input.value.trim();
  if (!k) {
    err.textContent = 'Enter the API key.';
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  try {
    await get('/v1/instruments', { key: k });
  } catch (e) {
    err.textContent = e.status === 401 ? 'This API key is not known.' : `${e.code}: ${e.message}`;
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  input.value = '';
  setKey(k);
  signedIn();
}

function boot() {
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  whenUnauthorized(() => {
    toast('The API key was refused; sign in again.', true);
    clearKey();
    setTimeout(() => location.reload(), 1500);
  });
  document.title = `fabmarket console · ${ORG}`;
  if (key()) signedIn();
  else $('apikey').focus();
}

boot();
