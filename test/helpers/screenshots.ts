/**
 * `pnpm screenshots`: starts `soc start` on a scratch data directory, replays the demo sensor file,
 * triages a little, and saves the console's main pages from headless Chromium to docs/console/.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, api, startSoc, waitFor } from './soc-process.ts';
import { browserMissing, launchBrowser } from './browser.ts';

const missing = browserMissing();
if (missing) {
  process.stderr.write(`screenshots ${missing}\n`);
  process.exit(1);
}
const out = join(ROOT, 'docs/console');
const dir = mkdtempSync(join(tmpdir(), 'soc-shots-'));
const soc = await startSoc({ dataDir: dir });
const browser = await launchBrowser();
try {
  const demo = readFileSync(join(ROOT, 'deploy/demo/eve-sample.json'), 'utf8').trim().split('\n');
  // Recent timestamps so the relative-time views have something to show.
  const now = Date.now();
  const lines = demo.map((l, i) => {
    const e = JSON.parse(l);
    e.timestamp = new Date(now - (demo.length - i) * 97_000).toISOString().replace('Z', '+0000');
    return JSON.stringify(e);
  });
  const xss = JSON.parse(lines[0]!);
  xss.flow_id = 999_999;
  xss.alert.signature = '<img src=x onerror=alert(1)>';
  xss.alert.signature_id = 2999999;
  lines.push(JSON.stringify(xss));
  await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body: lines.join('\n') });
  const all = await waitFor(async () => {
    const r = await api(soc.url, soc.analystToken, '/v1/alerts?limit=100');
    return r.body.total >= 10 ? r.body : undefined;
  }, 'demo alerts');
  const ids: string[] = all.alerts.map((a: { id: string }) => a.id);
  for (const [i, status] of ['acknowledged', 'acknowledged', 'false_positive'].entries()) {
    await api(soc.url, soc.analystToken, `/v1/alerts/${ids[i]}`, { method: 'PATCH', body: JSON.stringify({ status, assignee: 'analyst', comment: 'Checked the sensor; source is a known scanner range.' }) });
  }
  await api(soc.url, soc.analystToken, '/v1/cases', { method: 'POST', body: JSON.stringify({ title: 'SSH scanning from 203.0.113.0/24', severity: 'high', tlp: 'AMBER', alert_ids: ids.slice(0, 3) }) });

  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.emulateMedia({ colorScheme: 'dark' });
  const password = (JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { users: { password: string }[] }).users[0]!.password;
  await page.goto(`${soc.url}/#/login`);
  await page.screenshot({ path: join(out, 'login.png') });
  await page.fill('#login-user', 'admin');
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#live:has-text("live")');
  const shot = async (hash: string, name: string, wait: string) => {
    await page.goto(`${soc.url}/${hash}`);
    await page.waitForSelector(wait);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
  };
  await shot('#/alerts', 'alerts', 'tbody tr.alert-row');
  await shot(`#/alert/${ids[0]}`, 'alert-detail', '#timeline');
  await shot(`#/hunt?q=${encodeURIComponent('source.ip:203.0.113.0/24 AND severity >= medium')}&interval=5m`, 'hunt', 'svg.chart');
  await shot(`#/hunt?over=events&q=${encodeURIComponent('destination.port:22 AND source.ip:203.0.113.0/24')}&interval=5m`, 'hunt-events', '#event-table');
  await shot('#/dashboards', 'dashboards', 'svg.chart');
  const cases = await api(soc.url, soc.analystToken, '/v1/cases');
  await shot(`#/case/${cases.body.cases[0].id}`, 'case', '#case-alerts');
  await shot('#/deadletters', 'deadletters', 'h1');
  await page.click('#theme');
  await shot('#/alerts', 'alerts-light', 'tbody tr.alert-row');
  process.stdout.write(JSON.stringify({ screenshots: out }) + '\n');
} finally {
  await browser.close();
  await soc.stop();
  rmSync(dir, { recursive: true, force: true });
}
