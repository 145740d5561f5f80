// Capability map: zoom buttons and arrow-key movement between indicator boxes (own code, no CDN).
(function () {
  "use strict";
  var region = document.getElementById("capmap");
  if (!region) { return; }
  var svg = region.querySelector("svg.capmap");
  var tools = document.querySelector(".map-tools");
  var base = svg ? parseFloat(svg.getAttribute("data-base-width")) : 0;
  var zoom = 1;

  function apply() {
    svg.style.width = Math.round(base * zoom) + "px";
    svg.style.height = "auto";
  }
  if (svg && tools) {
    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var action = event.target.getAttribute("data-zoom");
      if (!action) { return; }
      if (action === "in") { zoom = Math.min(zoom * 1.25, 3); }
      if (action === "out") { zoom = Math.max(zoom / 1.25, 0.3); }
      if (action === "fit") { zoom = Math.min(1, (region.clientWidth - 4) / base); }
      apply();
    });
  }

  var nodes = Array.prototype.slice.call(region.querySelectorAll("a.capmap-node"));
  region.addEventListener("keydown", function (event) {
    var current = document.activeElement;
    var i = nodes.indexOf(current);
    var next = null;
    if (i < 0) {
      if (event.key.indexOf("Arrow") === 0 && current === region && nodes.length) { next = nodes[0]; }
    } else if (event.key === "ArrowDown") { next = nodes[i + 1];
    } else if (event.key === "ArrowUp") { next = nodes[i - 1];
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      var col = +current.dataset.col + (event.key === "ArrowRight" ? 1 : -1);
      // the nearest box in the next column by height on the screen
      var y = current.getBoundingClientRect().top;
      next = nodes.filter(function (n) { return +n.dataset.col === col; })
        .sort(function (a, b) {
          return Math.abs(a.getBoundingClientRect().top - y) - Math.abs(b.getBoundingClientRect().top - y);
        })[0] || null;
    } else if (event.key === "Home") { next = nodes[0];
    } else if (event.key === "End") { next = nodes[nodes.length - 1]; }
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });
  var detail = document.getElementById("detail");
  if (detail && window.location.hash === "#detail") { detail.focus(); }
})();
