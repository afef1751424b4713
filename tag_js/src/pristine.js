/*
 * pristine.js: what every later part stands on.
 * Owns: the built-ins the tag captures at load (each from a fresh same-origin realm when the page
 * replaced it first: observers, timers, WebSocket, JSON, Math, Array/Map/Set/String/RegExp
 * methods, event, node, element, document, range and stylesheet accessors), the small helpers
 * (guard, later, encode, push, test, shape checks), the relay's address and the tab's stored
 * state (token, next node id, tab id).
 * Must not: reach a page-overwritable built-in except through these references (a method call
 * on the tag's own arrays, strings or regexes goes through push, strSlice, test and the like), or
 * let a callback of the page's event loop run outside guard().
 */

// ------------------------------------------------------------ pristine references
// Captured now so a page that later overwrites window.addEventListener, JSON.stringify or
// DOM prototypes (zone.js, Prototype.js, analytics shims) cannot break or spy on the tag. A
// built-in the page replaced before this (async) script ran is taken from a fresh same-origin
// realm instead (rrweb getUntaintedPrototype / DOMPurify unapply do the same). The root of
// trust, the page's as it is (a page that breaks it gets what it has): the load guard (open.js:
// document.currentScript and its src, Object.defineProperty, Object.freeze), which runs first;
// the page's Reflect.apply and Function.prototype.toString as they answer the check below (on
// themselves and on Object.getOwnPropertyDescriptor, getPrototypeOf and defineProperty), which
// decides whether the tag needs that realm: nothing else can call a function on a chosen `this`
// before it exists; and, to make it, the page's getOwnPropertyDescriptor and the steps read with
// it from the page's prototypes (Document createElement and documentElement, Node appendChild,
// HTMLIFrameElement contentWindow). Once the realm exists, apply, getOwnPD, protoOf, defineProp
// and fnToString are its own (cleanRealm); if it is never needed, the page's the check passed.
var apply = Reflect.apply;
var getOwnPD = Object.getOwnPropertyDescriptor;
var protoOf = Object.getPrototypeOf;
var defineProp = Object.defineProperty;
var fnToString = Function.prototype.toString;
var cleanWin = null;

// Whether a function's source text ends in "{ [native code] }" (whitespace aside). Read with
// string indexing and comparisons only: no method the page could have replaced.
var NATIVE_TAIL = '{[nativecode]}';
function nativeText(s) {
  if (typeof s !== 'string') return false;
  var n = 0;
  for (var i = s.length - 1; i >= 0 && n < 14; i--) {
    var ch = s[i];
    if (ch > ' ') { if (ch !== NATIVE_TAIL[13 - n]) return false; n++; }
  }
  return n === 14;
}
function isNative(f) {
  try { return typeof f === 'function' && nativeText(apply(fnToString, f, [])); } catch (e) { return false; }
}
// The realm's frame stays in the page until releaseRealm(), at the end of this part's captures:
// a detached frame's window no longer has the interfaces (MutationObserver, URL, Event...) that
// were not read while it was attached (Chromium).
var cleanFrame = null;
function cleanRealm() {
  if (cleanWin === null) {
    cleanWin = false;
    try {
      cleanFrame = apply(pageStep('Document', 'createElement'), D, ['iframe']);
      apply(pageStep('Node', 'appendChild'), apply(pageStep('Document', 'documentElement', 'get'), D, []), [cleanFrame]);
      var w = apply(pageStep('HTMLIFrameElement', 'contentWindow', 'get'), cleanFrame, []);
      // The page's may be wrappers that vouched for themselves (and see every call): the realm's.
      apply = w.Reflect.apply;
      getOwnPD = w.Object.getOwnPropertyDescriptor;
      protoOf = w.Object.getPrototypeOf;
      defineProp = w.Object.defineProperty;
      fnToString = w.Function.prototype.toString;
      cleanWin = w;
    } catch (e) { /* no clean realm; keep what the page has */ }
  }
  return cleanWin;
}
// A step of making the realm: the page's prototype's own (an override on `document` is passed
// by), native or not (there is nothing else to make it with).
function pageStep(iface, name, kind) { return getOwnPD(W[iface].prototype, name)[kind || 'value']; }
function releaseRealm() {
  try { var p = cleanFrame && parentNode(cleanFrame); if (p) removeChild(p, cleanFrame); } catch (e) { /* gone */ }
  cleanFrame = null;
}
// A replaced toString (a wrapper, or one that calls every function native to hide the page's
// own wrappers, as anti-detection scripts do) would vouch for anything, a replaced apply or
// descriptor read sees (or bends) every call the tag makes: then the clean realm's. apply first:
// it makes every check, and a wrapper of it is called once.
if (!isNative(apply) || !isNative(fnToString) || isNative(isNative) || !isNative(getOwnPD) ||
  !isNative(protoOf) || !isNative(defineProp)) cleanRealm();
