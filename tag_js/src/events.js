/*
 * events.js: what the visitor does, as presence events for the agent.
 * Owns: the capture listeners of the top window and each same-origin frame (pointer, click,
 * scroll, resize, form, focus, load, selection, pagehide), and node-relative positions.
 * Must not: name a node the replica lacks, report a masked field's value or selection, or
 * cancel or change a page event (listeners are passive).
 */

// ------------------------------------------------------------ visitor events
var lastPointer = null;
var pointerQueued = false;
var viewportQueued = false;
var lastSel = '';

function ready() { return !!(session && cap && cap.ready && !session.suspended); }
function knownAncestor(node) {
  for (var n = node; n; n = up(n)) if (alive(n)) return n;
  return null;
}
// The node's box in its own frame's viewport (event coordinates of that frame); a document's
// is that viewport, as the workspace reads a pointer on it...
function localBox(node) {
  var t = nodeType(node);
  if (t === 9) { var v = viewOf(node); return { left: 0, top: 0, width: innerWidthOf(v), height: innerHeightOf(v) }; }
  if (t === 11) return rectOf(hostOf(node));
  if (t === 1) return rectOf(node);
  var r = rangeCreate(ownerDocOf(node));
  rangeSelect(r, node);
  return box(rangeRect(r));
}
// ...and the offset of that frame's viewport in the top page's (where the tag's UI draws).
function frameOffset(node) {
  var x = 0;
  var y = 0;
  var doc = nodeType(node) === 9 ? node : ownerDocOf(node);
  for (var k = 0; doc && doc !== D && k < 20; k++) {
    var fe = null;
    try { fe = frameElementOf(viewOf(doc)); } catch (e) { fe = null; }
    if (!fe) break;
    var b = rectOf(fe);
    x += b.left + clientLeftOf(fe);
    y += b.top + clientTopOf(fe);
    doc = ownerDocOf(fe);
  }
  return { x: x, y: y };
}
function fractions(node, cx, cy) {
  var b = localBox(node);
  return { x: clamp01(b.width ? (cx - b.left) / b.width : 0), y: clamp01(b.height ? (cy - b.top) / b.height : 0) };
}
// The real target, inside open shadow roots (events are retargeted to the host outside).
function targetOf(ev) {
  var t = evTarget(ev);
  try { var path = composedPath(ev); if (path.length) t = path[0]; } catch (e) { /* keep target */ }
  return t;
}
function fromPage(ev) {
  var t = evTarget(ev);
  return t !== host && !(host && t && nodeType(t) === 1 && contains(host, t));
}

