/*
 * cobrowse web tag (protocol v1): chat, invites, and the visitor side of a co-browsing session.
 *
 * Owns: the visitor socket (/ws/visitor), the chat and invite UI (closed shadow root), capture of
 * the page as a node stream (dom.snapshot / dom.mutations, docs/protocol.md "Nodes"), masking,
 * presence events, and applying the agent's pointer/highlight/scroll/act.* messages.
 * Must not: send a masked value on any path, evaluate code or HTML from the wire, let an
 * exception reach the page, or rely on anything the page can overwrite after load.
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
  var slice = Array.prototype.slice;
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
  function un(f) {
    return function (self) { return apply(f, self, apply(slice, arguments, [1])); };
  }
  function getter(proto, name) {
    var d = getOwnPD(proto, name);
    var g = d && d.get;
    // Not an accessor on the prototype (a polyfill or a test double): read the property.
    if (!g) return function (self) { return self[name]; };
    return function (self) { return apply(g, self, []); };
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
  var getAttr = un(ElementP.getAttribute);
  var hasAttr = un(ElementP.hasAttribute);
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
  var attrName = getter(Attr.prototype, 'name');
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

  var INPUT = W.HTMLInputElement;
  var TEXTAREA = W.HTMLTextAreaElement;
  var SELECT = W.HTMLSelectElement;
  var OPTION = W.HTMLOptionElement;
  var SCRIPT_EL = W.HTMLScriptElement;
  var HTMLELEMENT = W.HTMLElement;

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
      if (token) storageSet(store, STORE_KEY, encode({ token: token, next: nextId }));
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
  var URL_ATTRS = { href: 1, src: 1, action: 1, poster: 1, 'xlink:href': 1 };
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
  function containerMask(el) {
    if (!el || nodeType(el) !== 1) return '';
    if (closest(el, '[' + MASK_ATTR + ']')) return 'attribute';
    if (maskSelector && closest(el, maskSelector)) return 'selector';
    return '';
  }
  function fieldKind(el) {
    return el instanceof INPUT ? 'input' : el instanceof TEXTAREA ? 'textarea' : 'select';
  }
  // The field's live value through the native getter (React and Vue wrap `value` per instance).
  function valueOf(el) { return String(valueGetters[fieldKind(el)](el)); }
  function typeOf(el) { return String(inputType(el)).toLowerCase(); }
  function isField(el) { return el instanceof INPUT || el instanceof TEXTAREA || el instanceof SELECT; }
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
    if (el instanceof INPUT && String(getAttr(el, 'type') || '').toLowerCase() === 'password') reason = 'password';
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
    while (id) {
      if (!mirror.has(id)) return false;
      if (id === docId) return true;
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
  function absUrl(v) {
    try { return new URLCtor(v, D.baseURI).href; } catch (e) { return v; }
  }
  function absSrcset(v) {
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
      out.push(absUrl(url) + (desc ? ' ' + desc : ''));
    }
    return out.join(', ');
  }
  // What goes on the wire for attribute `name` of `el`, or null to leave it out.
  function wireAttr(el, name, value, masked) {
    if (value === null || !ATTR_RE.test(name) || name.charAt(0) === ':') return null;
    if (name === 'value' && el instanceof INPUT) {
      // A masked field's value attribute is its secret (React mirrors value into it); a hidden
      // input's value is never shown and often a CSRF or session token.
      if (masked || String(getAttr(el, 'type') || '').toLowerCase() === 'hidden') return null;
    }
    if (URL_ATTRS[name] === 1 && value) value = absUrl(value);
    else if (name === 'srcset' && value) value = absSrcset(value);
    if (value.length > MAX_ATTR) return null;
    return value;
  }
  function fieldState(el, attrs, mask) {
    if (mask) {
      attrs[':masked'] = mask;
      attrs[':value'] = PLACEHOLDER;
      return;
    }
    if (el instanceof INPUT) {
      var type = typeOf(el);
      if (type === 'checkbox' || type === 'radio') {
        if (checkedOf(el)) attrs[':checked'] = '1';
      } else if (type !== 'file' && type !== 'hidden' && type !== 'submit' && type !== 'button' &&
                 type !== 'reset' && type !== 'image') {
        attrs[':value'] = valueOf(el);
      }
    } else {
      attrs[':value'] = valueOf(el);
    }
  }

  var host = null; // the tag's UI host; never captured

  // Serialize one node (not its children). Returns null for nodes the protocol leaves out.
  // ctx: container mask of the node's parent chain ('' or a reason).
  function serializeNode(node, ctx, parentEl) {
    var t = nodeType(node);
    var id;
    if (t === 3) {
      var text = nodeValue(node) || '';
      var masked = ctx || (parentEl && isField(parentEl) && fieldMask(parentEl, ctx));
      text = maskText(text, masked);
      if (text.length > MAX_TEXT) text = text.slice(0, MAX_TEXT);
      return [idOf(node), '#text', text];
    }
    if (t === 1) {
      if (node === host) return null;
      var name = localNameOf(node);
      if (!TAG_RE.test(name)) return null;
      id = idOf(node);
      var attrs = {};
      var field = isField(node);
      var mask = field ? fieldMask(node, ctx) : '';
      var list = attributesOf(node);
      for (var i = 0; i < list.length; i++) {
        var a = list[i];
        var an = attrName(a);
        var av = wireAttr(node, an, attrValue(a), mask);
        if (av !== null) attrs[an] = av;
      }
      if (field) fieldState(node, attrs, mask);
      else if (node instanceof OPTION && selectedOf(node) && !optionMasked(node)) attrs[':selected'] = '1';
      var sl = scrollLeftOf(node);
      var st = scrollTopOf(node);
      if ((sl || st) && node !== D.scrollingElement) attrs[':scroll'] = Math.round(sl) + ',' + Math.round(st);
      return [id, name, attrs, []];
    }
    if (t === 8) return [idOf(node), '#comment', ''];
    if (t === 10) return [idOf(node), '#doctype', String(node.name || 'html')];
    if (t === 9) return [idOf(node), '#document', []];
    return null;
  }
  function optionMasked(opt) {
    var sel = opt.parentElement;
    while (sel && !(sel instanceof SELECT)) sel = sel.parentElement;
    return !!(sel && fieldMask(sel));
  }

  // Iterative subtree serializer, resumable so a large page can be done in time slices.
  function Walker(root, parentId, ctx, parentEl) {
    this.stack = [[root, null, parentId, ctx, parentEl, 0]];
    this.result = null;
  }
  // Runs until done (true) or until `deadline` (performance.now()) passes (false).
  Walker.prototype.run = function (deadline) {
    var stack = this.stack;
    var count = 0;
    while (stack.length) {
      if (deadline && (++count & 31) === 0 && now() > deadline) return false;
      var item = stack.pop();
      var node = item[0];
      var out = serializeNode(node, item[3], item[4]);
      if (!out) continue;
      var id = out[0];
      mirror.set(id, node);
      if (item[2]) rparent.set(id, item[2]);
      if (item[1]) item[1].push(out); else this.result = out;
      var t = nodeType(node);
      if ((t !== 1 && t !== 9) || item[5] >= MAX_DEPTH) continue;
      // <script> contents are code; the renderer strips scripts anyway, so never send them.
      if (node instanceof SCRIPT_EL) continue;
      var kids = out[t === 1 ? 3 : 2];
      var ctx = item[3];
      if (t === 1 && !ctx) ctx = hasAttr(node, MASK_ATTR) ? 'attribute' :
        (maskSelector && matches(node, maskSelector) ? 'selector' : '');
      var children = [];
      for (var c = firstChild(node); c; c = nextSibling(c)) children.push(c);
      for (var k = children.length - 1; k >= 0; k--) {
        stack.push([children[k], kids, id, ctx, t === 1 ? node : null, item[5] + 1]);
      }
    }
    return true;
  };

  // ------------------------------------------------------------ socket
  var ws = null;
  var wanted = false;
  var attempt = 0;
  var retryTimer = 0;
  var helloSeen = false;
  var outbox = []; // chat texts typed before the socket was ready

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
    'error': function (m) { return isStr(m.code) && isStr(m.message); },
    'invite.offer': function (m) {
      return isId(m.invite) && isStr(m.agent) && (m.mode === 'view_only' || m.mode === 'shared') &&
        isNum(m.expires_at, 0, 9007199254740991);
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
    'act.navigate': function (m) { return validSession(m) && isStr(m.url, 8192); }
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
    'act.navigate': function (m) { if (shared()) actNavigate(m); }
  };

  // ------------------------------------------------------------ session and capture
  var session = null; // {id, mode, agent, seq, suspended, expiry}
  var endPending = null; // a session the visitor ended while the socket was down
  var cap = null; // capture state of the current stream
  var capGen = 0;
  var observer = null;

  function shared() { return !!(session && !session.suspended && session.mode === 'shared'); }

  function startSession(m) {
    if (session && session.id !== m.session) endSession();
    if (!session) session = { id: m.session, seq: 0 };
    cancel(session.expiry);
    session.mode = m.mode;
    session.agent = m.agent;
    session.suspended = false;
    setMaskSelectors(m.mask_selectors);
    hideInvite();
    showFrame();
    startCapture();
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
    capGen++;
    cap = null;
    if (observer) { try { moDisconnect(observer); } catch (e) { /* already gone */ } observer = null; }
    mirror.clear();
    rparent.clear();
  }
  function startCapture() {
    stopCapture();
    if (!session) return;
    var c = cap = { gen: capGen, records: [], values: new SetCtor(), childDirty: false, ready: false,
      attempts: 0, scheduled: false, scrolls: new MapCtor() };
    if (D.readyState === 'loading') {
      // Resumed during a navigation: wait for the parser so the snapshot is not half a page.
      listen(D, 'DOMContentLoaded', guard(function () { if (cap === c) beginSnapshot(c); }), { once: true });
    } else beginSnapshot(c);
  }
  function beginSnapshot(c) {
    observer = new MO(guard(function (records) { onRecords(c, records); }));
    moObserve(observer, D, { childList: true, attributes: true, characterData: true, subtree: true });
    snapshotAttempt(c);
  }
  function snapshotAttempt(c) {
    if (cap !== c) return;
    c.attempts++;
    moTake(observer); // changes so far are in the DOM the walker is about to read
    c.childDirty = false;
    mirror.clear();
    rparent.clear();
    docId = idOf(D);
    var walker = new Walker(D, 0, '', null);
    // After three pages that changed under us, do it in one task: correct beats smooth.
    var sliced = c.attempts <= 3;
    var step = function () {
      if (cap !== c) return;
      var done = walker.run(sliced ? now() + 8 : 0);
      if (!done) { later(step, 0); return; }
      onRecords(c, moTake(observer));
      if (c.childDirty) { later(function () { snapshotAttempt(c); }, 0); return; }
      var vp = viewport();
      var ok = send('dom.snapshot', {
        session: session.id, seq: session.seq++, url: String(location.href).slice(0, 8192),
        title: String(D.title || '').slice(0, 4096), viewport: vp, doc: walker.result
      });
      if (!ok) return; // the socket dropped; the reconnect starts a new stream
      saveIds();
      c.ready = true;
      var se = D.scrollingElement || docEl(D);
      if (se && (scrollLeftOf(se) || scrollTopOf(se))) c.scrolls.set(D, 1);
      schedule(c);
    };
    step();
  }
  function viewport() {
    return { w: Math.max(1, W.innerWidth || 1), h: Math.max(1, W.innerHeight || 1), dpr: W.devicePixelRatio || 1 };
  }
  function onRecords(c, records) {
    if (cap !== c || !records) return;
    for (var i = 0; i < records.length; i++) {
      var r = records[i];
      if (!c.ready && r.type === 'childList') {
        // A child list changed while the snapshot was being cut: it may be inconsistent.
        if (r.target !== docEl(D) || !onlyHost(r)) c.childDirty = true;
        continue;
      }
      c.records.push(r);
    }
    if (c.ready) schedule(c);
  }
  function onlyHost(r) {
    var lists = [r.addedNodes, r.removedNodes];
    for (var j = 0; j < 2; j++) for (var k = 0; k < lists[j].length; k++) if (lists[j][k] !== host) return false;
    return true;
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
    var adds = [];
    var attrs = [];
    var texts = [];
    var candidates = new SetCtor();
    var attrSeen = new MapCtor();
    var textSeen = new SetCtor();
    var values = c.values;
    c.values = new SetCtor();
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
    // Adds: every connected node the replica lacks whose parent it has. In reverse document
    // order, so the `next` of each add is already in the replica when the add is applied.
    var roots = [];
    candidates.forEach(function (n) {
      if (n === host || !isConnected(n) || alive(n)) return;
      var p = parentNode(n);
      if (p && alive(p) && ownerOk(n)) roots.push(n);
    });
    roots.sort(function (a, b) { return compareDocPos(a, b) & 4 ? 1 : -1; });
    var fresh = new SetCtor();
    for (i = 0; i < roots.length; i++) {
      var n = roots[i];
      if (alive(n)) continue;
      var parent = parentNode(n);
      var pid = ids.get(parent);
      var ctx = nodeType(parent) === 1 ? containerMask(parent) : '';
      var w = new Walker(n, pid, ctx, nodeType(parent) === 1 ? parent : null);
      w.run(0);
      if (!w.result) continue;
      fresh.add(n);
      var next = nextSibling(n);
      while (next && !alive(next)) next = nextSibling(next);
      adds.push({ parent: pid, next: next ? ids.get(next) : null, node: w.result });
    }
    attrSeen.forEach(function (names, el) {
      if (!alive(el) || inFresh(el, fresh)) return;
      var id = ids.get(el);
      var field = isField(el);
      var remask = false;
      names.forEach(function (name) {
        if (!ATTR_RE.test(name) || name.charAt(0) === ':') return;
        if (MASK_TRIGGERS[name] === 1) remask = true;
        var mask = field ? fieldMask(el) : '';
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
    values.forEach(function (el) {
      if (!alive(el) || inFresh(el, fresh)) return;
      var id = ids.get(el);
      if (el instanceof OPTION) {
        if (!optionMasked(el)) attrs.push([id, ':selected', selectedOf(el) ? '1' : null]);
        return;
      }
      var mask = fieldMask(el);
      if (mask) {
        attrs.push([id, ':masked', mask], [id, ':value', PLACEHOLDER]);
        if (getAttr(el, 'value') !== null) attrs.push([id, 'value', null]);
        return;
      }
      var type = el instanceof INPUT ? typeOf(el) : '';
      if (type === 'checkbox' || type === 'radio') attrs.push([id, ':checked', checkedOf(el) ? '1' : null]);
      else if (type !== 'file' && type !== 'hidden') attrs.push([id, ':value', valueOf(el)]);
    });
    if (removes.length || adds.length || attrs.length || texts.length) {
      send('dom.mutations', { session: session.id, seq: session.seq++, adds: adds, removes: removes,
        attrs: attrs, texts: texts });
      if (adds.length) saveIds();
    }
    sweep();
    c.scrolls.forEach(function (_, target) { sendScroll(target); });
    c.scrolls.clear();
  }
  function ownerOk(n) { return n.ownerDocument === D; }
  function inFresh(node, fresh) {
    if (!fresh.size) return false;
    for (var n = node; n; n = parentNode(n)) if (fresh.has(n)) return true;
    return false;
  }
  // An element's mask-relevant attribute changed: re-send the texts and values below it.
  function remaskSubtree(el, values, textSeen) {
    if (nodeType(el) !== 1) return;
    if (isField(el)) values.add(el);
    var stack = [el];
    while (stack.length) {
      var n = stack.pop();
      for (var c = firstChild(n); c; c = nextSibling(c)) {
        var t = nodeType(c);
        if (t === 3) textSeen.add(c);
        else if (t === 1) { if (isField(c) || c instanceof OPTION) values.add(c); stack.push(c); }
      }
    }
  }
  var sweepAt = 0;
  // Forget ids of subtrees the replica dropped (their ancestors were removed), now and then.
  function sweep() {
    if (mirror.size < sweepAt * 2 + 1000) return;
    mirror.forEach(function (node, id) { if (!alive(node)) { mirror.delete(id); rparent.delete(id); } });
    sweepAt = mirror.size;
  }

  // ------------------------------------------------------------ visitor events
  var lastPointer = null;
  var pointerQueued = false;
  var viewportQueued = false;

  function ready() { return !!(session && cap && cap.ready && !session.suspended); }
  function knownAncestor(node) {
    for (var n = node; n; n = parentNode(n)) if (alive(n)) return n;
    return null;
  }
  function boxOf(node) {
    if (node === D) return rectOf(docEl(D));
    if (nodeType(node) === 1) return rectOf(node);
    var r = rangeCreate(D);
    rangeSelect(r, node);
    return rangeRect(r);
  }
  function fractions(node, cx, cy) {
    var b = boxOf(node);
    return { x: clamp01(b.width ? (cx - b.left) / b.width : 0), y: clamp01(b.height ? (cy - b.top) / b.height : 0) };
  }
  function fromPage(ev) {
    var t = ev.target;
    return t !== host && !(host && t && nodeType(t) === 1 && contains(host, t));
  }

  var onPointerMove = guard(function (ev) {
    if (!ready() || !fromPage(ev)) return;
    lastPointer = { target: ev.target, x: ev.clientX, y: ev.clientY };
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
    var node = knownAncestor(ev.target);
    if (!node) return;
    var f = fractions(node, ev.clientX, ev.clientY);
    send('click', { session: session.id, id: ids.get(node), x: f.x, y: f.y });
  });
  var onScroll = guard(function (ev) {
    var t = ev.target;
    if (t === D || t === W || t === D.scrollingElement) t = D;
    if (agentPointer) repositionAgentPointer();
    if (!ready() || !alive(t)) return;
    cap.scrolls.set(t, 1);
    schedule(cap);
  });
  var remoteScrolled = null; // {target, x, y, at}: a scroll the agent asked for (not echoed back)
  function sendScroll(t) {
    var x;
    var y;
    if (t === D) { x = W.scrollX; y = W.scrollY; } else { x = scrollLeftOf(t); y = scrollTopOf(t); }
    var rs = remoteScrolled;
    if (rs && rs.target === t && Math.abs(rs.x - x) < 2 && Math.abs(rs.y - y) < 2 && now() - rs.at < 1000) return;
    if (!alive(t)) return;
    send('scroll', { session: session.id, id: ids.get(t), x: Math.round(x), y: Math.round(y) });
  }
  var onResize = guard(function () {
    if (agentPointer) repositionAgentPointer();
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
    var t = ev.target;
    if (!t || t === host || !isField(t)) return;
    fieldMask(t); // a field seen as a password stays masked after its type changes
    if (!cap || !alive(t)) return;
    cap.values.add(t);
    if (t instanceof INPUT && typeOf(t) === 'radio' && t.name) {
      // Checking a radio silently unchecks the rest of its group: no event fires for those.
      var scope = t.form || D;
      var group = qsa(scope === D ? docEl(D) : scope, 'input[type=radio]');
      for (var i = 0; i < group.length; i++) if (group[i].name === t.name) cap.values.add(group[i]);
    } else if (t instanceof SELECT) {
      for (var k = 0; k < t.options.length; k++) cap.values.add(t.options[k]);
    }
    if (cap.ready) schedule(cap);
  });

  var CAPTURE = { capture: true, passive: true };
  listen(W, 'pointermove', onPointerMove, CAPTURE);
  listen(W, 'click', onClick, CAPTURE);
  listen(W, 'scroll', onScroll, CAPTURE);
  listen(W, 'resize', onResize, { passive: true });
  listen(W, 'input', onFormEvent, CAPTURE);
  listen(W, 'change', onFormEvent, CAPTURE);

  // ------------------------------------------------------------ agent presence and actions
  var agentPointer = null; // {id, x, y}
  function showAgentPointer(id, x, y) {
    agentPointer = { id: id, x: x, y: y };
    repositionAgentPointer();
  }
  function pointAt(id, x, y) {
    var node = nodeFor(id);
    if (!node) return null;
    var b = boxOf(node);
    return { node: node, x: b.left + x * b.width, y: b.top + y * b.height };
  }
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
      var b = boxOf(p.node);
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
    if (node === D) {
      remoteScrolled = { target: D, x: m.x, y: m.y, at: now() };
      W.scrollTo(m.x, m.y);
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
    var init = { bubbles: true, cancelable: true, composed: true, clientX: p.x, clientY: p.y, view: W, button: 0 };
    clickCircle(p.x, p.y);
    var PE = W.PointerEvent || W.MouseEvent;
    dispatch(node, new PE('pointerdown', init));
    dispatch(node, new W.MouseEvent('mousedown', init));
    if (node instanceof HTMLELEMENT) try { htmlFocus(node); } catch (e) { /* not focusable */ }
    dispatch(node, new PE('pointerup', init));
    dispatch(node, new W.MouseEvent('mouseup', init));
    // A dispatched click runs activation behaviour (links, checkboxes, submit buttons).
    dispatch(node, new W.MouseEvent('click', init));
  }
  function actInput(m) {
    var node = actTarget(m.id);
    if (!node || !isField(node) || fieldMask(node)) return; // never write into a masked field
    if (node.disabled || node.readOnly) return;
    if (typeof m.checked === 'boolean') {
      if (!(node instanceof INPUT)) return;
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
    if (node instanceof INPUT) {
      var t = typeOf(node);
      if (t === 'file' || t === 'checkbox' || t === 'radio' || t === 'hidden') return;
    }
    var set = node instanceof INPUT ? valueSetters.input : node instanceof TEXTAREA ? valueSetters.textarea : valueSetters.select;
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
  var CSS_TEXT = [
    ':host{all:initial!important;position:fixed!important;inset:0!important;pointer-events:none!important;' +
      'z-index:2147483647!important;display:block!important;contain:layout style!important;' +
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
    '.outline{position:fixed;left:0;top:0;border:3px solid #c2185b;border-radius:4px;pointer-events:none}'
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
    add(layer, pointer);

    add(root, frameEl, layer, panel, inv, launcher);
    ui = { root: root, launcher: launcher, dot: dot, panel: panel, status: status, log: log, input: input,
      invite: inv, inviteText: invText, frame: frameEl, frameLabel: barText, layer: layer, pointer: pointer,
      pointerLabel: pointerLabel };

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
    if (!send('chat.send', { text: text })) {
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
    textContentSet(ui.inviteText, m.agent + ' would like to see this page with you (' + modeWords(m.mode) + ').' +
      (m.mode === 'shared' ? ' They will be able to click and fill in fields for you.' :
        ' They can point and highlight, but not click or type.') + ' Masked fields stay hidden.');
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
    while (ui.layer.lastChild && ui.layer.lastChild !== ui.pointer) removeChild(ui.layer, ui.layer.lastChild);
  }

  // ------------------------------------------------------------ start
  guard(function () {
    buildUI();
    // A stored token means this tab already has a conversation: resume it at once, so a session
    // survives navigation and reload.
    if (loadToken()) connect();
  })();
})();
