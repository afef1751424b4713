/*
 * workspace/core.js: the agent workspace's shared ground. The workspace (sign-in, the agent
 * WebSocket /ws/agent, conversations and chat, invites, and the CoBrowse widget around the
 * replica of replica.js) is split into the parts of this folder. Each part is one function run
 * by its own deferred <script src> in agent.html, in the order listed there: this one first,
 * start.js last. They join through one object, window.CobrowseWorkspace (`workspace` in each
 * part): a part puts on it what the others call, and calls another part through it only when
 * it runs, never while loading (a later part is not there yet). tests/workspace/test_parts.py
 * checks that each workspace.name a part uses is put there by exactly one part.
 *
 * Every part: owns its piece of the workspace's UI state; must not touch the replica's DOM
 * except through CobrowseReplica (it only reads boxes and listens for the agent's own pointer,
 * clicks, typing and scrolling), send act.* outside shared mode, or put wire text anywhere but
 * textContent/value. Every message the agent sends goes through workspace.send (socket.js).
 *
 * Owns: the namespace, the page's elements (`ui`), the shared `state`, the mode labels, and the
 * error bar (showError, hideError).
 * Must not: send anything or call another part: everything else loads after it.
 */
(function (workspace) {
  "use strict";

  var ERROR_SHOW_MS = 10000;
  var MODE_LABELS = { view_only: "View only", shared: "Shared" };

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

  // Used by the other parts (through workspace, when they run).
  workspace.$ = $;
  workspace.show = show;
  workspace.ui = ui;
  workspace.state = state;
  workspace.Replica = Replica;
  workspace.MODE_LABELS = MODE_LABELS;
  workspace.showError = showError;
  workspace.hideError = hideError;
})((window.CobrowseWorkspace = {}));
