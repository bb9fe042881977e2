// The chat contract of DESIGN.md ("The `switchboard` binary — the chat contract") with the
// official socket.io-client, auth off: rooms, messages with acks, typing, presence,
// direct messages and every invalid input — over websocket, polling and the upgrade
// from one to the other, on two loops, on each of the three namespaces.
//
// "Does not get X" is checked with a marker: the same sender then emits something the
// observer does get, and X must not have come before it (one sender's events reach a
// client in the order they were sent).

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, chatClient, connected, marker, withTimeout } from './helpers.mjs';

const transports = {
  websocket: { transports: ['websocket'] },
  polling: { transports: ['polling'] },
  upgrade: { transports: ['polling', 'websocket'] },
};

let server;
const sockets = new Set();

async function join(nsp, mode) {
  const socket = chatClient(server.url(nsp), transports[mode]);
  sockets.add(socket);
  await connected(socket);
  if (mode === 'upgrade') {
    const engine = socket.io.engine;
    if (engine.transport.name !== 'websocket') {
      await withTimeout(new Promise((resolve) => engine.once('upgrade', resolve)), 5000, 'the upgrade to websocket');
    }
    assert.equal(engine.transport.name, 'websocket');
  }
  return socket;
}

before(async () => { server = await startServer(['--threads', '2']); });
after(async () => { await server?.stop(); });
afterEach(() => {
  for (const s of sockets) s.disconnect();
  sockets.clear();
});

for (const mode of Object.keys(transports)) {
  describe(`chat over ${mode}`, () => {
    for (const nsp of ['/', '/chat', '/notifications']) {
      it(`${nsp}: join-room, send-message, typing, leave-room`, async () => {
        const [alice, bob, carol] = [await join(nsp, mode), await join(nsp, mode), await join(nsp, mode)];
        const room = `lobby-${mode}`;

        assert.deepEqual(await alice.request('join-room', room), { success: true });
        assert.deepEqual(await bob.request('join-room', room), { success: true });
        const [joined] = await alice.next('user-joined');
        assert.equal(joined.userId, bob.id, 'auth off: the user id is the socket id');
        assert.equal(typeof joined.timestamp, 'number');
        assert.ok(Math.abs(joined.timestamp - Date.now()) < 60_000);

        const message = { id: 'm1', userId: alice.id, username: 'Alice', text: 'hello ✓ 😀', timestamp: 1234, extra: [1, { a: null }] };
        assert.deepEqual(await alice.request('send-message', { roomId: room, message }), { success: true });
        for (const member of [alice, bob]) {
          const [got] = await member.next('new-message');
          // The message as sent: fields may be added, never rewritten.
          for (const [k, v] of Object.entries(message)) assert.deepEqual(got[k], v, `field ${k}`);
        }

        alice.emit('typing', { roomId: room, username: 'Alice' });
        assert.deepEqual((await bob.next('user-typing'))[0], { userId: alice.id, username: 'Alice' });
        await marker(alice, room, [alice, bob]);
        assert.equal(alice.received('user-typing').length, 0, 'the typist never gets its own user-typing');

        assert.deepEqual(await bob.request('leave-room', room), { success: true });
        const [left] = await alice.next('user-left');
        assert.equal(left.userId, bob.id);
        assert.equal(typeof left.timestamp, 'number');

        // Bob left and Carol never joined: neither gets the room's messages.
        await marker(alice, room, [alice]);
        await marker(bob, room, [bob]);  // Bob still gets his own message ("sender included")
        assert.equal(carol.received('new-message').length, 0);
        assert.equal(carol.received('user-joined').length + carol.received('user-typing').length, 0);
        assert.equal(bob.received('new-message').length, 3, 'Bob: the hello, the marker after typing and his own marker');
      });
    }

    it('direct-message reaches room user:<to> only', async () => {
      const [alice, bob, carol] = [await join('/', mode), await join('/', mode), await join('/', mode)];
      assert.deepEqual(await alice.request('direct-message', { to: bob.id, text: 'psst' }), { success: true });
      const [dm] = await bob.next('direct-message');
      assert.equal(dm.from, alice.id);
      assert.equal(dm.text, 'psst');
      assert.equal(typeof dm.timestamp, 'number');
      // A second one to Alice herself proves the first one did not reach Alice or Carol.
      await alice.request('direct-message', { to: alice.id, text: 'note to self' });
      assert.equal((await alice.next('direct-message'))[0].text, 'note to self');
      assert.equal(carol.received('direct-message').length, 0);
      assert.equal(alice.received('direct-message').length, 1);
    });

    it('user-online: everyone gets online-users; a disconnect sends the new list', async () => {
      const [alice, bob] = [await join('/chat', mode), await join('/chat', mode)];
      const other = await join('/notifications', mode);
      const ids = (args) => [...args[0]].sort();
      const until = async (socket, want) => {
        for (;;) {
          const list = ids(await socket.next('online-users'));
          if (JSON.stringify(list) === JSON.stringify([...want].sort())) return list;
        }
      };
      await alice.request('user-online', `alice-${mode}`);
      await until(bob, [`alice-${mode}`]);
      await bob.request('user-online', `bob-${mode}`);
      await until(alice, [`alice-${mode}`, `bob-${mode}`]);
      await until(bob, [`alice-${mode}`, `bob-${mode}`]);
      bob.disconnect();
      await until(alice, [`alice-${mode}`]);
      // Each namespace has its own online list.
      assert.equal(other.received('online-users').length, 0);
    });
  });
}

