/*
 * workspace/socket.js: the wire. Outgoing messages, the agent's WebSocket (/ws/agent) with its
 * reconnects, and the table that hands each incoming message to the part that owns it.
 *
 * Owns: send() (each message is checked against the relay's table, GET /protocol.json, before
 * it leaves: docs/protocol.md), the socket and its backoff, the `handlers` table.
 * Must not: render an incoming message itself beyond the agent's name and the chat log reset:
 * the widget, the replica, the chat and the invite bar belong to their parts.
 */
(function (workspace) {
  "use strict";

  var ui = workspace.ui;
  var state = workspace.state;

  var PROTOCOL_VERSION = 1;
  var BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

  // ------------------------------------------------------------------ outgoing messages

  // Check a message against the relay's table (GET /protocol.json) before sending it, so a
  // workspace bug shows up here, named, instead of as an `invalid` error from the relay.
  function checkOutgoing(type, body) {
    var table = state.protocol && state.protocol.messages;
    if (!table) return null;
    var spec = table[type];
    if (!spec) return "unknown message type " + type;
    if (spec.from && spec.from.indexOf("agent") < 0) return "an agent may not send " + type;
    var fields = spec.fields || {};
    var optional = spec.optional || {};
    var name;
    for (name in fields) {
      if (!(name in body)) return type + ": missing " + name;
    }
    for (name in body) {
      if (!(name in fields) && !(name in optional)) return type + ": unexpected field " + name;
    }
    return null;
  }

  function send(type, body) {
    body = body || {};
    var problem = checkOutgoing(type, body);
    if (problem) {
      console.error("cobrowse: not sending", problem);
      return false;
    }
    var ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    var msg = { v: PROTOCOL_VERSION, type: type };
    for (var key in body) msg[key] = body[key];
    ws.send(JSON.stringify(msg));
    return true;
  }

  function loadProtocol() {
    fetch("/protocol.json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (table) {
        if (table && table.messages && typeof table.messages === "object") state.protocol = table;
      })
      .catch(function () { /* the relay enforces the table anyway */ });
  }

  // ------------------------------------------------------------------ socket

  function setConn(s, text) {
    ui.conn.setAttribute("data-state", s);
    ui.conn.textContent = text;
  }

  function connect() {
    state.wantSocket = true;
    if (state.ws) return;
    clearTimeout(state.retryTimer);
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var ws;
    try {
      ws = new WebSocket(scheme + "//" + location.host + "/ws/agent");
    } catch (error) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    setConn("connecting", state.attempt ? "Reconnecting…" : "Connecting…");
    ws.addEventListener("open", function () {
      if (state.ws !== ws) return;
      state.attempt = 0;
      setConn("open", "Connected");
      if (state.open) send("conversation.open", { conversation: state.open });
    });
    ws.addEventListener("message", function (event) {
      if (state.ws !== ws || typeof event.data !== "string") return;
      var msg;
      try {
        msg = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
      try {
        handle(msg);
      } catch (error) {
        console.error("cobrowse: failed to handle " + msg.type, error);
      }
    });
    ws.addEventListener("close", function (event) {
      if (state.ws !== ws) return;
      state.ws = null;
      if (state.session && state.session.status !== "ended") workspace.setStatus("reconnecting");
      if (!state.wantSocket) return;
      if (event.code === 1008) {
        // Policy close: most often the sign-in cookie expired. Ask before retrying.
        setConn("closed", "Disconnected");
        checkAuthThenReconnect();
        return;
      }
      scheduleReconnect();
    });
  }

  function checkAuthThenReconnect() {
    fetch("/agent/me", { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) {
          state.wantSocket = false;
          workspace.resetWorkspace();
          workspace.showLogin("Your session has expired. Sign in again.");
        } else {
          scheduleReconnect();
        }
      })
      .catch(scheduleReconnect);
  }

  function scheduleReconnect() {
    if (!state.wantSocket) return;
    var base = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
    var delay = Math.round(base * (0.75 + Math.random() * 0.5)); // jitter: no thundering herd
    state.attempt++;
    setConn("closed", "Disconnected: retrying in " + Math.ceil(delay / 1000) + " s");
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(connect, delay);
  }

  function disconnect() {
    state.wantSocket = false;
    clearTimeout(state.retryTimer);
    var ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000, "sign out");
    setConn("closed", "Signed out");
  }

  // ------------------------------------------------------------------ incoming messages

  var handlers = {
    hello: function (m) {
      if (m.agent && typeof m.agent.name === "string") ui.agentName.textContent = m.agent.name;
      // After a reconnect the relay says what is still alive; until then show the last state.
      if (state.session && state.session.status === "reconnecting") {
        workspace.setStatus(state.session.built ? "active" : "waiting");
      }
    },
    "conversation.list": function (m) {
      state.conversations = Array.isArray(m.conversations) ? m.conversations : [];
      workspace.renderConversations();
      workspace.renderConversationHead();
    },
    "conversation.updated": function (m) {
      workspace.mergeConversation(m.conversation);
      workspace.renderConversations();
      workspace.renderConversationHead();
    },
    "chat.history": function (m) {
      if (m.conversation !== state.open) return;
      ui.chatLog.textContent = "";
      var list = Array.isArray(m.messages) ? m.messages : [];
      for (var i = 0; i < list.length; i++) workspace.appendChat(list[i]);
    },
    "chat.message": function (m) {
      if (m.conversation === state.open) {
        workspace.appendChat(m);
        return;
      }
      var conv = workspace.findConversation(m.conversation);
      if (conv && m.sender !== "agent") {
        conv.unread = (conv.unread || 0) + 1;
        conv.last_at = m.at;
        workspace.renderConversations();
      }
    },
    "invite.state": function (m) {
      state.invite = m;
      if (m.session && state.session && state.session.id === m.session) {
        state.session.upgrade = m.state;
        workspace.renderUpgrade();
      }
      workspace.renderInvite();
      workspace.updateCobrowseButton();
    },
    "session.started": function (m) { workspace.startSession(m); },
    "session.ended": function (m) { workspace.endSession(m); },
    "replica.snapshot": function (m) { workspace.onSnapshot(m); },
    "replica.mutations": function (m) { workspace.onMutations(m); },
    pointer: function (m) { workspace.onVisitorPointer(m); },
    click: function (m) { workspace.onVisitorMark(m, "circle"); },
    highlight: function (m) { workspace.onVisitorMark(m, m.kind); },
    scroll: function (m) { workspace.onVisitorScroll(m); },
    viewport: function (m) { workspace.onViewport(m); },
    selection: function (m) { workspace.onVisitorSelection(m); },
    error: function (m) { workspace.showError(m); }
  };

  function handle(msg) {
    var fn = handlers[msg.type];
    if (fn) fn(msg);
  }

  // Used by the other parts (through workspace, when they run).
  workspace.send = send;
  workspace.loadProtocol = loadProtocol;
  workspace.connect = connect;
  workspace.disconnect = disconnect;
})(window.CobrowseWorkspace);
