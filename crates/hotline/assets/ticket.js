// The ticket view: one ticket's facts and events in a dialog, opened from every tab.

import { $, h, fmtPct, fmtTime } from './dom.js';
import { session, api } from './api.js';
import { KIND_ZH, STATUS_ZH, EVENT_ZH, SATISFACTION_ZH, URGENCY_ZH, SOURCE_ZH, topicName } from './names.js';

/** A ticket's status from its events, as the server derives it (search hits carry none). */
export function eventDetail(e) {
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

export async function openTicket(id) {
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
