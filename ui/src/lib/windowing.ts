// Which rows of a long, fixed-row-height list to put in the DOM. Rendering only the rows
// in view (plus a few either side, so a fast scroll does not show blank space) keeps the
// inventory list smooth with tens of thousands of variants.

export interface WindowInput {
  /** How far the list is scrolled, in pixels. */
  scrollTop: number;
  /** Height of the visible part of the list, in pixels. */
  viewportHeight: number;
  /** Every row's height, in pixels. */
  rowHeight: number;
  /** Extra rows to render above and below the visible ones. */
  overscan: number;
  /** How many rows there are. */
  total: number;
}

export interface RowWindow {
  /** First row to render. */
  start: number;
  /** One past the last row to render. */
  end: number;
  /** Where the first rendered row sits, in pixels from the top of the list. */
  offsetY: number;
}

export function rowWindow({
  scrollTop,
  viewportHeight,
  rowHeight,
  overscan,
  total,
}: WindowInput): RowWindow {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0, offsetY: 0 };
  const top = Math.max(0, scrollTop);
  const pad = Math.max(0, Math.floor(overscan));
  // A row partly visible at either edge counts as visible.
  const firstVisible = Math.min(total - 1, Math.floor(top / rowHeight));
  const endVisible = Math.min(total, Math.ceil((top + Math.max(0, viewportHeight)) / rowHeight));
  const start = Math.max(0, firstVisible - pad);
  const end = Math.min(total, Math.max(endVisible, firstVisible + 1) + pad);
  return { start, end, offsetY: start * rowHeight };
}
