// Open the backend's progress page in headless Chromium, read its figures, take a screenshot.
// Driven by tests/ml_backend/test_progress_browser.py through env vars:
//   URL (the page), PROJECT (the project section to read), SCREENSHOT (PNG path),
//   AUTH_USER/AUTH_PASS (optional basic auth), CHROMIUM (default /usr/bin/chromium).
// Prints one JSON line: the project's key figures as the page shows them, and the load time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const options = {
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
};
if (process.env.AUTH_USER) {
  options.httpCredentials = { username: process.env.AUTH_USER, password: env('AUTH_PASS') };
}
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'illume-chromium-')), options);
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(60000);
  const started = Date.now();
  const response = await page.goto(env('URL'));
  const section = page.locator(`section.project[data-project="${env('PROJECT')}"]`);
  await section.waitFor();
  const loadMs = Date.now() - started;
  const text = async (sel) => (await section.locator(sel).first().textContent()).trim();
  const rows = async (table) => section.locator(`table.${table} tr`).evaluateAll(
    (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
  const out = {
    status: response.status(),
    load_ms: loadMs,
    tasks: await text('.tasks'),
    annotated: await text('.annotated'),
    resolved: await text('.resolved'),
    none_fits: await text('.none-fits'),
    rounds: await rows('rounds'),
    versions: await rows('versions'),
    annotators: await rows('annotators'),
    agreement: await rows('agreement'),
    plots: await section.locator('svg').count(),
  };
  await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });
  console.log(JSON.stringify(out));
} finally {
  await context.close();
}
