/* Keyboard shortcuts (? / g i g d a), flash messages that leave once the page changes under them, searchable pickers. */
(function () {
  "use strict";
  function urls() {
    var node = document.getElementById("kbd-urls");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function showHelp() {
    var dialog = document.getElementById("kbd-help");
    if (dialog && !dialog.open) { dialog.showModal(); }
  }
  function focusSearch() {
    var field = document.querySelector("input[type=search], input[name=q], input[name=search]");
    if (field) { field.focus(); field.select(); return true; }
    return false;
  }
  var pendingG = false;
  var gTimer = null;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var go = urls();
    if (pendingG) {
      pendingG = false;
      clearTimeout(gTimer);
      if (event.key === "i" && go.incidents) { window.location.assign(go.incidents); }
      else if (event.key === "d" && go.dashboard) { window.location.assign(go.dashboard); }
      return;
    }
    if (event.key === "?") { event.preventDefault(); showHelp(); }
    else if (event.key === "/") { if (focusSearch()) { event.preventDefault(); } }
    else if (event.key === "g") { pendingG = true; gTimer = setTimeout(function () { pendingG = false; }, 1500); }
    else if (event.key === "a" && go.approvals) { window.location.assign(go.approvals); }
  });
  // A flash message speaks of the page as it was: once a form changes it through htmx, it goes.
  document.addEventListener("htmx:afterRequest", function (event) {
    var verb = event.detail && event.detail.requestConfig && event.detail.requestConfig.verb;
    if (verb && verb.toLowerCase() !== "get") {
      document.querySelectorAll("main > .messages").forEach(function (node) { node.remove(); });
    }
  });
  // Searchable pickers: a box over a <select> hides the options that do not match (chosen ones of a
  // multi-select stay); a role picker pointing at the same select also hides people the role does not allow.
  function refilter(select) {
    var box = document.querySelector('input[data-filter-select="' + select.id + '"]');
    var role = document.querySelector('select[data-role-picker="' + select.id + '"]');
    var needle = box ? box.value.trim().toLowerCase() : "";
    var first = null;
    Array.prototype.forEach.call(select.options, function (option) {
      var eligible = !role || (" " + (option.dataset.roles || "") + " ").indexOf(" " + role.value + " ") !== -1;
      if (!eligible && option.selected) { option.selected = false; }
      var matches = needle === "" || option.text.toLowerCase().indexOf(needle) !== -1;
      option.hidden = !eligible || (!matches && !(select.multiple && option.selected));
      if (!option.hidden && first === null) { first = option; }
    });
    if (!select.multiple) {
      var current = select.options[select.selectedIndex];
      if ((!current || current.hidden) && first) { first.selected = true; }
    }
  }
  function addSearchBoxes(root) {
    root.querySelectorAll("select[data-searchable]").forEach(function (select) {
      if (!select.id || document.querySelector('input[data-filter-select="' + select.id + '"]')) { return; }
      var box = document.createElement("input");
      box.type = "search";
      box.className = "select-filter";
      box.dataset.filterSelect = select.id;
      box.placeholder = select.dataset.searchable;
      box.setAttribute("aria-label", select.dataset.searchable);
      select.parentNode.insertBefore(box, select);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { addSearchBoxes(document); });
  document.addEventListener("htmx:load", function (event) { addSearchBoxes(event.target); });
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.dataset || !box.dataset.filterSelect) { return; }
    var select = document.getElementById(box.dataset.filterSelect);
    if (select) { refilter(select); }
  });
  document.addEventListener("change", function (event) {
    var role = event.target;
    if (!role.matches || !role.matches("select[data-role-picker]")) { return; }
    var people = document.getElementById(role.dataset.rolePicker);
    if (people) { refilter(people); }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".kbd-help-open")) { showHelp(); }
  });
})();
