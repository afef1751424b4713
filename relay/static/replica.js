/*
 * replica.js: builds the agent's copy of the visitor's page (the replica) from the
 * `replica.snapshot` and `replica.mutations` messages of docs/protocol.md.
 *
 * Owns: the replica iframe (it creates it, with a fixed sandbox), the nested iframes it makes
 * for same-origin frames of the page (same sandbox), and the id -> node Map and node -> id
 * WeakMap of one replica (the top document and every nested document).
 * Must not: run anything that came over the wire. It creates nodes with createElementNS and
 * setAttribute only (never innerHTML/document.write of wire data), drops `script` and `on*`,
 * and refuses to build into an iframe it did not create or whose sandbox allows scripts
 * (rrweb's rebuild() rule). There is no option to loosen this.
 *
 * Usage (plain script, one global):
 *   var frame = CobrowseReplica.createFrame(container, title, before); // sandbox="allow-same-origin"
 *   var replica = new CobrowseReplica.Replica(frame, {onDocument: fn, resourceUrl: fn});
 *   replica.applySnapshot(msg); replica.applyMutations(msg);
 *   replica.node(id) / replica.idOf(node) / replica.scrollNode(id, x, y) / replica.unseen()
 * Messages carry nodes in the protocol's compact form; CobrowseReplica.readNodes(run) is the
 * strict reader both apply methods use (a malformed tree is refused whole, never half built).
 * applySnapshot returns null when it refuses msg.doc (the old replica stays).
 * After applySnapshot, the caller positions pointers with node(id).getBoundingClientRect()
 * (coordinates of the replica's viewport; multiply by the scale the caller applied). A node
 * inside a nested frame document measures in that frame's viewport: pass its rect through
 * replica.toTopRect(rect, node.ownerDocument) first. onDocument(doc, info) is called for the
 * top document after each snapshot and for each nested document once it is built
 * (info.nested is true then): listeners go on each. resourceUrl(kind, url), when given, says
 * where the replica loads a brand resource from instead (kind "css" for a stylesheet link or an
 * @import, "font" for a url() inside @font-face, "image" for images, srcsets, posters and other
 * CSS url()s; only absolute http(s) URLs are asked about; null keeps the URL): the workspace
 * points them at the relay's resource proxy (docs/security.md, "The resource proxy").
 */
