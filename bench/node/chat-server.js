#!/usr/bin/env node
// The Node peer of Switchboard's chat benchmark (bench/run-chat.sh): the chat contract of
// DESIGN.md ("The `switchboard` binary — the chat contract") on namespace "/", written
// with npm `socket.io` the way a Node team would write it, with socket.io's default
// settings (path /socket.io/, pingInterval 25 s, pingTimeout 20 s, maxHttpBufferSize
// 1e6, no permessage-deflate). Auth is off, as in the benchmark: a socket's user id is
// its socket id, and it joins room "user:<socket id>".
//
//   - join-room (roomId, ack?): join; the others in the room get user-joined
//     {userId, roomId, timestamp}.
//   - send-message ({roomId, message}, ack?): the room, sender included, gets
//     new-message: the message as sent, plus roomId when it has none; ack {success: true}.
//   - typing ({roomId, username}): the others in the room get user-typing {userId, username}.
//   - leave-room (roomId, ack?): leave; the others get user-left {userId, roomId, timestamp}.
//   - user-online (userId, ack?): everyone gets online-users (ids, no duplicates); a
//     disconnect that changes the list sends it again. A user with several connections
//     stays online until the last one leaves.
//   - direct-message ({to, text}, ack?): room "user:<to>" gets direct-message
//     {from, text, timestamp}.
//   - Every event takes an optional ack: {success: true}, or {success: false, error}
//     naming the field at fault (room and user ids: non-empty strings of at most 256
//     characters, room ids not starting with "user:"; texts: non-empty strings of at
//     most 10,000 characters). A refused event changes nothing and broadcasts nothing.
//   - Rate limit: a token bucket per socket over all its events (burst 100, refill
//     100/s); an event past it is dropped (its ack never answered) and the socket gets
//     rate-limited {event, retryAfter} (ms), at most once a second.
//
//   node bench/node/chat-server.js --port 3000 [--host 127.0.0.1]
//
// Prints "listening on PORT" to stdout once the port is open.
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { parseArgs, serve } = require('./serve.js');

const options = parseArgs(process.argv.slice(2), { port: 3000 }, 'chat-server.js [--port N] [--host 127.0.0.1]');

const MAX_ID_LENGTH = 256;
const MAX_TEXT_LENGTH = 10_000;
const RATE_LIMIT_BURST = 100;
const RATE_LIMIT_PER_SECOND = 100;
const RATE_LIMIT_NOTICE_INTERVAL_MS = 1000;

// Validation: each returns an error sentence, or undefined when the value is fine.
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const checkId = (value, field) =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH
    ? undefined
    : `${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`;
const checkRoomId = (value) =>
  checkId(value, 'roomId') ?? (value.startsWith('user:') ? 'roomId must not start with "user:"' : undefined);
const checkText = (value, field) =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT_LENGTH
    ? undefined
    : `${field} must be a non-empty string of at most ${MAX_TEXT_LENGTH} characters`;

// A plain HTTP server in front, as in a typical deployment: socket.io takes /socket.io/
// and every other path gets this listener's 404.
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const io = new Server(server);  // the defaults, on purpose

// Presence: user id → the ids of the sockets that announced it.
const online = new Map();
const broadcastOnline = () => io.emit('online-users', [...online.keys()]);

function goOffline(socket) {
  const userId = socket.data.onlineId;
  if (userId === undefined) return false;
  socket.data.onlineId = undefined;
  const sockets = online.get(userId);
  sockets.delete(socket.id);
  if (sockets.size > 0) return false;
  online.delete(userId);
  return true;
}

// A token bucket over every event of one socket.
function rateLimiter(socket) {
  let tokens = RATE_LIMIT_BURST;
  let refilledAt = Date.now();
  let noticeAt = 0;
  return ([event], next) => {
    const now = Date.now();
    tokens = Math.min(RATE_LIMIT_BURST, tokens + ((now - refilledAt) / 1000) * RATE_LIMIT_PER_SECOND);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      next();
      return;
    }
    // Dropped: no handler runs, so no ack and no broadcast.
    if (now - noticeAt >= RATE_LIMIT_NOTICE_INTERVAL_MS) {
      noticeAt = now;
      const retryAfter = Math.ceil(((1 - tokens) / RATE_LIMIT_PER_SECOND) * 1000);
      socket.emit('rate-limited', { event, retryAfter });
    }
  };
}

io.on('connection', (socket) => {
  const userId = socket.id;
  socket.join(`user:${userId}`);
  socket.use(rateLimiter(socket));

  // Registers a handler: `check(...args)` returns an error sentence or nothing; `act`
  // runs only for a valid payload. An ack, if the client asked for one, gets the outcome.
  const on = (event, check, act) => {
    socket.on(event, (...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
      const error = check(...args);
      if (error === undefined) act(...args);
      ack?.(error === undefined ? { success: true } : { success: false, error });
    });
  };

  on('join-room', checkRoomId, (roomId) => {
    socket.join(roomId);
    socket.to(roomId).emit('user-joined', { userId, roomId, timestamp: Date.now() });
  });

  on('leave-room', checkRoomId, (roomId) => {
    socket.leave(roomId);
    socket.to(roomId).emit('user-left', { userId, roomId, timestamp: Date.now() });
  });

  on('send-message',
    (payload) => {
      if (!isObject(payload)) return 'payload must be an object {roomId, message}';
      const { roomId, message } = payload;
      return checkRoomId(roomId) ??
        (isObject(message) ? checkText(message.text, 'message.text') : 'message must be an object');
    },
    ({ roomId, message }) => {
      const outgoing = message.roomId === undefined ? { ...message, roomId } : message;
      io.to(roomId).emit('new-message', outgoing);
      // The sender gets its message even when it is not in the room.
      if (!socket.rooms.has(roomId)) socket.emit('new-message', outgoing);
    });

  on('typing',
    (payload) => {
      if (!isObject(payload)) return 'payload must be an object {roomId, username}';
      return checkRoomId(payload.roomId) ??
        (payload.username === undefined ? undefined : checkId(payload.username, 'username'));
    },
    ({ roomId, username }) => {
      socket.to(roomId).emit('user-typing', { userId, username });
    });

  on('user-online', (id) => checkId(id, 'userId'), (id) => {
    if (socket.data.onlineId !== id) {
      goOffline(socket);
      socket.data.onlineId = id;
      if (!online.has(id)) online.set(id, new Set());
      online.get(id).add(socket.id);
    }
    broadcastOnline();
  });

  on('direct-message',
    (payload) => {
      if (!isObject(payload)) return 'payload must be an object {to, text}';
      return checkId(payload.to, 'to') ?? checkText(payload.text, 'text');
    },
    ({ to, text }) => {
      io.to(`user:${to}`).emit('direct-message', { from: userId, text, timestamp: Date.now() });
    });

  socket.on('disconnect', () => {
    if (goOffline(socket)) broadcastOnline();
  });
});

serve(server, options, () => io.close());
