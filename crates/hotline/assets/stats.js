// The 统计 tab: the period chooser, the topic table, the trend, the district and street rankings, the stats export.

import { $, $$, h, s, fmtInt, fmtRate, fmtScore } from './dom.js';
import { D, ymd, addDays, monthStart, monthEnd, todayLocal, parseYm, shiftYm, mondayOf, isoWeekKey, amonthKey, amonthRange, bucketKeys } from './periods.js';
import { ApiError, api, query, showError, download } from './api.js';
import { topics, topicName } from './names.js';
import { renderModelCard } from './model.js';
import { trendChart, rankingChart } from './charts.js';

export const COLUMNS = [
  { key: 'name', label: '专题', type: 'text' },
  { key: 'requests', label: '诉求量', type: 'int' },
  { key: 'consultations', label: '咨询', type: 'int' },
  { key: 'repeats', label: '重复', type: 'int' },
  { key: 'valid_callbacks', label: '有效回访', type: 'int' },
  { key: 'response_rate', label: '响应率', type: 'rate' },
  { key: 'resolution_rate', label: '解决率', type: 'rate' },
  { key: 'satisfaction_rate', label: '满意率', type: 'rate' },
  { key: 'dispatch_on_time_rate', label: '派单及时率', type: 'rate' },
  { key: 'feedback_on_time_rate', label: '反馈及时率', type: 'rate' },
  { key: 'composite', label: '综合得分', type: 'score' },
];

export const stats = { rows: [], total: null, sort: { key: 'requests', dir: -1 }, range: null, districtRows: [], streetRows: [] };

export async function initStats() {
  const panel = $('#panel-stats');
  showError(panel, null);
  $('#period-kind').value = 'custom';
  $('.period-single').hidden = true;
  $('.period-custom').hidden = false;
  try {
    // The default period: the twelve calendar months ending at the newest data.
    const months = await api(`/api/v1/stats?${query({ by: 'month', undated: 'true' })}`);
    const keys = (months.rows || []).map((r) => r.key).filter((k) => /^\d{4}-\d{2}$/.test(k)).sort();
    // Historical imports may have no date: they are in no period, so say how many.
    const undated = (months.rows || []).find((r) => r.key === 'undated');
    stats.undated = undated ? undated.requests + undated.consultations + undated.repeats : 0;
    let newest = todayLocal();
    if (keys.length) {
      const last = keys[keys.length - 1];
      const [y, m] = parseYm(last);
      const days = await api(`/api/v1/stats?${query({ by: 'day', from: `${last}-01`, to: ymd(monthEnd(y, m)) })}`);
      const dk = (days.rows || []).map((r) => r.key).filter((k) => /^\d{4}-\d{2}-\d{2}$/.test(k)).sort();
      newest = dk.length ? dk[dk.length - 1] : ymd(monthEnd(y, m));
    }
    const n = D(newest);
    $('#period-from').value = ymd(monthStart(n.getUTCFullYear(), n.getUTCMonth() + 1 - 11));
    $('#period-to').value = newest;
    stats.newest = newest;
  } catch (e) { showError(panel, e); return; }
  renderModelCard();
  await refreshStats();
}

/** Reads the period chooser: the table's range and the trend chart's grouping and range. */
export function currentPeriod() {
  const kind = $('#period-kind').value;
  const v = $('#period-value').value;
  if (kind === 'day') {
    const d = D(v);
    return { from: v, to: v, label: v, trend: { by: 'day', from: ymd(addDays(d, -29)), to: v } };
  }
  if (kind === 'week') {
    const mon = mondayOf(D(v));
    const sun = addDays(mon, 6);
    return { from: ymd(mon), to: ymd(sun), label: `${isoWeekKey(mon)}（${ymd(mon)} 至 ${ymd(sun)}）`,
      trend: { by: 'week', from: ymd(addDays(mon, -77)), to: ymd(sun) } };
  }
  if (kind === 'month') {
    const [y, m] = parseYm(v);
    return { from: ymd(monthStart(y, m)), to: ymd(monthEnd(y, m)), label: `${y}年${m}月`,
      trend: { by: 'month', from: ymd(monthStart(y, m - 11)), to: ymd(monthEnd(y, m)) } };
  }
  if (kind === 'amonth') {
    const [a, b] = amonthRange(v);
    const [y, m] = parseYm(v);
    const [a0] = amonthRange(shiftYm(v, -11));
    return { from: ymd(a), to: ymd(b), label: `${y}年${m}月考核月（${ymd(a)} 至 ${ymd(b)}）`,
      trend: { by: 'assessment_month', from: ymd(a0), to: ymd(b) } };
  }
  const from = $('#period-from').value;
  const to = $('#period-to').value;
  let by = 'month';
  if (from && to) {
    const days = (D(to) - D(from)) / 86400000 + 1;
    by = days <= 62 ? 'day' : days <= 182 ? 'week' : 'month';
  }
  return { from, to, label: from || to ? `${from || '最早'} 至 ${to || '最新'}` : '全部时间',
    trend: { by, from, to } };
}

