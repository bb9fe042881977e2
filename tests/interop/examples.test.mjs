// The examples/ programs do what their comments say, with the official socket.io-client.
// examples/chat_server (CHAT_EXAMPLE): the name middleware answering from another
// thread, rooms, send-message with its ack and validation, typing, leave-room.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';

import { startBinary, withTimeout, repoRoot } from './helpers.mjs';

const requireFromRoot = createRequire(path.join(repoRoot, 'package.json'));
const { io } = requireFromRoot('socket.io-client');

const WAIT = 5000;

function connect(server, opts) {
  const socket = io(`http://127.0.0.1:${server.port}`, { forceNew: true, reconnection: false, ...opts });
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (e) => reject(e));
  }), WAIT, 'connect');
}
const next = (socket, event) =>
  withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), WAIT, event);
const call = (socket, event, ...args) => socket.timeout(WAIT).emitWithAck(event, ...args);

describe('examples/chat_server', () => {
  let server;
  const sockets = [];
  before(async () => {
    server = await startBinary('CHAT_EXAMPLE', ['--threads', '2'], { healthCheck: false });
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('refuses a connection without a name, from the middleware\'s thread', async () => {
    await assert.rejects(connect(server, {}), /a name of 1 to 64 characters is required/);
  });

  it('rooms, messages with acks and validation, typing, leaving', async () => {
    const ann = await connect(server, { auth: { name: 'ann' } });
    const bob = await connect(server, { auth: { name: 'bob' }, transports: ['polling'] });
    sockets.push(ann, bob);
    assert.deepEqual(await call(ann, 'join-room', 'lobby'), { success: true });
    const joined = next(ann, 'user-joined');
    assert.deepEqual(await call(bob, 'join-room', 'lobby'), { success: true });
    assert.equal((await joined)[0].userId, 'bob');

    const toAnn = next(ann, 'new-message');
    const toBob = next(bob, 'new-message');
    assert.deepEqual(await call(ann, 'send-message', { roomId: 'lobby', text: 'hi' }), { success: true });
    for (const [m] of await Promise.all([toAnn, toBob])) {
      assert.equal(m.text, 'hi');
      assert.equal(m.username, 'ann');
    }
    const refused = await call(ann, 'send-message', { roomId: 'lobby', text: '' });
    assert.equal(refused.success, false);

    const typing = next(bob, 'user-typing');
    ann.emit('typing', { roomId: 'lobby' });
    assert.deepEqual((await typing)[0], { username: 'ann' });

    const left = next(ann, 'user-left');
    bob.emit('leave-room', 'lobby');
    assert.equal((await left)[0].userId, 'bob');
  });
});
