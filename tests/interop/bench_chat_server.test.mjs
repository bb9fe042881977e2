// The chat benchmark's two servers do the same thing: the same contract assertions (DESIGN.md,
// "the chat contract", namespace "/", auth off) run against the `switchboard` binary and
// against bench/node/chat-server.js (npm socket.io), with the official socket.io-client.
// bench/run-chat.sh compares them, so what one does and the other does not would make the
// comparison unfair; the exact new-message shape is checked too, since sb-loadgen's chat
// scenario compares it byte for byte.
//
// "Does not get X" is checked with a marker: the same sender then emits something the
// observer does get, and X must not have come before it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServer, startBinary, chatClientsClosedAfterEach, connected, marker, repoRoot } from './helpers.mjs';

const servers = {
  switchboard: () => startServer(['--threads', '1']),
  node: () => startBinary(process.execPath, [], {
    leadingArgs: [path.join(repoRoot, 'bench', 'node', 'chat-server.js')],
    healthCheck: false,  // no /healthz: it is a socket.io server and nothing else
  }),
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

for (const [name, start] of Object.entries(servers)) {
  describe(`the chat contract on ${name}`, () => {
    let server;
    const open = chatClientsClosedAfterEach();
    before(async () => { server = await start(); });
    after(async () => { await server?.stop(); });

    const client = () => connected(open(server.url('/')));

    it('join-room, send-message (what sb-loadgen sends), typing, leave-room', async () => {
      const [alice, bob, carol] = [await client(), await client(), await client()];
      assert.deepEqual(await alice.request('join-room', 'lobby'), { success: true });
      assert.deepEqual(await bob.request('join-room', 'lobby'), { success: true });
      const [joined] = await alice.next('user-joined');
      assert.equal(joined.userId, bob.id);
      assert.equal(typeof joined.timestamp, 'number');

      // sb-loadgen's message: every field comes back as sent and in the same order, plus
      // roomId at the end.
      const message = { id: '0000000000001234000000070000002a', userId: 'u7', username: 'user 7',
        text: 'abcdefghijklmnopqrstuvwxyzabcdef', timestamp: 1764160000123 };
      assert.deepEqual(await alice.request('send-message', { roomId: 'lobby', message }), { success: true });
      for (const member of [alice, bob]) {
        const [got] = await member.next('new-message');
        assert.equal(JSON.stringify(got), JSON.stringify({ ...message, roomId: 'lobby' }));
      }
      // A message that names its room keeps it, unchanged.
      const named = { text: 'named', roomId: 'lobby' };
      await alice.request('send-message', { roomId: 'lobby', message: named });
      assert.equal(JSON.stringify((await bob.next('new-message'))[0]), JSON.stringify(named));

      alice.emit('typing', { roomId: 'lobby', username: 'Alice' });
      assert.deepEqual((await bob.next('user-typing'))[0], { userId: alice.id, username: 'Alice' });
      await marker(alice, 'lobby', [alice, bob]);
      assert.equal(alice.received('user-typing').length, 0, 'the typist never gets its own user-typing');

      assert.deepEqual(await bob.request('leave-room', 'lobby'), { success: true });
      const [left] = await alice.next('user-left');
      assert.equal(left.userId, bob.id);
      await marker(alice, 'lobby', [alice]);
      await marker(bob, 'lobby', [bob]);  // the sender gets its own message, in the room or not
      assert.equal(bob.received('new-message').length, 4, 'Bob: two messages, the marker after typing, his own');
      assert.equal(carol.received('new-message').length + carol.received('user-typing').length, 0);
    });

    it('invalid payloads: refused in the ack, nothing broadcast', async () => {
      const [sender, member] = [await client(), await client()];
      await sender.request('join-room', 'bad');
      await member.request('join-room', 'bad');
      for (const [event, payload, field] of [
        ['send-message', { message: { text: 'no room' } }, /roomId/],
        ['send-message', { roomId: 'bad', message: { text: '' } }, /text/],
        ['send-message', { roomId: 'bad', message: { text: 'x'.repeat(10_001) } }, /text/],
        ['send-message', { roomId: 'bad', message: 'text' }, /message/],
        ['send-message', null, /payload/],
        ['join-room', 'user:someone', /user:/],
        ['typing', { roomId: 'bad', username: 3 }, /username/],
        ['direct-message', { to: 'x', text: '' }, /text/],
      ]) {
        const reply = await sender.request(event, payload);
        assert.equal(reply.success, false, `${event} ${JSON.stringify(payload)}`);
        assert.match(reply.error, field);
      }
      await marker(sender, 'bad', [sender, member]);
      assert.equal(member.received('new-message').length, 1, 'only the marker');
      assert.equal(member.received('user-typing').length, 0);
      assert.deepEqual(await sender.request('send-message', { roomId: 'bad', message: { text: 'y'.repeat(10_000) } }),
        { success: true });
      assert.ok(sender.connected && member.connected);
    });

    it('presence and direct messages', async () => {
      const [alice, bob, carol] = [await client(), await client(), await client()];
      const until = async (socket, want) => {
        for (;;) {
          const [list] = await socket.next('online-users');
          if (JSON.stringify([...list].sort()) === JSON.stringify([...want].sort())) return;
        }
      };
      await alice.request('user-online', 'alice');
      await until(carol, ['alice']);
      await bob.request('user-online', 'bob');
      await until(carol, ['alice', 'bob']);
      bob.disconnect();
      await until(carol, ['alice']);

      assert.deepEqual(await alice.request('direct-message', { to: carol.id, text: 'psst' }), { success: true });
      const [dm] = await carol.next('direct-message');
      assert.equal(dm.from, alice.id);
      assert.equal(dm.text, 'psst');
      assert.equal(typeof dm.timestamp, 'number');
      await alice.request('direct-message', { to: alice.id, text: 'note to self' });
      assert.equal((await alice.next('direct-message'))[0].text, 'note to self');
      assert.equal(alice.received('direct-message').length, 1, 'the first one reached Carol only');
    });

    it('rate limit: a flood is cut at the bucket, the sender told, the connection kept', async () => {
      const [flooder, reader] = [await client(), await client()];
      await flooder.request('join-room', 'flood');
      await reader.request('join-room', 'flood');
      await sleep(100);  // the bucket refills after the join
      for (let i = 0; i < 300; i++) flooder.emit('send-message', { roomId: 'flood', message: { text: `m${i}` } });
      const [notice] = await flooder.next('rate-limited');
      assert.equal(notice.event, 'send-message');
      await sleep(1100);
      await marker(flooder, 'flood', [reader]);
      const delivered = reader.received('new-message').length - 1;
      assert.ok(delivered >= 100 && delivered < 300, `delivered ${delivered} of 300`);
      assert.ok(flooder.connected && reader.connected);
    });
  });
}
