// A confirmation in a modal <dialog>: resolves true (yes) or false (no,
// Escape). Focus starts on "no", stays inside the dialog (Tab and
// Shift+Tab cycle), and returns to the element that had it.

export function createConfirm(dialog, { yes, no, text }) {
  let pending = null;
  let opener = null;

  const focusables = () => [...dialog.querySelectorAll('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])')].filter((n) => !n.disabled && !n.hidden);

  function finish(result) {
    if (!pending) return;
    const resolve = pending;
    pending = null;
    if (dialog.open) dialog.close();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    opener = null;
    resolve(result);
  }

  yes.addEventListener('click', () => finish(true));
  no.addEventListener('click', () => finish(false));
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    finish(false);
  });
  dialog.addEventListener('close', () => finish(false));
  dialog.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    const list = focusables();
    if (list.length === 0) return;
    const first = list[0];
    const last = list[list.length - 1];
    const active = dialog.ownerDocument.activeElement;
    if (e.shiftKey && (active === first || !dialog.contains(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !dialog.contains(active))) {
      e.preventDefault();
      first.focus();
    }
  });

  /** Asks message; the promise resolves true or false. */
  return function confirm(message, returnTo) {
    if (pending) finish(false);
    opener = returnTo || dialog.ownerDocument.activeElement;
    text.textContent = message;
    return new Promise((resolve) => {
      pending = resolve;
      dialog.showModal();
      no.focus();
    });
  };
}
