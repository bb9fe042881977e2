// JWT auth of the chat server with the official socket.io-client: handshake auth {token},
// HS256 with a secret (flag and JWT_SECRET), RS256 and ES256 with a public key file; every
// bad token — missing, bad signature, expired, not yet valid, alg none, another algorithm,
// algorithm confusion — is a connect_error "Authentication error", and the claims become
// the socket's user (id, name; room user:<id>). A token that expires on a live
// connection ends it unless refresh-token gave a new one.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, chatClientsClosedAfterEach, connected, connectError, signJwt, nowSeconds, tempDir } from './helpers.mjs';

const SECRET = 'a-test-secret-of-some-length-0123456789';
const openClient = chatClientsClosedAfterEach();

function client(server, token, { nsp = '/', transports = ['websocket'] } = {}) {
  return openClient(server.url(nsp), { transports, auth: token === undefined ? {} : { token } });
}

async function refused(server, token, opts) {
  const error = await connectError(client(server, token, opts));
  assert.equal(error.message, 'Authentication error');
}

describe('HS256 with --jwt-secret', () => {
  let server;
  before(async () => { server = await startServer(['--threads', '2', '--jwt-secret', SECRET]); });
  after(async () => { await server?.stop(); });

  for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
    it(`a valid token connects, its claims become the user (${transports.join('+')})`, async () => {
      const alice = await connected(client(server, signJwt({ id: 'alice', name: 'Alice', exp: nowSeconds() + 60 }, SECRET), { transports }));
      const bob = await connected(client(server, signJwt({ id: 'bob' }, SECRET), { transports }));
      await alice.request('join-room', 'r');
      await bob.request('join-room', 'r');
      assert.equal((await alice.next('user-joined'))[0].userId, 'bob');
      bob.emit('typing', { roomId: 'r' });
      assert.deepEqual((await alice.next('user-typing'))[0], { userId: 'bob', username: 'bob' });
      alice.emit('typing', { roomId: 'r' });
      assert.deepEqual((await bob.next('user-typing'))[0], { userId: 'alice', username: 'Alice' });
      // The socket is in room user:<id>: direct messages find it by the token's id.
      await bob.request('direct-message', { to: 'alice', text: 'hi' });
      const [dm] = await alice.next('direct-message');
      assert.equal(dm.from, 'bob');
      assert.equal(dm.text, 'hi');
    });
  }

  it('refuses a missing or bad token with "Authentication error" on every namespace', async () => {
    for (const nsp of ['/', '/chat', '/notifications']) {
      await refused(server, undefined, { nsp });
      await refused(server, '', { nsp });
      await refused(server, 42, { nsp });
      await refused(server, 'not.a.jwt', { nsp });
      await refused(server, signJwt({ id: 'x' }, 'another-secret'), { nsp });
    }
  });

  it('refuses expired and not-yet-valid tokens, accepts them inside their window', async () => {
    await refused(server, signJwt({ id: 'x', exp: nowSeconds() - 5 }, SECRET));
    await refused(server, signJwt({ id: 'x', exp: 'tomorrow' }, SECRET));
    await refused(server, signJwt({ id: 'x', nbf: nowSeconds() + 60 }, SECRET));
    await connected(client(server, signJwt({ id: 'x', nbf: nowSeconds() - 5, exp: nowSeconds() + 60 }, SECRET)));
  });

  it('a token that expires on a live connection ends it: "token-expired", then a server disconnect', async () => {
    const socket = await connected(client(server, signJwt({ id: 'short', exp: nowSeconds() + 2 }, SECRET)));
    const gone = new Promise((resolve) => socket.once('disconnect', resolve));
    await socket.next('token-expired', 4000);
    assert.equal(await gone, 'io server disconnect');
  });

  it('refresh-token before expiry keeps the connection; a bad or foreign token is refused', async () => {
    const socket = await connected(client(server, signJwt({ id: 'carol', exp: nowSeconds() + 2 }, SECRET), {
      transports: ['polling'],
    }));
    let ended = false;
    socket.on('disconnect', () => { ended = true; });
    const refusedRefresh = [
      await socket.request('refresh-token', {}),
      await socket.request('refresh-token', { token: signJwt({ id: 'carol', exp: nowSeconds() + 60 }, 'wrong-secret') }),
      await socket.request('refresh-token', { token: signJwt({ id: 'mallory', exp: nowSeconds() + 60 }, SECRET) }),
      await socket.request('refresh-token', { token: signJwt({ id: 'carol', exp: nowSeconds() - 1 }, SECRET) }),
    ];
    for (const answer of refusedRefresh) assert.equal(answer.success, false, JSON.stringify(answer));
    assert.match(refusedRefresh[2].error, /another user/);
    const exp = nowSeconds() + 60;
    const answer = await socket.request('refresh-token', { token: signJwt({ id: 'carol', exp }, SECRET) });
    assert.deepEqual(answer, { success: true, expiresAt: exp * 1000 });
    await new Promise((resolve) => setTimeout(resolve, 2600));
    assert.equal(ended, false, 'the connection ended at the old expiry');
    assert.equal(socket.received('token-expired').length, 0);
    assert.deepEqual(await socket.request('join-room', 'still-here'), { success: true });
  });

  it('refuses alg none, another HMAC algorithm, and a header that lies about its alg', async () => {
    await refused(server, signJwt({ id: 'x' }, null, { alg: 'none' }));
    await refused(server, signJwt({ id: 'x' }, SECRET, { alg: 'none' }) + 'c2ln');
    await refused(server, signJwt({ id: 'x' }, SECRET, { alg: 'HS512' }));
    await refused(server, signJwt({ id: 'x' }, SECRET, { alg: 'HS256', header: { alg: 'hs256' } }));
    await refused(server, signJwt({ id: 'x' }, SECRET, { header: { crit: ['exp'] } }));
  });

  it('refuses a token without id or sub; takes sub when there is no id', async () => {
    await refused(server, signJwt({ name: 'nobody' }, SECRET));
    const s = await connected(client(server, signJwt({ sub: 'subject-7' }, SECRET)));
    await s.request('direct-message', { to: 'subject-7', text: 'me' });
    assert.equal((await s.next('direct-message'))[0].from, 'subject-7');
  });

  it('user-online announces only the token\'s own id; two connections of one user', async () => {
    const token = signJwt({ id: 'carol' }, SECRET);
    const [one, two] = [await connected(client(server, token)), await connected(client(server, token, { transports: ['polling'] }))];
    const watcher = await connected(client(server, signJwt({ id: 'watcher' }, SECRET)));
    const refusedReply = await one.request('user-online', 'mallory');
    assert.equal(refusedReply.success, false);
    assert.match(refusedReply.error, /userId/);
    assert.deepEqual(await one.request('user-online', 'carol'), { success: true });
    assert.deepEqual(await two.request('user-online', 'carol'), { success: true });
    const settled = async () => {
      let list = (await watcher.next('online-users'))[0];
      for (;;) {
        try { list = (await watcher.next('online-users', 300))[0]; } catch { return list; }
      }
    };
    assert.deepEqual(await settled(), ['carol']);
    one.disconnect();
    assert.deepEqual(await settled(), ['carol']);
    two.disconnect();
    assert.deepEqual(await settled(), []);
  });
});

