// Estuary console: small DOM and formatting helpers shared by the views.

// el('td', {class: 'num', onclick: fn}, 'text', child, ...): an element with attributes, event
// handlers (on...) and children (strings become text nodes; null/false are skipped).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function table(headers, rows, empty) {
  if (!rows.length) return el('p', {class: 'empty'}, empty || 'Nothing here.');
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
            el('tbody', {}, rows));
}

export function kbps(v) {
  if (!v) return '0';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} Mb/s` : `${v} kb/s`;
}

export function bytes(v) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; ++i; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

export function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return m ? `${m}m ${s}s` : `${s}s`;
}

// A <code> with a copy button next to it.
export function copyable(text) {
  const button = el('button', {class: 'copy', title: 'copy', type: 'button'}, 'copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'copied';
    } catch {
      // Clipboard access needs a secure context; select the text so Ctrl+C works instead.
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = 'selected';
    }
    setTimeout(() => { button.textContent = 'copy'; }, 1500);
  });
  const code = el('code', {}, text);
  return el('span', {class: 'url'}, code, ' ', button);
}
