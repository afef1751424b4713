/*
 * workspace/start.js: loaded last, once every part has put its functions on
 * window.CobrowseWorkspace: loads the relay's message table and shows the sign-in card or the
 * workspace.
 *
 * Must not: hold workspace logic (it belongs to the part that owns it).
 */
(function (workspace) {
  "use strict";

  workspace.loadProtocol();
  workspace.checkMe();
})(window.CobrowseWorkspace);
