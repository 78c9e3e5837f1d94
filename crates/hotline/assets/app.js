// The hotline dashboard: sign-in, 统计 (stats), 检索 (search), 受理 (intake).
//
// Plain JavaScript module, no framework and no build step; the charts are SVG
// drawn by the few functions below rather than a charting library because
//   * no dependency: nothing to vendor, audit or upgrade;
//   * offline: the page is served from the binary and must work on a hotline
//     intranet with no CDN, no external font and no network beyond this server;
//   * tiny: a bar chart, a line chart and a ranking are ~150 lines.
// Everything the server sends is inserted as text (textContent / DOM nodes),
// never as HTML; search snippets arrive as fragments, shown as text nodes and <mark>s.

'use strict';

// ---------------------------------------------------------------- constants

// Districts, kinds and statuses come from the server (GET /api/v1/topics),
// where each is written once; filled at sign-in by loadTopics.
let DISTRICTS = [];
let KINDS = [];
let KIND_ZH = {};
let STATUSES = [];
let STATUS_ZH = {};
const EVENT_ZH = { dispatched: '派单', returned: '退单', reassigned: '改派', contacted: '联系来电人', feedback: '部门反馈',
  callback: '回访', closed: '办结', topic_changed: '调整专题' };
const SATISFACTION_ZH = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };
const URGENCY_ZH = { emergency: '紧急', utilities: '水电气热', general: '一般', complex: '疑难复杂' };
const SOURCE_ZH = { router: '系统分派', operator: '话务员指定', imported: '导入' };
const ROLE_ZH = { admin: '管理员', supervisor: '督办', operator: '话务员' };
const EXPORT_ROLES = ['admin', 'supervisor'];
const TABS_BY_ROLE = { admin: ['stats', 'dispatch', 'search', 'intake'], supervisor: ['stats', 'dispatch', 'search'], operator: ['intake', 'dispatch', 'search'] };
const DEADLINE_ZH = { on_time: '正常', due_soon: '临期', overdue: '超期' };
const STAGE_ZH = { dispatch: '待派单', feedback: '待反馈' };
const QUEUE_PAGE_SIZE = 20;
const QUEUE_REFRESH_MS = 30000;

const COLUMNS = [
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
const SERIES = [
  { key: 'response_rate', label: '响应率', color: '#2f6fde' },
  { key: 'resolution_rate', label: '解决率', color: '#1a9a62' },
  { key: 'satisfaction_rate', label: '满意率', color: '#e0862a' },
];
const SEARCH_PAGE_SIZE = 20;
const TOKEN_KEY = 'hotline.token';

// ---------------------------------------------------------------- small helpers

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Creates an element: h('td', {class: 'num', dataset: {col: 'x'}}, 'text', child…). */
function h(tag, attrs = {}, ...children) {
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

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const intFmt = new Intl.NumberFormat('zh-CN');
const fmtInt = (n) => (n === null || n === undefined ? '—' : intFmt.format(n));
const fmtRate = (r) => (r === null || r === undefined || Number.isNaN(r) ? '—' : `${(r * 100).toFixed(1)}%`);
const fmtScore = (r) => (r === null || r === undefined ? '—' : (r * 100).toFixed(1));
const fmtPct = (p) => `${(p * 100).toFixed(1)}%`;
const fmtTime = (t) => (t ? String(t).replace('T', ' ').slice(0, 16) : '—');

function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

// Dates are handled as UTC midnight so that arithmetic never meets a DST or
// time-zone shift; the server's days are local calendar days, written YYYY-MM-DD.
const pad = (n) => String(n).padStart(2, '0');
const D = (s) => new Date(`${s}T00:00:00Z`);
const ymd = (d) => d.toISOString().slice(0, 10);
const ym = (d) => d.toISOString().slice(0, 7);
const addDays = (d, n) => new Date(d.getTime() + n * 86400000);
const monthStart = (y, m) => new Date(Date.UTC(y, m - 1, 1)); // m: 1..12, may overflow
const monthEnd = (y, m) => new Date(Date.UTC(y, m, 0));
function todayLocal() {
  const n = new Date();
  return `${n.getFullYear()}-${pad(n.getMonth() + 1)}-${pad(n.getDate())}`;
}
function parseYm(key) { const [y, m] = key.split('-').map(Number); return [y, m]; }
function shiftYm(key, n) { const [y, m] = parseYm(key); return ym(monthStart(y, m + n)); }
function mondayOf(d) { return addDays(d, -((d.getUTCDay() + 6) % 7)); }
/** ISO week key, as the server writes it: 2024-W09. */
function isoWeekKey(d) {
  const thursday = addDays(mondayOf(d), 3);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86400000));
  return `${year}-W${pad(week)}`;
}
/** The day an assessment month starts on: the server's setting, from /api/v1/topics. */
let amonthStartDay = 19;
/** The assessment month a day falls in, named after the month it ends in (19 Mar – 18 Apr is 2024-04). */
function amonthKey(d) {
  return d.getUTCDate() >= amonthStartDay ? ym(monthStart(d.getUTCFullYear(), d.getUTCMonth() + 2)) : ym(d);
}
function amonthRange(key) {
  const [y, m] = parseYm(key);
  return [new Date(Date.UTC(y, m - 2, amonthStartDay)), new Date(Date.UTC(y, m - 1, amonthStartDay - 1))];
}

/** Every bucket key between two days for a grouping, in order (so empty periods show). */
function bucketKeys(by, from, to) {
  const keys = [];
  const a = D(from); const b = D(to);
  if (by === 'day') for (let d = a; d <= b; d = addDays(d, 1)) keys.push(ymd(d));
  else if (by === 'week') for (let d = mondayOf(a); d <= b; d = addDays(d, 7)) keys.push(isoWeekKey(d));
  else {
    const first = by === 'month' ? ym(a) : amonthKey(a);
    const last = by === 'month' ? ym(b) : amonthKey(b);
    for (let k = first; k <= last && keys.length < 1200; k = shiftYm(k, 1)) keys.push(k);
  }
  return keys;
}

