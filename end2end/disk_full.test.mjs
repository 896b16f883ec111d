// Fault test against the real binary (SECURITY.md FT-05): the SQLite file lives on a 10 MB
// tmpfs that fills up. Writes fail as 503 and hand out nothing that was not stored; reads
// (discovery, JWKS, introspection of stored tokens) keep answering; once space is freed the same
// process issues tokens again, and the file passes `PRAGMA integrity_check`.
//
// Mounting a tmpfs needs root, which the CI machine has; elsewhere the test says so and skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './support.mjs';

/** Whether this machine lets the test mount a tmpfs (root, with the capability to mount). */
function canMount() {
  const probe = mkdtempSync(join(tmpdir(), 'portcullis-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

async function post(url, path, auth, body) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return { status: res.status, body: await res.json() };
}

test('FT-05: a full disk refuses writes, keeps reads and recovers without a restart',
  { skip: canMount() ? false : 'mounting a tmpfs needs root', timeout: 180_000 }, async (t) => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'portcullis-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=10m', 'tmpfs', mountPoint]);
    const filler = join(mountPoint, 'filler');
    let server;
    try {
      server = await startServer({ dataDir: join(mountPoint, 'data') });
      server.cli('scope', 'create', '--name', 'svc:read', '--description', 'Read the service');
      const client = JSON.parse(server.cli('client', 'create', '--name', 'Full disk',
        '--type', 'confidential', '--grant-types', 'client_credentials', '--scopes', 'svc:read',
        '--token-auth-method', 'client_secret_basic', '--access-token-lifetime', '600',
        '--refresh-token-lifetime', '3600', '--json'));
      const auth = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`)
        .toString('base64')}`;
      await new Promise((r) => setTimeout(r, 1000));
      const issue = () => post(server.url, '/oauth2/token', auth,
        'grant_type=client_credentials&scope=svc:read');
      const before = await issue();
      assert.equal(before.status, 200);

      // Fill every byte that is left; dd stops at ENOSPC.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
      } catch { /* "No space left on device" is the point */ }

      // SQLite may still fit a few commits into pages it already owns; keep asking until the
      // disk refuses. Every 200 must be a stored token, every refusal a 503 with no token.
      const issued = [];
      let refused;
      for (let i = 0; i < 5000 && !refused; i += 1) {
        const reply = await issue();
        if (reply.status === 200) {
          issued.push(reply.body.access_token);
        } else {
          refused = reply;
        }
      }
      assert.ok(refused, `the full disk never refused a write (${issued.length} issued)`);
      t.diagnostic(`${issued.length} tokens fitted after the disk filled, then a 503`);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error, 'temporarily_unavailable');
      assert.equal(refused.body.access_token, undefined);

      // Reads keep working while the disk is full.
      assert.equal((await fetch(`${server.url}/.well-known/openid-configuration`)).status, 200);
      const jwks = await (await fetch(`${server.url}/oauth2/jwks`)).json();
      assert.ok(jwks.keys.length > 0, 'JWKS is never empty');
      const introspect = (token) => post(server.url, '/oauth2/introspect', auth, `token=${token}`);
      assert.equal((await introspect(before.body.access_token)).body.active, true);

      // Space comes back; the same process writes again.
      rmSync(filler);
      let recovered;
      for (let i = 0; i < 50 && recovered?.status !== 200; i += 1) {
        recovered = await issue();
        if (recovered.status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(recovered.status, 200, 'recovered without a restart');
      for (const token of [...issued, recovered.body.access_token]) {
        assert.equal((await introspect(token)).body.active, true, 'a token handed out was lost');
      }
      await server.stop({ keepData: true });
      server = undefined;
      const check = execFileSync('sqlite3', [join(mountPoint, 'data/portcullis.db'),
        'PRAGMA integrity_check'], { encoding: 'utf8' });
      assert.equal(check.trim(), 'ok');
    } finally {
      await server?.stop({ keepData: true });
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });
