// The dashboard's entry module: sign-in and sign-out, the tabs each role sees, wiring every tab's module at start.
//
// Plain JavaScript modules (one per role, imported from here), no framework
// and no build step; the charts are SVG drawn by charts.js rather than a
// charting library because
//   * no dependency: nothing to vendor, audit or upgrade;
//   * offline: the page is served from the binary and must work on a hotline
//     intranet with no CDN, no external font and no network beyond this server;
//   * tiny: a bar chart, a line chart and a ranking are ~150 lines.
// Everything the server sends is inserted as text (textContent / DOM nodes),
// never as HTML; search snippets arrive as fragments, shown as text nodes and <mark>s.

import { $, $$ } from './dom.js';
import { session, api, showError } from './api.js';
import { ROLE_ZH, loadTopics } from './names.js';
import { QUEUE_REFRESH_MS, queue, initDispatch, refreshQueue, bindDispatch } from './dispatch.js';
import { hot, refreshHotspots } from './hotspots.js';
import { initStats, refreshStats, bindStats, forgetStats } from './stats.js';
import { search, initSearch, bindSearch, forgetSearch } from './search.js';
import { initIntake, resetIntake, bindIntake } from './intake.js';

const EXPORT_ROLES = ['admin', 'supervisor'];
const TABS_BY_ROLE = { admin: ['stats', 'dispatch', 'search', 'intake'], supervisor: ['stats', 'dispatch', 'search'], operator: ['intake', 'dispatch', 'search'] };

const TOKEN_KEY = 'hotline.token';

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
  for (const sel of ['#stats-table thead', '#stats-table tbody', '#stats-table tfoot', '#trend-chart', '#district-chart', '#street-chart',
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
  $('#street-note').textContent = '';
  $('#intake-result').hidden = true;
  $('#search-form').reset();
  $('#search-total').textContent = '输入关键词或选择条件后检索';
  $('#search-pager').hidden = true;
  for (const b of $$('#panel-search [data-export]')) b.disabled = true;
  // Answers still on their way belong to the last user: drop them.
  forgetStats();
  forgetSearch();
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

function start() {
  session.expired = signOut;
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
