// Starts the NHS.UK frontend components (the error summary takes focus on load, so a screen reader
// reads the problems first) without inline scripts, so a strict Content-Security-Policy can forbid them.
// Loaded as a module: browsers too old for modules get the plain, working HTML.
import { initAll } from "../vendor/nhsuk-frontend.min.js";

// nhsuk-frontend initialises components only when the body says it is supported.
document.body.classList.add("nhsuk-frontend-supported");
initAll();

// "Go back" links go back through the browser's history; their href (the home page) is for when
// there is no history (a link opened in a new tab) or no JavaScript.
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("[data-epr-history-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// Scan fields (data-epr-scan): a keyboard-wedge scanner types the barcode and then Enter. Enter moves
// to the next scan field rather than sending a half-filled form; in the last one it sends the form.
document.addEventListener("keydown", (event) => {
  const input = event.target instanceof HTMLInputElement ? event.target : null;
  if (!input || event.key !== "Enter" || !input.hasAttribute("data-epr-scan") || !input.form) {
    return;
  }
  const scans = [...input.form.querySelectorAll("input[data-epr-scan]")];
  const next = scans[scans.indexOf(input) + 1];
  if (next) {
    event.preventDefault();
    next.focus();
  }
});
