// netaudit's HTML report: filters by check and severity, and a click on a
// node of the graph shows its edges and its findings. Everything is in the
// page; nothing is fetched. The address's fragment sets the filters on
// load (`#check=M6`, `#severity=high`, `#node=Deployment/shop/api`), so a
// link can point at one view.
(function () {
  "use strict";
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-filter]"));
  var findings = Array.prototype.slice.call(document.querySelectorAll(".finding"));
  var svg = document.querySelector("svg.release");
  var nodes = svg ? Array.prototype.slice.call(svg.querySelectorAll(".node")) : [];
  var edges = svg ? Array.prototype.slice.call(svg.querySelectorAll(".edge")) : [];
  var shown = document.getElementById("shown");
  var selected = null;

  function wanted(kind) {
    var values = {};
    boxes.forEach(function (box) {
      if (box.dataset.filter === kind && box.checked) values[box.value] = true;
    });
    return values;
  }

  function apply() {
    var checks = wanted("check");
    var severities = wanted("severity");
    var count = 0;
    findings.forEach(function (f) {
      var visible = !!checks[f.dataset.check] && !!severities[f.dataset.severity] &&
        (selected === null || f.dataset.node === selected);
      f.hidden = !visible;
      if (visible) count += 1;
    });
    if (shown) shown.textContent = count + " of " + findings.length + " findings shown";
    document.body.dataset.shown = String(count);
  }

  function focus(id) {
    selected = id;
    if (svg) {
      svg.classList.toggle("focused", id !== null);
      var near = {};
      edges.forEach(function (e) {
        var on = id !== null && (e.dataset.from === id || e.dataset.to === id);
        e.classList.toggle("hl", on);
        if (on) { near[e.dataset.from] = true; near[e.dataset.to] = true; }
      });
      nodes.forEach(function (n) {
        n.classList.toggle("selected", n.dataset.node === id);
        n.classList.toggle("hl", !!near[n.dataset.node]);
      });
    }
    apply();
  }

  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  nodes.forEach(function (n) {
    var toggle = function () { focus(selected === n.dataset.node ? null : n.dataset.node); };
    n.addEventListener("click", toggle);
    n.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
  });
  var all = document.getElementById("show-all");
  if (all) all.addEventListener("click", function () {
    boxes.forEach(function (b) { b.checked = true; });
    focus(null);
  });

  // `#check=M6&severity=high&node=…`: only those.
  var hash = decodeURIComponent(window.location.hash.replace(/^#/, ""));
  var node = null;
  hash.split("&").forEach(function (part) {
    var eq = part.indexOf("=");
    if (eq < 0) return;
    var key = part.slice(0, eq), value = part.slice(eq + 1);
    if (key === "check" || key === "severity") {
      boxes.forEach(function (b) { if (b.dataset.filter === key) b.checked = b.value === value; });
    } else if (key === "node") {
      nodes.forEach(function (n) { if (n.dataset.id === value) node = n.dataset.node; });
    }
  });
  focus(node);
  document.body.dataset.ready = "1";
})();
