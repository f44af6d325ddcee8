// The run page: the operator's buttons (POST to the JSON API with the session's CSRF token:
// trigger and retry open the new run, cancel reloads) and the log panel (a step's log
// through server-sent events: what it wrote so far, then each line as it writes it, until
// the step is over). Listeners are on the document: the page's live part is swapped by htmx.
(function () {
  "use strict";
  var stream = null;

  function post(button) {
    var actions = document.getElementById("run-actions");
    var error = document.getElementById("action-error");
    button.disabled = true;
    error.textContent = "";
    fetch(button.getAttribute("data-post"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": window.headwater.csrf(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok) throw new Error(answer.body.error || "refused");
      if (button.getAttribute("data-then") === "open" && answer.body.run_id) {
        window.location.href = actions.getAttribute("data-run-url").replace("__RUN__", encodeURIComponent(answer.body.run_id));
      } else {
        window.location.reload();
      }
    }).catch(function (problem) {
      error.textContent = problem.message;
      button.disabled = false;
    });
  }

  function showLog(button) {
    var panel = document.getElementById("log-panel");
    var text = document.getElementById("log-text");
    var state = document.getElementById("log-state");
    if (stream) stream.close();
    panel.hidden = false;
    document.getElementById("log-step").textContent = button.getAttribute("data-step");
    text.textContent = "";
    state.textContent = "(following…)";
    stream = new EventSource(button.getAttribute("data-log"), { withCredentials: true });
    stream.onmessage = function (event) {
      var follow = text.scrollTop + text.clientHeight >= text.scrollHeight - 4;
      text.appendChild(document.createTextNode(event.data + "\n"));
      if (follow) text.scrollTop = text.scrollHeight;
    };
    stream.addEventListener("end", function (event) {
      state.textContent = "(step " + event.data + ": the log is complete)";
      if (!text.textContent) text.textContent = "(the step wrote nothing to its log)";
      stream.close();
      stream = null;
    });
    stream.onerror = function () {
      if (stream) { stream.close(); stream = null; state.textContent = "(the log could not be read)"; }
    };
    panel.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button[data-post], button[data-log]");
    if (!target) return;
    if (target.hasAttribute("data-post")) post(target);
    else showLog(target);
  });
})();
