// The developer portal as partners and an admin use it, in headless Chromium: a partner signs up,
// the admin approves the account, the partner requests a client, the admin approves it with
// narrower scopes, the partner sees the secret once and gets a token with it, requests a key,
// the admin approves it, the key verifies and the usage chart shows it. A second partner reaches
// none of the first partner's client or key, by any URL or form post.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, screenshotDir, projectRoot } from './support.mjs';

const ADMIN_PASSWORD = 'a long admin passphrase';
const PARTNER_PASSWORD = 'a partner passphrase, long';
let server;
let browser;
let gateway;
// What the first test leaves for the second: the first partner's client and key ids.
const first = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.cli('scope', 'import', join(projectRoot, 'examples/scopes/insurance.toml'));
  server.cliWithInput(`${ADMIN_PASSWORD}\n`, 'admin', 'create', '--email', 'root@example.com',
    '--password-stdin');
  // The platform's gateway: it checks the partners' API keys.
  gateway = JSON.parse(server.cli('client', 'create', '--name', 'Gateway', '--type', 'confidential',
    '--grant-types', 'client_credentials', '--scopes', 'quote:read', '--token-auth-method',
    'client_secret_basic', '--access-token-lifetime', '600', '--refresh-token-lifetime', '3600',
    '--json'));
  server.cli('client', 'grant', gateway.client_id, 'verify-api-keys');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function shot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  return page.screenshot({ path: join(screenshotDir, name), fullPage: true });
}

/** Retries `attempt` until it returns something truthy (changes reach the server's caches
 * through the change feed within a second; usage counters are flushed every few seconds). */
async function eventually(attempt, what, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const result = await attempt();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function token(id, secret) {
  const basic = Buffer.from(`${id}:${secret}`).toString('base64');
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=quote:read',
  });
  return { status: res.status, body: await res.json() };
}

async function verify(key) {
  const basic = Buffer.from(`${gateway.client_id}:${gateway.client_secret}`).toString('base64');
  const res = await fetch(`${server.url}/api-keys/verify`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key, scope: 'quote:read' }),
  });
  return res.json();
}

/** A page that records script errors and CSP violations. */
async function watchedPage(context, errors) {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && !text.startsWith('Failed to load resource')) errors.push(text);
  });
  return page;
}

async function adminSignIn(page) {
  await page.goto(`${server.url}/admin/login`);
  await page.fill('input[name=email]', 'root@example.com');
  await page.fill('input[name=password]', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  assert.match(page.url(), /\/admin$/);
}

async function signUp(page, email, organisation) {
  await page.goto(`${server.url}/developers`);
  await page.click('a[href="/developers/signup"] >> nth=0');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=name]', 'Dana Developer');
  await page.fill('input[name=organisation]', organisation);
  await page.fill('input[name=password]', PARTNER_PASSWORD);
  await page.click('form[action="/developers/signup"] button[type=submit]');
  assert.match(await page.textContent('[data-testid=dev-message]'), /administrator will look/);
}

async function approveAccount(admin, organisation) {
  await admin.goto(`${server.url}/admin/partners`);
  const entry = admin.locator('[data-testid=partners] li', { hasText: organisation });
  await entry.locator('form[action$="/approve"] button[type=submit]').click();
  assert.match(admin.url(), /\/admin\/partners$/);
}

