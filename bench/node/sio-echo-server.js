#!/usr/bin/env node
// The Node peer of Switchboard's Socket.IO benchmarks: npm `socket.io` with its default
// settings (path /socket.io/, polling and websocket with upgrades, pingInterval 25 s,
// pingTimeout 20 s, maxHttpBufferSize 1e6, no permessage-deflate, connectTimeout 45 s),
// serving what examples/echo_server.cpp serves on Switchboard:
//
//   - "echo" is emitted back to the sender with the same arguments (a Buffer argument
//     comes back as binary);
//   - a connection whose handshake query has room=1 joins room "room";
//   - "pub" is emitted to room "room" of namespace "/" as "msg", with the same arguments.
//
//   node bench/node/sio-echo-server.js --port 3000 [--host 127.0.0.1]
//
// Prints "listening on PORT" to stdout once the port is open.
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { parseArgs, serve } = require('./serve.js');

const options = parseArgs(process.argv.slice(2), { port: 3000 }, 'sio-echo-server.js [--port N] [--host 127.0.0.1]');

// A plain HTTP server in front, as in a typical deployment: socket.io takes /socket.io/
// and every other path gets this listener's 404.
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const io = new Server(server);  // the defaults, on purpose

io.on('connection', (socket) => {
  if (socket.handshake.query.room === '1') socket.join('room');
  socket.on('echo', (...args) => {
    socket.emit('echo', ...args);
  });
  socket.on('pub', (...args) => {
    io.to('room').emit('msg', ...args);
  });
});

serve(server, options, () => io.close());
