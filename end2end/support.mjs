// Shared helpers for the browser tests: start a real Portcullis binary on a fresh SQLite data
// directory and a free port, and launch Debian's Chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const projectRoot = resolve(import.meta.dirname, '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/portcullis/target');
export const binary = process.env.PORTCULLIS_BIN ?? join(targetDir, 'debug/portcullis');

async function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/** Starts Portcullis; returns its URL, an environment for CLI calls, and a stop function.
 * With `dataDir` it runs on that existing data (a restart) and leaves it in place at stop. */
export async function startServer({ dataDir: existing, port: fixedPort, env: extra = {} } = {}) {
  const dataDir = existing ?? mkdtempSync(join(tmpdir(), 'portcullis-e2e-'));
  const port = fixedPort ?? await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_ISSUER: url,
    PORTCULLIS_ACCESS_TOKEN_AUDIENCE: 'https://api.example.test',
    PORTCULLIS_LISTEN: `127.0.0.1:${port}`,
    // Each server its own metrics address: the default one is taken by the first.
    PORTCULLIS_METRICS_LISTEN: `127.0.0.1:${await freePort()}`,
    PORTCULLIS_SITE_ROOT: join(projectRoot, 'target/site'),
    ...extra,
  };
  const child = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`portcullis exited early:\n${log}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`portcullis did not become ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    cli: (...args) => execFileSync(binary, args, { env, encoding: 'utf8' }),
    /** Runs a CLI command with `input` on its standard input (passwords). */
    cliWithInput: (input, ...args) => execFileSync(binary, args, { env, encoding: 'utf8', input }),
    log: () => log,
    dataDir,
    port,
    /** The SQLite database file under the data directory. */
    database: join(dataDir, 'portcullis.db'),
    /** `kill -9`: no shutdown at all; resolves once the process is gone. The data stays. */
    crash: async () => {
      const exited = child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await exited;
    },
    /** Sends SIGTERM and resolves with the exit code once the process is gone. */
    stop: async ({ keepData = existing !== undefined } = {}) => {
      const exited = child.exitCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const code = await exited;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A one-page HTTP server standing in for the client application: it records every request. */
export async function startApp() {
  const { createServer: createHttpServer } = await import('node:http');
  const port = await freePort();
  const hits = [];
  const server = createHttpServer((req, res) => {
    hits.push(new URL(req.url, `http://127.0.0.1:${port}`));
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><title>App</title><p>back in the app</p>');
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${port}`, hits, stop: () => new Promise((r) => server.close(r)) };
}

export const screenshotDir = join(projectRoot, 'docs/screenshots');
