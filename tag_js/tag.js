/*
 * cobrowse web tag (protocol v1): chat, invites, and the visitor side of a co-browsing session.
 *
 * Owns: the visitor socket (/ws/visitor), the chat and invite UI (closed shadow root), capture of
 * the page as a node stream (dom.snapshot / dom.mutations, docs/protocol.md "Nodes"), masking,
 * presence events, and applying the agent's pointer/highlight/scroll/act.* messages.
 * Must not: send a masked value on any path, evaluate code or HTML from the wire, let an
 * exception reach the page, rely on anything the page can overwrite after load, or change what
 * the page sees (its one patch, Element.prototype.attachShadow, behaves as the original).
 * Embed: <script src="https://relay.example/tag.js" async></script>
 */
(function () {
  'use strict';

  var W = window;
  var D = document;
  // Read first: currentScript is only set while this script's top level runs.
  var SCRIPT = D.currentScript;
  var SRC = SCRIPT && SCRIPT.src;
  if (!SRC || W.__cobrowse) return;
  try {
    Object.defineProperty(W, '__cobrowse', { value: Object.freeze({ v: 1 }) });
  } catch (e) {
    return;
  }

  // ------------------------------------------------------------ pristine references
  // Captured now so a page that later overwrites window.addEventListener, JSON.stringify or
  // DOM prototypes (zone.js, Prototype.js, analytics shims) cannot break or spy on the tag.
  var apply = Reflect.apply;
  var defineProp = Object.defineProperty;
  var getOwnPD = Object.getOwnPropertyDescriptor;
  var fnToString = Function.prototype.toString;
  var NATIVE = /\{\s*\[native code\]\s*\}\s*$/;
  var cleanWin = null;

  function isNative(f) {
    try { return typeof f === 'function' && NATIVE.test(apply(fnToString, f, [])); } catch (e) { return false; }
  }
  // A page may have patched a built-in before this (async) script ran: take it from a fresh
  // same-origin realm instead (rrweb getUntaintedPrototype / DOMPurify unapply do the same).
  function cleanRealm() {
    if (cleanWin === null) {
      cleanWin = false;
      try {
        var f = D.createElement('iframe');
        D.documentElement.appendChild(f);
        cleanWin = f.contentWindow;
        f.remove();
      } catch (e) { /* no clean realm; keep what the page has */ }
    }
    return cleanWin;
  }
  function pick(get) {
    var f;
    try { f = get(W); } catch (e) { f = null; }
    if (isNative(f)) return f;
    var w = cleanRealm();
    var g = null;
    try { g = w && get(w); } catch (e) { g = null; }
    return isNative(g) ? g : f;
  }
  var fnCall = pick(function (w) { return w.Function.prototype.call; });
  var fnBind = pick(function (w) { return w.Function.prototype.bind; });
  // un(f)(self, a, b) calls f with `this` = self: `call` bound to f, so no call allocates an
  // arguments array (the walker makes millions of these calls on a big page).
  function un(f) { return apply(fnBind, fnCall, [f]); }
  function getter(proto, name) {
    var d = getOwnPD(proto, name);
    var g = d && d.get;
    // Not an accessor on the prototype (a polyfill or a test double): read the property.
    if (!g) return function (self) { return self[name]; };
    return un(g);
  }
  function setter(proto, name) {
    var d = proto && getOwnPD(proto, name);
    return d && d.set;
  }

  var jsonParse = pick(function (w) { return w.JSON.parse; });
  var jsonStringify = pick(function (w) { return w.JSON.stringify; });
  var JSONObj = JSON;
  var listen = un(pick(function (w) { return w.EventTarget.prototype.addEventListener; }));
  var WS = W.WebSocket;
  var wsSend = un(WS.prototype.send);
  var wsClose = un(WS.prototype.close);
  var wsReadyState = getter(WS.prototype, 'readyState');
  var MO = W.MutationObserver;
  var moObserve = un(MO.prototype.observe);
  var moDisconnect = un(MO.prototype.disconnect);
  var moTake = un(MO.prototype.takeRecords);
  var setT = W.setTimeout;
  var clearT = W.clearTimeout;
  var rAF = W.requestAnimationFrame;
  var perfNow = un(Performance.prototype.now);
  var perf = W.performance;
  var storageGet = un(Storage.prototype.getItem);
  var storageSet = un(Storage.prototype.setItem);
  var storageRemove = un(Storage.prototype.removeItem);
  var URLCtor = W.URL;
  var MapCtor = W.Map;
  var SetCtor = W.Set;
  var WeakMapCtor = W.WeakMap;
  var WeakSetCtor = W.WeakSet;

  var NodeP = Node.prototype;
  var ElementP = Element.prototype;
  var firstChild = getter(NodeP, 'firstChild');
  var nextSibling = getter(NodeP, 'nextSibling');
  var parentNode = getter(NodeP, 'parentNode');
  var nodeType = getter(NodeP, 'nodeType');
  var isConnected = getter(NodeP, 'isConnected');
  var nodeValue = getter(NodeP, 'nodeValue');
  var compareDocPos = un(NodeP.compareDocumentPosition);
  var contains = un(NodeP.contains);
  var appendChild = un(NodeP.appendChild);
  var removeChild = un(NodeP.removeChild);
  var localNameOf = getter(ElementP, 'localName');
  var attributesOf = getter(ElementP, 'attributes');
  var attrNames = un(ElementP.getAttributeNames);
  var hasAttrs = un(ElementP.hasAttributes);
  var getAttr = un(ElementP.getAttribute);
  var setAttr = un(ElementP.setAttribute);
  var matches = un(ElementP.matches);
  var closest = un(ElementP.closest);
  var rectOf = un(ElementP.getBoundingClientRect);
  var attachShadow = un(ElementP.attachShadow);
  var animate = un(ElementP.animate);
  var qsa = un(ElementP.querySelectorAll);
  var scrollLeftOf = getter(ElementP, 'scrollLeft');
  var scrollTopOf = getter(ElementP, 'scrollTop');
  var setScrollLeft = un(setter(ElementP, 'scrollLeft'));
  var setScrollTop = un(setter(ElementP, 'scrollTop'));
  var createElement = un(Document.prototype.createElement);
  var createElementNS = un(Document.prototype.createElementNS);
  var docEl = getter(Document.prototype, 'documentElement');
  var htmlClick = un(HTMLElement.prototype.click);
  var htmlFocus = un(HTMLElement.prototype.focus);
  var textContentSet = un(setter(NodeP, 'textContent'));
  var attrValue = getter(Attr.prototype, 'value');
  var rangeCreate = un(Document.prototype.createRange);
  var rangeSelect = un(Range.prototype.selectNodeContents);
  var rangeRect = un(Range.prototype.getBoundingClientRect);
  var dispatch = un(EventTarget.prototype.dispatchEvent);
  var stopProp = un(Event.prototype.stopPropagation);
  var styleSetProp = un(CSSStyleDeclaration.prototype.setProperty);
  var styleOf = getter(HTMLElement.prototype, 'style');
  var valueSetters = {
    input: setter(HTMLInputElement.prototype, 'value'),
    textarea: setter(HTMLTextAreaElement.prototype, 'value'),
    select: setter(HTMLSelectElement.prototype, 'value')
  };
  var valueGetters = {
    input: getter(HTMLInputElement.prototype, 'value'),
    textarea: getter(HTMLTextAreaElement.prototype, 'value'),
    select: getter(HTMLSelectElement.prototype, 'value')
  };
  var checkedSetter = setter(HTMLInputElement.prototype, 'checked');
  var checkedOf = getter(HTMLInputElement.prototype, 'checked');
  var inputType = getter(HTMLInputElement.prototype, 'type');
  var selectedOf = getter(HTMLOptionElement.prototype, 'selected');
  // location.assign is an unforgeable own property of the instance: the page cannot replace it.
  var locationAssign = un(location.assign);
  var nsOf = getter(ElementP, 'namespaceURI');
  var shadowOf = getter(ElementP, 'shadowRoot'); // open roots only: closed ones stay private
  var hostOf = getter(ShadowRoot.prototype, 'host');
  var modeOf = getter(ShadowRoot.prototype, 'mode');
  var contentDocOf = getter(HTMLIFrameElement.prototype, 'contentDocument'); // null if cross-origin
  var viewOf = getter(Document.prototype, 'defaultView');
  var ownerDocOf = getter(NodeP, 'ownerDocument');
  var baseOf = getter(NodeP, 'baseURI'); // the node's own document's base (frames, <base>)
  var sheetOf = getter(HTMLStyleElement.prototype, 'sheet');
  var rulesOf = getter(CSSStyleSheet.prototype, 'cssRules');
  var ruleText = getter(CSSRule.prototype, 'cssText');
  var docAdopted = getter(Document.prototype, 'adoptedStyleSheets');
  var rootAdopted = getter(ShadowRoot.prototype, 'adoptedStyleSheets');
  var childCount = getter(NodeP, 'childNodes');
  var activeOf = getter(Document.prototype, 'activeElement');
  var getSelection = un(Document.prototype.getSelection);
  var selCount = getter(Selection.prototype, 'rangeCount');
  var selRange = un(Selection.prototype.getRangeAt);
  var rStartC = getter(Range.prototype, 'startContainer');
  var rStartO = getter(Range.prototype, 'startOffset');
  var rEndC = getter(Range.prototype, 'endContainer');
  var rEndO = getter(Range.prototype, 'endOffset');
  var rSetStart = un(Range.prototype.setStart);
  var rSetEnd = un(Range.prototype.setEnd);
  var rRects = un(Range.prototype.getClientRects);
  var composedPath = un(Event.prototype.composedPath);
  var wsBuffered = getter(WS.prototype, 'bufferedAmount');
  var BC = W.BroadcastChannel;
  var XHTML = 'http://www.w3.org/1999/xhtml';
  // Type checks by name, not instanceof: nodes of same-origin iframes come from another realm,
  // where `instanceof HTMLInputElement` is false (a masking hole if a check relied on it).
  function tagOf(n) { return n && nodeType(n) === 1 && nsOf(n) === XHTML ? localNameOf(n) : ''; }
  function isInput(n) { return tagOf(n) === 'input'; }

  // ------------------------------------------------------------ small helpers
  // Every callback the page's event loop can reach goes through guard(): an exception in the
  // tag must never surface in the page (its error handlers, its console, its monitoring).
  function guard(fn) {
    return function () {
      try { return apply(fn, this, arguments); } catch (e) { return undefined; }
    };
  }
  function later(fn, ms) { return apply(setT, W, [guard(fn), ms || 0]); }
  function cancel(t) { if (t) apply(clearT, W, [t]); }
  function now() { return perfNow(perf); }
  function encode(msg) {
    // Prototype.js-era pages define Array.prototype.toJSON, which double-encodes arrays.
    var ap = Array.prototype;
    var saved = getOwnPD(ap, 'toJSON');
    if (saved) delete ap.toJSON;
    try { return apply(jsonStringify, JSONObj, [msg]); } finally { if (saved) defineProp(ap, 'toJSON', saved); }
  }
  var isArr = Array.isArray;
  function isStr(v, max) { return typeof v === 'string' && v.length <= (max || 1024); }
  function isId(v) { return typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v); }
  function isNum(v, lo, hi) { return typeof v === 'number' && isFinite(v) && v >= lo && v <= hi; }
  function isInt(v) { return typeof v === 'number' && v > 0 && v % 1 === 0 && v <= 9007199254740991; }
  function clamp01(v) { return v < 0 ? 0 : v > 1 ? 1 : (v === v ? v : 0); }
  function frame(fn) {
    // One callback per animation frame; hidden tabs throttle rAF to nothing, so a timer backs it.
    var done = false;
    var run = guard(function () { if (!done) { done = true; fn(); } });
    try { apply(rAF, W, [run]); } catch (e) { /* no rAF */ }
    later(run, 250);
  }

  // ------------------------------------------------------------ relay address and storage
  var relay = new URLCtor(SRC);
  var WS_URL = (relay.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + relay.host + '/ws/visitor';
  var STORE_KEY = 'cobrowse';
  var store = null;
  try { store = W.sessionStorage; } catch (e) { store = null; }

  function loadStored() {
    try {
      var data = jsonParse(storageGet(store, STORE_KEY));
      return data && typeof data === 'object' ? data : {};
    } catch (e) { return {}; }
  }
  function loadToken() {
    var data = loadStored();
    return isStr(data.token, 128) && data.token ? data.token : null;
  }
  // The tab's state: the token, and the next node id. Ids continue across page loads of the
  // tab, so a pointer or action that names a node of the previous page can never land on a
  // node of the new one (the replica simply does not know that id).
  function saveState(token) {
    try {
      if (token) storageSet(store, STORE_KEY, encode({ token: token, next: nextId, tab: tabId }));
      else storageRemove(store, STORE_KEY);
    } catch (e) { /* storage disabled: the conversation lasts as long as the page */ }
  }
  function saveToken(token) { savedToken = token; saveState(token); }
  function saveIds() { if (savedToken) saveState(savedToken); }
  var savedToken = null;

  // ------------------------------------------------------------ masking (policy as data)
  var PLACEHOLDER = '\u2022\u2022\u2022\u2022\u2022\u2022';
  var MASK_ATTR = 'data-cobrowse-mask';
  // autocomplete tokens that always mean a secret; any cc-* token is payment card data.
  var SECRET_AUTOCOMPLETE = { 'current-password': 1, 'new-password': 1, 'one-time-code': 1 };
  // Attributes whose change can change a node's mask state (re-checked when they change).
  var MASK_TRIGGERS = { type: 1, autocomplete: 1, 'data-cobrowse-mask': 1, 'class': 1, id: 1, name: 1 };
  // 1: resolved, and sent as a path when on the page's origin (docs/protocol.md); 2: resolved only
  // (the protocol's origin-relative saving covers the five names above it).
  var URL_ATTRS = { href: 1, src: 1, action: 1, poster: 1, 'xlink:href': 2 };
  var TAG_RE = /^[a-zA-Z][a-zA-Z0-9._:-]{0,99}$/;
  var ATTR_RE = /^[^\s"'<>\/=\x00-\x1f\x7f]{1,256}$/;
  var MAX_ATTR = 2000000;
  var MAX_TEXT = 8000000;
  var MAX_DEPTH = 1000;
  var fieldMasks = new WeakMapCtor(); // field -> reason; sticky: once masked, always masked
  var maskSelector = '';

  function setMaskSelectors(list) {
    var ok = [];
    if (list && typeof list.length === 'number') {
      for (var i = 0; i < list.length && i < 200; i++) {
        var s = list[i];
        if (!isStr(s, 1000) || !s) continue;
        try { matches(docEl(D), s); ok.push(s); } catch (e) { /* invalid selector: skip it */ }
      }
    }
    maskSelector = ok.join(',');
  }
  // The parent in the replica's tree: a shadow root's is its host, a frame document's its iframe.
  function up(n) {
    var p = parentNode(n);
    if (p) return p;
    var t = nodeType(n);
    if (t === 11) return hostOf(n);
    if (t === 9 && n !== D) {
      try { var v = viewOf(n); return (v && v.frameElement) || null; } catch (e) { return null; }
    }
    return null;
  }
  // closest() stops at a shadow root or a frame: a field inside a shadow root (or a same-origin
  // iframe) of a masked container would otherwise escape the container's mask.
  function containerMask(el) {
    var sel = '[' + MASK_ATTR + ']';
    for (var n = el; n; n = up(n)) {
      if (nodeType(n) !== 1) continue;
      if (closest(n, sel)) return 'attribute';
      if (maskSelector && closest(n, maskSelector)) return 'selector';
      while (parentNode(n) && nodeType(parentNode(n)) === 1) n = parentNode(n); // jump to the tree's top
    }
    return '';
  }
  // The field's live value through the native getter (React and Vue wrap `value` per instance).
  function valueOf(el) { return String(valueGetters[tagOf(el)](el)); }
  function typeOf(el) { return String(inputType(el)).toLowerCase(); }
  function isField(el) { var t = tagOf(el); return t === 'input' || t === 'textarea' || t === 'select'; }
  function autocompleteSecret(el) {
    var ac = getAttr(el, 'autocomplete');
    if (!ac) return false;
    var tokens = ac.toLowerCase().split(/\s+/);
    for (var i = 0; i < tokens.length; i++) {
      if (SECRET_AUTOCOMPLETE[tokens[i]] === 1 || tokens[i].indexOf('cc-') === 0) return true;
    }
    return false;
  }
  // inherited: the container mask of the field's parent chain, when the caller knows it.
  function fieldMask(el, inherited) {
    var reason = fieldMasks.get(el);
    if (reason) return reason;
    if (isInput(el) && String(getAttr(el, 'type') || '').toLowerCase() === 'password') reason = 'password';
    else reason = inherited || containerMask(el) || (autocompleteSecret(el) ? 'autocomplete' : '');
    if (reason) fieldMasks.set(el, reason);
    return reason || '';
  }
  function maskText(text, masked) {
    // Whitespace-only text carries nothing and keeps the layout of masked blocks intact.
    return masked && /\S/.test(text) ? PLACEHOLDER : text;
  }

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
  var ORIGIN = String(location.origin);
  // A path the URL parser would leave as it is (no dot segment, nothing to percent-encode).
  var PLAIN_PATH = /^(?!.*(\/\.|%2e))\/(?![\/\\])[\w\-.~!$&()*+,;=:@\/?#%]*$/i;
  // `v` resolved against `base` (its own document's base URL), absolute; on the page's origin the
  // path alone ("/p/1?x#y"), unless that starts with "//" or "/\", which a browser reads as a host.
  function absUrl(v, base) {
    // Most links of a big page are such paths: on a base of the page's origin they stay as they
    // are, without the cost of parsing them.
    if (PLAIN_PATH.test(v) && base.charAt(ORIGIN.length) === '/' && base.slice(0, ORIGIN.length) === ORIGIN) return v;
    var h;
    try { h = new URLCtor(v, base).href; } catch (e) { return v; }
    var n = ORIGIN.length;
    if (ORIGIN !== 'null' && h.charAt(n) === '/' && h.slice(0, n) === ORIGIN) {
      var c = h.charAt(n + 1);
      if (c !== '/' && c !== '\\') return h.slice(n);
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
      while (i < n && /[\s,]/.test(v[i])) i++;
      if (i >= n) break;
      var start = i;
      while (i < n && !/\s/.test(v[i])) i++;
      var url = v.slice(start, i);
      var desc = '';
      if (/,$/.test(url)) { url = url.replace(/,+$/, ''); } else {
        start = i;
        var depth = 0;
        while (i < n && (v[i] !== ',' || depth > 0)) {
          if (v[i] === '(') depth++;
          else if (v[i] === ')') depth--;
          i++;
        }
        desc = v.slice(start, i).trim();
      }
      out.push(absUrl(url, base) + (desc ? ' ' + desc : ''));
    }
    return out.join(', ');
  }
  // What goes on the wire for attribute `name` of `el`, or null to leave it out.
  function wireAttr(el, name, value, masked) {
    if (value === null || !ATTR_RE.test(name) || name.charAt(0) === ':') return null;
    if (name === 'value') {
      // A masked field's value attribute is its secret (React mirrors value into it), and so is
      // the value of an option or checkbox in a masked container; a hidden input's value is
      // never shown and often a CSRF or session token.
      if (masked || (isInput(el) && String(getAttr(el, 'type') || '').toLowerCase() === 'hidden')) return null;
    }
    var u = URL_ATTRS[name];
    if (u && value) {
      value = absUrl(value, baseOf(el));
      if (u === 2 && value.charAt(0) === '/') value = ORIGIN + value;
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
    else if (text.charCodeAt(0) === 10 && text.length <= 1025 && INDENT.test(text)) {
      out = text.charCodeAt(1) === 9 ? 1 - text.length : text.length - 1;
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
      if (text.length > MAX_TEXT) text = text.slice(0, MAX_TEXT);
      est += text.length + 4;
      sid = id = idOf(node);
      return textNode(id, text);
    }
    if (t === 1) {
      if (node === host) return null;
      var name = localNameOf(node);
      if (!TAG_RE.test(name)) return null;
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
      if (closedCount && closedHosts.has(node)) (attrs = attrs || {})[':shadow'] = 'closed';
      // A custom element may attach its shadow root after it was sent (no record says so).
      else if (cap && name.indexOf('-') > 0 && !shadowOf(node)) cap.hosts.add(node);
      else if (tag === 'option' && selectedOf(node) && !optionMasked(node)) (attrs = attrs || {})[':selected'] = '1';
      // Reading a scroll offset lays the page out. The page changes between the stream's slices,
      // so every slice would pay for a layout of the whole page (seconds for a 2 MB page under
      // load): a slice leaves the reads to the next flush, which runs in the frame's own layout.
      // Only an element with content (children, a shadow root, a field's text) can scroll.
      if (firstChild(node) || field || shadowOf(node) || (closedCount && closedHosts.has(node))) {
        if (scrollLater) scrollLater.push(node);
        else { var so = scrollOffset(node); if (so) (attrs = attrs || {})[':scroll'] = so; }
      }
      if (attrs && hasKeys(attrs)) out.push(attrs);
      return out;
    }
    if (t === 8) { est += 14; sid = idOf(node); return head(sid, '#comment'); }
    if (t === 10) { sid = idOf(node); var dt = head(sid, '#doctype'); dt.push(String(node.name || 'html')); return dt; }
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
    var wrapped = new Proxy(original, {
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
    return (sl || st) && el !== ownerDocOf(el).scrollingElement ? Math.round(sl) + ',' + Math.round(st) : '';
  }
  function optionMasked(opt) {
    var sel = opt.parentElement;
    while (sel && tagOf(sel) !== 'select') sel = sel.parentElement;
    return !!(sel && fieldMask(sel));
  }
  function frameDoc(el) {
    var d = null;
    try { d = contentDocOf(el); } catch (e) { d = null; }
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
        for (var k = 0; k < r.length; k++) out.push(ruleText(r[k]));
      } catch (e) { /* a cross-origin sheet: its rules are not readable */ }
    }
    return out.join('\n');
  }
  function ruleCount(sheets) {
    var n = 0;
    for (var i = 0; i < sheets.length; i++) try { n += rulesOf(sheets[i]).length; } catch (e) { /* unreadable */ }
    return n;
  }
  function styleSheets(entry) {
    if (entry.adopted) {
      var a = null;
      try { a = nodeType(entry.owner) === 11 ? rootAdopted(entry.owner) : docAdopted(entry.owner); } catch (e) { a = null; }
      return a || [];
    }
    var s = sheetOf(entry.owner);
    return s && !/\S/.test(textOf(entry.owner)) ? [s] : [];
  }
  var textOf = getter(NodeP, 'textContent');
  // A <style> without text: tracked (rules may come later). If it has rules: marks `out` (the
  // style's node, no children yet) and returns the entry whose synthetic text follows them.
  function cssomStyle(node, id, out) {
    if (!cap || /\S/.test(textOf(node))) return null;
    var entry = { owner: node, id: id, tid: 0, text: '', count: 0 };
    cap.synth.push(entry);
    var sheets = styleSheets(entry);
    entry.count = ruleCount(sheets);
    if (!entry.count) return null;
    entry.tid = nextId++;
    entry.text = rulesText(sheets);
    var attrs = out[out.length - 1];
    if (typeof attrs !== 'object') out.push(attrs = {}); // the style had no attributes to send
    attrs[':cssom'] = 'sheet';
    est += entry.text.length;
    return entry;
  }
  // The synthetic element for the adopted sheets of a document or shadow root, or null.
  function adoptedNode(owner) {
    if (!cap || cap.adopted.has(owner)) return null;
    var entry = { owner: owner, adopted: true, id: 0, tid: 0, text: '', count: 0 };
    cap.adopted.set(owner, entry);
    cap.synth.push(entry);
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
    out.push({ ':cssom': 'adopted' }, textNode(tid, text));
    return out;
  }

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
      var it = stack.pop();
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
        if (after) { it.n = after; it.prev = node; stack.push(it); }
      }
      var pid = pn ? ids.get(pn) : 0;
      var out;
      var syn = !!it.syn;
      if (it.css) { // the synthetic text of a CSSOM-only <style>, after its real children
        if (!root) it.kids.push(textNode(it.css.tid, it.ct));
        else if (alive(pn)) {
          prevId = -1;
          this.adds.push({ parent: pid, next: null, nodes: [textNode(it.css.tid, it.ct)] });
          this.tail = null;
        }
        continue;
      }
      if (!root && it.kids) {
        out = syn ? adoptedNode(it.syn) : serializeNode(node, it.ctx, pn, !!it.f);
        if (out === null) continue; // 0 is a node: "\n" as indentation
        it.kids.push(out);
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
        if (join) tail.add.nodes.push(out);
        else {
          tail = { add: { parent: pid, next: next, nodes: [out] }, node: null, pn: pn, ctx: ctx };
          this.adds.push(tail.add);
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
      if (css) stack.push({ css: css, ct: css.text, n: null, kids: out, g: gen, pn: node, d: d });
    }
    if (t === 1) {
      sr = shadowOf(node);
      if (parentNode(node) && nodeType(parentNode(node)) === 9) syn = parentNode(node);
    } else if (t === 11) syn = node;
    // Pushed in reverse: the stack pops the shadow root, then the children, then the synthetic.
    if (syn) stack.push({ syn: syn, n: null, kids: out, g: gen, pn: node, d: d });
    if (tag === 'iframe') {
      // A frame's own children are fallback text nobody sees; a same-origin document is its
      // one child. A cross-origin frame stays an empty element (the replica draws a box).
      var doc = frameDoc(node);
      if (doc) stack.push({ n: doc, kids: out, g: gen, pn: node, ctx: ctx, d: d, doc: true });
    } else {
      var first = firstChild(node);
      if (first) {
        var f = tag === 'textarea' || tag === 'select' || tag === 'input';
        stack.push({ n: first, kids: out, g: gen, pn: node, ctx: ctx, d: d, sib: true, prev: null, f: f });
      }
    }
    if (sr) { watch(sr); stack.push({ n: sr, kids: out, g: gen, pn: node, ctx: ctx, d: d }); }
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
      for (var x = n; x; x = nextSibling(x)) { at.set(x, list.length); list.push(x); }
      var nx = [];
      var found = null;
      for (var i = list.length - 1; i >= 0; i--) { nx[i] = found; if (alive(list[i])) found = ids.get(list[i]); }
      c = w.nx = { p: p, at: at, nx: nx, last: -1 };
    }
    var idx = c.at.get(n);
    c.last = idx;
    return c.nx[idx];
  }

  // ------------------------------------------------------------ socket
  var ws = null;
  var wanted = false;
  var attempt = 0;
  var retryTimer = 0;
  var helloSeen = false;
  var outbox = []; // chat texts typed before the socket was ready
  var ended = false; // an agent ended the conversation: the next chat.send starts a new one

  function connect() {
    wanted = true;
    if (ws || retryTimer) return;
    var token = loadToken();
    var sock;
    try {
      sock = new WS(WS_URL + (token ? '?token=' + encodeURIComponent(token) : ''));
    } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    helloSeen = false;
    setStatus('Connecting\u2026');
    listen(sock, 'open', guard(function () { if (ws === sock) attempt = 0; }));
    listen(sock, 'message', guard(function (ev) {
      if (ws === sock && typeof ev.data === 'string') receive(ev.data);
    }));
    listen(sock, 'close', guard(function (ev) {
      if (ws !== sock) return;
      ws = null;
      helloSeen = false;
      suspendCapture();
      if (ev.code === 1008) {
        // Refused by policy (unknown token, origin not allowed): a retry would be refused too.
        // Forget the token; the visitor's next chat action starts a new conversation.
        saveToken(null);
        wanted = false;
        setStatus('Chat is unavailable right now.');
        return;
      }
      scheduleReconnect();
    }));
  }
  // A new connection now, with the stored token: after the agent ended the conversation the
  // relay answers it with a new conversation (hello with resumed: false and a new token).
  function reconnect() {
    var sock = ws;
    ws = null; // the old socket's events are ignored from here on
    helloSeen = false;
    cancel(retryTimer);
    retryTimer = 0;
    attempt = 0;
    suspendCapture();
    if (sock) try { wsClose(sock); } catch (e) { /* already closing */ }
    connect();
  }
  function scheduleReconnect() {
    if (!wanted || retryTimer) return;
    // Exponential backoff with jitter, 0.5 s .. 15 s, so a relay restart is not stampeded.
    var base = Math.min(15000, 500 * Math.pow(2, attempt++));
    var delay = Math.max(500, base / 2 + Math.random() * base / 2);
    setStatus('Reconnecting\u2026');
    retryTimer = later(function () { retryTimer = 0; connect(); }, delay);
  }
  function send(type, body) {
    if (!ws || wsReadyState(ws) !== 1 || !helloSeen) return false;
    var msg = { v: 1, type: type };
    for (var k in body) if (Object.prototype.hasOwnProperty.call(body, k)) msg[k] = body[k];
    try { wsSend(ws, encode(msg)); return true; } catch (e) { return false; }
  }

  // ------------------------------------------------------------ incoming messages
  function validSession(m) { return isId(m.session); }
  function validPos(m) { return isInt(m.id) && isNum(m.x, 0, 1) && isNum(m.y, 0, 1); }
  function validChat(m) {
    return m && typeof m === 'object' && (m.sender === 'visitor' || m.sender === 'agent' || m.sender === 'system') &&
      isStr(m.name) && isStr(m.text, 4000) && isNum(m.at, 0, 9007199254740991);
  }
  // Shape checks for every message the relay may send a visitor; a message that fails is ignored.
  var VALID = {
    'hello': function (m) { return isStr(m.token, 128) && m.token.length > 0; },
    'chat.message': validChat,
    'chat.history': function (m) { return isId(m.conversation) && Array.isArray(m.messages); },
    'conversation.closed': function (m) { return isId(m.conversation); },
    'error': function (m) { return isStr(m.code) && isStr(m.message); },
    'invite.offer': function (m) {
      return isId(m.invite) && isStr(m.agent) && (m.mode === 'view_only' || m.mode === 'shared') &&
        isNum(m.expires_at, 0, 9007199254740991) && (m.session === undefined || isId(m.session));
    },
    'invite.state': function (m) { return isId(m.invite) && isStr(m.state); },
    'session.started': function (m) {
      return validSession(m) && (m.mode === 'view_only' || m.mode === 'shared') && isStr(m.agent) &&
        (m.mask_selectors === undefined || Array.isArray(m.mask_selectors));
    },
    'session.ended': validSession,
    'resync': validSession,
    'pointer': function (m) { return validSession(m) && validPos(m); },
    'highlight': function (m) {
      return validSession(m) && validPos(m) && (m.kind === 'circle' || m.kind === 'wiggle' || m.kind === 'outline');
    },
    'scroll': function (m) { return validSession(m) && isInt(m.id) && isNum(m.x, -1e7, 1e7) && isNum(m.y, -1e7, 1e7); },
    'act.click': function (m) { return validSession(m) && validPos(m); },
    'act.input': function (m) {
      return validSession(m) && isInt(m.id) &&
        ((isStr(m.value, 100000) && m.checked === undefined) || (typeof m.checked === 'boolean' && m.value === undefined));
    },
    'act.navigate': function (m) { return validSession(m) && isStr(m.url, 8192); },
    'selection': function (m) { return validSession(m) && isArr(m.ranges) && m.ranges.length <= 16; },
    'session.config': function (m) { return validSession(m) && isArr(m.mask_selectors); }
  };

  function receive(data) {
    var m;
    try { m = jsonParse(data); } catch (e) { return; }
    if (!m || typeof m !== 'object' || Array.isArray(m) || m.v !== 1 || typeof m.type !== 'string') return;
    var check = Object.prototype.hasOwnProperty.call(VALID, m.type) ? VALID[m.type] : null;
    if (!check || !check(m)) return;
    var handler = HANDLERS[m.type];
    // Session-scoped messages only ever apply to the session this page is in.
    if (m.session !== undefined && m.type !== 'session.started' && m.type !== 'hello' &&
      (!session || m.session !== session.id)) return;
    handler(m);
  }

  var HANDLERS = {
    'hello': function (m) {
      helloSeen = true;
      attempt = 0;
      saveToken(m.token);
      setStatus('');
      // hello names the conversation's active session, if any (session.started follows);
      // without one, the session ended while this page was away.
      if (session && session.suspended && m.session !== session.id) endSession();
      if (endPending && send('session.end', { session: endPending })) endPending = null;
      var queued = outbox;
      outbox = [];
      for (var i = 0; i < queued.length; i++) send('chat.send', { text: queued[i] });
    },
    'chat.message': function (m) { addMessage(m); },
    'chat.history': function (m) {
      clearLog();
      for (var i = 0; i < m.messages.length; i++) if (validChat(m.messages[i])) addMessage(m.messages[i], true);
    },
    'conversation.closed': function () {
      ended = true;
      hideInvite();
      endSession();
      addMessage({ sender: 'system', name: '', text: 'The conversation has ended.', at: Date.now() });
    },
    'error': function (m) { addNotice(m.message); },
    'invite.offer': function (m) { showInvite(m); },
    'invite.state': function (m) {
      if (invite && invite.id === m.invite && m.state !== 'pending') hideInvite();
    },
    'session.started': function (m) {
      if (m.session === endPending) { if (send('session.end', { session: m.session })) endPending = null; return; }
      startSession(m);
    },
    'session.ended': function () { endSession(); },
    'resync': function () { if (session && !session.suspended) startCapture(); },
    'pointer': function (m) { showAgentPointer(m.id, m.x, m.y); },
    'highlight': function (m) { highlight(m); },
    'scroll': function (m) { remoteScroll(m); },
    'act.click': function (m) { if (shared()) actClick(m); },
    'act.input': function (m) { if (shared()) actInput(m); },
    'act.navigate': function (m) { if (shared()) actNavigate(m); },
    'selection': function (m) { showSelection(m); },
    // New mask selectors while the session runs: a fresh snapshot under the new mask (the
    // renderer masks by the same selectors, so nothing newly masked stays visible there).
    'session.config': function (m) {
      setMaskSelectors(m.mask_selectors);
      if (session && !session.suspended) startCapture();
    }
  };

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
      w: null, streaming: false, polls: 0, poll: false, scrollLater: [], scrollAt: 0, moved: new SetCtor(), closed: new SetCtor() };
    if (D.readyState === 'loading') {
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
      for (var i = 0; i < recs.length; i++) c.records.push(recs[i]);
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
        url: String(location.href).slice(0, 8192), title: String(D.title || '').slice(0, 4096),
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
    return { w: Math.max(1, W.innerWidth || 1), h: Math.max(1, W.innerHeight || 1), dpr: W.devicePixelRatio || 1 };
  }
  function onRecords(c, records) {
    if (cap !== c || !records) return;
    for (var i = 0; i < records.length; i++) c.records.push(records[i]);
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
    var records = c.records.concat(observer ? moTake(observer) : []);
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
      if (r.type === 'childList') {
        for (j = 0; j < r.removedNodes.length; j++) {
          var gone = r.removedNodes[j];
          if (alive(gone)) {
            var gid = ids.get(gone);
            removes.push(gid);
            mirror.delete(gid);
            if (loading()) c.moved.add(gone);
          }
        }
        for (j = 0; j < r.addedNodes.length; j++) candidates.add(r.addedNodes[j]);
      } else if (r.type === 'attributes') {
        var set = attrSeen.get(r.target);
        if (!set) { set = new SetCtor(); attrSeen.set(r.target, set); }
        set.add(r.attributeName);
      } else if (r.type === 'characterData') {
        textSeen.add(r.target);
      }
    }
    // A frame that loaded a new document: the replica gets the frame again, with it.
    c.reframe.forEach(function (f) {
      if (!alive(f)) return;
      removes.push(ids.get(f));
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
      if (p && alive(p)) roots.push(n);
    });
    roots.sort(function (a, b) { return compareDocPos(a, b) & 4 ? -1 : 1; });
    if (!loading()) { c.touched.clear(); c.moved.clear(); } // no cursor left that needs them
    var w = new Walker(null);
    for (i = 0; i < roots.length; i++) w.stack.push({ n: roots[i], kids: null, pn: up(roots[i]), ctx: '', d: 0 });
    var fresh = new SetCtor(roots);
    if (!w.run(now() + SLICE_MS, CHUNK)) {
      // A big subtree arrived at once: the rest streams like the snapshot does.
      if (!c.w) c.w = new Walker(null);
      c.w.stack = c.w.stack.concat(w.stack);
      if (!c.streaming) { c.streaming = true; later(function () { stream(c); }, 0); }
    }
    var adds = w.adds;
    attrSeen.forEach(function (names, el) {
      if (!alive(el) || inFresh(el, fresh)) return;
      var id = ids.get(el);
      var field = isField(el);
      var remask = false;
      names.forEach(function (name) {
        if (!ATTR_RE.test(name) || name.charAt(0) === ':') return;
        if (MASK_TRIGGERS[name] === 1) remask = true;
        var mask = field ? fieldMask(el) : name === 'value' ? containerMask(el) : '';
        var v = wireAttr(el, name, getAttr(el, name), mask);
        if (v === null && name === 'value' && field && getAttr(el, 'value') !== null) return;
        attrs.push([id, name, v]);
      });
      if (remask) remaskSubtree(el, values, textSeen);
    });
    textSeen.forEach(function (t) {
      if (!alive(t) || inFresh(t, fresh)) return;
      var p = parentNode(t);
      var masked = p && nodeType(p) === 1 && (containerMask(p) || (isField(p) && fieldMask(p)));
      var text = maskText(nodeValue(t) || '', masked);
      texts.push([ids.get(t), text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text]);
    });
    // Values set by script without an event (browser autofill, password managers, frameworks):
    // the focused field at every flush, every field on the periodic poll.
    pollFields(c, values, full);
    values.forEach(function (el) {
      if (!alive(el) || inFresh(el, fresh)) return;
      var id = ids.get(el);
      if (tagOf(el) === 'option') {
        if (!optionMasked(el)) attrs.push([id, ':selected', selectedOf(el) ? '1' : null]);
        return;
      }
      var mask = fieldMask(el);
      if (mask) {
        attrs.push([id, ':masked', mask], [id, ':value', PLACEHOLDER]);
        if (getAttr(el, 'value') !== null) attrs.push([id, 'value', null]);
        return;
      }
      var f = fieldWire(el);
      if (!f) return;
      lastVal.set(el, f[0] + f[1]);
      attrs.push([id, f[0], f[1]]);
    });
    c.closed.forEach(function (el) {
      if (alive(el) && !inFresh(el, fresh)) attrs.push([ids.get(el), ':shadow', 'closed']);
    });
    c.closed.clear();
    // Scroll offsets of what the stream sent, SCROLL_MS of reads a frame: a few slices of a big
    // page are tens of thousands of elements (a task well over 50 ms); the rest waits a frame.
    var scrolled = c.scrollLater;
    var stop = now() + SCROLL_MS;
    for (i = c.scrollAt; i < scrolled.length; i++) {
      if ((i & 127) === 0 && i > c.scrollAt && now() > stop) break;
      var so = scrollOffset(scrolled[i]); // 0,0 for most: cheaper than alive() first
      if (so && alive(scrolled[i])) attrs.push([ids.get(scrolled[i]), ':scroll', so]);
    }
    if (i < scrolled.length) c.scrollAt = i;
    else { c.scrollLater = []; c.scrollAt = 0; }
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
      var budget = Math.min(FIELD_POLL_BUDGET, c.fields.size);
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
  function pollSheets(c, adds, attrs, texts, full) {
    if (full) c.polls++;
    var deep = full && c.polls % 3 === 0; // full text comparison every third poll (~3 s)
    for (var i = 0; i < c.synth.length; i++) {
      var e = c.synth[i];
      var owner = e.owner;
      var ok = nodeType(owner) === 1 ? alive(owner) : isConnected(owner) && alive(owner);
      if (!ok) { c.synth.splice(i--, 1); if (e.adopted) c.adopted.delete(owner); continue; }
      var sheets = styleSheets(e);
      var count = ruleCount(sheets);
      if (count === e.count && !deep) continue;
      var text = rulesText(sheets);
      e.count = count;
      if (text === e.text) continue;
      e.text = text;
      if (e.tid) texts.push([e.tid, text]);
      else if (e.adopted) {
        e.id = nextId++;
        e.tid = nextId++;
        var parent = nodeType(owner) === 11 ? owner : docEl(owner);
        prevId = -1;
        adds.push({ parent: ids.get(parent), next: null, nodes: [adoptedStyle(e.id, e.tid, text)] });
      } else {
        e.tid = nextId++;
        attrs.push([e.id, ':cssom', 'sheet']);
        adds.push({ parent: e.id, next: null, nodes: [[e.tid, '#text', text]] });
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
      var n = stack.pop();
      var sr = nodeType(n) === 1 && shadowOf(n);
      if (sr) stack.push(sr);
      for (var c = firstChild(n); c; c = nextSibling(c)) {
        var t = nodeType(c);
        if (t === 3) textSeen.add(c);
        else if (t === 1) {
          if (isField(c) || tagOf(c) === 'option') values.add(c);
          var fd = tagOf(c) === 'iframe' && frameDoc(c);
          if (fd) stack.push(fd);
          stack.push(c);
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
  // The node's box in its own frame's viewport (event coordinates of that frame)...
  function localBox(node) {
    var t = nodeType(node);
    if (t === 9) return rectOf(docEl(node));
    if (t === 11) return rectOf(hostOf(node));
    if (t === 1) return rectOf(node);
    var r = rangeCreate(ownerDocOf(node));
    rangeSelect(r, node);
    return rangeRect(r);
  }
  // ...and the offset of that frame's viewport in the top page's (where the tag's UI draws).
  function frameOffset(node) {
    var x = 0;
    var y = 0;
    var doc = nodeType(node) === 9 ? node : ownerDocOf(node);
    for (var k = 0; doc && doc !== D && k < 20; k++) {
      var fe = null;
      try { fe = viewOf(doc).frameElement; } catch (e) { fe = null; }
      if (!fe) break;
      var b = rectOf(fe);
      x += b.left + fe.clientLeft;
      y += b.top + fe.clientTop;
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
    var t = ev.target;
    try { var path = composedPath(ev); if (path.length) t = path[0]; } catch (e) { /* keep target */ }
    return t;
  }
  function fromPage(ev) {
    var t = ev.target;
    return t !== host && !(host && t && nodeType(t) === 1 && contains(host, t));
  }

  var onPointerMove = guard(function (ev) {
    if (!ready() || !fromPage(ev)) return;
    lastPointer = { target: targetOf(ev), x: ev.clientX, y: ev.clientY };
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
  });
  var onClick = guard(function (ev) {
    // Only the visitor's own clicks: the agent's act.click dispatches untrusted events.
    if (!ev.isTrusted || !ready() || !fromPage(ev)) return;
    var node = knownAncestor(targetOf(ev));
    if (!node) return;
    var f = fractions(node, ev.clientX, ev.clientY);
    send('click', { session: session.id, id: ids.get(node), x: f.x, y: f.y });
  });
  var onScroll = guard(function (ev) {
    var t = targetOf(ev);
    if (t && nodeType(t) !== 1 && nodeType(t) !== 9) t = ev.target; // a window
    if (t && t.document) t = t.document;
    if (t && nodeType(t) === 1 && t === ownerDocOf(t).scrollingElement) t = ownerDocOf(t);
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
    if (nodeType(t) === 9) { var v = viewOf(t); x = v.scrollX; y = v.scrollY; } else { x = scrollLeftOf(t); y = scrollTopOf(t); }
    if (ifScrolled && !x && !y) return;
    var rs = remoteScrolled;
    if (rs && rs.target === t && Math.abs(rs.x - x) < 2 && Math.abs(rs.y - y) < 2 && now() - rs.at < 1000) return;
    if (!alive(t)) return;
    send('scroll', { session: session.id, id: ids.get(t), x: Math.round(x), y: Math.round(y) });
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
    if (isInput(t) && typeOf(t) === 'radio' && t.name) {
      // Checking a radio silently unchecks the rest of its group: no event fires for those.
      var scope = t.form || ownerDocOf(t);
      var group = qsa(nodeType(scope) === 9 ? docEl(scope) : scope, 'input[type=radio]');
      for (var i = 0; i < group.length; i++) if (group[i].name === t.name) cap.values.add(group[i]);
    } else if (tagOf(t) === 'select') {
      for (var k = 0; k < t.options.length; k++) cap.values.add(t.options[k]);
    }
    if (cap.ready) schedule(cap);
  });
  // The field the visitor is in gets an outline on the agent's side, as the agent's does here.
  var onFocus = guard(function (ev) {
    var t = targetOf(ev);
    if (!ready() || !t || nodeType(t) !== 1 || !(isField(t) || t.isContentEditable) || !alive(t)) return;
    send('highlight', { session: session.id, id: ids.get(t), kind: 'outline', x: 0.5, y: 0.5 });
  });
  // A same-origin frame navigated: its new document replaces the old one in the replica.
  var onLoad = guard(function (ev) {
    var t = ev.target;
    if (cap && cap.ready && t && nodeType(t) === 1 && tagOf(t) === 'iframe' && alive(t)) {
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
        out.push([ids.get(sc), rStartO(r), ids.get(ec), rEndO(r)]);
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
    listen(win, 'click', onClick, CAPTURE);
    listen(win, 'scroll', onScroll, CAPTURE);
    listen(win, 'input', onFormEvent, CAPTURE);
    listen(win, 'change', onFormEvent, CAPTURE);
    listen(win, 'focusin', onFocus, CAPTURE);
    // load does not reach the window from an element (HTML's event path stops at the document).
    listen(doc, 'load', onLoad, CAPTURE);
    listen(doc, 'selectionchange', onSelection, CAPTURE);
  }
  hookWindow(W);
  listen(W, 'resize', onResize, { passive: true });
  listen(W, 'pagehide', onPageHide, CAPTURE);

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
        rSetStart(r, a, Math.min(q[1] >>> 0, nodeLen(a)));
        rSetEnd(r, b, Math.min(q[3] >>> 0, nodeLen(b)));
      } catch (e) { continue; }
      var o = frameOffset(a);
      var rects = rRects(r);
      for (var k = 0; k < rects.length && k < 500; k++) {
        var box = el('div', 'cb-selection', 'selrect');
        css(box, 'transform', 'translate(' + (rects[k].left + o.x) + 'px,' + (rects[k].top + o.y) + 'px)');
        css(box, 'width', rects[k].width + 'px');
        css(box, 'height', rects[k].height + 'px');
        appendChild(ui.sel, box);
      }
    }
  }
  function nodeLen(n) { return nodeType(n) === 1 || nodeType(n) === 11 ? childCount(n).length : (nodeValue(n) || '').length; }
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
      viewOf(node).scrollTo(m.x, m.y);
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
    var PE = win.PointerEvent || win.MouseEvent;
    var ME = win.MouseEvent;
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
    if (node.disabled || node.readOnly) return;
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
        dispatch(node, new Event('input', { bubbles: true }));
        dispatch(node, new Event('change', { bubbles: true }));
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
    dispatch(node, new Event('input', { bubbles: true, composed: true }));
    dispatch(node, new Event('change', { bubbles: true }));
  }
  function actNavigate(m) {
    var target;
    try { target = new URLCtor(m.url, location.href); } catch (e) { return; }
    if (target.origin !== location.origin || !/^https?:$/.test(target.protocol)) return;
    locationAssign(location, target.href);
  }

  // ------------------------------------------------------------ UI (closed shadow root)
  // The host is `contain: strict` (its size comes from `inset:0`, never from its content): showing
  // the frame or hiding the invite need not lay out the page around it (on a 120k-element page
  // that layout was a 35-55 ms part of the first frame after Accept).
  var CSS_TEXT = [
    ':host{all:initial!important;position:fixed!important;inset:0!important;pointer-events:none!important;' +
      'z-index:2147483647!important;display:block!important;contain:strict!important;' +
      'font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif!important;color:#1d2330!important}',
    '[hidden]{display:none!important}',
    '*{box-sizing:border-box}',
    'button{font:inherit;cursor:pointer}',
    '.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;' +
      'background:#2457c5;color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);pointer-events:auto;font-size:22px}',
    '.launcher:focus-visible,.panel button:focus-visible,.invite button:focus-visible{outline:3px solid #f5b400;outline-offset:2px}',
    '.launcher .dot{position:absolute;top:6px;right:6px;width:12px;height:12px;border-radius:50%;background:#e5383b}',
    '.panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:460px;' +
      'max-height:calc(100vh - 120px);display:flex;flex-direction:column;background:#fff;border-radius:12px;' +
      'box-shadow:0 8px 30px rgba(0,0,0,.25);pointer-events:auto;overflow:hidden}',
    '.head{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;background:#2457c5;color:#fff;font-weight:600}',
    '.head button{background:none;border:0;color:#fff;font-size:20px;line-height:1}',
    '.status{padding:4px 14px;font-size:12px;color:#5a6275;background:#f3f5f9}',
    '.log{flex:1;overflow-y:auto;padding:10px 12px;display:flex;flex-direction:column;gap:6px}',
    '.msg{max-width:85%;padding:6px 10px;border-radius:10px;background:#eef1f7;white-space:pre-wrap;overflow-wrap:anywhere}',
    '.msg[data-sender=visitor]{align-self:flex-end;background:#2457c5;color:#fff}',
    '.msg[data-sender=system]{align-self:center;background:none;color:#5a6275;font-size:12px}',
    '.msg .name{display:block;font-size:11px;font-weight:600;opacity:.75}',
    '.notice{align-self:center;font-size:12px;color:#9b2c2c}',
    '.form{display:flex;gap:6px;padding:8px;border-top:1px solid #e3e6ee}',
    '.form textarea{flex:1;resize:none;height:40px;font:inherit;padding:8px;border:1px solid #c9cedb;border-radius:8px}',
    '.form button{border:0;border-radius:8px;background:#2457c5;color:#fff;padding:0 14px}',
    '.invite{position:fixed;right:20px;bottom:88px;width:320px;max-width:calc(100vw - 40px);background:#fff;' +
      'border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);padding:14px;pointer-events:auto;z-index:2}',
    '.invite p{margin:0 0 10px}',
    '.invite .row{display:flex;gap:8px;justify-content:flex-end}',
    '.invite button{border:0;border-radius:8px;padding:6px 14px}',
    '.accept{background:#1f8a4c;color:#fff}.decline{background:#e3e6ee;color:#1d2330}',
    '.frame{position:fixed;inset:0;border:4px solid #f5b400;pointer-events:none}',
    '.bar{position:fixed;top:0;left:50%;transform:translateX(-50%);display:flex;align-items:center;gap:8px;' +
      'background:#f5b400;color:#1d2330;padding:3px 6px 5px 12px;border-radius:0 0 8px 8px;font-size:13px;font-weight:600;pointer-events:none}',
    '.bar button{pointer-events:auto;border:0;background:#1d2330;color:#fff;border-radius:50%;width:22px;height:22px;line-height:1}',
    '.layer{position:fixed;left:0;top:0;width:0;height:0;pointer-events:none}',
    '.pointer{position:fixed;left:0;top:0;pointer-events:none;transition:transform .08s linear}',
    '.pointer .arrow{width:0;height:0;border-left:7px solid #c2185b;border-right:7px solid transparent;' +
      'border-bottom:7px solid transparent;border-top:7px solid #c2185b}',
    '.pointer .label{display:inline-block;margin:2px 0 0 10px;padding:1px 6px;border-radius:6px;background:#c2185b;color:#fff;font-size:12px;white-space:nowrap}',
    '.circle{position:fixed;left:-20px;top:-20px;width:40px;height:40px;border-radius:50%;' +
      'background:rgba(255,214,0,.45);border:3px solid #ffd600;pointer-events:none}',
    '.outline{position:fixed;left:0;top:0;border:3px solid #c2185b;border-radius:4px;pointer-events:none}',
    '.selrect{position:fixed;left:0;top:0;background:rgba(194,24,91,.25);pointer-events:none}'
  ].join('\n');

  var ui = null;
  var invite = null; // {id, timer}
  var panelOpen = false;

  var SVG_NS = 'http://www.w3.org/2000/svg';
  function el(tag, testid, cls, text) {
    var e = createElement(D, tag);
    if (testid) setAttr(e, 'data-testid', testid);
    if (cls) setAttr(e, 'class', cls);
    if (text) textContentSet(e, text);
    return e;
  }
  function css(e, prop, value) { styleSetProp(styleOf(e), prop, value); }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) appendChild(parent, arguments[i]);
    return parent;
  }

  function buildUI() {
    host = createElement(D, 'cobrowse-ui');
    var root = attachShadow(host, { mode: 'closed' });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS_TEXT);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      // Browsers without constructable stylesheets (and only those) get a <style> element.
      add(root, el('style', '', '', CSS_TEXT));
    }
    // A drawn speech bubble: an emoji would depend on the visitor's fonts.
    var launcher = el('button', 'cb-chat-open', 'launcher');
    var icon = createElementNS(D, SVG_NS, 'svg');
    setAttr(icon, 'viewBox', '0 0 24 24');
    setAttr(icon, 'width', '26');
    setAttr(icon, 'height', '26');
    setAttr(icon, 'aria-hidden', 'true');
    var bubble = createElementNS(D, SVG_NS, 'path');
    setAttr(bubble, 'd', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    setAttr(bubble, 'fill', 'currentColor');
    add(launcher, add(icon, bubble));
    setAttr(launcher, 'aria-label', 'Chat with us');
    setAttr(launcher, 'aria-expanded', 'false');
    var dot = el('span', '', 'dot');
    dot.hidden = true;
    add(launcher, dot);

    var panel = el('section', 'cb-chat-panel', 'panel');
    setAttr(panel, 'aria-label', 'Chat');
    panel.hidden = true;
    var close = el('button', 'cb-chat-close', '', '\u00D7');
    setAttr(close, 'aria-label', 'Close chat');
    var head = add(el('div', '', 'head'), el('span', '', '', 'Chat with us'), close);
    var status = el('div', 'cb-chat-status', 'status');
    status.hidden = true;
    var log = el('div', 'cb-chat-log', 'log');
    setAttr(log, 'role', 'log');
    setAttr(log, 'aria-live', 'polite');
    var input = el('textarea', 'cb-chat-input');
    setAttr(input, 'maxlength', '4000');
    setAttr(input, 'rows', '1');
    setAttr(input, 'placeholder', 'Type a message');
    setAttr(input, 'aria-label', 'Message');
    var sendBtn = el('button', 'cb-chat-send', '', 'Send');
    var form = add(el('div', '', 'form'), input, sendBtn);
    add(panel, head, status, log, form);

    var inv = el('div', 'cb-invite', 'invite');
    setAttr(inv, 'role', 'alertdialog');
    inv.hidden = true;
    var invText = el('p', 'cb-invite-text');
    var accept = el('button', 'cb-invite-accept', 'accept', 'Accept');
    var decline = el('button', 'cb-invite-decline', 'decline', 'Decline');
    add(inv, invText, add(el('div', '', 'row'), decline, accept));

    var frameEl = el('div', 'cb-frame', 'frame');
    frameEl.hidden = true;
    var barText = el('span', 'cb-frame-label');
    var end = el('button', 'cb-end', '', '\u00D7');
    setAttr(end, 'aria-label', 'End screen sharing');
    setAttr(end, 'title', 'End screen sharing');
    add(frameEl, add(el('div', '', 'bar'), barText, end));

    var layer = el('div', '', 'layer');
    var pointer = el('div', 'cb-agent-pointer', 'pointer');
    pointer.hidden = true;
    var pointerLabel = el('span', 'cb-agent-pointer-label', 'label');
    add(pointer, el('div', '', 'arrow'), pointerLabel);
    var selLayer = el('div', '', 'layer');
    add(layer, selLayer, pointer);

    add(root, frameEl, layer, panel, inv, launcher);
    ui = { root: root, launcher: launcher, dot: dot, panel: panel, status: status, log: log, input: input,
      invite: inv, inviteText: invText, frame: frameEl, frameLabel: barText, layer: layer, pointer: pointer,
      pointerLabel: pointerLabel, sel: selLayer };

    listen(launcher, 'click', guard(function () { togglePanel(!panelOpen); }));
    listen(close, 'click', guard(function () { togglePanel(false); }));
    listen(sendBtn, 'click', guard(sendChat));
    listen(input, 'keydown', guard(function (ev) {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendChat(); }
    }));
    listen(accept, 'click', guard(function () { answerInvite('invite.accept'); }));
    listen(decline, 'click', guard(function () { answerInvite('invite.decline'); }));
    listen(end, 'click', guard(function () {
      if (!session) return;
      // If the socket is down, say it on the next hello, or the relay would resume the session.
      if (!send('session.end', { session: session.id })) endPending = session.id;
      endSession();
    }));
    // Keys typed into the chat must not trigger the page's own keyboard shortcuts.
    var stop = guard(function (ev) { stopProp(ev); });
    var KEYS = ['keydown', 'keyup', 'keypress', 'input', 'beforeinput', 'change'];
    for (var i = 0; i < KEYS.length; i++) listen(root, KEYS[i], stop);
    appendChild(docEl(D), host);
  }

  function togglePanel(open) {
    panelOpen = open;
    ui.panel.hidden = !open;
    setAttr(ui.launcher, 'aria-expanded', open ? 'true' : 'false');
    if (open) {
      ui.dot.hidden = true;
      connect();
      try { htmlFocus(ui.input); } catch (e) { /* not focusable yet */ }
      ui.log.scrollTop = ui.log.scrollHeight;
    }
  }
  function setStatus(text) {
    if (!ui) return;
    textContentSet(ui.status, text);
    ui.status.hidden = !text;
  }
  function sendChat() {
    var text = valueOf(ui.input);
    if (!/\S/.test(text)) return;
    text = text.slice(0, 4000);
    if (ended) {
      // The relay refuses chat.send in an ended conversation: start a new one, then send.
      ended = false;
      outbox.push(text);
      reconnect();
    } else if (!send('chat.send', { text: text })) {
      outbox.push(text);
      connect();
    }
    apply(valueSetters.textarea, ui.input, ['']);
  }
  function clearLog() {
    while (firstChild(ui.log)) removeChild(ui.log, firstChild(ui.log));
  }
  function addMessage(m, quiet) {
    var row = el('div', 'cb-msg', 'msg');
    setAttr(row, 'data-sender', m.sender);
    if (m.sender !== 'visitor' && m.name) add(row, el('span', '', 'name', m.name));
    add(row, el('span', '', 'text', m.text));
    try { setAttr(row, 'title', new Date(m.at).toLocaleString()); } catch (e) { /* bad date */ }
    appendChild(ui.log, row);
    ui.log.scrollTop = ui.log.scrollHeight;
    if (!quiet && !panelOpen && m.sender !== 'visitor') ui.dot.hidden = false;
  }
  function addNotice(text) {
    var row = el('div', 'cb-chat-error', 'notice', text || 'Something went wrong.');
    setAttr(row, 'role', 'status');
    appendChild(ui.log, row);
    ui.log.scrollTop = ui.log.scrollHeight;
  }
  function modeWords(mode) { return mode === 'shared' ? 'shared' : 'view only'; }
  function showInvite(m) {
    hideInvite();
    invite = { id: m.invite, timer: 0 };
    // An upgrade (the offer names this page's session): the agent already sees the page.
    var text = m.session && session && m.session === session.id ?
      m.agent + ' asks for shared control: they will be able to click, type and navigate for you.' :
      m.agent + ' would like to see this page with you (' + modeWords(m.mode) + ').' +
      (m.mode === 'shared' ? ' They will be able to click and fill in fields for you.' :
        ' They can point and highlight, but not click or type.');
    textContentSet(ui.inviteText, text + ' Masked fields stay hidden.');
    ui.invite.hidden = false;
    var left = m.expires_at - Date.now();
    if (left > 0 && left < 86400000) invite.timer = later(hideInvite, left);
  }
  function hideInvite() {
    if (invite) cancel(invite.timer);
    invite = null;
    if (ui) ui.invite.hidden = true;
  }
  function answerInvite(type) {
    if (!invite) return;
    send(type, { invite: invite.id });
    hideInvite();
  }
  function showFrame() {
    textContentSet(ui.frameLabel, 'Sharing this tab with ' + session.agent + ' (' + modeWords(session.mode) + ')');
    textContentSet(ui.pointerLabel, session.agent);
    ui.frame.hidden = false;
  }
  function hideFrame() {
    if (!ui) return;
    ui.frame.hidden = true;
    ui.pointer.hidden = true;
    agentPointer = null;
    agentSel = null;
    drawSelection();
    while (ui.layer.lastChild && ui.layer.lastChild !== ui.pointer) removeChild(ui.layer, ui.layer.lastChild);
  }

  // ------------------------------------------------------------ tab identity
  // Chromium copies sessionStorage into a tab opened by window.open or duplicated: a page asks
  // the origin's live pages whether one holds its tab id. Only a copy gets an answer (a tab's
  // previous page is gone); a copy starts a conversation of its own.
  var tabId = loadStored().tab;
  var channel = null;
  var tabSettled = false; // this page knows it is the tab's own (answering before would race)
  function newTabId() {
    var a = new Uint32Array(2);
    W.crypto.getRandomValues(a);
    return a[0].toString(36) + a[1].toString(36);
  }
  function resume() {
    if (!isStr(tabId, 32) || !tabId || !channel) {
      tabId = isStr(tabId, 32) && tabId ? tabId : newTabId();
      tabSettled = true;
      connect();
      return;
    }
    var copy = false;
    listen(channel, 'message', guard(function (ev) {
      var d = ev.data;
      if (d && d.have === tabId) copy = true;
    }));
    channel.postMessage({ ask: tabId });
    later(function () {
      tabSettled = true;
      if (copy) {
        tabId = newTabId();
        saveToken(null);
        return; // the visitor's first chat action starts this tab's own conversation
      }
      connect();
    }, 150);
  }

  // ------------------------------------------------------------ start
  guard(function () {
    buildUI();
    try {
      channel = BC ? new BC('cobrowse-tabs') : null;
      if (channel) {
        listen(channel, 'message', guard(function (ev) {
          var d = ev.data;
          if (d && d.ask && d.ask === tabId && tabSettled && loadToken()) channel.postMessage({ have: tabId });
        }));
      }
    } catch (e) { channel = null; }
    // A stored token means this tab already has a conversation: resume it, so a session
    // survives navigation and reload.
    if (loadToken()) resume();
    else { tabId = newTabId(); tabSettled = true; }
  })();
})();
