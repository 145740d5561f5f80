// Counts down from the server's remaining time; announces 10, 5 and 1 minutes politely.
// The server enforces the deadline; this only informs.
(function () {
  "use strict";
  var box = document.getElementById("timer");
  if (!box) { return; }
  var value = document.getElementById("timer-value");
  var live = document.getElementById("timer-announce");
  var remaining = parseInt(box.getAttribute("data-remaining"), 10);
  var deadline = Date.now() + remaining * 1000;
  var announced = {};
  function announce(key) {
    if (announced[key]) { return; }
    announced[key] = true;
    live.textContent = box.getAttribute("data-label-" + key);
  }
  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    value.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    if (left <= 600 && remaining > 600) { announce("10"); }
    if (left <= 300 && remaining > 300) { announce("5"); }
    if (left <= 60 && remaining > 60) { announce("1"); }
    if (left === 0) {
      announce("up");
      window.clearInterval(timer);
      window.setTimeout(function () { window.location.reload(); }, 1500);
    }
  }
  var timer = window.setInterval(tick, 1000);
  tick();
})();
