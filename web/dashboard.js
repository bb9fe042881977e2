// The live dashboard: connects to the server's /dashboard namespace (socket.io-client,
// served by the server at /socket.io/socket.io.js) and draws each `stats` event it
// emits every second. No build step, no chart library: a canvas.
'use strict';

(() => {
  const HISTORY = 120;  // points on the chart: two minutes at one a second
  const history = [];   // { in, out }
  const $ = (id) => document.getElementById(id);
  const format = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`);
  const bytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB`
    : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

  function rows(table, entries) {
    table.replaceChildren(...entries.map(([name, value]) => {
      const tr = document.createElement('tr');
      const a = document.createElement('td');
      const b = document.createElement('td');
      a.textContent = name;
      b.textContent = value;
      tr.append(a, b);
      return tr;
    }));
  }

  function setStatus(text, kind) {
    const status = $('status');
    status.textContent = text;
    status.className = kind || '';
  }

  function draw() {
    const canvas = $('chart');
    const ctx = canvas.getContext('2d');
    const { width, height } = canvas;
    const pad = 28;
    ctx.clearRect(0, 0, width, height);
    const max = Math.max(1, ...history.map((p) => Math.max(p.in, p.out)));
    // A round top for the scale.
    const magnitude = 10 ** Math.floor(Math.log10(max));
    const top = Math.ceil(max / magnitude) * magnitude;
    ctx.strokeStyle = '#2c3744';
    ctx.fillStyle = '#8b96a3';
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad / 2 + ((height - pad) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad + 12, y);
      ctx.lineTo(width, y);
      ctx.stroke();
      ctx.fillText(format(top * (1 - i / 4)), 0, y + 4);
    }
    const x = (i) => pad + 12 + ((width - pad - 12) * (i + HISTORY - history.length)) / (HISTORY - 1);
    const y = (v) => pad / 2 + (height - pad) * (1 - v / top);
    for (const [key, colour] of [['in', '#4fc3f7'], ['out', '#ffb74d']]) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      history.forEach((p, i) => (i ? ctx.lineTo(x(i), y(p[key])) : ctx.moveTo(x(i), y(p[key]))));
      ctx.stroke();
    }
  }

  function show(stats) {
    const c = stats.connections;
    $('connections').textContent = format(c.total);
    rows($('transports'), [['WebSocket', c.websocket], ['long-polling', c.polling], ['native WebSocket', c.native_ws],
      ['SSE', c.sse]]);
    $('rooms').textContent = format(stats.roomCount);
    rows($('namespaces'), Object.keys(stats.sockets).map((nsp) =>
      [nsp, `${stats.sockets[nsp]} sockets · ${stats.rooms[nsp]} rooms`]));
    $('rate-in').textContent = format(stats.eventsInPerSecond);
    $('rate-out').textContent = format(stats.eventsOutPerSecond);
    rows($('totals'), [['events in', format(stats.eventsIn)], ['events out', format(stats.eventsOut)],
      ['bytes in', bytes(stats.bytesIn)], ['bytes out', bytes(stats.bytesOut)]]);
    rows($('lag'), stats.lagMs.map((ms, i) => [`loop ${i}`, `${ms.toFixed(2)} ms`]));
    history.push({ in: stats.eventsInPerSecond, out: stats.eventsOutPerSecond });
    if (history.length > HISTORY) history.shift();
    draw();
  }

  let socket;
  function connect(apiKey) {
    if (typeof io !== 'function') {
      setStatus('socket.io-client is missing: the server serves it at /socket.io/socket.io.js', 'down');
      return;
    }
    if (socket) socket.close();
    // A dashboard on another origin (or opened as a file) names the server in ?server=.
    const server = new URLSearchParams(location.search).get('server') || undefined;
    socket = io(server ? `${server}/dashboard` : '/dashboard', { auth: apiKey ? { apiKey } : {} });
    socket.on('connect', () => {
      setStatus('live', 'live');
      $('key-form').hidden = true;
    });
    socket.on('disconnect', () => setStatus('reconnecting…', 'down'));
    socket.on('connect_error', (err) => {
      if (err.message === 'Authentication error') {
        setStatus('this server needs its API key', 'down');
        $('key-form').hidden = false;
        socket.close();
      } else {
        setStatus(`cannot connect (${err.message}), retrying…`, 'down');
      }
    });
    socket.on('stats', show);
  }

  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('key').value;
    sessionStorage.setItem('switchboard-api-key', key);
    connect(key);
  });
  connect(sessionStorage.getItem('switchboard-api-key') || '');
})();
