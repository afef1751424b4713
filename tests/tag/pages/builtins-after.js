// Run by the test once the tag has loaded: replaces what the tag read at load (its own copies
// must be what it keeps using) and what it used only to make its clean realm.
(() => {
  window.WebSocket = function () { throw new Error('page broke WebSocket'); };
  window.MutationObserver = function () { throw new Error('page broke MutationObserver'); };
  window.__breakBuiltins(Node.prototype, 'Node.prototype', ['appendChild', 'removeChild', 'insertBefore']);
  window.__breakBuiltins(Element.prototype, 'Element.prototype', ['getBoundingClientRect', 'remove']);
  window.__breakBuiltins(HTMLElement.prototype, 'HTMLElement.prototype', ['focus', 'click']);
  window.__breakBuiltins(Document.prototype, 'Document.prototype', ['createElement', 'createElementNS']);
  window.__breakBuiltins(HTMLIFrameElement.prototype, 'HTMLIFrameElement.prototype', ['contentWindow'], 'get');
  window.__wrapBuiltins(Storage.prototype, 'Storage.prototype', ['getItem']);
})();
