// Fault tests against the real binary on SQLite (SECURITY.md FT-01, FT-02): `kill -9` while
// code exchanges or refresh rotations are in flight, then a restart on the same data.
//
// A kill cannot be aimed between two statements, and it need not be: a redemption is one
// transaction (spend the code or the refresh token, store the successor, record the access
// token), so these tests check what that promises from the outside, straight in the database
// file after each crash:
//   FT-01: every code is unused and issued nothing, or spent with exactly one access and one
//          refresh token; an answered token works after the restart, an unanswered code is
//          redeemable exactly once.
//   FT-02: every family has exactly one live refresh token (none once it is revoked), one access
//          token per refresh token, and the token a client last received is the live one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { startServer } from './support.mjs';

const PASSWORD = 'correct horse battery staple';
const REDIRECT = 'https://app.example.test/cb';
const VERIFIER = randomBytes(32).toString('base64url');
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rows of a query on the database file, as objects. */
function sql(database, query) {
  const out = execFileSync('sqlite3', ['-json', database, query], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

/** A web client registered for the code flow, and the user who signs in to it. */
async function setUp(server) {
  const client = JSON.parse(server.cli('client', 'create', '--name', 'Crash test app',
    '--type', 'confidential', '--grant-types', 'authorization_code,refresh_token',
    '--scopes', 'openid', '--redirect-uris', REDIRECT, '--token-auth-method',
    'client_secret_basic', '--id-token-signing-alg', 'ES256', '--access-token-lifetime', '600',
    '--refresh-token-lifetime', '3600', '--json'));
  server.cliWithInput(`${PASSWORD}\n`, 'user', 'create', '--username', 'alice',
    '--email', 'alice@example.com', '--password-stdin');
  await sleep(1000); // the running server picks up CLI changes within a second
  const pair = `${client.client_id}:${client.client_secret}`;
  const auth = `Basic ${Buffer.from(pair).toString('base64')}`;
  return { clientId: client.client_id, auth };
}

/** A browser reduced to its session cookie and the forms it submits. */
class Browser {
  constructor(url) {
    this.url = url;
    this.cookie = undefined;
  }

  async send(path, form) {
    const headers = this.cookie ? { cookie: this.cookie } : {};
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(new URL(path, this.url), {
      method: form ? 'POST' : 'GET', headers, body, redirect: 'manual',
    });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  /** Authorize, sign in and consent the first time; later the session and consent carry it. */
  async code(clientId) {
    const query = new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid',
      state: 's1', code_challenge: CHALLENGE, code_challenge_method: 'S256',
    });
    let reply = await this.send(`/oauth2/authorize?${query}`);
    if (reply.location === '/login') {
      const page = await this.send('/login');
      reply = await this.send('/login',
        { csrf: field(page.text, 'csrf'), username: 'alice', password: PASSWORD });
    }
    if (reply.location === '/consent') {
      const page = await this.send('/consent');
      reply = await this.send('/consent', {
        csrf: field(page.text, 'csrf'), request: field(page.text, 'request'), decision: 'allow',
      });
    }
    assert.ok(reply.location?.startsWith(REDIRECT), `no code: ${reply.status} ${reply.location}`);
    return new URL(reply.location).searchParams.get('code');
  }
}

function field(html, name) {
  const found = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(found, `no ${name} field`);
  return found[1];
}

/** A token endpoint call; throws when the connection dies (the server was killed). */
async function token(url, auth, form) {
  const res = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json() };
}

const exchange = (url, auth, code) => token(url, auth,
  { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER });
const rotate = (url, auth, refresh) => token(url, auth,
  { grant_type: 'refresh_token', refresh_token: refresh });

async function active(url, auth, accessToken) {
  const res = await fetch(`${url}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${accessToken}`,
  });
  return (await res.json()).active === true;
}

