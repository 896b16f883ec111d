// The landing page: rendered on the server, styled by Tailwind, hydrated by the wasm bundle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, screenshotDir } from './support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('landing page is server-rendered, styled and hydrated', async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('response', (res) => { if (res.status() >= 400) problems.push(`${res.status()} ${res.url()}`); });

  const response = await page.goto(server.url + '/');
  assert.equal(response.status(), 200);
  const html = await response.text();
  assert.match(html, /OAuth 2 and OpenID Connect/, 'content is in the first HTML, before any script');

  await page.getByTestId('hydration-status').getByText('interactive').waitFor({ timeout: 15_000 });

  const heading = page.getByRole('heading', { level: 1 });
  const fontWeight = await heading.evaluate((el) => getComputedStyle(el).fontWeight);
  assert.equal(fontWeight, '700', 'Tailwind font-bold applies, so the stylesheet loaded');

  await page.getByRole('link', { name: 'Signing keys (JWKS)' }).click();
  const jwks = JSON.parse(await page.locator('body').innerText());
  // The ES256 access-token key and the RS256 key every OpenID provider offers, in any order.
  assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);

  mkdirSync(screenshotDir, { recursive: true });
  await page.goto(server.url + '/');
  await page.screenshot({ path: join(screenshotDir, 'landing.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no console errors and no failed requests');
});

test('unknown pages answer 404 with a page, not a stack trace', async () => {
  const response = await fetch(server.url + '/no-such-page');
  assert.equal(response.status, 404);
  assert.match(await response.text(), /Page not found/);
});
