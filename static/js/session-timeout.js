// The NHS/GOV.UK timeout warning: two minutes before the idle logout (halfway, for a timeout shorter
// than four minutes) a dialog offers to stay logged in; with no answer the page logs out at the
// timeout, so a screen left open on a ward does not keep showing patient data after the session ends.
const dialog = document.getElementById("epr-timeout-warning");

if (dialog instanceof HTMLDialogElement) {
  const idleMs = Number(dialog.dataset.idleSeconds) * 1000;
  const warnMs = Math.min(120_000, idleMs / 2);
  const countdown = dialog.querySelector("[data-epr-timeout-countdown]");
  const logoutForm = dialog.querySelector("form[data-epr-timeout-logout]");
  const stay = dialog.querySelector("[data-epr-timeout-stay]");
  const csrf = logoutForm?.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
  let lastActivity = Date.now();
  let timers = [];

  const say = (ms) => {
    const seconds = Math.max(0, Math.ceil(ms / 1000));
    const text = seconds > 60 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} second${seconds === 1 ? "" : "s"}`;
    if (countdown) countdown.textContent = text;
  };

  const clear = () => {
    timers.forEach((id) => clearTimeout(id) || clearInterval(id));
    timers = [];
  };

  const warn = () => {
    say(idleMs - (Date.now() - lastActivity));
    if (!dialog.open) dialog.showModal();
    stay?.focus();
    // Announced once by the dialog opening; the number then changes each second for sighted users.
    timers.push(setInterval(() => say(idleMs - (Date.now() - lastActivity)), 1000));
  };

  const schedule = () => {
    clear();
    lastActivity = Date.now();
    if (!Number.isFinite(idleMs) || idleMs <= 0) return;
    timers.push(setTimeout(warn, idleMs - warnMs));
    // Just before the server's own timeout, so the logout is ours and the login page says why.
    timers.push(setTimeout(() => logoutForm?.requestSubmit(), Math.max(0, idleMs - 1000)));
  };

  stay?.addEventListener("click", async () => {
    const response = await fetch(dialog.dataset.keepaliveUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf },
      credentials: "same-origin",
    });
    if (response.ok) {
      dialog.close();
      schedule();
    } else {
      window.location.assign("/accounts/login/");
    }
  });
  // Escape would close the dialog without telling the server anything: treat it as "stay".
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    stay?.click();
  });
  // Every htmx request renews the session on the server, so it restarts the clock here too.
  document.body.addEventListener("htmx:afterRequest", () => {
    if (!dialog.open) schedule();
  });
  schedule();
}
