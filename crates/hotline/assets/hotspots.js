// The 督办 tab's hot-spot panel: bursts and address clusters, each opening its tickets.

import { $, h } from './dom.js';
import { todayLocal } from './periods.js';
import { api, query, showError } from './api.js';
import { topicName } from './names.js';

export const hot = { seq: 0 };

export function initHotspots() {
  if (!$('#hotspot-date').value) $('#hotspot-date').value = todayLocal();
  refreshHotspots();
}

export async function refreshHotspots() {
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

export function ticketLinks(ids) {
  return h('div', { class: 'chips' }, ids.map((id) => h('button', { type: 'button', class: 'link', dataset: { open: id, testid: 'hotspot-ticket' }, title: id }, `…${id.slice(-8)}`)));
}

export function renderHotspots(j) {
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
