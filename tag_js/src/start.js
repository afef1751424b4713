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
guard(function () {
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
})();
