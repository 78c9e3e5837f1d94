// Calendar arithmetic for the stats periods: days, ISO weeks, months, assessment months and chart buckets.

// Dates are handled as UTC midnight so that arithmetic never meets a DST or
// time-zone shift; the server's days are local calendar days, written YYYY-MM-DD.
export const pad = (n) => String(n).padStart(2, '0');
export const D = (s) => new Date(`${s}T00:00:00Z`);
export const ymd = (d) => d.toISOString().slice(0, 10);
export const ym = (d) => d.toISOString().slice(0, 7);
export const addDays = (d, n) => new Date(d.getTime() + n * 86400000);
export const monthStart = (y, m) => new Date(Date.UTC(y, m - 1, 1)); // m: 1..12, may overflow
export const monthEnd = (y, m) => new Date(Date.UTC(y, m, 0));
export function todayLocal() {
  const n = new Date();
  return `${n.getFullYear()}-${pad(n.getMonth() + 1)}-${pad(n.getDate())}`;
}
export function parseYm(key) { const [y, m] = key.split('-').map(Number); return [y, m]; }
export function shiftYm(key, n) { const [y, m] = parseYm(key); return ym(monthStart(y, m + n)); }
export function mondayOf(d) { return addDays(d, -((d.getUTCDay() + 6) % 7)); }
/** ISO week key, as the server writes it: 2024-W09. */
export function isoWeekKey(d) {
  const thursday = addDays(mondayOf(d), 3);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86400000));
  return `${year}-W${pad(week)}`;
}
/** The day an assessment month starts on: the server's setting, from /api/v1/topics. */
let amonthStartDay = 19;
export function setAmonthStartDay(day) { amonthStartDay = day; }
/** The assessment month a day falls in, named after the month it ends in (19 Mar – 18 Apr is 2024-04). */
export function amonthKey(d) {
  return d.getUTCDate() >= amonthStartDay ? ym(monthStart(d.getUTCFullYear(), d.getUTCMonth() + 2)) : ym(d);
}
export function amonthRange(key) {
  const [y, m] = parseYm(key);
  return [new Date(Date.UTC(y, m - 2, amonthStartDay)), new Date(Date.UTC(y, m - 1, amonthStartDay - 1))];
}

/** Every bucket key between two days for a grouping, in order (so empty periods show). */
export function bucketKeys(by, from, to) {
  const keys = [];
  const a = D(from); const b = D(to);
  if (by === 'day') for (let d = a; d <= b; d = addDays(d, 1)) keys.push(ymd(d));
  else if (by === 'week') for (let d = mondayOf(a); d <= b; d = addDays(d, 7)) keys.push(isoWeekKey(d));
  else {
    const first = by === 'month' ? ym(a) : amonthKey(a);
    const last = by === 'month' ? ym(b) : amonthKey(b);
    for (let k = first; k <= last && keys.length < 1200; k = shiftYm(k, 1)) keys.push(k);
  }
  return keys;
}

export function bucketLabel(by, key) {
  if (by === 'day') return key.slice(5);
  if (by === 'week') return key.slice(5);
  if (by === 'assessment_month') return `${key.slice(2)}考`;
  return key.slice(2);
}
