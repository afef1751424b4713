/*
 * capture.js: the visitor's side of a session, and the page as a node stream.
 * Owns: starting, suspending and ending a session; the snapshot streamed in slices; mutations,
 * field values and stylesheets flushed as dom.mutations; re-masking and the periodic sweep.
 * Must not: send a masked value on any path, or hold the page's main thread for a long task.
 */

// ------------------------------------------------------------ session and capture
var session = null; // {id, mode, agent, seq, suspended, expiry}
var endPending = null; // a session the visitor ended while the socket was down
var cap = null; // capture state of the current stream
var observer = null;
var OBSERVE = { childList: true, attributes: true, characterData: true, subtree: true };
// Streamed in slices: each builds ~SLICE_MS or CHUNK bytes of nodes and sends them in the same
// task (no long task; the agent sees the top of the page first).
var SLICE_MS = 10;
var SCROLL_MS = 4; // a flush's scroll offset reads (see flush)
var CHUNK = 256 * 1024;

function shared() { return !!(session && !session.suspended && session.mode === 'shared'); }

function startSession(m) {
  if (session && session.id !== m.session) endSession();
  // The same session again while its stream runs: the visitor accepted shared control. Only
  // the mode changes; the relay keeps the stream's seq and the agent keeps the replica.
  var running = !!(session && !session.suspended && cap);
  var masks = maskSelector;
  if (!session) session = { id: m.session, seq: 0 };
  cancel(session.expiry);
  session.mode = m.mode;
  session.agent = m.agent;
  session.suspended = false;
  setMaskSelectors(m.mask_selectors);
  hideInvite();
  showFrame();
  if (!running || maskSelector !== masks) startCapture();
}
function endSession() {
  if (!session) return;
  cancel(session.expiry);
  session = null;
  stopCapture();
  hideFrame();
}
// The socket dropped: stop streaming (a fresh snapshot follows the reconnect) but keep the
// frame, so the visitor still sees that the session is on.
function suspendCapture() {
  if (session) session.suspended = true;
  stopCapture();
}

