/*
 * start.js: which conversation this tab has, and the tag's start.
 * Owns: the tab id (a tab copied by window.open or duplication starts its own conversation),
 * the tabs' BroadcastChannel, and the start: build the UI, then resume a stored conversation.
 * Must not: resume another tab's conversation.
 */

// ------------------------------------------------------------ tab identity
// Chromium copies sessionStorage into a tab opened by window.open or duplicated: a page asks
// the origin's live pages whether one holds its tab id. Only a copy gets an answer (a tab's
// previous page is gone); a copy starts a conversation of its own.
var tabId = loadStored().tab;
var channel = null;
var tabSettled = false; // this page knows it is the tab's own (answering before would race)
function newTabId() {
  var a = new U32(2);
  // A page's own window.crypto (not a Crypto): an id from Math.random is still a tab's own.
  try { cryptoRandom(cryptoObj, a); } catch (e) { a[0] = Mth.random() * 4294967296; a[1] = Mth.random() * 4294967296; }
  return numToString(a[0], 36) + numToString(a[1], 36);
}
function resume() {
  if (!isStr(tabId, 32) || !tabId || !channel) {
    tabId = isStr(tabId, 32) && tabId ? tabId : newTabId();
    tabSettled = true;
    connect();
    return;
  }
  var copy = false;
  listen(channel, 'message', guard(function (ev) {
    var d = msgData(ev);
    if (d && d.have === tabId) copy = true;
  }));
  bcPost(channel, { ask: tabId });
  later(function () {
    tabSettled = true;
    if (copy) {
      tabId = newTabId();
      saveToken(null);
      return; // the visitor's first chat action starts this tab's own conversation
    }
    connect();
  }, 150);
}

// ------------------------------------------------------------ start
// A same-origin frame of a page that runs the tag is part of that page's stream (the top's tag
// mirrors it): its own tag stays quiet, no UI and no socket, or the frame would resume the
// tab's conversation (sessionStorage is the origin's) and take the session from the top page.
// The top's tag may load after the frame's (async scripts run before the top's load event):
// a frame waits for that event before it decides. window.top cannot be redefined by a page.
function topWindow() {
  try { return W.top !== W && W.top.document ? W.top : null; } catch (e) { return null; }
}
function topRunsTag(top) {
  try { return !!top.__cobrowse; } catch (e) { return false; }
}
function start() {
  var top = topWindow();
  if (top && topRunsTag(top)) return;
  buildUI();
  try {
    channel = BC ? new BC('cobrowse-tabs') : null;
    if (channel) {
      listen(channel, 'message', guard(function (ev) {
        var d = msgData(ev);
        if (d && d.ask && d.ask === tabId && tabSettled && loadToken()) bcPost(channel, { have: tabId });
      }));
    }
  } catch (e) { channel = null; }
  // A stored token means this tab already has a conversation: resume it, so a session
  // survives navigation and reload.
  if (loadToken()) resume();
  else { tabId = newTabId(); tabSettled = true; }
}
guard(function () {
  var top = topWindow(); // a same-origin frame: start once the top page has loaded
  var loaded = true;
  try { loaded = !top || top.document.readyState === 'complete'; } catch (e) { loaded = true; }
  if (loaded) start();
  else listen(top, 'load', guard(start));
})();
