// What the binary serves to a browser besides Socket.IO, checked over plain HTTP: the
// demo (web/) at / by default, and the official client at /socket.io/socket.io.js the
// way Node's socket.io serves it (content type, ETag "<version>" and 304, Cache-Control,
// gzip); and the logs and 404s when either is missing or turned off.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = path.join(repoRoot, 'node_modules', 'socket.io-client', 'dist');
const HOST = '127.0.0.1';
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-serving-'));
after(() => fs.rmSync(temp, { recursive: true, force: true }));

function bin() {
  assert.ok(process.env.SWITCHBOARD_BIN, 'SWITCHBOARD_BIN is not set (CTest sets it)');
  return path.resolve(process.env.SWITCHBOARD_BIN);
}

/** Starts switchboard with `flags` on a free port; resolves with { port, log(), stop() } once it listens. */
async function start(flags = []) {
  const child = spawn(bin(), ['--host', HOST, '--port', '0', ...flags], { cwd: temp, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 20 s:\n${output}`)), 20_000);
    const look = (chunk) => {
      output += chunk.toString('utf8');
      const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
      // The last of the start lines (where to open the demo, or that there is none).
      const m = clean.match(/listening on http:\/\/[^\s]*:(\d+)/);
      if (m && /open http|no files served at/.test(clean)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`exited with ${code}:\n${output}`)); });
  });
  return {
    port,
    log: () => output.replace(/\x1b\[[0-9;]*m/g, ''),
    async stop() {
      process.kill(child.pid, 'SIGTERM');
      const { code } = await exited;
      assert.doesNotMatch(output, /Sanitizer|runtime error:/);
      assert.equal(code, 0, output);
    },
  };
}

/** GET (or HEAD) with node:http, which leaves the body as sent (no gzip undone). */
function request(port, target, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, path: target, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const version = () => JSON.parse(fs.readFileSync(path.join(dist, '..', 'package.json'), 'utf8')).version;

describe('with its defaults', () => {
  let server;
  after(async () => { await server?.stop(); });

  it('logs where to open the demo, and serves web/ at /', async () => {
    server = await start();
    assert.match(server.log(), new RegExp(`open http://127\\.0\\.0\\.1:${server.port}/ in a browser for the demo chat`));
    const res = await request(server.port, '/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.body.toString(), fs.readFileSync(path.join(repoRoot, 'web', 'index.html'), 'utf8'));
    for (const file of ['chat.js', 'style.css']) {
      const r = await request(server.port, `/${file}`);
      assert.equal(r.status, 200, file);
      assert.equal(r.body.toString(), fs.readFileSync(path.join(repoRoot, 'web', file), 'utf8'));
    }
  });

  it('serves socket.io.js as Node\'s socket.io does: type, ETag, Cache-Control, 304', async () => {
    const res = await request(server.port, '/socket.io/socket.io.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/javascript; charset=utf-8');
    assert.equal(res.headers.etag, `"${version()}"`);
    assert.equal(res.headers['cache-control'], 'public, max-age=0');
    assert.equal(res.headers['content-encoding'], undefined, 'no gzip unless asked for');
    assert.ok(res.body.equals(fs.readFileSync(path.join(dist, 'socket.io.js'))));
    for (const inm of [`"${version()}"`, `W/"${version()}"`]) {
      const again = await request(server.port, '/socket.io/socket.io.js', { headers: { 'If-None-Match': inm } });
      assert.equal(again.status, 304, inm);
      assert.equal(again.body.length, 0);
    }
    const stale = await request(server.port, '/socket.io/socket.io.js', { headers: { 'If-None-Match': '"0.0.1"' } });
    assert.equal(stale.status, 200);
    assert.match(server.log(), new RegExp(`socket\\.io-client ${version().replace(/\./g, '\\.')} from `));
  });

  it('gzips it for a client that accepts gzip, and HEAD has no body', async () => {
    const res = await request(server.port, '/socket.io/socket.io.js?v=1',
      { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.ok(res.body.length < fs.statSync(path.join(dist, 'socket.io.js')).size / 2);
    assert.ok(zlib.gunzipSync(res.body).equals(fs.readFileSync(path.join(dist, 'socket.io.js'))));
    const refused = await request(server.port, '/socket.io/socket.io.js', { headers: { 'Accept-Encoding': 'gzip;q=0' } });
    assert.equal(refused.headers['content-encoding'], undefined);
    const head = await request(server.port, '/socket.io/socket.io.js', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('serves the minified bundle and the source map; other names under /socket.io/ are not files', async () => {
    const min = await request(server.port, '/socket.io/socket.io.min.js');
    assert.equal(min.status, 200);
    assert.ok(min.body.equals(fs.readFileSync(path.join(dist, 'socket.io.min.js'))));
    const map = await request(server.port, '/socket.io/socket.io.js.map');
    assert.equal(map.status, 200);
    assert.equal(map.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(JSON.parse(map.body.toString()).version, 3);
    // Anything else under /socket.io/ is the Engine.IO endpoint's, which refuses a GET
    // without its query (400, as Node's engine.io).
    const other = await request(server.port, '/socket.io/other.js');
    assert.equal(other.status, 400);
  });
});

describe('without the client bundle or the demo', () => {
  it('starts, says where to get the client, and answers 404 for it', async () => {
    const empty = fs.mkdtempSync(path.join(temp, 'dist-'));
    fs.writeFileSync(path.join(empty, 'socket.io.js'), '// a dist without a package.json beside it\n');
    // client-dist "" turns it off, as a machine without `npm ci` has it.
    const server = await start(['--client-dist', '']);
    try {
      assert.match(server.log(), /browser client not served .*404.*npm ci/);
      const res = await request(server.port, '/socket.io/socket.io.js');
      assert.equal(res.status, 404);
      assert.match(res.body.toString(), /npm ci/);
      // The rest still works: the page, and Socket.IO's handshake.
      assert.equal((await request(server.port, '/')).status, 200);
      const handshake = await request(server.port, '/socket.io/?EIO=4&transport=polling');
      assert.equal(handshake.status, 200);
      assert.match(handshake.body.toString(), /^0\{"sid":/);
    } finally {
      await server.stop();
    }
    // A folder that is not a socket.io-client dist/ (no ../package.json): logged, 404.
    const broken = await start(['--client-dist', empty]);
    try {
      assert.match(broken.log(), /browser client not served: .*package\.json/);
      assert.equal((await request(broken.port, '/socket.io/socket.io.js')).status, 404);
    } finally {
      await broken.stop();
    }
  });

  it('static "" serves nothing at / and logs where the demo would be', async () => {
    const server = await start(['--static', '']);
    try {
      assert.match(server.log(), /no files served at \/: static is empty \(by default the demo is looked for as web\/index\.html under /);
      assert.doesNotMatch(server.log(), /open http/);
      assert.equal((await request(server.port, '/')).status, 404);
      assert.equal((await request(server.port, '/socket.io/socket.io.js')).status, 200);
    } finally {
      await server.stop();
    }
  });

  it('a client-dist that does not hold socket.io.js stops the start with exit 2', () => {
    const r = spawnSync(bin(), ['--client-dist', temp], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--client-dist .*socket\.io\.js/);
  });

  it('--print-config shows the folders it found, and --help teaches both keys', () => {
    const r = spawnSync(bin(), ['--print-config'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^static = "${path.join(repoRoot, 'web').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"$`, 'm'));
    assert.match(r.stdout, /^client-dist = ".*node_modules\/socket\.io-client\/dist"$/m);
    const help = spawnSync(bin(), ['--help'], { encoding: 'utf8', timeout: 10_000 });
    assert.match(help.stdout, /--client-dist/);
    assert.match(help.stdout, /--static/);
    assert.match(help.stdout, /demo/);
  });
});