function bucketLabel(by, key) {
  if (by === 'day') return key.slice(5);
  if (by === 'week') return key.slice(5);
  if (by === 'assessment_month') return `${key.slice(2)}考`;
  return key.slice(2);
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message, field) { super(message); this.status = status; this.field = field; }
}

const session = { token: null, me: null };

async function api(path, { method = 'GET', body, raw = false, signal } = {}) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, '无法连接服务器，请检查网络或稍后重试');
  }
  if (res.status === 401) {
    signOut('登录已失效或令牌无效，请重新登录');
    throw new ApiError(401, '未登录');
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    let field;
    try {
      const j = await res.json();
      if (j && j.error) { message = j.error.message || message; field = j.error.field; }
    } catch { /* not JSON */ }
    if (res.status === 403) {
      const limited = /limited to (\S+)/.exec(message);
      message = limited
        ? `无权限：当前令牌仅限查看${limited[1]}的工单和数据`
        : `无权限：当前角色（${ROLE_ZH[session.me?.role] || session.me?.role || '未知'}）不能进行此操作`;
    }
    throw new ApiError(res.status, message, field);
  }
  return raw ? res : res.json();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  return q.toString();
}

function showError(panel, err) {
  const box = $('[data-role=error]', panel);
  if (!err) { box.hidden = true; box.textContent = ''; return; }
  if (err.name === 'AbortError' || err.status === 401) return;
  box.textContent = err.status === 403 ? err.message : `出错了：${err.message}`;
  box.classList.toggle('forbidden', err.status === 403);
  box.hidden = false;
}

/** Fetches an export with the token and hands the file to the browser. */
async function download(path, fallbackName, panel) {
  try {
    const res = await api(path, { raw: true });
    const blob = await res.blob();
    let name = fallbackName;
    const cd = res.headers.get('Content-Disposition') || '';
    const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    const plain = /filename="?([^";]+)"?/i.exec(cd);
    if (star) name = decodeURIComponent(star[1]); else if (plain) name = plain[1];
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) { showError(panel, e); }
}

// ---------------------------------------------------------------- topics

const topics = { list: [], bySlug: new Map() };
const topicName = (slug) => topics.bySlug.get(slug)?.name || (slug === 'other' ? '其他' : slug);

async function loadTopics() {
  const j = await api('/api/v1/topics');
  if (Number.isInteger(j.assessment_month_start_day)) amonthStartDay = j.assessment_month_start_day;
  topics.list = j.topics || [];
  DISTRICTS = j.districts || [];
  KINDS = (j.kinds || []).map((k) => [k.value, k.name]);
  KIND_ZH = Object.fromEntries(KINDS);
  STATUSES = (j.statuses || []).map((s) => [s.value, s.name]);
  STATUS_ZH = Object.fromEntries(STATUSES);
  topics.bySlug = new Map(topics.list.map((t) => [t.slug, t]));
  const fill = (sel, first) => {
    sel.replaceChildren(...first, ...topics.list.map((t) => h('option', { value: t.slug }, t.name)));
  };
  fill($('#search-topic'), [h('option', { value: '' }, '全部')]);
  fill($('#trend-topic'), [h('option', { value: '' }, '全部专题')]);
  fill($('#intake-topic'), [h('option', { value: '' }, '等待系统建议…')]);
}

// ---------------------------------------------------------------- sign-in and tabs

function banner(text) {
  const b = $('#banner');
  b.textContent = text || '';
  b.hidden = !text;
}

function signOut(message) {
  session.token = null;
  session.me = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('#tabs').hidden = true;
  $('#who').hidden = true;
  $$('.panel').forEach((p) => { p.hidden = true; });
  if ($('#ticket-view').open) $('#ticket-view').close();
  clearPanels();
  banner('');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  $('#signin').hidden = false;
  const msg = $('#signin-message');
  msg.textContent = message || '';
  msg.hidden = !message;
  $('#token-input').value = '';
  $('#token-input').focus();
}

/** Forgets everything the last user saw, so the next one starts clean. */
function clearPanels() {
  for (const p of $$('.panel')) showError(p, null);
  for (const sel of ['#stats-table thead', '#stats-table tbody', '#stats-table tfoot', '#trend-chart', '#district-chart',
    '#search-results', '#ticket-body', '#intake-result', '#queue-table tbody', '#backlog-table tbody']) $(sel).replaceChildren();
  clearInterval(queue.timer);
  queue.timer = null;
  queue.seq += 1;
  hot.seq += 1;
  $('#hotspot-list').replaceChildren();
  $('#hotspot-date').value = '';
  $('#queue-form').reset();
  $('#queue-district').disabled = false;
  for (const n of $$('.state-card .n')) n.textContent = '–';
  $('#stats-range').textContent = '';
  $('#intake-result').hidden = true;
  $('#search-form').reset();
  $('#search-total').textContent = '输入关键词或选择条件后检索';
  $('#search-pager').hidden = true;
  for (const b of $$('#panel-search [data-export]')) b.disabled = true;
  // Answers still on their way belong to the last user: drop them.
  statsSeq += 1;
  trendSeq += 1;
  searchSeq += 1;
  search.params = null;
  stats.range = null;
  stats.newest = null;
  resetIntake();
}

