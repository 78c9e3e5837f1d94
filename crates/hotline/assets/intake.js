// The 受理 tab: the intake form, the router's live suggestion, submitting a ticket.

import { $, h, fmtPct, debounce } from './dom.js';
import { api, showError } from './api.js';
import { DISTRICTS, KINDS, STATUS_ZH, SOURCE_ZH, topics, topicName } from './names.js';
import { openTicket } from './ticket.js';

export const intake = { suggested: null, touched: false, seq: 0, controller: null };

export function initIntake() { /* selects are filled by bindIntake and loadTopics */ }

export function setTopicSelect(slug) {
  const sel = $('#intake-topic');
  if (sel.options[0]?.value === '') sel.options[0].remove();
  sel.value = slug;
}

export async function classifyNow() {
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

export function renderSuggestion(j) {
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

export function topicOptions() { return topics.list.map((t) => h('option', { value: t.slug }, t.name)); }

/** Clears the form (the native reset) and what the page knows about it (the reset event). */
export function resetIntake() { $('#intake-form').reset(); }

export function onIntakeReset() {
  intake.touched = false;
  intake.suggested = null;
  intake.seq++;
  if (intake.controller) intake.controller.abort();
  $('#intake-topic').replaceChildren(h('option', { value: '' }, '等待系统建议…'), ...topicOptions());
  $('#intake-topic-hint').textContent = '（默认采用系统建议，可改）';
  renderSuggestion(null);
}

export async function submitIntake(e) {
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

export function bindIntake() {
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
