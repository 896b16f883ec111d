// The end-user flow as a person meets it, in headless Chromium: the app sends the browser to
// Portcullis, the user signs in and consents, the app exchanges the code (with PKCE), calls
// userinfo, refreshes, and signs the user out. Plus a denial and a wrong password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, startApp, launchBrowser, screenshotDir, projectRoot } from './support.mjs';

let server;
let app;
let browser;
let client;

const b64url = (buffer) => buffer.toString('base64url');

before(async () => {
  server = await startServer();
  app = await startApp();
  browser = await launchBrowser();
  server.cli('scope', 'import', join(projectRoot, 'examples/scopes/insurance.toml'));
  client = JSON.parse(server.cli(
    'client', 'create', '--name', 'Quote Portal', '--type', 'confidential',
    '--grant-types', 'authorization_code,refresh_token', '--scopes', 'openid profile email quote:write',
    '--redirect-uris', `${app.base}/cb`, '--post-logout-redirect-uris', `${app.base}/bye`,
    '--token-auth-method', 'client_secret_basic', '--id-token-signing-alg', 'RS256',
    '--access-token-lifetime', '600', '--refresh-token-lifetime', '3600', '--json',
  ));
  // One user per test: a consent remembered in one test must not skip the screen in another.
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    server.cliWithInput('correct horse battery staple\n', 'user', 'create', '--username', name,
      '--email', `${name}@example.com`, '--name', `${name} Example`, '--password-stdin');
  }
  // The running server picks up CLI changes within a second.
  await new Promise((r) => setTimeout(r, 1000));
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await server?.stop();
});

function authorizeUrl(state, verifier, scope = 'openid profile email quote:write') {
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const params = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: `${app.base}/cb`,
    scope, state, nonce: 'n-' + state, code_challenge: challenge, code_challenge_method: 'S256',
  });
  return `${server.url}/oauth2/authorize?${params}`;
}

async function token(form) {
  const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: await res.json() };
}

function shot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  return page.screenshot({ path: join(screenshotDir, name), fullPage: true });
}