async function signIn(token) {
  session.token = token;
  const me = await api('/api/v1/me');
  session.me = me;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#signin').hidden = true;
  $('#signin-message').hidden = true;
  const role = ROLE_ZH[me.role] || me.role;
  $('#whoami').textContent = `${me.name || '未命名用户'} · ${role}${me.district ? ` · ${me.district}` : ''}${me.pii ? '' : ' · 个人信息脱敏'}`;
  $('#who').hidden = false;
  const allowed = TABS_BY_ROLE[me.role] || ['search'];
  for (const b of $$('.tab')) b.hidden = !allowed.includes(b.dataset.tab);
  $('#tabs').hidden = false;
  // Exports are for supervisors (the server answers 403 to others).
  for (const b of $$('[data-export]')) b.hidden = !EXPORT_ROLES.includes(me.role);
  banner('');
  try {
    await loadTopics();
  } catch (e) {
    if (e.status === 401) return;
    banner(`专题列表加载失败（${e.message}），专题将以代码显示；请稍后刷新页面`);
  }
  state.loaded = {};
  const wanted = location.hash.slice(1);
  showTab(allowed.includes(wanted) ? wanted : allowed[0]);
}

const state = { loaded: {}, tab: null };

function showTab(name) {
  const allowed = TABS_BY_ROLE[session.me?.role] || [];
  if (!allowed.includes(name)) name = allowed[0];
  state.tab = name;
  for (const b of $$('.tab')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const p of $$('.panel')) p.hidden = p.id !== `panel-${name}`;
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  if (!state.loaded[name]) {
    state.loaded[name] = true;
    ({ stats: initStats, dispatch: initDispatch, search: initSearch, intake: initIntake })[name]();
  } else if (name === 'stats') {
    refreshStats();
  } else if (name === 'dispatch') {
    refreshQueue();
    refreshHotspots();
  }
  // The queue refreshes itself while its tab is shown.
  clearInterval(queue.timer);
  queue.timer = name === 'dispatch' ? setInterval(() => { if (!document.hidden) refreshQueue(); }, QUEUE_REFRESH_MS) : null;
}

// ---------------------------------------------------------------- 督办

const queue = { page: 1, timer: null, seq: 0 };

function formatLeft(seconds) {
  const a = Math.abs(seconds);
  const d = Math.floor(a / 86400);
  const hh = Math.floor((a % 86400) / 3600);
  const mm = Math.floor((a % 3600) / 60);
  const text = d > 0 ? `${d}天${hh}小时` : hh > 0 ? `${hh}小时${mm}分` : `${mm}分`;
  return seconds < 0 ? `超${text}` : text;
}

function initDispatch() {
  const fill = (sel, values) => sel.replaceChildren(h('option', { value: '' }, '全部'), ...values);
  fill($('#queue-topic'), topics.list.map((t) => h('option', { value: t.slug }, t.name)));
  fill($('#queue-district'), DISTRICTS.map((d) => h('option', { value: d }, d)));
  if (session.me?.district) {
    $('#queue-district').value = session.me.district;
    $('#queue-district').disabled = true;
  }
  queue.page = 1;
  refreshQueue();
  initHotspots();
}

async function refreshQueue() {
  const panel = $('#panel-dispatch');
  const seq = ++queue.seq;
  const params = {
    state: $('#queue-state').value,
    due_within: $('#queue-due').value,
    topic: $('#queue-topic').value,
    district: session.me?.district ? '' : $('#queue-district').value,
    department: $('#queue-department').value,
    page: queue.page,
    per_page: QUEUE_PAGE_SIZE,
  };
  try {
    const j = await api(`/api/v1/queue?${query(params)}`);
    if (seq !== queue.seq) return;
    showError(panel, null);
    renderQueue(j);
  } catch (e) {
    if (seq === queue.seq) showError(panel, e);
  }
}

function renderQueue(j) {
  for (const st of ['overdue', 'due_soon', 'on_time']) {
    $(`[data-testid=count-${st}] .n`).textContent = String(j.counts[st]);
    $(`[data-testid=count-${st}]`).setAttribute('aria-pressed', String($('#queue-state').value === st));
  }
  $('#queue-now').textContent = `截至 ${String(j.now).replace('T', ' ').slice(0, 16)}`;
  $('#queue-total').textContent = `共 ${j.total} 件`;
  const rows = j.items.map((it) => h('tr', { class: `state-${it.state}`, dataset: { id: it.id, testid: 'queue-row', state: it.state } },
    h('td', {}, h('span', { class: `badge ${it.state}` }, DEADLINE_ZH[it.state] || it.state)),
    h('td', { class: 'num' }, formatLeft(it.seconds_left)),
    h('td', {}, STAGE_ZH[it.stage] || it.stage),
    h('td', {}, topicName(it.topic)),
    h('td', {}, [it.district, it.street].filter(Boolean).join(' ') || '—'),
    h('td', {}, it.department || '退回待改派'),
    h('td', {}, String(it.deadline).replace('T', ' ').slice(0, 16)),
    h('td', {}, h('button', { type: 'button', class: 'link', dataset: { open: it.id } }, '查看'))));
  $('#queue-table tbody').replaceChildren(...(rows.length ? rows
    : [h('tr', {}, h('td', { colspan: '8', class: 'muted' }, '没有符合条件的待办工单'))]));
  const pages = Math.max(1, Math.ceil(j.total / QUEUE_PAGE_SIZE));
  $('#queue-pager').hidden = pages <= 1;
  $('#queue-page').textContent = `第 ${queue.page} / ${pages} 页`;
  $('#queue-prev').disabled = queue.page <= 1;
  $('#queue-next').disabled = queue.page >= pages;
  $('#backlog-table tbody').replaceChildren(...j.by_department.slice(0, 20).map((d) => h('tr', {},
    h('td', {}, d.department || '退回待改派'),
    h('td', { class: 'num overdue' }, String(d.overdue)),
    h('td', { class: 'num' }, String(d.due_soon)),
    h('td', { class: 'num' }, String(d.on_time)))));
  const dept = $('#queue-department');
  const chosen = dept.value;
  const names = new Set(j.by_department.map((d) => d.department).filter(Boolean));
  if (chosen) names.add(chosen);
  dept.replaceChildren(h('option', { value: '' }, '全部'), ...[...names].sort().map((n) => h('option', { value: n }, n)));
  dept.value = chosen;
}

