// The 检索 tab: the search form, results with their highlighted snippets, paging and the search export.

import { $, $$, h, intFmt, fmtTime } from './dom.js';
import { todayLocal } from './periods.js';
import { session, api, query, showError, download } from './api.js';
import { DISTRICTS, KINDS, KIND_ZH, STATUSES, STATUS_ZH, topicName } from './names.js';
import { openTicket } from './ticket.js';

export const SEARCH_PAGE_SIZE = 20;

export const search = { page: 1, total: 0, params: null };

export function initSearch() {
  if (session.me?.district && !$('#search-district').value) $('#search-district').value = session.me.district;
}

export function searchParams() {
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
export async function runSearch(page = 1) {
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
export function snippetNodes(fragments) {
  return (Array.isArray(fragments) ? fragments : [])
    .filter((f) => f && f.text)
    .map((f) => {
      const text = document.createTextNode(String(f.text));
      return f.mark ? h('mark', {}, text) : text;
    });
}

export function renderResults(hits) {
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
        // A district-limited token gets no score (0): it counts the whole city's words.
        hit.score ? h('span', { class: 'score', title: '相关度' }, `相关度 ${Number(hit.score).toFixed(2)}`) : null));
  }));
  $('#search-pager').hidden = total <= SEARCH_PAGE_SIZE;
  $('#search-page').textContent = `${page} / ${pages}`;
  $('#search-prev').disabled = page <= 1;
  $('#search-next').disabled = page >= pages;
  for (const b of $$('#panel-search [data-export]')) b.disabled = total === 0;
}

export function bindSearch() {
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

/** Drops the answers still on their way and the last query: they belong to the last user. */
export function forgetSearch() {
  searchSeq += 1;
  search.params = null;
}