test('sign in, consent, code, tokens, userinfo, refresh, logout', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const verifier = b64url(randomBytes(32));

  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // A Content-Security-Policy violation (or a failed hydration) is reported on the console.
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));

  await page.goto(authorizeUrl('state-1', verifier));
  assert.match(page.url(), /\/login$/);
  // Served as a plain form, then hydrated by the wasm bundle (the last test runs without it).
  await page.locator('main[data-interactive=true]').waitFor({ timeout: 15_000 });
  assert.match(await page.textContent('main'), /to continue to Quote Portal/);
  await shot(page, 'login.png');
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'correct horse battery staple');
  await page.click('button[type=submit]');

  assert.match(page.url(), /\/consent$/);
  const consentText = await page.textContent('main');
  assert.match(consentText, /Quote Portal wants access to your account/);
  await page.locator('main[data-interactive=true]').waitFor({ timeout: 15_000 });
  assert.match(consentText, /quote:write/);
  assert.match(consentText, /Includes:/, 'what each scope includes is shown');
  await shot(page, 'consent.png');
  await page.click('button[value=allow]');

  const back = new URL(page.url());
  assert.equal(back.origin + back.pathname, `${app.base}/cb`);
  assert.equal(back.searchParams.get('state'), 'state-1');
  assert.equal(back.searchParams.get('iss'), server.url);
  const code = back.searchParams.get('code');
  assert.ok(code.startsWith('pcac_'));

  const exchanged = await token({
    grant_type: 'authorization_code', code, redirect_uri: `${app.base}/cb`, code_verifier: verifier,
  });
  assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
  const { access_token, refresh_token, id_token } = exchanged.body;
  assert.ok(access_token && refresh_token && id_token);
  const [idHeader, idPayload, idSignature] = id_token.split('.');
  const header = JSON.parse(Buffer.from(idHeader, 'base64url'));
  assert.equal(header.alg, 'RS256', 'the algorithm the client registered');
  const jwks = await (await fetch(`${server.url}/oauth2/jwks`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  const signedBy = verify('RSA-SHA256', Buffer.from(`${idHeader}.${idPayload}`),
    createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(idSignature, 'base64url'));
  assert.ok(signedBy, 'the ID token verifies against the published JWKS');
  const idClaims = JSON.parse(Buffer.from(idPayload, 'base64url'));
  assert.equal(idClaims.nonce, 'n-state-1');
  assert.equal(idClaims.aud, client.client_id);

  const info = await fetch(`${server.url}/oauth2/userinfo`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(info.status, 200);
  assert.equal((await info.json()).email, 'alice@example.com');

  const refreshed = await token({ grant_type: 'refresh_token', refresh_token });
  assert.equal(refreshed.status, 200);
  assert.notEqual(refreshed.body.refresh_token, refresh_token, 'rotated');
  const replayed = await token({ grant_type: 'refresh_token', refresh_token });
  assert.equal(replayed.body.error, 'invalid_grant');

  const logout = new URLSearchParams({ id_token_hint: id_token, post_logout_redirect_uri: `${app.base}/bye`, state: 'out' });
  await page.goto(`${server.url}/oauth2/logout?${logout}`);
  assert.equal(page.url(), `${app.base}/bye?state=out`);

  // Signed out: the next authorization asks for a sign-in again.
  await page.goto(authorizeUrl('state-2', verifier));
  assert.match(page.url(), /\/login$/);
  assert.deepEqual(errors, [], 'no script errors and no CSP violations');
  await context.close();
});

test('a remembered consent skips the screen; the account page can revoke it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const verifier = b64url(randomBytes(32));
  await page.goto(authorizeUrl('s-a', verifier, 'openid email'));
  await page.fill('input[name=username]', 'bob');
  await page.fill('input[name=password]', 'correct horse battery staple');
  await page.click('button[type=submit]');
  await page.click('button[value=allow]');
  assert.ok(page.url().startsWith(`${app.base}/cb?code=`));

  await page.goto(authorizeUrl('s-b', verifier, 'openid'));
  assert.ok(page.url().startsWith(`${app.base}/cb?code=`), 'fewer scopes: no consent screen');

  await page.goto(`${server.url}/account`);
  assert.match(await page.textContent('main'), /Quote Portal/);
  await shot(page, 'account.png');
  await page.click('text=Revoke');
  await page.goto(authorizeUrl('s-c', verifier, 'openid'));
  assert.match(page.url(), /\/consent$/, 'asked again after revoking');
  await context.close();
});

test('deny returns access_denied; a wrong password is refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(authorizeUrl('s-deny', b64url(randomBytes(32)), 'openid profile'));
  await page.fill('input[name=username]', 'carol');
  await page.fill('input[name=password]', 'not the password');
  await page.click('button[type=submit]');
  assert.match(page.url(), /\/login\?error=invalid$/);
  assert.match(await page.textContent('[role=alert]'), /not correct/);

  await page.fill('input[name=username]', 'carol');
  await page.fill('input[name=password]', 'correct horse battery staple');
  await page.click('button[type=submit]');
  await page.click('button[value=deny]');
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), 's-deny');
  await context.close();
});

test('the pages work with JavaScript disabled', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(authorizeUrl('s-nojs', b64url(randomBytes(32)), 'openid'));
  assert.equal(await page.getAttribute('main', 'data-interactive'), 'false', 'no hydration');
  await page.fill('input[name=username]', 'dave');
  await page.fill('input[name=password]', 'correct horse battery staple');
  await page.click('button[type=submit]');
  if (page.url().endsWith('/consent')) await page.click('button[value=allow]');
  assert.ok(page.url().startsWith(`${app.base}/cb?code=`), page.url());
  await context.close();
});
