// The names the dashboard shows: topics, districts, kinds and statuses from the server, fixed labels for the rest.

import { $, h } from './dom.js';
import { setAmonthStartDay } from './periods.js';
import { api } from './api.js';

// Districts, kinds and statuses come from the server (GET /api/v1/topics),
// where each is written once; filled at sign-in by loadTopics.
export let DISTRICTS = [];
export let KINDS = [];
export let KIND_ZH = {};
export let STATUSES = [];
export let STATUS_ZH = {};
export const EVENT_ZH = { dispatched: '派单', returned: '退单', reassigned: '改派', contacted: '联系来电人', feedback: '部门反馈',
  callback: '回访', closed: '办结', topic_changed: '调整专题' };
export const SATISFACTION_ZH = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };
export const URGENCY_ZH = { emergency: '紧急', utilities: '水电气热', general: '一般', complex: '疑难复杂' };
export const SOURCE_ZH = { router: '系统分派', operator: '话务员指定', imported: '导入' };
export const ROLE_ZH = { admin: '管理员', supervisor: '督办', operator: '话务员' };

export const topics = { list: [], bySlug: new Map() };
export const topicName = (slug) => topics.bySlug.get(slug)?.name || (slug === 'other' ? '其他' : slug);

export async function loadTopics() {
  const j = await api('/api/v1/topics');
  if (Number.isInteger(j.assessment_month_start_day)) setAmonthStartDay(j.assessment_month_start_day);
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
