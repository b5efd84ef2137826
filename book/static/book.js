// nntricks book: figures stay legible. A figure is never shown below 80 % of the size it was drawn
// at (its text at 8 px or more); where the column is narrower it scrolls sideways in its frame.
// Clicking a figure opens it at full size.
document.addEventListener("DOMContentLoaded", () => {
  for (const img of document.querySelectorAll("article .cell_output img")) {
    const drawn = Number(img.getAttribute("width")) || img.naturalWidth;
    if (drawn) img.style.minWidth = `${Math.round(0.8 * drawn)}px`;
    img.style.cursor = "zoom-in";
    img.title = "Open the figure at full size";
    img.addEventListener("click", () => window.open(img.src, "_blank"));
  }
});
