/*
 * transport.js: the visitor socket (/ws/visitor) and what comes in on it.
 * Owns: connecting with the stored token, reconnecting with backoff, send(), the shape check of
 * every message the relay may send a visitor (VALID) and its handler (HANDLERS).
 * Must not: act on a message that fails its check, evaluate code or HTML from the wire, or send
 * before the relay's hello.
 */

// ------------------------------------------------------------ socket
var ws = null;
var wanted = false;
var attempt = 0;
var retryTimer = 0;
var helloSeen = false;
var outbox = []; // chat texts typed before the socket was ready
var ended = false; // an agent ended the conversation: the next chat.send starts a new one

function connect() {
  wanted = true;
  if (ws || retryTimer) return;
  var token = loadToken();
  var sock;
  try {
    var Socket = socketClass();
    sock = new Socket(WS_URL + (token ? '?token=' + encodeParam(token) : ''));
  } catch (e) { scheduleReconnect(); return; }
  ws = sock;
  helloSeen = false;
  setStatus('Connecting\u2026');
  listen(sock, 'open', guard(function () { if (ws === sock) attempt = 0; }));
  listen(sock, 'message', guard(function (ev) {
    if (ws === sock && typeof msgData(ev) === 'string') receive(msgData(ev));
  }));
  listen(sock, 'close', guard(function (ev) {
    if (ws !== sock) return;
    ws = null;
    helloSeen = false;
    suspendCapture();
    if (closeCode(ev) === 1008) {
      // Refused by policy (unknown token, origin not allowed): a retry would be refused too.
      // Forget the token; the visitor's next chat action starts a new conversation.
      saveToken(null);
      wanted = false;
      setStatus('Chat is unavailable right now.');
      return;
    }
    scheduleReconnect();
  }));
}
// The WebSocket class sockets are made with. When the page replaced its own (wsBorrowed): that of
// a frame kept hidden in the UI's closed shadow root, where the page cannot reach it (a frame in
// a shadow tree is not in window.frames); the clean realm's if no such frame can be made.
var liveWS = null;
function socketClass() {
  if (!wsBorrowed || !ui) return WS;
  if (!liveWS) {
    liveWS = WS;
    try {
      var f = createElement(D, 'iframe');
      setAttr(f, 'hidden', '');
      appendChild(ui.root, f);
      var w = contentWinOf(f);
      if (w && isNative(w.WebSocket)) liveWS = w.WebSocket;
    } catch (e) { /* the clean realm's, which may not open */ }
  }
  return liveWS;
}
// A new connection now, with the stored token: after the agent ended the conversation the
// relay answers it with a new conversation (hello with resumed: false and a new token).
function reconnect() {
  var sock = ws;
  ws = null; // the old socket's events are ignored from here on
  helloSeen = false;
  cancel(retryTimer);
  retryTimer = 0;
  attempt = 0;
  suspendCapture();
  if (sock) try { wsClose(sock); } catch (e) { /* already closing */ }
  connect();
}
function scheduleReconnect() {
  if (!wanted || retryTimer) return;
  // Exponential backoff with jitter, 0.5 s .. 15 s, so a relay restart is not stampeded.
  var base = Mth.min(15000, 500 * Mth.pow(2, attempt++));
  var delay = Mth.max(500, base / 2 + Mth.random() * base / 2);
  setStatus('Reconnecting\u2026');
  retryTimer = later(function () { retryTimer = 0; connect(); }, delay);
}
function send(type, body) {
  if (!ws || wsReadyState(ws) !== 1 || !helloSeen) return false;
  var msg = { v: 1, type: type };
  for (var k in body) if (hasOwn(body, k)) msg[k] = body[k];
  try { wsSend(ws, encode(msg)); return true; } catch (e) { return false; }
}

