/** Small DOM helpers. Text always goes in as text: attribution values come from clients. */

type Child = Node | string | null | undefined;

/** An element with attributes (`class`, `aria-*`, ...) and children; strings become text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** The element with this id; a missing one is a bug in the page, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

/** Replaces a table body's rows, or shows one "nothing here" row spanning the columns. */
export function fillTable(
  table: HTMLTableElement,
  rows: readonly (readonly Child[])[],
  empty: string,
  numeric: ReadonlySet<number> = new Set(),
): void {
  const body = table.tBodies[0] ?? table.createTBody();
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  if (rows.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: columns, class: 'empty' }, empty)));
    return;
  }
  body.replaceChildren(
    ...rows.map((cells) =>
      el(
        'tr',
        {},
        ...cells.map((cell, i) => el('td', { class: numeric.has(i) ? 'num' : undefined }, cell)),
      ),
    ),
  );
}

const COUNT = new Intl.NumberFormat('en-US');

/** A whole number with thousands separators: `12,345`. */
export function formatCount(n: number): string {
  return COUNT.format(n);
}
