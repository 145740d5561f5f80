// Polls a background job's status and updates the page; announces status changes (not every step)
// through the role=status region. Stops once the job is done or failed.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var status = box.getAttribute("data-status");
  if (status === "done" || status === "failed") { return; }
  var url = box.getAttribute("data-status-url");
  var state = document.getElementById("job-state");
  var bar = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var message = document.getElementById("job-message");
  var delay = 1000;

  function label(name) { return box.getAttribute("data-label-" + name) || name; }

  function show(view) {
    var p = view.progress;
    if (p.total) {
      bar.max = p.total;
      bar.value = view.status === "done" ? p.total : p.done;
      count.textContent = label("progress").replace("{done}", p.done).replace("{total}", p.total);
    } else if (view.status === "done") {
      bar.max = 100; bar.value = 100;
    }
    message.textContent = p.message || "";
    if (view.status !== status) {
      status = view.status;
      var strong = document.createElement("strong");
      strong.textContent = label(status);
      state.replaceChildren(strong);
    }
    if (view.status === "failed") {
      document.getElementById("job-error-text").textContent = view.error || "";
      document.getElementById("job-error").hidden = false;
    }
    if (view.download_url) {
      document.getElementById("job-download-link").href = view.download_url;
      document.getElementById("job-download").hidden = false;
    }
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status !== 200) { return retry(); }
      var view = JSON.parse(request.responseText);
      show(view);
      if (view.status === "done" || view.status === "failed") { return; }
      delay = Math.min(delay * 1.3, 5000);
      window.setTimeout(poll, delay);
    };
    request.onerror = retry;
    request.send();
  }

  function retry() {
    message.textContent = label("lost");
    delay = Math.min(delay * 2, 15000);
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, delay);
})();
