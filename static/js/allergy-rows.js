// The medical record's form: "Add another allergy" copies the empty row (a
// <template> the server renders) with the next form number, so a doctor adds
// several allergies in one save. Without this script the form still offers one
// blank row per save.
(function () {
  "use strict";
  var button = document.querySelector("[data-action='add-allergy']");
  var rows = document.getElementById("allergy-rows");
  var empty = document.getElementById("allergy-empty-row");
  if (!button || !rows || !empty) {
    return;
  }
  var prefix = rows.getAttribute("data-formset-prefix");
  var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  button.hidden = false;
  button.addEventListener("click", function () {
    var number = parseInt(total.value, 10);
    var html = empty.innerHTML.replace(/__prefix__/g, String(number));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(number + 1);
    var added = rows.lastElementChild.querySelector("input[type='text']");
    if (added) {
      added.focus();
    }
  });
})();