// get(w): a built-in of realm w. The page's if it is native; else the clean realm's if that
// one is (a test harness's or the checker's own doubles are in every realm: then the page's).
// A getter that throws counts as replaced.
function pick(get) {
  var f;
  try { f = get(W); } catch (e) { f = null; }
  if (isNative(f)) return f;
  var w = cleanRealm();
  var g = null;
  try { g = w && get(w); } catch (e) { g = null; }
  return isNative(g) ? g : f;
}
// Member `name` of interface `iface`'s prototype: its getter (kind 'get'), setter ('set') or
// value, picked as above.
function member(iface, name, kind) {
  return pick(function (w) {
    var d = getOwnPD(w[iface].prototype, name);
    return d && d[kind || 'value'];
  });
}
// A class the tag makes objects of and calls the methods of (on those objects): the page's if
// it and every member in `names` are native, else the clean realm's (whose objects carry that
// realm's untouched prototype), else the page's.
function pickClass(iface, names) {
  return pickWith(function (w) { var C = w[iface]; return isNative(C) && allNative(C.prototype, names) ? C : null; }) ||
    pageOwn(iface);
}
// The same for a namespace object (Math, JSON): the tag calls its functions as its methods.
function pickObject(name, names) {
  return pickWith(function (w) { var o = w[name]; return allNative(o, names) ? o : null; }) || pageOwn(name);
}
function allNative(o, names) {
  for (var i = 0; i < names.length; i++) {
    var d = getOwnPD(o, names[i]);
    if (!d || !(isNative(d.value) || isNative(d.get))) return false;
  }
  return true;
}
function pickWith(ok) {
  var x = null;
  try { x = ok(W); } catch (e) { x = null; }
  if (x) return x;
  try { x = cleanRealm() && ok(cleanWin); } catch (e) { x = null; }
  return x;
}
function pageOwn(name) { try { return W[name]; } catch (e) { return null; } }
var fnCall = pick(function (w) { return w.Function.prototype.call; });
var fnBind = pick(function (w) { return w.Function.prototype.bind; });
// un(f)(self, a, b) calls f with `this` = self: `call` bound to f, so no call allocates an
// arguments array (the walker makes millions of these calls on a big page).
function un(f) { return apply(fnBind, fnCall, [f]); }
// The getter of `name` on interface `iface`'s prototype, uncurried: getter('Node', 'firstChild')(n).
function getter(iface, name) { return protoGetter(member(iface, name, 'get'), name); }
function protoGetter(g, name) {
  // Not an accessor on the prototype (a polyfill or a test double): read the property.
  if (!g) return function (self) { return self[name]; };
  return un(g);
}
function setter(iface, name) { return member(iface, name, 'set'); }
function method(iface, name) { return un(member(iface, name)); }
// An accessor or method of class C (the one the tag makes its objects with), inherited or not.
function classMember(C, name, kind) {
  for (var p = C && C.prototype; p; p = protoOf(p)) {
    var d = getOwnPD(p, name);
    if (d) return d[kind || 'value'];
  }
  return undefined;
}

