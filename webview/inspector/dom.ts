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
