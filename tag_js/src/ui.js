/*
 * ui.js: the chat, invite and session frame, in a closed shadow root.
 * Owns: the UI's host and style, the chat panel, the invite prompt, and the frame shown while a
 * session runs.
 * Must not: parse HTML (text is set as text), take the page's styles (the host is all:initial,
 * with its own sheet), or catch the page's pointer events outside its own controls.
 */

// ------------------------------------------------------------ UI (closed shadow root)
// The host is `contain: strict` (its size comes from `inset:0`, never from its content): showing
// the frame or hiding the invite need not lay out the page around it (on a 120k-element page
// that layout was a 35-55 ms part of the first frame after Accept).
var CSS_TEXT = arrJoin([
  ':host{all:initial!important;position:fixed!important;inset:0!important;pointer-events:none!important;' +
    'z-index:2147483647!important;display:block!important;contain:strict!important;' +
    'font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif!important;color:#1d2330!important}',
  // The `hidden` attribute on the host hides the whole UI: an outside rule cannot (the host rule's
  // !important wins over the page's, shadow cascade order), and `cobrowse check` sets it for its
  // screenshots of the visitor's page (issue 16: the agent never sees this UI).
  ':host([hidden]){display:none!important}',
  '[hidden]{display:none!important}',
  '*{box-sizing:border-box}',
  'button{font:inherit;cursor:pointer}',
  '.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;' +
    'background:#2457c5;color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);pointer-events:auto;font-size:22px}',
  '.launcher:focus-visible,.panel button:focus-visible,.invite button:focus-visible{outline:3px solid #f5b400;outline-offset:2px}',
  '.launcher .dot{position:absolute;top:6px;right:6px;width:12px;height:12px;border-radius:50%;background:#e5383b}',
  '.panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:460px;' +
    'max-height:calc(100vh - 120px);display:flex;flex-direction:column;background:#fff;border-radius:12px;' +
    'box-shadow:0 8px 30px rgba(0,0,0,.25);pointer-events:auto;overflow:hidden}',
  '.head{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;background:#2457c5;color:#fff;font-weight:600}',
  '.head button{background:none;border:0;color:#fff;font-size:20px;line-height:1}',
  '.status{padding:4px 14px;font-size:12px;color:#5a6275;background:#f3f5f9}',
  '.log{flex:1;overflow-y:auto;padding:10px 12px;display:flex;flex-direction:column;gap:6px}',
  '.msg{max-width:85%;padding:6px 10px;border-radius:10px;background:#eef1f7;white-space:pre-wrap;overflow-wrap:anywhere}',
  '.msg[data-sender=visitor]{align-self:flex-end;background:#2457c5;color:#fff}',
  '.msg[data-sender=system]{align-self:center;background:none;color:#5a6275;font-size:12px}',
  '.msg .name{display:block;font-size:11px;font-weight:600;opacity:.75}',
  '.notice{align-self:center;font-size:12px;color:#9b2c2c}',
  '.form{display:flex;gap:6px;padding:8px;border-top:1px solid #e3e6ee}',
  '.form textarea{flex:1;resize:none;height:40px;font:inherit;padding:8px;border:1px solid #c9cedb;border-radius:8px}',
  '.form button{border:0;border-radius:8px;background:#2457c5;color:#fff;padding:0 14px}',
  '.invite{position:fixed;right:20px;bottom:88px;width:320px;max-width:calc(100vw - 40px);background:#fff;' +
    'border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);padding:14px;pointer-events:auto;z-index:2}',
  '.invite p{margin:0 0 10px}',
  '.invite .row{display:flex;gap:8px;justify-content:flex-end}',
  '.invite button{border:0;border-radius:8px;padding:6px 14px}',
  '.accept{background:#1f8a4c;color:#fff}.decline{background:#e3e6ee;color:#1d2330}',
  '.frame{position:fixed;inset:0;border:4px solid #f5b400;pointer-events:none}',
  '.bar{position:fixed;top:0;left:50%;transform:translateX(-50%);display:flex;align-items:center;gap:8px;' +
    'background:#f5b400;color:#1d2330;padding:3px 6px 5px 12px;border-radius:0 0 8px 8px;font-size:13px;font-weight:600;pointer-events:none}',
  '.bar button{pointer-events:auto;border:0;background:#1d2330;color:#fff;border-radius:50%;width:22px;height:22px;line-height:1}',
  '.layer{position:fixed;left:0;top:0;width:0;height:0;pointer-events:none}',
  '.pointer{position:fixed;left:0;top:0;pointer-events:none;transition:transform .08s linear}',
  '.pointer .arrow{width:0;height:0;border-left:7px solid #c2185b;border-right:7px solid transparent;' +
    'border-bottom:7px solid transparent;border-top:7px solid #c2185b}',
  '.pointer .label{display:inline-block;margin:2px 0 0 10px;padding:1px 6px;border-radius:6px;background:#c2185b;color:#fff;font-size:12px;white-space:nowrap}',
  '.circle{position:fixed;left:-20px;top:-20px;width:40px;height:40px;border-radius:50%;' +
    'background:rgba(255,214,0,.45);border:3px solid #ffd600;pointer-events:none}',
  '.outline{position:fixed;left:0;top:0;border:3px solid #c2185b;border-radius:4px;pointer-events:none}',
  '.selrect{position:fixed;left:0;top:0;background:rgba(194,24,91,.25);pointer-events:none}'
], '\n');

