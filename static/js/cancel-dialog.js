// Cancelling from a card of the day or week view: the card's Cancel link (which,
// without JavaScript, opens the cancel page) opens the page's dialog instead, for
// that appointment. The dialog asks for a reason (a common one, or written out) and
// posts it; the server checks it again. Focus goes back where it was on closing.
(() => {
  const dialog = document.getElementById("cancel-dialog");
  if (!dialog) return;
  const form = dialog.querySelector("form");
  const who = dialog.querySelector("[data-cancel-who]");
  const details = form.querySelector("textarea[name=reason]");
  const missing = form.querySelector("[data-cancel-missing]");
  let opener = null;

  function chosen() {
    return form.querySelector("input[name=common_reason]:checked");
  }

  function needsDetails() {
    const choice = chosen();
    return !choice || choice.value === "other";
  }

  function showMissing(show) {
    missing.classList.toggle("d-block", show);
    details.classList.toggle("is-invalid", show);
    details.setAttribute("aria-invalid", show ? "true" : "false");
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[data-cancel]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    // The menu the link was in closes; focus then returns to its button.
    const compact = link.closest(".appointment-card.compact");
    opener = compact?.querySelector(".card-menu-toggle") || link;
    form.reset();
    showMissing(false);
    form.action = link.href;
    form.querySelector("input[name=next]").value = window.location.pathname + window.location.search;
    who.textContent = link.dataset.cancel;
    dialog.showModal();
    form.querySelector("input[name=common_reason]").focus();
  });

  form.addEventListener("change", () => {
    details.required = needsDetails();
    if (!needsDetails() || details.value.trim()) showMissing(false);
  });

  form.addEventListener("submit", (event) => {
    if (needsDetails() && !details.value.trim()) {
      event.preventDefault();
      showMissing(true);
      details.focus();
    }
  });

  dialog.querySelector("[data-cancel-close]").addEventListener("click", () => dialog.close());

  dialog.addEventListener("close", () => {
    const target = opener && opener.isConnected && opener.offsetParent ? opener : null;
    if (target) target.focus();
    opener = null;
  });
})();