/** Switching the period kind keeps the period near the one shown. */
export function onPeriodKind() {
  const kind = $('#period-kind').value;
  const single = $('.period-single');
  const custom = $('.period-custom');
  single.hidden = kind === 'custom';
  custom.hidden = kind !== 'custom';
  const input = $('#period-value');
  // The new period ends where the shown one ends, but not after the newest data.
  const newest = stats.newest || todayLocal();
  const shown = stats.range?.to;
  const anchor = shown && shown < newest ? shown : newest;
  if (kind === 'day' || kind === 'week') { input.type = 'date'; input.value = anchor; }
  else if (kind === 'month') { input.type = 'month'; input.value = anchor.slice(0, 7); }
  else if (kind === 'amonth') { input.type = 'month'; input.value = amonthKey(D(anchor)); }
  input.setAttribute('aria-label', { day: '日期', week: '所在周的任一天', month: '月份', amonth: '考核月（截止月份）' }[kind] || '');
  if (kind === 'custom' && stats.range) {
    $('#period-from').value = stats.range.from || '';
    $('#period-to').value = stats.range.to || '';
  }
  refreshStats();
}

export function stepPeriod(n) {
  const kind = $('#period-kind').value;
  const input = $('#period-value');
  if (!input.value) return;
  if (kind === 'day') input.value = ymd(addDays(D(input.value), n));
  else if (kind === 'week') input.value = ymd(addDays(D(input.value), 7 * n));
  else input.value = shiftYm(input.value, n);
  refreshStats();
}

let statsSeq = 0;
export async function refreshStats() {
  const panel = $('#panel-stats');
  let p;
  try {
    p = currentPeriod();
  } catch {
    // An empty or half-typed date (browsers without a month picker show a text box).
    showError(panel, new ApiError(422, '请选择有效的日期（格式 YYYY-MM-DD，月份 YYYY-MM）'));
    return;
  }
  if (p.from && p.to && p.from > p.to) { showError(panel, new ApiError(422, '开始日期晚于结束日期')); return; }
  stats.range = p;
  $('#stats-range').textContent = `统计区间：${p.label}`
    + (stats.undated ? `（另有 ${fmtInt(stats.undated)} 件无受理日期的历史工单未计入任何时段）` : '');
  const seq = ++statsSeq;
  const table = $('#stats-table');
  table.setAttribute('aria-busy', 'true');
  showError(panel, null);
  try {
    const range = { from: p.from, to: p.to };
    const [byTopic, total, byDistrict, byStreet] = await Promise.all([
      api(`/api/v1/stats?${query({ by: 'topic', ...range })}`),
      api(`/api/v1/stats?${query({ by: 'total', ...range })}`),
      api(`/api/v1/stats?${query({ by: 'district', ...range })}`),
      api(`/api/v1/stats?${query({ by: 'street', ...range })}`),
    ]);
    if (seq !== statsSeq) return;
    const found = new Map((byTopic.rows || []).map((r) => [r.key, r]));
    // Every topic of the year is listed, also those without tickets in the period.
    const slugs = [...topics.list.map((t) => t.slug), ...[...found.keys()].filter((k) => !topics.bySlug.has(k))];
    stats.rows = slugs.map((slug) => ({ ...emptyRow(slug), ...(found.get(slug) || {}), name: topicName(slug) }));
    stats.total = (total.rows || [])[0] || emptyRow('total');
    stats.districtRows = byDistrict.rows || [];
    stats.streetRows = byStreet.rows || [];
    renderStatsTable();
    renderDistricts();
    renderStreets();
    table.setAttribute('aria-busy', 'false');
    await renderTrend();
  } catch (e) {
    if (seq === statsSeq) { showError(panel, e); table.setAttribute('aria-busy', 'false'); }
  }
}

