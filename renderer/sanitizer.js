/*
 * cobrowse renderer sandbox: rebuilds each visitor's DOM (protocol node arrays) into an INERT
 * document, sanitizes it with the policy from renderer/policy.py, and serializes it back to the
 * same compact node form with the same ids (dropped nodes simply vanish; the node after one
 * carries its id, as the preorder count breaks there).
 *
 * Reads the compact form with CobrowseWire.walk (wire/nodes.js, injected before this file: the
 * one JavaScript reader, twin of wire/nodes.py): grammar, ids, duplicate ids, depth, each
 * element's namespace by the one rule, structural rules. A message that breaks it is refused
 * whole, with wire/nodes.py's words for the fault.
 *
 * Runs only in the renderer's host page (CSP default-src 'none', every request aborted). The
 * visitor's nodes live in documents made by document.implementation.createHTMLDocument: they
 * have no browsing context, so nothing in them runs or loads. This file must never move a
 * visitor node into the host document, never use innerHTML on visitor data, never eval.
 *
 * The decision functions (urlAllowed, cssAllowed, elementAction, attributeAllowed) mirror
 * renderer/policy.py line for line; tests/renderer/fixtures/decisions.json checks both.
 */
(() => {
  'use strict';
  const W = window.CobrowseWire; // wire/nodes.js: the reader, the namespace rule, the grammar
  if (!W) throw new Error('cobrowse-renderer: wire/nodes.js must be loaded first');
  const C = window.CobrowseCss; // renderer/css.js: CSS read as tokens, cut piece by piece
  if (!C) throw new Error('cobrowse-renderer: renderer/css.js must be loaded first');
  const NS_URI = W.NAMESPACES;
  const DATA_RE = /data:/i;
  const isAttrs = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const hasKeys = (o) => { for (const _ in o) return true; return false; };
  // Native DOM accessors captured before any visitor node exists. Visitor markup can clobber
  // named properties (a <form> with <input name=firstChild>, <img name=querySelectorAll> on
  // a Document: [LegacyOverrideBuiltIns]); we never read a DOM property through the object.
  const getter = (proto, name) => {
    const get = Object.getOwnPropertyDescriptor(proto, name).get;
    return (o) => Reflect.apply(get, o, []);
  };
  const method = (proto, name) => {
    const fn = proto[name];
    return (o, ...args) => Reflect.apply(fn, o, args);
  };
  const dataDesc = Object.getOwnPropertyDescriptor(CharacterData.prototype, 'data');
  const N = {
    parent: getter(Node.prototype, 'parentNode'),
    first: getter(Node.prototype, 'firstChild'),
    next: getter(Node.prototype, 'nextSibling'),
    type: getter(Node.prototype, 'nodeType'),
    childNodes: getter(Node.prototype, 'childNodes'),
    shadowRoot: getter(Element.prototype, 'shadowRoot'),
    attachShadow: method(Element.prototype, 'attachShadow'),
    fragmentQuerySelectorAll: method(DocumentFragment.prototype, 'querySelectorAll'),
    append: method(Node.prototype, 'appendChild'),
    insertBefore: method(Node.prototype, 'insertBefore'),
    removeChild: method(Node.prototype, 'removeChild'),
    data: (o) => Reflect.apply(dataDesc.get, o, []),
    setData: (o, v) => Reflect.apply(dataDesc.set, o, [v]),
    localName: getter(Element.prototype, 'localName'),
    attributes: getter(Element.prototype, 'attributes'),
    setAttribute: method(Element.prototype, 'setAttribute'),
    removeAttribute: method(Element.prototype, 'removeAttribute'),
    attrCount: getter(NamedNodeMap.prototype, 'length'),
    attrAt: method(NamedNodeMap.prototype, 'item'),
    attrName: getter(Attr.prototype, 'name'),
    attrValue: getter(Attr.prototype, 'value'),
    templateContent: getter(HTMLTemplateElement.prototype, 'content'),
    createElementNS: method(Document.prototype, 'createElementNS'),
    createTextNode: method(Document.prototype, 'createTextNode'),
    createComment: method(Document.prototype, 'createComment'),
    querySelectorAll: method(Document.prototype, 'querySelectorAll'),
  };
  // raw node -> its info, as a symbol-keyed expando: a WeakMap of ~35 k entries per big
  // snapshot doubled the garbage collector's work. Named-property clobbering only ever
  // answers string keys, and no visitor code runs in these documents to read or set it.
  const INFO = Symbol('cobrowse-info');
  const infoOf = (n) => n[INFO];
  const children = (n) => {
    const out = [];
    for (let c = N.first(n); c; c = N.next(c)) out.push(c);
    return out;
  };
  // Push what lies below n in the replica's tree: an element's shadow root, then its children.
  const pushBelow = (stack, n) => {
    if (N.type(n) === 1) {
      const sr = N.shadowRoot(n);
      if (sr) stack.push(sr);
    }
    for (let c = N.first(n); c; c = N.next(c)) stack.push(c);
  };

  let P = null; // the compiled policy

  function configure(policy) {
    C.configure(policy);
    const sets = (obj) => Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, new Set(v)]));
    const urlKinds = new Map();
    for (const [ns, tag, attr, kind] of policy.urlKinds) urlKinds.set(ns + '|' + tag + '|' + attr, kind);
    P = {
      elements: sets(policy.elements),
      attrs: sets(policy.attrs),
      globalAttrs: new Set(policy.globalAttrs),
      dataAttrRe: new RegExp(policy.dataAttrRe),
      placeholderAttr: policy.placeholderAttr,
      framesetAttr: policy.framesetAttr,
      placeholderReasons: new Set(policy.placeholderReasons),
      thirdPartyFrame: policy.thirdPartyFrame,
      frameBoxAttrs: policy.frameBoxAttrs,
      pluginElements: new Set(policy.pluginElements),
      ariaAttrRe: new RegExp(policy.ariaAttrRe),
      linkRels: new Set(policy.linkRels),
      urlAttrs: new Set(policy.urlAttrs),
      urlKinds,
      dataImageTypes: new Set(policy.dataImageTypes),
      cssSvgImageRe: new RegExp(policy.cssSvgImageRe, 'i'),
      animationElements: new Set(policy.animationElements),
      animationValueAttrs: new Set(policy.animationValueAttrs),
      stateEntries: new Set(policy.stateEntries),
      shadowStates: new Set(policy.shadowStates),
      unseenStates: new Set(policy.unseenStates),
      focusStates: new Set(policy.focusStates),
      cssomKinds: new Set(policy.cssomKinds),
      maskReasons: new Set(policy.maskReasons),
      maskedAutocompleteRe: new RegExp(policy.maskedAutocompleteRe),
      placeholder: policy.maskPlaceholder,
    };
  }

  // ------------------------------------------------------------- decisions (= policy.py)

  const stripWs = (v) => v.replace(/^[ \t\n\r\f]+|[ \t\n\r\f]+$/g, '');
  const splitWs = (v) => v.split(/[ \t\n\r\f]+/).filter((p) => p !== '');
  const normUrl = (v) => v.replace(/[\t\n\r]/g, '').replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
  const DEFAULT_PORTS = { http: '80', https: '443' };

  function originOf(url) {
    const m = /^(https?):\/\/([^\/?#\\]*)/i.exec(normUrl(url));
    if (!m) return null;
    const scheme = m[1].toLowerCase();
    const authority = m[2].toLowerCase();
    if (!authority || /[^A-Za-z0-9.\-_:\[\]]/.test(authority)) return null;
    const colon = authority.indexOf(':');
    const host = colon < 0 ? authority : authority.slice(0, colon);
    const port = colon < 0 ? '' : authority.slice(colon + 1);
    if (!host || (port && !/^[0-9]+$/.test(port))) return null;
    if (port === DEFAULT_PORTS[scheme] || port === '') return scheme + '://' + host;
    return scheme + '://' + host + ':' + port;
  }

  function compileOrigins(origins) {
    const set = new Set();
    for (const o of origins) {
      const n = originOf(o);
      if (n !== null) set.add(n);
    }
    return set;
  }

  function dataImageType(value) {
    const m = /^data:(image\/[a-z]+);base64,[A-Za-z0-9+\/= \f]*$/i.exec(normUrl(value));
    if (!m || !P.dataImageTypes.has(m[1].toLowerCase())) return null;
    return m[1].toLowerCase();
  }

  // = policy.absolute_url: origin-relative URLs ('/p?q#f') made absolute on the page's origin
  // (docs/protocol.md, "Nodes", URLs). //host and /\host name another host (browsers read
  // a backslash as '/'): left as they are, for the policy to refuse like any relative value.
  function absoluteUrl(name, value, pageOrigin) {
    if (pageOrigin === null || !P.urlAttrs.has(name)) return value;
    if (name !== 'srcset') return absolute(value, pageOrigin);
    const candidates = value.split(',').map((c) => splitWs(stripWs(c)));
    let changed = false;
    const fresh = candidates.map((c) => {
      if (!c.length) return c;
      const url = absolute(c[0], pageOrigin);
      if (url === c[0]) return c;
      changed = true;
      return [url, ...c.slice(1)];
    });
    return changed ? fresh.map((c) => c.join(' ')).join(', ') : value;
  }

  function absolute(value, pageOrigin) {
    // Judged after the browser's own clean-up (normUrl): "/\t/evil.example" is "//evil...".
    const url = normUrl(value);
    return url[0] === '/' && url[1] !== '/' && url[1] !== '\\' ? pageOrigin + url : value;
  }

  function urlAllowed(value, kind, origins) {
    const url = normUrl(value);
    if (url.startsWith('#')) return kind === 'navigation' || kind === 'fragment';
    if (kind === 'fragment') return false;
    if (kind === 'image' && dataImageType(url) !== null) return true;
    const origin = originOf(url);
    if (origin === null) return false;
    if (kind === 'navigation') return true;
    return origins.has(origin);
  }

  function srcsetAllowed(value, origins) {
    const candidates = value.split(',').map(stripWs);
    if (!candidates.some((c) => c !== '')) return false;
    return candidates.every((c) => c !== '' && urlAllowed(splitWs(c)[0], 'resource', origins));
  }

  // = policy.normalize_css (animation values only; all other CSS is read as tokens: css.js)
  function normalizeCss(text) {
    text = text.replace(/\/\*[\s\S]*?(\*\/|$)/g, '');
    text = text.replace(/\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?/g, (_, hex) => {
      const code = parseInt(hex, 16);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code) : '\ufffd';
    });
    text = text.replace(/\\([\s\S])/g, '$1');
    text = text.replace(/[\x00-\x20]+/g, '');
    return text.toLowerCase();
  }

  // = policy.css_url_judge
  function cssUrlJudge(origins, dataImages = true) {
    return (target, isImport) => {
      const url = normUrl(target);
      if (isImport) return urlAllowed(url, 'resource', origins);
      return url === '' || url.startsWith('#') || urlAllowed(url, 'resource', origins)
        || (dataImages && (dataImageType(url) !== null || P.cssSvgImageRe.test(url)));
    };
  }

  function cssAllowed(text, origins, declarations = false, dataImages = true) {
    return C.allowed(text, cssUrlJudge(origins, dataImages), declarations);
  }

  // = policy.sanitize_css
  function sanitizeCss(text, origins, declarations = false) {
    return C.sanitize(text, cssUrlJudge(origins), declarations)[0];
  }

  const isCustomElement = W.isCustomElement;

  function elementAllowed(tag, ns) {
    const set = P.elements[ns];
    return (set !== undefined && set.has(tag)) || (ns === 'html' && isCustomElement(tag));
  }

  function elementAction(tag, attrs, ns) {
    if (ns === 'html' && P.pluginElements.has(tag)) return 'placeholder';
    if (ns === 'html' && tag === 'frame') return 'placeholder';
    if (ns === 'html' && tag === 'frameset') return 'layout';
    if (!elementAllowed(tag, ns)) return 'drop';
    if (ns === 'html' && tag === 'iframe') return 'placeholder';
    if (ns === 'html' && tag === 'link') {
      const rels = splitWs(String(attrs.rel || '').toLowerCase());
      return rels.length && rels.every((r) => P.linkRels.has(r)) ? 'keep' : 'drop';
    }
    return 'keep';
  }

  function placeholderReason(tag, attrs, origins, pageOrigin) {
    if (P.pluginElements.has(tag)) return 'plugin object';
    const origin = originOf(absoluteUrl('src', typeof attrs.src === 'string' ? attrs.src : '', pageOrigin));
    return origin !== null && origins.has(origin) ? 'iframe' : 'third-party iframe';
  }

  // ------------------------------------------------------------------------ framesets
  // A <frameset> reaches the agent as a grid <div> laid out as Chromium lays out the frameset
  // (LayoutFrameSet): each axis's list of dimensions (rows, cols) shares the box less the
  // borders between frames, fixed sizes first, then percentages, then relative (*) ones; what
  // is left goes to the relative ones, else to the percentages, else to the fixed ones, in
  // proportion. In CSS: a fixed size is px, a percentage is of the box less the borders, a
  // relative one is fr; where no relative one takes the rest, the next kind shares it as fr.
  // Only numbers the renderer parsed itself reach the style; nothing else of the frameset.
  const FRAME_BORDER = 6; // Chromium's default border between frames (px)
  const MAX_TRACKS = 64; // dimensions read per axis (a hostile list makes no giant style)
  const MAX_LENGTH = 100000; // px, and the cap of any other number read here
  const FRAME_EDGES = 'box-shadow:1px 1px 0 #aaa,-1px -1px 0 #000'; // Chromium's edge lines

  // The HTML spec's rules for parsing a list of dimensions: [[value, unit]], unit one of
  // 'px', '%', '*'.
  function dimensions(text) {
    let s = typeof text === 'string' ? text : '';
    if (s.endsWith(',')) s = s.slice(0, -1);
    const out = [];
    for (const token of s.split(',', MAX_TRACKS)) {
      if (token === '') { out.push([0, '*']); continue; }
      const m = /^[ \t\n\f\r]*([0-9]*)(?:\.([0-9 \t\n\f\r]*))?[ \t\n\f\r]*([%*]?)/.exec(token);
      const digits = m[2] ? m[2].replace(/[^0-9]/g, '') : '';
      const value = Number((m[1] || '0') + (digits ? '.' + digits : ''));
      out.push([Math.min(Number.isFinite(value) ? value : 0, MAX_LENGTH), m[3] || 'px']);
    }
    return out.length ? out : [[1, '*']];
  }

  const cssNumber = (n) => String(Math.round(n * 1e6) / 1e6);

  // One axis's grid-template value, its borders taking `gaps` px in all.
  function tracks(dims, gaps) {
    const has = (unit) => dims.some((d) => d[1] === unit);
    const sum = (unit) => dims.reduce((s, d) => s + (d[1] === unit ? d[0] : 0), 0);
    // Who shares the rest as fr: the relative ones, else the percentages, else the fixed.
    const sharer = has('*') ? '*' : has('%') ? '%' : 'px';
    const space = '(100% - ' + gaps + 'px)';
    const fixed = sum('px');
    const percent = sum('%');
    return dims.map(([value, unit]) => {
      if (unit === sharer) return 'minmax(0,' + cssNumber(unit === '*' ? Math.max(value, 1) : value) + 'fr)';
      if (unit === 'px') {
        // All of it, or its share of the space when the fixed sizes do not fit.
        return 'min(' + cssNumber(value) + 'px,calc(' + space + ' * ' + cssNumber(value / fixed) + '))';
      }
      // Its percentage of the space, or its share of what the fixed sizes leave when the
      // percentages do not fit in that.
      return 'max(0px,min(calc(' + space + ' * ' + cssNumber(value / 100) + '),calc((' + space + ' - '
        + cssNumber(fixed) + 'px) * ' + cssNumber(value / percent) + ')))';
    }).join(' ');
  }

  // The border between this frameset's frames (px): its own border and frameborder, else its
  // parent frameset's, else Chromium's default.
  function framesetBorder(chain) {
    let border = null;
    let drawn = null;
    for (const attrs of chain) {
      if (border === null && typeof attrs.border === 'string') {
        const m = /^[ \t\n\f\r]*([0-9]+)/.exec(attrs.border);
        border = m ? Math.min(Number(m[1]), 100) : 0;
      }
      if (drawn === null && typeof attrs.frameborder === 'string') {
        drawn = !/^[ \t\n\f\r]*(0|no)\b/i.test(attrs.frameborder);
      }
    }
    if (border === null) border = FRAME_BORDER;
    return drawn === false ? 0 : border;
  }

  // How many frames a frameset draws: its rows x cols (the frames after those are not drawn).
  function framesetCells(attrs) { return dimensions(attrs.rows).length * dimensions(attrs.cols).length; }

  // The style of a frameset's <div>: `chain` its attributes and its parent framesets' (nearest
  // first); `top` when it is the page's (the frameset in place of the body fills the viewport).
  function framesetStyle(chain, top) {
    const border = framesetBorder(chain);
    const rows = dimensions(chain[0].rows);
    const cols = dimensions(chain[0].cols);
    return (top ? 'position:absolute;left:0;top:0;width:100%;height:100%' : 'min-width:0;min-height:0')
      + ';display:grid;overflow:hidden;margin:0;padding:0;border:0;box-sizing:border-box'
      + ';grid-template-rows:' + tracks(rows, border * (rows.length - 1))
      + ';grid-template-columns:' + tracks(cols, border * (cols.length - 1))
      // Frames beyond its rows x cols are not drawn (an implicit track has no size).
      + ';grid-auto-rows:0;grid-auto-columns:0'
      + (border ? ';gap:' + border + 'px;background:#d0d0d0' : '');
  }

  function attributeAllowed(tag, name, value, ns, origins) {
    if (name.toLowerCase().startsWith('on')) return false;
    if (P.stateEntries.has(name) || name.startsWith(':')) return false;
    if (name === P.framesetAttr) return ns === 'html' && tag === 'div' && value === '';
    if (name === P.placeholderAttr) {
      if (ns === 'html' && tag === 'iframe') return value === P.thirdPartyFrame;
      return ns === 'html' && tag === 'div' && P.placeholderReasons.has(value);
    }
    const nsAttrs = P.attrs[ns];
    const allowed = P.globalAttrs.has(name) || (nsAttrs !== undefined && nsAttrs.has(name))
      || (ns === 'html' && (P.dataAttrRe.test(name) || P.ariaAttrRe.test(name)));
    if (!allowed) return false;
    if (name === 'style') return cssAllowed(value, origins, true);
    if (P.urlAttrs.has(name)) {
      const kind = P.urlKinds.get(ns + '|' + tag + '|' + name);
      if (kind === undefined) return false;
      if (name === 'srcset') return srcsetAllowed(value, origins);
      return urlAllowed(value, kind, origins);
    }
    // attributeName means something only on an animation element (see policy.py).
    if (ns === 'svg' && name === 'attributeName' && !P.animationElements.has(tag)) return false;
    if (ns === 'svg' && P.animationElements.has(tag)) {
      if (name === 'attributeName') {
        const target = stripWs(value);
        return P.attrs.svg.has(target) && !P.urlAttrs.has(target) && target !== 'style'
          && !target.toLowerCase().startsWith('on');
      }
      if (P.animationValueAttrs.has(name) && normalizeCss(value).includes('javascript:')) return false;
    }
    // Presentation attributes are CSS values (see policy.py); never a data: image in them.
    if (ns !== 'html' && !P.globalAttrs.has(name) && !cssAllowed(value, origins, true, false)) return false;
    if (ns === 'html' && tag === 'meta' && name === 'content') {
      return !value.toLowerCase().replace(/ /g, '').includes('url=');
    }
    return true;
  }



  // ------------------------------------------------------------------------ sessions

  const sessions = new Map();

  function fail(message) { throw new Error('cobrowse-renderer: ' + message); }

  // CobrowseWire.walk, its faults refused with wire/nodes.py's words.
  function read(roots, where, options, visit) {
    try {
      W.walk(roots, where, options, visit);
    } catch (e) {
      if (e instanceof W.WireError) fail(e.reason);
      throw e;
    }
  }

  // What may sit directly under the #document: a doctype, comments and <html>. Text or other
  // elements there cannot be built into a Document by the agent (HierarchyRequestError).
  function visibleUnder(parent, info) {
    if (isFrameset(parent)) return isFramePart(info); // a frameset draws nothing else
    if (parent.type === 'doc') {
      if (info.type === 'text') return false;
      if (info.type === 'el' && !(info.tag === 'html' && info.ns === 'html')) return false;
    } else if (info.type === 'doctype') {
      return false;
    }
    return true;
  }

  function isFrame(info) {
    return info.type === 'el' && (info.tag === 'iframe' || info.tag === 'frame') && info.ns === 'html';
  }
  function isFrameset(info) { return info.type === 'el' && info.tag === 'frameset' && info.ns === 'html'; }
  // What a frameset lays out: its frames and framesets.
  function isFramePart(info) { return isFrameset(info) || (isFrame(info) && info.tag === 'frame'); }

  function isStyle(info) { return info.type === 'el' && info.tag === 'style' && info.ns !== 'math'; }

  class Session {
    constructor(brand, url) {
      this.origins = compileOrigins(brand.origins || []);
      // The origin the tag leaves out of URLs on the page's own origin (the snapshot's url).
      this.pageOrigin = typeof url === 'string' ? originOf(url) : null;
      this.maskSelectors = (brand.mask_selectors || []).filter((s) => {
        try { document.createDocumentFragment().querySelector(s); return true; } catch (e) { return false; }
      });
      // Raw attributes exist only for mask selectors to match, so only the ones a selector
      // can see are set (setting all of them costs ~10x on a big page).
      this.selectorAttrs = new Set();
      if (this.maskSelectors.length) {
        for (const n of ['class', 'id', 'type', 'name', 'autocomplete', 'disabled', 'readonly']) {
          this.selectorAttrs.add(n);
        }
        for (const sel of this.maskSelectors) {
          for (const m of sel.matchAll(/\[\s*([^\s~|^$*=\]]+)/g)) this.selectorAttrs.add(m[1].toLowerCase());
        }
      }
      this.doc = document.implementation.createHTMLDocument('');
      for (let c = N.first(this.doc); c; c = N.first(this.doc)) N.removeChild(this.doc, c);
      this.nodes = new Map(); // id -> info {id, type, tag, ns, attrs, node}
      this.emitted = new Set(); // ids the agent currently has
      this.sentAttrs = new Map(); // element id -> attrs as emitted
      this.sentTag = new Map(); // element id -> tag as emitted
      this.maskedSent = new Set(); // element ids emitted as masked
      this.styleSent = new Map(); // style id -> id of its one emitted text child (or null)
      this.fresh = null; // ids serialized in the current mutations batch
      this.matched = new Set(); // infos matched by mask selectors
      this.shadows = new Set(); // shadow root infos (mask selectors are matched in each)
      this.rootInfo = null;
      this.framesIn = new Map(); // frameset info -> {index: Map(frame part node -> index), cells}, per batch
      this.sawData = false; // some emitted attribute value or style text holds 'data:'
      // The preorder count of the compact form as written: the id of the node written last
      // (-1 at the start: no id follows on from it).
      this.wprev = -1;
      // While an add is read: {parent, next, added} (its roots go before next).
      this.adding = null;
      this.visit = (up, id, name, ns, attrs, text, depth) => this.readNode(up, id, name, ns, attrs, text, depth);
      // The reader's duplicate-id check asks our own id map (readNode registers each node as
      // it is read): one lookup per node, no second set of every id per message.
      this.known = { has: (id) => this.nodes.has(id), add: () => {} };
    }

    // -- reading the compact form into the raw (unsanitized, inert) tree

    // The visitor of CobrowseWire.walk: one wire node (grammar, ids, namespace and placement
    // already checked by the reader) made a raw node under `up` (its parent's info; null for
    // the snapshot's root) and registered. An add's roots (depth 1) go before its `next`.
    readNode(up, id, name, ns, attrs, text, depth) {
      if (up === null && name !== '#document') fail('snapshot doc must be a #document node');
      let info;
      if (name === '#text') {
        info = { id, type: 'text', tag: name, ns: null, attrs: null, node: N.createTextNode(this.doc, text) };
      } else if (name === '#comment' || name === '#doctype') {
        const type = name === '#comment' ? 'comment' : 'doctype';
        info = { id, type, tag: name, ns: null, attrs: null, node: N.createComment(this.doc, '') };
        if (type === 'doctype') info.doctype = text;
      } else if (name === '#document') {
        // The snapshot's root, or a same-origin frame's document (its iframe's single child:
        // docs/security.md, "Frames"), under a raw stand-in element (a Document cannot be a child).
        const root = N.createElementNS(this.doc, NS_URI.html, 'cobrowse-root');
        info = { id, type: 'doc', tag: name, ns: null, attrs: null, node: root };
      } else if (name === '#shadow') {
        // An open shadow root, its host's first child (docs/security.md, "Shadow roots"): a
        // real shadow root of the inert host, so mask selectors match inside it as they do in
        // the visitor's browser. The reader refused it where no browser could have one; a
        // host that has one already (an add) is refused here.
        if (N.shadowRoot(up.node)) fail('the element already has a shadow root');
        let root;
        try { root = N.attachShadow(up.node, { mode: 'open' }); } catch (e) { root = null; }
        if (!root) fail('cannot attach a shadow root here');
        info = { id, type: 'shadow', tag: name, ns: 'html', attrs: null, node: root, host: up };
        this.shadows.add(info);
      } else {
        let el = null;
        if (W.ELEMENT_NAME.test(name)) {
          try { el = N.createElementNS(this.doc, NS_URI[ns], name); } catch (e) { el = null; }
        }
        if (!el) el = N.createElementNS(this.doc, NS_URI.html, 'cobrowse-invalid');
        const own = Object.create(null);
        for (const key of Object.keys(attrs)) {
          const v = attrs[key];
          if (typeof v !== 'string') fail('attribute values must be strings');
          own[key] = v;
          if (this.selectorAttrs.has(key)) setRaw(el, key, v);
        }
        info = { id, type: 'el', tag: name, ns, attrs: own, node: el };
      }
      this.register(info);
      if (depth === 1 && up !== null) { // a root of an add
        const add = this.adding;
        if (info.type !== 'shadow') N.insertBefore(up.node, info.node, add.next ? add.next.node : null);
        add.added.push(info);
      } else if (up !== null && info.type !== 'shadow') {
        N.append(up.node, info.node); // (a shadow root is attached, the snapshot's root kept)
      }
      return info;
    }

    // The nested document an iframe placeholder carries to the agent: only for a frame on a
    // brand origin ('self' is the visitor's page) whose single child is a #document.
    frameDoc(info) {
      if (!isFrame(info) || placeholderReason(info.tag, info.attrs, this.origins, this.pageOrigin) !== 'iframe') {
        return null;
      }
      const c = N.first(info.node);
      const ci = c ? infoOf(c) : null;
      return ci && ci.type === 'doc' && ci !== this.rootInfo ? ci : null;
    }

    // A frame's or a nested frameset's part of its style, from its frameset (null when its
    // parent is not one): filling its cell with the frameset's edge lines around it, or not
    // drawn past the frameset's rows x cols (as in Chromium).
    framedStyle(info) {
      const parent = this.parentInfo(info);
      if (!parent || !isFrameset(parent)) return null;
      let known = this.framesIn.get(parent);
      if (!known) { // one pass per frameset and batch: a frameset of many frames stays linear
        const index = new Map();
        for (let c = N.first(parent.node); c; c = N.next(c)) {
          const ci = infoOf(c);
          if (ci && isFramePart(ci)) index.set(c, index.size);
        }
        known = { index, cells: framesetCells(parent.attrs) };
        this.framesIn.set(parent, known);
      }
      if (!(known.index.get(info.node) < known.cells)) {
        return 'position:absolute;visibility:hidden;width:0;height:0;min-width:0;min-height:0;padding:0;overflow:hidden';
      }
      return 'min-width:0;min-height:0;overflow:hidden;margin:0;padding:0;box-sizing:border-box'
        + (framesetBorder(this.framesetChain(parent)) >= 2 ? ';' + FRAME_EDGES : '');
    }

    // A frameset's attributes and those of the framesets around it, nearest first.
    framesetChain(info) {
      const chain = [];
      for (let cur = info; cur && isFrameset(cur) && chain.length < 32; cur = this.parentInfo(cur)) {
        chain.push(cur.attrs);
      }
      return chain;
    }

    isPlaceholder(info) {
      return info.type === 'el' && elementAction(info.tag, info.attrs, info.ns) === 'placeholder';
    }

    // A third-party iframe: its placeholder is an iframe (the replica's, empty and sandboxed),
    // so the page's CSS for iframes lays it out as the visitor's browser lays out the frame.
    isBoxedFrame(info) {
      return info.type === 'el' && info.ns === 'html' && info.tag === 'iframe'
        && placeholderReason(info.tag, info.attrs, this.origins, this.pageOrigin) === P.thirdPartyFrame;
    }

    // What the agent has of an element, to notice a change of fate on an attribute change.
    outputKey(info) {
      const tag = this.outputTag(info);
      return this.isPlaceholder(info)
        ? tag + '|' + placeholderReason(info.tag, info.attrs, this.origins, this.pageOrigin) : tag;
    }

    register(info) {
      this.nodes.set(info.id, info);
      info.node[INFO] = info;
    }

    load(doc) {
      let root = null;
      read([doc], 'doc', { run: false, seen: this.known }, (up, id, name, ns, attrs, text, depth) => {
        const info = this.readNode(up, id, name, ns, attrs, text, depth);
        if (up === null) root = info;
        return info;
      });
      this.rootInfo = root;
      N.append(this.doc, this.rootInfo.node);
      this.matched = this.computeMatched();
    }

    computeMatched() {
      const matched = new Set();
      for (const selector of this.maskSelectors) {
        for (const el of N.querySelectorAll(this.doc, selector)) {
          const info = infoOf(el);
          if (info) matched.add(info);
        }
        // A document's selectors do not reach into shadow trees; the tag matches each element
        // in its own tree (Element.matches), which is what querying each shadow root does.
        for (const sh of this.shadows) {
          for (const el of N.fragmentQuerySelectorAll(sh.node, selector)) {
            const info = infoOf(el);
            if (info) matched.add(info);
          }
        }
      }
      return matched;
    }

    parentInfo(info) {
      if (info.type === 'shadow') return info.host;
      const p = N.parent(info.node);
      return p ? infoOf(p) || null : null;
    }

    // -- sanitized view

    ownMask(info) {
      if (info.type !== 'el') return null;
      const a = info.attrs;
      if (typeof a[':masked'] === 'string') return P.maskReasons.has(a[':masked']) ? a[':masked'] : 'attribute';
      if (info.ns === 'html') {
        if (info.tag === 'input' && String(a.type || '').toLowerCase() === 'password') return 'password';
        if ((info.tag === 'input' || info.tag === 'textarea' || info.tag === 'select')
            && P.maskedAutocompleteRe.test(String(a.autocomplete || '').toLowerCase())) return 'autocomplete';
      }
      if (this.matched.has(info)) return 'selector';
      return null;
    }

    maskOf(info) { // effective mask reason of an element or text (own or inherited), or null
      // Up to the top document: a masked iframe masks its nested document too.
      for (let cur = info; cur && cur !== this.rootInfo; cur = this.parentInfo(cur)) {
        const own = this.ownMask(cur);
        if (own) return own;
      }
      return null;
    }

    outputTag(info) {
      const action = elementAction(info.tag, info.attrs, info.ns);
      if (action === 'placeholder' && this.isBoxedFrame(info)) return 'iframe';
      return action === 'drop' ? null : action === 'placeholder' || action === 'layout' ? 'div' : info.tag;
    }

    sanitizedAttrs(info, mask) {
      const raw = info.attrs;
      const out = Object.create(null);
      const action = elementAction(info.tag, raw, info.ns);
      if (action === 'layout') {
        // A frameset: the grid of its frames, its id and class; nothing else of it.
        out[P.framesetAttr] = '';
        for (const k of ['id', 'class']) if (typeof raw[k] === 'string') out[k] = raw[k];
        const parent = this.parentInfo(info);
        const top = parent !== null && parent.type === 'el' && parent.tag === 'html' && parent.ns === 'html';
        const framed = this.framedStyle(info);
        out.style = framesetStyle(this.framesetChain(info), top) + (framed ? ';' + framed : '');
        if (mask) out[':masked'] = mask;
        return out;
      }
      if (action === 'placeholder' && this.isBoxedFrame(info)) {
        // A third-party iframe: its label and what gives it its box (the page's CSS for
        // iframes does the rest); nothing that loads or names its content (src, srcdoc, name).
        out[P.placeholderAttr] = P.thirdPartyFrame;
        for (const k of P.frameBoxAttrs) {
          let v = raw[k];
          if (typeof v !== 'string') continue;
          if (k === 'style') v = sanitizeCss(v, this.origins, true);
          else if (k === 'width' || k === 'height') v = /^[ \t\n\r\f]*[0-9]{1,5}(\.[0-9]+)?(px|%)?[ \t\n\r\f]*$/.test(v) ? v : null;
          else if (k === 'frameborder' || k === 'align') v = /^[A-Za-z0-9]{1,10}$/.test(v) ? v : null;
          if (v === null || !attributeAllowed('iframe', k, v, 'html', this.origins)) continue;
          out[k] = v;
          if (v.length > 4 && DATA_RE.test(v)) this.sawData = true;
        }
        if (mask) out[':masked'] = mask;
        return out;
      }
      if (action === 'placeholder') {
        // An iframe or a plugin object: its label, id and class, and its size; nothing else
        // of it (no src/data/type/srcdoc) reaches the agent.
        out[P.placeholderAttr] = placeholderReason(info.tag, raw, this.origins, this.pageOrigin);
        for (const k of ['id', 'class']) {
          if (typeof raw[k] !== 'string') continue;
          out[k] = raw[k];
          if (raw[k].length > 4 && DATA_RE.test(raw[k])) this.sawData = true; // as below
        }
        const size = (v) => (typeof v === 'string' && /^[0-9]{1,5}(\.[0-9]+)?(px|%)?$/.test(v)
          ? (/[%x]$/.test(v) ? v : v + 'px') : null);
        const w = size(raw.width);
        const h = size(raw.height);
        out.style = 'display:inline-block' + (w ? ';width:' + w : '') + (h ? ';height:' + h : '');
        if (info.tag === 'frame') {
          // A frameset's frame fills its cell; one outside a frameset is drawn as Chromium
          // draws it: a block with no height.
          out.style = this.framedStyle(info) || 'display:block;height:0;min-height:0;overflow:hidden';
        }
        // In a masked area the box says so too (as the div it is would, sanitized again).
        if (mask) out[':masked'] = mask;
        return out;
      }
      for (const name of Object.keys(raw)) {
        if (name.startsWith(':')) continue;
        // The tag leaves the page's origin out of URLs on it: put it back before judging.
        // A style attribute keeps what is allowed of it (the forbidden parts cut out), and
        // goes only when nothing is left.
        let value = raw[name];
        if (P.urlAttrs.has(name)) value = absoluteUrl(name, value, this.pageOrigin);
        else if (name === 'style') value = sanitizeCss(value, this.origins, true);
        if (name === 'style' && /^[ \t\n]*$/.test(value) && !/^[ \t\n]*$/.test(raw[name])) continue;
        if (attributeAllowed(info.tag, name, value, info.ns, this.origins)) {
          out[name] = value;
          // A superset of what images.py re-encodes (a value starting with data:).
          if (value.length > 4 && DATA_RE.test(value)) this.sawData = true;
        }
      }
      const html = info.ns === 'html';
      const field = html && (info.tag === 'input' || info.tag === 'textarea' || info.tag === 'select');
      if (field && typeof raw[':value'] === 'string') out[':value'] = raw[':value'];
      if (html && info.tag === 'input' && raw[':checked'] === '1') out[':checked'] = '1';
      if (html && info.tag === 'option' && raw[':selected'] === '1') out[':selected'] = '1';
      if (isStyle(info) && P.cssomKinds.has(raw[':cssom'])) out[':cssom'] = raw[':cssom'];
      if (typeof raw[':scroll'] === 'string' && /^-?[0-9]{1,9}(\.[0-9]+)?,-?[0-9]{1,9}(\.[0-9]+)?$/.test(raw[':scroll'])) {
        out[':scroll'] = raw[':scroll'];
      }
      // The host of a closed shadow root: the agent is shown an area it cannot see. Only where
      // a browser could attach a root; any other value says nothing the agent could use.
      if (P.shadowStates.has(raw[':shadow']) && W.canHostShadow(info.tag, info.ns)) out[':shadow'] = raw[':shadow'];
      // An image the page made (blob:) whose pixels the tag could not send: marked, on an <img>
      // only. Its src, if any came, was judged like every other (a data: image, re-encoded).
      if (html && info.tag === 'img' && P.unseenStates.has(raw[':unseen'])) out[':unseen'] = raw[':unseen'];
      // The element the visitor's page has focused, and whether it draws a focus ring there.
      if (P.focusStates.has(raw[':focus'])) out[':focus'] = raw[':focus'];
      if (html && info.tag === 'input' && String(raw.type || '').toLowerCase() === 'hidden') delete out.value;
      if (mask) {
        // Second line behind the tag: whatever the visitor sent, a masked field shows only
        // the placeholder, and no value attribute can carry the secret.
        out[':masked'] = mask;
        delete out.value;
        if (field) out[':value'] = P.placeholder;
      }
      return out;
    }

    textOut(info, mask) {
      if (info.type === 'comment') return '';
      if (info.type === 'doctype') return 'html';
      const text = N.data(info.node);
      return mask && /[^ \t\n\r\f]/.test(text) ? P.placeholder : text;
    }

    styleChild(info) { // [id, css] of the one text child a <style> is emitted with, or null
      let first = null;
      let css = '';
      for (let c = N.first(info.node); c; c = N.next(c)) {
        if (N.type(c) === 3) {
          if (first === null) first = infoOf(c).id;
          css += N.data(c);
        }
      }
      if (first === null) return null;
      const out = sanitizeCss(css, this.origins);
      // Its data: images are re-encoded by images.py (reencode_css), as attributes' are.
      if (out.length > 4 && DATA_RE.test(out)) this.sawData = true;
      return [first, out];
    }

    // -- writing the compact form

    // Whether the writer may leave `id` out: it follows on from the node written last (in
    // preorder). Call once per node, before its children are written.
    follows(id) {
      const implicit = id === this.wprev + 1;
      this.wprev = id;
      return implicit;
    }

    // The compact form of a text-like node (its text already decided).
    leaf(id, kind, text) {
      const implicit = this.follows(id);
      if (kind === '#text') return implicit ? W.indentationOf(text) ?? text : [id, '#text', text];
      if (kind === '#comment') return implicit ? ['#comment'] : [id, '#comment'];
      return implicit ? [kind, text] : [id, kind, text];
    }

    // Serialize info (known visible, parent emitted) and record it as emitted.
    emit(info, parentMask) {
      const id = info.id;
      this.emitted.add(id);
      if (this.fresh) this.fresh.add(id);
      if (info.type === 'doc' || info.type === 'shadow') return this.emitRoot(info, parentMask);
      if (info.type !== 'el') return this.leaf(id, info.tag, this.textOut(info, parentMask));
      const placeholder = this.isPlaceholder(info);
      const tag = this.outputTag(info);
      const mask = parentMask || this.ownMask(info);
      const attrs = this.sanitizedAttrs(info, mask);
      this.sentAttrs.set(id, attrs);
      this.sentTag.set(id, this.outputKey(info));
      if (mask) this.maskedSent.add(id); else this.maskedSent.delete(id);
      const out = this.follows(id) ? [tag] : [id, tag];
      if (hasKeys(attrs)) out.push(attrs);
      if (placeholder) {
        // no children, except a same-origin frame's sanitized document
        const nested = this.frameDoc(info);
        if (nested) out.push(this.emit(nested, mask));
      } else if (isStyle(info)) {
        const child = this.styleChild(info);
        this.styleSent.set(id, child ? child[0] : null);
        if (child) {
          this.emitted.add(child[0]);
          if (this.fresh) this.fresh.add(child[0]);
          out.push(this.leaf(child[0], '#text', child[1]));
        }
      } else {
        const sr = N.shadowRoot(info.node);
        if (sr) out.push(this.emit(infoOf(sr), mask)); // always the host's first child
        this.emitChildren(info, mask, out);
      }
      return out;
    }

    // A #document or #shadow (already recorded as emitted by the caller).
    emitRoot(info, mask) {
      const out = this.follows(info.id) ? [info.tag] : [info.id, info.tag];
      this.emitChildren(info, mask, out);
      return out;
    }

    emitChildren(info, mask, out) {
      for (let c = N.first(info.node); c; c = N.next(c)) {
        const ci = infoOf(c);
        if (!visibleUnder(info, ci) || (ci.type === 'el' && this.outputTag(ci) === null)) continue;
        out.push(this.emit(ci, mask));
      }
    }

    snapshotDoc() {
      const root = this.rootInfo;
      this.framesIn.clear();
      this.emitted.add(root.id);
      this.wprev = -1;
      return this.emitRoot(root, null);
    }

    forget(info) { // the agent no longer has info's subtree
      const stack = [info.node];
      while (stack.length) {
        const n = stack.pop();
        const i = infoOf(n);
        if (i) {
          this.emitted.delete(i.id);
          this.sentAttrs.delete(i.id);
          this.sentTag.delete(i.id);
          this.maskedSent.delete(i.id);
          this.styleSent.delete(i.id);
        }
        pushBelow(stack, n);
      }
    }

    unregister(info) {
      const stack = [info.node];
      while (stack.length) {
        const n = stack.pop();
        const i = infoOf(n);
        if (i) { this.nodes.delete(i.id); this.matched.delete(i); this.shadows.delete(i); }
        pushBelow(stack, n);
      }
    }

    nextEmitted(info) {
      // A shadow root goes before its host's first (light) child in the agent's tree.
      const from = info.type === 'shadow' ? N.first(info.host.node) : N.next(info.node);
      for (let s = from; s; s = N.next(s)) {
        const si = infoOf(s);
        if (si && this.emitted.has(si.id)) return si.id;
      }
      return null;
    }

    // -- mutations

    apply(msg) {
      const removes = msg.removes || [];
      const adds = msg.adds || [];
      const attrs = msg.attrs || [];
      const texts = msg.texts || [];
      if (![removes, adds, attrs, texts].every(Array.isArray)) fail('bad mutations');
      const out = { removes: [], adds: [], attrs: [], texts: [] };
      const dirtyAttrs = new Set();
      const dirtyStyles = new Set();
      const changedTexts = [];
      const added = [];
      const get = (id) => {
        const info = this.nodes.get(id);
        if (!info) fail('unknown node id ' + id);
        return info;
      };
      const touchStyle = (parent) => { if (parent && isStyle(parent)) dirtyStyles.add(parent); };
      const reframed = new Set(); // framesets whose frames or attributes changed
      const touchFrameset = (info) => { if (info && isFrameset(info)) reframed.add(info); };
      this.framesIn.clear();

      // 1. the raw tree: removes, adds (in list order), attrs, texts
      for (const id of removes) {
        const info = get(id);
        if (info === this.rootInfo) fail('cannot remove the document');
        // A browser cannot detach a shadow root: it goes only with its host.
        if (info.type === 'shadow') fail('cannot remove a shadow root');
        touchStyle(this.parentInfo(info));
        touchFrameset(this.parentInfo(info));
        if (this.emitted.has(id)) { out.removes.push(id); this.forget(info); }
        this.unregister(info);
        N.removeChild(N.parent(info.node), info.node);
      }
      for (const add of adds) {
        // {parent, next, nodes}: a run of consecutive siblings, ids counting on across them.
        const keys = isAttrs(add) ? Object.keys(add) : [];
        if (keys.length !== 3 || !keys.includes('parent') || !keys.includes('next')
            || !Array.isArray(add.nodes) || !add.nodes.length) {
          fail('an add must be {parent, next, nodes: [node, ...]}');
        }
        const parent = get(add.parent);
        if (parent.type !== 'el' && parent.type !== 'doc' && parent.type !== 'shadow') {
          fail('parent must be an element, a document or a shadow root');
        }
        let next = null;
        if (add.next !== null) {
          next = get(add.next);
          if (N.parent(next.node) !== parent.node) fail('next is not a child of parent');
        }
        // The run's roots go under parent, before next (readNode); the reader refuses a
        // document among them, and a shadow root anywhere but first or on a host that cannot
        // have one. Ids count on across the run; an id the session already has is refused.
        this.adding = { parent, next, added };
        const context = { ns: parent.type === 'el' ? parent.ns : null, name: parent.tag, attrs: parent.attrs, record: parent };
        read(add.nodes, 'adds.nodes', { parent: context, seen: this.known }, this.visit);
        this.adding = null;
        touchStyle(parent);
        touchFrameset(parent);
      }
      for (const entry of attrs) {
        if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[1] !== 'string'
            || (entry[2] !== null && typeof entry[2] !== 'string')) fail('bad attrs entry');
        const info = get(entry[0]);
        if (info.type !== 'el') fail('attrs on a non-element');
        const [, name, value] = entry;
        if (value === null) delete info.attrs[name]; else info.attrs[name] = value;
        if (this.selectorAttrs.has(name)) {
          if (value === null) { try { N.removeAttribute(info.node, name); } catch (e) { /* invalid name */ } }
          else setRaw(info.node, name, value);
        }
        dirtyAttrs.add(info);
        touchFrameset(info);
      }
      for (const entry of texts) {
        if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[1] !== 'string') fail('bad texts entry');
        const info = get(entry[0]);
        if (info.type === 'text') N.setData(info.node, entry[1]);
        else if (info.type !== 'comment') fail('texts on a non-text node');
        touchStyle(this.parentInfo(info));
        changedTexts.push(info);
      }
      // A frameset's frames take their cells and edge lines from it (and its border from the
      // framesets around it): a change to it or to its children re-judges every one inside.
      for (const frameset of reframed) {
        const stack = [frameset];
        while (stack.length) {
          for (let c = N.first(stack.pop().node); c; c = N.next(c)) {
            const ci = infoOf(c);
            if (!ci || !isFramePart(ci) || dirtyAttrs.has(ci)) continue;
            dirtyAttrs.add(ci);
            if (isFrameset(ci)) stack.push(ci);
          }
        }
      }

      // Masking by selector may change with any of the above.
      const maskFlips = new Set();
      if (this.maskSelectors.length) {
        const before = this.matched;
        const now = this.computeMatched();
        for (const i of now) if (!before.has(i)) maskFlips.add(i);
        for (const i of before) if (!now.has(i) && this.nodes.has(i.id)) maskFlips.add(i);
        this.matched = now;
      }

      // 2. elements whose output form changed (a <link> whose rel changed): remove, re-add
      const reAdd = [];
      for (const info of dirtyAttrs) {
        if (!this.nodes.has(info.id)) continue;
        if (this.emitted.has(info.id)) {
          if (this.outputKey(info) !== this.sentTag.get(info.id)) {
            out.removes.push(info.id);
            this.forget(info);
            reAdd.push(info);
          }
        } else {
          reAdd.push(info);
        }
      }
      // 3. <style> sheets whose text changed: one text child, sanitized as a whole
      const styleAdds = [];
      for (const st of dirtyStyles) {
        if (!this.emitted.has(st.id) || !this.nodes.has(st.id)) continue;
        const child = this.styleChild(st);
        const prev = this.styleSent.get(st.id);
        if (child && prev === child[0] && this.emitted.has(prev)) {
          out.texts.push([child[0], child[1]]);
          // Names the texts that are CSS for images.py; service.py takes it off the batch.
          if (DATA_RE.test(child[1])) (out.styleTexts ||= []).push(child[0]);
          continue;
        }
        if (prev !== null && prev !== undefined && this.emitted.has(prev)) {
          out.removes.push(prev);
          this.emitted.delete(prev);
        }
        this.styleSent.set(st.id, child ? child[0] : null);
        if (child) styleAdds.push([st, child]);
      }

      // 4. adds: the visitor's, in order, then re-added elements and style texts. Each goes
      // before the next sibling the agent has by then. Consecutive ones with the same parent
      // and next join one run (inserting them one by one before `next` gives the same order),
      // the writer's id count going on across it.
      this.fresh = new Set();
      let run = null;
      const runFor = (parentId, next) => {
        if (run === null || run.parent !== parentId || run.next !== next) {
          run = { parent: parentId, next, nodes: [] };
          out.adds.push(run);
          this.wprev = -1;
        }
        return run.nodes;
      };
      // The next emitted sibling, remembered along a run of consecutive siblings: a streamed
      // page appends thousands of them, and scanning to the end for each was quadratic. Valid
      // because here the agent only gains nodes, each added node with its own subtree: after
      // `scanAfter` (not emitted when asked) no sibling up to `scanAnswer` has become emitted.
      let scanAfter = null;
      let scanAnswer = null;
      const follows = (info) => info.type !== 'shadow' && scanAfter !== null
        && N.next(scanAfter) === info.node;
      const nextEmitted = (info) => {
        if (follows(info)) {
          scanAfter = info.node;
          return scanAnswer;
        }
        scanAnswer = this.nextEmitted(info);
        scanAfter = info.type === 'shadow' ? null : info.node;
        return scanAnswer;
      };
      const addVisible = (info) => {
        if (this.emitted.has(info.id) || !this.nodes.has(info.id)) return;
        const parent = this.parentInfo(info);
        const shown = parent && this.emitted.has(parent.id) && !isStyle(parent)
          && !(this.isPlaceholder(parent) && this.frameDoc(parent) !== info)
          && visibleUnder(parent, info) && !(info.type === 'el' && this.outputTag(info) === null);
        if (!shown) {
          if (follows(info)) scanAfter = info.node; // not emitted: the answer holds past it
          return;
        }
        const nodes = runFor(parent.id, nextEmitted(info));
        nodes.push(this.emit(info, this.maskOf(parent)));
      };
      for (const info of added) addVisible(info);
      for (const info of reAdd) addVisible(info);
      for (const [st, child] of styleAdds) {
        this.emitted.add(child[0]);
        this.fresh.add(child[0]);
        runFor(st.id, null).push(this.leaf(child[0], '#text', child[1]));
        if (DATA_RE.test(child[1])) (out.styleTexts ||= []).push(child[0]);
      }

      // 5. attrs: diff what the agent has against the sanitized attributes now
      const attrTargets = new Set(dirtyAttrs);
      const textTargets = new Set(changedTexts);
      for (const info of [...dirtyAttrs, ...maskFlips]) {
        if (!this.emitted.has(info.id) || this.fresh.has(info.id)) continue;
        const wasMasked = this.maskedSent.has(info.id);
        const isMasked = this.maskOf(info) !== null;
        if (wasMasked === isMasked && !maskFlips.has(info)) continue;
        // masking changed: every emitted element and text below must be re-checked
        const stack = [info.node];
        while (stack.length) {
          const n = stack.pop();
          const i = infoOf(n);
          if (!i || !this.emitted.has(i.id)) continue;
          if (i.type === 'el') attrTargets.add(i); else textTargets.add(i);
          pushBelow(stack, n);
        }
      }
      for (const info of attrTargets) {
        if (!this.emitted.has(info.id) || this.fresh.has(info.id)) continue;
        const mask = this.maskOf(info);
        const now = this.sanitizedAttrs(info, mask);
        const before = this.sentAttrs.get(info.id) || Object.create(null);
        for (const k of Object.keys(before)) if (!(k in now)) out.attrs.push([info.id, k, null]);
        for (const k of Object.keys(now)) if (before[k] !== now[k]) out.attrs.push([info.id, k, now[k]]);
        this.sentAttrs.set(info.id, now);
        if (mask) this.maskedSent.add(info.id); else this.maskedSent.delete(info.id);
      }
      // 6. texts
      for (const info of textTargets) {
        if (info.type !== 'text' || !this.emitted.has(info.id) || this.fresh.has(info.id)) continue;
        const parent = this.parentInfo(info);
        if (parent && isStyle(parent)) continue;
        out.texts.push([info.id, this.textOut(info, parent ? this.maskOf(parent) : null)]);
      }
      this.fresh = null;
      return out;
    }
  }

  function setRaw(el, name, value) {
    // Raw attributes exist only so mask selectors can match; an invalid name just is not set.
    try { N.setAttribute(el, name, value); } catch (e) { /* not a valid attribute name */ }
  }

  // ---------------------------------------------------------------- parsing HTML text

  const RESOLVE = new Set(['href', 'src', 'poster', 'cite', 'action', 'formaction', 'xlink:href']);

  // HTML text as a #document in the compact form: ids 1, 2, 3... in preorder, so every node
  // but the root leaves its id out. Relative URLs are resolved against baseUrl, as the tag does.
  function parseHtml(html, baseUrl) {
    // DOMParser documents are inert like ours: scripts never run, nothing loads.
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const resolve = (v) => {
      if (!baseUrl) return v;
      try { return new URL(v, baseUrl).href; } catch (e) { return v; }
    };
    const convert = (n) => { // null for a node that is not sent (nor counted)
      switch (N.type(n)) {
        case 1: {
          const attrs = {};
          const map = N.attributes(n);
          for (let i = 0; i < N.attrCount(map); i++) {
            const a = N.attrAt(map, i);
            const name = N.attrName(a);
            let v = N.attrValue(a);
            if (RESOLVE.has(name)) v = resolve(v);
            else if (name === 'srcset' && baseUrl) {
              v = v.split(',').map((c) => {
                const parts = splitWs(stripWs(c));
                return parts.length ? [resolve(parts[0]), ...parts.slice(1)].join(' ') : c;
              }).join(', ');
            }
            attrs[name] = v;
          }
          const tag = N.localName(n);
          const out = hasKeys(attrs) ? [tag, attrs] : [tag];
          const kids = tag === 'template' && n instanceof HTMLTemplateElement
            ? children(N.templateContent(n)) : children(n);
          for (const k of kids) {
            const c = convert(k);
            if (c !== null) out.push(c);
          }
          return out;
        }
        case 3: return N.data(n);
        case 8: return ['#comment'];
        case 10: return ['#doctype', 'html'];
        default: return null;
      }
    };
    const out = [1, '#document'];
    for (const k of children(doc)) {
      const c = convert(k);
      if (c !== null) out.push(c);
    }
    return out;
  }

  // The raw tree a session's reader built, in the explicit form [id, tag, {attrs}, [children]]
  // of wire/nodes.py (tests only: the golden cases of tests/fixtures/nodes.json).
  function explicitTree(info) {
    switch (info.type) {
      case 'text': return [info.id, '#text', N.data(info.node)];
      case 'comment': return [info.id, '#comment', ''];
      case 'doctype': return [info.id, '#doctype', info.doctype];
      default: {
        const kids = [];
        if (info.type === 'el') {
          const sr = N.shadowRoot(info.node);
          if (sr) kids.push(explicitTree(infoOf(sr)));
        }
        for (let c = N.first(info.node); c; c = N.next(c)) kids.push(explicitTree(infoOf(c)));
        return info.type === 'el' ? [info.id, info.tag, { ...info.attrs }, kids] : [info.id, info.tag, kids];
      }
    }
  }

  // ---------------------------------------------------------------------- entry points

  // Payloads from Python: a JSON text, or 'z:' + base64 of its zlib deflate (large snapshots:
  // the DevTools pipe costs ~45 ms per MB of string, a deflated snapshot is ~10x smaller). The
  // compressed form is made by renderer/service.py, never by a visitor.
  async function readPayload(payload) {
    if (typeof payload !== 'string') fail('payload must be a string');
    if (!payload.startsWith('z:')) return JSON.parse(payload);
    const bytes = Uint8Array.fromBase64(payload.slice(2));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return JSON.parse(await new Response(stream).text());
  }

  window.CobrowseRenderer = Object.freeze({
    configure,
    // Both return a Promise (the payload may need inflating); all session state is touched
    // after the await, in one synchronous run, so calls of other sessions cannot interleave.
    async snapshot(sid, payload) {
      const { doc, brand, url } = await readPayload(payload);
      sessions.delete(sid);
      const s = new Session(brand, url);
      s.load(doc);
      const out = s.snapshotDoc();
      sessions.set(sid, s);
      // The flag spares Python a walk of the whole tree when there is no data: URL to re-encode.
      return (s.sawData ? '1' : '0') + JSON.stringify(out);
    },
    async mutations(sid, payload) {
      const msg = await readPayload(payload);
      const s = sessions.get(sid);
      if (!s) fail('no snapshot for this session');
      try {
        return JSON.stringify(s.apply(msg));
      } catch (e) {
        sessions.delete(sid); // half-applied: only a fresh snapshot can fix it
        throw e;
      }
    },
    // Several batches of one session in one call (a backlog the relay hands over at once):
    // each applied in order, exactly as by one `mutations` call each, their outputs returned
    // in order as one JSON array. One bad batch fails the call and drops the session, as above.
    // Prefixed '1' when some attribute value they emit holds 'data:', else '0' (as snapshot).
    async mutationsMany(sid, payload) {
      const msgs = await readPayload(payload);
      if (!Array.isArray(msgs)) fail('bad mutations group');
      const s = sessions.get(sid);
      if (!s) fail('no snapshot for this session');
      try {
        s.sawData = false;
        const out = JSON.stringify(msgs.map((msg) => s.apply(msg)));
        return (s.sawData ? '1' : '0') + out;
      } catch (e) {
        sessions.delete(sid);
        throw e;
      }
    },
    drop(sid) { sessions.delete(sid); return ''; },
    count() { return sessions.size; },
    rawNamespaces(sid) { // tests only: id -> namespace of every element the reader built
      const s = sessions.get(sid);
      if (!s) fail('no snapshot for this session');
      const out = {};
      for (const [id, info] of s.nodes) if (info.type === 'el') out[id] = info.ns;
      return JSON.stringify(out);
    },
    rawTree(sid) { // tests only (see explicitTree)
      const s = sessions.get(sid);
      if (!s) fail('no snapshot for this session');
      return JSON.stringify(explicitTree(s.rootInfo));
    },
    parseHtml(html, baseUrl) { return JSON.stringify(parseHtml(html, baseUrl || null)); },
    sanitizeHtml(sid, html, baseUrl, brandJson) {
      const doc = parseHtml(html, baseUrl || null);
      const s = new Session(JSON.parse(brandJson), baseUrl || null);
      s.load(doc);
      return JSON.stringify(s.snapshotDoc());
    },
    decide(payload) { // golden decisions: the same cases policy.py answers
      const { origins, cases } = JSON.parse(payload);
      const set = compileOrigins(origins);
      return JSON.stringify(cases.map((c) => {
        const ns = c.ns || 'html';
        if (c.kind === 'css') return cssAllowed(c.value, set);
        if (c.kind === 'sanitize') return sanitizeCss(c.value, set, c.declarations === true);
        if (c.kind === 'url') return urlAllowed(c.value, c.url_kind, set);
        if (c.kind === 'absolute') return absoluteUrl(c.attr, c.value, originOf(c.page));
        if (c.kind === 'reason') return placeholderReason(c.tag, c.attrs || {}, set, originOf(c.page || ''));
        if (c.attr === null || c.attr === undefined) return elementAction(c.tag, c.attrs || {}, ns);
        return attributeAllowed(c.tag, c.attr, c.value, ns, set);
      }));
    },
  });
})();