var onPointerMove = guard(function (ev) {
  if (!ready() || !fromPage(ev)) return;
  lastPointer = { target: targetOf(ev), x: clientXOf(ev), y: clientYOf(ev) };
  queuePointer();
});
// The mouse left the page's elements (out of the window, onto the tag's own UI): it is on the
// document now, and the replica's :hover goes with it (replica.setHover). Not a finger: after
// a tap the browser keeps :hover where it was.
var onPointerOut = guard(function (ev) {
  var to = relatedOf(ev);
  if ((to && to !== host) || pointerTypeOf(ev) !== 'mouse' || !ready() || !fromPage(ev)) return;
  lastPointer = { target: ownerDocOf(evTarget(ev)), x: clientXOf(ev), y: clientYOf(ev) };
  queuePointer();
});
function queuePointer() {
  if (pointerQueued) return;
  pointerQueued = true;
  frame(function () {
    pointerQueued = false;
    var p = lastPointer;
    var node = p && ready() && knownAncestor(p.target);
    if (!node) return;
    var f = fractions(node, p.x, p.y);
    send('pointer', { session: session.id, id: ids.get(node), x: f.x, y: f.y });
  });
}
var onClick = guard(function (ev) {
  // Only the visitor's own clicks: the agent's act.click dispatches untrusted events.
  if (!ev.isTrusted || !ready() || !fromPage(ev)) return;
  var node = knownAncestor(targetOf(ev));
  if (!node) return;
  var f = fractions(node, clientXOf(ev), clientYOf(ev));
  send('click', { session: session.id, id: ids.get(node), x: f.x, y: f.y });
});
var onScroll = guard(function (ev) {
  var t = targetOf(ev);
  if (t && nodeType(t) !== 1 && nodeType(t) !== 9) t = evTarget(ev); // a window
  if (t && t.document) t = t.document;
  if (t && nodeType(t) === 1 && t === scrollingOf(ownerDocOf(t))) t = ownerDocOf(t);
  if (agentPointer) repositionAgentPointer();
  if (agentSel) drawSelection();
  if (!ready() || !alive(t)) return;
  cap.scrolls.set(t, 1);
  schedule(cap);
});
var remoteScrolled = null; // {target, x, y, at}: a scroll the agent asked for (not echoed back)
// ifScrolled: only an offset other than 0,0 (the replica starts at the top).
function sendScroll(t, ifScrolled) {
  var x;
  var y;
  if (nodeType(t) === 9) { var v = viewOf(t); x = scrollXOf(v); y = scrollYOf(v); } else { x = scrollLeftOf(t); y = scrollTopOf(t); }
  if (ifScrolled && !x && !y) return;
  var rs = remoteScrolled;
  if (rs && rs.target === t && Mth.abs(rs.x - x) < 2 && Mth.abs(rs.y - y) < 2 && now() - rs.at < 1000) return;
  if (!alive(t)) return;
  send('scroll', { session: session.id, id: ids.get(t), x: Mth.round(x), y: Mth.round(y) });
}
var onResize = guard(function () {
  if (agentPointer) repositionAgentPointer();
  if (agentSel) drawSelection();
  if (!ready() || viewportQueued) return;
  viewportQueued = true;
  frame(function () {
    viewportQueued = false;
    if (!ready()) return;
    var vp = viewport();
    send('viewport', { session: session.id, w: vp.w, h: vp.h, dpr: vp.dpr });
  });
});
var onFormEvent = guard(function (ev) {
  var t = targetOf(ev);
  if (!t || t === host || !isField(t)) return;
  fieldMask(t); // a field seen as a password stays masked after its type changes
  if (!cap || !alive(t)) return;
  cap.values.add(t);
  var name = isInput(t) ? inputName(t) : '';
  if (name && typeOf(t) === 'radio') {
    // Checking a radio silently unchecks the rest of its group: no event fires for those.
    var scope = inputForm(t) || ownerDocOf(t);
    var group = qsa(nodeType(scope) === 9 ? docEl(scope) : scope, 'input[type=radio]');
    for (var i = 0, n = listLength(group); i < n; i++) if (inputName(group[i]) === name) cap.values.add(group[i]);
  } else if (tagOf(t) === 'select') {
    var options = selectOptions(t);
    for (var k = 0, no = optionsLength(options); k < no; k++) cap.values.add(options[k]);
  }
  if (cap.ready) schedule(cap);
});
// The field the visitor is in gets an outline on the agent's side, as the agent's does here.
var onFocus = guard(function (ev) {
  var t = targetOf(ev);
  if (ready()) schedule(cap); // the replica's :focus (capture.js focusState)
  if (!ready() || !t || nodeType(t) !== 1 || !(isField(t) || editableOf(t)) || !alive(t)) return;
  send('highlight', { session: session.id, id: ids.get(t), kind: 'outline', x: 0.5, y: 0.5 });
});
var onBlur = guard(function () { if (ready()) schedule(cap); });
// A same-origin frame navigated: its new document replaces the old one in the replica.
var onLoad = guard(function (ev) {
  var t = evTarget(ev);
  if (cap && cap.ready && t && nodeType(t) === 1 && isFrameEl(t) && alive(t)) {
    cap.reframe.add(t);
    schedule(cap);
  }
});
var onSelection = guard(function () {
  if (!ready()) return;
  cap.sel = true;
  schedule(cap);
});
// The visitor's text selection as [start id, offset, end id, offset]; a range that touches
// masked content is left out (its offsets would tell the length of the secret).
function selectionRanges() {
  var out = [];
  cap.watched.forEach(function (doc) {
    if (nodeType(doc) !== 9 || out.length >= 16) return;
    var sel = null;
    try { sel = getSelection(doc); } catch (e) { sel = null; }
    var n = sel ? selCount(sel) : 0;
    for (var i = 0; i < n && out.length < 16; i++) {
      var r = selRange(sel, i);
      var sc = rStartC(r);
      var ec = rEndC(r);
      if (sc === ec && rStartO(r) === rEndO(r)) continue;
      if (!alive(sc) || !alive(ec) || rangeMasked(sc) || rangeMasked(ec)) continue;
      push(out, [ids.get(sc), rStartO(r), ids.get(ec), rEndO(r)]);
    }
  });
  return out;
}
function rangeMasked(n) {
  var el = nodeType(n) === 1 ? n : up(n);
  return !!(el && (containerMask(el) || (isField(el) && fieldMask(el))));
}
function sendSelection() {
  var ranges = selectionRanges();
  var key = encode(ranges);
  if (key === lastSel || (!lastSel && !ranges.length)) return;
  lastSel = key;
  send('selection', { session: session.id, ranges: ranges });
}
var onPageHide = guard(function () {
  // The page is going away (navigation, reload, tab closed): send what is pending now.
  if (cap && cap.ready && (cap.records.length || cap.values.size)) flush(cap);
});

var CAPTURE = { capture: true, passive: true };
var hooked = new WeakMapCtor();
// The capture listeners of the top window and of every same-origin frame's window.
function hookWindow(win) {
  // Keyed by document: a frame's WindowProxy stays the same object across its navigations,
  // but its listeners belong to the Window of the document that was current.
  var doc = win && win.document;
  if (!doc || hooked.has(doc)) return;
  hooked.set(doc, 1);
  listen(win, 'pointermove', onPointerMove, CAPTURE);
  listen(win, 'pointerout', onPointerOut, CAPTURE);
  listen(win, 'click', onClick, CAPTURE);
  listen(win, 'scroll', onScroll, CAPTURE);
  listen(win, 'input', onFormEvent, CAPTURE);
  listen(win, 'change', onFormEvent, CAPTURE);
  listen(win, 'focusin', onFocus, CAPTURE);
  listen(win, 'focusout', onBlur, CAPTURE);
  // load does not reach the window from an element (HTML's event path stops at the document).
  listen(doc, 'load', onLoad, CAPTURE);
  listen(doc, 'selectionchange', onSelection, CAPTURE);
}
hookWindow(W);
listen(W, 'resize', onResize, { passive: true });
listen(W, 'pagehide', onPageHide, CAPTURE);
