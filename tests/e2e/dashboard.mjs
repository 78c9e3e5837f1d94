// Browser test of the dashboard: a real `hotline serve --demo`, headless Chromium.
//
//   HOTLINE_BIN=target/release/hotline ARTIFACTS=artifacts/e2e node tests/e2e/dashboard.mjs
//
// Builds nothing. Starts the server on a free loopback port with a fresh data
// directory, reads the demo tokens it prints on stderr, drives the page as an
// admin (统计 → 受理 → 检索 → 统计) and as a supervisor (no 受理 tab, masked
// phone), saves screenshots into ARTIFACTS, and always stops the server.
// Exits 0 only when every check passed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.HOTLINE_BIN;
const ARTIFACTS = path.resolve(process.env.ARTIFACTS || 'artifacts/e2e');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const START_TIMEOUT_MS = Number(process.env.HOTLINE_START_TIMEOUT_MS || 180000);
const STEP_TIMEOUT_MS = 15000;

const TEXT = '小区没有电动车充电桩，大家只能飞线充电';
const TOPIC = 'ebike_charging';
const TOPIC_NAME = '电动自行车充电设施建设';
// An unusual caller, so that the new ticket is not linked as a repeat of a demo one.
const CALLER_NAME = '测试来电人';
const CALLER_PHONE = '13912340789';

let passed = 0;
let step = 'start';
function ok(what) {
  passed += 1;
  console.log(`  ok ${passed} - ${what}`);
}
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  ok(what);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the server; resolves with its tokens once /api/v1/health answers. */
async function startServer(dataDir, port) {
  const args = ['serve', '--demo', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`];
  console.log(`# ${BIN} ${args.join(' ')}`);
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' } });
  const log = fs.createWriteStream(path.join(ARTIFACTS, 'server.log'));
  let stderr = '';
  let exited = null;
  child.stdout.on('data', (d) => log.write(d));
  child.stderr.on('data', (d) => {
    const text = d.toString();
    stderr += text;
    // The tokens are secrets: the log keeps only their first characters.
    log.write(text.replace(/(hl_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+/g, '$1…'));
  });
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  child.on('error', (e) => { exited = { error: e.message }; });

  const tokens = {};
  const deadline = Date.now() + START_TIMEOUT_MS;
  const base = `http://127.0.0.1:${port}`;
  let healthy = false;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`hotline exited before it was ready (${JSON.stringify(exited)}); stderr:\n${stderr.slice(-2000)}`);
    }
    for (const line of stderr.split('\n')) {
      const m = /(hl_[A-Za-z0-9_-]{20,})/.exec(line);
      const role = /\b(admin|supervisor|operator)\b/i.exec(line);
      if (m && role && !tokens[role[1].toLowerCase()]) tokens[role[1].toLowerCase()] = m[1];
    }
    if (!healthy) {
      try {
        const r = await fetch(`${base}/api/v1/health`);
        healthy = r.ok;
      } catch { /* not listening yet */ }
    }
    if (healthy && tokens.admin && tokens.supervisor && tokens.operator) return { child, base, tokens };
    await sleep(250);
  }
  throw new Error(`hotline not ready after ${START_TIMEOUT_MS / 1000} s (health: ${healthy}, tokens seen: ${Object.keys(tokens).join(', ') || 'none'}); stderr:\n${stderr.slice(-2000)}`);
}

async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await gone;
  clearTimeout(timer);
}

function tomorrow() {
  const d = new Date(Date.now() + 86400000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const num = (s) => Number(String(s).replace(/[^\d.-]/g, ''));

async function shot(page, name, fullPage = true) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage });
  console.log(`  screenshot ${file}`);
}

async function signIn(page, base, token) {
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=token-input]', { state: 'visible' });
  await page.fill('[data-testid=token-input]', token);
  await page.click('[data-testid=signin-submit]');
  await page.waitForSelector('[data-testid=whoami]', { state: 'visible' });
}

