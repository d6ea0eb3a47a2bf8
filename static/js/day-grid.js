// The reception day view: a CSS grid with one column per doctor and one row per slot.
// Each cell says where it goes in data-grid-row / -span / -column; its place is set
// here through the CSS object model, which the Content Security Policy allows
// (style= attributes it refuses). htmx swaps only the cards inside the cells.
(() => {
  function place(cell) {
    const { gridRow, gridSpan, gridColumn } = cell.dataset;
    if (gridRow) cell.style.gridRow = gridSpan ? `${gridRow} / span ${gridSpan}` : gridRow;
    if (gridColumn) cell.style.gridColumn = gridColumn;
  }

  function layOut(root) {
    root.querySelectorAll(".day-grid[data-grid-columns]").forEach((grid) => {
      const { gridColumns, gridRows } = grid.dataset;
      grid.style.gridTemplateColumns = `4rem repeat(${gridColumns}, minmax(12rem, 1fr))`;
      grid.style.gridTemplateRows = `auto repeat(${gridRows}, 2.4rem)`;
      grid.querySelectorAll("[data-grid-row], [data-grid-column]").forEach(place);
    });
  }

  layOut(document);
  document.body.addEventListener("htmx:load", (event) => layOut(event.detail.elt));
})();
