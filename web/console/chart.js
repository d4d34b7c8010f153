// The bar chart of requests by status: inline SVG, attributes only (no
// style attributes), one labelled row per status. The numbers are also in a
// visually hidden table for screen readers (see console.js).

const SVG_NS = 'http://www.w3.org/2000/svg';

export const CHART = { width: 400, row: 44, labelY: 16, barY: 22, barHeight: 14, countGap: 6, countWidth: 48, pad: 4 };

/**
 * The geometry of the bars: [{status, count, y, labelY, barY, width}], the
 * widest bar (the largest count) taking the room left for the count text.
 */
export function chartLayout(byStatus, statuses, c = CHART) {
  const counts = statuses.map((s) => Math.max(0, Number((byStatus || {})[s]) || 0));
  const max = Math.max(0, ...counts);
  const room = c.width - c.countWidth - c.countGap;
  const rows = statuses.map((status, i) => {
    const count = counts[i];
    const top = c.pad + i * c.row;
    const width = max > 0 ? Math.round((count / max) * room * 10) / 10 : 0;
    return { status, count, y: top, labelY: top + c.labelY, barY: top + c.barY, width };
  });
  return { rows, height: c.pad * 2 + statuses.length * c.row, max };
}

function svgEl(tag, attrs, text) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/**
 * Draws the chart into svg (keeping its <title> and <desc>): label(status)
 * names a status, number(n) formats a count.
 */
export function renderChart(svg, byStatus, statuses, { label, number, title, desc }) {
  const { rows, height } = chartLayout(byStatus, statuses);
  for (const n of [...svg.childNodes]) {
    if (!(n.nodeType === 1 && (n.localName === 'title' || n.localName === 'desc'))) n.remove();
  }
  const t = svg.querySelector('title');
  const d = svg.querySelector('desc');
  if (t) t.textContent = title;
  if (d) d.textContent = desc;
  svg.setAttribute('viewBox', `0 0 ${CHART.width} ${height}`);
  const g = svgEl('g', { 'aria-hidden': 'true' });
  for (const r of rows) {
    g.append(svgEl('text', { x: 0, y: r.labelY, class: 'chart-label' }, label(r.status)));
    g.append(svgEl('rect', { x: 0, y: r.barY, width: Math.max(r.width, r.count > 0 ? 2 : 0), height: CHART.barHeight, rx: 2, class: 'chart-bar', 'data-status': r.status }));
    g.append(svgEl('text', { x: Math.max(r.width, r.count > 0 ? 2 : 0) + CHART.countGap, y: r.barY + CHART.barHeight - 2, class: 'chart-count' }, number(r.count)));
  }
  svg.append(g);
}
