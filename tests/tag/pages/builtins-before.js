// Runs before the tag: replaces every built-in the tag touches, as pages, analytics shims and
// test libraries do (issue 16). Four kinds: stubs that do nothing, stubs and getters that throw,
// getters that lie, and wrappers that pass the call on and log it when the tag made it (the tag
// must use its own pristine copies instead). What the test harness itself needs in this realm
// (Playwright's WebSocket double, the harness's init script and page.evaluate code) is only ever
// wrapped.
(() => {
  const realApply = Reflect.apply;
  const getPD = Object.getOwnPropertyDescriptor;
  const defProp = Object.defineProperty;
  const ErrorCtor = Error;
  const split = String.prototype.split;
  const includes = String.prototype.includes;
  const logPush = Array.prototype.push;
  // Names of the built-ins the tag called (its script is the caller's frame), in order.
  const used = [];
  window.__builtinsUsedByTag = () => used.slice();
  // The calling frame is the fourth line of the stack ("Error", note, the wrapper, its caller):
  // "at name (https://relay.test/tag.js:1:234)" when the tag made the call. Logged as
  // "built-in <- function" (the build keeps the tag's function names).
  const note = (label) => {
    const lines = realApply(split, String(new ErrorCtor().stack), ['\n']);
    const line = lines.length > 3 ? lines[3] : '';
    if (!realApply(includes, line, ['relay.test/tag.js'])) return;
    const words = realApply(split, line, [' ']);
    const fn = words.length > 6 ? words[5] : '';
    realApply(logPush, used, [label + ' <- ' + fn]);
  };
  // owner[name] (its getter for kind 'get') becomes `make(original, label)`.
  const replace = (owner, ownerName, name, kind, make) => {
    const d = getPD(owner, name);
    if (!d) throw new ErrorCtor('no ' + ownerName + '.' + name);
    const label = ownerName + '.' + name;
    defProp(owner, name, { ...d, [kind]: make(d[kind], label) });
  };
  const wrap = (owner, ownerName, names, kind = 'value') => {
    for (const name of names) {
      replace(owner, ownerName, name, kind, (original, label) => function (...args) {
        note(label);
        return new.target ? Reflect.construct(original, args, new.target) : realApply(original, this, args);
      });
    }
  };
  const breakWith = (owner, ownerName, names, kind = 'value') => {
    for (const name of names) {
      replace(owner, ownerName, name, kind, (original, label) => function () {
        throw new ErrorCtor('page broke ' + label);
      });
    }
  };
  window.__wrapBuiltins = wrap;
  window.__breakBuiltins = breakWith;

  // ---- stubs that do nothing: an observer that never reports (the case; alone with
  // ?only=observer)
  window.MutationObserver = class MutationObserver {
    observe() {}
    disconnect() {}
    takeRecords() { return []; }
  };
  window.__before = true;
  if (location.search === '?only=observer') return;
  // ---- stubs and getters that throw
  breakWith(window, 'window', ['setTimeout', 'clearTimeout', 'requestAnimationFrame']);
  breakWith(JSON, 'JSON', ['parse']);
  breakWith(Storage.prototype, 'Storage.prototype', ['setItem', 'removeItem']);
  breakWith(Node.prototype, 'Node.prototype', ['firstChild', 'nextSibling', 'nodeValue', 'isConnected'], 'get');
  breakWith(Node.prototype, 'Node.prototype', ['compareDocumentPosition', 'contains']);
  breakWith(Element.prototype, 'Element.prototype', ['setAttribute', 'getAttributeNames', 'matches', 'closest']);
  breakWith(Element.prototype, 'Element.prototype', ['scrollLeft', 'scrollTop'], 'get');
  breakWith(MutationRecord.prototype, 'MutationRecord.prototype', ['type', 'addedNodes', 'removedNodes', 'target'], 'get');
  breakWith(Event.prototype, 'Event.prototype', ['target'], 'get');
  breakWith(MessageEvent.prototype, 'MessageEvent.prototype', ['data'], 'get');
  breakWith(DOMRectReadOnly.prototype, 'DOMRectReadOnly.prototype', ['left', 'top', 'width', 'height'], 'get');
  breakWith(MouseEvent.prototype, 'MouseEvent.prototype', ['clientX', 'clientY'], 'get');
  breakWith(Element.prototype, 'Element.prototype', ['clientLeft', 'clientTop'], 'get');
  breakWith(CSSRuleList.prototype, 'CSSRuleList.prototype', ['length'], 'get');
  breakWith(DOMRectList.prototype, 'DOMRectList.prototype', ['length'], 'get');
  breakWith(CSSStyleDeclaration.prototype, 'CSSStyleDeclaration.prototype', ['setProperty']);
  breakWith(Performance.prototype, 'Performance.prototype', ['now']);
  // A page's own performance object (a polyfill's), not a Performance.
  defProp(window, 'performance', { value: { now: () => { throw new ErrorCtor('page broke performance'); } }, configurable: true });
  breakWith(Math, 'Math', ['random', 'max', 'min', 'round']);
  breakWith(Date, 'Date', ['now']);
  breakWith(HTMLInputElement.prototype, 'HTMLInputElement.prototype', ['value'], 'set');
  breakWith(Set.prototype, 'Set.prototype', ['forEach', 'clear', 'values']);
  breakWith(WeakMap.prototype, 'WeakMap.prototype', ['get', 'set']);
  breakWith(WeakSet.prototype, 'WeakSet.prototype', ['add', 'has']);
  breakWith(String.prototype, 'String.prototype', ['toLowerCase', 'trim', 'indexOf']);
  breakWith(Number.prototype, 'Number.prototype', ['toString']);
  // ---- getters that lie: the window's scroll offset and viewport (own accessors of the window),
  // and a disabled or read-only field's state
  const lie = (owner, ownerName, names, value) => {
    for (const name of names) replace(owner, ownerName, name, 'get', () => () => value);
  };
  lie(window, 'window', ['scrollX', 'scrollY'], 0);
  lie(window, 'window', ['innerWidth', 'innerHeight'], 1);
  lie(window, 'window', ['devicePixelRatio'], 3);
  lie(HTMLInputElement.prototype, 'HTMLInputElement.prototype', ['disabled', 'readOnly'], false);
  lie(HTMLTextAreaElement.prototype, 'HTMLTextAreaElement.prototype', ['disabled', 'readOnly'], false);
  lie(HTMLSelectElement.prototype, 'HTMLSelectElement.prototype', ['disabled'], false);
  // ---- wrappers that log (the harness and Playwright's WebSocket double use these)
  wrap(JSON, 'JSON', ['stringify']);
  wrap(Array, 'Array', ['isArray']);
  wrap(Array.prototype, 'Array.prototype', ['push', 'pop', 'concat', 'sort', 'splice', 'join', 'map']);
  wrap(Map.prototype, 'Map.prototype', ['get', 'set', 'has', 'delete', 'clear', 'forEach', 'entries']);
  wrap(Set.prototype, 'Set.prototype', ['add', 'has', 'delete']);
  wrap(String.prototype, 'String.prototype', ['slice', 'split', 'replace', 'includes']);
  wrap(Crypto.prototype, 'Crypto.prototype', ['getRandomValues']);
  wrap(RegExp.prototype, 'RegExp.prototype', ['test', 'exec']);
  wrap(Object.prototype, 'Object.prototype', ['hasOwnProperty']);
  wrap(EventTarget.prototype, 'EventTarget.prototype', ['addEventListener', 'removeEventListener', 'dispatchEvent']);
  wrap(Storage.prototype, 'Storage.prototype', ['getItem']);
  wrap(Node.prototype, 'Node.prototype', ['parentNode', 'nodeType', 'childNodes', 'ownerDocument'], 'get');
  wrap(Element.prototype, 'Element.prototype', ['getAttribute', 'hasAttribute']);
  wrap(Element.prototype, 'Element.prototype', ['localName', 'attributes', 'shadowRoot'], 'get');
  wrap(HTMLInputElement.prototype, 'HTMLInputElement.prototype', ['value', 'type', 'name', 'form'], 'get');
  wrap(HTMLSelectElement.prototype, 'HTMLSelectElement.prototype', ['options'], 'get');
  wrap(HTMLElement.prototype, 'HTMLElement.prototype', ['isContentEditable'], 'get');
  wrap(Document.prototype, 'Document.prototype', ['readyState', 'title', 'documentElement'], 'get');
  wrap(CSSStyleSheet.prototype, 'CSSStyleSheet.prototype', ['cssRules'], 'get');
  wrap(window, 'window', ['isFinite', 'encodeURIComponent']);
  wrap(Function.prototype, 'Function.prototype', ['call', 'bind', 'toString']);
  // What the tag calls every other built-in with, and reads their descriptors with.
  wrap(Reflect, 'Reflect', ['apply']);
  wrap(Object, 'Object', ['getOwnPropertyDescriptor', 'getPrototypeOf', 'defineProperty']);
})();
