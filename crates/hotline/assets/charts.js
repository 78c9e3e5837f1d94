// SVG charts drawn by hand (no library): the trend chart of counts and rates, the rankings of places, their scale.

import { s, intFmt, fmtInt, fmtRate, fmtScore } from './dom.js';
import { bucketLabel } from './periods.js';

export const SERIES = [
  { key: 'response_rate', label: '响应率', color: '#2f6fde' },
  { key: 'resolution_rate', label: '解决率', color: '#1a9a62' },
  { key: 'satisfaction_rate', label: '满意率', color: '#e0862a' },
];

/** A round upper bound for counts, divisible into four whole-number steps. */
export function niceMax(v) {
  const raw = v / 4;
  if (raw <= 1) return 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return 4 * m * p;
  return 40 * p;
}

/** Bars for 诉求量 (left axis), lines for the three rates (right axis, 0–100%). */
export function trendChart(points, by, title) {
  const W = 720; const H = 280;
  const m = { l: 48, r: 48, t: 16, b: 44 };
  const iw = W - m.l - m.r; const ih = H - m.t - m.b;
  const n = Math.max(points.length, 1);
  const step = iw / n;
  const vmax = niceMax(Math.max(0, ...points.map((p) => p.requests || 0)));
  const x = (i) => m.l + step * (i + 0.5);
  const yv = (v) => m.t + ih - (v / vmax) * ih;
  const yr = (r) => m.t + ih - r * ih;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'svgchart', 'aria-label': `${title}趋势：诉求量与三率` });
  // grid and axes
  for (let i = 0; i <= 4; i++) {
    const y = m.t + (ih * i) / 4;
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: m.l - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, intFmt.format(Math.round(vmax * (1 - i / 4)))));
    svg.append(s('text', { x: W - m.r + 6, y: y + 4, class: 'axis' }, `${100 - 25 * i}%`));
  }
  // bars
  const bw = Math.max(2, Math.min(28, step * 0.6));
  points.forEach((p, i) => {
    const v = p.requests || 0;
    const bar = s('rect', { x: x(i) - bw / 2, y: yv(v), width: bw, height: Math.max(0, m.t + ih - yv(v)), class: 'bar' },
      s('title', {}, `${p.key}\n诉求量 ${fmtInt(v)}\n响应率 ${fmtRate(p.response_rate)}\n解决率 ${fmtRate(p.resolution_rate)}\n满意率 ${fmtRate(p.satisfaction_rate)}`));
    svg.append(bar);
  });
  // x labels, thinned to fit
  const every = Math.ceil(n / Math.max(1, Math.floor(iw / 46)));
  points.forEach((p, i) => {
    if (i % every === 0 || (i === n - 1 && i % every >= every / 2)) {
      svg.append(s('text', { x: x(i), y: H - m.b + 16, class: 'axis', 'text-anchor': 'middle' }, bucketLabel(by, p.key)));
    }
  });
  // rate lines: broken where a period has no valid callback
  for (const ser of SERIES) {
    let d = ''; let pen = false;
    points.forEach((p, i) => {
      const r = p[ser.key];
      if (r === null || r === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${yr(r).toFixed(1)}`;
      pen = true;
    });
    if (d) svg.append(s('path', { d, class: 'line', stroke: ser.color }));
    points.forEach((p, i) => {
      const r = p[ser.key];
      if (r === null || r === undefined) return;
      svg.append(s('circle', { cx: x(i), cy: yr(r), r: 2.6, fill: ser.color }, s('title', {}, `${p.key} ${ser.label} ${fmtRate(r)}`)));
    });
  }
  // legend
  const legend = s('g', { class: 'legend', transform: `translate(${m.l},${H - 12})` });
  legend.append(s('rect', { x: 0, y: -9, width: 12, height: 10, class: 'bar' }), s('text', { x: 16, y: 0 }, '诉求量（左轴）'));
  SERIES.forEach((ser, i) => {
    const gx = 130 + i * 80;
    legend.append(s('line', { x1: gx, x2: gx + 18, y1: -4, y2: -4, stroke: ser.color, 'stroke-width': 2.5 }),
      s('text', { x: gx + 22, y: 0 }, ser.label + (i === SERIES.length - 1 ? '（右轴）' : '')));
  });
  svg.append(legend);
  if (!points.some((p) => p.requests || p.valid_callbacks)) {
    svg.append(s('text', { x: W / 2, y: m.t + ih / 2, 'text-anchor': 'middle', class: 'empty' }, '该区间暂无数据'));
  }
  return svg;
}

/**
 * Places as horizontal bars in the order given, each with its rank, by one
 * measure (诉求量, a rate or 综合得分); `labelWidth` leaves room for the names.
 */
export function rankingChart(rows, key, { title, labelWidth }) {
  const isRate = key !== 'requests';
  const rowH = 22; const W = 460; const lw = labelWidth; const vw = 64;
  const H = rows.length * rowH + 8;
  const max = isRate ? 1 : niceMax(Math.max(1, ...rows.map((r) => r[key] || 0)));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'svgchart ranking', 'aria-label': title });
  const bw = W - lw - vw - 8;
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const v = r[key];
    const len = v === null || v === undefined ? 0 : (v / max) * bw;
    const text = key === 'requests' ? fmtInt(v) : key === 'composite' ? fmtScore(v) : fmtRate(v);
    svg.append(
      s('text', { x: lw - 6, y: y + 14, 'text-anchor': 'end', class: 'label' }, `${i + 1}. ${r.label}`),
      s('rect', { x: lw, y: y + 3, width: bw, height: rowH - 8, class: 'track' }),
      s('rect', { x: lw, y: y + 3, width: Math.max(0, len), height: rowH - 8, class: `hbar${r.unknown ? ' unknown' : ''}` },
        s('title', {}, `${r.label}\n诉求量 ${fmtInt(r.requests)}\n响应率 ${fmtRate(r.response_rate)}\n解决率 ${fmtRate(r.resolution_rate)}\n满意率 ${fmtRate(r.satisfaction_rate)}\n综合得分 ${fmtScore(r.composite)}`)),
      s('text', { x: W - 4, y: y + 14, 'text-anchor': 'end', class: 'value' }, text),
    );
  });
  return svg;
}
