// Live response rate on a diagnosis round's page: polls the counts (per group and invitation, never per person).
(function () {
  "use strict";
  var section = document.getElementById("response-rate");
  if (!section || !window.fetch) { return; }
  var url = section.getAttribute("data-rates-url");
  function text(el, value) { if (el) { el.textContent = value; } }
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        text(section.querySelector("[data-total-submitted]"), data.submitted);
        text(section.querySelector("[data-total-rate]"), data.rate === null ? "—" : data.rate);
        Object.keys(data.groups).forEach(function (code) {
          var row = section.querySelector('tr[data-group="' + code + '"]');
          if (!row) { return; }
          var g = data.groups[code];
          text(row.querySelector("[data-submitted]"), g.submitted);
          text(row.querySelector("[data-rate]"), (g.rate === null ? "—" : g.rate) + "%");
        });
        data.invitations.forEach(function (inv) {
          var row = section.querySelector('tr[data-invitation="' + inv.id + '"]');
          if (!row) { return; }
          text(row.querySelector("[data-started]"), inv.started);
          text(row.querySelector("[data-submitted]"), inv.submitted);
        });
      })
      .catch(function () { /* a missed refresh is retried on the next tick */ });
  }
  window.setInterval(refresh, 15000);
})();
