// The time grids of the day and week views: a CSS grid with one column per doctor
// (or day) and one row per minute. Each cell says where it goes in data-grid-row /
// -span / -column; its place is set here through the CSS object model, which the
// Content Security Policy allows (style= attributes it refuses). htmx swaps only
// the cards inside the cells.
//
// Also: a card whose buttons do not fit its cell becomes compact (its actions open
// from its menu button, never clipped); a click on free time books the slot under
// the pointer (the link itself, for the keyboard, books the start of the free
// time); the line of the current time moves with the clock.
(() => {
  function place(cell) {
    const { gridRow, gridSpan, gridColumn } = cell.dataset;
    if (gridRow) cell.style.gridRow = gridSpan ? `${gridRow} / span ${gridSpan}` : gridRow;
    if (gridColumn) cell.style.gridColumn = gridColumn;
  }

  function compactIfCrowded(card) {
    if (card.classList.contains("compact") || !card.querySelector(".card-menu-toggle")) return;
    if (card.scrollHeight > card.clientHeight + 1 || card.scrollWidth > card.clientWidth + 1) {
      card.classList.add("compact");
    }
  }

  function layOut(root) {
    const grids = root.matches?.(".day-grid") ? [root] : root.querySelectorAll(".day-grid");
    grids.forEach((grid) => {
      const { gridColumns, gridRows } = grid.dataset;
      grid.style.gridTemplateColumns = `3.5rem repeat(${gridColumns}, minmax(var(--grid-column-min), 1fr))`;
      grid.style.gridTemplateRows = `auto repeat(${gridRows}, var(--grid-minute))`;
      grid.querySelectorAll("[data-rail-rows]").forEach((rail) => {
        rail.style.gridTemplateRows = `0 repeat(${rail.dataset.railRows}, var(--grid-minute))`;
      });
      grid.querySelectorAll("[data-grid-row], [data-grid-column]").forEach(place);
    });
    root.querySelectorAll(".appointment-card").forEach(compactIfCrowded);
    if (root.classList?.contains("appointment-card")) compactIfCrowded(root);
  }

  function hhmm(minute) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(Math.floor(minute / 60) % 24)}:${pad(minute % 60)}`;
  }

  // A mouse click books the slot (on the clinic's grid of slots) under the pointer.
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a.free-space");
    if (!link || event.detail === 0 || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const grid = link.closest(".day-grid");
    const slot = Number(grid?.dataset.slotMinutes || 15);
    const start = Number(link.dataset.startMinute);
    const length = Number(link.dataset.minutes);
    const box = link.getBoundingClientRect();
    const offset = Math.floor(((event.clientY - box.top) / box.height) * length);
    let minute = Math.floor((start + Math.max(0, offset)) / slot) * slot;
    minute = Math.min(Math.max(minute, start), start + length - 5);
    event.preventDefault();
    window.location.assign(link.href.replace(/([?&]time=)[^&#]*/, `$1${hhmm(minute)}`));
  });

  function moveNowLine() {
    document.querySelectorAll(".now-line[data-now-origin]").forEach((line) => {
      const grid = line.closest(".day-grid");
      const rows = Number(grid.dataset.gridRows);
      const row = 2 + Math.floor((Date.now() - Number(line.dataset.nowOrigin)) / 60000);
      line.hidden = row < 2 || row > rows + 1;
      if (!line.hidden) line.style.gridRow = String(row);
    });
  }

  // On a narrow screen the week opens on the day asked for, not on its Monday.
  function scrollToAskedDay() {
    document.querySelectorAll(".day-grid-scroll").forEach((scroller) => {
      const head = scroller.querySelector("[data-scroll-to]");
      const times = scroller.querySelector(".time-rail-labels");
      if (head && scroller.scrollWidth > scroller.clientWidth) {
        scroller.scrollLeft = head.offsetLeft - (times ? times.offsetWidth : 0);
      }
    });
  }

  layOut(document);
  scrollToAskedDay();
  moveNowLine();
  setInterval(moveNowLine, 30000);
  document.body.addEventListener("htmx:load", (event) => layOut(event.detail.elt));

  // A quick action replaces its card: focus moves to the new card (its menu button,
  // or its first action) rather than being lost with the old one.
  // Noted when the request starts: by the time of the swap the menu has closed,
  // and the focus with it.
  let refocus = null;
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const { elt, target } = event.detail;
    const fromCard = target?.classList.contains("appointment-card") && target.contains(elt);
    refocus = fromCard ? target.id : null;
  });
  document.body.addEventListener("htmx:afterSettle", () => {
    const card = refocus && document.getElementById(refocus);
    refocus = null;
    if (!card) return;
    const next = card.classList.contains("compact")
      ? card.querySelector(".card-menu-toggle")
      : card.querySelector(".card-actions .btn") || card.querySelector(".card-name");
    (next || card.querySelector(".card-name"))?.focus();
  });
})();
