/*
 * workspace/replica-view.js: what the agent sees of the visitor's page. Snapshots and
 * mutations applied to the replica, the replica scaled to fit the widget, the visitor's pointer,
 * clicks, highlights and scrolls, and the summary of areas the agent cannot see.
 *
 * Owns: the overlay's marks and pointer, the scale, pointFor/boxOf (node id plus fractions of
 * its box to overlay pixels).
 * Must not: change the replica except through CobrowseReplica (applySnapshot, applyMutations,
 * scrollNode; wiggle only animates a node, from this script), or draw inside the replica frame:
 * marks and the pointer go on the overlay above it.
 */
(function (workspace) {
  "use strict";

  var $ = workspace.$;
  var show = workspace.show;
  var ui = workspace.ui;
  var state = workspace.state;

  var MAX_SCALE = 2;
  // Reasons from replica.unseen() (placeholder labels and UNSEEN_REASONS keys), and fonts.
  var UNSEEN_LABELS = {
    "third-party iframe": "third-party frame",
    iframe: "frame",
    "plugin object": "plugin object",
    canvas: "canvas",
    image: "image not loaded",
    blob: "page-made image not captured",
    shadow: "closed shadow root",
    font: "font not loaded"
  };

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
    workspace.setStatus("active");
    clearMarks();
    s.visitorSelection = [];
    s.lastSelection = "[]";
    s.unseenExtra = {};
    workspace.renderVisitorSelection();
    renderVisitorPointer();
    renderUnseen();
  }

  function onMutations(m) {
    var s = state.session;
    if (!s || s.id !== m.session || !s.replica || !s.built) return;
    s.replica.applyMutations(m);
    renderVisitorPointer();
    workspace.renderVisitorSelection();
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

  // The visitor's pointer, and the page's :hover styles where it is (the node it names is the
  // deepest the replica has under it: replica.setHover).
  function renderVisitorPointer() {
    var s = state.session;
    if (!s || !s.visitorPointer || s.status === "ended") {
      if (s && s.replica) s.replica.setHover(null);
      show(ui.visitorPointer, false);
      return;
    }
    var p = pointFor(s.visitorPointer.id, s.visitorPointer.x, s.visitorPointer.y);
    if (s.replica) s.replica.setHover(s.replica.node(s.visitorPointer.id));
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

  // Used by the other parts (through workspace, when they run).
  workspace.onSnapshot = onSnapshot;
  workspace.onMutations = onMutations;
  workspace.onViewport = onViewport;
  workspace.fit = fit;
  workspace.clamp01 = clamp01;
  workspace.onVisitorPointer = onVisitorPointer;
  workspace.renderVisitorPointer = renderVisitorPointer;
  workspace.onVisitorMark = onVisitorMark;
  workspace.mark = mark;
  workspace.clearMarks = clearMarks;
  workspace.onVisitorScroll = onVisitorScroll;
  workspace.scrollPos = scrollPos;
  workspace.noteUnseen = noteUnseen;
})(window.CobrowseWorkspace);
