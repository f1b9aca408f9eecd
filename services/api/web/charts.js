import { h, s } from './dom.js';

// Small SVG charts drawn with DOM calls (no inline styles: the CSP forbids them); colours come
// from the stylesheet through classes, so dark and light themes apply.

export function barChart(title, buckets, opts = {}) {
  const w = opts.width ?? 560;
  const rowH = 22;
  const label = opts.labelWidth ?? 200;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const svg = s('svg', { viewBox: `0 0 ${w} ${Math.max(rowH, buckets.length * rowH)}`, role: 'img', 'aria-label': title, class: 'chart' });
  buckets.forEach((b, i) => {
    const y = i * rowH;
    const bw = Math.max(2, ((w - label - 60) * b.count) / max);
    const name = b.name ?? b.key;
    svg.append(
      s('text', { x: 0, y: y + 15, class: 'chart-label' }, name.length > 30 ? `${name.slice(0, 29)}…` : name),
      s('rect', { x: label, y: y + 3, width: bw, height: rowH - 6, class: `bar ${opts.classOf ? opts.classOf(b) : ''}` }, s('title', {}, `${name}: ${b.count}`)),
      s('text', { x: label + bw + 6, y: y + 15, class: 'chart-value' }, String(b.count)),
    );
  });
  return h('figure', { class: 'card' }, h('figcaption', {}, title), buckets.length ? svg : h('p', { class: 'muted' }, 'No data'));
}

export function histogram(title, buckets, opts = {}) {
  const w = opts.width ?? 900;
  const ht = opts.height ?? 140;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const n = Math.max(1, buckets.length);
  const bw = (w - 40) / n;
  const svg = s('svg', { viewBox: `0 0 ${w} ${ht + 24}`, role: 'img', 'aria-label': title, class: 'chart' });
  buckets.forEach((b, i) => {
    const bh = Math.max(1, ((ht - 10) * b.count) / max);
    svg.append(s('rect', { x: 40 + i * bw, y: ht - bh, width: Math.max(1, bw - 1), height: bh, class: 'bar' }, s('title', {}, `${b.key}: ${b.count}`)));
  });
  svg.append(s('text', { x: 0, y: 12, class: 'chart-value' }, String(max)), s('text', { x: 0, y: ht, class: 'chart-value' }, '0'));
  if (buckets.length) {
    svg.append(
      s('text', { x: 40, y: ht + 18, class: 'chart-label' }, buckets[0].key.replace('T', ' ').slice(0, 16)),
      s('text', { x: w - 130, y: ht + 18, class: 'chart-label' }, buckets[buckets.length - 1].key.replace('T', ' ').slice(0, 16)),
    );
  }
  return h('figure', { class: 'card wide' }, h('figcaption', {}, title), buckets.length ? svg : h('p', { class: 'muted' }, 'No data'));
}
