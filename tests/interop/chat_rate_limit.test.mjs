// Per-socket rate limits with the official socket.io-client: a token bucket (default
// burst 100, refill 100/s) over every event of a socket; the excess is dropped (never
// broadcast), the socket gets at least one "rate-limited", and it stays connected.
// Per-event limits (--rate-limit-event) add a bucket of the event's own: both must pass.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, chatClientsClosedAfterEach, connected } from './helpers.mjs';

const openClient = chatClientsClosedAfterEach();

async function join(server, room, transports = ['websocket']) {
  const socket = openClient(server.url('/'), { transports });
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

// Emits `count` events with acks at once; resolves to 'ok' or 'dropped' for each, in order.
function burst(socket, count, event, payload) {
  const replies = [];
  for (let i = 0; i < count; i++) {
    replies.push(socket.timeout(1500).emitWithAck(event, payload(i)).then(() => 'ok', () => 'dropped'));
  }
  return Promise.all(replies);
}

describe('--rate-limit-event typing=2/3 (per-event limit, socket-wide default)', () => {
  let server;
  before(async () => { server = await startServer(['--rate-limit-event', 'typing=2/3']); });
  after(async () => { await server?.stop(); });

  it('the fourth typing in a burst is dropped, not broadcast, and the notice names the event\'s limit', async () => {
    const typist = await join(server, 'types');
    const reader = await join(server, 'types');
    const outcome = await burst(typist, 6, 'typing', () => ({ roomId: 'types', username: 'ann' }));
    assert.deepEqual(outcome.slice(0, 3), ['ok', 'ok', 'ok']);
    assert.deepEqual(outcome.slice(3), ['dropped', 'dropped', 'dropped']);
    const [notice] = await typist.next('rate-limited');
    assert.equal(notice.event, 'typing');
    assert.equal(notice.limit, 'event');
    assert.equal(typeof notice.retryAfter, 'number');
    // Other events use only the socket-wide bucket, which has plenty left.
    const messages = await burst(typist, 10, 'send-message', (i) => ({ roomId: 'types', message: { text: `m${i}` } }));
    assert.deepEqual(messages, Array(10).fill('ok'));
    // The reader saw the three typings that passed and no more (the messages came after them).
    for (let i = 0; i < 10; i++) await reader.next('new-message');
    assert.equal(reader.received('user-typing').length, 3);
    assert.ok(typist.connected && reader.connected);
  });

  it('the limit is per socket: another socket types freely', async () => {
    const first = await join(server, 'types2');
    const second = await join(server, 'types2');
    assert.deepEqual(await burst(first, 3, 'typing', () => ({ roomId: 'types2' })), ['ok', 'ok', 'ok']);
    assert.deepEqual(await burst(second, 3, 'typing', () => ({ roomId: 'types2' })), ['ok', 'ok', 'ok']);
  });
});

describe('an event with room in its own bucket still needs the socket-wide one', () => {
  let server;
  before(async () => {
    server = await startServer(['--rate-limit-burst', '4', '--rate-limit-per-second', '1',
      '--rate-limit-event', 'typing=100/100']);
  });
  after(async () => { await server?.stop(); });

  it('the socket-wide bucket empties first, and the notice says so', async () => {
    const socket = await join(server, 'both');  // the join took one token
    await sleep(1100);                           // and the bucket is full again
    const outcome = await burst(socket, 6, 'typing', () => ({ roomId: 'both' }));
    assert.deepEqual(outcome.slice(0, 4), ['ok', 'ok', 'ok', 'ok']);
    assert.deepEqual(outcome.slice(4), ['dropped', 'dropped']);
    const [notice] = await socket.next('rate-limited');
    assert.equal(notice.event, 'typing');
    assert.equal(notice.limit, 'socket');
    assert.ok(socket.connected);
  });
});