// ---------------------------------------------------------------- 热点

const hot = { seq: 0 };

function initHotspots() {
  if (!$('#hotspot-date').value) $('#hotspot-date').value = todayLocal();
  refreshHotspots();
}

async function refreshHotspots() {
  const panel = $('#panel-dispatch');
  const seq = ++hot.seq;
  try {
    const j = await api(`/api/v1/hotspots?${query({ date: $('#hotspot-date').value, days: $('#hotspot-days').value })}`);
    if (seq !== hot.seq) return;
    renderHotspots(j);
  } catch (e) {
    if (seq === hot.seq) showError(panel, e);
  }
}

function ticketLinks(ids) {
  return h('div', { class: 'chips' }, ids.map((id) => h('button', { type: 'button', class: 'link', dataset: { open: id, testid: 'hotspot-ticket' }, title: id }, `…${id.slice(-8)}`)));
}

function renderHotspots(j) {
  const items = [
    ...j.bursts.map((b) => h('li', { dataset: { testid: 'hotspot', kind: 'burst' } },
      h('details', {},
        h('summary', {}, h('span', { class: 'badge overdue' }, '突增'), ` ${b.district} · ${topicName(b.topic)}：${b.observed} 件`,
          h('span', { class: 'why' }, `（预期 ${b.expected < 0.1 ? b.expected.toFixed(2) : b.expected.toFixed(1)} 件，${b.ratio.toFixed(1)} 倍，前八周 ${b.baseline} 件）`)),
        ticketLinks(b.ids)))),
    ...j.clusters.map((c) => h('li', { dataset: { testid: 'hotspot', kind: 'cluster' } },
      h('details', {},
        h('summary', {}, h('span', { class: 'badge due_soon' }, '聚集'), ` ${c.district || ''} ${c.address} · ${topicName(c.topic)}：${c.tickets} 件`,
          h('span', { class: 'why' }, `（${c.callers} 位来电人，内容相近）`)),
        ticketLinks(c.ids)))),
  ];
  $('#hotspot-list').replaceChildren(...items);
  $('#hotspot-empty').hidden = items.length > 0;
}

function bindDispatch() {
  $('#hotspot-date').addEventListener('change', refreshHotspots);
  $('#hotspot-days').addEventListener('change', refreshHotspots);
  for (const sel of ['#queue-state', '#queue-due', '#queue-topic', '#queue-district', '#queue-department']) {
    $(sel).addEventListener('change', () => { queue.page = 1; refreshQueue(); });
  }
  for (const b of $$('.state-card')) {
    b.addEventListener('click', () => {
      const st = $('#queue-state');
      st.value = st.value === b.dataset.state ? '' : b.dataset.state;
      queue.page = 1;
      refreshQueue();
    });
  }
  $('#queue-prev').addEventListener('click', () => { queue.page = Math.max(1, queue.page - 1); refreshQueue(); });
  $('#queue-next').addEventListener('click', () => { queue.page += 1; refreshQueue(); });
  $('#panel-dispatch').addEventListener('click', (e) => {
    const b = e.target.closest('[data-open]');
    if (b) openTicket(b.dataset.open);
  });
}

// ---------------------------------------------------------------- 统计

const stats = { rows: [], total: null, sort: { key: 'requests', dir: -1 }, range: null, districtRows: [] };