/** Waits until the stats table has finished loading for the range shown. */
async function statsSettled(page, rangeText) {
  await page.waitForFunction((want) => {
    const t = document.querySelector('[data-testid=stats-table]');
    const r = document.querySelector('[data-testid=stats-range]');
    return t && t.getAttribute('aria-busy') === 'false' && (!want || (r && r.textContent.includes(want)))
      && document.querySelectorAll('[data-testid=stats-row]').length > 0;
  }, rangeText, { timeout: STEP_TIMEOUT_MS });
}

const searchSettled = (page) => page.waitForFunction(
  () => document.querySelector('[data-testid=search-results]')?.getAttribute('aria-busy') === 'false',
  null, { timeout: STEP_TIMEOUT_MS });

/**
 * Searches (the query typed already) until the ticket shows, paging through
 * the results: the index commits within a second, and the demo data may rank
 * other tickets first.
 */
async function findHit(page, id) {
  const hit = page.locator(`[data-testid=search-hit][data-id="${id}"]`);
  for (let attempt = 0; attempt < 20; attempt++) {
    await page.click('[data-testid=search-submit]');
    await searchSettled(page);
    for (let n = 1; n < 10 && await hit.count() === 0; n++) {
      if (await page.isHidden('[data-testid=search-next]') || await page.isDisabled('[data-testid=search-next]')) break;
      await page.click('[data-testid=search-next]');
      await searchSettled(page);
    }
    if (await hit.count() > 0) break;
    await sleep(300);
  }
  return hit;
}

async function ebikeCounts(page) {
  const row = page.locator(`[data-testid=stats-row][data-topic=${TOPIC}]`);
  const name = await row.locator('[data-col=name]').innerText();
  if (!name.includes(TOPIC_NAME)) throw new Error(`the ${TOPIC} row is named '${name}', expected ${TOPIC_NAME}`);
  return {
    requests: num(await row.locator('[data-col=requests]').innerText()),
    repeats: num(await row.locator('[data-col=repeats]').innerText()),
  };
}

