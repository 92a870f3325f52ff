import { useEffect, useLayoutEffect, useRef, type ReactNode, type RefObject } from 'react';
import { useVirtualizer, useWindowVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import type { MailRow } from '@sealmail/ui';
import { PHONE, useMedia } from '../layout';

/** What the mailbox asks of the list: bring a row into view and focus it (it may not be rendered). */
export interface MessageListHandle {
  focusRow(entryId: string): void;
}

/** Rows above and below the visible ones that are rendered too (smooth keyboard and wheel scrolling). */
const OVERSCAN = 8;
/** How close to the last loaded row scrolling asks for the next page. */
const LOAD_AHEAD = 15;
const ESTIMATE = 76;
/** The phone layout's sticky top bar, kept clear when a row is scrolled in. */
const PHONE_TOP_BAR = 64;

interface ListProps {
  rows: MailRow[];
  /** The scrolling box the list sits in (the list pane). */
  scroller: RefObject<HTMLElement | null>;
  handle: RefObject<MessageListHandle | null>;
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
  renderRow: (r: MailRow) => ReactNode;
}

/**
 * The message list, virtualised (@tanstack/react-virtual): only the rows in view (plus a few)
 * are in the page, so a folder of 100,000 messages scrolls as smoothly as one of 50, whatever
 * was loaded. Rows are measured as they render (snippets, label chips and delegation lines make
 * them differ). Scrolling near the end loads the next page. Keyboard: the mailbox's j/k and
 * focus-return go through {@link MessageListHandle.focusRow}, which scrolls the row in first.
 * At phone width the page itself scrolls (one pane at a time), so the list follows the window there.
 */
export function MessageList(props: ListProps) {
  // At phone width the page is the scrolling box: a window virtualiser, so that there too only
  // the rows in view are in the page. (Remounted when the layout changes.)
  return useMedia(PHONE) ? <WindowList key="window" {...props} /> : <PaneList key="pane" {...props} />;
}

function PaneList(props: ListProps) {
  const { rows, scroller } = props;
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
  return <Rows {...props} v={v} list={list} />;
}

function WindowList(props: ListProps) {
  const { rows } = props;
  const list = useRef<HTMLUListElement>(null);
  const margin = useRef(0);
  // Where the list starts in the page.
  useLayoutEffect(() => {
    const l = list.current;
    if (l) margin.current = l.getBoundingClientRect().top + window.scrollY;
  });
  const v = useWindowVirtualizer({
    count: rows.length,
    estimateSize: () => ESTIMATE,
    overscan: OVERSCAN,
    scrollMargin: margin.current,
    scrollPaddingStart: PHONE_TOP_BAR,
    getItemKey: (i) => rows[i]?.entryId ?? i,
  });
  return <Rows {...props} v={v} list={list} />;
}

function Rows({ rows, handle, hasMore, loading, onMore, renderRow, v, list }: ListProps & { v: Virtualizer<HTMLElement, Element> | Virtualizer<Window, Element>; list: RefObject<HTMLUListElement | null> }) {
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
