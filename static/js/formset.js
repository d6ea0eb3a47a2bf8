// Rows of a Django formset added and removed on the page, without a round trip.
//
// A formset's container carries data-formset="<prefix>"; inside it, the rows sit in
// [data-formset-rows], each row is [data-formset-row], and a <template
// data-formset-empty> holds `formset.empty_form` with __prefix__ in its names. The
// "add" button (a submit button that, without script, asks the server for one more
// row) clones the template and counts the row in <prefix>-TOTAL_FORMS. A row's
// "remove" button ticks its DELETE box and hides it: the server then leaves it out,
// and the rows keep their numbers, as Django's formsets expect.
(() => {
  function renumber(container) {
    let shown = 0;
    container.querySelectorAll("[data-formset-row]").forEach((row) => {
      if (row.hidden) return;
      shown += 1;
      const number = row.querySelector("[data-formset-number]");
      if (number) number.textContent = String(shown);
    });
  }

  function remove(row) {
    const box = row.querySelector("input[type=checkbox][name$='-DELETE']");
    if (box) box.checked = true;
    row.hidden = true;
    const container = row.closest("[data-formset]");
    renumber(container);
    const add = container.querySelector("[data-formset-add]");
    if (add) add.focus();
  }

  function enhance(row) {
    // With script, the DELETE box gives way to a "remove" button.
    row.querySelectorAll("[data-formset-delete]").forEach((box) => box.classList.add("d-none"));
    row.querySelectorAll("[data-formset-remove]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => remove(row));
    });
  }

  function add(container) {
    const prefix = container.dataset.formset;
    const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
    const template = container.querySelector("template[data-formset-empty]");
    const index = Number(total.value);
    // The server's ceiling (the formset's max_num): past it, the button rests.
    const most = Number(document.getElementById(`id_${prefix}-MAX_NUM_FORMS`)?.value);
    if (most && index >= most) return;
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    const row = holder.firstElementChild;
    container.querySelector("[data-formset-rows]").appendChild(row);
    total.value = String(index + 1);
    if (most && index + 1 >= most) container.querySelector("[data-formset-add]").disabled = true;
    enhance(row);
    renumber(container);
    const first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  document.querySelectorAll("[data-formset]").forEach((container) => {
    container.querySelectorAll("[data-formset-row]").forEach(enhance);
    const button = container.querySelector("[data-formset-add]");
    if (button) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        add(container);
      });
    }
  });
})();
