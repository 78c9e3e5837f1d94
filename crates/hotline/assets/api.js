// The API client: the signed-in session, authenticated calls, their errors, exports downloaded with the token.

import { $, h } from './dom.js';
import { ROLE_ZH } from './names.js';

export class ApiError extends Error {
  constructor(status, message, field) { super(message); this.status = status; this.field = field; }
}

/** The signed-in token and who it is; `expired` is called (by the sign-in) when the server answers 401. */
export const session = { token: null, me: null, expired: () => {} };

export async function api(path, { method = 'GET', body, raw = false, signal } = {}) {
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
    session.expired('登录已失效或令牌无效，请重新登录');
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

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  return q.toString();
}

export function showError(panel, err) {
  const box = $('[data-role=error]', panel);
  if (!err) { box.hidden = true; box.textContent = ''; return; }
  if (err.name === 'AbortError' || err.status === 401) return;
  box.textContent = err.status === 403 ? err.message : `出错了：${err.message}`;
  box.classList.toggle('forbidden', err.status === 403);
  box.hidden = false;
}

/** Fetches an export with the token and hands the file to the browser. */
export async function download(path, fallbackName, panel) {
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