var ui = null;
var invite = null; // {id, timer}
var panelOpen = false;

var SVG_NS = 'http://www.w3.org/2000/svg';
function el(tag, testid, cls, text) {
  var e = createElement(D, tag);
  if (testid) setAttr(e, 'data-testid', testid);
  if (cls) setAttr(e, 'class', cls);
  if (text) textContentSet(e, text);
  return e;
}
function css(e, prop, value) { styleSetProp(styleOf(e), prop, value); }
function add(parent) {
  for (var i = 1; i < arguments.length; i++) appendChild(parent, arguments[i]);
  return parent;
}

function buildUI() {
  host = createElement(D, 'cobrowse-ui');
  var root = attachShadow(host, { mode: 'closed' });
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    // Browsers without constructable stylesheets (and only those) get a <style> element.
    add(root, el('style', '', '', CSS_TEXT));
  }
  // A drawn speech bubble: an emoji would depend on the visitor's fonts.
  var launcher = el('button', 'cb-chat-open', 'launcher');
  var icon = createElementNS(D, SVG_NS, 'svg');
  setAttr(icon, 'viewBox', '0 0 24 24');
  setAttr(icon, 'width', '26');
  setAttr(icon, 'height', '26');
  setAttr(icon, 'aria-hidden', 'true');
  var bubble = createElementNS(D, SVG_NS, 'path');
  setAttr(bubble, 'd', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
  setAttr(bubble, 'fill', 'currentColor');
  add(launcher, add(icon, bubble));
  setAttr(launcher, 'aria-label', 'Chat with us');
  setAttr(launcher, 'aria-expanded', 'false');
  var dot = el('span', '', 'dot');
  dot.hidden = true;
  add(launcher, dot);

  var panel = el('section', 'cb-chat-panel', 'panel');
  setAttr(panel, 'aria-label', 'Chat');
  panel.hidden = true;
  var close = el('button', 'cb-chat-close', '', '\u00D7');
  setAttr(close, 'aria-label', 'Close chat');
  var head = add(el('div', '', 'head'), el('span', '', '', 'Chat with us'), close);
  var status = el('div', 'cb-chat-status', 'status');
  status.hidden = true;
  var log = el('div', 'cb-chat-log', 'log');
  setAttr(log, 'role', 'log');
  setAttr(log, 'aria-live', 'polite');
  var input = el('textarea', 'cb-chat-input');
  setAttr(input, 'maxlength', '4000');
  setAttr(input, 'rows', '1');
  setAttr(input, 'placeholder', 'Type a message');
  setAttr(input, 'aria-label', 'Message');
  var sendBtn = el('button', 'cb-chat-send', '', 'Send');
  var form = add(el('div', '', 'form'), input, sendBtn);
  add(panel, head, status, log, form);

  var inv = el('div', 'cb-invite', 'invite');
  setAttr(inv, 'role', 'alertdialog');
  inv.hidden = true;
  var invText = el('p', 'cb-invite-text');
  var accept = el('button', 'cb-invite-accept', 'accept', 'Accept');
  var decline = el('button', 'cb-invite-decline', 'decline', 'Decline');
  add(inv, invText, add(el('div', '', 'row'), decline, accept));

  var frameEl = el('div', 'cb-frame', 'frame');
  frameEl.hidden = true;
  var barText = el('span', 'cb-frame-label');
  var end = el('button', 'cb-end', '', '\u00D7');
  setAttr(end, 'aria-label', 'End screen sharing');
  setAttr(end, 'title', 'End screen sharing');
  add(frameEl, add(el('div', '', 'bar'), barText, end));

  var layer = el('div', '', 'layer');
  var pointer = el('div', 'cb-agent-pointer', 'pointer');
  pointer.hidden = true;
  var pointerLabel = el('span', 'cb-agent-pointer-label', 'label');
  add(pointer, el('div', '', 'arrow'), pointerLabel);
  var selLayer = el('div', '', 'layer');
  add(layer, selLayer, pointer);

  add(root, frameEl, layer, panel, inv, launcher);
  ui = { root: root, launcher: launcher, dot: dot, panel: panel, status: status, log: log, input: input,
    invite: inv, inviteText: invText, frame: frameEl, frameLabel: barText, layer: layer, pointer: pointer,
    pointerLabel: pointerLabel, sel: selLayer };

  listen(launcher, 'click', guard(function () { togglePanel(!panelOpen); }));
  listen(close, 'click', guard(function () { togglePanel(false); }));
  listen(sendBtn, 'click', guard(sendChat));
  listen(input, 'keydown', guard(function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendChat(); }
  }));
  listen(accept, 'click', guard(function () { answerInvite('invite.accept'); }));
  listen(decline, 'click', guard(function () { answerInvite('invite.decline'); }));
  listen(end, 'click', guard(function () {
    if (!session) return;
    // If the socket is down, say it on the next hello, or the relay would resume the session.
    if (!send('session.end', { session: session.id })) endPending = session.id;
    endSession();
  }));
  // Keys typed into the chat must not trigger the page's own keyboard shortcuts.
  var stop = guard(function (ev) { stopProp(ev); });
  var KEYS = ['keydown', 'keyup', 'keypress', 'input', 'beforeinput', 'change'];
  for (var i = 0; i < KEYS.length; i++) listen(root, KEYS[i], stop);
  appendChild(docEl(D), host);
}

