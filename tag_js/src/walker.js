/*
 * walker.js: a tree into one message's nodes: iterative, resumable, cut by time and bytes.
 * Owns: the Walker (the stack of items, runs, the adds of a resumed walk) and the `next` of an add.
 * Must not: change the DOM, recurse (pages are deeper than the stack), or cut between a frame and
 * its document.
 */

// ---- the walker: iterative, resumable, and cut into chunks
// Items: {n, kids: the parent's node array (children go inline), g: run that made it, pn: parent,
// ctx: mask, d: depth, sib: a cursor over n and its next siblings, prev: the node walked before
// n}; {syn} / {css}: synthetic nodes. An item of an earlier run was cut off from its message:
// it becomes the root of an add.
var runGen = 0;
function Walker(root, pn, ctx) {
  this.stack = root ? [{ n: root, kids: null, g: 0, pn: pn, ctx: ctx, d: 0 }] : [];
  this.adds = [];
  this.result = null;
  this.nx = null;
  this.tail = null; // the last add of this run: {add, node: its last root, pn, ctx: pn's mask}
}
// Runs until done (true) or until `deadline` or `budget` (bytes) is spent (false). Each run
// makes one message's nodes (the caller takes `result` or `adds`).
Walker.prototype.run = function (deadline, budget) {
  var stack = this.stack;
  var count = 0;
  var gen = ++runGen;
  est = 0;
  prevId = -1;
  this.nx = null;
  this.tail = null;
  while (stack.length) {
    // Never cut between a frame and its document: a later add cannot carry a #document.
    if (deadline && (++count & 31) === 0 && (now() > deadline || est > budget) && !stack[stack.length - 1].doc) return false;
    var it = arrPop(stack);
    var node = it.n;
    var pn = it.pn;
    var root = it.g !== gen;
    var sib = !!it.sib;
    var placed = false; // a cursor's root: checked below to be a child of pn the replica lacks
    if (sib) {
      if (root && (!node || alive(node) || up(node) !== pn)) {
        // The page moved or removed the cursor's node since the cut: go on after the last node
        // walked. If that one moved too (a flush removed it), the walk would skip the siblings
        // between its old and new place: then go on at the first child the replica lacks (every
        // child before the cursor is in the replica: walked, or added by a flush).
        var prev = it.prev;
        node = prev && up(prev) === pn && !(cap && cap.moved.has(prev)) ? nextSibling(prev) : firstChild(pn);
        while (node && (alive(node) || node === host)) node = nextSibling(node);
        if (!node) continue;
      }
      placed = root;
      var after = nextSibling(node);
      // The cursor moves on to the next sibling: the same item, so a node costs no item of its own.
      if (after) { it.n = after; it.prev = node; push(stack, it); }
    }
    var pid = pn ? ids.get(pn) : 0;
    var out;
    var syn = !!it.syn;
    if (it.css) { // the synthetic text of a CSSOM-only <style>, after its real children
      if (!root) push(it.kids, textNode(it.css.tid, it.ct));
      else if (alive(pn)) {
        prevId = -1;
        push(this.adds, { parent: pid, next: null, nodes: [textNode(it.css.tid, it.ct)] });
        this.tail = null;
      }
      continue;
    }
    if (!root && it.kids) {
      out = syn ? adoptedNode(it.syn) : serializeNode(node, it.ctx, pn, !!it.f);
      if (out === null) continue; // 0 is a node: "\n" as indentation
      push(it.kids, out);
    } else if (!pn) {
      out = this.result = serializeNode(node, '', null);
    } else {
      // The root of an add: it must still be where it was found, and not yet in the replica.
      // Under the parent of the run's last add, the parent is alive and its mask known (a run
      // changes nothing in the DOM).
      var tail = this.tail;
      var same = !syn && tail && tail.pn === pn;
      if ((!same && !alive(pn)) || (!syn && !placed && (alive(node) || up(node) !== pn))) continue;
      var ctx = syn ? '' : same ? tail.ctx : containerMask(pn);
      var next = syn ? null : nextAliveId(this, node, sib);
      // The cursor's next sibling, right after the last add's last node in the DOM and bound
      // for the same place in the replica: it joins that add's run (one add, not one per row).
      var join = same && tail.add.next === next && nextSibling(tail.node) === node;
      if (!join) prevId = -1; // a new add: its first node carries its id
      out = syn ? adoptedNode(it.syn) : serializeNode(node, ctx, pn);
      if (out === null) continue;
      if (join) push(tail.add.nodes, out);
      else {
        tail = { add: { parent: pid, next: next, nodes: [out] }, node: null, pn: pn, ctx: ctx };
        push(this.adds, tail.add);
      }
      this.tail = syn ? null : tail;
      tail.node = node;
      // Any add but the walk's own in-order cursor puts a node among siblings the walk has not
      // reached yet (a flush's add, or one a cut flush left to the stream): remember the parent.
      if (!sib && cap) cap.touched.add(pn);
      it = { n: node, pn: pn, ctx: ctx, d: it.d };
    }
    if (syn) continue;
    var id = sid;
    mirror.set(id, node);
    born.set(id, ++births);
    if (pid) rparent.set(id, pid);
    var t = nodeType(node);
    if ((t === 1 || t === 9 || t === 11) && it.d < MAX_DEPTH) this.children(node, t, out, it, gen, id);
  }
  return true;
};
Walker.prototype.children = function (node, t, out, it, gen, id) {
  var tag = t === 1 ? sTag : ''; // node is the element serializeNode just made
  // <script> contents are code; the renderer strips scripts anyway, so never send them.
  if (tag === 'script') return;
  var ctx = it.ctx;
  if (t === 1 && !ctx) ctx = sMask ? 'attribute' :
    (maskSelector && matches(node, maskSelector) ? 'selector' : '');
  var stack = this.stack;
  var d = it.d + 1;
  var syn = null;
  var sr = null;
  if (tag === 'style') {
    var css = cssomStyle(node, id, out);
    if (css) push(stack, { css: css, ct: css.text, n: null, kids: out, g: gen, pn: node, d: d });
  }
  if (t === 1) {
    sr = shadowOf(node);
    if (parentNode(node) && nodeType(parentNode(node)) === 9) syn = parentNode(node);
  } else if (t === 11) syn = node;
  // Pushed in reverse: the stack pops the shadow root, then the children, then the synthetic.
  if (syn) push(stack, { syn: syn, n: null, kids: out, g: gen, pn: node, d: d });
  if (tag === 'iframe' || tag === 'frame') {
    // A frame's own children are fallback text nobody sees; a same-origin document is its
    // one child. A cross-origin frame stays an empty element (the replica draws a box). A
    // frameset's <frame> is the same (docs/protocol.md, "Frames").
    var doc = frameDoc(node);
    if (doc) push(stack, { n: doc, kids: out, g: gen, pn: node, ctx: ctx, d: d, doc: true });
  } else {
    var first = firstChild(node);
    if (first) {
      var f = tag === 'textarea' || tag === 'select' || tag === 'input';
      push(stack, { n: first, kids: out, g: gen, pn: node, ctx: ctx, d: d, sib: true, prev: null, f: f });
    }
  }
  if (sr) { watch(sr); push(stack, { n: sr, kids: out, g: gen, pn: node, ctx: ctx, d: d }); }
};
// The id of the first sibling after `n` the replica has (the `next` of an add), or null.
// `sib`: n is the next node of a walk's sibling cursor.
function nextAliveId(w, n, sib) {
  var t = nodeType(n);
  if (t === 9) return null;
  var p = parentNode(n);
  // A cursor's later siblings are not in the replica yet (the walk goes in order), unless an
  // add outside the walk put one there meanwhile. Only a cursor may skip the search: a node a
  // cut flush left to the stream can sit before siblings the replica has.
  if (sib && t !== 11 && !(cap && cap.touched.has(p))) return null;
  var s = t === 11 ? firstChild(hostOf(n)) : nextSibling(n);
  for (var k = 0; s && (k < 64 || t === 11); k++) {
    if (alive(s)) return ids.get(s);
    s = nextSibling(s);
  }
  if (!s) return null;
  // A long run of siblings the replica lacks: indexed once per run.
  var c = w.nx;
  if (!c || c.p !== p || !c.at.has(n) || c.at.get(n) <= c.last) {
    var list = [];
    var at = new MapCtor();
    for (var x = n; x; x = nextSibling(x)) { at.set(x, list.length); push(list, x); }
    var nx = [];
    var found = null;
    for (var i = list.length - 1; i >= 0; i--) { nx[i] = found; if (alive(list[i])) found = ids.get(list[i]); }
    c = w.nx = { p: p, at: at, nx: nx, last: -1 };
  }
  var idx = c.at.get(n);
  c.last = idx;
  return c.nx[idx];
}