var JSONObj = pickObject('JSON', ['parse', 'stringify']);
var jsonParse = JSONObj.parse;
var jsonStringify = JSONObj.stringify;
var Mth = pickObject('Math', ['max', 'min', 'round', 'pow', 'abs', 'random']);
var dateNow = pick(function (w) { return w.Date.now; });
var isArr = pick(function (w) { return w.Array.isArray; });
var isFin = pick(function (w) { return w.isFinite; });
var encodeParam = pick(function (w) { return w.encodeURIComponent; });
var hasOwn = method('Object', 'hasOwnProperty');
var strIndexOf = method('String', 'indexOf');
var strSlice = method('String', 'slice');
var strLower = method('String', 'toLowerCase');
var strSplit = method('String', 'split');
var strTrim = method('String', 'trim');
var strReplace = method('String', 'replace');
var numToString = method('Number', 'toString');
var arrConcat = method('Array', 'concat');
var arrSort = method('Array', 'sort');
var arrSplice = method('Array', 'splice');
var arrJoin = method('Array', 'join');
var arrPop = method('Array', 'pop');
// RegExp.prototype.test looks `exec` up on the regex (the page's RegExp.prototype): call the
// pristine exec itself.
// RegExp.prototype.test looks `exec` up on the regex (the page's RegExp.prototype): while that
// is native, the pristine test (V8's fast path); else the pristine exec itself.
var reTest = method('RegExp', 'test');
var reExec = method('RegExp', 'exec');
var execNative = isNative(RegExp.prototype.exec);
function test(re, s) { return execNative ? reTest(re, s) : reExec(re, s) !== null; }
// push(a, v) without Array.prototype.push, which a page may have replaced.
function push(a, v) { a[a.length] = v; }
// String(v) without the page's String (v is a string or a number here).
function str(v) { return '' + v; }
var listen = method('EventTarget', 'addEventListener');
// Playwright's routed WebSocket (the tag's tests, the checker) is a double in every realm:
// then the page's. Its state is an own property of the socket (read as a property below).
var WS = pickClass('WebSocket', ['send', 'close', 'readyState', 'bufferedAmount']);
var wsSend = un(classMember(WS, 'send'));
var wsClose = un(classMember(WS, 'close'));
var wsReadyState = protoGetter(classMember(WS, 'readyState', 'get'), 'readyState');
var wsBuffered = protoGetter(classMember(WS, 'bufferedAmount', 'get'), 'bufferedAmount');
// A socket made by the clean realm's WebSocket never opens once that realm's frame is gone
// (Chromium): when the page replaced its own, connect() borrows a live frame's (socketClass).
var wsBorrowed = WS !== pageOwn('WebSocket');
var MO = pickClass('MutationObserver', ['observe', 'disconnect', 'takeRecords']);
var moObserve = un(classMember(MO, 'observe'));
var moDisconnect = un(classMember(MO, 'disconnect'));
var moTake = un(classMember(MO, 'takeRecords'));
var recType = getter('MutationRecord', 'type');
var recTarget = getter('MutationRecord', 'target');
var recAdded = getter('MutationRecord', 'addedNodes');
var recRemoved = getter('MutationRecord', 'removedNodes');
var recAttr = getter('MutationRecord', 'attributeName');
var listLength = getter('NodeList', 'length');
var rulesLength = getter('CSSRuleList', 'length');
var rectsLength = getter('DOMRectList', 'length');
var inputName = getter('HTMLInputElement', 'name');
var inputForm = getter('HTMLInputElement', 'form');
var selectOptions = getter('HTMLSelectElement', 'options');
var optionsLength = getter('HTMLOptionsCollection', 'length');
var editableOf = getter('HTMLElement', 'isContentEditable');
// Timers of the clean realm run on this window's event loop when called on it.
var setT = pick(function (w) { return w.setTimeout; });
var clearT = pick(function (w) { return w.clearTimeout; });
var rAF = pick(function (w) { return w.requestAnimationFrame; });
var perfNow = method('Performance', 'now');
var perf = W.performance;
// A page's own window.performance (a polyfill, a test double): the clock is Date's then.
try { perfNow(perf); } catch (e) { perf = null; }
var storageGet = method('Storage', 'getItem');
var storageSet = method('Storage', 'setItem');
var storageRemove = method('Storage', 'removeItem');
var URLCtor = pickClass('URL', ['href', 'protocol', 'host', 'origin']);
var MapCtor = pickClass('Map', ['get', 'set', 'has', 'delete', 'clear', 'forEach', 'entries', 'size']);
var SetCtor = pickClass('Set', ['add', 'has', 'delete', 'clear', 'forEach', 'values', 'size']);
var WeakMapCtor = pickClass('WeakMap', ['get', 'set', 'has']);
var WeakSetCtor = pickClass('WeakSet', ['add', 'has']);
var EventCtor = pickClass('Event', []);
var cryptoRandom = method('Crypto', 'getRandomValues');
var cryptoObj = W.crypto;
var U32 = pickClass('Uint32Array', []);

