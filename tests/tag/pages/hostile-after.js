// Run by the test after the tag has loaded: breaks even more of the platform.
window.WebSocket = function () { throw new Error('page broke WebSocket'); };
window.MutationObserver = function () { throw new Error('page broke MutationObserver'); };
window.setTimeout = function () { throw new Error('page broke setTimeout'); };
window.requestAnimationFrame = function () { throw new Error('page broke rAF'); };
Storage.prototype.setItem = function () { throw new Error('page broke sessionStorage'); };
Element.prototype.getAttribute = function () { return 'page broke getAttribute'; };
Node.prototype.appendChild = function () { throw new Error('page broke appendChild'); };
