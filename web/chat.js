// The Switchboard demo chat: the chat contract of DESIGN.md from a browser, with the
// official socket.io-client bundle (/socket.io/socket.io.js, the global `io`).
//
// Query parameters: ?transport=polling (or websocket) forces one transport; ?nsp=/chat
// picks another namespace of the contract; ?room=NAME the first room (default "general");
// ?name=NAME fills in the name.
'use strict';

(() => {
  const params = new URLSearchParams(location.search);
  const namespace = params.get('nsp') || '/';
  const firstRoom = params.get('room') || 'general';
  const TYPING_SEND_EVERY_MS = 1500;  // at most one "typing" per this while keys are pressed
  const TYPING_SHOW_MS = 3000;        // how long "X is typing…" stays after the last one
  const ACK_TIMEOUT_MS = 10000;

  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const state = {
    socket: null,
    me: { id: null, name: '', tokenId: null },
    names: new Map(),          // user id → the name they chat under, as learnt from their events
    online: [],                // user ids, from online-users
    rooms: [],                 // room ids joined (re-joined after every reconnection)
    conversations: new Map(),  // "room:<id>" / "dm:<user id>" → { kind, id, list, unread }
    active: null,
    typing: new Map(),         // user id → { username, timer }
    lastTypingSent: 0,
  };

  // ---------------------------------------------------------------------------------
  // Connection status

  function setStatus(kind, text) {
    const status = $('status');
    status.className = `status ${kind}`;
    status.textContent = text;
    status.dataset.state = kind;
  }

  function notice(text) {
    $('notice').textContent = text;
  }

  // ---------------------------------------------------------------------------------
  // Names

  function nameOf(userId) {
    if (userId === state.me.id) return state.me.name;
    return state.names.get(userId) || `guest ${String(userId).slice(0, 6)}`;
  }

  function learnName(userId, username) {
    if (!userId || typeof username !== 'string' || !username || state.names.get(userId) === username) return;
    state.names.set(userId, username);
    renderOnline();
    renderDirects();
    if (state.active && state.active.startsWith('dm:')) renderTitle();
  }

  // A JWT's claims, read (not verified: the server verifies) for the id the server will
  // use and the name the token carries.
  function tokenClaims(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const json = decodeURIComponent(Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
      return JSON.parse(json);
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------
  // Conversations: one message list per room or direct-message partner

  function conversation(key) {
    let conv = state.conversations.get(key);
    if (!conv) {
      const [kind, ...rest] = key.split(':');
      const list = el('ol', 'messages');
      list.dataset.conversation = key;
      list.hidden = true;
      $('message-lists').append(list);
      conv = { kind, id: rest.join(':'), list, unread: 0 };
      state.conversations.set(key, conv);
    }
    return conv;
  }

  function activate(key) {
    state.active = key;
    for (const [k, conv] of state.conversations) conv.list.hidden = k !== key;
    const conv = conversation(key);
    conv.list.hidden = false;
    conv.unread = 0;
    renderTitle();
    renderRooms();
    renderDirects();
    scrollDown();
    $('message').focus();
  }

  function renderTitle() {
    const conv = state.active && conversation(state.active);
    if (!conv) return;
    $('conversation-title').textContent = conv.kind === 'room' ? `# ${conv.id}` : `Direct messages with ${nameOf(conv.id)}`;
  }

  function scrollDown() {
    const box = $('message-lists');
    box.scrollTop = box.scrollHeight;
  }

  function time(ts) {
    const d = new Date(typeof ts === 'number' ? ts : Date.now());
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  // Appends (or updates, by message id) a message in a conversation.
  function showMessage(key, { id, userId, username, text, timestamp }, messageState) {
    const conv = conversation(key);
    let item = id ? conv.list.querySelector(`li[data-id="${CSS.escape(id)}"]`) : null;
    if (!item) {
      item = el('li', 'message');
      if (id) item.dataset.id = id;
      item.dataset.user = userId;
      item.append(el('span', 'when', time(timestamp)), el('span', 'who', username || nameOf(userId)),
                  el('span', 'text', text), el('span', 'state'));
      if (userId === state.me.id) item.classList.add('mine');
      conv.list.append(item);
      if (key !== state.active) {
        conv.unread += 1;
        renderRooms();
        renderDirects();
      }
    }
    setMessageState(item, messageState);
    if (key === state.active) scrollDown();
    return item;
  }

  function setMessageState(item, messageState) {
    item.classList.remove('pending', 'failed', 'delivered');
    item.classList.add(messageState.kind);
    item.querySelector('.state').textContent =
        messageState.kind === 'pending' ? 'sending…' : messageState.kind === 'failed' ? `not sent: ${messageState.error}` : '';
  }

  function showSystem(key, text) {
    const item = el('li', 'message system', text);
    conversation(key).list.append(item);
    if (key === state.active) scrollDown();
  }

  // ---------------------------------------------------------------------------------
  // Sidebar

  function renderRooms() {
    const list = $('rooms');
    list.replaceChildren();
    for (const room of state.rooms) {
      const key = `room:${room}`;
      const conv = conversation(key);
      const item = el('li', key === state.active ? 'active' : '');
      item.dataset.room = room;
      item.append(el('span', 'name', `# ${room}`));
      if (conv.unread) item.append(el('span', 'unread', String(conv.unread)));
      const leave = el('button', 'leave', '×');
      leave.type = 'button';
      leave.title = `Leave ${room}`;
      leave.addEventListener('click', (event) => {
        event.stopPropagation();
        leaveRoom(room);
      });
      item.append(leave);
      item.addEventListener('click', () => activate(key));
      list.append(item);
    }
  }

  function renderDirects() {
    const list = $('directs');
    const partners = [...state.conversations.values()].filter((c) => c.kind === 'dm');
    if (!partners.length) return;
    list.replaceChildren();
    for (const conv of partners) {
      const key = `dm:${conv.id}`;
      const item = el('li', key === state.active ? 'active' : '');
      item.dataset.userId = conv.id;
      item.append(el('span', 'name', `@ ${nameOf(conv.id)}`));
      if (conv.unread) item.append(el('span', 'unread', String(conv.unread)));
      item.addEventListener('click', () => activate(key));
      list.append(item);
    }
  }

  function renderOnline() {
    const list = $('online');
    list.replaceChildren();
    for (const userId of state.online) {
      const item = el('li', userId === state.me.id ? 'me' : '');
      item.dataset.userId = userId;
      item.append(el('span', 'name', nameOf(userId)));
      if (userId !== state.me.id) {
        item.title = `Send ${nameOf(userId)} a direct message`;
        item.addEventListener('click', () => activate(`dm:${userId}`));
      }
      list.append(item);
    }
    $('online-count').textContent = String(state.online.length);
  }

  function renderTyping() {
    const names = [...state.typing.values()].map((t) => t.username);
    const line = $('typing');
    line.textContent = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
        : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
  }

  // ---------------------------------------------------------------------------------
  // What the page sends

  function joinRoom(room) {
    room = room.trim();
    if (!room) return;
    if (!state.rooms.includes(room)) {
      state.rooms.push(room);
      if (state.socket.connected) emitJoin(room);
    }
    activate(`room:${room}`);
  }

  function emitJoin(room) {
    state.socket.timeout(ACK_TIMEOUT_MS).emit('join-room', room, (err, res) => {
      if (err) notice(`joining ${room}: no answer from the server`);
      else if (res && res.success === false) notice(`joining ${room} refused: ${res.error}`);
    });
  }

  function leaveRoom(room) {
    state.rooms = state.rooms.filter((r) => r !== room);
    state.socket.emit('leave-room', room);
    const key = `room:${room}`;
    const conv = state.conversations.get(key);
    conv?.list.remove();
    state.conversations.delete(key);
    if (state.active === key) {
      const next = state.rooms[0] ? `room:${state.rooms[0]}` : [...state.conversations.keys()][0];
      if (next) activate(next);
      else {
        state.active = null;
        $('conversation-title').textContent = 'Join a room to chat';
      }
    }
    renderRooms();
  }

  function messageId() {
    if (window.crypto?.randomUUID) return crypto.randomUUID();  // secure contexts only
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  }

  function send(text) {
    if (!state.active || !text.trim()) return;
    const conv = conversation(state.active);
    if (conv.kind === 'room') {
      const message = { id: messageId(), userId: state.me.id, username: state.me.name, text, timestamp: Date.now() };
      const item = showMessage(state.active, message, { kind: 'pending' });
      state.socket.timeout(ACK_TIMEOUT_MS).emit('send-message', { roomId: conv.id, message }, (err, res) => {
        // new-message may have marked it delivered already; a failure is shown either way.
        if (err) setMessageState(item, { kind: 'failed', error: 'no answer from the server' });
        else if (!res || res.success !== true) setMessageState(item, { kind: 'failed', error: res?.error || 'refused' });
        else if (item.classList.contains('pending')) setMessageState(item, { kind: 'delivered' });
      });
    } else {
      const key = state.active;
      const mine = { id: messageId(), userId: state.me.id, username: state.me.name, text, timestamp: Date.now() };
      const item = showMessage(key, mine, { kind: 'pending' });
      state.socket.timeout(ACK_TIMEOUT_MS).emit('direct-message', { to: conv.id, text }, (err, res) => {
        if (err) setMessageState(item, { kind: 'failed', error: 'no answer from the server' });
        else if (!res || res.success !== true) setMessageState(item, { kind: 'failed', error: res?.error || 'refused' });
        else setMessageState(item, { kind: 'delivered' });
      });
    }
  }

  function typed() {
    const conv = state.active && conversation(state.active);
    if (!conv || conv.kind !== 'room' || !state.socket.connected) return;
    const now = Date.now();
    if (now - state.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    state.lastTypingSent = now;
    state.socket.emit('typing', { roomId: conv.id, username: state.me.name });
  }

  // ---------------------------------------------------------------------------------
  // What the page receives

  function connect(name, token) {
    state.me.name = name;
    const claims = token ? tokenClaims(token) : null;
    // The server's user id: the claim id, else sub (docs/CONFIGURATION.md, Auth).
    const claimed = claims ? claims.id ?? claims.sub : undefined;
    state.me.tokenId = claimed !== undefined && claimed !== null ? String(claimed) : null;
    const options = {};
    if (token) options.auth = { token };
    const transport = params.get('transport');
    if (transport === 'polling' || transport === 'websocket') options.transports = [transport];
    setStatus('connecting', 'connecting…');
    const socket = io(namespace, options);
    state.socket = socket;
    window.switchboardDemo.socket = socket;

    socket.on('connect', () => {
      // With auth the user is the token's id; without it, the socket id (a new one after
      // a reconnection that the server did not recover).
      state.me.id = state.me.tokenId || socket.id;
      const engine = socket.io.engine;
      setStatus('connected', `connected (${engine.transport.name})`);
      engine.once('upgrade', (t) => { if (socket.connected) setStatus('connected', `connected (${t.name})`); });
      notice('');
      $('login').hidden = true;
      $('chat').hidden = false;
      socket.emit('user-online', state.me.id);
      for (const room of state.rooms) emitJoin(room);
      if (!state.active) joinRoom(firstRoom);
      renderOnline();
    });
    socket.on('connect_error', (err) => {
      if (!socket.active) {
        // Refused by the server (e.g. "Authentication error"): no retry on its own.
        setStatus('refused', `refused: ${err.message}`);
        $('login-error').textContent = `The server refused the connection: ${err.message}`;
        $('login-error').hidden = false;
        $('login').hidden = false;
        $('chat').hidden = true;
        $('enter').disabled = false;
        socket.close();
        return;
      }
      setStatus('reconnecting', `reconnecting… (${err.message})`);
    });
    socket.on('disconnect', (reason) => {
      $('online').classList.add('stale');  // until the server sends the list again
      state.typing.clear();
      renderTyping();
      if (socket.active) setStatus('reconnecting', `reconnecting… (${reason})`);
      else setStatus('offline', `disconnected (${reason})`);
    });
    socket.io.on('reconnect_attempt', (attempt) => setStatus('reconnecting', `reconnecting… (attempt ${attempt})`));
    socket.io.on('reconnect_failed', () => setStatus('offline', 'disconnected: gave up reconnecting'));

    socket.on('new-message', (message) => {
      if (!message || typeof message !== 'object') return;
      learnName(message.userId, message.username);
      const room = typeof message.roomId === 'string' ? message.roomId : state.active?.replace(/^room:/, '');
      if (!room || !state.rooms.includes(room)) return;
      if (state.typing.delete(message.userId)) renderTyping();
      showMessage(`room:${room}`, message, { kind: 'delivered' });
    });
    socket.on('user-typing', ({ userId, username } = {}) => {
      if (!userId || userId === state.me.id) return;
      learnName(userId, username);
      const previous = state.typing.get(userId);
      if (previous) clearTimeout(previous.timer);
      const timer = setTimeout(() => {
        state.typing.delete(userId);
        renderTyping();
      }, TYPING_SHOW_MS);
      state.typing.set(userId, { username: username || nameOf(userId), timer });
      renderTyping();
    });
    socket.on('user-joined', ({ userId, roomId } = {}) => {
      if (roomId && state.rooms.includes(roomId)) showSystem(`room:${roomId}`, `${nameOf(userId)} joined`);
    });
    socket.on('user-left', ({ userId, roomId } = {}) => {
      if (roomId && state.rooms.includes(roomId)) showSystem(`room:${roomId}`, `${nameOf(userId)} left`);
    });
    socket.on('online-users', (ids) => {
      if (!Array.isArray(ids)) return;
      state.online = ids.map(String);
      $('online').classList.remove('stale');
      renderOnline();
    });
    socket.on('direct-message', ({ from, text, timestamp } = {}) => {
      if (!from || typeof text !== 'string') return;
      showMessage(`dm:${from}`, { userId: from, username: nameOf(from), text, timestamp }, { kind: 'delivered' });
      renderDirects();
    });
    socket.on('rate-limited', () => notice('Slow down: the server dropped some of your events (rate limit).'));
  }

  // ---------------------------------------------------------------------------------
  // The forms

  window.switchboardDemo = { state, socket: null };

  if (typeof io !== 'function') {
    setStatus('offline', 'client library missing');
    $('login-error').textContent = 'The Socket.IO client (/socket.io/socket.io.js) did not load: run `npm ci` at ' +
      'the repository root and restart the server.';
    $('login-error').hidden = false;
    $('enter').disabled = true;
    return;
  }

  if (params.get('name')) $('username').value = params.get('name');
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('username').value.trim();
    if (!name) return;
    $('enter').disabled = true;
    $('login-error').hidden = true;
    if (state.socket) state.socket.close();
    connect(name, $('token').value.trim());
  });
  $('join-form').addEventListener('submit', (event) => {
    event.preventDefault();
    joinRoom($('room-name').value);
    $('room-name').value = '';
  });
  $('send-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('message');
    send(input.value);
    input.value = '';
  });
  $('message').addEventListener('input', typed);
})();
