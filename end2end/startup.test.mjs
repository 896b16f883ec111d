// FT-06 against the real binary: a database that cannot be opened stops `portcullis serve` at
// once with a non-zero exit code and a message that names the setting and what is wrong, with
// any password in the URL masked. Nothing is served meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binary } from './support.mjs';

test('FT-06: a database that cannot be opened stops the start with a clear message', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-ft06-'));
  try {
    const cases = [
      ['mysql://localhost/portcullis', /PORTCULLIS_DATABASE_URL is invalid/],
      ['sqlite:///nonexistent-dir/sub/portcullis.db',
        /cannot open the database at sqlite:\/\/\/nonexistent-dir/],
      ['postgres://u:hunter2@127.0.0.1:1/db', /postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/],
    ];
    for (const [url, expected] of cases) {
      const run = spawnSync(binary, ['serve'], {
        env: {
          ...process.env,
          PORTCULLIS_DATA_DIR: dataDir,
          PORTCULLIS_DATABASE_URL: url,
          PORTCULLIS_ISSUER: 'http://127.0.0.1:1',
          PORTCULLIS_ACCESS_TOKEN_AUDIENCE: 'https://api.example.test',
          PORTCULLIS_LISTEN: '127.0.0.1:0',
          PORTCULLIS_METRICS_LISTEN: 'off',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(run.signal, null, `${url}: exited by itself, not killed by the timeout`);
      assert.notEqual(run.status, 0, `${url}: a failed start is a non-zero exit`);
      assert.match(run.stderr, expected, `${url}:\n${run.stderr}`);
      assert.ok(!run.stderr.includes('hunter2'), 'the password never reaches the output');
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
