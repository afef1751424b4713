/*
 * masking.js: the mask policy as data, and each field's mask reason.
 * Owns: the placeholder, secret autocomplete tokens, mask triggers, name patterns and size and
 * depth limits of what the tag writes; the session's mask selectors; container masks (across
 * shadow roots and same-origin frames).
 * Must not: unmask a field once masked (the reason is sticky), or return a masked value: callers
 * send PLACEHOLDER in its place.
 */

// ------------------------------------------------------------ masking (policy as data)
// WIRE.<key>: a fact the tag shares with the other ends of the wire (wire/grammar.json), so no end
// keeps its own copy. The build writes each value in place, as a literal (there is no such object).
var PLACEHOLDER = WIRE.mask_placeholder;
var MASK_ATTR = 'data-cobrowse-mask';
// autocomplete tokens that always mean a secret; any cc-* token is payment card data.
var SECRET_AUTOCOMPLETE = { 'current-password': 1, 'new-password': 1, 'one-time-code': 1 };
// Attributes whose change can change a node's mask state (re-checked when they change).
var MASK_TRIGGERS = { type: 1, autocomplete: 1, 'data-cobrowse-mask': 1, 'class': 1, id: 1, name: 1 };
// 1: resolved, and sent as a path when on the page's origin (docs/protocol.md); 2: resolved only
// (the protocol's origin-relative saving covers the five names above it).
var URL_ATTRS = { href: 1, src: 1, action: 1, poster: 1, 'xlink:href': 2 };
var TAG_RE = WIRE.element_name;
var ATTR_RE = WIRE.attribute_name;
var MAX_ATTR = 2000000;
var MAX_TEXT = 8000000;
// The writer's own limit, below the wire's: every reader refuses a frame whose tree is nested
// deeper than max_depth, and a tree the tag writes is at most MAX_DEPTH + 1 levels (the walker's
// root is d 0). With a margin below the limit (24: the 1000 the tag has always used), a deeper page
// loses its deepest nodes instead of the whole frame being refused.
var MAX_DEPTH = WIRE.max_depth - 24;
var fieldMasks = new WeakMapCtor(); // field -> reason; sticky: once masked, always masked
var maskSelector = '';

function setMaskSelectors(list) {
  var ok = [];
  if (list && typeof list.length === 'number') {
    for (var i = 0; i < list.length && i < 200; i++) {
      var s = list[i];
      if (!isStr(s, 1000) || !s) continue;
      try { matches(docEl(D), s); push(ok, s); } catch (e) { /* invalid selector: skip it */ }
    }
  }
  maskSelector = arrJoin(ok, ',');
}
// The parent in the replica's tree: a shadow root's is its host, a frame document's its iframe.
function up(n) {
  var p = parentNode(n);
  if (p) return p;
  var t = nodeType(n);
  if (t === 11) return hostOf(n);
  if (t === 9 && n !== D) {
    try { var v = viewOf(n); return (v && frameElementOf(v)) || null; } catch (e) { return null; }
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
function valueOf(el) { return str(valueGetters[tagOf(el)](el)); }
function typeOf(el) { return strLower(str(inputType(el))); }
function isField(el) { var t = tagOf(el); return t === 'input' || t === 'textarea' || t === 'select'; }
function autocompleteSecret(el) {
  var ac = getAttr(el, 'autocomplete');
  if (!ac) return false;
  var tokens = strSplit(strLower(ac), /\s+/);
  for (var i = 0; i < tokens.length; i++) {
    if (SECRET_AUTOCOMPLETE[tokens[i]] === 1 || strIndexOf(tokens[i], 'cc-') === 0) return true;
  }
  return false;
}
// inherited: the container mask of the field's parent chain, when the caller knows it.
function fieldMask(el, inherited) {
  var reason = fieldMasks.get(el);
  if (reason) return reason;
  if (isInput(el) && strLower(str(getAttr(el, 'type') || '')) === 'password') reason = 'password';
  else reason = inherited || containerMask(el) || (autocompleteSecret(el) ? 'autocomplete' : '');
  if (reason) fieldMasks.set(el, reason);
  return reason || '';
}
function maskText(text, masked) {
  // Whitespace-only text carries nothing and keeps the layout of masked blocks intact.
  return masked && test(/\S/, text) ? PLACEHOLDER : text;
}