describe('HS256 from the environment (JWT_SECRET)', () => {
  let server;
  before(async () => {
    process.env.JWT_SECRET = SECRET;
    try {
      server = await startServer([]);
    } finally {
      delete process.env.JWT_SECRET;
    }
  });
  after(async () => { await server?.stop(); });

  it('requires the token', async () => {
    await refused(server, undefined);
    await connected(client(server, signJwt({ id: 'env' }, SECRET)));
  });
});

for (const [alg, keyOptions] of [['RS256', { type: 'rsa', options: { modulusLength: 2048 } }],
  ['ES256', { type: 'ec', options: { namedCurve: 'P-256' } }]]) {
  describe(`${alg} with --jwt-public-key`, () => {
    let server;
    let dir;
    const { publicKey, privateKey } = crypto.generateKeyPairSync(keyOptions.type, keyOptions.options);
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
    before(async () => {
      dir = tempDir('sb-chat-jwt-');
      const file = path.join(dir, 'public.pem');
      fs.writeFileSync(file, publicPem);
      server = await startServer(['--jwt-public-key', file]);
    });
    after(async () => {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('accepts a token signed with the private key', async () => {
      const s = await connected(client(server, signJwt({ id: 'pk-user', exp: nowSeconds() + 60 }, privateKey, { alg })));
      await s.request('direct-message', { to: 'pk-user', text: 'x' });
      assert.equal((await s.next('direct-message'))[0].from, 'pk-user');
    });

    it('refuses algorithm confusion (HS256 keyed with the public key), none, and other keys', async () => {
      await refused(server, signJwt({ id: 'x' }, publicPem, { alg: 'HS256' }));
      await refused(server, signJwt({ id: 'x' }, null, { alg: 'none' }));
      const other = crypto.generateKeyPairSync(keyOptions.type, keyOptions.options).privateKey;
      await refused(server, signJwt({ id: 'x' }, other, { alg }));
      await refused(server, signJwt({ id: 'x', exp: nowSeconds() - 1 }, privateKey, { alg }));
    });
  });
}
