// Two small hand-drawn SVG charts: market depth (cumulative quantity by price) and the price of
// recent trades. Decimal strings become floats here for drawing only.

import { s, replace } from './ui.js';

const W = 400;
const H = 180;
const PAD = { l: 44, r: 8, t: 8, b: 22 };

function scale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function fmt(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(a >= 100 ? 1 : 2);
}

function frame(svgEl, title) {
  svgEl.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svgEl.setAttribute('class', 'chart');
  svgEl.setAttribute('role', 'img');
  replace(svgEl, s('title', {}, title));
  svgEl.setAttribute('aria-label', title);
  svgEl.append(s('line', { class: 'axis', x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }));
  svgEl.append(s('line', { class: 'axis', x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b }));
}

function label(svgEl, x, y, text, anchor = 'middle') {
  svgEl.append(s('text', { x, y, 'text-anchor': anchor }, text));
}

/** depthChart draws a book ({bids, asks} of {price, quantity}) into svgEl. */
export function depthChart(svgEl, book, symbol) {
  const bids = (book?.bids || []).map((l) => [parseFloat(l.price), parseFloat(l.quantity)]);
  const asks = (book?.asks || []).map((l) => [parseFloat(l.price), parseFloat(l.quantity)]);
  const cum = (levels) => { let c = 0; return levels.map(([p, q]) => [p, (c += q)]); };
  const cb = cum(bids); // best (highest) first
  const ca = cum(asks); // best (lowest) first
  const desc = `Depth chart of ${symbol}: ${bids.length} bid levels, ${asks.length} ask levels`;
  frame(svgEl, desc);
  if (!cb.length && !ca.length) {
    label(svgEl, W / 2, H / 2, 'empty book');
    return;
  }
  const prices = [...cb, ...ca].map(([p]) => p);
  let lo = Math.min(...prices);
  let hi = Math.max(...prices);
  const pad = (hi - lo) * 0.05 || Math.max(hi * 0.01, 0.01);
  lo -= pad;
  hi += pad;
  const maxQ = Math.max(...[...cb, ...ca].map(([, q]) => q));
  const x = scale(lo, hi, PAD.l, W - PAD.r);
  const y = scale(0, maxQ * 1.05, H - PAD.b, PAD.t);
  const area = (pts, toward) => {
    if (!pts.length) return '';
    let d = `M${x(pts[0][0])},${y(0)}`;
    let prevQ = 0;
    for (const [p, q] of pts) {
      d += ` L${x(p)},${y(prevQ)} L${x(p)},${y(q)}`;
      prevQ = q;
    }
    const end = toward < 0 ? lo : hi;
    d += ` L${x(end)},${y(prevQ)} L${x(end)},${y(0)} Z`;
    return d;
  };
  if (cb.length) svgEl.append(s('path', { class: 'bid', d: area(cb, -1) }));
  if (ca.length) svgEl.append(s('path', { class: 'ask', d: area(ca, +1) }));
  label(svgEl, PAD.l, H - 6, fmt(lo), 'start');
  label(svgEl, W - PAD.r, H - 6, fmt(hi), 'end');
  if (cb.length && ca.length) label(svgEl, W / 2, H - 6, `spread ${fmt(ca[0][0] - cb[0][0])}`);
  label(svgEl, PAD.l - 4, PAD.t + 8, fmt(maxQ), 'end');
  label(svgEl, PAD.l - 4, H - PAD.b, '0', 'end');
}

/** priceChart draws the prices of trades (oldest first, {price, time}) into svgEl. */
export function priceChart(svgEl, trades, symbol) {
  const pts = trades.map((t) => [Date.parse(t.time), parseFloat(t.price)]).filter(([t, p]) => !Number.isNaN(t) && !Number.isNaN(p));
  const last = pts.length ? pts[pts.length - 1][1] : null;
  frame(svgEl, `Price chart of ${symbol}: ${pts.length} trades${last !== null ? `, last ${fmt(last)}` : ''}`);
  if (!pts.length) {
    label(svgEl, W / 2, H / 2, 'no trades yet');
    return;
  }
  let lo = Math.min(...pts.map(([, p]) => p));
  let hi = Math.max(...pts.map(([, p]) => p));
  const pad = (hi - lo) * 0.1 || Math.max(hi * 0.01, 0.01);
  lo -= pad;
  hi += pad;
  // Trades are spaced by their order (many share a block time); the axis names the ends.
  const x = scale(0, Math.max(pts.length - 1, 1), PAD.l + 4, W - PAD.r - 4);
  const y = scale(lo, hi, H - PAD.b, PAD.t);
  const d = pts.map(([, p], i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p).toFixed(1)}`).join(' ');
  svgEl.append(s('path', { class: 'line', d }));
  const [, lp] = pts[pts.length - 1];
  svgEl.append(s('circle', { class: 'dot', cx: x(pts.length - 1), cy: y(lp), r: 3 }));
  label(svgEl, PAD.l - 4, PAD.t + 8, fmt(hi), 'end');
  label(svgEl, PAD.l - 4, H - PAD.b, fmt(lo), 'end');
  const t = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  label(svgEl, PAD.l + 4, H - 6, t(pts[0][0]), 'start');
  label(svgEl, W - PAD.r, H - 6, t(pts[pts.length - 1][0]), 'end');
}
