// nntricks book: a figure squeezed into the text column opens at full size when clicked.
document.addEventListener("DOMContentLoaded", () => {
  for (const img of document.querySelectorAll("article .cell_output img")) {
    img.style.cursor = "zoom-in";
    img.title = "Open the figure at full size";
    img.addEventListener("click", () => window.open(img.src, "_blank"));
  }
});
