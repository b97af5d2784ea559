// Progressive enhancement only: the consent form works without this file.
// When a spending limit or a model choice changes, the summary at the top
// of the page is marked as out of date, so the person checks the fields.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("consent-form");
  var summary = document.getElementById("summary");
  if (!form || !summary) {
    return;
  }
  var note = document.createElement("li");
  note.className = "small muted";
  note.textContent = "You changed the choices below: the limits that apply are the ones in the form.";
  form.addEventListener("change", function () {
    if (!note.parentNode) {
      summary.appendChild(note);
    }
  });
});
