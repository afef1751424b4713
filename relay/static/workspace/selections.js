/*
 * workspace/selections.js: text selections both ways. The visitor's ranges as highlight marks
 * over the replica with their text below it; the agent's own selection sent as `selection`.
 *
 * Owns: the selection marks, the visitor-selection line, the agent's selection timer.
 * Must not: change a selection or node in the replica (it only reads ranges and boxes).
 */
(function (workspace) {
  "use strict";

  var show = workspace.show;
  var ui = workspace.ui;
  var state = workspace.state;

  var SELECTION_SEND_MS = 150;
  var MAX_RANGES = 16;

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
      workspace.send("selection", { session: s.id, ranges: ranges });
    }, SELECTION_SEND_MS);
  }

  // Used by the other parts (through workspace, when they run).
  workspace.onVisitorSelection = onVisitorSelection;
  workspace.clearSelectionMarks = clearSelectionMarks;
  workspace.renderVisitorSelection = renderVisitorSelection;
  workspace.onAgentSelection = onAgentSelection;
})(window.CobrowseWorkspace);
