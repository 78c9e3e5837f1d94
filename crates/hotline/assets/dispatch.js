// The 督办 tab's deadline queue: state cards, filters, the queue and backlog tables, the refresh timer.

import { $, $$, h } from './dom.js';
import { session, api, query, showError } from './api.js';
import { DISTRICTS, topics, topicName } from './names.js';
import { initHotspots, refreshHotspots } from './hotspots.js';
import { openTicket } from './ticket.js';

export const DEADLINE_ZH = { on_time: '正常', due_soon: '临期', overdue: '超期' };
export const STAGE_ZH = { dispatch: '待派单', feedback: '待反馈' };
export const QUEUE_PAGE_SIZE = 20;
export const QUEUE_REFRESH_MS = 30000;

export const queue = { page: 1, timer: null, seq: 0 };

export function formatLeft(seconds) {
  const a = Math.abs(seconds);
  const d = Math.floor(a / 86400);
  const hh = Math.floor((a % 86400) / 3600);
  const mm = Math.floor((a % 3600) / 60);
  const text = d > 0 ? `${d}天${hh}小时` : hh > 0 ? `${hh}小时${mm}分` : `${mm}分`;
  return seconds < 0 ? `超${text}` : text;
}

export function initDispatch() {
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

export async function refreshQueue() {
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

export function renderQueue(j) {
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

export function bindDispatch() {
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
