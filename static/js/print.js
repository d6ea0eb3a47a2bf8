// The print button of the printable pages (no inline scripts: the pages keep to a
// strict Content Security Policy).
document.querySelectorAll("[data-action=print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
