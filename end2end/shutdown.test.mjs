// Fault tests against the real binary (SECURITY.md FT-13, FT-12): SIGTERM while token requests
// are in flight. Every request either completes (200, and its token is recorded and still
// active after a restart) or is refused at the connection; nothing answers 5xx, no token is
// recorded without reaching its client, the process exits 0, and a token revoked before the
// stop stays revoked after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer } from './support.mjs';

function basic(id, secret) {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function post(url, path, auth, body) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

test('SIGTERM under load loses, duplicates and revives no token', async () => {
  const server = await startServer();
  server.cli('scope', 'create', '--name', 'svc:read', '--description', 'Read the service');
  const client = JSON.parse(server.cli('client', 'create', '--name', 'Load', '--type',
    'confidential', '--grant-types', 'client_credentials', '--scopes', 'svc:read',
    '--token-auth-method', 'client_secret_basic', '--access-token-lifetime', '600',
    '--refresh-token-lifetime', '3600', '--json'));
  const auth = basic(client.client_id, client.client_secret);
  await new Promise((r) => setTimeout(r, 1000));
  const revoked = await post(server.url, '/oauth2/token', auth, 'grant_type=client_credentials&scope=svc:read');
  assert.equal(revoked.status, 200);
  assert.equal((await post(server.url, '/oauth2/revoke', auth, `token=${revoked.body.access_token}`)).status, 200);

  // Eight workers ask for tokens in a loop; the server is told to stop in the middle.
  const issued = [];
  const statuses = new Map();
  let refused = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const reply = await post(server.url, '/oauth2/token', auth, 'grant_type=client_credentials&scope=svc:read');
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status === 200) issued.push(reply.body.access_token);
      } catch {
        refused += 1; // the listener is closed: the connection is refused, nothing was issued
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  await new Promise((r) => setTimeout(r, 1500));
  const exitCode = await server.stop({ keepData: true });
  running = false;
  await Promise.all(workers);

  assert.equal(exitCode, 0, 'a clean exit');
  for (const status of statuses.keys()) assert.ok(status < 500, `no ${status} answers`);
  assert.ok(issued.length > 50, `tokens were issued under load (${issued.length})`);
  assert.ok(refused > 0, 'new connections were refused after the stop');

  // No answer was lost in flight: every token the server recorded reached its client (the one
  // revoked before the stop included). A request cut off after its token was stored would
  // leave a record nobody received.
  const [{ n: recorded }] = JSON.parse(execFileSync('sqlite3', ['-json', server.database,
    'SELECT COUNT(*) AS n FROM tokens'], { encoding: 'utf8' }));
  assert.equal(recorded, issued.length + 1, 'every recorded token was delivered');

  // Restarted on the same data: every token handed out is recorded, the revoked one is not
  // brought back.
  // Same port, so the same issuer: the tokens were issued by it.
  const restarted = await startServer({ dataDir: server.dataDir, port: server.port });
  try {
    const introspect = (token) => post(restarted.url, '/oauth2/introspect', auth, `token=${token}`);
    const sample = issued.filter((_, i) => i % Math.ceil(issued.length / 40) === 0).concat(issued.at(-1));
    for (const token of sample) {
      assert.equal((await introspect(token)).body.active, true, 'an issued token was lost');
    }
    assert.equal((await introspect(revoked.body.access_token)).body.active, false, 'revived');
  } finally {
    await restarted.stop({ keepData: false });
  }
});