// ------------------------------------------------------------ incoming messages
function validSession(m) { return isId(m.session); }
function validPos(m) { return isInt(m.id) && isNum(m.x, 0, 1) && isNum(m.y, 0, 1); }
function validChat(m) {
  return m && typeof m === 'object' && (m.sender === 'visitor' || m.sender === 'agent' || m.sender === 'system') &&
    isStr(m.name) && isStr(m.text, 4000) && isNum(m.at, 0, 9007199254740991);
}
// Shape checks for every message the relay may send a visitor; a message that fails is ignored.
var VALID = {
  'hello': function (m) { return isStr(m.token, 128) && m.token.length > 0; },
  'chat.message': validChat,
  'chat.history': function (m) { return isId(m.conversation) && isArr(m.messages); },
  'conversation.closed': function (m) { return isId(m.conversation); },
  'error': function (m) { return isStr(m.code) && isStr(m.message); },
  'invite.offer': function (m) {
    return isId(m.invite) && isStr(m.agent) && (m.mode === 'view_only' || m.mode === 'shared') &&
      isNum(m.expires_at, 0, 9007199254740991) && (m.session === undefined || isId(m.session));
  },
  'invite.state': function (m) { return isId(m.invite) && isStr(m.state); },
  'session.started': function (m) {
    return validSession(m) && (m.mode === 'view_only' || m.mode === 'shared') && isStr(m.agent) &&
      (m.mask_selectors === undefined || isArr(m.mask_selectors));
  },
  'session.ended': validSession,
  'resync': validSession,
  'pointer': function (m) { return validSession(m) && validPos(m); },
  'highlight': function (m) {
    return validSession(m) && validPos(m) && (m.kind === 'circle' || m.kind === 'wiggle' || m.kind === 'outline');
  },
  'scroll': function (m) { return validSession(m) && isInt(m.id) && isNum(m.x, -1e7, 1e7) && isNum(m.y, -1e7, 1e7); },
  'act.click': function (m) { return validSession(m) && validPos(m); },
  'act.input': function (m) {
    return validSession(m) && isInt(m.id) &&
      ((isStr(m.value, 100000) && m.checked === undefined) || (typeof m.checked === 'boolean' && m.value === undefined));
  },
  'act.navigate': function (m) { return validSession(m) && isStr(m.url, 8192); },
  'selection': function (m) { return validSession(m) && isArr(m.ranges) && m.ranges.length <= 16; },
  'session.config': function (m) { return validSession(m) && isArr(m.mask_selectors); }
};

function receive(data) {
  var m;
  try { m = jsonParse(data); } catch (e) { return; }
  if (!m || typeof m !== 'object' || isArr(m) || m.v !== 1 || typeof m.type !== 'string') return;
  var check = hasOwn(VALID, m.type) ? VALID[m.type] : null;
  if (!check || !check(m)) return;
  var handler = HANDLERS[m.type];
  // Session-scoped messages only ever apply to the session this page is in.
  if (m.session !== undefined && m.type !== 'session.started' && m.type !== 'hello' &&
    (!session || m.session !== session.id)) return;
  handler(m);
}

var HANDLERS = {
  'hello': function (m) {
    helloSeen = true;
    attempt = 0;
    saveToken(m.token);
    setStatus('');
    // hello names the conversation's active session, if any (session.started follows);
    // without one, the session ended while this page was away.
    if (session && session.suspended && m.session !== session.id) endSession();
    if (endPending && send('session.end', { session: endPending })) endPending = null;
    var queued = outbox;
    outbox = [];
    for (var i = 0; i < queued.length; i++) send('chat.send', { text: queued[i] });
  },
  'chat.message': function (m) { addMessage(m); },
  'chat.history': function (m) {
    clearLog();
    for (var i = 0; i < m.messages.length; i++) if (validChat(m.messages[i])) addMessage(m.messages[i], true);
  },
  'conversation.closed': function () {
    ended = true;
    hideInvite();
    endSession();
    addMessage({ sender: 'system', name: '', text: 'The conversation has ended.', at: dateNow() });
  },
  'error': function (m) { addNotice(m.message); },
  'invite.offer': function (m) { showInvite(m); },
  'invite.state': function (m) {
    if (invite && invite.id === m.invite && m.state !== 'pending') hideInvite();
  },
  'session.started': function (m) {
    if (m.session === endPending) { if (send('session.end', { session: m.session })) endPending = null; return; }
    startSession(m);
  },
  'session.ended': function () { endSession(); },
  'resync': function () { if (session && !session.suspended) startCapture(); },
  'pointer': function (m) { showAgentPointer(m.id, m.x, m.y); },
  'highlight': function (m) { highlight(m); },
  'scroll': function (m) { remoteScroll(m); },
  'act.click': function (m) { if (shared()) actClick(m); },
  'act.input': function (m) { if (shared()) actInput(m); },
  'act.navigate': function (m) { if (shared()) actNavigate(m); },
  'selection': function (m) { showSelection(m); },
  // New mask selectors while the session runs: a fresh snapshot under the new mask (the
  // renderer masks by the same selectors, so nothing newly masked stays visible there).
  'session.config': function (m) {
    setMaskSelectors(m.mask_selectors);
    if (session && !session.suspended) startCapture();
  }
};