async function partnerSignIn(page, email) {
  await page.goto(`${server.url}/developers/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PARTNER_PASSWORD);
  await page.click('form[action="/developers/login"] button[type=submit]');
  assert.match(page.url(), /\/developers\/console$/);
}

test('a partner gets a client and a key approved and uses both', async () => {
  const errors = [];
  const partnerContext = await browser.newContext();
  const adminContext = await browser.newContext();
  const partner = await watchedPage(partnerContext, errors);
  const admin = await watchedPage(adminContext, errors);

  // The docs need no account.
  await partner.goto(`${server.url}/developers`);
  await partner.locator('[data-testid=docs-home]').waitFor();
  await shot(partner, 'developers-docs.png');
  await partner.goto(`${server.url}/developers/docs/authorization-code`);
  assert.match(await partner.textContent('[data-testid=docs-authorization-code]'), /code_verifier/);
  assert.match(await partner.textContent('main'), new RegExp(server.url.replace(/[.:/]/g, '\\$&')));
  await shot(partner, 'developers-guide.png');

  // Sign-up, pending until the admin approves the account.
  await signUp(partner, 'dana@partner.example', 'Partner Ltd');
  await partner.goto(`${server.url}/developers/login`);
  await partner.fill('input[name=email]', 'dana@partner.example');
  await partner.fill('input[name=password]', PARTNER_PASSWORD);
  await partner.click('form[action="/developers/login"] button[type=submit]');
  assert.match(await partner.textContent('[data-testid=dev-message]'), /awaits/);
  await adminSignIn(admin);
  assert.match(await admin.textContent('[data-testid=partners]'), /Partner Ltd/);
  await approveAccount(admin, 'Partner Ltd');
  await partnerSignIn(partner, 'dana@partner.example');

  // The client request, every setting typed out.
  await partner.click('a[href="/developers/clients/new"]');
  await partner.fill('input[name=name]', 'Quote Sync');
  await partner.fill('input[name=client_type]', 'confidential');
  await partner.fill('input[name=grant_types]', 'client_credentials');
  await partner.fill('input[name=scopes]', 'quote:read policy:read');
  await partner.fill('input[name=token_auth_method]', 'client_secret_basic');
  await partner.fill('input[name=access_token_lifetime]', '600');
  await partner.fill('input[name=refresh_token_lifetime]', '3600');
  await partner.fill('textarea[name=description]', 'Nightly price sync for brokers');
  await partner.fill('textarea[name=justification]', 'Brokers need prices before opening');
  await shot(partner, 'developers-request.png');
  await partner.click('form[action="/developers/clients"] button[type=submit]');
  assert.match(await partner.textContent('[data-testid=client-status]'), /pending/);
  first.clientId = (await partner.textContent('[data-testid=client-id]')).trim();

  // The admin approves it with narrower scopes and an overlap limit.
  await admin.goto(`${server.url}/admin`);
  const request = admin.locator('[data-testid=pending-clients] li', { hasText: 'Quote Sync' });
  assert.match(await request.textContent(), /Brokers need prices before opening/);
  await request.locator('input[name=scopes]').fill('quote:read');
  await request.locator('input[name=partner_overlap_hours]').fill('24');
  await request.locator('form[action$="/approve"] input[name=reason]').fill('Reads are enough');
  await request.locator('form[action$="/approve"] button[type=submit]').click();
  assert.match(admin.url(), /\/admin$/);

  // The partner is told, sees the decision, and the secret once.
  await partner.goto(`${server.url}/developers/console`);
  assert.match(await partner.textContent('[data-testid=notifications]'), /approved with the scopes quote:read/);
  await partner.goto(`${server.url}/developers/clients/${first.clientId}`);
  assert.match(await partner.textContent('[data-testid=client-status]'), /active/);
  assert.match(await partner.textContent('[data-testid=decision-reason]'), /Reads are enough/);
  await partner.click('button:has-text("Show the client secret")');
  const secret = (await partner.textContent('[data-testid=shown-once-value]')).trim();
  assert.ok(secret.startsWith('pcs_'), secret);
  await partner.goto(`${server.url}/developers/clients/${first.clientId}`);
  assert.ok(!(await partner.content()).includes(secret), 'shown once');

  // A token with it, for the granted scope.
  const issued = await eventually(async () => {
    const reply = await token(first.clientId, secret);
    return reply.status === 200 && reply;
  }, 'the approved client to get a token');
  assert.equal(issued.body.scope, 'quote:read');

  // A key for the client, approved by the admin, verified by the gateway.
  await partner.fill('form[data-testid=key-request-form] input[name=name]', 'price feed');
  await partner.fill('form[data-testid=key-request-form] input[name=scopes]', 'quote:read');
  await partner.fill('form[data-testid=key-request-form] input[name=rate_limit_per_minute]', '120');
  await partner.click('form[data-testid=key-request-form] button[type=submit]');
  const key = (await partner.textContent('[data-testid=shown-once-value]')).trim();
  assert.ok(key.startsWith('pcak_'), key);
  first.key = key;
  first.keyId = await partner.getAttribute('[data-testid=partner-keys] a', 'href')
    .then((href) => href.split('/').pop());
  await eventually(async () => (await verify(key)).reason === 'pending_approval', 'a pending key');
  await admin.goto(`${server.url}/admin`);
  const pendingKey = admin.locator('[data-testid=pending-keys] li', { hasText: 'price feed' });
  await pendingKey.locator('form[action$="/approve"] input[name=reason]').fill('Fine');
  await pendingKey.locator('form[action$="/approve"] button[type=submit]').click();
  await eventually(async () => (await verify(key)).valid === true, 'the approved key to verify');

  // The partner's own usage: the token on the client's chart, the verification on the key's.
  await partner.goto(`${server.url}/developers/clients/${first.clientId}`);
  const chart = partner.locator('[data-testid=tokens-chart]');
  assert.match(await chart.innerHTML(), /client_credentials: 1/);
  await eventually(async () => {
    await partner.goto(`${server.url}/developers/keys/${first.keyId}`);
    return /valid: 1/.test(await partner.locator('[data-testid=key-chart]').innerHTML());
  }, 'the verification on the key chart');
  await partner.locator('[data-interactive=true]').waitFor({ timeout: 15_000 });
  await shot(partner, 'developers-key.png');
  assert.deepEqual(errors, [], 'no script errors and no CSP violations');
  await partnerContext.close();
  await adminContext.close();
});

test('a second partner cannot see or act on the first partner\'s client or key', async () => {
  const errors = [];
  const context = await browser.newContext();
  const adminContext = await browser.newContext();
  const page = await watchedPage(context, errors);
  const admin = await watchedPage(adminContext, errors);
  await signUp(page, 'eve@other.example', 'Other Corp');
  await adminSignIn(admin);
  await approveAccount(admin, 'Other Corp');
  await partnerSignIn(page, 'eve@other.example');
  assert.ok(!(await page.textContent('[data-testid=partner-clients]')).includes('Quote Sync'));

  const client = `/developers/clients/${first.clientId}`;
  const key = `/developers/keys/${first.keyId}`;
  for (const path of [client, `${client}/usage.csv`, key, `${key}/usage.csv`,
    `/developers/clients?owner=x&id=${first.clientId}`]) {
    const response = await page.goto(`${server.url}${path}`);
    if (path.includes('?')) {
      assert.ok(!(await page.content()).includes(first.clientId), path);
    } else {
      assert.equal(response.status(), 404, path);
    }
  }
  // Form posts with this partner's own, valid CSRF token: still nothing of the first's.
  await page.goto(`${server.url}/developers/console`);
  const csrf = await page.getAttribute('input[name=csrf]', 'value');
  const statuses = await page.evaluate(async ([posts, csrf]) => {
    const out = [];
    for (const [path, fields] of posts) {
      const body = new URLSearchParams({ csrf, ...fields });
      const res = await fetch(path, { method: 'POST', body, redirect: 'manual' });
      out.push(res.status);
    }
    return out;
  }, [[
    [`${client}/secret`, {}],
    [`${client}/keys`, { name: 'mine', scopes: 'quote:read', rate_limit_per_minute: '10' }],
    [`${client}/revoke-tokens`, { reason: 'x' }],
    [`${key}/rotate`, {}],
    [`${key}/revoke`, {}],
  ], csrf]);
  assert.deepEqual(statuses, [404, 404, 404, 404, 404]);
  assert.equal((await verify(first.key)).valid, true, 'the first partner\'s key still works');
  assert.deepEqual(errors, [], 'no script errors and no CSP violations');
  await context.close();
  await adminContext.close();
});
