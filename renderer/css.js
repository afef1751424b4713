/*
 * cobrowse renderer: CSS read as a browser reads it, and neutralized piece by piece rather than
 * sheet by sheet. The JavaScript twin of renderer/css.py, line for line (read its docstring for
 * what is forbidden and why); tests/renderer/fixtures/css.json checks both give the same bytes.
 *
 * window.CobrowseCss.configure({cssForbiddenProperties, cssForbiddenFunctions,
 * cssForbiddenAtRules}) from the policy (renderer/policy.py policy_json), then
 * sanitize(text, judge, declarations) -> [text, cut] and allowed(text, judge, declarations),
 * where judge(target, isImport) says whether a url() or @import target may stay.
 */
(() => {
  'use strict';
  let P = null;
  const MAX_DEPTH = 256;
  const EOF = '\0'; // never in preprocessed text (NUL is U+FFFD there)
  const WS_CHARS = ' \t\n';
  const HEX = '0123456789abcdefABCDEF';
  const DIGITS = '0123456789';
  const SCRIPT_SCHEMES = ['javascript:', 'vbscript:'];
  const SCRIPT_NAMES = new Set(SCRIPT_SCHEMES.map((s) => s.slice(0, -1)));
  const OPENERS = { '(': ')', '[': ']', '{': '}', function: ')' };
  const SKIPPED = new Set(['ws', 'comment']);
  const NAME_RUN = /[A-Za-z0-9_\-\u0080-\uffff]+/y;
  const WS_RUN = /[ \t\n]+/y;
  const PLAIN_STRING = { '"': /[^"\\\n]+/y, "'": /[^'\\\n]+/y };
  const NON_PRINTABLE = /[\x01-\x08\x0b\x0e-\x1f\x7f]/;

  const lower = (name) => name.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  const has = (set, c) => c !== '' && set.includes(c);

  function preprocess(text) {
    text = text.replace(/\r\n?|\f/g, '\n');
    return text.replace(/\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  }

  const identStart = (c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c.charCodeAt(0) >= 0x80;
  const identChar = (c) => identStart(c) || has(DIGITS, c) || c === '-';

  class Reader {
    constructor(text) { this.s = text; this.i = 0; this.n = text.length; this.kind = ''; }
    at(k = 0) { const j = this.i + k; return j < this.n ? this.s[j] : EOF; }
    validEscape(k = 0) { return this.at(k) === '\\' && this.at(k + 1) !== '\n'; }
    startsIdent(k = 0) {
      const c = this.at(k);
      if (c === '-') {
        const d = this.at(k + 1);
        return identStart(d) || d === '-' || this.validEscape(k + 1);
      }
      return identStart(c) || this.validEscape(k);
    }
    startsNumber(k = 0) {
      const c = this.at(k);
      if (c === '+' || c === '-') {
        const d = this.at(k + 1);
        return has(DIGITS, d) || (d === '.' && has(DIGITS, this.at(k + 2)));
      }
      if (c === '.') return has(DIGITS, this.at(k + 1));
      return has(DIGITS, c);
    }
    escaped() { // just after the backslash (CSS Syntax 4.3.7)
      const c = this.at();
      if (c === EOF) return '\ufffd';
      if (has(HEX, c)) {
        let j = this.i;
        while (j < this.n && j - this.i < 6 && HEX.includes(this.s[j])) j++;
        const code = parseInt(this.s.slice(this.i, j), 16);
        this.i = j;
        if (has(WS_CHARS, this.at())) this.i++;
        if (code === 0 || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '\ufffd';
        return String.fromCodePoint(code);
      }
      this.i++;
      return c;
    }
    run(re) { re.lastIndex = this.i; const m = re.exec(this.s); if (m) this.i = re.lastIndex; return m ? m[0] : null; }
    name() {
      let out = '';
      for (;;) {
        const m = this.run(NAME_RUN);
        if (m !== null) out += m;
        if (!this.validEscape()) return out;
        this.i++;
        out += this.escaped();
      }
    }
    digits() { while (has(DIGITS, this.at())) this.i++; }
    number() {
      if (this.at() === '+' || this.at() === '-') this.i++;
      this.digits();
      if (this.at() === '.' && has(DIGITS, this.at(1))) { this.i++; this.digits(); }
      if (this.at() === 'e' || this.at() === 'E') {
        if (has(DIGITS, this.at(1))) { this.i++; this.digits(); }
        else if ((this.at(1) === '+' || this.at(1) === '-') && has(DIGITS, this.at(2))) { this.i += 2; this.digits(); }
      }
    }
    string(quote) { // just after the opening quote (CSS Syntax 4.3.5); sets this.kind
      let out = '';
      for (;;) {
        const m = this.run(PLAIN_STRING[quote]);
        if (m !== null) out += m;
        const c = this.at();
        if (c === quote || c === EOF) {
          if (c === quote) this.i++;
          this.kind = 'string';
          return out;
        }
        if (c === '\n') { this.kind = 'bad-string'; return out; } // the newline is left
        this.i++; // a backslash
        if (this.at() === '\n') this.i++;
        else if (this.at() !== EOF) out += this.escaped();
      }
    }
    url() { // after "url(" and its whitespace (CSS Syntax 4.3.6); sets this.kind
      let out = '';
      for (;;) {
        const c = this.at();
        if (c === ')' || c === EOF) {
          if (c === ')') this.i++;
          this.kind = 'url';
          return out;
        }
        if (has(WS_CHARS, c)) {
          this.skipWs();
          if (this.at() === ')' || this.at() === EOF) {
            if (this.at() === ')') this.i++;
            this.kind = 'url';
            return out;
          }
          return this.badUrl();
        }
        if (c === '"' || c === "'" || c === '(' || NON_PRINTABLE.test(c)) return this.badUrl();
        if (c === '\\') {
          if (!this.validEscape()) return this.badUrl();
          this.i++;
          out += this.escaped();
          continue;
        }
        out += c;
        this.i++;
      }
    }
    badUrl() { // the remnants of a bad URL (CSS Syntax 4.3.14)
      this.kind = 'bad-url';
      for (;;) {
        const c = this.at();
        if (c === EOF) return '';
        if (c === ')') { this.i++; return ''; }
        if (this.validEscape()) { this.i++; this.escaped(); } else this.i++;
      }
    }
    skipWs() { this.run(WS_RUN); }
  }

  const token = (kind, start, end, value = '') => ({ kind, start, end, value });

  function tokenize(text) { // the tokens of preprocessed text, comments included
    const r = new Reader(text);
    const s = text;
    const out = [];
    while (r.i < r.n) {
      const start = r.i;
      const c = s[start];
      if (c === '/' && r.at(1) === '*') {
        const end = s.indexOf('*/', start + 2);
        r.i = end < 0 ? r.n : end + 2;
        out.push(token('comment', start, r.i));
      } else if (WS_CHARS.includes(c)) {
        r.skipWs();
        out.push(token('ws', start, r.i));
      } else if (c === '"' || c === "'") {
        r.i++;
        const value = r.string(c);
        out.push(token(r.kind, start, r.i, value));
      } else if (c === '#' && (identChar(r.at(1)) || r.validEscape(1))) {
        r.i++;
        const name = r.name();
        out.push(token('hash', start, r.i, name));
      } else if ('(),:;[]{}'.includes(c)) {
        r.i++;
        out.push(token(c, start, r.i, c));
      } else if ((c === '+' || c === '-' || c === '.') && r.startsNumber()) {
        out.push(numeric(r, start));
      } else if (c === '-' && r.at(1) === '-' && r.at(2) === '>') {
        r.i += 3;
        out.push(token('cdc', start, r.i));
      } else if (c === '<' && s.startsWith('!--', start + 1)) {
        r.i += 4;
        out.push(token('cdo', start, r.i));
      } else if (c === '@' && r.startsIdent(1)) {
        r.i++;
        const name = r.name();
        out.push(token('at', start, r.i, name));
      } else if (DIGITS.includes(c)) {
        out.push(numeric(r, start));
      } else if (r.startsIdent()) { // a name start, "-" then a name start, or an escape
        out.push(identLike(r, start));
      } else {
        r.i++;
        out.push(token('delim', start, r.i, c));
      }
    }
    return out;
  }

  function numeric(r, start) {
    r.number();
    if (r.startsIdent()) r.name(); // a dimension's unit
    else if (r.at() === '%') r.i++;
    return token('number', start, r.i);
  }

  function identLike(r, start) { // CSS Syntax 4.3.4
    const name = r.name();
    if (r.at() !== '(') return token('ident', start, r.i, name);
    r.i++;
    if (lower(name) !== 'url') return token('function', start, r.i, name);
    while (has(WS_CHARS, r.at()) && has(WS_CHARS, r.at(1))) r.i++;
    const quote = (c) => c === '"' || c === "'";
    if (quote(r.at()) || (has(WS_CHARS, r.at()) && quote(r.at(1)))) return token('function', start, r.i, name);
    r.skipWs();
    const value = r.url();
    return token(r.kind, start, r.i, value);
  }

  // -- sanitizing

  function sanitize(text, judge, declarations = false) {
    text = preprocess(text);
    const cuts = findCuts(text, judge, declarations);
    if (cuts === null) return ['', true];
    if (cuts.length === 0) return [text, false];
    let out = '';
    let at = 0;
    for (const cut of cuts) {
      out += text.slice(at, cut.start) + cut.replacement;
      at = cut.end;
    }
    out += text.slice(at);
    const again = findCuts(out, judge, declarations);
    if (again === null || again.length) return ['', true];
    return [out, true];
  }

  function allowed(text, judge, declarations = false) {
    const cuts = findCuts(preprocess(text), judge, declarations);
    return cuts !== null && cuts.length === 0;
  }

  function matchOf(tokens) {
    const match = new Array(tokens.length).fill(-1);
    const stack = [];
    for (let i = 0; i < tokens.length; i++) {
      const kind = tokens[i].kind;
      if (kind in OPENERS) {
        stack.push(i);
        if (stack.length > MAX_DEPTH) return null;
      } else if (stack.length && kind === OPENERS[tokens[stack[stack.length - 1]].kind]) {
        match[stack.pop()] = i;
      }
    }
    for (const i of stack) match[i] = tokens.length;
    return match;
  }

  function findCuts(text, judge, declarations) {
    const tokens = tokenize(text);
    const match = matchOf(tokens);
    if (match === null) return null;
    const cuts = [];
    const ranges = [[0, tokens.length, !declarations]];
    while (ranges.length) {
      const [a, b, top] = ranges.pop();
      let i = a;
      while (i < b) {
        let kind = tokens[i].kind;
        if (SKIPPED.has(kind) || kind === ';' || (top && (kind === 'cdo' || kind === 'cdc'))) { i++; continue; }
        const start = i;
        let block = -1;
        let end = b;
        while (i < b) {
          kind = tokens[i].kind;
          if (kind === ';') { end = i + 1; break; }
          if (kind === '{') { block = i; end = Math.min(match[i] + 1, b); break; }
          i = kind in OPENERS ? Math.min(match[i] + 1, b) : i + 1;
        }
        i = end;
        const itemCuts = judgeItem(tokens, match, start, block >= 0 ? block : end, judge);
        if (itemCuts === null) {
          cuts.push({ start: tokens[start].start, end: tokens[end - 1].end, replacement: '' });
          continue;
        }
        cuts.push(...itemCuts);
        if (block >= 0) ranges.push([block + 1, Math.min(match[block], b), false]);
      }
    }
    cuts.sort((x, y) => x.start - y.start);
    return cuts;
  }

  function judgeItem(tokens, match, start, stop, judge) {
    const head = tokens[start];
    const ruleLike = stop < tokens.length && tokens[stop].kind === '{' && head.kind !== 'at';
    const name = lower(head.value);
    if (head.kind === 'at') {
      if (P.forbiddenAtRules.has(name)) return null;
      if (name === 'import') {
        const target = importTarget(tokens, match, start + 1, stop);
        if (target === null || !judge(target, true)) return null;
      }
    } else {
      // "behavior:", "beh/**/avior :" (old engines drop comments first): a declaration's name
      const [prop, after] = glued(tokens, start, stop);
      if (P.forbiddenProperties.has(prop) && nextKind(tokens, after, stop) === ':') return null;
    }
    const cuts = [];
    let i = start;
    while (i < stop) {
      const t = tokens[i];
      const kind = t.kind;
      if (kind === 'bad-string' || kind === 'bad-url') return null;
      if (kind === 'ident') {
        const [name2, after] = glued(tokens, i, stop);
        if (P.forbiddenFunctions.has(name2) && nextKind(tokens, after, stop) === '(') return null;
        if (after < stop && tokens[after].kind === 'function'
          && P.forbiddenFunctions.has(name2 + lower(tokens[after].value))) return null;
      }
      if (kind === 'function') {
        const fname = lower(t.value);
        if (P.forbiddenFunctions.has(fname)) return null;
        if (fname === 'url') {
          const close = match[i];
          const target = singleString(tokens, i + 1, Math.min(close, stop));
          if (target === null || !judge(target, false)) {
            const end = close < tokens.length ? tokens[close].end : tokens[tokens.length - 1].end;
            cuts.push({ start: t.start, end, replacement: 'url()' });
          }
          i = close + 1;
          continue;
        }
      } else if (kind === 'url' && !judge(t.value, false)) {
        cuts.push({ start: t.start, end: t.end, replacement: 'url()' });
      } else if (!ruleLike && (
        (kind === 'ident' && SCRIPT_NAMES.has(lower(t.value)) && nextKind(tokens, i + 1, stop) === ':')
        || (kind === 'string' && scriptUrl(t.value)))) {
        return null;
      }
      i++;
    }
    return cuts;
  }

  function glued(tokens, i, stop) {
    let names = '';
    while (i < stop && (tokens[i].kind === 'ident' || tokens[i].kind === 'comment')) {
      if (tokens[i].kind === 'ident') names += lower(tokens[i].value);
      i++;
    }
    return [names, i];
  }

  function nextKind(tokens, i, stop) {
    while (i < stop && SKIPPED.has(tokens[i].kind)) i++;
    return i < stop ? tokens[i].kind : '';
  }

  function scriptUrl(value) {
    const url = lower(value.replace(/[\t\n\r]/g, '').replace(/^[\x00-\x20]+/, ''));
    return SCRIPT_SCHEMES.some((s) => url.startsWith(s));
  }

  function singleString(tokens, i, stop) {
    const values = tokens.slice(i, stop).filter((t) => !SKIPPED.has(t.kind));
    return values.length === 1 && values[0].kind === 'string' ? values[0].value : null;
  }

  function importTarget(tokens, match, i, stop) {
    while (i < stop && SKIPPED.has(tokens[i].kind)) i++;
    if (i >= stop) return null;
    const t = tokens[i];
    if (t.kind === 'string' || t.kind === 'url') return t.value;
    if (t.kind === 'function' && lower(t.value) === 'url') return singleString(tokens, i + 1, Math.min(match[i], stop));
    return null;
  }

  window.CobrowseCss = {
    configure(policy) {
      P = {
        forbiddenProperties: new Set(policy.cssForbiddenProperties),
        forbiddenFunctions: new Set(policy.cssForbiddenFunctions),
        forbiddenAtRules: new Set(policy.cssForbiddenAtRules),
      };
    },
    sanitize,
    allowed,
  };
})();