async function run(base, tokens, browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: Intl.DateTimeFormat().resolvedOptions().timeZone });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  [browser] ${m.text()}`); });

  // ---- sign-in screen
  step = 'sign-in screen';
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=token-input]', { state: 'visible' });
  check(await page.isHidden('[data-testid=tab-stats]'), 'no tab before signing in');
  await shot(page, '01-signin.png', false);

  step = 'a wrong token is refused';
  await page.fill('[data-testid=token-input]', 'hl_not-a-real-token-000000000000000000000000000');
  await page.click('[data-testid=signin-submit]');
  await page.waitForSelector('[data-testid=signin-message]', { state: 'visible' });
  check(await page.isVisible('[data-testid=token-input]'), 'a wrong token stays on the sign-in screen with a message');

  // ---- admin: 统计
  step = 'admin signs in';
  await signIn(page, base, tokens.admin);
  const who = await page.innerText('[data-testid=whoami]');
  check(/管理员/.test(who), `signed in as admin (${who.trim()})`);
  for (const tab of ['stats', 'dispatch', 'search', 'intake']) {
    check(await page.isVisible(`[data-testid=tab-${tab}]`), `admin sees the ${tab} tab`);
  }
  step = 'stats table';
  await statsSettled(page);
  const rows = await page.locator('[data-testid=stats-row]').count();
  check(rows >= 13, `the topic table has ${rows} rows (13+)`);
  await page.waitForSelector('[data-testid=trend-chart] svg');
  await page.waitForSelector('[data-testid=district-chart] svg');
  ok('trend chart and district ranking drawn');
  step = 'model card';
  await page.waitForSelector('[data-testid=model-version]');
  const version = await page.innerText('[data-testid=model-version]');
  check(/^m-[0-9a-f]{12}$/.test(version.trim()), `the model card names the model in use (${version.trim()})`);
  const evalRows = await page.locator('[data-testid=model-eval] tbody tr').count();
  check(evalRows >= 1, `the model card lists its evaluation (${evalRows} rows)`);
  const overrideText = await page.innerText('[data-testid=model-overrides] tbody');
  check(overrideText.includes(`${version.trim()}（当前）`), 'the override table counts the current model\'s decisions');
  await shot(page, '02-stats.png');

  // A range from long ago to tomorrow holds the demo data and the ticket about to be made.
  step = 'stats over an explicit range';
  const to = tomorrow();
  await page.selectOption('[data-testid=period-kind]', 'custom');
  await page.fill('[data-testid=period-from]', '2000-01-01');
  await page.fill('[data-testid=period-to]', to);
  await page.click('[data-testid=stats-refresh]');
  await statsSettled(page, `2000-01-01 至 ${to}`);
  const before = await ebikeCounts(page);
  ok(`${TOPIC_NAME}: 诉求量 ${before.requests}, 重复 ${before.repeats} before`);

  // The street ranking beside the district ranking: the API's streets of the
  // same period, the most requests first when ranked by 诉求量.
  step = 'street ranking';
  const byStreet = await (await fetch(`${base}/api/v1/stats?by=street&from=2000-01-01&to=${to}`, { headers: { Authorization: `Bearer ${tokens.admin}` } })).json();
  const streets = (byStreet.rows || []).filter((r) => r.key !== 'unknown');
  check(streets.length > 0, `the demo has tickets placed in streets (${streets.length})`);
  await page.selectOption('[data-testid=street-sort]', 'requests');
  const streetLabels = (await page.locator('[data-testid=street-chart] svg text.label').allTextContents())
    .map((t) => t.replace(/^\d+\. /, ''));
  check(streetLabels.length === Math.min(20, streets.length), `the street ranking shows ${streetLabels.length} of ${streets.length} streets`);
  const requestsOf = new Map(streets.map((r) => [r.key, r.requests]));
  check(streetLabels.every((l) => requestsOf.has(l)), `every ranked street is one the API counts (${streetLabels.slice(0, 3).join(', ')}…)`);
  const most = Math.max(...streets.map((r) => r.requests));
  check(requestsOf.get(streetLabels[0]) === most, `the first street has the most requests (${streetLabels[0]}: ${requestsOf.get(streetLabels[0])} of ${most})`);
  const streetNote = await page.innerText('[data-testid=street-note]');
  check(streetNote.includes(`共 ${streets.length} 个街乡镇`), `the note counts the streets (${streetNote})`);

  // Sorting by a column reorders the table.
  step = 'sorting';
  await page.click('[data-testid=stats-table] th[data-col=composite] button');
  const sortState = await page.getAttribute('[data-testid=stats-table] th[data-col=composite]', 'aria-sort');
  check(sortState === 'descending' || sortState === 'ascending', `sorted by 综合得分 (${sortState})`);

  // ---- admin: 受理
  step = 'intake suggestion';
  await page.click('[data-testid=tab-intake]');
  await page.waitForSelector('[data-testid=intake-text]', { state: 'visible' });
  await page.locator('[data-testid=intake-text]').pressSequentially(TEXT, { delay: 20 });
  await page.fill('[data-testid=intake-caller-name]', CALLER_NAME);
  await page.fill('[data-testid=intake-caller-phone]', CALLER_PHONE);
  await page.waitForFunction((name) => document.querySelector('[data-testid=suggestion-topic]')?.textContent.includes(name), TOPIC_NAME);
  ok(`the suggestion shows ${TOPIC_NAME}`);
  const conf = await page.innerText('[data-testid=suggestion-confidence]');
  check(/\d+\.\d%/.test(conf), `the suggestion shows a confidence (${conf})`);
  check(await page.inputValue('[data-testid=intake-topic]') === TOPIC, 'the topic select is pre-filled with the suggestion');
  await shot(page, '03-intake-suggestion.png', false);

  step = 'intake submit';
  await page.click('[data-testid=intake-submit]');
  await page.waitForSelector('[data-testid=intake-result]', { state: 'visible' });
  const newId = (await page.innerText('[data-testid=intake-result-id]')).trim();
  check(/^[0-9a-f-]{36}$/.test(newId), `the new ticket's id is shown (${newId})`);
  const resultTopic = await page.innerText('[data-testid=intake-result-topic]');
  check(resultTopic.includes(TOPIC_NAME), `the new ticket's topic is ${TOPIC_NAME}`);
  const isRepeat = await page.locator('[data-testid=intake-result-repeat]').count() > 0;
  check(await page.inputValue('[data-testid=intake-text]') === '', 'the form is cleared after saving');
  await shot(page, '03b-intake-saved.png', false);

  // ---- admin: 检索
  step = 'search finds the new ticket';
  await page.click('[data-testid=tab-search]');
  await page.fill('[data-testid=search-q]', '飞线充电');
  const hit = await findHit(page, newId);
  check(await hit.count() === 1, 'the new ticket is among the results for 飞线充电');
  const marks = await hit.locator('[data-testid=search-snippet] > mark').allInnerTexts();
  check(marks.some((m) => m.includes('飞线') || m.includes('充电')), `the snippet highlights the query in <mark> elements (${marks.join(', ')})`);
  // The snippet's fragments become text nodes and <mark>s, nothing else: no
  // other element, no markup or entity shown as text.
  const snippetTags = await hit.locator('[data-testid=search-snippet] *').evaluateAll((els) => els.map((e) => e.tagName));
  check(snippetTags.length > 0 && snippetTags.every((t) => t === 'MARK'), `the snippet holds only <mark> elements (${snippetTags.join(', ')})`);
  const snippetText = await hit.locator('[data-testid=search-snippet]').innerText();
  check(snippetText.includes('飞线充电') && !/<\/?mark>|&(lt|gt|amp);/.test(snippetText), `the snippet reads as the ticket's text (${snippetText})`);
  await shot(page, '04-search.png');

  step = 'ticket view';
  await hit.locator('.hit-open').click();
  await page.waitForSelector('[data-testid=ticket-text]', { state: 'visible' });
  check((await page.innerText('[data-testid=ticket-text]')).includes('飞线充电'), 'the ticket view shows the text');
  check((await page.innerText('[data-testid=ticket-topic]')).includes(TOPIC_NAME), 'the ticket view shows the topic');
  const adminMe = await (await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${tokens.admin}` } })).json();
  const adminPhone = await page.innerText('[data-testid=ticket-phone]');
  if (adminMe.pii) check(adminPhone.includes(CALLER_PHONE), `admin (pii) sees the phone unmasked (${adminPhone})`);
  else check(adminPhone.includes('****'), `admin without pii sees the phone masked (${adminPhone})`);
  await shot(page, '05-ticket.png', false);
  await page.click('[data-testid=ticket-close]');

  // ---- admin: 统计 again, the count moved by one
  step = 'stats after the new ticket';
  await page.click('[data-testid=tab-stats]');
  await page.click('[data-testid=stats-refresh]');
  await statsSettled(page, `2000-01-01 至 ${to}`);
  const after = await ebikeCounts(page);
  if (isRepeat) check(after.repeats === before.repeats + 1 && after.requests === before.requests, `${TOPIC_NAME}: 重复 ${before.repeats} → ${after.repeats} (linked as a repeat)`);
  else check(after.requests === before.requests + 1, `${TOPIC_NAME}: 诉求量 ${before.requests} → ${after.requests}`);
  await shot(page, '06-stats-after.png');

  step = 'sign out';
  await page.click('[data-testid=signout]');
  await page.waitForSelector('[data-testid=token-input]', { state: 'visible' });
  check(await page.isHidden('[data-testid=panel-stats]'), 'signing out hides the dashboard');

  // ---- supervisor
  step = 'supervisor';
  await signIn(page, base, tokens.supervisor);
  await page.waitForSelector('[data-testid=tab-stats]', { state: 'visible' });
  check(await page.isHidden('[data-testid=tab-intake]'), 'the supervisor has no 受理 tab');
  check(await page.isVisible('[data-testid=tab-search]'), 'the supervisor has the 检索 tab');
  await page.click('[data-testid=tab-search]');
  await page.fill('[data-testid=search-q]', '飞线充电');
  const supHit = await findHit(page, newId);
  check(await supHit.count() === 1, 'the supervisor finds the new ticket');
  await supHit.locator('.hit-open').click();
  await page.waitForSelector('[data-testid=ticket-phone]', { state: 'visible' });
  const supPhone = await page.innerText('[data-testid=ticket-phone]');
  check(supPhone.includes('****') && !supPhone.includes(CALLER_PHONE), `the supervisor sees the phone masked (${supPhone})`);
  await shot(page, '07-supervisor-ticket.png', false);
  await page.click('[data-testid=ticket-close]');

  // ---- supervisor: 督办 (the deadline queue and the hot spots)
  step = 'dispatch tab';
  check(await page.isVisible('[data-testid=tab-dispatch]'), 'the supervisor has the 督办 tab');
  await page.click('[data-testid=tab-dispatch]');
  await page.waitForSelector('[data-testid=queue-row]');
  const counts = {};
  for (const st of ['overdue', 'due_soon', 'on_time']) {
    counts[st] = Number(await page.innerText(`[data-testid=count-${st}] .n`));
  }
  check(counts.overdue > 0 && counts.due_soon > 0 && counts.on_time > 0,
    `open tickets in every deadline state (超期 ${counts.overdue}, 临期 ${counts.due_soon}, 正常 ${counts.on_time})`);
  const queueText = await page.innerText('[data-testid=queue-table]');
  check(!/1391000\d{4}/.test(queueText) && !queueText.includes('先生'), 'the queue shows no caller');
  check((await page.innerText('[data-testid=backlog-table]')).length > 0, 'the backlog per department is shown');
  await page.waitForSelector('[data-testid=hotspot]');
  const kinds = await page.locator('[data-testid=hotspot]').evaluateAll((els) => els.map((e) => e.dataset.kind));
  check(kinds.includes('burst') && kinds.includes('cluster'), `the hot-spot panel shows the planted burst and cluster (${kinds.join(', ')})`);
  await shot(page, '08-dispatch.png');
  step = 'queue filter by state';
  await page.click('[data-testid=count-overdue]');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=queue-row]')].every((r) => r.dataset.state === 'overdue'));
  ok('clicking 超期 lists only overdue tickets');
  step = 'hot spot tickets';
  const firstHot = page.locator('[data-testid=hotspot]').first();
  await firstHot.locator('summary').click();
  await firstHot.locator('[data-testid=hotspot-ticket]').first().click();
  await page.waitForSelector('[data-testid=ticket-text]', { state: 'visible' });
  check((await page.innerText('[data-testid=ticket-text]')).length > 0, 'a hot spot\'s ticket opens in one click');
  await page.click('[data-testid=ticket-close]');
  await shot(page, '09-hotspots.png');

  // ---- operator: no 统计, and the API says 无权限 if asked anyway
  step = 'operator';
  await page.click('[data-testid=signout]');
  await signIn(page, base, tokens.operator);
  await page.waitForSelector('[data-testid=tab-intake]', { state: 'visible' });
  check(await page.isHidden('[data-testid=tab-stats]'), 'the operator has no 统计 tab');

  check(pageErrors.length === 0, `no script error in the page${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`);
  await context.close();
}

async function main() {
  const missing = !BIN ? 'set HOTLINE_BIN to the hotline binary (e.g. target/release/hotline)'
    : !fs.existsSync(BIN) ? `HOTLINE_BIN=${BIN} does not exist (build it first: cargo build --release -p hotline)`
      : !fs.existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`
        : null;
  if (missing) {
    console.error(`dashboard.mjs: ${missing}`);
    return 2;
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotline-e2e-'));
  let server;
  let browser;
  let page;
  try {
    step = 'start the server';
    const port = await freePort();
    server = await startServer(dataDir, port);
    ok(`server ready on ${server.base}`);
    step = 'launch Chromium';
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await run(server.base, server.tokens, browser);
    console.log(`dashboard: ${passed} passed, 0 failed`);
    return 0;
  } catch (e) {
    console.error(`\nFAILED at step "${step}": ${e.message}`);
    if (browser) {
      try {
        for (const ctx of browser.contexts()) for (const p of ctx.pages()) page = p;
        if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png'), fullPage: true });
        console.error(`  screenshot ${path.join(ARTIFACTS, 'failure.png')}`);
      } catch { /* nothing more to show */ }
    }
    console.log(`dashboard: ${passed} passed, 1 failed`);
    return 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server?.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
