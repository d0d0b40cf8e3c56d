// Keyboard shortcuts and the outcome's fields; every page works without this file.
(function () {
  "use strict";
  var typing = function (el) { return el && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName); };
  var items = function () {
    return Array.prototype.slice.call(document.querySelectorAll("a.question-link, details.example > summary"));
  };
  function move(step) {
    var list = items();
    if (!list.length) { return; }
    var at = list.indexOf(document.activeElement);
    var next = list[Math.max(0, Math.min(list.length - 1, at < 0 ? 0 : at + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }
  function help() {
    var box = document.getElementById("keys-help");
    if (box) { box.remove(); return; }
    box = document.createElement("div");
    box.id = "keys-help";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Keyboard shortcuts");
    box.innerHTML = "<strong>Keys</strong><br>j / k: next / previous question or conversation<br>" +
      "Enter: open it<br>d: go to the decision form<br>u: back to the questions<br>?: this help (Esc closes)";
    document.body.appendChild(box);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "j") { move(1); } else if (event.key === "k") { move(-1); }
    else if (event.key === "?") { help(); }
    else if (event.key === "Escape") { var box = document.getElementById("keys-help"); if (box) { box.remove(); } }
    else if (event.key === "u" && document.querySelector(".crumbs a")) { location.href = "/questions"; }
    else if (event.key === "d") {
      var first = document.querySelector("#decide input[name=outcome]:checked, #decide input[name=outcome]");
      if (first) { first.focus(); first.scrollIntoView({ block: "center" }); }
    } else { return; }
    event.preventDefault();
  });
  // Show only the fields the chosen outcome uses.
  function fields() {
    var chosen = document.querySelector("input[name=outcome]:checked");
    document.querySelectorAll("label.field[data-for]").forEach(function (label) {
      label.hidden = !chosen || label.dataset.for.split(" ").indexOf(chosen.value) < 0;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "outcome") { fields(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    fields();
    var preview = document.getElementById("preview");
    if (preview) { preview.focus(); preview.scrollIntoView({ block: "start" }); }
  });
})();
