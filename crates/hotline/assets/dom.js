// Small DOM helpers: building elements (HTML and SVG) from text, number and time formats.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Creates an element: h('td', {class: 'num', dataset: {col: 'x'}}, 'text', child…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const intFmt = new Intl.NumberFormat('zh-CN');
export const fmtInt = (n) => (n === null || n === undefined ? '—' : intFmt.format(n));
export const fmtRate = (r) => (r === null || r === undefined || Number.isNaN(r) ? '—' : `${(r * 100).toFixed(1)}%`);
export const fmtScore = (r) => (r === null || r === undefined ? '—' : (r * 100).toFixed(1));
export const fmtPct = (p) => `${(p * 100).toFixed(1)}%`;
export const fmtTime = (t) => (t ? String(t).replace('T', ' ').slice(0, 16) : '—');

export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}
