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

// Search: a snippet shows the text of the page or section, without the theme's buttons and
// navigation, the maths' raw TeX or the code of the cells.
const CHROME = ".bd-header-article, .onlyprint, .bd-sidebar-secondary, .prev-next-area, .bd-footer-article, .nnt-footer, .math, " +
  ".cell_input, .cell_output, .highlight, pre, nav, .toctree-wrapper";
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || !Search.htmlToText) return;  // a const of searchtools.js
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (html, anchor) => {
    const page = new DOMParser().parseFromString(html, "text/html");
    page.querySelectorAll(CHROME).forEach((e) => e.remove());
    return htmlToText(page.documentElement.outerHTML, anchor).replace(/\s+/g, " ").trim();
  };
});