(function (global) {
  "use strict";

  // The only sandbox token the replica iframe ever gets. allow-same-origin lets the workspace
  // read the replica's DOM (pointer positions, listeners); without allow-scripts nothing in
  // it can run. Adding allow-scripts next to allow-same-origin would let wire content remove
  // the sandbox itself (the HTML spec warns about exactly this pair).
  var SANDBOX = "allow-same-origin";
  var ALLOWED_SANDBOX_TOKENS = Object.freeze({ "allow-same-origin": true });

  // wire/nodes.js (served as /static/wire-nodes.js, loaded before this file): the one reader
  // of the compact node form, the namespace rule and the grammar's constants.
  var W = global.CobrowseWire;
  if (!W) throw new Error("CobrowseReplica: /static/wire-nodes.js must be loaded first");
  var HTML_NS = W.NAMESPACES.html;
  var SVG_NS = W.NAMESPACES.svg;
  var MATHML_NS = W.NAMESPACES.math;
  var SHORT_NS = {};
  SHORT_NS[HTML_NS] = "html";
  SHORT_NS[SVG_NS] = "svg";
  SHORT_NS[MATHML_NS] = "math";
  var XLINK_NS = "http://www.w3.org/1999/xlink";
  var XML_NS = "http://www.w3.org/XML/1998/namespace";

  var MASK_PLACEHOLDER = W.MASK_PLACEHOLDER;
  // Marker attribute for masked nodes, styled by the replica's own stylesheet. Wire
  // attributes with this prefix are dropped so a page cannot fake or hide the marker.
  var MARK_PREFIX = "data-cobrowse-replica-";
  var MASKED_ATTR = MARK_PREFIX + "masked";
  // Marks a same-origin frame's placeholder that shows a nested replica, and that replica's
  // iframe (the only iframe a replica ever holds: wire iframes are never built).
  var FRAME_ATTR = MARK_PREFIX + "frame";
  var STANDARDS_DOC = "<!DOCTYPE html><html><head></head><body></body></html>";

  var DEFAULT_LIMITS = Object.freeze({
    maxNodes: 400000, // same as the relay's Limits.max_nodes
    maxDepth: W.MAX_DEPTH // the grammar's depth limit
  });

  // Elements never built; each becomes an empty comment standing in for its id, so that
  // `next` references to it still resolve. Deny-listed here although the renderer already
  // sanitizes: the replica must stay inert even if a sanitizer bug lets one through.
  var SKIP_ELEMENTS = Object.freeze({
    script: "runs code (inert in the sandbox, dropped anyway)",
    noscript: "the visitor parsed it as raw text; shown here it would display markup",
    iframe: "nested browsing context; frame-src and the sandbox block it anyway",
    frame: "nested browsing context",
    frameset: "replaces the body",
    portal: "nested browsing context",
    base: "would change how the replica resolves relative URLs",
    template: "its content is not part of the rendered page"
  });

  // Attributes never set, whatever the element (lowercase names).
  var SKIP_ATTRS = Object.freeze({
    srcdoc: "inline document",
    autofocus: "would steal focus from the agent's chat input",
    nonce: "meaningless in the replica",
    "http-equiv": "meta refresh/CSP pragmas act on insertion",
    ping: "tracking beacons on link clicks",
    formaction: "form submission target",
    autocomplete: "replaced by autocomplete=off on form fields"
  });

  // Attributes holding URLs: a javascript:/vbscript: value is dropped (CVE-class XSS via
  // href; the sandbox stops it too, this keeps the replica clean if the sandbox ever changes).
  var URL_ATTRS = Object.freeze({
    href: 1, src: 1, action: 1, poster: 1, background: 1, data: 1, "xlink:href": 1, cite: 1,
    longdesc: 1, usemap: 1, codebase: 1, manifest: 1
  });
  var SCRIPT_URL = /^(?:javascript|vbscript|livescript):/i;
  // Whitespace and control characters browsers strip before parsing a URL scheme.
  var URL_JUNK = /[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u2029\u205f\u3000\ufeff]/g;

  // Attribute names the relay accepts (wire/grammar.json attribute_name); Chromium's setAttribute
  // now takes quotes and angle brackets in names, which would be odd in markup-like contexts.
  var ATTR_NAME = W.ATTRIBUTE_NAME;

  var FORM_FIELDS = Object.freeze({ input: 1, textarea: 1, select: 1 });

  // Plugin elements. The renderer sends each as a placeholder div (PLUGIN_PLACEHOLDER); one that
  // reaches the replica anyway (a sanitizer bug) becomes the same placeholder, never a plugin.
  var PLUGIN_ELEMENTS = Object.freeze({ object: 1, embed: 1, applet: 1 });
  var PLUGIN_PLACEHOLDER = "plugin object";

  // Areas the agent cannot see, marked with the reason instead of left blank. The renderer's
  // placeholders (third-party iframes, plugin objects) carry data-cobrowse-placeholder; the
  // replica marks what it finds itself (a canvas: its pixels are never sent; an image or font
  // the agent's browser could not load, e.g. refused by the workspace CSP; the host of a closed
  // shadow root, whose content never leaves the page; an image the page made that the tag could
  // not capture, ":unseen") with UNSEEN_ATTR.
  var UNSEEN_ATTR = MARK_PREFIX + "unseen";
  // A canvas's size, "W H" (its width and height attributes, as a browser reads them): the
  // key of the rule that sizes it (_sizeCanvas).
  var CANVAS_ATTR = MARK_PREFIX + "canvas";
  var CANVAS_MAX = 16384; // px, per side
  // The visitor's focus and hover, which the agent's browser cannot match itself (the replica
  // is not focused, the agent's pointer is elsewhere): ":focus" from the wire marks the focused
  // element (FOCUS_ATTR, "visible" when the visitor sees its focus ring) and FOCUS_WITHIN_ATTR
  // its ancestors; setHover marks the element under the visitor's pointer and its ancestors.
  // The page's own :focus, :focus-visible, :focus-within and :hover rules are rewritten to
  // match these attributes instead (rewriteSelector), so the replica draws what the visitor
  // sees, and not what the agent's own pointer or focus would.
  var FOCUS_ATTR = MARK_PREFIX + "focus";
  var FOCUS_WITHIN_ATTR = MARK_PREFIX + "focus-within";
  var HOVER_ATTR = MARK_PREFIX + "hover";
  var STATE_PSEUDO = Object.freeze({
    hover: "[" + HOVER_ATTR + "]",
    focus: "[" + FOCUS_ATTR + "]",
    "focus-visible": "[" + FOCUS_ATTR + "=visible]",
    "focus-within": "[" + FOCUS_WITHIN_ATTR + "]"
  });
  // The browser's own focus ring (Chromium's UA sheet: `:focus-visible { outline: auto 1px
  // -webkit-focus-ring-color }`) for a page with no focus style of its own. In a layer that
  // _restyle declares first in each document and shadow root, so every page rule, layered or
  // not, wins over it, as every page rule wins over the UA sheet.
  var UA_LAYER = "cobrowse-replica-ua";
  var PLACEHOLDER_ATTR = "data-cobrowse-placeholder";
  // A third-party iframe's placeholder is an iframe of ours (the page's CSS for iframes gives
  // it the visitor's box): empty, fully sandboxed, a constant label document; of the wire's
  // attributes it takes only these (renderer/policy.py FRAME_BOX_ATTRS and the label).
  var THIRD_PARTY_FRAME = "third-party iframe";
  var FRAME_BOX_ATTRS = Object.freeze({ id: 1, "class": 1, style: 1, width: 1, height: 1,
    frameborder: 1, align: 1, "data-cobrowse-placeholder": 1 });
  var FRAME_LABEL_DOC = "<!DOCTYPE html><html><body style=\"margin:0;height:100vh;display:flex;" +
    "align-items:center;justify-content:center;text-align:center;color:#334155;" +
    "font:600 12px/1.3 system-ui,sans-serif\">Not visible to you: third-party iframe</body></html>";
  var UNSEEN_REASONS = Object.freeze({
    canvas: "canvas (its drawing is not shared)",
    image: "image that could not be loaded here",
    blob: "image the visitor's page made, which could not be captured",
    shadow: "closed shadow root (private to the page)"
  });
  // Tooltips of the renderer's placeholders (the hatched box's label says the reason too). A
  // same-origin frame's placeholder gets none: it normally shows the frame's nested replica.
  var PLACEHOLDER_TITLES = Object.freeze({
    "third-party iframe": "Not visible to you: a frame from another site (never shared)",
    "plugin object": "Not visible to you: plugin object (Flash, PDF, Java…: never shared)"
  });


  var REPLICA_CSS =
    "@layer " + UA_LAYER + "{:where([" + FOCUS_ATTR + "=visible]){" +
    "outline:-webkit-focus-ring-color auto 1px}}" +
    "[" + MASKED_ATTR + "]{" +
    "background:repeating-linear-gradient(135deg,#fde68a 0 6px,#fef3c7 6px 12px)!important;" +
    "color:#78350f!important;outline:2px dashed #b45309!important;outline-offset:1px;" +
    "cursor:not-allowed!important}" +
    "[" + PLACEHOLDER_ATTR + "],[" + UNSEEN_ATTR + "]{" +
    "background:repeating-linear-gradient(45deg,#e2e8f0 0 8px,#f8fafc 8px 16px)!important;" +
    "outline:2px dashed #64748b!important;outline-offset:-2px;color:#334155!important}" +
    ":not(iframe)[" + PLACEHOLDER_ATTR + "]{display:flex!important;align-items:center;justify-content:center;" +
    "min-height:48px;min-width:120px;font:600 12px/1.3 system-ui,sans-serif!important;" +
    // border-box: the box keeps the size the renderer gave it (the element's width/height).
    "text-align:center;padding:6px;box-sizing:border-box}" +
    "[" + PLACEHOLDER_ATTR + "]::before{content:'Not visible to you: ' attr(" + PLACEHOLDER_ATTR +
    ")}" +
    "img[" + UNSEEN_ATTR + "]{min-width:24px;min-height:24px}" +
    // A canvas: scripts are off here, so the browser lays it out as its fallback content,
    // which the visitor never sees; its size comes from _sizeCanvas's rule.
    "canvas[" + UNSEEN_ATTR + "=canvas]>*{display:none!important}" +
    // A closed shadow root's host may have no light-DOM content at all (the page draws it all
    // inside the root) and, without the root's :host styles, is often an inline custom element
    // (which ignores min sizes): it gets a box, at zero specificity so the page's own display
    // for it still wins, and the label is a box of its own whatever the host's display.
    ":where([" + UNSEEN_ATTR + "=shadow]){display:inline-block;min-width:120px;min-height:48px}" +
    "[" + UNSEEN_ATTR + "=shadow]::before{" +
    "content:'Not visible to you: closed shadow root'!important;display:inline-block!important;" +
    "box-sizing:border-box;min-width:120px!important;min-height:48px!important;padding:6px;" +
    "vertical-align:top;" +
    "font:600 12px/1.3 system-ui,sans-serif!important;color:#334155!important;" +
    "background:repeating-linear-gradient(45deg,#e2e8f0 0 8px,#f8fafc 8px 16px)!important;" +
    "outline:2px dashed #64748b!important;outline-offset:-2px}" +
    // A same-origin frame shown as a nested replica: no hatching, the frame fills the box
    // (two attributes outrank the placeholder rules above; !important beats the page's CSS).
    "[" + PLACEHOLDER_ATTR + "][" + FRAME_ATTR + "]{display:inline-block!important;" +
    "background:none!important;outline:none!important;padding:0!important;min-height:0;" +
    "min-width:0}" +
    "[" + PLACEHOLDER_ATTR + "][" + FRAME_ATTR + "]::before{content:none!important}" +
    // A frameset's frame is opaque (the visitor's browser paints its canvas white) where an
    // iframe shows its parent through; the frameset's own background is its border color.
    "[data-cobrowse-frameset]>[" + PLACEHOLDER_ATTR + "][" + FRAME_ATTR + "]{background:#fff!important}" +
    "iframe[" + FRAME_ATTR + "]{display:block!important;width:100%!important;" +
    "height:100%!important;border:0!important;margin:0!important;padding:0!important;" +
    "position:static!important;float:none!important;transform:none!important;" +
    "max-width:none!important;max-height:none!important}";

  var createdFrames = new WeakSet();

  /*
   * Create the replica iframe inside `container` (before `before`, if given). Put it where
   * it stays: moving an iframe in the DOM reloads it and loses the replica.
   */
  function createFrame(container, title, before) {
    var doc = container.ownerDocument;
    var frame = doc.createElement("iframe");
    frame.setAttribute("sandbox", SANDBOX);
    frame.setAttribute("data-testid", "replica-frame");
    frame.setAttribute("title", title || "Visitor's page (replica)");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("tabindex", "-1");
    createdFrames.add(frame);
    container.insertBefore(frame, before || null);
    // Start from a standards-mode document: the initial about:blank is in quirks mode, and
    // document mode can only be set by the parser. The string is a constant, never wire data.
    var fdoc = frame.contentDocument;
    if (fdoc) {
      fdoc.open();
      fdoc.write("<!DOCTYPE html><html><head></head><body></body></html>");
      fdoc.close();
    }
    return frame;
  }

  function checkFrame(frame) {
    if (!createdFrames.has(frame)) {
      throw new Error("CobrowseReplica: refusing to build into an iframe it did not create");
    }
    checkSandbox(frame);
    var doc = frame.contentDocument;
    if (!doc) throw new Error("CobrowseReplica: the replica iframe is not in a document");
    return doc;
  }

  // The replica's iframes may have no sandbox token but allow-same-origin.
  function checkSandbox(frame) {
    var sandbox = frame.getAttribute("sandbox");
    if (sandbox === null) {
      throw new Error("CobrowseReplica: refusing to build into an iframe without a sandbox");
    }
    var tokens = sandbox.toLowerCase().split(/\s+/);
    for (var i = 0; i < tokens.length; i++) {
      if (tokens[i] && !ALLOWED_SANDBOX_TOKENS[tokens[i]]) {
        throw new Error("CobrowseReplica: refusing to build into an iframe with sandbox '" +
          tokens[i] + "'");
      }
    }
  }

  function isSafeUrl(value) {
    return !SCRIPT_URL.test(String(value).replace(URL_JUNK, ""));
  }

  // Brand resources through options.resourceUrl (the relay's proxy): which attribute of
  // which element loads what kind. Anything else (links, media) is left as it is.
  var ABSOLUTE_HTTP = /^https?:\/\//i;
  var CSS_URL = /(url\(\s*)(?:"([^"\\\n]*)"|'([^'\\\n]*)'|([^\s"'()\\]*))(\s*\))/gi;
  var CSS_IMPORT = /(@import\s*)(?:"([^"\\\n]*)"|'([^'\\\n]*)')()()/gi;
  var FONT_FACE = /@font-face\s*\{[^}]*\}/gi;

  function resourceKind(el, name) {
    var tag = el.localName;
    if (el.namespaceURI === SVG_NS) {
      return tag === "image" && (name === "href" || name === "xlink:href") ? "image" : null;
    }
    if (el.namespaceURI !== HTML_NS) return null;
    if (name === "srcset") return tag === "img" || tag === "source" ? "image" : null;
    if (name === "src") return tag === "img" || tag === "input" ? "image" : null;
    if (name === "poster") return tag === "video" ? "image" : null;
    if (name === "href" && tag === "link") {
      // A stylesheet (or a link whose rel is not set yet); icons are images.
      var rel = (el.getAttribute("rel") || "stylesheet").toLowerCase();
      return /(^|\s)stylesheet(\s|$)/.test(rel) ? "css" : "image";
    }
    return null;
  }

  // CSS text with each absolute http(s) url()/@import target routed through resourceUrl: an
  // @import is "css", a url() inside @font-face "font", any other url() "image". Targets the
  // patterns do not read (escapes) stay as they are: the workspace's CSP blocks them.
  function routeCss(text, resourceUrl) {
    var faces = [];
    var face;
    FONT_FACE.lastIndex = 0;
    while ((face = FONT_FACE.exec(text))) faces.push([face.index, face.index + face[0].length]);
    function one(kind) {
      return function (match, head, dq, sq, bare, tail, offset) {
        var target = dq !== undefined ? dq : sq !== undefined ? sq : bare || "";
        if (!ABSOLUTE_HTTP.test(target)) return match;
        var k = kind;
        if (!k) {
          k = /@import\s*$/i.test(text.slice(Math.max(0, offset - 32), offset)) ? "css" : "image";
          for (var i = 0; k === "image" && i < faces.length; i++) {
            if (faces[i][0] <= offset && offset < faces[i][1]) k = "font";
          }
        }
        var fresh = resourceUrl(k, target);
        return typeof fresh === "string" ? head + JSON.stringify(fresh) + (tail || "") : match;
      };
    }
    return text.replace(CSS_URL, one(null)).replace(CSS_IMPORT, one("css"));
  }

  // An attribute's value with its brand resources routed (see resourceKind).
  function routeAttribute(el, name, value, resourceUrl) {
    if (name === "style") return routeCss(value, resourceUrl);
    var kind = resourceKind(el, name);
    if (!kind) return value;
    var parts = name === "srcset" ? value.split(",") : [value];
    for (var i = 0; i < parts.length; i++) {
      var m = /^(\s*)(\S+)([\s\S]*)$/.exec(parts[i]);
      if (!m || !ABSOLUTE_HTTP.test(m[2])) continue;
      var fresh = resourceUrl(kind, m[2]);
      if (typeof fresh === "string") parts[i] = m[1] + fresh + m[3];
    }
    return parts.join(",");
  }

  function isStyleElement(node) {
    return Boolean(node) && node.nodeType === 1 && node.localName === "style";
  }

  function isAttrs(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  /*
   * Read a run of sibling trees in the compact node form (docs/protocol.md, "Nodes"): a
   * snapshot's [doc] (`snapshot` true) or an add's `nodes` under `parent` (the DOM node they
   * go into: it decides the roots' namespace). The reader is CobrowseWire.walk (wire/nodes.js,
   * twin of wire/nodes.py); the golden cases in tests/fixtures/nodes.json keep them in
   * agreement. Returns {items} or {error}. The whole run is read before anything is built, and
   * refused at its first fault: a malformed tree never leaves half a subtree or misnumbered ids
   * behind. items are in preorder, each {id, name, ns (an element's namespace URI, by the one
   * rule), attrs (elements only), text (#text, #doctype), parent (an item, null for a root),
   * depth (1 for a root), end (the index just after its subtree: a subtree is
   * items[i .. end)), dom (set while building)}.
   */
  function readNodes(roots, parent, snapshot) {
    if (!Array.isArray(roots) || !roots.length) {
      return { error: "must be a non-empty array of nodes" };
    }
    var items = [];
    // No depth limit in reading: _build cuts a tree at this.limits.maxDepth and shows the rest.
    var options = { run: !snapshot, frames: "placeholder", maxDepth: Number.MAX_SAFE_INTEGER };
    if (parent) {
      var element = parent.nodeType === 1;
      options.parent = {
        ns: element ? SHORT_NS[parent.namespaceURI] || "html" : null,
        name: element ? parent.localName : "",
        attrs: element && parent.hasAttribute("encoding") ?
          { encoding: parent.getAttribute("encoding") } : null,
        record: null
      };
      // A same-origin frame's placeholder takes a new #document when the frame navigates.
      options.documents = element && parent.getAttribute("data-cobrowse-placeholder") === "iframe";
    }
    try {
      W.walk(roots, "nodes", options, function (up, id, name, ns, attrs, text, depth) {
        var item = { id: id, name: name, ns: ns ? W.NAMESPACES[ns] : null, attrs: attrs,
          text: text, parent: up, depth: depth, end: 0, dom: null };
        items.push(item);
        return item;
      });
    } catch (error) {
      if (error instanceof W.WireError) return { error: error.reason };
      throw error;
    }
    // Subtree ends, from the last item back: children (later in preorder) before parents.
    for (var j = items.length - 1; j >= 0; j--) {
      var it = items[j];
      if (it.end < j + 1) it.end = j + 1;
      if (it.parent && it.parent.end < it.end) it.parent.end = it.end;
    }
    return { items: items };
  }

  /*
   * One replica document. Construct it with a frame from createFrame(); it checks the frame
   * again before every snapshot and batch.
   */
  function Replica(frame, options) {
    checkFrame(frame);
    options = options || {};
    this.frame = frame;
    this.limits = {
      maxNodes: options.maxNodes || DEFAULT_LIMITS.maxNodes,
      maxDepth: options.maxDepth || DEFAULT_LIMITS.maxDepth
    };
    this.onDocument = typeof options.onDocument === "function" ? options.onDocument : null;
    this.onUnseen = typeof options.onUnseen === "function" ? options.onUnseen : null;
    this.warn = typeof options.warn === "function" ? options.warn : function () {};
    this.resourceUrl = typeof options.resourceUrl === "function" ? options.resourceUrl : null;
    this.ids = new Map();
    this.nodeIds = new WeakMap();
    this.placeholders = new WeakSet();
    this.maskedReadOnly = new WeakMap();
    this.pageTitles = new WeakMap(); // element marked unseen -> the page's own title (or null)
    this.shadows = new Set(); // open shadow roots of the replica (unseen() looks inside them)
    this.documentId = null;
    this.doc = null;
    this.styled = new WeakSet(); // documents with the replica's listeners and stylesheet
    this.sheets = new WeakMap(); // document -> its constructed mask stylesheet
    this.canvasSizes = new WeakMap(); // that sheet -> the canvas sizes it has a rule for
    this.rewritten = new WeakSet(); // page stylesheets whose :hover/:focus rules are rewritten
    this.focusMarks = []; // [element, attribute] of the visitor's focus (_setFocus)
    this.hoverMarks = []; // [element, attribute] of the visitor's hover (setHover)
    this.focused = null;
    this.hovered = null;
    this._resetFrames();
  }

  // Nested replicas of same-origin frames. A record is {id (the frame document's wire id),
  // frame (our iframe), holder (the placeholder), doc (null until filled), children, depth,
  // dead}. An iframe has a contentDocument only once it is connected, and subtrees are built
  // detached: records wait in `pending` until _fillFrames runs after the insertion.
  Replica.prototype._resetFrames = function () {
    this.frameRecords = new WeakMap(); // our iframe -> record
    this.docRecords = new WeakMap(); // nested document -> record
    this.nested = new Map(); // nested document id -> record (for unseen())
    this.pending = [];
  };

  Replica.prototype.node = function (id) {
    return this.ids.get(id) || null;
  };

  Replica.prototype.idOf = function (node) {
    var id = this.nodeIds.get(node);
    return id === undefined ? null : id;
  };

  // The nearest node (itself or an ancestor, crossing from a shadow root to its host) that
  // has a wire id and a box: what a pointer names. Inside a nested frame it stops at that
  // frame's document at the latest (its id is the frame document's).
  Replica.prototype.closestId = function (node) {
    while (node) {
      var id = this.nodeIds.get(node);
      if (id !== undefined && node.nodeType !== 11) return { id: id, node: node };
      node = node.parentNode || node.host || null;
    }
    return null;
  };

  Replica.prototype.isPlaceholder = function (node) {
    return this.placeholders.has(node);
  };

  // The iframe showing a nested frame document, or null (the top document, unknown ones).
  Replica.prototype.frameOf = function (doc) {
    var rec = doc ? this.docRecords.get(doc) : null;
    return rec && !rec.dead ? rec.frame : null;
  };

  /*
   * Map a rect ({left, top, width, height}) in the viewport of `doc` (the top replica
   * document or a nested one) to the top replica document's viewport, through every frame
   * in between (its position, border and any CSS scale). Returns a plain object, or null when
   * `doc` is not part of this replica any more.
   */
  Replica.prototype.toTopRect = function (rect, doc) {
    var out = { left: rect.left, top: rect.top, width: rect.width, height: rect.height };
    var guard = 0;
    while (doc && doc !== this.doc) {
      var frame = this.frameOf(doc);
      if (!frame || !frame.isConnected || ++guard > 64) return null;
      var box = frame.getBoundingClientRect();
      var sx = frame.offsetWidth > 0 ? box.width / frame.offsetWidth : 1;
      var sy = frame.offsetHeight > 0 ? box.height / frame.offsetHeight : 1;
      out.left = box.left + (frame.clientLeft + out.left) * sx;
      out.top = box.top + (frame.clientTop + out.top) * sy;
      out.width *= sx;
      out.height *= sy;
      doc = frame.ownerDocument;
    }
    return doc ? out : null;
  };

  Replica.prototype._register = function (id, node) {
    var old = this.ids.get(id);
    if (old && old !== node) this._forget(old);
    this.ids.set(id, node);
    this.nodeIds.set(node, id);
  };

  // Drop a node and its subtree from the maps (after a remove or a replace).
  Replica.prototype._forget = function (root) {
    var stack = [root];
    while (stack.length) {
      var node = stack.pop();
      var id = this.nodeIds.get(node);
      if (id !== undefined) {
        if (this.ids.get(id) === node) this.ids.delete(id);
        this.nodeIds.delete(node);
      }
      if (node.nodeType === 11) this.shadows.delete(node);
      for (var child = node.firstChild; child; child = child.nextSibling) stack.push(child);
      if (node.nodeType === 1 && node.shadowRoot) stack.push(node.shadowRoot);
      // A nested frame: its document outlives the removed iframe as an object (the frame's
      // contentDocument is already null then), so the record keeps it to forget its nodes.
      var rec = node.nodeType === 1 ? this.frameRecords.get(node) : null;
      if (rec && !rec.dead) {
        rec.dead = true;
        if (this.nested.get(rec.id) === rec) this.nested.delete(rec.id);
        if (rec.doc) stack.push(rec.doc);
      }
    }
  };

  // Take a nested frame out of its placeholder (its document was removed, or the placeholder
  // no longer names a same-origin frame); the placeholder shows its hatched box again.
  Replica.prototype._dropFrame = function (rec) {
    if (rec.frame.parentNode) rec.frame.parentNode.removeChild(rec.frame);
    if (rec.holder.nodeType === 1) rec.holder.removeAttribute(FRAME_ATTR);
    this._forget(rec.frame);
  };

  // The iframe for a `#document` wire node under `holder`, or null where none may be: only a
  // same-origin frame's placeholder (data-cobrowse-placeholder="iframe") holds one, and one
  // at most. A third-party placeholder stays a box whatever the message says. The iframe gets
  // the replica's one sandbox before it is ever connected (flags are fixed at creation) and
  // no src/srcdoc: its document is built node by node, as the top one is.
  Replica.prototype._nestedFrame = function (holder, items, index, depth) {
    if (!holder || holder.nodeType !== 1 || holder.namespaceURI !== HTML_NS ||
        holder.getAttribute(PLACEHOLDER_ATTR) !== "iframe" || holder.hasAttribute(FRAME_ATTR)) {
      return null;
    }
    var frame = holder.ownerDocument.createElementNS(HTML_NS, "iframe");
    frame.setAttribute("sandbox", SANDBOX);
    frame.setAttribute(FRAME_ATTR, "");
    frame.setAttribute("title", "Frame of the visitor's page (replica)");
    frame.setAttribute("referrerpolicy", "no-referrer");
    holder.setAttribute(FRAME_ATTR, "");
    // items/index: the reading the document came in, kept until its children are built.
    var rec = { id: items[index].id, frame: frame, holder: holder, doc: null, items: items,
      index: index, depth: depth, dead: false };
    this.frameRecords.set(frame, rec);
    this.pending.push(rec);
    return frame;
  };

  // Build the nested documents whose iframes are now connected (and those found inside them).
  // Call after every insertion of built nodes into the replica.
  Replica.prototype._fillFrames = function (budget, scrolls) {
    while (this.pending.length) {
      var rec = this.pending.shift();
      if (rec.dead) continue;
      var fdoc = null;
      if (rec.frame.isConnected) {
        try {
          checkSandbox(rec.frame);
          fdoc = rec.frame.contentDocument;
        } catch (error) {
          this.warn("replica: nested frame refused: " + error.message);
          fdoc = null;
        }
      }
      if (!fdoc) {
        // Never connected (its insertion failed) or no document: show the placeholder box.
        this._dropFrame(rec);
        continue;
      }
      // A standards-mode document to start from, as createFrame does for the top one (the
      // initial about:blank is in quirks mode). A constant string, never wire data.
      try {
        fdoc.open();
        fdoc.write(STANDARDS_DOC);
        fdoc.close();
      } catch (error) {
        this.warn("replica: nested frame stays in quirks mode: " + error.message);
      }
      while (fdoc.firstChild) fdoc.removeChild(fdoc.firstChild);
      rec.doc = fdoc;
      this.docRecords.set(fdoc, rec);
      this.nested.set(rec.id, rec);
      this._register(rec.id, fdoc);
      this._installStyle(fdoc);
      var items = rec.items;
      for (var i = rec.index + 1; i < items[rec.index].end; i = items[i].end) {
        var built = this._build(items, i, fdoc, budget, scrolls, rec.depth + 1);
        if (built) {
          try { fdoc.appendChild(built); } catch (error) { this._forget(built); }
        }
      }
      rec.items = null;
      if (this.onDocument) this.onDocument(fdoc, { nested: true, id: rec.id, frame: rec.frame });
    }
  };

  // The mask and unseen styles inside an open shadow root too (document sheets stop at it).
  Replica.prototype._styleShadow = function (shadow) {
    // A constructed sheet is adoptable only within the document it was made for.
    var sheet = this.sheets.get(shadow.ownerDocument);
    if (!sheet) return;
    try { shadow.adoptedStyleSheets = [sheet]; } catch (error) { /* old engine */ }
    this._listenSheets(shadow);
  };

  // Mark `el` as an area the agent cannot see, with the reason (a key of UNSEEN_REASONS).
  // The page's own title is kept aside, and comes back when the mark goes (_clearUnseen).
  Replica.prototype._markUnseen = function (el, reason) {
    if (el.getAttribute(UNSEEN_ATTR) === reason) return;
    if (!this.pageTitles.has(el)) this.pageTitles.set(el, el.getAttribute("title"));
    el.setAttribute(UNSEEN_ATTR, reason);
    el.setAttribute("title", "Not visible to you: " + UNSEEN_REASONS[reason]);
    if (this.onUnseen) this.onUnseen(el, reason);
  };

  Replica.prototype._clearUnseen = function (el, reason) {
    if (el.getAttribute(UNSEEN_ATTR) !== reason) return;
    el.removeAttribute(UNSEEN_ATTR);
    var title = this.pageTitles.get(el);
    this.pageTitles.delete(el);
    if (typeof title === "string") el.setAttribute("title", title);
    else el.removeAttribute("title");
  };

  // Give a canvas the box the visitor's browser gives it. A browser with scripts on draws a
  // canvas as a replaced element of its width x height attributes (300 x 150 by default, each
  // a non-negative integer); here, with scripts off, it is an inline box of its fallback
  // content. One rule per size, at zero specificity so the page's own rules for it win:
  // inline-block, as wide as its width attribute, as tall as its ratio gives (so a page that
  // sets only its width gets the height the visitor sees), its content not counted.
  Replica.prototype._sizeCanvas = function (el) {
    var read = function (name, fallback) {
      var m = /^[\t\n\f\r ]*\+?([0-9]+)/.exec(el.getAttribute(name) || "");
      return m ? Math.min(Number(m[1]), CANVAS_MAX) : fallback;
    };
    var w = read("width", 300);
    var h = read("height", 150);
    var key = w + " " + h;
    el.setAttribute(CANVAS_ATTR, key);
    var sheet = this.sheets.get(el.ownerDocument);
    if (!sheet) return;
    var sized = this.canvasSizes.get(sheet);
    if (!sized) { sized = new Set(); this.canvasSizes.set(sheet, sized); }
    if (sized.has(key)) return;
    sized.add(key);
    try {
      sheet.insertRule(":where(canvas[" + CANVAS_ATTR + "=\"" + key + "\"]){display:inline-block;" +
        "width:max-content;contain:size;contain-intrinsic-size:" + w + "px " + h + "px;" +
        (w && h ? "aspect-ratio:" + w + "/" + h + ";" : "height:" + h + "px;") +
        "}", sheet.cssRules.length);
    } catch (error) {
      this.warn("replica: cannot size a canvas", error);
    }
  };

  // A third-party iframe's placeholder: an iframe of ours with no src, sandboxed with every
  // restriction before it is connected, showing a constant label; the wire's attributes that
  // give it its box (FRAME_BOX_ATTRS), so the page's CSS for iframes lays it out as the
  // visitor's browser lays out the frame.
  Replica.prototype._boxedFrame = function (doc, attrs) {
    var node = doc.createElementNS(HTML_NS, "iframe");
    node.setAttribute("sandbox", "");
    node.setAttribute("referrerpolicy", "no-referrer");
    node.setAttribute("tabindex", "-1");
    node.setAttribute("srcdoc", FRAME_LABEL_DOC);
    this.placeholders.add(node);
    var names = Object.keys(attrs);
    for (var a = 0; a < names.length; a++) {
      if (typeof attrs[names[a]] === "string") this._setAttribute(node, names[a], attrs[names[a]]);
    }
    this._titlePlaceholder(node);
    return node;
  };

  // A tooltip for a renderer placeholder, after its wire attributes (it has no title of its own).
  Replica.prototype._titlePlaceholder = function (el) {
    var reason = el.getAttribute(PLACEHOLDER_ATTR);
    if (reason === null || reason === "iframe") {
      // No longer a box the agent cannot see: a tooltip of ours goes (the renderer sends
      // placeholders without a title of their own).
      if ((el.getAttribute("title") || "").indexOf("Not visible to you:") === 0) {
        el.removeAttribute("title");
      }
      return;
    }
    el.setAttribute("title", Object.prototype.hasOwnProperty.call(PLACEHOLDER_TITLES, reason) ?
      PLACEHOLDER_TITLES[reason] : "Not visible to you: " + reason);
  };

  // Every area of the replica the agent cannot see: [{node, reason}] (reason is a
  // placeholder label or a key of UNSEEN_REASONS), nested frame documents and open shadow
  // roots included (documents first). A same-origin frame shown as a nested replica is not
  // one of them.
  Replica.prototype.unseen = function () {
    var out = [];
    if (!this.doc) return out;
    var docs = [this.doc];
    this.nested.forEach(function (rec) { if (rec.doc && !rec.dead) docs.push(rec.doc); });
    this.shadows.forEach(function (root) { if (root.host.isConnected) docs.push(root); });
    var query = "[" + PLACEHOLDER_ATTR + "]:not([" + FRAME_ATTR + "]),[" + UNSEEN_ATTR + "]";
    for (var d = 0; d < docs.length; d++) {
      var found = docs[d].querySelectorAll(query);
      for (var i = 0; i < found.length; i++) {
        var reason = found[i].getAttribute(UNSEEN_ATTR) || found[i].getAttribute(PLACEHOLDER_ATTR);
        out.push({ node: found[i], reason: reason });
      }
    }
    return out;
  };

  // The mask and unseen styles and the image-error listener, on the top document and on every
  // nested one (each document needs its own constructed sheet).
  Replica.prototype._installStyle = function (doc) {
    if (this.styled.has(doc)) return;
    this.styled.add(doc);
    var self = this;
    // Resource errors do not bubble, but they pass the document in the capture phase; the
    // replica is same-origin, so the workspace sees them without any script inside it.
    doc.addEventListener("error", function (event) {
      var el = event.target;
      if (el && el.nodeType === 1 && (el.localName === "img" || el.localName === "image" ||
          (el.localName === "input" && el.type === "image"))) {
        self._markUnseen(el, "image");
      }
    }, true);
    this._listenSheets(doc);
    if (doc.fonts && doc.fonts.addEventListener) {
      doc.fonts.addEventListener("loadingerror", function () {
        if (self.onUnseen) self.onUnseen(null, "font");
      });
    }
    var view = doc.defaultView;
    try {
      // A constructed sheet adds no node to the replica, so wire ids and `next` stay exact.
      var sheet = new view.CSSStyleSheet();
      sheet.replaceSync(REPLICA_CSS);
      doc.adoptedStyleSheets = [sheet];
      this.sheets.set(doc, sheet);
    } catch (error) {
      this.warn("replica: cannot add the mask stylesheet", error);
    }
  };

  /*
   * Replace the replica's document with msg.doc (a `#document` node in the compact form).
   * Returns the document, or null when msg.doc breaks the grammar: then nothing changed (the
   * previous replica stays, with its ids) and the caller should wait for the next snapshot.
   * After a snapshot is applied, position pointers again: every previous node is gone (the
   * onDocument option is called here). Throws only when the replica's iframe is not safe to
   * build into (see checkFrame).
   */
  Replica.prototype.applySnapshot = function (msg) {
    var doc = checkFrame(this.frame);
    var read = readNodes([msg ? msg.doc : undefined], null, true);
    if (read.items && read.items[0].name !== "#document") {
      read = { error: "a snapshot's doc must be a #document node" };
    }
    if (read.error) {
      this.warn("replica: snapshot refused: " + read.error);
      return null;
    }
    var items = read.items;
    var root = items[0];
    while (doc.firstChild) doc.removeChild(doc.firstChild);
    this.ids = new Map();
    this.nodeIds = new WeakMap();
    this.shadows = new Set();
    this._resetFrames(); // the old nested frames went with the old document's children
    this.focusMarks = [];
    this.hoverMarks = [];
    this.focused = null;
    this.hovered = null;
    this.doc = doc;
    this.documentId = root.id;
    this._register(root.id, doc);
    this._installStyle(doc);
    var budget = { nodes: this.limits.maxNodes };
    var scrolls = [];
    for (var i = 1; i < root.end; i = items[i].end) {
      var built = this._build(items, i, doc, budget, scrolls);
      if (built) {
        // A document takes one doctype and one element; anything else is dropped.
        try { doc.appendChild(built); } catch (error) { this._forget(built); }
      }
    }
    this._fillFrames(budget, scrolls);
    this._applyScrolls(scrolls);
    this._syncStateMarks();
    if (this.onDocument) this.onDocument(doc, { nested: false, id: root.id, frame: this.frame });
    return doc;
  };

  /*
   * Apply one `replica.mutations` batch in protocol order: removes, adds (in list order; an
   * add's `nodes` are consecutive siblings inserted in order before `next`), attrs, texts.
   * Entries naming unknown nodes, and adds whose `nodes` break the grammar (nothing of such an
   * add is built), are skipped and counted; returns {skipped: n}. A caller seeing skips should
   * expect a fresh snapshot (resync).
   */
  Replica.prototype.applyMutations = function (msg) {
    checkFrame(this.frame);
    var skipped = 0;
    var i;
    if (!this.doc) return { skipped: 1 };
    var removes = Array.isArray(msg.removes) ? msg.removes : [];
    for (i = 0; i < removes.length; i++) {
      var gone = this.ids.get(removes[i]);
      if (!gone || gone === this.doc || gone.nodeType === 11) { skipped++; continue; }
      this._detach(gone);
    }
    var adds = Array.isArray(msg.adds) ? msg.adds : [];
    var budget = { nodes: this.limits.maxNodes };
    var scrolls = [];
    for (i = 0; i < adds.length; i++) {
      var add = isAttrs(adds[i]) ? adds[i] : {};
      var parent = this.ids.get(add.parent);
      if (!parent || this.placeholders.has(parent)) { skipped++; continue; }
      var read = readNodes(add.nodes, parent);
      if (read.error) {
        this.warn("replica: add refused: " + read.error);
        skipped++;
        continue;
      }
      var next = add.next === null || add.next === undefined ? null : this.ids.get(add.next);
      if (next === undefined || (next && next.parentNode !== parent)) {
        skipped++;
        next = null; // keep the nodes: appending is closer to the page than dropping them
      }
      var items = read.items;
      for (var r = 0; r < items.length; r = items[r].end) {
        var moved = this.ids.get(items[r].id);
        if (moved) {
          // The same id again: the tag moved the node; the new subtree replaces the old one.
          if (moved === this.doc) { skipped++; continue; }
          if (moved === next) next = moved.nextSibling;
          this._detach(moved);
          if (next && next.parentNode !== parent) next = null;
        }
        var built = this._build(items, r, parent, budget, scrolls);
        if (!built) continue;
        try {
          parent.insertBefore(built, next);
        } catch (error) {
          this._forget(built);
          skipped++;
        }
        // Now connected: fill nested frames at once, so later entries may name their nodes.
        this._fillFrames(budget, scrolls);
      }
    }
    this._applyScrolls(scrolls);
    var attrs = Array.isArray(msg.attrs) ? msg.attrs : [];
    for (i = 0; i < attrs.length; i++) {
      var entry = attrs[i];
      var el = Array.isArray(entry) ? this.ids.get(entry[0]) : null;
      if (!el || el.nodeType !== 1 || typeof entry[1] !== "string") { skipped++; continue; }
      if (entry[1].charAt(0) === ":") {
        this._setState(el, entry[1], entry[2], scrolls);
      } else {
        this._setAttribute(el, entry[1], entry[2]);
      }
    }
    this._applyScrolls(scrolls);
    var texts = Array.isArray(msg.texts) ? msg.texts : [];
    for (i = 0; i < texts.length; i++) {
      var t = texts[i];
      var textNode = Array.isArray(t) ? this.ids.get(t[0]) : null;
      if (!textNode || textNode.nodeType !== 3 || typeof t[1] !== "string") { skipped++; continue; }
      textNode.data = this.resourceUrl && isStyleElement(textNode.parentNode) ?
        routeCss(t[1], this.resourceUrl) : t[1];
    }
    this._syncStateMarks();
    if (skipped) this.warn("replica: skipped " + skipped + " mutation entries");
    return { skipped: skipped };
  };

  // Take a node (and its subtree) out of the replica and forget it; a nested frame's document
  // takes its iframe with it.
  Replica.prototype._detach = function (node) {
    var rec = node.nodeType === 9 ? this.docRecords.get(node) : null;
    if (rec) {
      if (!rec.dead) this._dropFrame(rec);
      return;
    }
    if (node.parentNode) node.parentNode.removeChild(node);
    this._forget(node);
  };

  /*
   * Scroll a replica node: a document id (or its scrolling element) scrolls that document's
   * window (the top one or a nested frame's). Returns the element or window scrolled, or null.
   */
  Replica.prototype.scrollNode = function (id, x, y) {
    var node = this.ids.get(id);
    if (!node || !this.doc) return null;
    var doc = node.nodeType === 9 ? node : node.ownerDocument;
    if (node === doc || node === doc.documentElement || node === doc.scrollingElement) {
      var view = doc.defaultView;
      if (view) view.scrollTo(x, y);
      return view;
    }
    if (node.nodeType !== 1) return null;
    node.scrollLeft = x;
    node.scrollTop = y;
    return node;
  };

  // Build the subtree items[start .. items[start].end) of a readNodes() reading, in preorder
  // (no recursion: pages nest deeper than JS stacks like). `parentContext` decides the
  // namespace and the document that owns the nodes (the top one or a nested frame's);
  // `startDepth` (default 1) is the root's depth. Returns the root's DOM node, or null (not
  // built, or a shadow root, which goes onto its host). A subtree under a node that is not
  // built is skipped whole: its ids are never registered.
  Replica.prototype._build = function (items, start, parentContext, budget, scrolls, startDepth) {
    var doc = !parentContext ? this.doc :
      parentContext.nodeType === 9 ? parentContext : parentContext.ownerDocument || this.doc;
    var self = this;
    var rootOut = null;
    var shift = (startDepth || 1) - items[start].depth;
    var states = []; // state entries are applied once children exist (select's :value)
    for (var i = start; i < items[start].end; i++) {
      var item = items[i];
      var domParent = i === start ? null : item.parent.dom;
      if (i !== start && !domParent) { i = item.end - 1; continue; }
      if (budget.nodes-- <= 0) {
        this.warn("replica: node limit reached; the rest of the page is not shown");
        break;
      }
      var depth = item.depth + shift;
      var name = item.name;
      var node = null;
      var open = false; // whether its children are built
      if (name === "#text") {
        var text = item.text;
        if (this.resourceUrl && (isStyleElement(domParent) ||
            (!domParent && isStyleElement(parentContext)))) {
          text = routeCss(text, this.resourceUrl);
        }
        node = doc.createTextNode(text);
      } else if (name === "#comment") {
        node = doc.createComment("");
      } else if (name === "#doctype") {
        try {
          node = doc.implementation.createDocumentType(item.text || "html", "", "");
        } catch (error) {
          node = null;
        }
      } else if (name === "#shadow") {
        // An element's open shadow root: attached to its host, never a child node of it.
        var host = domParent || parentContext;
        var shadow = null;
        if (host && host.nodeType === 1 && !host.shadowRoot) {
          try { shadow = host.attachShadow({ mode: "open" }); } catch (error) { shadow = null; }
        }
        if (!shadow) { i = item.end - 1; continue; } // a host that cannot have one: dropped
        this._register(item.id, shadow);
        this._styleShadow(shadow);
        this.shadows.add(shadow);
        item.dom = shadow;
        continue;
      } else if (name === "#document") {
        // A same-origin frame's document: an iframe of our own in its placeholder, filled by
        // _fillFrames once connected. Anywhere else a document inside a document is dropped.
        var frameEl = depth < this.limits.maxDepth ?
          this._nestedFrame(domParent || parentContext, items, i, depth) : null;
        if (frameEl) {
          if (domParent) domParent.appendChild(frameEl); else rootOut = frameEl;
        }
        i = item.end - 1;
        continue;
      } else {
        var lower = name.toLowerCase();
        var ns = item.ns || HTML_NS; // the one rule's decision (wire/nodes.js)
        var attrs = item.attrs;
        if (ns === HTML_NS && lower === "iframe" && attrs[PLACEHOLDER_ATTR] === THIRD_PARTY_FRAME) {
          node = this._boxedFrame(doc, attrs);
        } else if (ns === HTML_NS && PLUGIN_ELEMENTS[lower]) {
          node = doc.createElementNS(HTML_NS, "div");
          node.setAttribute(PLACEHOLDER_ATTR, PLUGIN_PLACEHOLDER);
          this._titlePlaceholder(node);
          this.placeholders.add(node);
        } else if ((ns === HTML_NS && SKIP_ELEMENTS[lower]) || lower === "script" ||
            (lower === "meta" && Object.prototype.hasOwnProperty.call(attrs, "http-equiv"))) {
          node = doc.createComment("");
          this.placeholders.add(node);
        } else {
          try {
            node = doc.createElementNS(ns, ns === HTML_NS ? lower : name);
          } catch (error) {
            node = doc.createComment(""); // a name createElementNS rejects
            this.placeholders.add(node);
          }
          if (node.nodeType === 1) {
            var names = Object.keys(attrs);
            // A link's rel before its href: it says what the href loads (resourceKind).
            var rel = names.indexOf("rel");
            if (rel > 0) names.unshift(names.splice(rel, 1)[0]);
            var stateNames = [];
            for (var a = 0; a < names.length; a++) {
              if (names[a].charAt(0) === ":") stateNames.push(names[a]);
              else if (typeof attrs[names[a]] === "string") {
                this._setAttribute(node, names[a], attrs[names[a]]);
              }
            }
            if (ns === HTML_NS && FORM_FIELDS[lower]) {
              // The agent's browser must never autofill the visitor's fields.
              node.setAttribute("autocomplete", "off");
            }
            if (ns === HTML_NS && lower === "canvas") {
              this._markUnseen(node, "canvas");
              this._sizeCanvas(node);
            }
            if (node.hasAttribute(PLACEHOLDER_ATTR)) this._titlePlaceholder(node);
            if (stateNames.length) states.push([node, attrs, stateNames]);
            if (depth < this.limits.maxDepth) {
              open = true;
            } else if (item.end > i + 1) {
              this.warn("replica: tree deeper than " + this.limits.maxDepth + "; cut");
            }
          }
        }
      }
      if (!node) { i = item.end - 1; continue; }
      this._register(item.id, node);
      if (domParent) {
        try {
          domParent.appendChild(node);
        } catch (error) {
          this._forget(node);
          i = item.end - 1;
          continue;
        }
      } else {
        rootOut = node;
      }
      if (open) item.dom = node; else i = item.end - 1;
    }
    // Children first, then state: a select's value needs its options.
    for (var s = states.length - 1; s >= 0; s--) {
      var entry = states[s];
      for (var k = 0; k < entry[2].length; k++) {
        self._setState(entry[0], entry[2][k], entry[1][entry[2][k]], scrolls);
      }
    }
    return rootOut;
  };

  Replica.prototype._setAttribute = function (el, name, value) {
    var lower = name.toLowerCase();
    if (!ATTR_NAME.test(name) || lower.slice(0, 2) === "on" || SKIP_ATTRS[lower] ||
        lower.indexOf(MARK_PREFIX) === 0 || lower === "xmlns" || lower.slice(0, 6) === "xmlns:") {
      return;
    }
    if (el.localName === "iframe" && this.placeholders.has(el) &&
        !Object.prototype.hasOwnProperty.call(FRAME_BOX_ATTRS, lower)) {
      return; // a boxed frame takes nothing that could load or name content
    }
    var field = el.namespaceURI === HTML_NS && FORM_FIELDS[el.localName];
    if (lower === PLACEHOLDER_ATTR && value !== "iframe" && el.hasAttribute(FRAME_ATTR)) {
      // No longer a same-origin frame: its nested replica goes (the renderer re-adds the
      // placeholder in that case; this keeps a third-party box empty whatever comes).
      var child = el.firstChild;
      for (; child; child = child.nextSibling) {
        var rec = child.nodeType === 1 ? this.frameRecords.get(child) : null;
        if (rec && !rec.dead) { this._dropFrame(rec); break; }
      }
      el.removeAttribute(FRAME_ATTR);
    }
    if (lower === "title" && this.pageTitles.has(el)) {
      // Marked unseen: the mark's title stays; the page's comes back with _clearUnseen.
      this.pageTitles.set(el, typeof value === "string" ? value : null);
      return;
    }
    try {
      if (value === null || value === undefined) {
        if (lower === "readonly" && this.maskedReadOnly.has(el)) {
          this.maskedReadOnly.set(el, false); // stays read-only while masked
          return;
        }
        el.removeAttribute(name);
        if (lower === PLACEHOLDER_ATTR) this._titlePlaceholder(el);
        if ((lower === "width" || lower === "height") && el.hasAttribute(CANVAS_ATTR)) this._sizeCanvas(el);
        return;
      }
      value = String(value);
      if ((URL_ATTRS[lower] || lower === "srcset") && !isSafeUrl(value)) return;
      if (this.resourceUrl) value = routeAttribute(el, lower, value, this.resourceUrl);
      if (lower === "readonly" && field && this.maskedReadOnly.has(el)) {
        this.maskedReadOnly.set(el, true);
      }
      if (lower === "xlink:href") el.setAttributeNS(XLINK_NS, "xlink:href", value);
      else if (lower === "xml:lang" || lower === "xml:space") el.setAttributeNS(XML_NS, lower, value);
      else el.setAttribute(name, value);
      if (lower === PLACEHOLDER_ATTR) this._titlePlaceholder(el);
      if ((lower === "width" || lower === "height") && el.hasAttribute(CANVAS_ATTR)) this._sizeCanvas(el);
    } catch (error) {
      // setAttribute rejects names that are not XML names ("1x", "a\"b"): ignore them.
    }
  };

  Replica.prototype._setState = function (el, name, value, scrolls) {
    var on = value !== null && value !== undefined;
    if (name === ":value") {
      if (!("value" in el)) return;
      var text = on ? String(value) : "";
      if (el.value !== text) el.value = text; // same value: keep the agent's caret
    } else if (name === ":checked") {
      if ("checked" in el) el.checked = on;
    } else if (name === ":selected") {
      if ("selected" in el) el.selected = on;
    } else if (name === ":scroll") {
      var parts = on ? String(value).split(",") : ["0", "0"];
      var x = parseFloat(parts[0]);
      var y = parseFloat(parts[1]);
      if (isFinite(x) && isFinite(y)) scrolls.push([el, x, y]);
    } else if (name === ":masked") {
      this._setMasked(el, on ? String(value) : null);
    } else if (name === ":shadow") {
      // The element hosts a closed shadow root: its content never leaves the page.
      if (value === "closed") this._markUnseen(el, "shadow");
      else this._clearUnseen(el, "shadow");
    } else if (name === ":focus") {
      // The visitor's focused element ("visible": their browser draws its focus ring).
      if (on) this._setFocus(el, value === "visible" ? "visible" : "focus");
      else if (el === this.focused) this._setFocus(null, null);
    } else if (name === ":unseen") {
      // An image the visitor's page made (a blob: URL) whose pixels the tag could not send.
      if (value === "image") this._markUnseen(el, "blob");
      else this._clearUnseen(el, "blob");
    }
    // Unknown ":" names are reserved for later versions: ignored.
  };

  Replica.prototype._setMasked = function (el, reason) {
    var field = el.namespaceURI === HTML_NS && FORM_FIELDS[el.localName];
    if (reason === null) {
      el.removeAttribute(MASKED_ATTR);
      if (field && this.maskedReadOnly.has(el)) {
        el.readOnly = this.maskedReadOnly.get(el);
        this.maskedReadOnly.delete(el);
        if (el.localName === "select") el.disabled = false;
      }
      return;
    }
    el.setAttribute(MASKED_ATTR, reason);
    el.setAttribute("title", "Masked: the visitor's value is never sent");
    if (field) {
      if (!this.maskedReadOnly.has(el)) this.maskedReadOnly.set(el, el.hasAttribute("readonly"));
      el.readOnly = true;
      if (el.localName === "select") el.disabled = true; // selects ignore readonly
      if ("value" in el && el.localName !== "select" && el.value !== MASK_PLACEHOLDER &&
          el.type !== "checkbox" && el.type !== "radio") {
        el.value = MASK_PLACEHOLDER;
      }
    }
  };

  Replica.prototype._applyScrolls = function (scrolls) {
    while (scrolls.length) {
      var s = scrolls.shift();
      var el = s[0];
      if (!el.isConnected) continue;
      var doc = el.ownerDocument;
      if (el === doc.documentElement || el === doc.body || el === doc.scrollingElement) {
        if (doc.defaultView) doc.defaultView.scrollTo(s[1], s[2]);
      } else {
        el.scrollLeft = s[1];
        el.scrollTop = s[2];
      }
    }
  };

  // ------------------------------------------------------------------ focus and hover

  // `text` (a selector list as the CSSOM serializes it) with every :hover, :focus,
  // :focus-visible and :focus-within replaced by the attribute the replica sets for the
  // visitor's state (STATE_PSEUDO), or null when it has none. Read as CSS tokens, not as text:
  // strings and escapes are skipped (`[title=":hover"]`, `.a\:hover` stay), a pseudo-element
  // (`::before`) is not a pseudo-class, and a function of the same name is not the class. Inside
  // :not(), :is(), :where() and :has() the replacement keeps the meaning (`:not(:hover)` becomes
  // "not hovered by the visitor"), and only the selectors of a list that name a state change.
  function rewriteSelector(text) {
    if (!/:(hover|focus)/i.test(text)) return null;
    var out = "";
    var last = 0;
    var n = text.length;
    var i = 0;
    while (i < n) {
      var ch = text.charAt(i);
      if (ch === "\\") {
        i += 2; // an escaped character is part of a name, whatever it is
      } else if (ch === "\"" || ch === "'") {
        for (i++; i < n && text.charAt(i) !== ch; i++) if (text.charAt(i) === "\\") i++;
        i++;
      } else if (ch === ":" && text.charAt(i + 1) === ":") {
        i += 2; // a pseudo-element: its name is read as plain characters next
      } else if (ch === ":") {
        var j = i + 1;
        while (j < n && /[-\w]/.test(text.charAt(j))) j++;
        var name = text.slice(i + 1, j).toLowerCase();
        if (Object.prototype.hasOwnProperty.call(STATE_PSEUDO, name) && text.charAt(j) !== "(") {
          out += text.slice(last, i) + STATE_PSEUDO[name];
          last = j;
        }
        i = j;
      } else {
        i++;
      }
    }
    return last ? out + text.slice(last) : null;
  }

  // Rewrite the selectors of `rules` and of every rule inside them: @media, @supports,
  // @layer, @container and the like, nested style rules (CSS nesting) and @import's sheets.
  // A selector the engine refuses once rewritten (`::part(x):hover`, where an attribute
  // selector may not follow) keeps the page's own.
  function rewriteRules(rules, depth, seen) {
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i];
      var selector = rule.selectorText;
      if (typeof selector === "string") {
        var rewritten = rewriteSelector(selector);
        if (rewritten !== null) rule.selectorText = rewritten;
      }
      var inner = null;
      try { inner = rule.cssRules || null; } catch (error) { inner = null; }
      if (inner && inner.length && depth < 64) rewriteRules(inner, depth + 1, seen);
      var imported = rule.styleSheet || null;
      if (imported && depth < 64) {
        seen.add(imported);
        try { rewriteRules(imported.cssRules, depth + 1, seen); } catch (error) { /* unreadable */ }
      }
    }
  }

  // An element's parent in the flat tree (its slot, a shadow root's host), and from a nested
  // document to our iframe showing it: the chain :hover and :focus-within apply to.
  Replica.prototype._flatParent = function (node) {
    if (node.assignedSlot) return node.assignedSlot;
    var p = node.parentNode;
    if (!p) return null;
    if (p.nodeType === 11) return p.host || null;
    if (p.nodeType === 9) return this.frameOf(p);
    return p;
  };

  function clearMarks(marks) {
    for (var i = 0; i < marks.length; i++) marks[i][0].removeAttribute(marks[i][1]);
  }

  // The visitor's focused element (`how`: "visible" or "focus"), or none (el null): it gets
  // FOCUS_ATTR, its flat-tree ancestors FOCUS_WITHIN_ATTR, and the shadow hosts and frames it
  // is inside match :focus as the visitor's do.
  Replica.prototype._setFocus = function (el, how) {
    clearMarks(this.focusMarks);
    this.focusMarks = [];
    this.focused = el;
    if (!el) return;
    el.setAttribute(FOCUS_ATTR, how);
    this.focusMarks.push([el, FOCUS_ATTR]);
    for (var n = el, k = 0; n && k < 4096; k++) {
      if (n.nodeType === 1) {
        n.setAttribute(FOCUS_WITHIN_ATTR, "");
        this.focusMarks.push([n, FOCUS_WITHIN_ATTR]);
      }
      var p = this._flatParent(n);
      var crossed = n.parentNode && (n.parentNode.nodeType === 11 || n.parentNode.nodeType === 9);
      if (p && crossed && !n.assignedSlot && !p.hasAttribute(FOCUS_ATTR)) {
        p.setAttribute(FOCUS_ATTR, "focus");
        this.focusMarks.push([p, FOCUS_ATTR]);
      }
      n = p;
    }
  };

  /*
   * Show `node` (a replica node, or null for none) as the one under the visitor's pointer: it
   * and its flat-tree ancestors match the page's :hover rules. The workspace calls it with the
   * node each visitor `pointer` names (the deepest the replica has under the pointer).
   */
  Replica.prototype.setHover = function (node) {
    if (node && node.nodeType === 3) node = node.parentNode;
    if (node && node.nodeType !== 1) node = null;
    if (node === this.hovered && (!node || node.isConnected)) return;
    clearMarks(this.hoverMarks);
    this.hoverMarks = [];
    this.hovered = node;
    for (var n = node, k = 0; n && k < 4096; k++, n = this._flatParent(n)) {
      if (n.nodeType !== 1) continue;
      n.setAttribute(HOVER_ATTR, "");
      this.hoverMarks.push([n, HOVER_ATTR]);
    }
  };

  // After a snapshot or a batch: state marks on nodes that left the replica go, and every
  // page stylesheet not yet seen gets its :hover/:focus rules rewritten.
  Replica.prototype._syncStateMarks = function () {
    if (this.focused && !this.focused.isConnected) this._setFocus(null, null);
    if (this.hovered && !this.hovered.isConnected) this.setHover(null);
    this._restyle(null);
  };

  // Rewrite the page stylesheets of the top document, nested documents and open shadow roots
  // (each sheet once: a <style> whose text changes gets a new sheet), and `again` (a sheet
  // that just loaded, whose @import sheets may be new) once more. The first sheet of each
  // declares the UA layer first.
  Replica.prototype._restyle = function (again) {
    if (!this.doc) return;
    var scopes = [this.doc];
    this.nested.forEach(function (rec) { if (rec.doc && !rec.dead) scopes.push(rec.doc); });
    this.shadows.forEach(function (root) { if (root.host.isConnected) scopes.push(root); });
    for (var k = 0; k < scopes.length; k++) {
      var sheets = scopes[k].styleSheets;
      for (var i = 0; i < sheets.length; i++) {
        var sheet = sheets[i];
        if (this.rewritten.has(sheet) && sheet !== again) continue;
        var fresh = !this.rewritten.has(sheet);
        this.rewritten.add(sheet);
        var rules = null;
        try { rules = sheet.cssRules; } catch (error) { continue; } // another origin's
        if (fresh && i === 0) {
          try { sheet.insertRule("@layer " + UA_LAYER + ";", 0); } catch (error) { /* @namespace */ }
        }
        try {
          rewriteRules(rules, 0, this.rewritten);
        } catch (error) {
          this.warn("replica: cannot rewrite :hover/:focus rules", error);
        }
      }
    }
  };

  // A stylesheet loads after its element is built (a <link>, a <style> with @import): its
  // rules are rewritten then. load passes the document or shadow root in the capture phase.
  Replica.prototype._listenSheets = function (root) {
    var self = this;
    root.addEventListener("load", function (event) {
      var el = event.target;
      if (el && el.nodeType === 1 && (el.localName === "link" || el.localName === "style")) {
        self._restyle(el.sheet || null);
      }
    }, true);
  };

  var api = Object.freeze({
    SANDBOX: SANDBOX,
    MASK_PLACEHOLDER: MASK_PLACEHOLDER,
    MASKED_ATTR: MASKED_ATTR,
    UNSEEN_ATTR: UNSEEN_ATTR,
    PLACEHOLDER_ATTR: PLACEHOLDER_ATTR,
    FRAME_ATTR: FRAME_ATTR,
    FOCUS_ATTR: FOCUS_ATTR,
    FOCUS_WITHIN_ATTR: FOCUS_WITHIN_ATTR,
    HOVER_ATTR: HOVER_ATTR,
    rewriteSelector: rewriteSelector,
    UNSEEN_REASONS: UNSEEN_REASONS,
    DEFAULT_LIMITS: DEFAULT_LIMITS,
    createFrame: createFrame,
    checkFrame: checkFrame,
    readNodes: readNodes,
    Replica: Replica
  });
  Object.defineProperty(global, "CobrowseReplica", { value: api, enumerable: false });
})(window);
