var CobrowseWire = (function (GRAMMAR) {
  /*
   * The one JavaScript reader of the compact node form (docs/protocol.md, "Nodes"): the twin
   * of wire/nodes.py's walk(), with the same decisions and the same words and paths for every
   * fault; tests/fixtures/nodes.json holds the golden cases every reader is tested against.
   *
   * Owns: the grammar (shape, ids, the preorder count, duplicate ids within one message,
   * depth, indentation), the namespace of each element (childNamespace: the HTML parser's
   * rule, written once, as wire/grammar.py's child_namespace) and the structural rules
   * (#shadow only as the first child of an element that can host one, one per host;
   * #document only as a snapshot's root or the single child of an iframe or frame).
   * Must not: build DOM or judge content. Its users (renderer/sanitizer.js, the workspace's
   * relay/static/replica.js) build what it reads through a visitor callback.
   *
   * GRAMMAR is wire/grammar.json, inlined when the file is served (wire.grammar.nodes_js()):
   * no constant of the grammar is written here.
   */
  "use strict";
  if (!GRAMMAR) throw new Error("wire/nodes.js: served without its grammar");

  var MAX_ID = GRAMMAR.max_id;
  var MAX_DEPTH = GRAMMAR.max_depth;
  var MAX_INDENT = GRAMMAR.max_indent;
  var HTML = "html";
  var SVG = "svg";
  var MATH = "math";
  var NODE_FORM = "a node is a string or [id?, name, ...]";
  var CHILD_FORM = "a child must be a string (text), an integer (indentation) or an array";
  var SHADOW_PLACE = "a shadow root can only be the first child of an element that can host one";
  var DOCUMENT_PLACE = "a document node can only be the snapshot root or an iframe's (or frame's) single child";
  var INDENT = /^\n(?: *|\t*)$/;

  function setOf(list) {
    var out = Object.create(null);
    for (var i = 0; i < list.length; i++) out[list[i]] = true;
    return out;
  }
  var FOREIGN_ROOTS = GRAMMAR.foreign_roots;
  var SVG_POINTS = setOf(GRAMMAR.html_integration_points.svg);
  var MATH_POINTS = setOf(GRAMMAR.html_integration_points.math);
  var MATH_TEXT_CHILDREN = setOf(GRAMMAR.mathml_text_children);
  var HTML_ENCODINGS = setOf(GRAMMAR.annotation_xml_html_encodings);
  var SHADOW_HOSTS = setOf(GRAMMAR.shadow_hosts);
  var RESERVED_CUSTOM = setOf(GRAMMAR.reserved_custom_names);
  var CUSTOM_NAME = new RegExp(GRAMMAR.custom_element_name);
  var hasOwn = Object.prototype.hasOwnProperty;

  /*
   * The namespace (html, svg or math) of element `child` under its parent, as the HTML
   * parser's tree construction decides it; parentNs is null for a document or shadow root.
   * = wire/grammar.py child_namespace, decision for decision.
   */
  function childNamespace(parentNs, parentName, parentAttrs, child) {
    if (parentNs === SVG) {
      if (!SVG_POINTS[parentName]) return SVG;
    } else if (parentNs === MATH) {
      if (MATH_POINTS[parentName]) {
        if (MATH_TEXT_CHILDREN[child]) return MATH;
      } else if (parentName === "annotation-xml") {
        if (child === "svg") return SVG;
        var encoding = parentAttrs && hasOwn.call(parentAttrs, "encoding") ? parentAttrs.encoding : null;
        if (typeof encoding !== "string" || !HTML_ENCODINGS[encoding.toLowerCase()]) return MATH;
      } else {
        return MATH;
      }
    }
    return hasOwn.call(FOREIGN_ROOTS, child) ? FOREIGN_ROOTS[child] : HTML;
  }

  // = wire/grammar.py is_custom_element: a valid custom element name (ASCII), not ours.
  function isCustomElement(name) {
    return CUSTOM_NAME.test(name) && !RESERVED_CUSTOM[name];
  }

  // = wire/grammar.py can_host_shadow: attachShadow's list and custom element names not ours.
  function canHostShadow(name, ns) {
    return ns === HTML && (SHADOW_HOSTS[name] === true || isCustomElement(name));
  }

  // The text an integer child stands for: a newline and n spaces (-n tabs).
  function indentation(n) {
    return "\n" + (n >= 0 ? " ".repeat(n) : "\t".repeat(-n));
  }

  // The integer child for `text` when it is indentation (at most MAX_INDENT), else null.
  function indentationOf(text) {
    if (text.length > MAX_INDENT + 1 || !INDENT.test(text)) return null;
    return text.charCodeAt(1) === 9 ? 1 - text.length : text.length - 1;
  }

  function isAttrs(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  function isId(v) {
    return typeof v === "number" && Math.floor(v) === v && v > 0 && v <= MAX_ID;
  }

  // A fault of the grammar: .path says where (doc[2][3]), .reason what (wire/nodes.py's words).
  function WireError(path, reason) {
    this.name = "WireError";
    this.path = path;
    this.reason = reason;
    this.message = path + ": " + reason;
  }
  WireError.prototype = Object.create(Error.prototype);
  WireError.prototype.constructor = WireError;

  // Why `child` cannot be a child at all (checked when its parent is read), or null.
  function childFault(child) {
    var t = typeof child;
    if (t === "string" || Array.isArray(child) || (t === "number" && Math.floor(child) === child)) {
      return null;
    }
    return isAttrs(child) ? "attributes must directly follow the tag name" : CHILD_FORM;
  }

  // The path of child k of frame f (built only when a fault is raised).
  function pathOf(f, k, where, run) {
    var steps = [k];
    for (; f.up; f = f.up) steps.push(f.index);
    // steps ends with the root's index in the run: part of the path only for a run.
    var out = where;
    for (var i = steps.length - 1; i >= 0; i--) {
      if (i === steps.length - 1 && !run) continue;
      out += "[" + steps[i] + "]";
    }
    return out;
  }

  /*
   * Read `roots` (a run of sibling trees: an add's `nodes`, or [doc]) in preorder and call
   * visit(parentRecord, id, name, ns, attrs, text, depth) for every node, ids resolved:
   * name is "#text" (text the string), "#comment", "#doctype" (text its name), "#document",
   * "#shadow" or an element's name (attrs its attributes object, {} when absent; ns html, svg
   * or math). What visit returns is the parentRecord of the node's children.
   * options (all optional):
   *   run: false for one tree (a snapshot's doc: paths start at `where` itself);
   *   parent: {ns, name, attrs, record} that an add's roots go under (ns null for a document
   *     or shadow root; record is the roots' parentRecord);
   *   seen: a Set of the ids met so far in the message (pass one Set to every run of it), or
   *     any {has, add} that knows them (the sanitizer passes its own id map);
   *   maxDepth (default the grammar's); frames: "iframe" (what a visitor sends) or
   *   "placeholder" (the renderer's output: a frame's document sits under the placeholder div
   *   of a same-origin iframe, or an iframe); documents: true when the run goes into a
   *   frame placeholder (the renderer's output adds a navigated frame's new #document).
   * Throws a WireError at the first fault, in the same order as wire/nodes.py: visit has been
   * called for the nodes before it, so a caller that must not keep half a tree reads first or
   * throws away what it built.
   */
  function walk(roots, where, options, visit) {
    options = options || {};
    var run = options.run !== false;
    var ctx = options.parent || null;
    var seen = options.seen || new Set();
    var maxDepth = options.maxDepth || MAX_DEPTH;
    var placeholderFrames = options.frames === "placeholder";
    var prev = 0;
    // A frame: a node whose children are being read. The top one stands for the run.
    var top = {
      arr: roots, k: 0, end: roots.length, start: 0, depth: 0, kind: run ? "run" : "tree",
      ns: null, name: "", attrs: null, record: ctx ? ctx.record : null, index: 0, up: null
    };
    var f = top;
    while (f) {
      if (f.k >= f.end) { f = f.up; continue; }
      var index = f.k++;
      var value = f.arr[index];
      var depth = f.depth + 1;
      var fault = null;
      var id = 0;
      var name = null;
      var attrs = null;
      var text = null;
      var start = 0;
      var open = false;
      if (depth > maxDepth) {
        fault = "nested deeper than " + maxDepth;
      } else if (typeof value === "string") {
        name = "#text";
        text = value;
      } else if (typeof value === "number" && Math.floor(value) === value) {
        if (value > MAX_INDENT || value < -MAX_INDENT) {
          fault = "an indentation child must be from -" + MAX_INDENT + " to " + MAX_INDENT;
        } else {
          name = "#text";
          text = indentation(value);
        }
      } else if (Array.isArray(value) && value.length) {
        var i = 0;
        if (isId(value[0])) {
          id = value[0];
          i = 1;
        } else if (typeof value[0] === "number") {
          fault = "node id must be an integer from 1 to 2**53-1";
        }
        if (!fault && (i >= value.length || typeof value[i] !== "string")) fault = NODE_FORM;
        if (!fault) {
          name = value[i];
          var rest = value.length - i - 1;
          if (name === "#text" || name === "#doctype") {
            if (rest !== 1 || typeof value[i + 1] !== "string") {
              fault = name + " must be [id?, '" + name + "', string]";
            } else {
              text = value[i + 1];
            }
          } else if (name === "#comment") {
            if (rest) fault = "#comment must be [id?, '#comment']";
          } else if (name === "#document" || name === "#shadow") {
            start = i + 1;
            open = true;
          } else if (name.charAt(0) === "#") {
            fault = "unknown node kind '" + name.slice(0, 40) + "'";
          } else {
            start = i + 1;
            attrs = rest && isAttrs(value[start]) ? value[start++] : {};
            open = true;
          }
        }
      } else {
        fault = NODE_FORM;
      }
      if (fault) throw new WireError(pathOf(f, index, where, run), fault);
      if (!id) {
        if (!prev) throw new WireError(pathOf(f, index, where, run), "the first node of a tree must carry its id");
        id = prev + 1;
        if (id > MAX_ID) throw new WireError(pathOf(f, index, where, run), "node id beyond 2**53-1");
      }
      prev = id;
      if (seen.has(id)) throw new WireError(pathOf(f, index, where, run), "duplicate node id " + id);
      seen.add(id);
      var ns = null;
      if (attrs !== null) {
        if (f === top) {
          ns = !run ? childNamespace(null, "", null, name)
            : ctx ? childNamespace(ctx.ns, ctx.name, ctx.attrs, name) : null;
        } else if (f.kind !== "el") {
          ns = childNamespace(null, f.name, null, name);
        } else if (f.ns !== null) {
          ns = childNamespace(f.ns, f.name, f.attrs, name);
        }
      } else if (name === "#document" || name === "#shadow") {
        fault = placement(name, f, top, index, run, ctx, placeholderFrames, options.documents === true);
        if (fault) throw new WireError(pathOf(f, index, where, run), fault);
      }
      var record = visit(f.record, id, name, ns, attrs, text, depth);
      if (!open || start >= value.length) continue;
      var child = {
        arr: value, k: start, end: value.length, start: start, depth: depth,
        kind: attrs !== null ? "el" : name, ns: ns, name: name, attrs: attrs, record: record,
        index: index, up: f
      };
      // Every child's form is checked before any child is read (the last fault first), as
      // wire/nodes.py does: the first fault reported is the same in every reader.
      for (var c = value.length - 1; c >= start; c--) {
        var bad = childFault(value[c]);
        if (bad) throw new WireError(pathOf(child, c, where, run), bad);
      }
      f = child;
    }
  }

  function frameHost(f, placeholderFrames) {
    if (f.kind !== "el" || (f.ns !== HTML && f.ns !== null)) return false;
    if (f.name === "iframe" || f.name === "frame") return true; // (a frameset's frame)
    // The renderer's placeholder divs: the replica shows a document only in a same-origin
    // frame's (data-cobrowse-placeholder="iframe") and drops it in any other.
    return placeholderFrames && f.name === "div" && hasOwn.call(f.attrs, "data-cobrowse-placeholder");
  }

  // Why a #document or #shadow cannot be where it is (= wire/nodes.py _placement), or null.
  function placement(name, f, top, index, run, ctx, placeholderFrames, documents) {
    if (name === "#document") {
      if (f === top) return run && !documents ? "cannot add a document" : null;
      if (!frameHost(f, placeholderFrames)) return DOCUMENT_PLACE;
      if (f.end - f.start !== 1) return "a frame's document must be its single child";
      return null;
    }
    if (f === top) {
      if (!run) return SHADOW_PLACE;
      if (index !== 0) return "a shadow root must be the first of an add's nodes";
      if (ctx && (ctx.ns === null || !canHostShadow(ctx.name, ctx.ns))) return SHADOW_PLACE;
      return null;
    }
    if (f.kind !== "el" || (f.ns !== null && !canHostShadow(f.name, f.ns))) return SHADOW_PLACE;
    if (index !== f.start) return "a shadow root must be its host's first child";
    return null;
  }

  var NAMESPACES = Object.freeze({
    html: GRAMMAR.namespaces.html, svg: GRAMMAR.namespaces.svg, math: GRAMMAR.namespaces.math
  });

  return Object.freeze({
    GRAMMAR: GRAMMAR,
    MAX_ID: MAX_ID,
    MAX_DEPTH: MAX_DEPTH,
    MAX_INDENT: MAX_INDENT,
    MASK_PLACEHOLDER: GRAMMAR.mask_placeholder,
    ELEMENT_NAME: new RegExp(GRAMMAR.element_name),
    ATTRIBUTE_NAME: new RegExp(GRAMMAR.attribute_name),
    NAMESPACES: NAMESPACES,
    WireError: WireError,
    walk: walk,
    childNamespace: childNamespace,
    canHostShadow: canHostShadow,
    isCustomElement: isCustomElement,
    indentation: indentation,
    indentationOf: indentationOf,
    isId: isId
  });
})(/*@grammar*/null);
