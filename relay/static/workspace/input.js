/*
 * workspace/input.js: the agent's input in the replica. Listeners on each replica document turn
 * the agent's pointer, clicks, typing and scrolling into pointer, highlight, scroll and act.*
 * messages.
 *
 * Owns: attachReplicaListeners and the rules of what the agent may change (canAct).
 * Must not: send act.* outside shared mode or for a masked field, or let a click, key, submit
 * or drag change the replica when the agent may not act (the visitor's page changes, then the
 * replica follows).
 */
(function (workspace) {
  "use strict";

  var state = workspace.state;
  var Replica = workspace.Replica;

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
    on(doc, "load", function () { workspace.renderVisitorPointer(); });
    if (view) on(view, "scroll", function () { workspace.renderVisitorPointer(); workspace.renderVisitorSelection(); });
    on(doc, "selectionchange", function () { workspace.onAgentSelection(doc); });
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
      x: rect.width > 0 ? round4(workspace.clamp01((clientX - rect.left) / rect.width)) : 0.5,
      y: rect.height > 0 ? round4(workspace.clamp01((clientY - rect.top) / rect.height)) : 0.5
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
        workspace.send("pointer", s.pendingPointer);
        s.pendingPointer = null;
      }
      s.pendingScrolls.forEach(function (msg) { workspace.send("scroll", msg); });
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
    workspace.send("highlight", { session: s.id, id: hit.id, kind: kind, x: f.x, y: f.y });
    workspace.mark(hit.id, f.x, f.y, kind, "agent");
    // Ctrl+click is a highlight gesture only; a plain click in shared mode also clicks.
    if (s.mode === "shared" && !event.ctrlKey && acting) {
      workspace.send("act.click", { session: s.id, id: hit.id, x: f.x, y: f.y });
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
      workspace.send("act.input", { session: s.id, id: id, checked: Boolean(el.checked) });
      return;
    }
    // Text fields send on every input; selects on change (input fires too: send once).
    if (isSelect(el) ? event.type !== "change" : event.type !== "input") return;
    workspace.send("act.input", { session: s.id, id: id, value: String(el.value) });
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
      pos = workspace.scrollPos(key);
    } else if (target.nodeType === 1) {
      id = s.replica.idOf(target);
      key = target;
      pos = workspace.scrollPos(target);
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

  // Used by the other parts (through workspace, when they run).
  workspace.attachReplicaListeners = attachReplicaListeners;
})(window.CobrowseWorkspace);
