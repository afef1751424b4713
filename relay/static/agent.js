/*
 * agent.js: the agent workspace. Sign-in, the agent WebSocket (/ws/agent), conversations and
 * chat, invites, and the CoBrowse widget around the replica (replica.js).
 *
 * Owns: the workspace's UI state and every message the agent sends (docs/protocol.md).
 * Must not: touch the replica's DOM except through CobrowseReplica (it only reads boxes and
 * listens for the agent's own pointer, clicks, typing and scrolling), send act.* outside
 * shared mode, or put wire text anywhere but textContent/value.
 */
(function () {
  "use strict";

  var PROTOCOL_VERSION = 1;
  var BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
  var ERROR_SHOW_MS = 10000;
  var ENDED_REMOVE_MS = 1500;
  var MAX_SCALE = 2;
  var MODE_LABELS = { view_only: "View only", shared: "Shared" };
  var STATUS_LABELS = {
    waiting: "Waiting for the visitor's page",
    active: "Active",
    reconnecting: "Reconnecting…",
    ended: "Ended"
  };
  var INVITE_LABELS = {
    pending: "Invite sent: waiting for the visitor to accept",
    accepted: "The visitor accepted: starting the session",
    declined: "The visitor declined the invite",
    cancelled: "Invite cancelled",
    expired: "The invite expired"
  };
  var ENDED_BY = { visitor: "the visitor", agent: "you", relay: "the server" };
  var UPGRADE_LABELS = {
    pending: "Asked the visitor for shared control: waiting for the answer",
    accepted: "The visitor accepted shared control",
    declined: "The visitor declined shared control: still view only",
    cancelled: "Request for shared control withdrawn",
    expired: "The request for shared control expired: still view only"
  };
  // Reasons from replica.unseen() (placeholder labels and UNSEEN_REASONS keys), and fonts.
  var UNSEEN_LABELS = {
    "third-party iframe": "third-party frame",
    iframe: "frame",
    "plugin object": "plugin object",
    canvas: "canvas",
    image: "image not loaded",
    shadow: "closed shadow root",
    font: "font not loaded"
  };
  var SELECTION_SEND_MS = 150;
  var MAX_RANGES = 16;

  var Replica = window.CobrowseReplica;

  function $(testid) {
    return document.querySelector('[data-testid="' + testid + '"]');
  }
  function byId(id) {
    return document.getElementById(id);
  }
  function show(el, on) {
    el.hidden = !on;
  }

  var ui = {
    body: document.body,
    login: byId("login"),
    loginForm: byId("login-form"),
    loginName: $("login-name"),
    loginPassword: $("login-password"),
    loginSubmit: $("login-submit"),
    loginError: $("login-error"),
    workspace: byId("workspace"),
    agentName: $("agent-name"),
    logout: $("logout"),
    conn: $("connection-status"),
    list: $("conversation-list"),
    listEmpty: byId("conversation-empty"),
    convTitle: $("conversation-title"),
    convMeta: byId("conversation-meta"),
    cobrowseButton: $("cobrowse-button"),
    menu: byId("cobrowse-menu"),
    menuWrap: byId("cobrowse-menu-wrap"),
    invite: $("invite-status"),
    inviteText: byId("invite-text"),
    inviteCancel: $("invite-cancel"),
    error: $("workspace-error"),
    errorText: byId("workspace-error-text"),
    errorClose: byId("workspace-error-close"),
    chatLog: $("chat-log"),
    composer: byId("composer"),
    chatInput: $("chat-input"),
    chatSend: $("chat-send"),
    widget: $("cobrowse-widget"),
    status: $("session-status"),
    mode: $("session-mode"),
    title: $("session-title"),
    fullscreen: $("fullscreen"),
    sessionEnd: $("session-end"),
    widgetClose: $("widget-close"),
    addressForm: byId("address-form"),
    address: $("address-bar"),
    navigate: $("navigate"),
    viewport: byId("replica-viewport"),
    stage: byId("replica-stage"),
    overlay: byId("replica-overlay"),
    note: byId("replica-note"),
    visitorPointer: $("visitor-pointer"),
    reason: $("session-reason"),
    transcriptOpen: $("transcript-open"),
    conversationClose: $("conversation-close"),
    transcript: $("transcript-panel"),
    transcriptLog: $("transcript-log"),
    transcriptExport: $("transcript-export"),
    transcriptClose: $("transcript-close"),
    inviteExpiry: $("invite-expiry"),
    upgrade: $("session-upgrade"),
    visitorSelection: $("visitor-selection")
  };

  var state = {
    agent: null,
    ws: null,
    wantSocket: false,
    attempt: 0,
    retryTimer: null,
    protocol: null, // the relay's message table from GET /protocol.json, when available
    conversations: [],
    open: null, // id of the open conversation
    invite: null, // last invite.state body
    session: null // {id, conversation, mode, agent, status, url, viewport, ...}
  };

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

  // ------------------------------------------------------------------ sign-in

  function showLogin(message) {
    ui.body.classList.remove("is-loading");
    show(ui.workspace, false);
    show(ui.login, true);
    if (message) {
      ui.loginError.textContent = message;
      show(ui.loginError, true);
    }
    ui.loginName.focus();
  }

  function showWorkspace(agent) {
    state.agent = agent;
    ui.body.classList.remove("is-loading");
    ui.agentName.textContent = agent && agent.name ? agent.name : "";
    show(ui.login, false);
    show(ui.loginError, false);
    show(ui.workspace, true);
    connect();
  }

  function errorMessage(body, fallback) {
    if (body && body.error && typeof body.error.message === "string" && body.error.message) {
      return body.error.message;
    }
    return fallback;
  }

  function checkMe() {
    return fetch("/agent/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 200) return r.json().then(showWorkspace);
        if (r.status === 401) return showLogin();
        throw new Error("HTTP " + r.status);
      })
      .catch(function () {
        showLogin("The server cannot be reached. Try again in a moment.");
      });
  }

  ui.loginForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = ui.loginName.value.trim();
    var password = ui.loginPassword.value;
    if (!name || !password) {
      ui.loginError.textContent = "Enter your name and password.";
      show(ui.loginError, true);
      return;
    }
    ui.loginSubmit.disabled = true;
    show(ui.loginError, false);
    fetch("/agent/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name: name, password: password })
    })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (r.status === 200) {
            ui.loginPassword.value = "";
            showWorkspace(body);
            return;
          }
          var fallback = r.status === 401 ? "Wrong name or password." :
            r.status === 429 ? "Too many attempts. Wait a moment and try again." :
            "Sign-in failed (HTTP " + r.status + ").";
          ui.loginError.textContent = errorMessage(body, fallback);
          ui.loginError.setAttribute("data-status", String(r.status));
          show(ui.loginError, true);
        });
      })
      .catch(function () {
        ui.loginError.textContent = "The server cannot be reached.";
        show(ui.loginError, true);
      })
      .then(function () { ui.loginSubmit.disabled = false; });
  });

  ui.logout.addEventListener("click", function () {
    disconnect();
    fetch("/agent/logout", { method: "POST", credentials: "same-origin" })
      .catch(function () { /* signed out locally anyway */ })
      .then(function () {
        resetWorkspace();
        showLogin();
      });
  });

  function resetWorkspace() {
    closeSession(true);
    state.agent = null;
    state.conversations = [];
    state.open = null;
    state.invite = null;
    renderConversations();
    renderConversationHead();
    ui.chatLog.textContent = "";
    renderInvite();
    hideError();
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
      if (state.session && state.session.status !== "ended") setStatus("reconnecting");
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
          resetWorkspace();
          showLogin("Your session has expired. Sign in again.");
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
        setStatus(state.session.built ? "active" : "waiting");
      }
    },
    "conversation.list": function (m) {
      state.conversations = Array.isArray(m.conversations) ? m.conversations : [];
      renderConversations();
      renderConversationHead();
    },
    "chat.history": function (m) {
      if (m.conversation !== state.open) return;
      ui.chatLog.textContent = "";
      var list = Array.isArray(m.messages) ? m.messages : [];
      for (var i = 0; i < list.length; i++) appendChat(list[i]);
    },
    "chat.message": function (m) {
      if (m.conversation === state.open) {
        appendChat(m);
        return;
      }
      var conv = findConversation(m.conversation);
      if (conv && m.sender !== "agent") {
        conv.unread = (conv.unread || 0) + 1;
        conv.last_at = m.at;
        renderConversations();
      }
    },
    "invite.state": function (m) {
      state.invite = m;
      if (m.session && state.session && state.session.id === m.session) {
        state.session.upgrade = m.state;
        renderUpgrade();
      }
      renderInvite();
      updateCobrowseButton();
    },
    "session.started": function (m) { startSession(m); },
    "session.ended": function (m) { endSession(m); },
    "replica.snapshot": function (m) { onSnapshot(m); },
    "replica.mutations": function (m) { onMutations(m); },
    pointer: function (m) { onVisitorPointer(m); },
    click: function (m) { onVisitorMark(m, "circle"); },
    highlight: function (m) { onVisitorMark(m, m.kind); },
    scroll: function (m) { onVisitorScroll(m); },
    viewport: function (m) { onViewport(m); },
    selection: function (m) { onVisitorSelection(m); },
    error: function (m) { showError(m); }
  };

  function handle(msg) {
    var fn = handlers[msg.type];
    if (fn) fn(msg);
  }

  // ------------------------------------------------------------------ conversations

  function findConversation(id) {
    for (var i = 0; i < state.conversations.length; i++) {
      if (state.conversations[i] && state.conversations[i].id === id) return state.conversations[i];
    }
    return null;
  }

  function formatTime(ms) {
    if (typeof ms !== "number" || !isFinite(ms)) return "";
    var d = new Date(ms);
    var now = new Date();
    var sameDay = d.toDateString() === now.toDateString();
    return sameDay ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleDateString([], { day: "numeric", month: "short" });
  }

  function renderConversations() {
    var list = state.conversations.slice().sort(function (a, b) {
      return (b.last_at || 0) - (a.last_at || 0);
    });
    ui.list.textContent = "";
    for (var i = 0; i < list.length; i++) {
      var c = list[i];
      if (!c || typeof c.id !== "string") continue;
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "conv" + (c.id === state.open ? " is-open" : "");
      button.setAttribute("data-testid", "conversation-item");
      button.setAttribute("data-conversation", c.id);
      if (c.state) button.setAttribute("data-state", String(c.state));
      if (c.id === state.open) button.setAttribute("aria-current", "true");
      var top = document.createElement("span");
      top.className = "conv__top";
      var title = document.createElement("span");
      title.className = "conv__title";
      title.textContent = c.title || "Visitor";
      var time = document.createElement("time");
      time.className = "conv__time";
      time.textContent = formatTime(c.last_at);
      top.appendChild(title);
      top.appendChild(time);
      var bottom = document.createElement("span");
      bottom.className = "conv__bottom";
      var meta = document.createElement("span");
      meta.className = "conv__meta";
      meta.textContent = [c.brand, c.state].filter(Boolean).join(" · ");
      bottom.appendChild(meta);
      if (c.unread > 0 && c.id !== state.open) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.setAttribute("data-testid", "unread");
        badge.textContent = c.unread > 99 ? "99+" : String(c.unread);
        badge.setAttribute("aria-label", c.unread + " unread");
        bottom.appendChild(badge);
      }
      button.appendChild(top);
      button.appendChild(bottom);
      li.appendChild(button);
      ui.list.appendChild(li);
    }
    show(ui.listEmpty, list.length === 0);
  }

  ui.list.addEventListener("click", function (event) {
    var item = event.target.closest('[data-testid="conversation-item"]');
    if (item) openConversation(item.getAttribute("data-conversation"));
  });

  function openConversation(id) {
    if (!id) return;
    state.open = id;
    var conv = findConversation(id);
    if (conv) conv.unread = 0;
    ui.chatLog.textContent = "";
    show(ui.transcript, false);
    renderConversations();
    renderConversationHead();
    renderInvite();
    send("conversation.open", { conversation: id });
    ui.chatInput.focus();
  }

  function renderConversationHead() {
    var conv = state.open ? findConversation(state.open) : null;
    ui.convTitle.textContent = conv ? (conv.title || "Visitor") : (state.open ? "Conversation" : "Pick a conversation");
    ui.convMeta.textContent = conv ? [conv.brand, conv.state].filter(Boolean).join(" · ") : "";
    var enabled = Boolean(state.open);
    var closed = Boolean(conv && conv.state === "closed");
    ui.chatInput.disabled = !enabled || closed;
    ui.chatSend.disabled = !enabled || closed;
    ui.chatInput.placeholder = closed ? "This conversation has ended." : "Write a message…";
    ui.transcriptOpen.disabled = !enabled;
    ui.conversationClose.disabled = !enabled || closed;
    ui.body.classList.toggle("conversation-closed", closed);
    updateCobrowseButton();
  }

  function appendChat(m) {
    if (!m || typeof m.text !== "string") return;
    var li = document.createElement("li");
    var sender = m.sender === "agent" || m.sender === "system" ? m.sender : "visitor";
    li.className = "msg msg--" + sender;
    li.setAttribute("data-testid", "chat-message");
    li.setAttribute("data-sender", sender);
    if (sender !== "system") {
      var who = document.createElement("span");
      who.className = "msg__who";
      who.textContent = m.name || (sender === "agent" ? "Agent" : "Visitor");
      li.appendChild(who);
    }
    var text = document.createElement("p");
    text.className = "msg__text";
    text.textContent = m.text;
    li.appendChild(text);
    var time = document.createElement("time");
    time.className = "msg__time";
    time.textContent = formatTime(m.at);
    li.appendChild(time);
    var nearBottom = ui.chatLog.scrollHeight - ui.chatLog.scrollTop - ui.chatLog.clientHeight < 60;
    ui.chatLog.appendChild(li);
    if (nearBottom || sender === "agent") ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  }

  ui.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = ui.chatInput.value;
    if (!state.open || !text.trim()) return;
    // The relay echoes it back as chat.message: it is shown then, once.
    if (send("chat.send", { conversation: state.open, text: text.slice(0, 4000) })) {
      ui.chatInput.value = "";
    } else {
      showError({ code: "offline", message: "Not connected: the message was not sent." });
    }
  });

  // ------------------------------------------------------------------ invites

  function invitePending() {
    return Boolean(state.invite && state.invite.state === "pending");
  }

  function sessionLive() {
    return Boolean(state.session && state.session.status !== "ended");
  }

  // The button stays usable while an invite is pending or a session runs: the relay enforces
  // one of each per agent and its refusal is shown as a clear message (workspace-error).
  function updateCobrowseButton() {
    var conv = state.open ? findConversation(state.open) : null;
    var closed = Boolean(conv && conv.state === "closed");
    var can = Boolean(state.open) && !closed;
    ui.cobrowseButton.disabled = !can;
    ui.cobrowseButton.title = !state.open ? "Open a conversation first" :
      closed ? "This conversation has ended" :
      invitePending() ? "You already have a pending invite" :
      sessionLive() ? "You already have a CoBrowse session running" : "Invite the visitor to CoBrowse";
    if (!can) closeMenu();
  }

  function openMenu() {
    var busy = $("cobrowse-busy");
    var text = invitePending() ? "You already have a pending invite. Cancel it or wait for the " +
      "answer before inviting again." : sessionLive() ? "You already have an active CoBrowse " +
      "session. End it before inviting again." : "";
    busy.textContent = text;
    show(busy, Boolean(text));
    show(ui.menu, true);
    ui.cobrowseButton.setAttribute("aria-expanded", "true");
    var first = ui.menu.querySelector("button");
    if (first) first.focus();
  }

  function closeMenu() {
    show(ui.menu, false);
    ui.cobrowseButton.setAttribute("aria-expanded", "false");
  }

  ui.cobrowseButton.addEventListener("click", function () {
    if (ui.menu.hidden) openMenu(); else closeMenu();
  });
  ui.menu.addEventListener("click", function (event) {
    var item = event.target.closest("[data-mode]");
    if (!item || !state.open) return;
    closeMenu();
    send("invite.send", { conversation: state.open, mode: item.getAttribute("data-mode") });
  });
  document.addEventListener("click", function (event) {
    if (!ui.menu.hidden && !ui.menuWrap.contains(event.target)) closeMenu();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !ui.menu.hidden) {
      closeMenu();
      ui.cobrowseButton.focus();
    }
  });

  function renderInvite() {
    var inv = state.invite;
    if (!inv) {
      show(ui.invite, false);
      return;
    }
    var labels = inv.session ? UPGRADE_LABELS : INVITE_LABELS;
    var text = labels[inv.state] || String(inv.state);
    if (!inv.session) text += " (" + (MODE_LABELS[inv.mode] || inv.mode) + ")";
    if (inv.conversation !== state.open) {
      var conv = findConversation(inv.conversation);
      text += ": " + (conv && conv.title ? conv.title : "another conversation");
    }
    ui.inviteText.textContent = text;
    ui.invite.setAttribute("data-state", String(inv.state));
    show(ui.inviteCancel, inv.state === "pending");
    ui.inviteCancel.textContent = inv.session ? "Withdraw request" : "Cancel invite";
    show(ui.invite, true);
    renderExpiry();
  }

  // A countdown to the pending invite's expiry (the relay's invite_ttl_seconds).
  var expiryTimer = null;
  function renderExpiry() {
    clearTimeout(expiryTimer);
    var inv = state.invite;
    if (!inv || inv.state !== "pending" || typeof inv.expires_at !== "number") {
      show(ui.inviteExpiry, false);
      return;
    }
    var left = Math.max(0, Math.ceil((inv.expires_at - Date.now()) / 1000));
    ui.inviteExpiry.textContent = "expires in " + Math.floor(left / 60) + ":" +
      String(left % 60).padStart(2, "0");
    ui.inviteExpiry.setAttribute("data-seconds", String(left));
    show(ui.inviteExpiry, true);
    if (left > 0) expiryTimer = setTimeout(renderExpiry, 1000);
  }

  ui.inviteCancel.addEventListener("click", function () {
    if (invitePending()) send("invite.cancel", { invite: state.invite.invite });
  });

  // ------------------------------------------------------------------ end and transcript

  ui.conversationClose.addEventListener("click", function () {
    if (state.open) send("conversation.close", { conversation: state.open });
  });

  function transcriptUrl(id, format) {
    return "/agent/conversations/" + encodeURIComponent(id) + "/transcript" +
      (format ? "?format=" + format : "");
  }

  function openTranscript() {
    var id = state.open;
    if (!id) return;
    ui.transcriptExport.href = transcriptUrl(id, "text");
    ui.transcriptLog.textContent = "";
    show(ui.transcript, true);
    ui.transcript.setAttribute("data-conversation", id);
    ui.transcript.setAttribute("data-state", "loading");
    fetch(transcriptUrl(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (!r.ok || !body || !Array.isArray(body.messages)) {
            throw new Error(errorMessage(body, "The transcript could not be loaded (HTTP " + r.status + ")."));
          }
          return body;
        });
      })
      .then(function (body) {
        if (ui.transcript.getAttribute("data-conversation") !== id) return;
        ui.transcriptLog.textContent = "";
        for (var i = 0; i < body.messages.length; i++) {
          var m = body.messages[i];
          if (!m || typeof m.text !== "string") continue;
          var li = document.createElement("li");
          li.setAttribute("data-testid", "transcript-message");
          li.setAttribute("data-sender", String(m.sender));
          var time = document.createElement("time");
          time.textContent = formatTime(m.at);
          var who = document.createElement("strong");
          who.textContent = (m.name || m.sender) + ": ";
          li.appendChild(time);
          li.appendChild(who);
          li.appendChild(document.createTextNode(m.text));
          ui.transcriptLog.appendChild(li);
        }
        ui.transcript.setAttribute("data-state", "loaded");
      })
      .catch(function (error) {
        ui.transcript.setAttribute("data-state", "error");
        showError({ code: "transcript", message: error.message });
      });
  }
  ui.transcriptOpen.addEventListener("click", openTranscript);
  ui.transcriptClose.addEventListener("click", function () { show(ui.transcript, false); });

  // ------------------------------------------------------------------ errors

  var errorTimer = null;
  function showError(m) {
    var text = typeof m.message === "string" && m.message ? m.message : "Something went wrong.";
    ui.errorText.textContent = text;
    ui.error.setAttribute("data-code", String(m.code || ""));
    if (m.ref) ui.error.setAttribute("data-ref", String(m.ref)); else ui.error.removeAttribute("data-ref");
    show(ui.error, true);
    clearTimeout(errorTimer);
    errorTimer = setTimeout(hideError, ERROR_SHOW_MS);
  }
  function hideError() {
    clearTimeout(errorTimer);
    show(ui.error, false);
  }
  ui.errorClose.addEventListener("click", hideError);

  // ------------------------------------------------------------------ session widget

  function setStatus(s) {
    if (!state.session) return;
    state.session.status = s;
    ui.status.setAttribute("data-status", s);
    ui.status.textContent = STATUS_LABELS[s] || s;
    ui.widget.setAttribute("data-status", s);
    renderUpgrade();
    updateCobrowseButton();
  }

  function startSession(m) {
    var same = state.session && state.session.id === m.session && state.session.status !== "ended";
    if (same) {
      // The relay repeats session.started after a reconnect, and after the visitor accepted
      // shared control (same id, new mode): keep the replica until a new snapshot replaces it.
      if (m.mode !== state.session.mode) setMode(m.mode === "shared" ? "shared" : "view_only");
      setStatus(state.session.built ? "active" : "waiting");
      return;
    }
    closeSession(true);
    state.session = {
      id: m.session,
      conversation: m.conversation,
      mode: m.mode === "shared" ? "shared" : "view_only",
      agent: m.agent,
      status: "waiting",
      built: false,
      url: "",
      viewport: null,
      scale: 1,
      replica: null,
      frame: null,
      visitorPointer: null,
      remoteScroll: new WeakMap(),
      pendingPointer: null,
      pendingScrolls: new Map(),
      rafPending: false,
      upgrade: null, // state of a session.upgrade request
      visitorSelection: [],
      selectionTimer: null,
      lastSelection: "[]",
      selectionDoc: null, // the replica document (top or nested frame) the agent selects in
      listening: new WeakSet(), // replica documents with the agent's listeners
      cleanup: []
    };
    if (state.invite && state.invite.conversation === m.conversation) {
      state.invite = null;
      renderInvite();
    }
    ui.body.classList.add("has-session");
    var conv = findConversation(m.conversation);
    ui.title.textContent = conv && conv.title ? conv.title : "";
    ui.address.value = "";
    setMode(state.session.mode);
    show(ui.visitorSelection, false);
    show(ui.sessionEnd, true);
    show(ui.widgetClose, false);
    show(ui.reason, false);
    ui.note.textContent = "Waiting for the visitor's page…";
    show(ui.note, true);
    show(ui.visitorPointer, false);
    show(ui.widget, true);

    var frame = Replica.createFrame(ui.stage, "Visitor's page (replica)", ui.overlay);
    state.session.frame = frame;
    state.session.replica = new Replica.Replica(frame, {
      onDocument: attachReplicaListeners,
      onUnseen: function (node, reason) { noteUnseen(reason); },
      warn: function (text) { console.warn("cobrowse:", text); }
    });
    setStatus("waiting");
    fit();
  }

  function setMode(mode) {
    var s = state.session;
    if (!s) return;
    s.mode = mode;
    var shared = mode === "shared";
    ui.widget.setAttribute("data-mode", mode);
    ui.mode.textContent = MODE_LABELS[mode];
    ui.mode.setAttribute("data-mode", mode);
    ui.address.readOnly = !shared;
    show(ui.navigate, shared && s.status !== "ended");
    renderUpgrade();
  }

  // "Ask for shared control": only in a live view only session; pending while asked.
  function renderUpgrade() {
    var s = state.session;
    var can = Boolean(s && s.mode === "view_only" && s.status !== "ended");
    show(ui.upgrade, can);
    var pending = Boolean(s && s.upgrade === "pending");
    ui.widget.setAttribute("data-upgrade", s && s.upgrade ? s.upgrade : "");
    ui.upgrade.disabled = pending;
    ui.upgrade.textContent = pending ? "Waiting for the visitor…" : "Ask for shared control";
  }

  ui.upgrade.addEventListener("click", function () {
    var s = state.session;
    if (s && s.mode === "view_only" && s.status !== "ended") send("session.upgrade", { session: s.id });
  });

  // Remove the replica and listeners. `hide` also hides the widget (a new session or sign-out).
  function closeSession(hide) {
    var s = state.session;
    if (s) {
      clearTimeout(s.removeTimer);
      for (var i = 0; i < s.cleanup.length; i++) s.cleanup[i]();
      s.cleanup = [];
      if (s.frame && s.frame.parentNode) s.frame.parentNode.removeChild(s.frame);
      s.frame = null;
      s.replica = null;
    }
    clearMarks();
    show(ui.visitorPointer, false);
    if (hide) {
      if (document.fullscreenElement === ui.widget && document.exitFullscreen) {
        document.exitFullscreen().catch(function () {});
      }
      state.session = null;
      show(ui.widget, false);
      ui.body.classList.remove("has-session");
      updateCobrowseButton();
    }
  }

  function endSession(m) {
    var s = state.session;
    if (!s || s.id !== m.session) return;
    setStatus("ended");
    var by = ENDED_BY[m.by] || m.by;
    ui.reason.textContent = "Session ended by " + by + (m.reason ? ": " + m.reason : ".");
    show(ui.reason, true);
    show(ui.sessionEnd, false);
    show(ui.navigate, false);
    show(ui.upgrade, false);
    show(ui.visitorSelection, false);
    clearSelectionMarks();
    ui.address.readOnly = true;
    show(ui.widgetClose, true);
    show(ui.visitorPointer, false);
    s.removeTimer = setTimeout(function () {
      if (state.session !== s) return;
      closeSession(false);
      ui.note.textContent = "The session has ended.";
      show(ui.note, true);
    }, ENDED_REMOVE_MS);
  }

  ui.sessionEnd.addEventListener("click", function () {
    if (sessionLive()) send("session.end", { session: state.session.id });
  });
  ui.widgetClose.addEventListener("click", function () { closeSession(true); });

  ui.fullscreen.addEventListener("click", function () {
    if (document.fullscreenElement === ui.widget) {
      document.exitFullscreen().catch(function () {});
    } else if (ui.widget.requestFullscreen) {
      ui.widget.requestFullscreen().catch(function (error) {
        showError({ code: "fullscreen", message: "Fullscreen is not available: " + error.message });
      });
    }
  });
  document.addEventListener("fullscreenchange", function () {
    var on = document.fullscreenElement === ui.widget;
    ui.fullscreen.textContent = on ? "Exit fullscreen" : "Fullscreen";
    ui.fullscreen.setAttribute("aria-pressed", on ? "true" : "false");
    fit();
  });

  ui.addressForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var s = state.session;
    if (!s || s.mode !== "shared" || s.status === "ended") return;
    var url;
    try {
      url = new URL(ui.address.value.trim(), s.url || undefined);
    } catch (error) {
      showError({ code: "invalid", message: "That is not a web address." });
      return;
    }
    var current = null;
    try { current = new URL(s.url); } catch (error) { current = null; }
    if (!/^https?:$/.test(url.protocol) || (current && url.origin !== current.origin)) {
      showError({ code: "invalid", message: "You can only navigate within the visitor's site (" +
        (current ? current.origin : "same origin") + ")." });
      return;
    }
    send("act.navigate", { session: s.id, url: url.href });
  });

  // ------------------------------------------------------------------ replica

  function onSnapshot(m) {
    var s = state.session;
    if (!s || s.id !== m.session || !s.replica || s.status === "ended") return;
    try {
      // null: the snapshot broke the node grammar (replica.js warns); the old replica stays.
      if (!s.replica.applySnapshot(m)) return;
    } catch (error) {
      console.error("cobrowse: snapshot refused", error);
      return;
    }
    s.built = true;
    // Node ids are unique within one page load only: a new snapshot is a new id space, so a
    // pointer naming an old id would land on an unrelated node.
    s.visitorPointer = null;
    s.url = typeof m.url === "string" ? m.url : "";
    if (document.activeElement !== ui.address) ui.address.value = s.url;
    ui.title.textContent = typeof m.title === "string" && m.title ? m.title : ui.title.textContent;
    show(ui.note, false);
    if (m.viewport) onViewport({ session: m.session, w: m.viewport.w, h: m.viewport.h });
    setStatus("active");
    clearMarks();
    s.visitorSelection = [];
    s.lastSelection = "[]";
    s.unseenExtra = {};
    renderVisitorSelection();
    renderVisitorPointer();
    renderUnseen();
  }

  function onMutations(m) {
    var s = state.session;
    if (!s || s.id !== m.session || !s.replica || !s.built) return;
    s.replica.applyMutations(m);
    renderVisitorPointer();
    renderVisitorSelection();
    renderUnseen();
  }

  function onViewport(m) {
    var s = state.session;
    if (!s || s.id !== m.session) return;
    var w = Number(m.w);
    var h = Number(m.h);
    if (!(w > 0 && h > 0)) return;
    s.viewport = { w: w, h: h };
    fit();
  }

  // Scale the visitor's viewport to fit the widget: the iframe keeps the visitor's CSS size
  // (so the page lays out as it does for them) and a transform shrinks it.
  function fit() {
    var s = state.session;
    if (!s || !s.frame) return;
    var vp = s.viewport || { w: 1280, h: 800 };
    var avail = ui.viewport.getBoundingClientRect();
    var pad = 16;
    var scale = Math.min((avail.width - pad) / vp.w, (avail.height - pad) / vp.h, MAX_SCALE);
    if (!(scale > 0)) scale = 1;
    s.scale = scale;
    s.frame.style.width = vp.w + "px";
    s.frame.style.height = vp.h + "px";
    s.frame.style.transform = "scale(" + scale + ")";
    ui.stage.style.width = Math.round(vp.w * scale) + "px";
    ui.stage.style.height = Math.round(vp.h * scale) + "px";
    ui.stage.setAttribute("data-scale", scale.toFixed(4));
    renderVisitorPointer();
  }
  if (window.ResizeObserver) new ResizeObserver(fit).observe(ui.viewport);
  window.addEventListener("resize", fit);

  // A point in the replica's viewport for (node id, fractions of its border box), in the
  // overlay's (scaled) pixels; null when the node is unknown.
  function pointFor(id, x, y) {
    var s = state.session;
    if (!s || !s.replica) return null;
    var node = s.replica.node(id);
    if (!node) return null;
    var rect = boxOf(node);
    if (!rect) return null;
    var fx = clamp01(Number(x));
    var fy = clamp01(Number(y));
    return {
      x: (rect.left + fx * rect.width) * s.scale,
      y: (rect.top + fy * rect.height) * s.scale,
      rect: rect,
      node: node
    };
  }

  // A node's border box in the top replica document's viewport (unscaled). A node inside a
  // same-origin frame measures in that frame's viewport: replica.toTopRect adds the frame's
  // position (and that of every frame around it).
  function boxOf(node) {
    var s = state.session;
    var doc = node.ownerDocument || node;
    var rect = null;
    if (node.nodeType === 9) {
      var view = node.defaultView;
      rect = view ? { left: 0, top: 0, width: view.innerWidth, height: view.innerHeight } : null;
    } else if (node.nodeType === 3) {
      var range = doc.createRange();
      range.selectNodeContents(node);
      rect = range.getBoundingClientRect();
    } else if (node.getBoundingClientRect) {
      rect = node.getBoundingClientRect();
    }
    if (!rect || !s || !s.replica) return null;
    return s.replica.toTopRect(rect, doc);
  }

  function clamp01(v) {
    return isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
  }

  function onVisitorPointer(m) {
    var s = state.session;
    if (!s || s.id !== m.session) return;
    s.visitorPointer = { id: m.id, x: m.x, y: m.y };
    renderVisitorPointer();
  }

  function renderVisitorPointer() {
    var s = state.session;
    if (!s || !s.visitorPointer || s.status === "ended") {
      show(ui.visitorPointer, false);
      return;
    }
    var p = pointFor(s.visitorPointer.id, s.visitorPointer.x, s.visitorPointer.y);
    if (!p) {
      show(ui.visitorPointer, false);
      return;
    }
    ui.visitorPointer.style.transform = "translate(" + p.x.toFixed(1) + "px," + p.y.toFixed(1) + "px)";
    ui.visitorPointer.setAttribute("data-node", String(s.visitorPointer.id));
    show(ui.visitorPointer, true);
  }

  // Visitor clicks and highlights, and the agent's own highlights, as short-lived marks.
  function onVisitorMark(m, kind) {
    var s = state.session;
    if (!s || s.id !== m.session) return;
    mark(m.id, m.x, m.y, kind, "visitor");
  }

  function mark(id, x, y, kind, who) {
    var p = pointFor(id, x, y);
    if (!p) return;
    var s = state.session;
    var el = document.createElement("div");
    if (kind === "outline") {
      el.className = "mark-outline mark--" + who;
      el.style.left = (p.rect.left * s.scale) + "px";
      el.style.top = (p.rect.top * s.scale) + "px";
      el.style.width = (p.rect.width * s.scale) + "px";
      el.style.height = (p.rect.height * s.scale) + "px";
      el.setAttribute("data-testid", who === "visitor" ? "visitor-outline" : "agent-outline");
    } else {
      el.className = "mark-circle mark--" + who;
      el.style.left = p.x + "px";
      el.style.top = p.y + "px";
      el.setAttribute("data-testid", who === "visitor" ? "click-circle" : "agent-highlight");
    }
    el.setAttribute("data-node", String(id));
    ui.overlay.appendChild(el);
    if (kind === "wiggle") wiggle(p.node);
    setTimeout(function () { if (el.parentNode) el.parentNode.removeChild(el); }, 1600);
  }

  function wiggle(node) {
    if (node.nodeType !== 1 || typeof node.animate !== "function") return;
    // Web Animations from the workspace's script: nothing runs inside the replica.
    node.animate([
      { transform: "rotate(0)" }, { transform: "rotate(-3deg)" }, { transform: "rotate(3deg)" },
      { transform: "rotate(-2deg)" }, { transform: "rotate(2deg)" }, { transform: "rotate(0)" }
    ], { duration: 600, easing: "ease-in-out" });
  }

  function clearMarks() {
    var marks = ui.overlay.querySelectorAll(".mark-circle, .mark-outline, .mark-selection");
    for (var i = 0; i < marks.length; i++) marks[i].parentNode.removeChild(marks[i]);
  }

  function onVisitorScroll(m) {
    var s = state.session;
    if (!s || s.id !== m.session || !s.replica) return;
    var target = s.replica.scrollNode(m.id, Number(m.x) || 0, Number(m.y) || 0);
    if (target) {
      // Remember where the visitor put it, so the scroll event this causes is not sent back.
      var pos = scrollPos(target);
      s.remoteScroll.set(target, pos);
    }
    renderVisitorPointer();
  }

  function scrollPos(target) {
    if (target.nodeType === 1) return { x: target.scrollLeft, y: target.scrollTop };
    return { x: target.scrollX, y: target.scrollY };
  }

  // ------------------------------------------------------------------ text selections

  // A DOM Range in the replica for a wire range [startId, startOffset, endId, endOffset]. Both
  // ends must lie in one document (the top one or the same nested frame).
  function rangeFor(r) {
    var s = state.session;
    if (!s || !s.replica || !s.replica.doc || !Array.isArray(r) || r.length !== 4) return null;
    var start = s.replica.node(r[0]);
    var end = s.replica.node(r[2]);
    if (!start || !end) return null;
    var doc = start.ownerDocument || start;
    if ((end.ownerDocument || end) !== doc) return null;
    try {
      var range = doc.createRange();
      range.setStart(start, Math.min(Number(r[1]) || 0, nodeLength(start)));
      range.setEnd(end, Math.min(Number(r[3]) || 0, nodeLength(end)));
      return range;
    } catch (error) {
      return null;
    }
  }

  function nodeLength(node) {
    return node.nodeType === 3 ? node.data.length : node.childNodes.length;
  }

  function onVisitorSelection(m) {
    var s = state.session;
    if (!s || s.id !== m.session) return;
    s.visitorSelection = Array.isArray(m.ranges) ? m.ranges.slice(0, MAX_RANGES) : [];
    renderVisitorSelection();
  }

  function clearSelectionMarks() {
    var marks = ui.overlay.querySelectorAll(".mark-selection");
    for (var i = 0; i < marks.length; i++) marks[i].parentNode.removeChild(marks[i]);
  }

  // The visitor's text selection as highlight boxes over the replica, and its text below it.
  function renderVisitorSelection() {
    clearSelectionMarks();
    var s = state.session;
    var text = "";
    if (s && s.status !== "ended") {
      for (var i = 0; i < s.visitorSelection.length; i++) {
        var range = rangeFor(s.visitorSelection[i]);
        if (!range) continue;
        text += (text ? " … " : "") + range.toString();
        var rects = range.getClientRects();
        var rangeDoc = range.startContainer.ownerDocument || range.startContainer;
        for (var k = 0; k < rects.length && k < 200; k++) {
          var rect = s.replica.toTopRect(rects[k], rangeDoc);
          if (!rect || rect.width < 1 || rect.height < 1) continue;
          var el = document.createElement("div");
          el.className = "mark-selection mark--visitor";
          el.setAttribute("data-testid", "visitor-selection-mark");
          el.style.left = (rect.left * s.scale) + "px";
          el.style.top = (rect.top * s.scale) + "px";
          el.style.width = (rect.width * s.scale) + "px";
          el.style.height = (rect.height * s.scale) + "px";
          ui.overlay.appendChild(el);
        }
      }
    }
    text = text.replace(/\s+/g, " ").trim();
    ui.visitorSelection.textContent = text ? "The visitor highlighted: “" +
      (text.length > 160 ? text.slice(0, 159) + "…" : text) + "”" : "";
    show(ui.visitorSelection, Boolean(text));
  }

  // The agent's own selection in the replica goes to the visitor (co-highlighting of text).
  // `doc` is the replica document it changed in (each frame has its own selection).
  function onAgentSelection(doc) {
    var s = state.session;
    if (!s || s.status !== "active" || !s.replica) return;
    s.selectionDoc = doc;
    clearTimeout(s.selectionTimer);
    s.selectionTimer = setTimeout(function () {
      if (state.session !== s || !s.replica || !s.replica.doc) return;
      var from = s.selectionDoc || s.replica.doc;
      var sel = from.defaultView ? from.getSelection() : null;
      var ranges = [];
      for (var i = 0; sel && i < sel.rangeCount && ranges.length < MAX_RANGES; i++) {
        var r = sel.getRangeAt(i);
        if (r.collapsed) continue;
        var start = s.replica.idOf(r.startContainer);
        var end = s.replica.idOf(r.endContainer);
        if (start === null || end === null) continue;
        ranges.push([start, r.startOffset, end, r.endOffset]);
      }
      var key = JSON.stringify(ranges);
      if (key === s.lastSelection) return;
      s.lastSelection = key;
      send("selection", { session: s.id, ranges: ranges });
    }, SELECTION_SEND_MS);
  }

  // ------------------------------------------------------------------ areas the agent cannot see

  function noteUnseen(reason) {
    var s = state.session;
    if (!s) return;
    if (reason === "font") {
      s.unseenExtra = s.unseenExtra || {};
      s.unseenExtra.font = 1;
    }
    renderUnseen();
  }

  // "Not visible to you: 1 third-party frame, 2 images not loaded" under the replica.
  function renderUnseen() {
    var s = state.session;
    var el = $("unseen-summary");
    if (!el) return;
    if (!s || !s.replica || s.status === "ended") {
      show(el, false);
      return;
    }
    var counts = {};
    var found = s.replica.unseen();
    for (var i = 0; i < found.length; i++) counts[found[i].reason] = (counts[found[i].reason] || 0) + 1;
    var extra = s.unseenExtra || {};
    for (var key in extra) counts[key] = (counts[key] || 0) + extra[key];
    var parts = [];
    Object.keys(counts).sort().forEach(function (reason) {
      parts.push(counts[reason] + " × " + (UNSEEN_LABELS[reason] || reason));
    });
    el.textContent = parts.length ? "Not visible to you: " + parts.join(", ") : "";
    el.setAttribute("data-reasons", Object.keys(counts).sort().join(","));
    show(el, parts.length > 0);
  }

  // ------------------------------------------------------------------ the agent's input

  // Listeners go on the replica's document (same origin, no scripts run there), and on each
  // nested frame document (events inside a frame never reach the top one): replica.js calls
  // this after each snapshot and for each nested document it builds. The same rules apply in
  // every document.
  function attachReplicaListeners(doc, info) {
    var s = state.session;
    if (!s || s.listening.has(doc)) return;
    s.listening.add(doc);
    var nested = Boolean(info && info.nested);
    var view = doc.defaultView;
    var opts = { capture: true };
    function on(target, type, fn) {
      target.addEventListener(type, fn, opts);
      // A nested document is dropped with its frame (and the frame with the replica): only
      // the top document's listeners need undoing, and a frame that navigates often would
      // otherwise grow this list without bound.
      if (!nested) s.cleanup.push(function () { target.removeEventListener(type, fn, opts); });
    }
    on(doc, "mousemove", function (event) { onAgentMove(event); });
    on(doc, "click", function (event) { onAgentClick(event); });
    on(doc, "auxclick", function (event) { event.preventDefault(); });
    on(doc, "submit", function (event) { event.preventDefault(); });
    on(doc, "dragstart", function (event) { event.preventDefault(); });
    on(doc, "beforeinput", function (event) { if (!canAct(realTarget(event))) event.preventDefault(); });
    on(doc, "keydown", function (event) { onAgentKey(event); });
    on(doc, "mousedown", function (event) {
      // A view_only select must not open (its choice would change replica state).
      var target = realTarget(event);
      if (!canAct(target) && isSelect(target)) event.preventDefault();
    });
    on(doc, "input", function (event) { onAgentInput(event); });
    on(doc, "change", function (event) { onAgentInput(event); });
    on(doc, "scroll", function (event) { onAgentScroll(event); });
    // Stylesheets and images change box sizes: move the visitor's pointer with them.
    on(doc, "load", function () { renderVisitorPointer(); });
    if (view) on(view, "scroll", function () { renderVisitorPointer(); renderVisitorSelection(); });
    on(doc, "selectionchange", function () { onAgentSelection(doc); });
  }

  // The element the agent really acted on: events from inside an open shadow root reach the
  // document retargeted to its host.
  function realTarget(event) {
    var path = typeof event.composedPath === "function" ? event.composedPath() : null;
    return path && path.length ? path[0] : event.target;
  }

  function isSelect(el) {
    return el && el.nodeType === 1 && el.localName === "select";
  }

  function isField(el) {
    return el && el.nodeType === 1 && (el.localName === "input" || el.localName === "textarea" ||
      el.localName === "select");
  }

  // May the agent change this element? Only in shared mode, never a masked field.
  function canAct(el) {
    var s = state.session;
    if (!s || s.mode !== "shared" || s.status !== "active") return false;
    return !(el && el.nodeType === 1 && el.hasAttribute(Replica.MASKED_ATTR));
  }

  function onAgentKey(event) {
    var target = realTarget(event);
    if (canAct(target)) return;
    // Keys that change a field without a beforeinput event: select navigation, space/enter on
    // checkboxes, radio arrows.
    if (isField(target) && !/^(Tab|Shift|Control|Alt|Meta|Escape)$/.test(event.key)) {
      if (isSelect(target) || target.type === "checkbox" || target.type === "radio" ||
          event.key === "Enter") {
        event.preventDefault();
      }
    }
  }

  function fractionIn(el, clientX, clientY) {
    var rect = el.getBoundingClientRect();
    return {
      x: rect.width > 0 ? round4(clamp01((clientX - rect.left) / rect.width)) : 0.5,
      y: rect.height > 0 ? round4(clamp01((clientY - rect.top) / rect.height)) : 0.5
    };
  }

  function round4(v) {
    return Math.round(v * 10000) / 10000;
  }

  function targetOf(event) {
    var s = state.session;
    if (!s || !s.replica) return null;
    var target = realTarget(event);
    var hit = s.replica.closestId(target);
    if (!hit || hit.node.nodeType !== 1) {
      // The root element of the document the event happened in (a nested frame's, maybe).
      var doc = target && (target.nodeType === 9 ? target : target.ownerDocument);
      var root = (doc || s.replica.doc) && (doc || s.replica.doc).documentElement;
      hit = root ? s.replica.closestId(root) : null;
    }
    return hit;
  }

  function onAgentMove(event) {
    var s = state.session;
    if (!s || s.status !== "active") return;
    var hit = targetOf(event);
    if (!hit) return;
    var f = fractionIn(hit.node, event.clientX, event.clientY);
    s.pendingPointer = { session: s.id, id: hit.id, x: f.x, y: f.y };
    flushSoon();
  }

  // One pointer and one scroll per target per animation frame, at most.
  function flushSoon() {
    var s = state.session;
    if (!s || s.rafPending) return;
    s.rafPending = true;
    requestAnimationFrame(function () {
      if (state.session !== s) return;
      s.rafPending = false;
      if (s.pendingPointer) {
        send("pointer", s.pendingPointer);
        s.pendingPointer = null;
      }
      s.pendingScrolls.forEach(function (msg) { send("scroll", msg); });
      s.pendingScrolls.clear();
    });
  }

  function onAgentClick(event) {
    var s = state.session;
    var target = realTarget(event);
    var acting = canAct(target);
    var isToggle = isField(target) && (target.type === "checkbox" || target.type === "radio");
    // Links never navigate the replica (the visitor's page navigates, then a snapshot
    // follows); in view_only nothing the agent clicks may change the replica's state.
    if (!acting || !isToggle) event.preventDefault();
    if (event.ctrlKey && acting && isToggle) event.preventDefault();
    if (!s || s.status !== "active" || event.button !== 0) return;
    var hit = targetOf(event);
    if (!hit) return;
    var f = fractionIn(hit.node, event.clientX, event.clientY);
    var kind = event.ctrlKey ? "wiggle" : "circle";
    send("highlight", { session: s.id, id: hit.id, kind: kind, x: f.x, y: f.y });
    mark(hit.id, f.x, f.y, kind, "agent");
    // Ctrl+click is a highlight gesture only; a plain click in shared mode also clicks.
    if (s.mode === "shared" && !event.ctrlKey && acting) {
      send("act.click", { session: s.id, id: hit.id, x: f.x, y: f.y });
    }
  }

  function onAgentInput(event) {
    var s = state.session;
    var el = realTarget(event);
    if (!s || !isField(el) || !s.replica) return;
    if (!canAct(el)) return;
    var id = s.replica.idOf(el);
    if (id === null) return;
    if (el.type === "checkbox" || el.type === "radio") {
      if (event.type !== "change") return;
      send("act.input", { session: s.id, id: id, checked: Boolean(el.checked) });
      return;
    }
    // Text fields send on every input; selects on change (input fires too: send once).
    if (isSelect(el) ? event.type !== "change" : event.type !== "input") return;
    send("act.input", { session: s.id, id: id, value: String(el.value) });
  }

  function onAgentScroll(event) {
    var s = state.session;
    if (!s || s.status !== "active" || !s.replica || !event.target) return;
    var target = event.target;
    // The document scrolled (the top one or a nested frame's) is named by its own id.
    var doc = target.nodeType === 9 ? target : target.ownerDocument;
    var id;
    var pos;
    var key;
    if (target === doc || target === doc.documentElement || target === doc.scrollingElement) {
      id = s.replica.idOf(doc);
      key = doc.defaultView;
      if (!key) return;
      pos = scrollPos(key);
    } else if (target.nodeType === 1) {
      id = s.replica.idOf(target);
      key = target;
      pos = scrollPos(target);
    }
    if (id === null || id === undefined || !key) return;
    var remote = s.remoteScroll.get(key);
    if (remote && Math.abs(remote.x - pos.x) < 1 && Math.abs(remote.y - pos.y) < 1) {
      return; // the echo of the visitor's own scroll
    }
    s.remoteScroll.delete(key);
    s.pendingScrolls.set(id, { session: s.id, id: id, x: Math.round(pos.x), y: Math.round(pos.y) });
    flushSoon();
  }

  // ------------------------------------------------------------------ start

  loadProtocol();
  checkMe();
})();
