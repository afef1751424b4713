/*
 * serialize.js: one node in its compact wire form (docs/protocol.md "Nodes"), and the ids.
 * Owns: node ids and the mirror (id -> node, what the replica holds), URL and attribute
 * rewriting, closed shadow roots (the tag's one page patch, attachShadow), CSSOM-only
 * stylesheets as synthetic text, and images the page made (blob:) sent as their pixels.
 * Must not: reuse an id, write a masked value or <script> contents, read a closed root's content,
 * draw a masked image, or change what the page sees through attachShadow.
 */

// ------------------------------------------------------------ node ids (mirror)
var ids = new WeakMapCtor(); // node -> id, stable for the page load, never reused
var nextId = (function () {
  var next = loadStored().next;
  return isInt(next) && next < 4503599627370496 ? next : 1; // 2^52: far from float limits
})();
var mirror = new MapCtor(); // id -> node: what the receiver has (ids alive in the replica)
var rparent = new MapCtor(); // id -> parent id in the replica
// id -> when it was last sent. A removed subtree keeps its descendants' entries; when its
// root is sent again, only the nodes sent after it are in the replica (a cut walk sends the
// rest later), so a node whose ancestor is younger than itself is not.
var born = new MapCtor();
var births = 0;
var docId = 0;

function idOf(node) {
  var id = ids.get(node);
  if (!id) { id = nextId++; ids.set(node, id); }
  return id;
}
// A node is alive when the replica holds it: it and every ancestor (in the replica) known.
function alive(node) {
  var id = node && ids.get(node);
  var guardN = 0;
  var at = Infinity;
  while (id) {
    var b = born.get(id);
    if (!mirror.has(id) || !(b < at)) return false;
    if (id === docId) return true;
    at = b;
    id = rparent.get(id);
    if (++guardN > 5000) return false;
  }
  return false;
}
function nodeFor(id) {
  var node = mirror.get(id);
  return node && alive(node) && isConnected(node) ? node : null;
}