export function emptyRow(key) {
  const r = { key };
  for (const c of COLUMNS) if (c.type !== 'text') r[c.key] = c.type === 'int' ? 0 : null;
  return r;
}

export function cell(c, row) {
  const v = row[c.key];
  if (c.type === 'int') return fmtInt(v);
  if (c.type === 'rate') return fmtRate(v);
  if (c.type === 'score') return fmtScore(v);
  return v;
}

export function compareRows(a, b, key, dir) {
  const x = a[key]; const y = b[key];
  // Missing values sort last whichever the direction.
  if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;
  if (y === null || y === undefined) return -1;
  if (typeof x === 'string') return dir * x.localeCompare(y, 'zh-CN');
  return dir * (x - y);
}

export function renderStatsTable() {
  const table = $('#stats-table');
  const { key, dir } = stats.sort;
  const headRow = h('tr', {}, COLUMNS.map((c) => {
    const sorted = c.key === key;
    return h('th', {
      scope: 'col', class: c.type === 'text' ? 'text' : 'num', 'aria-sort': sorted ? (dir > 0 ? 'ascending' : 'descending') : 'none',
      dataset: { col: c.key },
    }, h('button', {
      type: 'button', class: 'sort', title: `按${c.label}排序`,
      onclick: () => { stats.sort = { key: c.key, dir: sorted ? -dir : (c.type === 'text' ? 1 : -1) }; renderStatsTable(); },
    }, c.label, h('span', { class: 'arrow' }, sorted ? (dir > 0 ? '▲' : '▼') : '')));
  }));
  $('thead', table).replaceChildren(headRow);
  const selected = $('#trend-topic').value;
  const rows = [...stats.rows].sort((a, b) => compareRows(a, b, key, dir) || compareRows(a, b, 'requests', -1));
  $('tbody', table).replaceChildren(...rows.map((r) => h('tr', {
    dataset: { testid: 'stats-row', topic: r.key }, class: r.key === selected ? 'selected' : '',
    title: '点击查看该专题趋势', onclick: () => { $('#trend-topic').value = r.key; renderStatsTable(); renderTrend(); },
  }, COLUMNS.map((c) => (c.type === 'text'
    ? h('th', { scope: 'row', class: 'text', dataset: { col: c.key } }, h('span', { class: 'tname' }, r.name),
      h('span', { class: 'dept' }, topics.bySlug.get(r.key)?.department || ''))
    : h('td', { class: 'num', dataset: { col: c.key } }, cell(c, r)))))));
  const t = stats.total;
  $('tfoot', table).replaceChildren(h('tr', {}, COLUMNS.map((c) => (c.type === 'text'
    ? h('th', { scope: 'row', class: 'text' }, '合计')
    : h('td', { class: 'num', dataset: { col: c.key } }, t ? cell(c, t) : '—')))));
}

let trendSeq = 0;
export async function renderTrend() {
  const box = $('#trend-chart');
  const p = stats.range;
  if (!p) return;
  const slug = $('#trend-topic').value;
  const { by, from, to } = p.trend;
  $('#trend-by').textContent = { day: '按日', week: '按周', month: '按月', assessment_month: '按考核月' }[by];
  const seq = ++trendSeq;
  box.setAttribute('aria-busy', 'true');
  try {
    const j = await api(`/api/v1/stats?${query({ by, from, to, topic: slug })}`);
    if (seq !== trendSeq) return;
    const found = new Map((j.rows || []).filter((r) => r.key !== 'undated').map((r) => [r.key, r]));
    let keys = from && to ? bucketKeys(by, from, to) : [...found.keys()].sort();
    // A long range (say 2000 to today) is drawn from its first to its last period with data.
    if (keys.length > 36 && found.size) {
      const a = keys.findIndex((k) => found.has(k));
      const b = keys.findLastIndex((k) => found.has(k));
      if (a >= 0) keys = keys.slice(a, b + 1);
    }
    const points = keys.map((k) => found.get(k) || emptyRow(k));
    box.replaceChildren(trendChart(points, by, slug ? topicName(slug) : '全部专题'));
  } catch (e) {
    if (seq === trendSeq) showError($('#panel-stats'), e);
  } finally {
    if (seq === trendSeq) box.setAttribute('aria-busy', 'false');
  }
}

