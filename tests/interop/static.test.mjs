// Static files (--static DIR): index.html, content types, ETag/304, and no way out of DIR.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, RawConnection, httpExchange, tempDir } from './helpers.mjs';

// The smallest valid PNG (1×1, transparent).
const png = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082', 'hex');

describe('static files', () => {
  let server;
  let root;
  let outside;
  const files = {
    'index.html': '<!doctype html><title>home</title>',
    'app.js': 'console.log("hi");\n',
    'style.css': 'body { color: red }\n',
    'data.json': '{"a":1}\n',
    'docs/index.html': '<p>docs</p>',
    'empty/.keep': '',
    'sub/file.txt': 'a file in a directory without index.html\n',
  };

  before(async () => {
    root = tempDir('sb-static-');
    outside = tempDir('sb-outside-');
    for (const [name, body] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      fs.writeFileSync(path.join(root, name), body);
    }
    fs.writeFileSync(path.join(root, 'logo.png'), png);
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'TOP SECRET\n');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'leak.txt'));
    fs.symlinkSync(outside, path.join(root, 'outlink'));
    server = await startServer(['--static', root]);
  });

  after(async () => {
    await server?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
    if (outside) fs.rmSync(outside, { recursive: true, force: true });
  });

  async function get(target, headers = {}) {
    const conn = await RawConnection.connect(server.port);
    try {
      let req = `GET ${target} HTTP/1.1\r\nHost: x\r\n`;
      for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
      await conn.write(`${req}\r\n`);
      return await conn.readResponse();
    } finally {
      conn.destroy();
    }
  }

  test('GET / serves index.html as text/html', async () => {
    const res = await get('/');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), files['index.html']);
    assert.match(res.headers['content-type'] ?? '', /^text\/html\b/);
  });

  test('a directory with index.html serves it', async () => {
    const res = await get('/docs/');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), files['docs/index.html']);
  });

  for (const [name, type] of [
    ['/index.html', /^text\/html\b/],
    ['/app.js', /^(text|application)\/javascript\b/],
    ['/style.css', /^text\/css\b/],
    ['/data.json', /^application\/json\b/],
    ['/logo.png', /^image\/png$/],
  ]) {
    test(`${name} has Content-Type ${type.source} and its exact bytes`, async () => {
      const res = await get(name);
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', type);
      const expected = name === '/logo.png' ? png : Buffer.from(files[name.slice(1)]);
      assert.deepEqual(res.body, expected);
    });
  }

  test('/healthz still answers with --static', async () => {
    const res = await get('/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'ok\n');
  });

  test('HEAD of a file has its Content-Length and no body', async () => {
    const res = await httpExchange(server.port, 'HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      { heads: [true] });
    assert.equal(res.responses[0]?.status, 200);
    assert.equal(res.responses[0].headers['content-length'], String(files['style.css'].length));
    assert.equal(res.rest.length, 0, 'HEAD response carried a body');
  });

  test('ETag, then If-None-Match → 304 with no body', async () => {
    const first = await get('/data.json');
    const etag = first.headers.etag;
    assert.ok(etag, 'no ETag header');
    const conn = await RawConnection.connect(server.port);
    try {
      // The 304 and a second request on the same connection: a body on the 304 would
      // be read as the start of the second response.
      await conn.write(`GET /data.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n` +
        'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const notModified = await conn.readResponse();
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.etag, etag);
      const next = await conn.readResponse();
      assert.equal(next.status, 200);
      assert.equal(next.body.toString(), 'ok\n');
    } finally {
      conn.destroy();
    }
    const other = await get('/data.json', { 'If-None-Match': '"something-else"' });
    assert.equal(other.status, 200);
  });

  test('a file changed on disk gets a new ETag', async () => {
    const file = path.join(root, 'data.json');
    const before1 = await get('/data.json');
    fs.writeFileSync(file, '{"a":1,"b":2}\n');  // another size
    const after1 = await get('/data.json');
    assert.equal(after1.body.toString(), '{"a":1,"b":2}\n');
    assert.notEqual(after1.headers.etag, before1.headers.etag);
    const stale = await get('/data.json', { 'If-None-Match': before1.headers.etag });
    assert.equal(stale.status, 200, 'the old ETag still matched');

    // The same size, edited a second later.
    const mtime = fs.statSync(file).mtime;
    fs.writeFileSync(file, '{"a":1,"b":3}\n');
    fs.utimesSync(file, mtime, new Date(mtime.getTime() + 1000));
    const after2 = await get('/data.json', { 'If-None-Match': after1.headers.etag });
    assert.equal(after2.status, 200, 'the ETag did not change with the content');
    assert.equal(after2.body.toString(), '{"a":1,"b":3}\n');
    assert.notEqual(after2.headers.etag, after1.headers.etag);
  });

  for (const target of [
    '/../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/docs/../../etc/passwd',
    '/..%2f..%2f..%2fetc%2fpasswd',
    '/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
    `/..${'/..'.repeat(10)}/etc/passwd`,
  ]) {
    test(`${target} → 404`, async () => {
      const res = await get(target);
      assert.doesNotMatch(res.body.toString(), /root:/, 'served /etc/passwd');
      assert.equal(res.status, 404);
    });
  }

  test('a symlink inside the directory pointing outside → 404', async () => {
    const res = await get('/leak.txt');
    assert.doesNotMatch(res.body.toString(), /SECRET/, 'served a file outside the root');
    assert.equal(res.status, 404);
  });

  test('a file under a symlinked directory that leads outside → 404', async () => {
    const res = await get('/outlink/secret.txt');
    assert.doesNotMatch(res.body.toString(), /SECRET/, 'served a file outside the root');
    assert.equal(res.status, 404);
  });

  test('a directory without index.html → 404', async () => {
    for (const target of ['/sub/', '/sub', '/empty/']) {
      const res = await get(target);
      assert.equal(res.status, 404, `${target} gave ${res.status}`);
    }
    const inside = await get('/sub/file.txt');
    assert.equal(inside.status, 200);
  });

  test('a missing file → 404', async () => {
    const res = await get(`/nope-${crypto.randomUUID()}.html`);
    assert.equal(res.status, 404);
  });
});