var ElementP = Element.prototype; // the page's own: the tag's one patch (attachShadow) goes on it
var ProxyCtor = pick(function (w) { return w.Proxy; });
var firstChild = getter('Node', 'firstChild');
var nextSibling = getter('Node', 'nextSibling');
var parentNode = getter('Node', 'parentNode');
var nodeType = getter('Node', 'nodeType');
var isConnected = getter('Node', 'isConnected');
var nodeValue = getter('Node', 'nodeValue');
var compareDocPos = method('Node', 'compareDocumentPosition');
var contains = method('Node', 'contains');
var appendChild = method('Node', 'appendChild');
var removeChild = method('Node', 'removeChild');
var localNameOf = getter('Element', 'localName');
var attributesOf = getter('Element', 'attributes');
var attrNames = method('Element', 'getAttributeNames');
var hasAttrs = method('Element', 'hasAttributes');
var getAttr = method('Element', 'getAttribute');
var setAttr = method('Element', 'setAttribute');
var matches = method('Element', 'matches');
var closest = method('Element', 'closest');
var rectOf0 = method('Element', 'getBoundingClientRect');
var rectLeft = getter('DOMRectReadOnly', 'left');
var rectTop = getter('DOMRectReadOnly', 'top');
var rectWidth = getter('DOMRectReadOnly', 'width');
var rectHeight = getter('DOMRectReadOnly', 'height');
// A DOMRect as a plain object: its accessors are the page's to replace.
function box(r) { return { left: rectLeft(r), top: rectTop(r), width: rectWidth(r), height: rectHeight(r) }; }
function rectOf(el) { return box(rectOf0(el)); }
var clientLeftOf = getter('Element', 'clientLeft');
var clientTopOf = getter('Element', 'clientTop');
var clientXOf = getter('MouseEvent', 'clientX');
var relatedOf = getter('MouseEvent', 'relatedTarget');
var pointerTypeOf = getter('PointerEvent', 'pointerType');
var clientYOf = getter('MouseEvent', 'clientY');
// The top window's event classes (act.click in a same-origin frame uses that frame's own).
var PointerEventCtor = pickClass('PointerEvent', []);
var MouseEventCtor = pickClass('MouseEvent', []);
var attachShadow = method('Element', 'attachShadow');
var animate = method('Element', 'animate');
var qsa = method('Element', 'querySelectorAll');
var scrollLeftOf = getter('Element', 'scrollLeft');
var scrollTopOf = getter('Element', 'scrollTop');
var setScrollLeft = un(setter('Element', 'scrollLeft'));
var setScrollTop = un(setter('Element', 'scrollTop'));
var createElement = method('Document', 'createElement');
var createElementNS = method('Document', 'createElementNS');
var docEl = getter('Document', 'documentElement');
var readyStateOf = getter('Document', 'readyState');
var scrollingOf = getter('Document', 'scrollingElement');
var parentEl = getter('Node', 'parentElement');
var winScrollTo = pick(function (w) { return w.scrollTo; });
// A window's attributes are its own accessors (Window is the global object), which a page
// redefines per window. One realm's getter reads any same-origin window, a frame's too, even
// once that realm's frame is gone (Chromium); an engine that refuses gets the property read.
function winGetter(name) {
  var g = protoGetter(pick(function (w) { var d = getOwnPD(w, name); return d && d.get; }), name);
  return function (w) { try { if (w) return g(w); } catch (e) { /* read it below */ } return w[name]; };
}
var scrollXOf = winGetter('scrollX');
var scrollYOf = winGetter('scrollY');
var innerWidthOf = winGetter('innerWidth');
var innerHeightOf = winGetter('innerHeight');
var dprOf = winGetter('devicePixelRatio');
var frameElementOf = winGetter('frameElement');
var titleOf = getter('Document', 'title');
var htmlClick = method('HTMLElement', 'click');
var htmlFocus = method('HTMLElement', 'focus');
var textContentSet = un(setter('Node', 'textContent'));
var attrValue = getter('Attr', 'value');
var rangeCreate = method('Document', 'createRange');
var rangeSelect = method('Range', 'selectNodeContents');
var rangeRect = method('Range', 'getBoundingClientRect');
var dispatch = method('EventTarget', 'dispatchEvent');
var stopProp = method('Event', 'stopPropagation');
var evTarget = getter('Event', 'target');
var msgData = getter('MessageEvent', 'data');
var closeCode = getter('CloseEvent', 'code');
var styleSetProp = method('CSSStyleDeclaration', 'setProperty');
var styleOf = getter('HTMLElement', 'style');
var valueSetters = {
  input: setter('HTMLInputElement', 'value'),
  textarea: setter('HTMLTextAreaElement', 'value'),
  select: setter('HTMLSelectElement', 'value')
};
var valueGetters = {
  input: getter('HTMLInputElement', 'value'),
  textarea: getter('HTMLTextAreaElement', 'value'),
  select: getter('HTMLSelectElement', 'value')
};
// Each interface's own (one's getter refuses another's element); a select has no readOnly.
var disabledOf = {
  input: getter('HTMLInputElement', 'disabled'),
  textarea: getter('HTMLTextAreaElement', 'disabled'),
  select: getter('HTMLSelectElement', 'disabled')
};
var readOnlyOf = {
  input: getter('HTMLInputElement', 'readOnly'),
  textarea: getter('HTMLTextAreaElement', 'readOnly'),
  select: function () { return false; }
};
var checkedSetter = setter('HTMLInputElement', 'checked');
var checkedOf = getter('HTMLInputElement', 'checked');
var inputType = getter('HTMLInputElement', 'type');
var selectedOf = getter('HTMLOptionElement', 'selected');
// location.assign is an unforgeable own property of the instance: the page cannot replace it.
var locationAssign = un(location.assign);
var nsOf = getter('Element', 'namespaceURI');
var shadowOf = getter('Element', 'shadowRoot'); // open roots only: closed ones stay private
var hostOf = getter('ShadowRoot', 'host');
var modeOf = getter('ShadowRoot', 'mode');
var contentDocOf = getter('HTMLIFrameElement', 'contentDocument'); // null if cross-origin
var frameDocOf = getter('HTMLFrameElement', 'contentDocument'); // a frameset's <frame>
var contentWinOf = getter('HTMLIFrameElement', 'contentWindow');
var viewOf = getter('Document', 'defaultView');
var ownerDocOf = getter('Node', 'ownerDocument');
var baseOf = getter('Node', 'baseURI'); // the node's own document's base (frames, <base>)
var sheetOf = getter('HTMLStyleElement', 'sheet');
var rulesOf = getter('CSSStyleSheet', 'cssRules');
var ruleText = getter('CSSRule', 'cssText');
var docAdopted = getter('Document', 'adoptedStyleSheets');
var rootAdopted = getter('ShadowRoot', 'adoptedStyleSheets');
var childCount = getter('Node', 'childNodes');
var activeOf = getter('Document', 'activeElement');
var rootActiveOf = getter('ShadowRoot', 'activeElement');
var getSelection = method('Document', 'getSelection');
var selCount = getter('Selection', 'rangeCount');
var selRange = method('Selection', 'getRangeAt');
var rStartC = getter('Range', 'startContainer');
var rStartO = getter('Range', 'startOffset');
var rEndC = getter('Range', 'endContainer');
var rEndO = getter('Range', 'endOffset');
var rSetStart = method('Range', 'setStart');
var rSetEnd = method('Range', 'setEnd');
var rRects = method('Range', 'getClientRects');
var composedPath = method('Event', 'composedPath');
// A channel of the clean realm would be as dead as its sockets: none when the page replaced it
// (the check for a copied tab is skipped, not fooled).
var BC = pickClass('BroadcastChannel', ['postMessage']);
if (BC !== pageOwn('BroadcastChannel')) BC = null;
var bcPost = un(classMember(BC, 'postMessage'));
// An image the page made (blob:) is drawn on a canvas of the tag's and sent as data:
// (serialize.js blobData): a page that wraps toDataURL or drawImage never sees the call.
var imgComplete = getter('HTMLImageElement', 'complete');
var imgNaturalW = getter('HTMLImageElement', 'naturalWidth');
var imgNaturalH = getter('HTMLImageElement', 'naturalHeight');
var canvasW = un(setter('HTMLCanvasElement', 'width'));
var canvasH = un(setter('HTMLCanvasElement', 'height'));
var canvasCtx = method('HTMLCanvasElement', 'getContext');
var canvasData = method('HTMLCanvasElement', 'toDataURL');
var drawImage = method('CanvasRenderingContext2D', 'drawImage');
releaseRealm();
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
function now() { return perf ? perfNow(perf) : dateNow(); }
function encode(msg) {
  // Prototype.js-era pages define Array.prototype.toJSON, which double-encodes arrays.
  var ap = Array.prototype;
  var saved = getOwnPD(ap, 'toJSON');
  if (saved) delete ap.toJSON;
  var json;
  try { json = apply(jsonStringify, JSONObj, [msg]); } finally { if (saved) defineProp(ap, 'toJSON', saved); }
  return wellFormed(json);
}
// The relay refuses a message with a lone UTF-16 surrogate in any string (docs/protocol.md,
// "Transport"; issue 19), and pages hold them: text a script cut inside an emoji, an attribute,
// a form value. JSON.stringify (ES2019) writes each lone surrogate, and nothing else, as a
// \udXXX escape (a pair goes as it is); each becomes U+FFFD, as String.prototype.toWellFormed
// would. A "\ud" after an escaped backslash ("\\ud800": a backslash, then text) is left alone.
// One indexOf on a normal page. An engine before ES2019 writes lone surrogates raw, and
// WebSocket.send makes them U+FFFD itself.
function wellFormed(json) {
  var out = '';
  var from = 0;
  for (var i = strIndexOf(json, '\\ud'); i >= 0; i = strIndexOf(json, '\\ud', i + 1)) {
    var j = i;
    while (j > 0 && json[j - 1] === '\\') j--;
    if ((i - j) % 2) continue; // an odd run of backslashes before it: this one is text
    out += strSlice(json, from, i) + '\ufffd';
    from = i + 6;
  }
  return from ? out + strSlice(json, from) : json;
}
function isStr(v, max) { return typeof v === 'string' && v.length <= (max || 1024); }
function isId(v) { return typeof v === 'string' && test(/^[A-Za-z0-9_-]{1,64}$/, v); }
function isNum(v, lo, hi) { return typeof v === 'number' && isFin(v) && v >= lo && v <= hi; }
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
