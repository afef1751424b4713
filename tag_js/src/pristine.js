/*
 * pristine.js: what every later part stands on.
 * Owns: the built-ins the tag captures at load (from a fresh same-origin realm when the page
 * patched them first), the small helpers (guard, later, encode, shape checks), the relay's
 * address and the tab's stored state (token, next node id, tab id).
 * Must not: reach a page-overwritable built-in except through these references, or let a
 * callback of the page's event loop run outside guard().
 */

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
var strIndexOf = un(pick(function (w) { return w.String.prototype.indexOf; }));
var strSlice = un(pick(function (w) { return w.String.prototype.slice; }));
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
