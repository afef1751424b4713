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
 *
 * Built from the parts in tag_js/src/, joined in the order of PARTS in tag_js/__init__.py (each
 * part may use at load what an earlier part declared). This part opens the one function every
 * part runs in (close.js closes it) and keeps the tag to one global, window.__cobrowse.
 * Must not (this part): run anything before the load guard below.
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
