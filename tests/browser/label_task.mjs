// Open one Label Studio task in headless Chromium, tick a candidate, submit.
// Driven by tests/ml_backend/test_browser.py (and docs screenshots) through env vars:
//   LS_URL, LS_USER, LS_PASS, PROJECT, TASK, CHOICE (the candidate text to tick),
//   SCREENSHOT (optional PNG path, taken before ticking), SUBMIT ("0" to skip submitting),
//   CHROMIUM (default /usr/bin/chromium).
// Prints one JSON line: {"ticked": ..., "submitted": ..., "annotation_status": ...}.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const base = env('LS_URL');
const choice = env('CHOICE');

const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'illume-chromium-')), {
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  viewport: { width: 1600, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(60000);
  await page.goto(`${base}/user/login/`);
  await page.fill('input[name=email]', env('LS_USER'));
  await page.fill('input[name=password]', env('LS_PASS'));
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/user/login')),
                     page.click('button[type=submit], input[type=submit]')]);

  await page.goto(`${base}/projects/${env('PROJECT')}/data?tab=0&task=${env('TASK')}`);
  const box = page.locator(`input.ant-checkbox-input[name="${choice.replaceAll('"', '\\"')}"]`);
  await box.waitFor({ state: 'attached' });
  await page.locator('.lsf-choice').first().waitFor();
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });

  if (!(await box.isChecked())) await box.check({ force: true });
  const ticked = await box.isChecked();
  let submitted = false;
  let status = null;
  if (env('SUBMIT', '1') !== '0') {
    const saved = page.waitForResponse((r) => /\/api\/tasks\/\d+\/annotations/.test(r.url())
                                             && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Submit' }).click();
    status = (await saved).status();
    submitted = status === 201;
  }
  console.log(JSON.stringify({ ticked, submitted, annotation_status: status }));
} finally {
  await context.close();
}
