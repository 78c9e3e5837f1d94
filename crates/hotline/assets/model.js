// The 统计 tab's router card: the model in use, its evaluation and how often operators override it.

import { $, h, fmtInt, fmtRate, fmtScore, fmtPct } from './dom.js';
import { api } from './api.js';

export const MODEL_SOURCE_ZH = { 'built-in': '内置默认模型', installed: '本中心训练并安装的模型', file: '配置文件指定的模型' };

/** The router model in use (version, provenance, figures) and how often operators override it. */
export async function renderModelCard() {
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
