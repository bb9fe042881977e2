// Per-socket rate limits with the official socket.io-client: a token bucket (default
// burst 100, refill 100/s) over every event of a socket; the excess is dropped (never
// broadcast), the socket gets at least one "rate-limited", and it stays connected.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, chatClient, connected } from './helpers.mjs';

const sockets = new Set();
afterEach(() => {
  for (const s of sockets) s.disconnect();
  sockets.clear();
});

async function join(server, room, transports = ['websocket']) {
  const socket = chatClient(server.url('/'), { transports });
  sockets.add(socket);
  await connected(socket);
  assert.deepEqual(await socket.request('join-room', room), { success: true });
  return socket;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('defaults: burst 100, 100 events/s', () => {
  let server;
  before(async () => { server = await startServer(['--threads', '2']); });
  after(async () => { await server?.stop(); });

  for (const transports of [['websocket'], ['polling']]) {
    it(`a flood of 300 messages in one go (${transports[0]})`, async () => {
      const flooder = await join(server, 'flood', transports);
      const reader = await join(server, 'flood');
      // Let the bucket fill again after the join.
      await sleep(100);
      const started = Date.now();
      for (let i = 0; i < 300; i++) flooder.emit('send-message', { roomId: 'flood', message: { text: `m${i}` } });
      const [notice] = await flooder.next('rate-limited');
      assert.equal(notice.event, 'send-message');
      assert.equal(typeof notice.retryAfter, 'number');
      // After a pause, the socket is heard again: its marker arrives, so nothing of the
      // flood is still on its way.
      await sleep(1100);
      assert.deepEqual(await flooder.request('send-message', { roomId: 'flood', message: { text: 'after' } }),
        { success: true });
      for (;;) {
        const [m] = await reader.next('new-message');
        if (m.text === 'after') break;
      }
      const elapsed = (Date.now() - started) / 1000;
      const delivered = reader.received('new-message').length - 1;
      // At most the burst plus what the bucket refilled while the flood arrived.
      assert.ok(delivered >= 100, `delivered ${delivered}`);
      assert.ok(delivered < 300, `delivered ${delivered}: nothing was dropped`);
      assert.ok(delivered <= 100 + Math.ceil(elapsed * 100), `delivered ${delivered} in ${elapsed} s`);
      assert.ok(flooder.connected && reader.connected);
    });
  }
});

describe('--rate-limit-burst 5 --rate-limit-per-second 2', () => {
  let server;
  before(async () => { server = await startServer(['--rate-limit-burst', '5', '--rate-limit-per-second', '2']); });
  after(async () => { await server?.stop(); });

  it('the sixth event in a burst is dropped and the socket told; it refills at the rate', async () => {
    const socket = await join(server, 'small');  // the join took one token
    await sleep(600);                            // and the bucket is full again
    const replies = [];
    for (let i = 0; i < 8; i++) {
      // An ack-less event is dropped silently but for the notice; acks let us count.
      replies.push(socket.timeout(1500).emitWithAck('send-message', { roomId: 'small', message: { text: `t${i}` } })
        .then(() => 'ok', () => 'dropped'));
    }
    const outcome = await Promise.all(replies);
    assert.deepEqual(outcome.slice(0, 5), ['ok', 'ok', 'ok', 'ok', 'ok']);
    assert.ok(outcome.slice(5).includes('dropped'), outcome.join());
    assert.equal((await socket.next('rate-limited'))[0].event, 'send-message');
    await sleep(600);  // one token back at 2/s
    assert.deepEqual(await socket.request('send-message', { roomId: 'small', message: { text: 'later' } }),
      { success: true });
    assert.ok(socket.connected);
  });
});
