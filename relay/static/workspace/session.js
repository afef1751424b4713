/*
 * workspace/session.js: the CoBrowse widget. A session's start and end, its status and mode,
 * asking for shared control, fullscreen, and the address bar (act.navigate).
 *
 * Owns: state.session's life: startSession creates the replica frame (CobrowseReplica) and
 * closeSession removes it with every listener in session.cleanup.
 * Must not: draw over or read the replica (replica-view.js, selections.js, input.js do), or
 * navigate outside shared mode or the visitor's origin.
 */
(function (workspace) {
  "use strict";

  var show = workspace.show;
  var ui = workspace.ui;
  var state = workspace.state;
  var Replica = workspace.Replica;
  var MODE_LABELS = workspace.MODE_LABELS;

  var ENDED_REMOVE_MS = 1500;
  var STATUS_LABELS = {
    waiting: "Waiting for the visitor's page",
    active: "Active",
    reconnecting: "Reconnecting…",
    ended: "Ended"
  };
  var ENDED_BY = { visitor: "the visitor", agent: "you", relay: "the server" };

  // ------------------------------------------------------------------ session widget

  function setStatus(s) {
    if (!state.session) return;
    state.session.status = s;
    ui.status.setAttribute("data-status", s);
    ui.status.textContent = STATUS_LABELS[s] || s;
    ui.widget.setAttribute("data-status", s);
    renderUpgrade();
    workspace.updateCobrowseButton();
  }

  // The brand's fonts, images and stylesheets come through the relay's resource proxy (the
  // brand sends no CORS headers for its fonts, and the workspace's CSP lets the replica load
  // from our own origin alone); the relay fetches only from the session's brand origins.
  function resourceUrl(session) {
    var base = location.origin + "/agent/resource/" + encodeURIComponent(session) + "/";
    return function (kind, url) {
      return base + kind + "?url=" + encodeURIComponent(url);
    };
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
      workspace.renderInvite();
    }
    ui.body.classList.add("has-session");
    var conv = workspace.findConversation(m.conversation);
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
      onDocument: workspace.attachReplicaListeners,
      onUnseen: function (node, reason) { workspace.noteUnseen(reason); },
      warn: function (text) { console.warn("cobrowse:", text); },
      resourceUrl: resourceUrl(m.session)
    });
    setStatus("waiting");
    workspace.fit();
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
    if (s && s.mode === "view_only" && s.status !== "ended") workspace.send("session.upgrade", { session: s.id });
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
    workspace.clearMarks();
    show(ui.visitorPointer, false);
    if (hide) {
      if (document.fullscreenElement === ui.widget && document.exitFullscreen) {
        document.exitFullscreen().catch(function () {});
      }
      state.session = null;
      show(ui.widget, false);
      ui.body.classList.remove("has-session");
      workspace.updateCobrowseButton();
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
    workspace.clearSelectionMarks();
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
    if (workspace.sessionLive()) workspace.send("session.end", { session: state.session.id });
  });
  ui.widgetClose.addEventListener("click", function () { closeSession(true); });

  ui.fullscreen.addEventListener("click", function () {
    if (document.fullscreenElement === ui.widget) {
      document.exitFullscreen().catch(function () {});
    } else if (ui.widget.requestFullscreen) {
      ui.widget.requestFullscreen().catch(function (error) {
        workspace.showError({ code: "fullscreen", message: "Fullscreen is not available: " + error.message });
      });
    }
  });
  document.addEventListener("fullscreenchange", function () {
    var on = document.fullscreenElement === ui.widget;
    ui.fullscreen.textContent = on ? "Exit fullscreen" : "Fullscreen";
    ui.fullscreen.setAttribute("aria-pressed", on ? "true" : "false");
    workspace.fit();
  });

  ui.addressForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var s = state.session;
    if (!s || s.mode !== "shared" || s.status === "ended") return;
    var url;
    try {
      url = new URL(ui.address.value.trim(), s.url || undefined);
    } catch (error) {
      workspace.showError({ code: "invalid", message: "That is not a web address." });
      return;
    }
    var current = null;
    try { current = new URL(s.url); } catch (error) { current = null; }
    if (!/^https?:$/.test(url.protocol) || (current && url.origin !== current.origin)) {
      workspace.showError({ code: "invalid", message: "You can only navigate within the visitor's site (" +
        (current ? current.origin : "same origin") + ")." });
      return;
    }
    workspace.send("act.navigate", { session: s.id, url: url.href });
  });

  // Used by the other parts (through workspace, when they run).
  workspace.setStatus = setStatus;
  workspace.startSession = startSession;
  workspace.renderUpgrade = renderUpgrade;
  workspace.closeSession = closeSession;
  workspace.endSession = endSession;
})(window.CobrowseWorkspace);
