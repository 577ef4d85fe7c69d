// The portal's only script, loaded with `defer` by the pages that need it. Everything works
// without it: it only adds conveniences. A button with `data-copy="ID"` (hidden in the page)
// is shown and copies the value of the field ID; the element named by `data-copy-status`
// says whether that worked, in the page's words (`data-copied`, `data-copy-failed`).
"use strict";

(function () {
  function copyWithSelection(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }

  function say(status, text) {
    if (status) {
      // Emptied first, so that the same words are announced again on a second copy.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) {
      return;
    }
    var status = document.getElementById(button.dataset.copyStatus || "");
    button.hidden = false;
    button.addEventListener("click", function () {
      var copied = button.dataset.copied || "";
      var failed = button.dataset.copyFailed || "";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { say(status, copied); },
          function () { say(status, copyWithSelection(field) ? copied : failed); }
        );
      } else {
        say(status, copyWithSelection(field) ? copied : failed);
      }
    });
  });
})();
