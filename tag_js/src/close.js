/*
 * close.js: closes the function open.js opened; nothing else goes here (start.js starts the tag).
 */
})();