test('FT-01: kill -9 during 50 code exchanges leaves every code whole', { timeout: 180_000 },
  async (t) => {
  let server = await startServer();
  t.after(() => server.crash()); // whichever process is current when the test ends, pass or fail
  const { clientId, auth } = await setUp(server);
  const browser = new Browser(server.url);
  let interrupted = 0;

  // The server is killed the moment the first answer arrives, so the others are in flight; a
  // round in which every exchange still got through is run again.
  for (let round = 0; round < 5 && interrupted === 0; round += 1) {
    const codes = [];
    for (let i = 0; i < 50; i += 1) codes.push(await browser.code(clientId));
    let crash;
    const replies = await Promise.all(codes.map(async (code) => {
      try {
        const reply = await exchange(server.url, auth, code);
        crash ??= server.crash();
        return reply;
      } catch {
        return null; // the connection died with the server
      }
    }));
    await (crash ?? server.crash());

    const restarted = await startServer({ dataDir: server.dataDir, port: server.port });
    const rows = sql(server.database, `SELECT used_at IS NOT NULL AS spent,
        tokens_issued_at IS NOT NULL AS issued,
        (SELECT COUNT(*) FROM tokens t WHERE t.grant_id = c.grant_id) AS access,
        (SELECT COUNT(*) FROM refresh_tokens r WHERE r.grant_id = c.grant_id) AS refresh
      FROM authorization_codes c`);
    for (const row of rows) {
      const state = `${row.spent}${row.issued}${row.access}${row.refresh}`;
      assert.ok(state === '0000' || state === '1111', `a code in state ${JSON.stringify(row)}`);
    }

    for (const [i, reply] of replies.entries()) {
      if (reply) {
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.ok(await active(restarted.url, auth, reply.body.access_token), 'a token was lost');
        continue;
      }
      interrupted += 1;
      // Unanswered: either it never committed (redeemable once) or it did (spent for good).
      const retry = await exchange(restarted.url, auth, codes[i]);
      if (retry.status === 200) {
        const again = await exchange(restarted.url, auth, codes[i]);
        assert.equal(again.body.error, 'invalid_grant', 'a code redeemed twice');
      } else {
        assert.equal(retry.body.error, 'invalid_grant', JSON.stringify(retry.body));
      }
    }
    server = restarted;
  }
  t.diagnostic(`${interrupted} exchanges were in flight at a kill`);
  assert.ok(interrupted > 0, 'the kill interrupted exchanges in flight');
  assert.deepEqual(sql(server.database, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  await server.stop({ keepData: false });
});

test('FT-02: kill -9 during 1,000 refresh rotations leaves one live token per family',
  { timeout: 180_000 }, async (t) => {
  let server = await startServer();
  t.after(() => server.crash());
  const { clientId, auth } = await setUp(server);
  const browser = new Browser(server.url);
  const newFamily = async () => {
    const reply = await exchange(server.url, auth, await browser.code(clientId));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return { refresh: reply.body.refresh_token, unanswered: false };
  };
  let families = [];
  for (let i = 0; i < 10; i += 1) families.push(await newFamily());
  let rotations = 0;
  let crashes = 0;
  let lost = 0;

  while (rotations < 1000) {
    let running = true;
    const worker = async (family) => {
      while (running) {
        let reply;
        try {
          reply = await rotate(server.url, auth, family.refresh);
        } catch {
          family.unanswered = true; // its last rotation may or may not have committed
          return;
        }
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        family.refresh = reply.body.refresh_token;
        rotations += 1;
      }
    };
    const workers = families.map(worker);
    await sleep(200 + Math.random() * 600);
    await server.crash();
    running = false;
    await Promise.all(workers);
    crashes += 1;

    server = await startServer({ dataDir: server.dataDir, port: server.port });
    // Straight from the file: one live refresh token per family that was never revoked, and
    // never a refresh token without the access token of the same rotation.
    const rows = sql(server.database, `SELECT grant_id,
        SUM(rotated_at IS NULL AND revoked_at IS NULL) AS live,
        SUM(revoked_at IS NOT NULL) AS revoked, COUNT(*) AS refresh,
        (SELECT COUNT(*) FROM tokens t WHERE t.grant_id = r.grant_id) AS access
      FROM refresh_tokens r GROUP BY grant_id`);
    for (const row of rows) {
      assert.equal(row.live, row.revoked > 0 ? 0 : 1, `family ${JSON.stringify(row)}`);
      assert.equal(row.access, row.refresh, `family ${JSON.stringify(row)}`);
    }

    // A family whose last rotation went unanswered: the token it holds still works if that
    // rotation never committed; if it did, the successor is lost to it and it starts again.
    const next = [];
    for (const family of families) {
      if (!family.unanswered) {
        next.push(family);
        continue;
      }
      const retry = await rotate(server.url, auth, family.refresh);
      if (retry.status === 200) {
        next.push({ refresh: retry.body.refresh_token, unanswered: false });
        rotations += 1;
      } else {
        assert.equal(retry.body.error, 'invalid_grant', JSON.stringify(retry.body));
        lost += 1;
        next.push(await newFamily());
      }
    }
    families = next;
  }

  // Every family's last received token is its live one.
  for (const family of families) {
    assert.equal((await rotate(server.url, auth, family.refresh)).status, 200);
  }
  t.diagnostic(`${rotations} rotations over ${crashes} kills, ${lost} answers lost after commit`);
  assert.ok(crashes >= 2, `${rotations} rotations over ${crashes} crashes`);
  assert.deepEqual(sql(server.database, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  await server.stop({ keepData: false });
});