// ------------------------------------------------------------ serialization
// The page's origin (the origin of the snapshot's url): a URL on it travels as its path only.
var ORIGIN = str(location.origin);
// A path the URL parser would leave as it is (no dot segment, nothing to percent-encode).
var PLAIN_PATH = /^(?!.*(\/\.|%2e))\/(?![\/\\])[\w\-.~!$&()*+,;=:@\/?#%]*$/i;
// `v` resolved against `base` (its own document's base URL), absolute; on the page's origin the
// path alone ("/p/1?x#y"), unless that starts with "//" or "/\", which a browser reads as a host.
function absUrl(v, base) {
  // Most links of a big page are such paths: on a base of the page's origin they stay as they
  // are, without the cost of parsing them.
  if (test(PLAIN_PATH, v) && base[ORIGIN.length] === '/' && strSlice(base, 0, ORIGIN.length) === ORIGIN) return v;
  var h;
  try { h = new URLCtor(v, base).href; } catch (e) { return v; }
  var n = ORIGIN.length;
  if (ORIGIN !== 'null' && h[n] === '/' && strSlice(h, 0, n) === ORIGIN) {
    var c = h[n + 1];
    if (c !== '/' && c !== '\\') return strSlice(h, n);
  }
  return h;
}
function absSrcset(v, base) {
  // Candidates are "url [descriptor]" separated by commas; a URL may itself contain commas
  // (data:), so split the way the HTML parser does rather than on every comma.
  var out = [];
  var i = 0;
  var n = v.length;
  while (i < n) {
    while (i < n && test(/[\s,]/, v[i])) i++;
    if (i >= n) break;
    var start = i;
    while (i < n && !test(/\s/, v[i])) i++;
    var url = strSlice(v, start, i);
    var desc = '';
    if (test(/,$/, url)) { url = strReplace(url, /,+$/, ''); } else {
      start = i;
      var depth = 0;
      while (i < n && (v[i] !== ',' || depth > 0)) {
        if (v[i] === '(') depth++;
        else if (v[i] === ')') depth--;
        i++;
      }
      desc = strTrim(strSlice(v, start, i));
    }
    push(out, absUrl(url, base) + (desc ? ' ' + desc : ''));
  }
  return arrJoin(out, ', ');
}
// What goes on the wire for attribute `name` of `el`, or null to leave it out.
function wireAttr(el, name, value, masked) {
  if (value === null || !test(ATTR_RE, name) || name[0] === ':') return null;
  if (name === 'value') {
    // A masked field's value attribute is its secret (React mirrors value into it), and so is
    // the value of an option or checkbox in a masked container; a hidden input's value is
    // never shown and often a CSRF or session token.
    if (masked || (isInput(el) && strLower(str(getAttr(el, 'type') || '')) === 'hidden')) return null;
  }
  var u = URL_ATTRS[name];
  if (u && value) {
    value = absUrl(value, baseOf(el));
    if (u === 2 && value[0] === '/') value = ORIGIN + value;
  } else if (name === 'srcset' && value) value = absSrcset(value, baseOf(el));
  if (value.length > MAX_ATTR) return null;
  return value;
}
var NO_VALUE = { file: 1, hidden: 1, submit: 1, button: 1, reset: 1, image: 1 };
// The state entry an unmasked field shows ([name, value or null]), or null for none.
function fieldWire(el) {
  if (isInput(el)) {
    var type = typeOf(el);
    if (type === 'checkbox' || type === 'radio') return [':checked', checkedOf(el) ? '1' : null];
    if (NO_VALUE[type] === 1) return null;
  }
  return [':value', valueOf(el)];
}
var lastVal = new WeakMapCtor(); // field -> the state the replica has (polled for autofill)
function fieldState(el, attrs, mask) {
  if (mask) {
    attrs[':masked'] = mask;
    attrs[':value'] = PLACEHOLDER;
    return;
  }
  var f = fieldWire(el);
  if (!f) return;
  lastVal.set(el, f[0] + f[1]);
  // An empty field whose default is empty too says nothing the replica's own element would not.
  if (f[1] === '' && (isInput(el) ? !getAttr(el, 'value') : tagOf(el) === 'textarea' && !textOf(el))) return;
  if (f[1] !== null) attrs[f[0]] = f[1];
}

// ---- images the page made (blob: URLs, docs/protocol.md ":unseen"): the agent's browser cannot
// load the visitor's object URLs, so the tag draws the loaded image on a canvas of its own and
// sends its pixels as a data: image, which the renderer re-encodes like any other.
var BLOB_PIXELS = 1048576; // 1024 x 1024: encoding a bigger image is a long task for the page
var BLOB_BYTES = 1500000; // characters of its data: URL
var BLOB_RE = /(^|[\s,])blob:/i;
var blobSeen = new WeakSetCtor(); // images that had a blob: URL, with the tag's load listener
// Whether `el` is an <img> showing (or choosing, srcset) an object URL of the page.
function blobImg(el) {
  return tagOf(el) === 'img' && (test(BLOB_RE, getAttr(el, 'src') || '') || test(BLOB_RE, getAttr(el, 'srcset') || ''));
}
// The image's pixels as a data: PNG (WebP when a big PNG is bigger), or '': not loaded yet (its
// load event sends them later), broken, over the bounds, or unreadable (a tainted canvas).
function blobData(el) {
  if (!blobSeen.has(el)) {
    blobSeen.add(el);
    listen(el, 'load', guard(function () {
      if (cap && alive(el) && blobImg(el)) { cap.blobs.add(el); schedule(cap); }
    }));
  }
  var w = imgNaturalW(el);
  var h = imgNaturalH(el);
  if (!imgComplete(el) || !w || !h || w * h > BLOB_PIXELS) return '';
  try {
    var c = createElement(D, 'canvas');
    canvasW(c, w);
    canvasH(c, h);
    drawImage(canvasCtx(c, '2d'), el, 0, 0);
    var out = canvasData(c, 'image/png');
    if (out.length > 65536) {
      var webp = canvasData(c, 'image/webp', 0.9);
      if (webp.length < out.length && strIndexOf(webp, 'data:image/webp') === 0) out = webp;
    }
    return out.length <= BLOB_BYTES ? out : '';
  } catch (e) { return ''; }
}
// A blob: image's entries in `attrs`: its pixels as src (no srcset: the drawing is the candidate
// the browser chose), else no src and ":unseen"; masked (mask: its reason), nothing of it at all.
function blobState(el, attrs, mask) {
  delete attrs.srcset;
  var data = mask ? '' : blobData(el);
  if (data) attrs.src = data; else delete attrs.src;
  if (mask) attrs[':masked'] = mask;
  else if (!data) attrs[':unseen'] = 'image';
}

var host = null; // the tag's UI host; never captured
var est = 0; // bytes of JSON serialized in the current run, roughly
// Compact form (docs/protocol.md "Nodes"): a node carries its id only where the preorder count
// breaks. prevId: the id of the node written last in the current tree or run (-1: none yet, so
// the next node writes its id); sid: the id of the node serializeNode made last.
var prevId = -1;
var sid = 0;
var sMask = false; // the element serializeNode made last has the mask attribute
var sTag = ''; // and its HTML tag name ('' for other namespaces)
var EMPTY = [];
var INDENT = /^\n(?: *|\t*)$/;
function textNode(id, text) {
  var out;
  if (id !== prevId + 1) out = [id, '#text', text];
  // Indentation between elements (a newline and only spaces, or only tabs) as an integer:
  // "\n    " is 8 bytes of JSON, 4 is one.
  else if (text[0] === '\n' && text.length <= 1025 && test(INDENT, text)) {
    out = text[1] === '\t' ? 1 - text.length : text.length - 1;
  } else out = text;
  prevId = id;
  return out;
}
function head(id, name) {
  var out = id === prevId + 1 ? [name] : [id, name];
  prevId = id;
  return out;
}
function hasKeys(o) {
  for (var k in o) return true;
  return false;
}

// Serialize one node (not its children), or null for nodes the protocol leaves out.
// ctx: container mask of the node's parent chain ('' or a reason); pf: whether parentEl is a
// form field (undefined: not known yet).
function serializeNode(node, ctx, parentEl, pf) {
  var t = nodeType(node);
  var id;
  if (t === 3) {
    var text = nodeValue(node) || '';
    var masked = ctx || ((pf === undefined ? isField(parentEl) : pf) && fieldMask(parentEl, ctx));
    text = maskText(text, masked);
    if (text.length > MAX_TEXT) text = strSlice(text, 0, MAX_TEXT);
    est += text.length + 4;
    sid = id = idOf(node);
    return textNode(id, text);
  }
  if (t === 1) {
    if (node === host) return null;
    var name = localNameOf(node);
    if (!test(TAG_RE, name)) return null;
    sid = id = idOf(node);
    est += name.length + (id === prevId + 1 ? 5 : 14);
    var out = head(id, name);
    var attrs = null; // made on the first entry: most elements of a big page have none
    var tag = nsOf(node) === XHTML ? name : '';
    sTag = tag;
    var field = tag === 'input' || tag === 'textarea' || tag === 'select';
    var mask = field ? fieldMask(node, ctx) : '';
    sMask = false;
    // Names and getAttribute, not `attributes`: reading an Attr node makes the browser keep one
    // for as long as the element lives (hundreds of thousands on a big page).
    var list = hasAttrs(node) ? attrNames(node) : EMPTY;
    for (var i = 0; i < list.length; i++) {
      var an = list[i];
      var v = getAttr(node, an);
      // getAttribute lowercases its argument on HTML elements: a name set with capitals
      // through setAttributeNS is only found by position.
      if (v === null) v = attrValue(attributesOf(node)[i]);
      if (an === MASK_ATTR) sMask = true;
      var av = wireAttr(node, an, v, mask || ctx);
      if (av !== null) {
        if (!attrs) attrs = {};
        attrs[an] = av;
        est += an.length + av.length + 6;
      }
    }
    if (field) {
      attrs = attrs || {};
      fieldState(node, attrs, mask);
      if (cap) cap.fields.add(node);
    }
    if (tag === 'img' && blobImg(node)) {
      blobState(node, attrs = attrs || {}, ctx || (sMask ? 'attribute' : '') ||
        (maskSelector && matches(node, maskSelector) ? 'selector' : ''));
    }
    if (closedCount && closedHosts.has(node)) (attrs = attrs || {})[':shadow'] = 'closed';
    // A custom element may attach its shadow root after it was sent (no record says so).
    else if (cap && strIndexOf(name, '-') > 0 && !shadowOf(node)) cap.hosts.add(node);
    else if (tag === 'option' && selectedOf(node) && !optionMasked(node)) (attrs = attrs || {})[':selected'] = '1';
    // Reading a scroll offset lays the page out. The page changes between the stream's slices,
    // so every slice would pay for a layout of the whole page (seconds for a 2 MB page under
    // load): a slice leaves the reads to the next flush, which runs in the frame's own layout.
    // Only an element with content (children, a shadow root, a field's text) can scroll.
    if (firstChild(node) || field || shadowOf(node) || (closedCount && closedHosts.has(node))) {
      if (scrollLater) push(scrollLater, node);
      else { var so = scrollOffset(node); if (so) (attrs = attrs || {})[':scroll'] = so; }
    }
    if (attrs && hasKeys(attrs)) push(out, attrs);
    return out;
  }
  if (t === 8) { est += 14; sid = idOf(node); return head(sid, '#comment'); }
  if (t === 10) { sid = idOf(node); var dt = head(sid, '#doctype'); push(dt, str(node.name || 'html')); return dt; }
  if (t === 9) { sid = idOf(node); return head(sid, '#document'); }
  if (t === 11) { sid = idOf(node); return head(sid, '#shadow'); }
  return null;
}
// ---- closed shadow roots: private to the page, but the agent should see that one is there
// (docs/protocol.md ":shadow"). Only attachShadow can tell, so the tag wraps it once, here.
var closedHosts = new WeakSetCtor(); // elements that host a closed root (its content never read)
var closedCount = 0; // how many were ever seen: the serializer skips the lookup while 0
function noteShadow(el, root) {
  try {
    if (modeOf(root) !== 'closed') return;
    closedHosts.add(el);
    closedCount++;
    // Attached to a host the replica has: an attrs change says so at the next flush.
    if (cap && cap.ready && alive(el)) { cap.closed.add(el); schedule(cap); }
  } catch (e) { /* the page's call already succeeded: never let the tag's bookkeeping fail it */ }
}
(function () {
  var d = getOwnPD(ElementP, 'attachShadow');
  var original = d && d.value;
  if (typeof original !== 'function' || !d.writable || !d.configurable) return;
  // A Proxy of the native method: the page sees the same name, length and native toString,
  // cannot construct it, and gets the same root or the same exception (the call goes to the
  // original with the page's own arguments and `this`); the tag only looks at the root's
  // mode after a success.
  var wrapped = new ProxyCtor(original, {
    apply: function (target, self, args) {
      var root = apply(target, self, args);
      noteShadow(self, root);
      return root;
    }
  });
  try {
    defineProp(ElementP, 'attachShadow', { value: wrapped, writable: true, enumerable: d.enumerable, configurable: true });
  } catch (e) { /* a frozen prototype: closed roots stay unknown */ }
})();

var scrollLater = null; // elements a stream slice serialized: their scroll offsets follow
function scrollOffset(el) {
  var sl = scrollLeftOf(el);
  var st = scrollTopOf(el);
  return (sl || st) && el !== scrollingOf(ownerDocOf(el)) ? Mth.round(sl) + ',' + Mth.round(st) : '';
}
function optionMasked(opt) {
  var sel = parentEl(opt);
  while (sel && tagOf(sel) !== 'select') sel = parentEl(sel);
  return !!(sel && fieldMask(sel));
}
function isFrameEl(el) { var t = tagOf(el); return t === 'iframe' || t === 'frame'; }
function frameDoc(el) {
  var d = null;
  try { d = tagOf(el) === 'frame' ? frameDocOf(el) : contentDocOf(el); } catch (e) { d = null; }
  if (d) watch(d);
  return d;
}

// ---- CSSOM-only stylesheets (insertRule into an empty <style>, adoptedStyleSheets) travel as
// synthetic text (docs/protocol.md ":cssom"), polled at flush: no page prototype is patched.
function rulesText(sheets) {
  var out = [];
  for (var i = 0; i < sheets.length; i++) {
    try {
      var r = rulesOf(sheets[i]);
      for (var k = 0, n = rulesLength(r); k < n; k++) push(out, ruleText(r[k]));
    } catch (e) { /* a cross-origin sheet: its rules are not readable */ }
  }
  return arrJoin(out, '\n');
}
function ruleCount(sheets) {
  var n = 0;
  for (var i = 0; i < sheets.length; i++) try { n += rulesLength(rulesOf(sheets[i])); } catch (e) { /* unreadable */ }
  return n;
}
function styleSheets(entry) {
  if (entry.adopted) {
    var a = null;
    try { a = nodeType(entry.owner) === 11 ? rootAdopted(entry.owner) : docAdopted(entry.owner); } catch (e) { a = null; }
    return a || [];
  }
  var s = sheetOf(entry.owner);
  return s && !test(/\S/, textOf(entry.owner)) ? [s] : [];
}
var textOf = getter('Node', 'textContent');
// A <style> without text: tracked (rules may come later). If it has rules: marks `out` (the
// style's node, no children yet) and returns the entry whose synthetic text follows them.
function cssomStyle(node, id, out) {
  if (!cap || test(/\S/, textOf(node))) return null;
  var entry = { owner: node, id: id, tid: 0, text: '', count: 0 };
  push(cap.synth, entry);
  var sheets = styleSheets(entry);
  entry.count = ruleCount(sheets);
  if (!entry.count) return null;
  entry.tid = nextId++;
  entry.text = rulesText(sheets);
  var attrs = out[out.length - 1];
  if (typeof attrs !== 'object') push(out, attrs = {}); // the style had no attributes to send
  attrs[':cssom'] = 'sheet';
  est += entry.text.length;
  return entry;
}
// The synthetic element for the adopted sheets of a document or shadow root, or null.
function adoptedNode(owner) {
  if (!cap || cap.adopted.has(owner)) return null;
  var entry = { owner: owner, adopted: true, id: 0, tid: 0, text: '', count: 0 };
  cap.adopted.set(owner, entry);
  push(cap.synth, entry);
  var sheets = styleSheets(entry);
  if (!sheets.length) return null;
  entry.id = nextId++;
  entry.tid = nextId++;
  entry.text = rulesText(sheets);
  entry.count = ruleCount(sheets);
  est += entry.text.length;
  return adoptedStyle(entry.id, entry.tid, entry.text);
}
function adoptedStyle(id, tid, text) {
  var out = head(id, 'style');
  push(out, { ':cssom': 'adopted' });
  push(out, textNode(tid, text));
  return out;
}
