/*
 * actions.js: the agent's presence and actions on the page.
 * Owns: the agent's pointer, selection and highlight, remote scroll, and act.click / act.input /
 * act.navigate as real events in the node's own realm.
 * Must not: act on a node the replica does not hold or on the tag's own UI, write into a masked
 * field, or navigate off the page's origin.
 */

// ------------------------------------------------------------ agent presence and actions
var agentPointer = null; // {id, x, y}
function showAgentPointer(id, x, y) {
  agentPointer = { id: id, x: x, y: y };
  repositionAgentPointer();
}
// x, y: in the top page's viewport (for the UI); lx, ly: in the node's own frame (for events).
function pointAt(id, x, y) {
  var node = nodeFor(id);
  if (!node) return null;
  var b = localBox(node);
  var o = frameOffset(node);
  var lx = b.left + x * b.width;
  var ly = b.top + y * b.height;
  return { node: node, x: lx + o.x, y: ly + o.y, lx: lx, ly: ly };
}
function globalBox(node) {
  var b = localBox(node);
  var o = frameOffset(node);
  return { left: b.left + o.x, top: b.top + o.y, width: b.width, height: b.height };
}
// The agent's text selection, drawn as highlight boxes over the visitor's page.
var agentSel = null;
function showSelection(m) {
  agentSel = m.ranges.length ? m.ranges : null;
  drawSelection();
}
function drawSelection() {
  if (!ui) return;
  while (firstChild(ui.sel)) removeChild(ui.sel, firstChild(ui.sel));
  if (!agentSel) return;
  for (var i = 0; i < agentSel.length; i++) {
    var q = agentSel[i];
    var a = isArr(q) && q.length === 4 && isInt(q[0]) && isInt(q[2]) ? nodeFor(q[0]) : null;
    var b = a && nodeFor(q[2]);
    if (!b || ownerDocOf(a) !== ownerDocOf(b) || nodeType(a) === 9 || rangeMasked(a) || rangeMasked(b)) continue;
    var r = rangeCreate(ownerDocOf(a));
    try {
      rSetStart(r, a, Mth.min(q[1] >>> 0, nodeLen(a)));
      rSetEnd(r, b, Mth.min(q[3] >>> 0, nodeLen(b)));
    } catch (e) { continue; }
    var o = frameOffset(a);
    var rects = rRects(r);
    for (var k = 0, nr = rectsLength(rects); k < nr && k < 500; k++) {
      var rb = box(rects[k]);
      var sel = el('div', 'cb-selection', 'selrect');
      css(sel, 'transform', 'translate(' + (rb.left + o.x) + 'px,' + (rb.top + o.y) + 'px)');
      css(sel, 'width', rb.width + 'px');
      css(sel, 'height', rb.height + 'px');
      appendChild(ui.sel, sel);
    }
  }
}
function nodeLen(n) { return nodeType(n) === 1 || nodeType(n) === 11 ? listLength(childCount(n)) : (nodeValue(n) || '').length; }
function repositionAgentPointer() {
  if (!ui || !agentPointer) return;
  var p = pointAt(agentPointer.id, agentPointer.x, agentPointer.y);
  if (!p) { ui.pointer.hidden = true; return; }
  ui.pointer.hidden = false;
  css(ui.pointer, 'transform', 'translate(' + p.x + 'px,' + p.y + 'px)');
}
function clickCircle(x, y) {
  if (!ui) return;
  var c = el('div', 'cb-click-circle', 'circle');
  css(c, 'transform', 'translate(' + x + 'px,' + y + 'px)');
  appendChild(ui.layer, c);
  try {
    animate(c, [{ opacity: 0.9, scale: 0.3 }, { opacity: 0, scale: 1.4 }], { duration: 800, easing: 'ease-out' });
  } catch (e) { /* no Web Animations: the circle still disappears */ }
  later(function () { if (parentNode(c)) removeChild(parentNode(c), c); }, 800);
}
function highlight(m) {
  var p = pointAt(m.id, m.x, m.y);
  if (!p) return;
  if (m.kind === 'circle') clickCircle(p.x, p.y);
  else if (m.kind === 'wiggle') {
    if (nodeType(p.node) === 1) {
      // Web Animations leave the page's own style attribute untouched.
      animate(p.node, [{ transform: 'rotate(0deg)' }, { transform: 'rotate(-3deg)' }, { transform: 'rotate(3deg)' },
        { transform: 'rotate(-2deg)' }, { transform: 'rotate(2deg)' }, { transform: 'rotate(0deg)' }],
      { duration: 600, easing: 'ease-in-out' });
    }
  } else if (m.kind === 'outline' && ui) {
    var b = globalBox(p.node);
    var o = el('div', 'cb-outline', 'outline');
    css(o, 'transform', 'translate(' + (b.left - 4) + 'px,' + (b.top - 4) + 'px)');
    css(o, 'width', b.width + 8 + 'px');
    css(o, 'height', b.height + 8 + 'px');
    appendChild(ui.layer, o);
    later(function () { if (parentNode(o)) removeChild(parentNode(o), o); }, 2000);
  }
}
function remoteScroll(m) {
  var node = nodeFor(m.id);
  if (!node) return;
  if (nodeType(node) === 9) {
    remoteScrolled = { target: node, x: m.x, y: m.y, at: now() };
    apply(winScrollTo, viewOf(node), [m.x, m.y]);
  } else if (nodeType(node) === 1) {
    remoteScrolled = { target: node, x: m.x, y: m.y, at: now() };
    setScrollLeft(node, m.x);
    setScrollTop(node, m.y);
  }
}
function actTarget(id) {
  var node = nodeFor(id);
  return node && nodeType(node) === 1 && node !== host ? node : null;
}
function actClick(m) {
  var node = actTarget(m.id);
  if (!node) return;
  var p = pointAt(m.id, m.x, m.y);
  // Events of the node's own realm and frame: a same-origin iframe's page checks instanceof.
  var win = viewOf(ownerDocOf(node)) || W;
  var init = { bubbles: true, cancelable: true, composed: true, clientX: p.lx, clientY: p.ly, view: win, button: 0 };
  clickCircle(p.x, p.y);
  var ME = win === W ? MouseEventCtor : win.MouseEvent;
  var PE = (win === W ? PointerEventCtor : win.PointerEvent) || ME;
  dispatch(node, new PE('pointerdown', init));
  dispatch(node, new ME('mousedown', init));
  if (nsOf(node) === XHTML) try { htmlFocus(node); } catch (e) { /* not focusable */ }
  dispatch(node, new PE('pointerup', init));
  dispatch(node, new ME('mouseup', init));
  // A dispatched click runs activation behaviour (links, checkboxes, submit buttons).
  dispatch(node, new ME('click', init));
}
function actInput(m) {
  var node = actTarget(m.id);
  if (!node || !isField(node) || fieldMask(node)) return; // never write into a masked field
  if (disabledOf[tagOf(node)](node) || readOnlyOf[tagOf(node)](node)) return;
  if (typeof m.checked === 'boolean') {
    if (!isInput(node)) return;
    var type = typeOf(node);
    if (type !== 'checkbox' && type !== 'radio') return;
    if (checkedOf(node) === m.checked) return;
    if (m.checked || type === 'checkbox') {
      // A real click toggles and fires click/input/change, which is what React listens to.
      htmlClick(node);
    } else {
      apply(checkedSetter, node, [false]);
      dispatch(node, new EventCtor('input', { bubbles: true }));
      dispatch(node, new EventCtor('change', { bubbles: true }));
    }
    return;
  }
  if (isInput(node)) {
    var t = typeOf(node);
    if (t === 'file' || t === 'checkbox' || t === 'radio' || t === 'hidden') return;
  }
  var set = valueSetters[tagOf(node)];
  // The prototype's setter, not node.value =: React and Vue shadow `value` on the instance to
  // track it, and only see a change made past that tracker.
  apply(set, node, [m.value]);
  dispatch(node, new EventCtor('input', { bubbles: true, composed: true }));
  dispatch(node, new EventCtor('change', { bubbles: true }));
}
function actNavigate(m) {
  var target;
  try { target = new URLCtor(m.url, location.href); } catch (e) { return; }
  if (target.origin !== location.origin || !test(/^https?:$/, target.protocol)) return;
  locationAssign(location, target.href);
}
