// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  onReady(function () {
    // Forms marked data-autosubmit submit when a select changes (the tenant switcher).
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.value) select.form.submit();
      });
    });
    // The menu button on narrow screens.
    document.querySelectorAll("[data-toggle=nav]").forEach(function (button) {
      button.addEventListener("click", function () {
        document.getElementById("mainnav").classList.toggle("open");
      });
    });
  });

  // Buttons with data-confirm ask before submitting (destructive actions).
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var message = (submitter && submitter.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // "Select all" checkboxes for bulk actions: <input type=checkbox data-select-all="name">.
  document.addEventListener("change", function (event) {
    var name = event.target.dataset && event.target.dataset.selectAll;
    if (!name) return;
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  });
})();
