import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ConsoleContext, type ConsoleRole } from './console';
import { Link, usePath } from './router';
import { sectionsFor } from './sections';

/**
 * The signed-in console: a sidebar of sections (a menu button on narrow screens), the current
 * section by URL, and one alert line that is cleared when another section is opened.
 */
export function Shell({ address, role, onSignOut }: { address: string; role: ConsoleRole; onSignOut: () => void }) {
  const path = usePath();
  const visible = sectionsFor(role);
  // The start page is the first section this role sees (an escrow admin's: Escrow & discovery).
  const current = visible.find((s) => s.path === path) ?? (path === '/' ? (visible[0] ?? null) : null);
  const [menuOpen, setMenuOpen] = useState(false);
  // The alert belongs to the section it was raised in: opening another one hides it.
  const [problem, setProblemState] = useState<{ path: string; message: string } | null>(null);
  const setProblem = useCallback((message: string | null) => setProblemState(message ? { path: window.location.pathname, message } : null), []);
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  const context = useMemo(() => ({ address, role, setProblem }), [address, role, setProblem]);

  useEffect(() => {
    document.title = `${current?.label ?? 'Not found'} · Sealmail admin`;
    setMenuOpen(false);
    // After a navigation (not the first page), keyboard and screen-reader focus goes to the section.
    if (first.current) first.current = false;
    else mainRef.current?.focus();
  }, [current]);

  return (
    <ConsoleContext.Provider value={context}>
      <div className="console">
        <header className="topbar">
          <button type="button" className="menu-button secondary" aria-expanded={menuOpen} aria-controls="console-nav" onClick={() => setMenuOpen((o) => !o)}>
            Menu
          </button>
          <h1>Sealmail admin console</h1>
          <span className="who">{address}</span>
          <button type="button" className="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </header>
        <nav id="console-nav" aria-label="Console sections" className={menuOpen ? 'open' : undefined}>
          <ul>
            {visible.map((s) => (
              <li key={s.id}>
                <Link to={s.path} aria-current={s === current ? 'page' : undefined} onClick={() => setMenuOpen(false)}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main className="admin" ref={mainRef} tabIndex={-1}>
          {current ? (
            current.element
          ) : (
            <section aria-label="Not found">
              <h2>There is no such page</h2>
              <p>
                <Link to="/">Go to the start page</Link>
              </p>
            </section>
          )}
          {problem?.path === path && <p role="alert">{problem.message}</p>}
        </main>
      </div>
    </ConsoleContext.Provider>
  );
}