function togglePanel(open) {
  panelOpen = open;
  ui.panel.hidden = !open;
  setAttr(ui.launcher, 'aria-expanded', open ? 'true' : 'false');
  if (open) {
    ui.dot.hidden = true;
    connect();
    try { htmlFocus(ui.input); } catch (e) { /* not focusable yet */ }
    ui.log.scrollTop = ui.log.scrollHeight;
  }
}
function setStatus(text) {
  if (!ui) return;
  textContentSet(ui.status, text);
  ui.status.hidden = !text;
}
function sendChat() {
  var text = valueOf(ui.input);
  if (!test(/\S/, text)) return;
  text = strSlice(text, 0, 4000);
  if (ended) {
    // The relay refuses chat.send in an ended conversation: start a new one, then send.
    ended = false;
    push(outbox, text);
    reconnect();
  } else if (!send('chat.send', { text: text })) {
    push(outbox, text);
    connect();
  }
  apply(valueSetters.textarea, ui.input, ['']);
}
function clearLog() {
  while (firstChild(ui.log)) removeChild(ui.log, firstChild(ui.log));
}
function addMessage(m, quiet) {
  var row = el('div', 'cb-msg', 'msg');
  setAttr(row, 'data-sender', m.sender);
  if (m.sender !== 'visitor' && m.name) add(row, el('span', '', 'name', m.name));
  add(row, el('span', '', 'text', m.text));
  try { setAttr(row, 'title', new Date(m.at).toLocaleString()); } catch (e) { /* bad date */ }
  appendChild(ui.log, row);
  ui.log.scrollTop = ui.log.scrollHeight;
  if (!quiet && !panelOpen && m.sender !== 'visitor') ui.dot.hidden = false;
}
function addNotice(text) {
  var row = el('div', 'cb-chat-error', 'notice', text || 'Something went wrong.');
  setAttr(row, 'role', 'status');
  appendChild(ui.log, row);
  ui.log.scrollTop = ui.log.scrollHeight;
}
function modeWords(mode) { return mode === 'shared' ? 'shared' : 'view only'; }
function showInvite(m) {
  hideInvite();
  invite = { id: m.invite, timer: 0 };
  // An upgrade (the offer names this page's session): the agent already sees the page.
  var text = m.session && session && m.session === session.id ?
    m.agent + ' asks for shared control: they will be able to click, type and navigate for you.' :
    m.agent + ' would like to see this page with you (' + modeWords(m.mode) + ').' +
    (m.mode === 'shared' ? ' They will be able to click and fill in fields for you.' :
      ' They can point and highlight, but not click or type.');
  textContentSet(ui.inviteText, text + ' Masked fields stay hidden.');
  ui.invite.hidden = false;
  var left = m.expires_at - dateNow();
  if (left > 0 && left < 86400000) invite.timer = later(hideInvite, left);
}
function hideInvite() {
  if (invite) cancel(invite.timer);
  invite = null;
  if (ui) ui.invite.hidden = true;
}
function answerInvite(type) {
  if (!invite) return;
  send(type, { invite: invite.id });
  hideInvite();
}
function showFrame() {
  textContentSet(ui.frameLabel, 'Sharing this tab with ' + session.agent + ' (' + modeWords(session.mode) + ')');
  textContentSet(ui.pointerLabel, session.agent);
  ui.frame.hidden = false;
}
function hideFrame() {
  if (!ui) return;
  ui.frame.hidden = true;
  ui.pointer.hidden = true;
  agentPointer = null;
  agentSel = null;
  drawSelection();
  while (ui.layer.lastChild && ui.layer.lastChild !== ui.pointer) removeChild(ui.layer, ui.layer.lastChild);
}
