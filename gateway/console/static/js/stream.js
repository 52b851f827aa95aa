// The live streams: the gateway's /v1/stream (trades, order updates, book updates) and the
// watcher's alert stream, both as Server-Sent Events. EventSource cannot set headers, so the
// key travels as ?access_token= (both servers accept it on their stream route only).
// EventSource resumes by itself with Last-Event-ID after a network error; when the server
// refuses or the connection is closed for good, we reopen from the last checkpoint + 1.

import { key } from './api.js';

/** Stream is one SSE connection with typed listeners. */
export class Stream {
  constructor(url, types, onState) {
    this.url = url;
    this.types = types;
    this.onState = onState || (() => {});
    this.handlers = new Map();
    this.lastId = null;
    this.es = null;
    this.timer = null;
    this.stopped = true;
    this.delay = 2000; // reopening backs off to a minute while the server refuses
  }

  /** on registers fn(data, message) for an event type; returns an unsubscribe function. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  emit(type, msg) {
    for (const fn of this.handlers.get(type) || []) {
      try { fn(msg); } catch (e) { console.warn('stream handler', e); }
    }
  }

  start() {
    this.stopped = false;
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    const u = new URL(this.url, location.href);
    u.searchParams.set('access_token', key());
    if (this.lastId !== null && this.resumeParam) u.searchParams.set(this.resumeParam, this.resumeValue(this.lastId));
    const es = new EventSource(u.pathname + u.search);
    this.es = es;
    es.onopen = () => { this.delay = 2000; this.onState(true); };
    es.onerror = () => {
      this.onState(false);
      if (es.readyState === EventSource.CLOSED && !this.stopped) {
        this.timer = setTimeout(() => this.open(), this.delay);
        this.delay = Math.min(this.delay * 2, 60000);
      }
    };
    for (const t of this.types) {
      es.addEventListener(t, (ev) => {
        if (ev.lastEventId) this.lastId = ev.lastEventId;
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        this.emit(t, msg);
      });
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
    this.onState(false);
  }
}

/** marketStream returns the stream of this gateway's exchange events. */
export function marketStream(onState) {
  const s = new Stream('/v1/stream', ['trade', 'orderUpdate', 'book', 'checkpoint'], onState);
  s.resumeParam = 'fromBlock';
  s.resumeValue = (id) => String(Number(id) + 1); // the id of a checkpoint is its block
  return s;
}

/** alertStream returns the watcher's notification stream of user. */
export function alertStream(user) {
  const s = new Stream(`/watcher/v1/alerts/stream?user=${encodeURIComponent(user)}`, ['notification']);
  s.resumeParam = 'after';
  s.resumeValue = (id) => String(id);
  return s;
}
