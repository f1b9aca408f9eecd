// DOM helpers. Every value from the server becomes a text node or an attribute set through the
// DOM API, never parsed as HTML: an alert field such as `<img src=x onerror=...>` stays text.

export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  append(e, children);
  return e;
}

export function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const clear = (e) => {
  while (e.firstChild) e.firstChild.remove();
  return e;
};

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function toast(msg, kind = 'info') {
  const t = document.getElementById('toast');
  clear(t).append(h('span', { class: `toast ${kind}` }, msg));
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => clear(t), 5000);
}

export const endpoint = (ep) => (ep && ep.ip ? `${ep.ip}${ep.port !== undefined ? `:${ep.port}` : ''}` : '—');
