/*
 * workspace/signin.js: sign-in and sign-out (/agent/me, /agent/login, /agent/logout), and
 * switching between the sign-in card and the workspace.
 *
 * Owns: the sign-in form, showLogin/showWorkspace, resetWorkspace (what sign-out forgets), and
 * errorMessage (the human message of the relay's HTTP error body).
 * Must not: keep the password anywhere but its field (emptied once signed in), or open the
 * socket except through workspace.connect.
 */
(function (workspace) {
  "use strict";

  var show = workspace.show;
  var ui = workspace.ui;
  var state = workspace.state;

  // ------------------------------------------------------------------ sign-in

  function showLogin(message) {
    ui.body.classList.remove("is-loading");
    show(ui.workspace, false);
    show(ui.login, true);
    if (message) {
      ui.loginError.textContent = message;
      show(ui.loginError, true);
    }
    ui.loginName.focus();
  }

  function showWorkspace(agent) {
    state.agent = agent;
    ui.body.classList.remove("is-loading");
    ui.agentName.textContent = agent && agent.name ? agent.name : "";
    show(ui.login, false);
    show(ui.loginError, false);
    show(ui.workspace, true);
    workspace.connect();
  }

  function errorMessage(body, fallback) {
    if (body && body.error && typeof body.error.message === "string" && body.error.message) {
      return body.error.message;
    }
    return fallback;
  }

  function checkMe() {
    return fetch("/agent/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 200) return r.json().then(showWorkspace);
        if (r.status === 401) return showLogin();
        throw new Error("HTTP " + r.status);
      })
      .catch(function () {
        showLogin("The server cannot be reached. Try again in a moment.");
      });
  }

  ui.loginForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = ui.loginName.value.trim();
    var password = ui.loginPassword.value;
    if (!name || !password) {
      ui.loginError.textContent = "Enter your name and password.";
      show(ui.loginError, true);
      return;
    }
    ui.loginSubmit.disabled = true;
    show(ui.loginError, false);
    fetch("/agent/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name: name, password: password })
    })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (r.status === 200) {
            ui.loginPassword.value = "";
            showWorkspace(body);
            return;
          }
          var fallback = r.status === 401 ? "Wrong name or password." :
            r.status === 429 ? "Too many attempts. Wait a moment and try again." :
            "Sign-in failed (HTTP " + r.status + ").";
          ui.loginError.textContent = errorMessage(body, fallback);
          ui.loginError.setAttribute("data-status", String(r.status));
          show(ui.loginError, true);
        });
      })
      .catch(function () {
        ui.loginError.textContent = "The server cannot be reached.";
        show(ui.loginError, true);
      })
      .then(function () { ui.loginSubmit.disabled = false; });
  });

  ui.logout.addEventListener("click", function () {
    workspace.disconnect();
    fetch("/agent/logout", { method: "POST", credentials: "same-origin" })
      .catch(function () { /* signed out locally anyway */ })
      .then(function () {
        resetWorkspace();
        showLogin();
      });
  });

  function resetWorkspace() {
    workspace.closeSession(true);
    state.agent = null;
    state.conversations = [];
    state.open = null;
    state.invite = null;
    workspace.renderConversations();
    workspace.renderConversationHead();
    ui.chatLog.textContent = "";
    workspace.renderInvite();
    workspace.hideError();
  }

  // Used by the other parts (through workspace, when they run).
  workspace.checkMe = checkMe;
  workspace.showLogin = showLogin;
  workspace.resetWorkspace = resetWorkspace;
  workspace.errorMessage = errorMessage;
})(window.CobrowseWorkspace);
