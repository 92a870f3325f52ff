import { useEffect, useLayoutEffect, useRef, type ReactNode, type RefObject } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { MailRow } from '@sealmail/ui';

/** What the mailbox asks of the list: bring a row into view and focus it (it may not be rendered). */
export interface MessageListHandle {
  focusRow(entryId: string): void;
}

/** Rows above and below the visible ones that are rendered too (smooth keyboard and wheel scrolling). */
const OVERSCAN = 8;
/** How close to the last loaded row scrolling asks for the next page. */
const LOAD_AHEAD = 15;
const ESTIMATE = 76;

/**
 * The message list, virtualised (@tanstack/react-virtual): only the rows in view (plus a few)
 * are in the page, so a folder of 100,000 messages scrolls as smoothly as one of 50, whatever
 * was loaded. Rows are measured as they render (snippets, label chips and delegation lines make
 * them differ). Scrolling near the end loads the next page. Keyboard: the mailbox's j/k and
 * focus-return go through {@link MessageListHandle.focusRow}, which scrolls the row in first.
 */
export function MessageList({
  rows,
  scroller,
  handle,
  hasMore,
  loading,
  onMore,
  renderRow,
}: {
  rows: MailRow[];
  /** The scrolling box the list sits in (the list pane). */
  scroller: RefObject<HTMLElement | null>;
  handle: RefObject<MessageListHandle | null>;
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
  renderRow: (r: MailRow) => ReactNode;
}) {
  const list = useRef<HTMLUListElement>(null);
  const margin = useRef(0);
  // Where the list starts inside the scrolling pane (below the search box, heading and bars).
  useLayoutEffect(() => {
    const l = list.current;
    const pane = scroller.current;
    if (l && pane) margin.current = l.getBoundingClientRect().top - pane.getBoundingClientRect().top + pane.scrollTop;
  });
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ESTIMATE,
    overscan: OVERSCAN,
    scrollMargin: margin.current,
    getItemKey: (i) => rows[i]?.entryId ?? i,
  });
  const items = v.getVirtualItems();
  const last = items[items.length - 1]?.index ?? -1;
  useEffect(() => {
    if (hasMore && !loading && rows.length > 0 && last >= rows.length - LOAD_AHEAD) onMore();
  }, [hasMore, loading, last, rows.length, onMore]);
  handle.current = {
    focusRow(entryId) {
      const i = rows.findIndex((r) => r.entryId === entryId);
      if (i < 0) return;
      const focus = () => document.querySelector<HTMLElement>(`.list .row[data-entry="${CSS.escape(entryId)}"]`);
      const now = focus();
      if (now) {
        now.focus();
        return;
      }
      v.scrollToIndex(i, { align: 'auto' });
      // Rendered on the next frames; focus it once it is in the page.
      let tries = 0;
      const again = () => {
        const el = focus();
        if (el) el.focus();
        else if (tries++ < 10) requestAnimationFrame(again);
      };
      requestAnimationFrame(again);
    },
  };
  const before = items.length ? items[0]!.start - v.options.scrollMargin : 0;
  const after = items.length ? v.getTotalSize() - (items[items.length - 1]!.end - v.options.scrollMargin) : 0;
  return (
    <ul ref={list} className="virtual" data-rows={rows.length} style={{ paddingTop: `${before}px`, paddingBottom: `${Math.max(0, after)}px` }}>
      {items.map((item) => {
        const r = rows[item.index]!;
        return (
          <li key={item.key} className="row-item" data-index={item.index} ref={v.measureElement} aria-setsize={rows.length} aria-posinset={item.index + 1}>
            {renderRow(r)}
          </li>
        );
      })}
    </ul>
  );
}