function stopCapture() {
  cap = null;
  if (observer) { try { moDisconnect(observer); } catch (e) { /* already gone */ } observer = null; }
  mirror.clear();
  rparent.clear();
  born.clear();
  sweepIter = null;
  lastSel = '';
}
function startCapture() {
  stopCapture();
  if (!session) return;
  var c = cap = { records: [], values: new SetCtor(), ready: false, scheduled: false, scrolls: new MapCtor(),
    fields: new SetCtor(), hosts: new SetCtor(), synth: [], touched: new SetCtor(), adopted: new MapCtor(), watched: new SetCtor(), reframe: new SetCtor(),
    w: null, streaming: false, polls: 0, poll: false, scrollLater: [], scrollAt: 0, moved: new SetCtor(), closed: new SetCtor(),
    blobs: new SetCtor(), focus: null, focusV: '' };
  if (readyStateOf(D) === 'loading') {
    // Resumed during a navigation: wait for the parser so the snapshot is not half a page.
    listen(D, 'DOMContentLoaded', guard(function () { if (cap === c) beginSnapshot(c); }), { once: true });
  } else beginSnapshot(c);
}
// Observe a document or shadow root (one observer sees them all); hook a frame's events.
function watch(root) {
  var c = cap;
  if (!c || !observer || c.watched.has(root)) return;
  c.watched.add(root);
  moObserve(observer, root, OBSERVE);
  if (nodeType(root) === 9 && root !== D) hookWindow(viewOf(root));
}
function beginSnapshot(c) {
  observer = new MO(guard(function (records) { onRecords(c, records); }));
  mirror.clear();
  rparent.clear();
  born.clear();
  watch(D);
  docId = idOf(D);
  c.w = new Walker(D, null, '');
  stream(c);
  var poll = function () {
    if (cap !== c) return;
    c.poll = true;
    schedule(c);
    later(poll, 1000);
  };
  later(poll, 1000);
}
function loading() { return !!(cap && cap.w && cap.w.stack.length); }
function sendDom(type, body) {
  body.session = session.id;
  body.seq = session.seq++;
  if (loading()) body.loading = true;
  return send(type, body);
}
// One slice of the stream: the snapshot (the top of the page), then batches of adds.
function stream(c) {
  if (cap === c && session && c.ready) {
    // A slice places each node by the siblings it has in the DOM now, so the replica must
    // have every change the page made before the slice: a sibling the page moved since the
    // last flush would otherwise name a place the replica does not have yet.
    var recs = moTake(observer);
    for (var i = 0; i < recs.length; i++) push(c.records, recs[i]);
    if (c.records.length) flush(c); // while c.streaming: a cut flush just adds to this stream
  }
  c.streaming = false;
  if (cap !== c || !session) return;
  var w = c.w;
  if (!c.ready) {
    moTake(observer); // what changed so far is in the DOM the walk is about to read
    scrollLater = c.scrollLater;
    w.run(now() + SLICE_MS, CHUNK);
    scrollLater = null;
    var ok = sendDom('dom.snapshot', {
      url: strSlice(str(location.href), 0, 8192), title: strSlice(str(titleOf(D) || ''), 0, 4096),
      viewport: viewport(), doc: w.result
    });
    if (!ok) return; // the socket dropped; the reconnect starts a new stream
    c.ready = true;
    // The page's scroll offset, if any, at the next flush: read now it would lay out the whole
    // page in this task (the frame lays it out anyway).
    if (!c.scrolls.has(D)) c.scrolls.set(D, 2);
    schedule(c);
  } else {
    // Keep the rest of the page in the tab, not in the socket's buffer, on a slow link.
    if (ws && wsBuffered(ws) > 4194304) { c.streaming = true; later(function () { stream(c); }, 50); return; }
    scrollLater = c.scrollLater;
    w.run(now() + SLICE_MS, CHUNK);
    scrollLater = null;
    var adds = w.adds;
    w.adds = [];
    if (!sendDom('dom.mutations', { adds: adds, removes: [], attrs: [], texts: [] })) return;
    schedule(c); // the scroll offsets of what it sent
  }
  saveIds();
  if (w.stack.length) { c.streaming = true; later(function () { stream(c); }, 0); } else { c.touched.clear(); c.moved.clear(); }
}
function viewport() {
  return { w: Mth.max(1, innerWidthOf(W) || 1), h: Mth.max(1, innerHeightOf(W) || 1), dpr: dprOf(W) || 1 };
}
function onRecords(c, records) {
  if (cap !== c || !records) return;
  for (var i = 0; i < records.length; i++) push(c.records, records[i]);
  schedule(c);
}
function schedule(c) {
  if (c.scheduled || !c.ready) return;
  c.scheduled = true;
  frame(function () { c.scheduled = false; if (cap === c) flush(c); });
}

