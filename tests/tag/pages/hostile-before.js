// Runs before the tag: overwrites what a careless tag would rely on.
window.addEventListener = function () { throw new Error('page broke window.addEventListener'); };
EventTarget.prototype.addEventListener = function () { throw new Error('page broke addEventListener'); };
JSON.parse = function () { throw new Error('page broke JSON.parse'); };
// JSON.stringify spies on and mangles anything shaped like a cobrowse message. (It passes other
// values through: Playwright's own WebSocket double, which the test needs, uses it too.)
window.__spied = [];
const realStringify = JSON.stringify;
JSON.stringify = function (value, ...rest) {
  if (value && typeof value === 'object' && 'v' in value) {
    window.__spied.push(value.type);
    return '"page broke JSON.stringify"';
  }
  return realStringify.call(this, value, ...rest);
};
// A bind that spies on what is bound to `call` (a tag's way to uncurry DOM methods): the tag
// must take its own (Prototype.js-era polyfills replaced bind).
window.__bound = 0;
const realBind = Function.prototype.bind;
Function.prototype.bind = function (...args) {
  if (this === Function.prototype.call) window.__bound++;
  return realBind.apply(this, args);
};