describe('presence', () => {
  it('a user with two connections stays online until the last one leaves', async () => {
    const watcher = await join('/', 'websocket');
    const first = await join('/', 'websocket');
    const second = await join('/', 'polling');
    const latest = async () => {
      // The newest list the watcher has, once the server is quiet for a moment.
      let list = (await watcher.next('online-users'))[0];
      for (;;) {
        try {
          list = (await watcher.next('online-users', 300))[0];
        } catch {
          return [...list].sort();
        }
      }
    };
    await first.request('user-online', 'dora');
    await second.request('user-online', 'dora');
    assert.deepEqual(await latest(), ['dora'], 'one id, no duplicates');
    first.disconnect();
    assert.deepEqual(await latest(), ['dora'], 'still online through the second connection');
    second.disconnect();
    assert.deepEqual(await latest(), [], 'offline once the last connection left');
  });

  it('room-members lists the users in a room', async () => {
    const [a, b] = [await join('/', 'websocket'), await join('/', 'websocket')];
    await a.request('join-room', 'members');
    await b.request('join-room', 'members');
    const reply = await a.request('room-members', 'members');
    assert.equal(reply.success, true);
    assert.deepEqual([...reply.members].sort(), [a.id, b.id].sort());
    await b.request('leave-room', 'members');
    assert.deepEqual((await a.request('room-members', 'members')).members, [a.id]);
  });
});

describe('invalid input: answered in the ack, nothing broadcast, the connection stays up', () => {
  const long = 'x'.repeat(10_001);
  const cases = [
    ['send-message', { message: { text: 'no room' } }, /roomId/],
    ['send-message', { roomId: '', message: { text: 'empty room' } }, /roomId/],
    ['send-message', { roomId: 42, message: { text: 'numeric room' } }, /roomId/],
    ['send-message', { roomId: 'bad' }, /message/],
    ['send-message', { roomId: 'bad', message: 'text' }, /message/],
    ['send-message', { roomId: 'bad', message: { text: 5 } }, /text/],
    ['send-message', { roomId: 'bad', message: { text: null } }, /text/],
    ['send-message', { roomId: 'bad', message: {} }, /text/],
    ['send-message', { roomId: 'bad', message: { text: '' } }, /text/],
    ['send-message', { roomId: 'bad', message: { text: long } }, /text.*10000/],
    ['send-message', { roomId: 'bad', message: { text: '😀'.repeat(5_001) } }, /text/],  // 10,002 UTF-16 units
    ['send-message', 'just a string', /payload/],
    ['send-message', null, /payload/],
    ['join-room', '', /roomId/],
    ['join-room', { roomId: 'bad' }, /roomId/],
    ['join-room', 'user:someone', /user:/],
    ['join-room', 'r'.repeat(257), /roomId/],
    ['leave-room', 7, /roomId/],
    ['typing', { username: 'no room' }, /roomId/],
    ['typing', { roomId: 'bad', username: 3 }, /username/],
    ['user-online', '', /userId/],
    ['user-online', { id: 'x' }, /userId/],
    ['direct-message', { text: 'to nobody' }, /to/],
    ['direct-message', { to: 'x', text: '' }, /text/],
    ['direct-message', { to: 'x', text: long }, /text/],
    ['direct-message', 'x', /payload/],
    ['room-members', null, /roomId/],
  ];

  it('every case', async () => {
    const sender = await join('/', 'websocket');
    const member = await join('/', 'polling');
    await sender.request('join-room', 'bad');
    await member.request('join-room', 'bad');
    for (const [event, payload, error] of cases) {
      const reply = await sender.request(event, payload);
      assert.equal(reply.success, false, `${event} ${JSON.stringify(payload)?.slice(0, 80)}`);
      assert.match(reply.error, error, `${event}: ${reply.error}`);
      assert.ok(sender.connected);
    }
    // No ack asked for: still nothing broadcast, still connected.
    sender.emit('send-message', { roomId: 'bad', message: { text: '' } });
    sender.emit('typing', { roomId: 42 });
    await marker(sender, 'bad', [sender, member]);
    assert.equal(member.received('new-message').length, 1, 'only the marker');
    assert.equal(member.received('user-typing').length, 0);
    assert.equal(member.received('direct-message').length, 0);
    assert.ok(sender.connected && member.connected);
    // Exactly 10,000 characters is allowed.
    const max = 'y'.repeat(10_000);
    assert.deepEqual(await sender.request('send-message', { roomId: 'bad', message: { text: max } }), { success: true });
    assert.equal((await member.next('new-message'))[0].text, max);
  });

  it('unknown events are ignored', async () => {
    const socket = await join('/', 'websocket');
    socket.emit('no-such-event', { a: 1 });
    assert.deepEqual(await socket.request('join-room', 'after'), { success: true });
    assert.ok(socket.connected);
  });
});
