/*
 * workspace/conversations.js: the conversation list, the open conversation's chat log and
 * composer, ending a conversation, and its transcript panel.
 *
 * Owns: state.conversations and state.open, the chat log, the transcript panel.
 * Must not: show chat text anywhere but textContent, or record anything about invites and
 * sessions (the transcript is chat only).
 */
(function (workspace) {
  "use strict";

  var show = workspace.show;
  var ui = workspace.ui;
  var state = workspace.state;

  // ------------------------------------------------------------------ conversations

  // The relay lists this many (relay.core.MAX_CONVERSATIONS_LISTED); a merged row keeps it so.
  var MAX_CONVERSATIONS = 200;

  function findConversation(id) {
    for (var i = 0; i < state.conversations.length; i++) {
      if (state.conversations[i] && state.conversations[i].id === id) return state.conversations[i];
    }
    return null;
  }

  // conversation.updated: one row changed or is new (the whole list comes only when the socket
  // opens). It takes the place the relay's listing would give it: newest last_at first, and
  // of equal ones the newest conversation first (a new row goes before them).
  function mergeConversation(row) {
    if (!row || typeof row.id !== "string") return;
    var list = state.conversations;
    var at = -1;
    for (var i = 0; i < list.length; i++) {
      if (list[i] && list[i].id === row.id) { at = i; break; }
    }
    var old = at >= 0 ? list.splice(at, 1)[0] : null;
    if (!old || old.last_at !== row.last_at) {
      at = list.length;
      for (var j = 0; j < list.length; j++) {
        if (!list[j] || (list[j].last_at || 0) <= (row.last_at || 0)) { at = j; break; }
      }
    }
    list.splice(at, 0, row);
    if (list.length > MAX_CONVERSATIONS) list.length = MAX_CONVERSATIONS;
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
    workspace.renderInvite();
    workspace.send("conversation.open", { conversation: id });
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
    workspace.updateCobrowseButton();
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
    if (workspace.send("chat.send", { conversation: state.open, text: text.slice(0, 4000) })) {
      ui.chatInput.value = "";
    } else {
      workspace.showError({ code: "offline", message: "Not connected: the message was not sent." });
    }
  });

  // ------------------------------------------------------------------ end and transcript

  ui.conversationClose.addEventListener("click", function () {
    if (state.open) workspace.send("conversation.close", { conversation: state.open });
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
            throw new Error(workspace.errorMessage(body, "The transcript could not be loaded (HTTP " + r.status + ")."));
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
        workspace.showError({ code: "transcript", message: error.message });
      });
  }
  ui.transcriptOpen.addEventListener("click", openTranscript);
  ui.transcriptClose.addEventListener("click", function () { show(ui.transcript, false); });

  // Used by the other parts (through workspace, when they run).
  workspace.findConversation = findConversation;
  workspace.mergeConversation = mergeConversation;
  workspace.renderConversations = renderConversations;
  workspace.renderConversationHead = renderConversationHead;
  workspace.appendChat = appendChat;
})(window.CobrowseWorkspace);
