// The admin portal as an administrator uses it, in headless Chromium: sign in, create a client
// and regenerate its secret, approve a pending client with narrower scopes, regenerate another
// secret with an overlap, revoke a client's tokens after seeing the count, read the analytics
// chart, and find every action in the audit log under the admin's own name. An admin without
// admin:clients is refused the same pages and the same posts on the server, and nothing is
// done in its name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, screenshotDir, projectRoot } from './support.mjs';

const PASSWORD = 'a long admin passphrase';
let server;
let browser;
let service;
let pending;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.cli('scope', 'import', join(projectRoot, 'examples/scopes/insurance.toml'));
  // The first admin gets every permission; the second only reads the audit log.
  server.cliWithInput(`${PASSWORD}\n`, 'admin', 'create', '--email', 'root@example.com', '--password-stdin');
  server.cliWithInput(`${PASSWORD}\n`, 'admin', 'create', '--email', 'auditor@example.com',
    '--password-stdin', '--permissions', 'admin:audit');
  const common = ['--type', 'confidential', '--grant-types', 'client_credentials',
    '--token-auth-method', 'client_secret_basic', '--access-token-lifetime', '600',
    '--refresh-token-lifetime', '3600', '--json'];
  service = JSON.parse(server.cli('client', 'create', '--name', 'Billing sync',
    '--scopes', 'quote:read', ...common));
  pending = JSON.parse(server.cli('client', 'create', '--name', 'Broker Portal',
    '--scopes', 'quote:write claim:read', '--pending', ...common));
  await new Promise((r) => setTimeout(r, 1000));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function token(id, secret, scope = 'quote:read') {
  const basic = Buffer.from(`${id}:${secret}`).toString('base64');
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=${scope}`,
  });
  return { status: res.status, body: await res.json() };
}

function shot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  return page.screenshot({ path: join(screenshotDir, name), fullPage: true });
}

async function signIn(page, email) {
  await page.goto(`${server.url}/admin`);
  assert.match(page.url(), /\/admin\/login$/);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  assert.match(page.url(), /\/admin$/);
}

test('an admin approves, regenerates, revokes, reads analytics and the audit log', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await token(service.client_id, service.client_secret)).status, 200);

  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // Console errors other than the 400 the refused form deliberately gets: CSP violations,
  // hydration failures.
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && !text.startsWith('Failed to load resource')) errors.push(text);
  });
  await signIn(page, 'root@example.com');
  await page.locator('[data-interactive=true]').waitFor({ timeout: 15_000 });
  const queue = await page.textContent('[data-testid=pending-clients]');
  assert.match(queue, /Broker Portal/);
  assert.match(await page.textContent('[data-testid=tokens-today]'), /client_credentials/);
  await shot(page, 'admin-dashboard.png');

  // Create a client in the portal: nothing defaults, the secret is shown once.
  await page.goto(`${server.url}/admin/clients/new`);
  await page.fill('input[name=name]', 'Claims Feed');
  await page.fill('input[name=client_type]', 'confidential');
  await page.fill('input[name=grant_types]', 'client_credentials');
  await page.fill('input[name=scopes]', 'claim:read');
  await page.fill('input[name=token_auth_method]', 'client_secret_basic');
  await page.fill('input[name=access_token_lifetime]', '600');
  await page.click('form[action="/admin/clients"] button[type=submit]');
  assert.match(await page.textContent('[role=alert]'), /refresh token lifetime is required/);
  assert.equal(await page.inputValue('input[name=name]'), 'Claims Feed', 'what was typed is kept');
  await page.fill('input[name=refresh_token_lifetime]', '3600');
  await page.click('form[action="/admin/clients"] button[type=submit]');
  const firstSecret = (await page.textContent('[data-testid=new-secret]')).trim();
  assert.ok(firstSecret.startsWith('pcs_'));
  const claimsFeed = (await page.getAttribute('form[action$="/secret"]', 'action')).split('/')[3];

  // Regenerate the new client's secret with no overlap (left empty): only the new one works.
  await page.click('form[action$="/secret"] button[type=submit]');
  const secondSecret = (await page.textContent('[data-testid=new-secret]')).trim();
  assert.ok(secondSecret.startsWith('pcs_') && secondSecret !== firstSecret);
  await new Promise((r) => setTimeout(r, 1000));
  const withSecret = (secret) => token(claimsFeed, secret, 'claim:read');
  assert.equal((await withSecret(secondSecret)).status, 200, 'the new secret works');
  assert.equal((await withSecret(firstSecret)).status, 401, 'the old one is dead');
  await page.goto(`${server.url}/admin`);

  // Approve with fewer scopes than requested.
  await page.fill('input[name=scopes]', 'quote:write');
  await page.fill('form[action$="/approve"] input[name=reason]', 'Known broker, contract 17');
  await page.click('form[action$="/approve"] button[type=submit]');
  assert.match(page.url(), /\/admin$/);
  assert.match(await page.textContent('main, body'), /Nothing to decide/);

  // Regenerate the service client's secret, keeping the old one for a day.
  await page.goto(`${server.url}/admin/clients/${service.client_id}`);
  await page.fill('input[name=overlap_hours]', '24');
  await page.click('form[action$="/secret"] button[type=submit]');
  const secret = (await page.textContent('[data-testid=new-secret]')).trim();
  assert.ok(secret.startsWith('pcs_'));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await token(service.client_id, secret)).status, 200, 'the new secret works');
  assert.equal((await token(service.client_id, service.client_secret)).status, 200, 'the old one overlaps');

  // Revoke every token of the client: the count first, then the result.
  await page.goto(`${server.url}/admin/revoke?client_id=${service.client_id}`);
  const preview = await page.textContent('[data-testid=preview]');
  const live = Number(preview.match(/(\d+) access tokens/)[1]);
  assert.equal(live, 5);
  await page.fill('form[method=post][action="/admin/revoke"] input[name=reason]', 'Incident 42: leaked secret');
  await page.click('form[method=post][action="/admin/revoke"] button[type=submit]');
  assert.match(await page.textContent('[data-testid=revoked]'), /revoked 5 access tokens/);

  // Analytics: a chart with the tokens this test issued.
  await page.goto(`${server.url}/admin/analytics`);
  const chart = page.locator('[data-testid=tokens-chart]');
  await chart.waitFor();
  assert.ok((await chart.locator('rect').count()) >= 1, 'at least one bar');
  // Five for the service client, one for the client created above.
  assert.match(await chart.innerHTML(), /client_credentials: 6/);
  await shot(page, 'admin-analytics.png');

  // Every action is in the audit log.
  await page.goto(`${server.url}/admin/audit`);
  const log = await page.textContent('[data-testid=audit]');
  for (const action of ['admin.sign_in', 'client.create', 'client.approve', 'client.secret.rotate', 'tokens.revoke']) {
    assert.match(log, new RegExp(action.replace('.', '\\.')), action);
  }
  assert.ok(!log.includes(secret), 'never a secret in the log');
  await shot(page, 'admin-audit.png');
  // ...under this admin's name, not the CLI's: the portal's own actions, filtered by actor.
  for (const action of ['client.create', 'client.approve', 'client.secret.rotate',
    'tokens.revoke']) {
    const query = new URLSearchParams({ actor: 'admin:root@example.com', action });
    await page.goto(`${server.url}/admin/audit?${query}`);
    const rows = await page.textContent('[data-testid=audit]');
    assert.match(rows, new RegExp(action.replace(/\./g, '\\.')), `${action} by the portal admin`);
  }
  assert.deepEqual(errors, [], 'no script errors and no CSP violations');
  await context.close();
});

test('an admin without admin:clients is refused on the server', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'auditor@example.com');
  for (const path of ['/admin/clients', `/admin/clients/${pending.client_id}`, '/admin/analytics']) {
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response.status(), 403, path);
  }
  // The same actions the first admin took, posted straight from this session with its valid
  // CSRF token (a hidden button is not a check): create, approve, regenerate, revoke.
  const csrf = await page.goto(`${server.url}/admin`).then(() =>
    page.getAttribute('input[name=csrf]', 'value'));
  const forged = {
    '/admin/clients': { name: 'Forged', client_type: 'confidential',
      grant_types: 'client_credentials', scopes: 'quote:read',
      token_auth_method: 'client_secret_basic', access_token_lifetime: '600',
      refresh_token_lifetime: '3600' },
    [`/admin/clients/${pending.client_id}/approve`]: { scopes: 'quote:write', reason: 'x' },
    [`/admin/clients/${service.client_id}/secret`]: { overlap_hours: '1' },
    '/admin/revoke': { client_id: service.client_id, username: '', reason: 'x' },
  };
  for (const [path, fields] of Object.entries(forged)) {
    const status = await page.evaluate(async ([path, fields]) => {
      const body = new URLSearchParams(fields);
      const res = await fetch(path, { method: 'POST', body, redirect: 'manual' });
      return res.status;
    }, [path, { csrf, ...fields }]);
    assert.equal(status, 403, path);
  }
  // Nothing happened: this admin's only entries in the log are its sign-ins.
  const query = new URLSearchParams({ actor: 'admin:auditor@example.com' });
  await page.goto(`${server.url}/admin/audit?${query}`);
  const rows = await page.textContent('[data-testid=audit]');
  for (const action of ['client.create', 'client.approve', 'client.secret.rotate',
    'tokens.revoke']) {
    assert.ok(!rows.includes(action), `${action} was not done by the refused admin`);
  }
  assert.match(rows, /admin\.sign_in/);
  await context.close();
});