/** How many streets the street ranking shows (Beijing has some 340). */
export const STREETS_SHOWN = 20;

/** Rows best first by `key` (then 诉求量), those without a place ('unknown') last, labelled. */
function ranked(rows, key) {
  return rows
    .map((r) => ({ ...r, unknown: r.key === 'unknown' || !r.key, label: r.key === 'unknown' || !r.key ? '未识别' : r.key }))
    .sort((a, b) => a.unknown - b.unknown || compareRows(a, b, key, -1) || compareRows(a, b, 'requests', -1));
}

/** Districts as horizontal bars, best first, by the chosen measure. */
export function renderDistricts() {
  const key = $('#district-sort').value;
  const rows = ranked(stats.districtRows, key);
  const box = $('#district-chart');
  if (!rows.length) { box.replaceChildren(h('p', { class: 'muted empty' }, '该区间暂无数据')); return; }
  // Room for "16. 门头沟区" or "12. 石景山区": four CJK characters and a two-digit rank.
  box.replaceChildren(rankingChart(rows, key, { title: '各区排名', labelWidth: 96 }));
}

/** The first streets (街道 / 乡镇, named with their district), best first, by the measure chosen beside them. */
export function renderStreets() {
  const key = $('#street-sort').value;
  const all = ranked(stats.streetRows, key).filter((r) => !r.unknown);
  const box = $('#street-chart');
  const note = $('#street-note');
  if (!all.length) {
    box.replaceChildren(h('p', { class: 'muted empty' }, '该区间暂无已识别街乡镇的工单'));
    note.textContent = '';
    return;
  }
  const rows = all.slice(0, STREETS_SHOWN);
  // Room for "20. 门头沟区大台街道": nine CJK characters and a two-digit rank.
  box.replaceChildren(rankingChart(rows, key, { title: '街乡镇排名', labelWidth: 150 }));
  const unknown = stats.streetRows.find((r) => r.key === 'unknown');
  note.textContent = `共 ${fmtInt(all.length)} 个街乡镇${all.length > rows.length ? `，显示前 ${rows.length} 个` : ''}`
    + (unknown ? `；另有 ${fmtInt(unknown.requests)} 件诉求未识别街乡镇` : '');
}

export function bindStats() {
  $('#period-kind').addEventListener('change', onPeriodKind);
  $('#period-value').addEventListener('change', refreshStats);
  $('#period-prev').addEventListener('click', () => stepPeriod(-1));
  $('#period-next').addEventListener('click', () => stepPeriod(1));
  $('#period-form').addEventListener('submit', (e) => { e.preventDefault(); refreshStats(); });
  $('#trend-topic').addEventListener('change', () => { renderStatsTable(); renderTrend(); });
  $('#district-sort').addEventListener('change', renderDistricts);
  $('#street-sort').addEventListener('change', renderStreets);
  for (const b of $$('#panel-stats [data-export]')) {
    b.addEventListener('click', () => {
      const p = stats.range || currentPeriod();
      const fmt = b.dataset.export;
      download(`/api/v1/export/stats?${query({ format: fmt, by: 'topic', from: p.from, to: p.to })}`,
        `专题统计_${p.from || 'all'}_${p.to || 'all'}.${fmt}`, $('#panel-stats'));
    });
  }
}

/** Drops the answers still on their way and the period shown: they belong to the last user. */
export function forgetStats() {
  statsSeq += 1;
  trendSeq += 1;
  stats.range = null;
  stats.newest = null;
}