// Turn the records and dirty fields of one frame into at most one dom.mutations, then the
// presence events (scroll) that wait for the frame.
function flush(c) {
  var records = arrConcat(c.records, observer ? moTake(observer) : []);
  c.records = [];
  var removes = [];
  var attrs = [];
  var texts = [];
  var candidates = new SetCtor();
  var attrSeen = new MapCtor();
  var textSeen = new SetCtor();
  var values = c.values;
  c.values = new SetCtor();
  var full = c.poll;
  c.poll = false;
  var i;
  var j;
  for (i = 0; i < records.length; i++) {
    var r = records[i];
    var type = recType(r);
    if (type === 'childList') {
      var removed = recRemoved(r);
      var added = recAdded(r);
      for (j = 0; j < listLength(removed); j++) {
        var gone = removed[j];
        if (alive(gone)) {
          var gid = ids.get(gone);
          push(removes, gid);
          mirror.delete(gid);
          if (loading()) c.moved.add(gone);
        }
      }
      for (j = 0; j < listLength(added); j++) candidates.add(added[j]);
    } else if (type === 'attributes') {
      var set = attrSeen.get(recTarget(r));
      if (!set) { set = new SetCtor(); attrSeen.set(recTarget(r), set); }
      set.add(recAttr(r));
    } else if (type === 'characterData') {
      textSeen.add(recTarget(r));
    }
  }
  // A frame that loaded a new document: the replica gets the frame again, with it.
  c.reframe.forEach(function (f) {
    if (!alive(f)) return;
    push(removes, ids.get(f));
    mirror.delete(ids.get(f));
    candidates.add(f);
  });
  c.reframe.clear();
  if (full) {
    c.hosts.forEach(function (h) {
      var sr = isConnected(h) && shadowOf(h);
      if (sr || !isConnected(h) || closedHosts.has(h)) c.hosts.delete(h);
      if (sr && alive(h)) { watch(sr); candidates.add(sr); }
    });
  }
  // Adds: every connected node the replica lacks whose parent it has. In reverse document
  // order, so the `next` of each add is already in the replica when the add is applied.
  var roots = [];
  candidates.forEach(function (n) {
    if (n === host || !isConnected(n) || alive(n)) return;
    var p = up(n);
    if (p && alive(p)) push(roots, n);
  });
  arrSort(roots, function (a, b) { return compareDocPos(a, b) & 4 ? -1 : 1; });
  if (!loading()) { c.touched.clear(); c.moved.clear(); } // no cursor left that needs them
  var w = new Walker(null);
  for (i = 0; i < roots.length; i++) push(w.stack, { n: roots[i], kids: null, pn: up(roots[i]), ctx: '', d: 0 });
  var fresh = new SetCtor(roots);
  if (!w.run(now() + SLICE_MS, CHUNK)) {
    // A big subtree arrived at once: the rest streams like the snapshot does.
    if (!c.w) c.w = new Walker(null);
    c.w.stack = arrConcat(c.w.stack, w.stack);
    if (!c.streaming) { c.streaming = true; later(function () { stream(c); }, 0); }
  }
  var adds = w.adds;
  attrSeen.forEach(function (names, el) {
    if (!alive(el) || inFresh(el, fresh)) return;
    var id = ids.get(el);
    var field = isField(el);
    var remask = false;
    var img = tagOf(el) === 'img' && (blobSeen.has(el) || blobImg(el));
    names.forEach(function (name) {
      if (!test(ATTR_RE, name) || name[0] === ':') return;
      // A blob: image (or one that was): its src, srcset and state are sent together, below.
      if (img && (name === 'src' || name === 'srcset')) { c.blobs.add(el); return; }
      if (MASK_TRIGGERS[name] === 1) remask = true;
      var mask = field ? fieldMask(el) : name === 'value' ? containerMask(el) : '';
      var v = wireAttr(el, name, getAttr(el, name), mask);
      if (v === null && name === 'value' && field && getAttr(el, 'value') !== null) return;
      push(attrs, [id, name, v]);
    });
    if (remask) remaskSubtree(el, values, textSeen);
  });
  textSeen.forEach(function (t) {
    if (!alive(t) || inFresh(t, fresh)) return;
    var p = parentNode(t);
    var masked = p && nodeType(p) === 1 && (containerMask(p) || (isField(p) && fieldMask(p)));
    var text = maskText(nodeValue(t) || '', masked);
    push(texts, [ids.get(t), text.length > MAX_TEXT ? strSlice(text, 0, MAX_TEXT) : text]);
  });
  // Values set by script without an event (browser autofill, password managers, frameworks):
  // the focused field at every flush, every field on the periodic poll.
  pollFields(c, values, full);
  values.forEach(function (el) {
    if (!alive(el) || inFresh(el, fresh)) return;
    var id = ids.get(el);
    if (tagOf(el) === 'option') {
      if (!optionMasked(el)) push(attrs, [id, ':selected', selectedOf(el) ? '1' : null]);
      return;
    }
    var mask = fieldMask(el);
    if (mask) {
      push(attrs, [id, ':masked', mask]);
      push(attrs, [id, ':value', PLACEHOLDER]);
      if (getAttr(el, 'value') !== null) push(attrs, [id, 'value', null]);
      return;
    }
    var f = fieldWire(el);
    if (!f) return;
    lastVal.set(el, f[0] + f[1]);
    push(attrs, [id, f[0], f[1]]);
  });
  c.closed.forEach(function (el) {
    if (alive(el) && !inFresh(el, fresh)) push(attrs, [ids.get(el), ':shadow', 'closed']);
  });
  c.closed.clear();
  c.blobs.forEach(function (el) {
    if (!alive(el) || inFresh(el, fresh)) return;
    var id = ids.get(el);
    var a = {};
    var blob = blobImg(el);
    if (blob) blobState(el, a, containerMask(el));
    push(attrs, [id, 'src', blob ? a.src || null : wireAttr(el, 'src', getAttr(el, 'src'), '')]);
    push(attrs, [id, 'srcset', blob ? null : wireAttr(el, 'srcset', getAttr(el, 'srcset'), '')]);
    push(attrs, [id, ':unseen', a[':unseen'] || null]);
    if (a[':masked']) push(attrs, [id, ':masked', a[':masked']]);
  });
  c.blobs.clear();
  // Scroll offsets of what the stream sent, SCROLL_MS of reads a frame: a few slices of a big
  // page are tens of thousands of elements (a task well over 50 ms); the rest waits a frame.
  var scrolled = c.scrollLater;
  var stop = now() + SCROLL_MS;
  for (i = c.scrollAt; i < scrolled.length; i++) {
    if ((i & 127) === 0 && i > c.scrollAt && now() > stop) break;
    var so = scrollOffset(scrolled[i]); // 0,0 for most: cheaper than alive() first
    if (so && alive(scrolled[i])) push(attrs, [ids.get(scrolled[i]), ':scroll', so]);
  }
  if (i < scrolled.length) c.scrollAt = i;
  else { c.scrollLater = []; c.scrollAt = 0; }
  focusState(c, attrs);
  pollSheets(c, adds, attrs, texts, full);
  if (removes.length || adds.length || attrs.length || texts.length) {
    sendDom('dom.mutations', { adds: adds, removes: removes, attrs: attrs, texts: texts });
    if (adds.length) saveIds();
  }
  sweep();
  c.scrolls.forEach(function (how, target) { sendScroll(target, how === 2); });
  c.scrolls.clear();
  if (c.sel) { c.sel = false; sendSelection(); }
  if (c.scrollAt) schedule(c); // offsets left for the next frame
}
var FIELD_POLL_BUDGET = 400;
function pollFields(c, values, full) {
  var check = function (el) {
    if (!isConnected(el)) { c.fields.delete(el); return; }
    if (fieldMask(el) || !alive(el)) return;
    var f = fieldWire(el);
    if (f && lastVal.get(el) !== f[0] + f[1]) values.add(el);
  };
  if (full) {
    // Round robin, FIELD_POLL_BUDGET fields a poll: a page with 20k fields must not get a
    // 400 ms task every second; script-set values still show up within a few polls.
    var budget = Mth.min(FIELD_POLL_BUDGET, c.fields.size);
    for (var n = 0; n < budget; n++) {
      if (!c.fieldIter) c.fieldIter = c.fields.values();
      var step = c.fieldIter.next();
      if (step.done) {
        c.fieldIter = null;
        if (!c.fields.size) break;
        n--;
        continue;
      }
      check(step.value);
    }
  } else {
    var a = activeOf(D);
    if (a && c.fields.has(a)) check(a);
  }
}
// The element the visitor's page has focused, as ":focus" (docs/protocol.md): the deepest one,
// through open shadow roots and same-origin frames; "visible" when the visitor's browser draws
// its focus ring (:focus-visible). Sent when it changes; a new stream sends it again.
function deepFocus() {
  var a = activeOf(D);
  for (var k = 0; a && k < 32; k++) {
    var inner = null;
    var sr = shadowOf(a);
    if (sr) inner = rootActiveOf(sr);
    else if (isFrameEl(a)) {
      var d = null;
      try { d = tagOf(a) === 'frame' ? frameDocOf(a) : contentDocOf(a); } catch (e) { d = null; }
      inner = d && activeOf(d);
    }
    if (!inner || inner === a) break;
    a = inner;
  }
  return a && a !== host && matches(a, ':focus') && alive(a) ? a : null;
}
function focusState(c, attrs) {
  var el = deepFocus();
  var v = el ? (matches(el, ':focus-visible') ? 'visible' : 'focus') : '';
  if (el === c.focus && v === c.focusV) return;
  if (c.focus && c.focus !== el && alive(c.focus)) push(attrs, [ids.get(c.focus), ':focus', null]);
  c.focus = el;
  c.focusV = v;
  if (el) push(attrs, [ids.get(el), ':focus', v]);
}
function pollSheets(c, adds, attrs, texts, full) {
  if (full) c.polls++;
  var deep = full && c.polls % 3 === 0; // full text comparison every third poll (~3 s)
  for (var i = 0; i < c.synth.length; i++) {
    var e = c.synth[i];
    var owner = e.owner;
    var ok = nodeType(owner) === 1 ? alive(owner) : isConnected(owner) && alive(owner);
    if (!ok) { arrSplice(c.synth, i--, 1); if (e.adopted) c.adopted.delete(owner); continue; }
    var sheets = styleSheets(e);
    var count = ruleCount(sheets);
    if (count === e.count && !deep) continue;
    var text = rulesText(sheets);
    e.count = count;
    if (text === e.text) continue;
    e.text = text;
    if (e.tid) push(texts, [e.tid, text]);
    else if (e.adopted) {
      e.id = nextId++;
      e.tid = nextId++;
      var parent = nodeType(owner) === 11 ? owner : docEl(owner);
      prevId = -1;
      push(adds, { parent: ids.get(parent), next: null, nodes: [adoptedStyle(e.id, e.tid, text)] });
    } else {
      e.tid = nextId++;
      push(attrs, [e.id, ':cssom', 'sheet']);
      push(adds, { parent: e.id, next: null, nodes: [[e.tid, '#text', text]] });
    }
  }
}
function inFresh(node, fresh) {
  if (!fresh.size) return false;
  for (var n = node; n; n = up(n)) if (fresh.has(n)) return true;
  return false;
}
// An element's mask-relevant attribute changed: re-send the texts and values below it.
function remaskSubtree(el, values, textSeen) {
  if (nodeType(el) !== 1) return;
  if (isField(el)) values.add(el);
  var stack = [el];
  while (stack.length) {
    var n = arrPop(stack);
    var sr = nodeType(n) === 1 && shadowOf(n);
    if (sr) push(stack, sr);
    for (var c = firstChild(n); c; c = nextSibling(c)) {
      var t = nodeType(c);
      if (t === 3) textSeen.add(c);
      else if (t === 1) {
        if (isField(c) || tagOf(c) === 'option') values.add(c);
        var fd = isFrameEl(c) && frameDoc(c);
        if (fd) push(stack, fd);
        push(stack, c);
      }
    }
  }
}
var sweepAt = 0;
var sweepIter = null;
// Forget ids of subtrees the replica dropped, a few thousand per flush (not a long task).
function sweep() {
  if (!sweepIter) {
    if (loading() || mirror.size < sweepAt * 2 + 1000) return;
    sweepIter = mirror.entries();
  }
  for (var k = 0; k < 3000; k++) {
    var e = sweepIter.next();
    if (e.done) { sweepIter = null; sweepAt = mirror.size; return; }
    if (!alive(e.value[1])) { mirror.delete(e.value[0]); rparent.delete(e.value[0]); born.delete(e.value[0]); }
  }
}