async function initStats() {
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

const MODEL_SOURCE_ZH = { 'built-in': '内置默认模型', installed: '本中心训练并安装的模型', file: '配置文件指定的模型' };

/** The router model in use (version, provenance, figures) and how often operators override it. */
async function renderModelCard() {
  const card = $('#model-card');
  try {
    const [model, overrides] = await Promise.all([api('/api/v1/model'), api('/api/v1/model/overrides')]);
    const info = model.info || {};
    $('#model-source').textContent = MODEL_SOURCE_ZH[model.source] || model.source || '';
    $('#model-summary').replaceChildren(
      '当前版本 ', h('code', { 'data-testid': 'model-version', text: model.version }),
      info.examples ? `，训练样本 ${fmtInt(info.examples)} 条` : '',
      info.taxonomy_year ? `，${info.taxonomy_year} 年专题` : '',
      `；专题概率达 ${fmtPct(model.decision.topic_threshold)} 即分派，置信度低于 ${fmtPct(model.decision.min_confidence)} 提示人工复核。`,
    );
    const evalRows = (info.evaluation || []).map((e) => h('tr', {},
      h('td', { class: 'text', text: String(e.data).split('/').pop() }),
      h('td', { class: 'num', text: fmtInt(e.rows) }),
      h('td', { class: 'num', text: fmtScore(e.macro_f1) }),
      h('td', { class: 'num', text: fmtRate(e.routed_precision) }),
      h('td', { class: 'num', text: fmtRate(e.routed_recall) }),
      h('td', { class: 'num', text: e.expected_calibration_error.toFixed(3) })));
    $('#model-eval tbody').replaceChildren(...(evalRows.length ? evalRows
      : [h('tr', {}, h('td', { class: 'muted', colspan: 6, text: '该模型未附评测结果' }))]));
    const rows = [];
    for (const m of overrides.models || []) {
      const version = m.version === overrides.current ? `${m.version}（当前）` : m.version;
      rows.push(h('tr', { class: 'total' },
        h('td', { class: 'text', text: version }), h('td', { class: 'text', text: '全部' }),
        h('td', { class: 'num', text: fmtInt(m.routed) }), h('td', { class: 'num', text: fmtInt(m.overridden) }),
        h('td', { class: 'num', text: fmtRate(m.rate) })));
      for (const t of [...m.topics].sort((a, b) => b.rate - a.rate || b.routed - a.routed)) {
        rows.push(h('tr', { dataset: { topic: t.topic } },
          h('td', {}), h('td', { class: 'text', text: t.name }),
          h('td', { class: 'num', text: fmtInt(t.routed) }), h('td', { class: 'num', text: fmtInt(t.overridden) }),
          h('td', { class: 'num', text: fmtRate(t.rate) })));
      }
    }
    $('#model-overrides tbody').replaceChildren(...(rows.length ? rows
      : [h('tr', {}, h('td', { class: 'muted', colspan: 5, text: '暂无系统分派记录' }))]));
  } catch (e) {
    $('#model-summary').replaceChildren(h('span', { class: 'msg error', text: `路由模型信息读取失败：${e.message}` }));
  }
  card.hidden = false;
}

/** Reads the period chooser: the table's range and the trend chart's grouping and range. */
function currentPeriod() {
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
function onPeriodKind() {
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

function stepPeriod(n) {
  const kind = $('#period-kind').value;
  const input = $('#period-value');
  if (!input.value) return;
  if (kind === 'day') input.value = ymd(addDays(D(input.value), n));
  else if (kind === 'week') input.value = ymd(addDays(D(input.value), 7 * n));
  else input.value = shiftYm(input.value, n);
  refreshStats();
}

let statsSeq = 0;
async function refreshStats() {
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
    const [byTopic, total, byDistrict] = await Promise.all([
      api(`/api/v1/stats?${query({ by: 'topic', ...range })}`),
      api(`/api/v1/stats?${query({ by: 'total', ...range })}`),
      api(`/api/v1/stats?${query({ by: 'district', ...range })}`),
    ]);
    if (seq !== statsSeq) return;
    const found = new Map((byTopic.rows || []).map((r) => [r.key, r]));
    // Every topic of the year is listed, also those without tickets in the period.
    const slugs = [...topics.list.map((t) => t.slug), ...[...found.keys()].filter((k) => !topics.bySlug.has(k))];
    stats.rows = slugs.map((slug) => ({ ...emptyRow(slug), ...(found.get(slug) || {}), name: topicName(slug) }));
    stats.total = (total.rows || [])[0] || emptyRow('total');
    stats.districtRows = byDistrict.rows || [];
    renderStatsTable();
    renderDistricts();
    table.setAttribute('aria-busy', 'false');
    await renderTrend();
  } catch (e) {
    if (seq === statsSeq) { showError(panel, e); table.setAttribute('aria-busy', 'false'); }
  }
}

function emptyRow(key) {
  const r = { key };
  for (const c of COLUMNS) if (c.type !== 'text') r[c.key] = c.type === 'int' ? 0 : null;
  return r;
}

function cell(c, row) {
  const v = row[c.key];
  if (c.type === 'int') return fmtInt(v);
  if (c.type === 'rate') return fmtRate(v);
  if (c.type === 'score') return fmtScore(v);
  return v;
}

function compareRows(a, b, key, dir) {
  const x = a[key]; const y = b[key];
  // Missing values sort last whichever the direction.
  if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;
  if (y === null || y === undefined) return -1;
  if (typeof x === 'string') return dir * x.localeCompare(y, 'zh-CN');
  return dir * (x - y);
}

function renderStatsTable() {
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

// ---------------------------------------------------------------- charts

let trendSeq = 0;
async function renderTrend() {
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

/** A round upper bound for counts, divisible into four whole-number steps. */
function niceMax(v) {
  const raw = v / 4;
  if (raw <= 1) return 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return 4 * m * p;
  return 40 * p;
}

/** Bars for 诉求量 (left axis), lines for the three rates (right axis, 0–100%). */
function trendChart(points, by, title) {
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

/** Districts as horizontal bars, best first, by the chosen measure. */
function renderDistricts() {
  const key = $('#district-sort').value;
  const isRate = key !== 'requests';
  const rows = stats.districtRows
    .map((r) => ({ ...r, label: r.key === 'unknown' || !r.key ? '未识别' : r.key }))
    .sort((a, b) => (a.label === '未识别') - (b.label === '未识别') || compareRows(a, b, key, -1) || compareRows(a, b, 'requests', -1));
  const box = $('#district-chart');
  if (!rows.length) { box.replaceChildren(h('p', { class: 'muted empty' }, '该区间暂无数据')); return; }
  // Room for "16. 门头沟区" or "12. 石景山区": four CJK characters and a two-digit rank.
  const rowH = 22; const W = 460; const lw = 96; const vw = 64;
  const H = rows.length * rowH + 8;
  const max = isRate ? 1 : niceMax(Math.max(1, ...rows.map((r) => r[key] || 0)));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'svgchart ranking', 'aria-label': '各区排名' });
  const bw = W - lw - vw - 8;
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const v = r[key];
    const len = v === null || v === undefined ? 0 : (v / max) * bw;
    const text = key === 'requests' ? fmtInt(v) : key === 'composite' ? fmtScore(v) : fmtRate(v);
    svg.append(
      s('text', { x: lw - 6, y: y + 14, 'text-anchor': 'end', class: 'label' }, `${i + 1}. ${r.label}`),
      s('rect', { x: lw, y: y + 3, width: bw, height: rowH - 8, class: 'track' }),
      s('rect', { x: lw, y: y + 3, width: Math.max(0, len), height: rowH - 8, class: `hbar${r.label === '未识别' ? ' unknown' : ''}` },
        s('title', {}, `${r.label}\n诉求量 ${fmtInt(r.requests)}\n响应率 ${fmtRate(r.response_rate)}\n解决率 ${fmtRate(r.resolution_rate)}\n满意率 ${fmtRate(r.satisfaction_rate)}\n综合得分 ${fmtScore(r.composite)}`)),
      s('text', { x: W - 4, y: y + 14, 'text-anchor': 'end', class: 'value' }, text),
    );
  });
  box.replaceChildren(svg);
}

function bindStats() {
  $('#period-kind').addEventListener('change', onPeriodKind);
  $('#period-value').addEventListener('change', refreshStats);
  $('#period-prev').addEventListener('click', () => stepPeriod(-1));
  $('#period-next').addEventListener('click', () => stepPeriod(1));
  $('#period-form').addEventListener('submit', (e) => { e.preventDefault(); refreshStats(); });
  $('#trend-topic').addEventListener('change', () => { renderStatsTable(); renderTrend(); });
  $('#district-sort').addEventListener('change', renderDistricts);
  for (const b of $$('#panel-stats [data-export]')) {
    b.addEventListener('click', () => {
      const p = stats.range || currentPeriod();
      const fmt = b.dataset.export;
      download(`/api/v1/export/stats?${query({ format: fmt, by: 'topic', from: p.from, to: p.to })}`,
        `专题统计_${p.from || 'all'}_${p.to || 'all'}.${fmt}`, $('#panel-stats'));
    });
  }
}

// ---------------------------------------------------------------- 检索

const search = { page: 1, total: 0, params: null };

function initSearch() {
  if (session.me?.district && !$('#search-district').value) $('#search-district').value = session.me.district;
}

function searchParams() {
  return {
    q: $('#search-q').value.trim(),
    topic: $('#search-topic').value,
    district: $('#search-district').value,
    kind: $('#search-kind').value,
    status: $('#search-status').value,
    from: $('#search-from').value,
    to: $('#search-to').value,
  };
}

let searchSeq = 0;
async function runSearch(page = 1) {
  const panel = $('#panel-search');
  const params = searchParams();
  search.params = params;
  search.page = page;
  const seq = ++searchSeq;
  const list = $('#search-results');
  list.setAttribute('aria-busy', 'true');
  showError(panel, null);
  try {
    const j = await api(`/api/v1/search?${query({ ...params, page, per_page: SEARCH_PAGE_SIZE })}`);
    if (seq !== searchSeq) return;
    search.total = j.total || 0;
    renderResults(j.hits || []);
  } catch (e) {
    if (seq === searchSeq) showError(panel, e);
  } finally {
    if (seq === searchSeq) list.setAttribute('aria-busy', 'false');
  }
}

/**
 * The server's snippet is a list of fragments, {text, mark}: each becomes a
 * text node, inside a <mark> element when it is one of the query's words.
 * Nothing in it is ever read as markup.
 */
function snippetNodes(fragments) {
  return (Array.isArray(fragments) ? fragments : [])
    .filter((f) => f && f.text)
    .map((f) => {
      const text = document.createTextNode(String(f.text));
      return f.mark ? h('mark', {}, text) : text;
    });
}

function renderResults(hits) {
  const list = $('#search-results');
  const { total, page } = search;
  const pages = Math.max(1, Math.ceil(total / SEARCH_PAGE_SIZE));
  $('#search-total').textContent = total ? `共 ${intFmt.format(total)} 条，第 ${page} / ${pages} 页` : '没有找到符合条件的工单';
  list.start = (page - 1) * SEARCH_PAGE_SIZE + 1;
  list.replaceChildren(...hits.map((hit) => {
    const t = hit.ticket;
    const open = () => openTicket(t.id);
    return h('li', { class: 'hit', dataset: { testid: 'search-hit', id: t.id } },
      h('button', { type: 'button', class: 'hit-open', onclick: open, title: '查看工单详情' },
        t.title ? h('div', { class: 'hit-title' }, t.title) : null,
        h('div', { class: 'snippet', dataset: { testid: 'search-snippet' } }, snippetNodes(hit.snippet))),
      h('div', { class: 'meta' },
        h('span', { class: 'tag' }, topicName(t.topic?.slug)),
        h('span', {}, t.district || '区域未识别'),
        h('span', {}, KIND_ZH[t.kind] || t.kind),
        h('span', {}, STATUS_ZH[hit.status] || hit.status || ''),
        h('span', {}, fmtTime(t.received_at)),
        h('span', { class: 'score', title: '相关度' }, `相关度 ${Number(hit.score || 0).toFixed(2)}`)));
  }));
  $('#search-pager').hidden = total <= SEARCH_PAGE_SIZE;
  $('#search-page').textContent = `${page} / ${pages}`;
  $('#search-prev').disabled = page <= 1;
  $('#search-next').disabled = page >= pages;
  for (const b of $$('#panel-search [data-export]')) b.disabled = total === 0;
}

function bindSearch() {
  $('#search-district').append(...DISTRICTS.map((d) => h('option', { value: d }, d)));
  $('#search-kind').append(...KINDS.map(([v, zh]) => h('option', { value: v }, zh)));
  $('#search-status').append(...STATUSES.map(([v, zh]) => h('option', { value: v }, zh)));
  $('#search-form').addEventListener('submit', (e) => { e.preventDefault(); runSearch(1); });
  for (const id of ['#search-topic', '#search-district', '#search-kind', '#search-status', '#search-from', '#search-to']) {
    $(id).addEventListener('change', () => { if (search.params) runSearch(1); });
  }
  $('#search-prev').addEventListener('click', () => runSearch(search.page - 1));
  $('#search-next').addEventListener('click', () => runSearch(search.page + 1));
  for (const b of $$('#panel-search [data-export]')) {
    b.addEventListener('click', () => {
      const fmt = b.dataset.export;
      download(`/api/v1/export/search?${query({ ...(search.params || searchParams()), format: fmt })}`,
        `工单检索_${todayLocal()}.${fmt}`, $('#panel-search'));
    });
  }
}

// ---------------------------------------------------------------- ticket view

/** A ticket's status from its events, as the server derives it (search hits carry none). */
function eventDetail(e) {
  switch (e.type) {
    case 'dispatched': return `派至 ${e.department}`;
    case 'returned': return `${e.department ? `${e.department} ` : ''}退回：${e.reason}`;
    case 'reassigned': return `改派至 ${e.department}${e.reason ? `（${e.reason}）` : ''}`;
    case 'contacted': return e.note || '承办单位已联系来电人';
    case 'feedback': return `${e.resolved ? '已解决' : '未解决'}${e.note ? `：${e.note}` : ''}`;
    case 'callback': return e.valid
      ? `有效回访 · ${e.contacted ? '已联系' : '未联系'} · ${e.resolved ? '已解决' : '未解决'}${e.satisfaction ? ` · ${SATISFACTION_ZH[e.satisfaction] || e.satisfaction}` : ''}`
      : '无效回访';
    case 'closed': return e.note || '';
    case 'topic_changed': return `${topicName(e.from)} → ${topicName(e.to)}${e.reason ? `（${e.reason}）` : ''}`;
    default: return '';
  }
}

async function openTicket(id) {
  const dlg = $('#ticket-view');
  const body = $('#ticket-body');
  body.replaceChildren(h('p', { class: 'muted' }, '加载中…'));
  if (!dlg.open) dlg.showModal();
  try {
    const j = await api(`/api/v1/tickets/${encodeURIComponent(id)}`);
    const t = j.ticket;
    const topic = t.topic || {};
    $('#ticket-title').textContent = t.title || '工单详情';
    const dl = (pairs) => h('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([k, v, attrs]) => [h('dt', {}, k), h('dd', attrs || {}, v)]));
    body.replaceChildren(...[
      h('p', { class: 'ticket-text', dataset: { testid: 'ticket-text' } }, t.text),
      dl([
        ['工单编号', h('code', {}, t.id)],
        t.external_id ? ['外部编号', t.external_id] : null,
        ['状态', STATUS_ZH[j.status] || j.status, { dataset: { testid: 'ticket-status' } }],
        ['受理时间', fmtTime(t.received_at)],
        ['类型', `${KIND_ZH[t.kind] || t.kind} · ${URGENCY_ZH[t.urgency] || t.urgency || ''}`],
        ['来电人', t.caller_name || '—', { dataset: { testid: 'ticket-caller' } }],
        ['联系电话', t.caller_phone || '—', { dataset: { testid: 'ticket-phone' } }],
        ['地址', t.address || '—'],
        ['所属区', t.district || '未识别'],
        ['专题', h('span', {}, h('strong', {}, topicName(topic.slug)), ` · ${SOURCE_ZH[topic.source] || topic.source || ''}`), { dataset: { testid: 'ticket-topic' } }],
        ['承办部门', t.department || '—'],
        ['分派置信度', topic.confidence === null || topic.confidence === undefined ? '—' : fmtPct(topic.confidence)],
        ['判定依据', h('span', { class: 'chips' }, (t.deciding_words || []).map((w) => h('span', { class: 'chip' }, w)))],
        t.repeat_of ? ['重复件', h('button', { type: 'button', class: 'link', dataset: { testid: 'ticket-repeat-of' }, onclick: () => openTicket(t.repeat_of) }, `查看首件 ${t.repeat_of}`)] : null,
      ]),
      session.me && !session.me.pii ? h('p', { class: 'muted small' }, '按当前权限，来电人信息已脱敏显示。') : null,
      h('h3', {}, '办理过程'),
      (t.events || []).length
        ? h('ol', { class: 'timeline', dataset: { testid: 'ticket-events' } }, (t.events || []).map((e) => h('li', {},
          h('time', {}, fmtTime(e.at)), h('strong', {}, EVENT_ZH[e.type] || e.type), h('span', {}, eventDetail(e)))))
        : h('p', { class: 'muted', dataset: { testid: 'ticket-events' } }, '尚无办理记录（待派单）'),
    ].filter(Boolean));
  } catch (e) {
    body.replaceChildren(h('p', { class: `msg error${e.status === 403 ? ' forbidden' : ''}` }, e.status === 403 ? e.message : `出错了：${e.message}`));
  }
}

// ---------------------------------------------------------------- 受理

const intake = { suggested: null, touched: false, seq: 0, controller: null };

function initIntake() { /* selects are filled by bindIntake and loadTopics */ }

function setTopicSelect(slug) {
  const sel = $('#intake-topic');
  if (sel.options[0]?.value === '') sel.options[0].remove();
  sel.value = slug;
}

async function classifyNow() {
  const text = $('#intake-text').value;
  const title = $('#intake-title').value.trim();
  if (intake.controller) intake.controller.abort();
  if (!text.trim()) { renderSuggestion(null); return; }
  const seq = ++intake.seq;
  intake.controller = new AbortController();
  try {
    const j = await api('/api/v1/classify', { method: 'POST', body: title ? { text, title } : { text }, signal: intake.controller.signal });
    if (seq !== intake.seq) return;
    renderSuggestion(j);
    showError($('#panel-intake'), null);
  } catch (e) {
    if (seq === intake.seq) showError($('#panel-intake'), e);
  }
}

function renderSuggestion(j) {
  const box = $('#suggestion');
  const body = $('[data-role=body]', box);
  $('[data-role=empty]', box).hidden = !!j;
  body.hidden = !j;
  box.classList.toggle('ready', !!j);
  if (!j) {
    intake.suggested = null;
    if (!intake.touched) $('#intake-topic').replaceChildren(h('option', { value: '' }, '等待系统建议…'), ...topicOptions());
    return;
  }
  const r = j.routing;
  intake.suggested = r.topic;
  $('#suggestion-topic').textContent = r.name || topicName(r.topic);
  const conf = $('#suggestion-confidence');
  conf.textContent = `置信度 ${fmtPct(r.confidence)}`;
  conf.className = `badge ${r.confidence >= 0.8 ? 'good' : r.confidence >= 0.5 ? 'mid' : 'low'}`;
  $('#suggestion-department').textContent = `承办部门：${r.department}`;
  $('#suggestion-review').hidden = !r.needs_review;
  $('#suggestion-words').replaceChildren(...(r.deciding_words || []).map((w) => h('span', { class: 'chip' }, w)));
  if (!(r.deciding_words || []).length) $('#suggestion-words').append(h('span', { class: 'muted' }, '无'));
  $('#suggestion-top').replaceChildren(...(r.top || []).slice(0, 3).map((c) => h('li', {},
    h('span', { class: 'tname' }, c.name || topicName(c.topic)),
    h('span', { class: 'meter' }, h('span', { style: `width:${Math.round(c.score * 100)}%` })),
    h('span', { class: 'num' }, fmtPct(c.score)))));
  const d = j.district;
  $('#suggestion-district').textContent = d ? `${d.district}（依据“${d.matched}”）` : '未识别，请选择所属区';
  if (!intake.touched) setTopicSelect(r.topic);
  $('#intake-topic-hint').textContent = intake.touched && $('#intake-topic').value !== r.topic
    ? `（已改为人工指定；系统建议：${r.name}）` : '（默认采用系统建议，可改）';
}

function topicOptions() { return topics.list.map((t) => h('option', { value: t.slug }, t.name)); }

/** Clears the form (the native reset) and what the page knows about it (the reset event). */
function resetIntake() { $('#intake-form').reset(); }

function onIntakeReset() {
  intake.touched = false;
  intake.suggested = null;
  intake.seq++;
  if (intake.controller) intake.controller.abort();
  $('#intake-topic').replaceChildren(h('option', { value: '' }, '等待系统建议…'), ...topicOptions());
  $('#intake-topic-hint').textContent = '（默认采用系统建议，可改）';
  renderSuggestion(null);
}

async function submitIntake(e) {
  e.preventDefault();
  const panel = $('#panel-intake');
  const btn = $('[data-testid=intake-submit]');
  const val = (id) => $(id).value.trim();
  const text = $('#intake-text').value;
  if (!text.trim()) { $('#intake-text').focus(); return; }
  const body = { text, kind: $('#intake-kind').value };
  for (const [k, id] of [['title', '#intake-title'], ['caller_name', '#intake-caller-name'], ['caller_phone', '#intake-caller-phone'],
    ['address', '#intake-address'], ['district', '#intake-district']]) {
    if (val(id)) body[k] = val(id);
  }
  const chosen = $('#intake-topic').value;
  // The topic is sent only when the operator overrode the router.
  if (chosen && chosen !== intake.suggested) body.topic = chosen;
  btn.disabled = true;
  showError(panel, null);
  try {
    const r = await api('/api/v1/tickets', { method: 'POST', body });
    const box = $('#intake-result');
    box.replaceChildren(
      h('h2', {}, r.duplicate ? '该工单已存在' : '工单已受理'),
      h('dl', { class: 'facts' },
        h('dt', {}, '工单编号'), h('dd', {}, h('button', { type: 'button', class: 'link', dataset: { testid: 'intake-result-id' }, onclick: () => openTicket(r.id) }, r.id)),
        r.topic ? [h('dt', {}, '专题'), h('dd', { dataset: { testid: 'intake-result-topic' } }, `${topicName(r.topic.slug)}（${SOURCE_ZH[r.topic.source] || r.topic.source}）`)] : null,
        r.department ? [h('dt', {}, '承办部门'), h('dd', {}, r.department)] : null,
        [h('dt', {}, '所属区'), h('dd', {}, r.district || '未识别')],
        r.status ? [h('dt', {}, '状态'), h('dd', {}, STATUS_ZH[r.status] || r.status)] : null,
        r.repeat_of ? [h('dt', {}, '重复件'), h('dd', { dataset: { testid: 'intake-result-repeat' } },
          h('button', { type: 'button', class: 'link', onclick: () => openTicket(r.repeat_of) }, `关联首件 ${r.repeat_of}`))] : null),
    );
    box.hidden = false;
    resetIntake();
    $('#intake-text').focus();
  } catch (err) {
    showError(panel, err);
  } finally {
    btn.disabled = false;
  }
}

function bindIntake() {
  $('#intake-kind').append(...KINDS.map(([v, zh]) => h('option', { value: zh, selected: v === 'complaint' }, zh)));
  $('#intake-district').append(...DISTRICTS.map((d) => h('option', { value: d }, d)));
  const later = debounce(classifyNow, 300);
  $('#intake-text').addEventListener('input', later);
  $('#intake-title').addEventListener('input', later);
  $('#intake-topic').addEventListener('change', () => {
    intake.touched = true;
    const s = intake.suggested;
    $('#intake-topic-hint').textContent = s && $('#intake-topic').value !== s
      ? `（已改为人工指定；系统建议：${topicName(s)}）` : '（默认采用系统建议，可改）';
  });
  $('#intake-form').addEventListener('submit', submitIntake);
  $('#intake-form').addEventListener('reset', onIntakeReset);
}

// ---------------------------------------------------------------- start

function start() {
  bindStats();
  bindDispatch();
  bindSearch();
  bindIntake();
  $('#search-form').addEventListener('reset', () => setTimeout(() => { search.params = null; }, 0));
  for (const b of $$('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));
  window.addEventListener('hashchange', () => { if (session.me) showTab(location.hash.slice(1)); });
  $('#signout').addEventListener('click', () => signOut('已退出登录'));
  $('#ticket-close').addEventListener('click', () => $('#ticket-view').close());
  $('#ticket-view').addEventListener('click', (e) => { if (e.target === e.currentTarget) e.currentTarget.close(); });
  $('#signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = $('#token-input').value.trim();
    if (!token) return;
    const btn = $('[data-testid=signin-submit]');
    btn.disabled = true;
    try {
      await signIn(token);
    } catch (err) {
      if (err.status !== 401) {
        session.token = null;
        const msg = $('#signin-message');
        msg.textContent = err.status === 403 ? err.message : `登录失败：${err.message}`;
        msg.hidden = false;
      }
    } finally {
      btn.disabled = false;
    }
  });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    signIn(saved).catch((err) => { if (err.status !== 401) signOut(`登录失败：${err.message}`); });
  } else {
    signOut();
  }
}

start();
