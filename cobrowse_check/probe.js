/*
 * probe.js: what `cobrowse check` reads from the visitor's page (evaluated by Playwright as one
 * function expression; the argument is {selectors: [CSS], sensitive: "regexp source"}).
 *
 * Owns: reading facts about the page (structure, frames, CSSOM, built-ins, fields and why each
 * is masked, same-origin links). Must not: change the page (no listeners, no attributes, no
 * patched built-ins), or return any field value (masked or not). The one exception is asked
 * for explicitly: with arg.canary set, it types a distinct canary into every masked text field
 * (the checker then looks for it on the wire) and returns [[canary, field], ...] as `filled`.
 * The masking rules mirror tag_js/src/masking.js; the wire is checked too.
 */
(arg) => {
  const D = document;
  const W = window;
  // A fresh realm for untouched built-ins: the page may have replaced Function.prototype.toString.
  const realm = D.createElement('iframe');
  realm.style.display = 'none';
  D.documentElement.appendChild(realm);
  const clean = realm.contentWindow;
  const toStr = clean.Function.prototype.toString;
  realm.remove();
  const isNative = (f) => {
    try { return typeof f === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(toStr.call(f)); } catch (e) { return false; }
  };

  const describe = (el) => {
    if (!el || el.nodeType !== 1) return String(el);
    let s = el.localName;
    if (el.id) s += '#' + el.id;
    const name = el.getAttribute('name');
    if (name) s += '[name="' + name + '"]';
    const cls = (el.getAttribute('class') || '').trim().split(/\s+/).filter(Boolean).slice(0, 2);
    if (!el.id && cls.length) s += '.' + cls.join('.');
    const src = el.getAttribute('src') || el.getAttribute('data');
    if (src) s += ' src=' + src.slice(0, 200);
    return s;
  };

  // ---------------------------------------------------------------- size
  const html = D.documentElement ? D.documentElement.outerHTML : '';
  const domBytes = new Blob([html]).size;
  let domNodes = 0;
  const walker = D.createTreeWalker(D, NodeFilter.SHOW_ALL);
  while (walker.nextNode()) domNodes++;

  // ---------------------------------------------------------------- frames and objects
  const framesets = Array.from(D.querySelectorAll('frameset')).map(describe);
  // A frameset's frames are judged as iframes are: mirrored from this origin, else a box.
  const iframes = Array.from(D.querySelectorAll('iframe, frame')).map((f) => {
    let sameOrigin = false;
    try { sameOrigin = !!(f.contentDocument && f.contentWindow.location.origin === location.origin); } catch (e) { sameOrigin = false; }
    let url = f.src || (f.hasAttribute('srcdoc') ? 'about:srcdoc' : 'about:blank');
    return { element: describe(f), url: url, same_origin: sameOrigin };
  });
  const canvases = Array.from(D.querySelectorAll('canvas')).map((c) => describe(c) + ' (' + c.width + 'x' + c.height + ')');
  const objects = Array.from(D.querySelectorAll('object, embed, applet')).map((o) => {
    const type = (o.getAttribute('type') || o.getAttribute('classid') || '').toLowerCase();
    const url = (o.getAttribute('data') || o.getAttribute('src') || o.getAttribute('code') || '').toLowerCase();
    let kind = 'plugin';
    if (type.includes('flash') || url.endsWith('.swf')) kind = 'Flash';
    else if (type.includes('pdf') || /\.pdf($|[?#])/.test(url)) kind = 'PDF';
    else if (type.startsWith('clsid:') || o.localName === 'applet') kind = 'ActiveX/Java';
    return { element: describe(o), kind: kind };
  });

  // ---------------------------------------------------------------- CSSOM
  // A <style> whose rules differ from its text was changed through insertRule/replace, which
  // a plain DOM copy misses; constructed sheets (adoptedStyleSheets) have no element at all.
  const cssom = [];
  for (const sheet of Array.from(D.styleSheets)) {
    const owner = sheet.ownerNode;
    if (!owner || owner.localName !== 'style') continue;
    let live;
    try { live = Array.from(sheet.cssRules).map((r) => r.cssText).join('\n'); } catch (e) { continue; }
    const parsed = new CSSStyleSheet();
    try { parsed.replaceSync(owner.textContent || ''); } catch (e) { continue; }
    const text = Array.from(parsed.cssRules).map((r) => r.cssText).join('\n');
    if (live !== text) cssom.push(describe(owner) + ' (' + sheet.cssRules.length + ' rules, ' + parsed.cssRules.length + ' in its text)');
  }
  if (D.adoptedStyleSheets && D.adoptedStyleSheets.length) {
    cssom.push('document.adoptedStyleSheets (' + D.adoptedStyleSheets.length + ' constructed sheets)');
  }

  // ---------------------------------------------------------------- shadow roots
  const openShadow = [];
  for (const el of Array.from(D.querySelectorAll('*'))) {
    if (el.shadowRoot) {
      openShadow.push(describe(el));
      if (el.shadowRoot.adoptedStyleSheets && el.shadowRoot.adoptedStyleSheets.length) {
        cssom.push(describe(el) + ' shadow root adoptedStyleSheets (' + el.shadowRoot.adoptedStyleSheets.length + ')');
      }
    }
  }

  // ---------------------------------------------------------------- overwritten built-ins
  // What the tag and most page tooling rely on. WebSocket is left out: the checker itself
  // routes the tag's socket through Playwright, which replaces it.
  const BUILTINS = [
    ['window.addEventListener', () => W.addEventListener],
    ['window.removeEventListener', () => W.removeEventListener],
    ['EventTarget.prototype.addEventListener', () => EventTarget.prototype.addEventListener],
    ['EventTarget.prototype.removeEventListener', () => EventTarget.prototype.removeEventListener],
    ['EventTarget.prototype.dispatchEvent', () => EventTarget.prototype.dispatchEvent],
    ['document.addEventListener', () => D.addEventListener],
    ['document.createElement', () => D.createElement],
    ['MutationObserver', () => W.MutationObserver],
    ['MutationObserver.prototype.observe', () => W.MutationObserver.prototype.observe],
    ['JSON.stringify', () => JSON.stringify],
    ['JSON.parse', () => JSON.parse],
    ['Function.prototype.toString', () => Function.prototype.toString],
    ['Node.prototype.appendChild', () => Node.prototype.appendChild],
    ['Node.prototype.insertBefore', () => Node.prototype.insertBefore],
    ['Node.prototype.removeChild', () => Node.prototype.removeChild],
    ['Element.prototype.setAttribute', () => Element.prototype.setAttribute],
    ['Element.prototype.getAttribute', () => Element.prototype.getAttribute],
    ['Element.prototype.attachShadow', () => Element.prototype.attachShadow],
    ['setTimeout', () => W.setTimeout],
    ['requestAnimationFrame', () => W.requestAnimationFrame],
    ['Object.defineProperty', () => Object.defineProperty],
    ['Storage.prototype.getItem', () => Storage.prototype.getItem],
    ['Storage.prototype.setItem', () => Storage.prototype.setItem]
  ];
  // The rest of what the tag takes from its pristine copies (tag_js/src/pristine.js, issue 16):
  // [owner's name, owner, members, 'get' for an accessor's getter]. A getter that throws counts.
  const MEMBERS = [
    ['window', W, ['clearTimeout', 'isFinite', 'encodeURIComponent']],
    ['Function.prototype', Function.prototype, ['call', 'bind']],
    ['Reflect', Reflect, ['apply']],
    ['Object.prototype', Object.prototype, ['hasOwnProperty']],
    ['Array', Array, ['isArray']],
    ['Array.prototype', Array.prototype, ['push', 'pop', 'concat', 'sort', 'splice', 'join']],
    ['String.prototype', String.prototype, ['slice', 'indexOf', 'toLowerCase', 'split', 'trim', 'replace']],
    ['RegExp.prototype', RegExp.prototype, ['test', 'exec']],
    ['Map.prototype', Map.prototype, ['get', 'set', 'has', 'delete', 'clear', 'forEach', 'entries']],
    ['Set.prototype', Set.prototype, ['add', 'has', 'delete', 'clear', 'forEach', 'values']],
    ['WeakMap.prototype', WeakMap.prototype, ['get', 'set', 'has']],
    ['WeakSet.prototype', WeakSet.prototype, ['add', 'has']],
    ['Math', Math, ['random', 'max', 'min', 'round', 'pow', 'abs']],
    ['Date', Date, ['now']],
    ['Performance.prototype', Performance.prototype, ['now']],
    ['Crypto.prototype', Crypto.prototype, ['getRandomValues']],
    ['Storage.prototype', Storage.prototype, ['removeItem']],
    ['MutationObserver.prototype', W.MutationObserver && W.MutationObserver.prototype, ['disconnect', 'takeRecords']],
    ['MutationRecord.prototype', MutationRecord.prototype, ['type', 'target', 'addedNodes', 'removedNodes', 'attributeName'], 'get'],
    ['Node.prototype', Node.prototype, ['firstChild', 'nextSibling', 'parentNode', 'nodeType', 'nodeValue', 'isConnected', 'ownerDocument', 'textContent'], 'get'],
    ['Node.prototype', Node.prototype, ['compareDocumentPosition', 'contains']],
    ['Element.prototype', Element.prototype, ['localName', 'namespaceURI', 'shadowRoot', 'scrollLeft', 'scrollTop'], 'get'],
    ['Element.prototype', Element.prototype, ['getAttributeNames', 'matches', 'closest', 'getBoundingClientRect', 'querySelectorAll']],
    ['Document.prototype', Document.prototype, ['documentElement', 'readyState', 'title', 'activeElement'], 'get'],
    ['Event.prototype', Event.prototype, ['target'], 'get'],
    ['MessageEvent.prototype', MessageEvent.prototype, ['data'], 'get'],
    ['CSSStyleSheet.prototype', CSSStyleSheet.prototype, ['cssRules'], 'get'],
    ['CSSStyleDeclaration.prototype', CSSStyleDeclaration.prototype, ['setProperty']],
    ['HTMLInputElement.prototype', HTMLInputElement.prototype, ['value'], 'get'],
    ['HTMLInputElement.prototype', HTMLInputElement.prototype, ['value'], 'set']
  ];
  for (const [owner, obj, names, kind] of MEMBERS) {
    for (const name of names) {
      const label = owner + '.' + name + (kind ? ' (' + kind + 'ter)' : '');
      BUILTINS.push([label, () => { const d = Object.getOwnPropertyDescriptor(obj, name); return d && d[kind || 'value']; }]);
    }
  }
  // The tag wraps attachShadow to learn of closed shadow roots (docs/protocol.md, ":shadow"),
  // as a Proxy of the native method: it still reads as native here, and only a page's own
  // replacement counts.
  const overwritten = [];
  for (const [name, get] of BUILTINS) {
    let f;
    try { f = get(); } catch (e) { f = undefined; }
    if (!isNative(f)) overwritten.push(name);
  }
  if (Object.prototype.hasOwnProperty.call(Array.prototype, 'toJSON')) overwritten.push('Array.prototype.toJSON (added)');

  // ---------------------------------------------------------------- masking
  const SECRET_AC = { 'current-password': 1, 'new-password': 1, 'one-time-code': 1 };
  const selectors = [];
  for (const sel of arg.selectors) {
    let matched = [];
    let valid = true;
    try { matched = Array.from(D.querySelectorAll(sel)); } catch (e) { valid = false; }
    selectors.push({ selector: sel, valid: valid, matches: matched.length, elements: matched.slice(0, 20).map(describe) });
  }
  const validSelectors = selectors.filter((s) => s.valid).map((s) => s.selector);
  const containerReason = (el) => {
    if (el.closest('[data-cobrowse-mask]')) return { reason: 'attribute', detail: 'data-cobrowse-mask on ' + describe(el.closest('[data-cobrowse-mask]')) };
    for (const sel of validSelectors) if (el.closest(sel)) return { reason: 'selector', detail: 'selector ' + sel };
    return null;
  };
  const acSecret = (el) => {
    const ac = (el.getAttribute('autocomplete') || '').toLowerCase().split(/\s+/);
    return ac.find((t) => SECRET_AC[t] === 1 || t.indexOf('cc-') === 0) || '';
  };
  const labelOf = (el) => {
    const parts = [];
    if (el.labels) for (const l of Array.from(el.labels)) parts.push(l.textContent || '');
    return parts.join(' ').replace(/\s+/g, ' ').trim().slice(0, 120);
  };
  const sensitive = new RegExp(arg.sensitive, 'i');
  const masked = [];
  const filled = [];
  const unmaskedSensitive = [];
  let fields = 0;
  for (const el of Array.from(D.querySelectorAll('input, textarea, select'))) {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (el.localName === 'input' && ['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) continue;
    fields++;
    let why = null;
    if (el.localName === 'input' && type === 'password') why = { reason: 'password', detail: 'type=password' };
    else why = containerReason(el);
    if (!why) { const t = acSecret(el); if (t) why = { reason: 'autocomplete', detail: 'autocomplete=' + t }; }
    if (why) {
      masked.push({ element: describe(el), reason: why.reason, detail: why.detail, field: true });
      if (arg.canary && !['checkbox', 'radio', 'file', 'range', 'color'].includes(type) && el.localName !== 'select') {
        const canary = arg.canary + '-' + filled.length;
        const proto = el.localName === 'textarea' ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
        try {
          Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, canary);
          el.dispatchEvent(new Event('input', { bubbles: true }));
          el.dispatchEvent(new Event('change', { bubbles: true }));
          filled.push([canary, describe(el)]);
        } catch (e) { /* a field that refuses a value */ }
      }
      continue;
    }
    const hay = [el.getAttribute('name'), el.id, el.getAttribute('placeholder'), el.getAttribute('aria-label'),
      el.getAttribute('autocomplete'), labelOf(el)].filter(Boolean).join(' ');
    const hit = hay.match(sensitive);
    if (hit) unmaskedSensitive.push({ element: describe(el), hint: hit[0], label: labelOf(el) });
  }
  // Masked containers (text replaced), outermost only.
  for (const el of Array.from(D.querySelectorAll('[data-cobrowse-mask]'))) {
    if (['input', 'textarea', 'select'].includes(el.localName)) continue;
    if (el.parentElement && el.parentElement.closest('[data-cobrowse-mask]')) continue;
    masked.push({ element: describe(el), reason: 'attribute', detail: 'data-cobrowse-mask', field: false });
  }
  for (const sel of validSelectors) {
    for (const el of Array.from(D.querySelectorAll(sel))) {
      if (['input', 'textarea', 'select'].includes(el.localName)) continue;
      if (el.closest('[data-cobrowse-mask]')) continue;
      masked.push({ element: describe(el), reason: 'selector', detail: 'selector ' + sel, field: false });
    }
  }

  // ---------------------------------------------------------------- links (for --crawl)
  const links = [];
  for (const a of Array.from(D.querySelectorAll('a[href]'))) {
    try {
      const u = new URL(a.getAttribute('href'), D.baseURI);
      if (u.origin === location.origin && (u.protocol === 'http:' || u.protocol === 'https:')) {
        u.hash = '';
        links.push(u.href);
      }
    } catch (e) { /* not a URL */ }
  }

  return {
    url: location.href,
    title: D.title,
    dom_bytes: domBytes,
    dom_nodes: domNodes,
    framesets: framesets,
    iframes: iframes,
    canvases: canvases,
    objects: objects,
    cssom: cssom,
    open_shadow_roots: openShadow,
    overwritten: overwritten,
    selectors: selectors,
    masked: masked,
    unmasked_sensitive: unmaskedSensitive,
    fields: fields,
    links: Array.from(new Set(links)),
    filled: filled
  };
}
