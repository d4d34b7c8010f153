// Saves text as a file through a blob URL and a temporary <a download>
// (generic; nothing is navigated to, nothing goes into the history).

export function saveText(text, filename, type = 'text/csv;charset=utf-8') {
  const blob = new Blob([text], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Let the download start before the URL goes.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}
