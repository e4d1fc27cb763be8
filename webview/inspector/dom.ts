/** The few DOM helpers every view of the panel builds with. */

/** An element with properties (`class` for className) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { class?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  const { class: cls, ...rest } = props;
  if (cls) e.className = cls;
  Object.assign(e, rest);
  e.append(...children);
  return e;
}

/** A horizontal bar of `fraction` (0…1) of its track; width through a CSS variable (no inline style attribute: CSP). */
export function bar(fraction: number): HTMLElement {
  const b = el('span', { class: 'bar' });
  b.style.setProperty('--w', `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(1)}%`);
  return b;
}

/** A titled card, labelled by its heading (`${id}-title`). */
export function section(title: string, id: string, ...children: Node[]): HTMLElement {
  const h = el('h2', { id: `${id}-title` }, title);
  const s = el('section', { id, class: 'card' }, h, ...children);
  s.setAttribute('aria-labelledby', h.id);
  return s;
}

/** A follow-up run (trace, ablation) that failed, said where its result would have been. */
export function failureNote(message: string): HTMLElement {
  return el('p', { class: 'message error' }, `This part could not be computed: ${message}`);
}

/** A table head row of column headers. */
export function headerRow(titles: string[]): HTMLElement {
  return el('thead', {}, el('tr', {}, ...titles.map((h) => el('th', { scope: 'col' }, h))));
}

/**
 * A grid with one tab stop (WAI-ARIA's grid pattern): the cell the arrow keys, Home and End take the focus
 * to from (row, col) of a rows × cols grid, clamped at the edges; undefined for any other key.
 */
export function gridStep(key: string, row: number, col: number, rows: number, cols: number): { row: number; col: number } | undefined {
  const to = ({ ArrowUp: [row - 1, col], ArrowDown: [row + 1, col], ArrowLeft: [row, col - 1], ArrowRight: [row, col + 1], Home: [row, 0], End: [row, cols - 1] } as Record<string, [number, number]>)[key];
  return to && { row: Math.max(0, Math.min(rows - 1, to[0])), col: Math.max(0, Math.min(cols - 1, to[1])) };
}

/** Gives the grid's one tab stop to `target` and focuses it. */
export function moveTabStop(cells: Iterable<HTMLElement>, target: HTMLElement): void {
  for (const c of cells) c.tabIndex = -1;
  target.tabIndex = 0;
  target.focus();
}
