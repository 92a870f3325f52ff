/**
 * React's `autoFocus` under preact/compat (the web client's build, tools/vite/front-end.ts): React
 * focuses a newly mounted input, button, select or textarea that has `autoFocus`; Preact only sets
 * the HTML attribute, which a browser honours once per page load. This hook gives Preact React's
 * behaviour, through its public `options.vnode` hook: the element's ref also focuses it the first
 * time it is attached (the element's own ref still gets the node).
 */
import { options, type Ref } from 'preact';

const FOCUSABLE = new Set(['input', 'button', 'select', 'textarea']);
const focused = new WeakSet<Element>();
const previous = options.vnode;

options.vnode = (vnode) => {
  const props = vnode.props as { autoFocus?: unknown };
  if (typeof vnode.type === 'string' && FOCUSABLE.has(vnode.type) && props.autoFocus) {
    const own = vnode.ref as Ref<HTMLElement> | undefined;
    vnode.ref = (node: HTMLElement | null) => {
      if (node && !focused.has(node)) {
        focused.add(node);
        node.focus();
      }
      if (typeof own === 'function') own(node);
      else if (own) own.current = node;
    };
  }
  previous?.(vnode);
};
