/*
 * workspace/invites.js: the CoBrowse button and its mode menu, and the invite bar (the pending
 * invite or request for shared control, its countdown, cancelling it).
 *
 * Owns: the menu, the invite bar and its expiry timer; renders state.invite.
 * Must not: decide whether an invite is allowed (the relay enforces one invite and one session
 * per agent; its refusal arrives as an error), or start a session (session.started does).
 */
(function (workspace) {
  "use strict";

  var $ = workspace.$;
  var show = workspace.show;
  var ui = workspace.ui;
  var state = workspace.state;
  var MODE_LABELS = workspace.MODE_LABELS;

  var INVITE_LABELS = {
    pending: "Invite sent: waiting for the visitor to accept",
    accepted: "The visitor accepted: starting the session",
    declined: "The visitor declined the invite",
    cancelled: "Invite cancelled",
    expired: "The invite expired"
  };
  var UPGRADE_LABELS = {
    pending: "Asked the visitor for shared control: waiting for the answer",
    accepted: "The visitor accepted shared control",
    declined: "The visitor declined shared control: still view only",
    cancelled: "Request for shared control withdrawn",
    expired: "The request for shared control expired: still view only"
  };

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
    var conv = state.open ? workspace.findConversation(state.open) : null;
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
    workspace.send("invite.send", { conversation: state.open, mode: item.getAttribute("data-mode") });
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
      var conv = workspace.findConversation(inv.conversation);
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
    if (invitePending()) workspace.send("invite.cancel", { invite: state.invite.invite });
  });

  // Used by the other parts (through workspace, when they run).
  workspace.sessionLive = sessionLive;
  workspace.updateCobrowseButton = updateCobrowseButton;
  workspace.renderInvite = renderInvite;
})(window.CobrowseWorkspace);
