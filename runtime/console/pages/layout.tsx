import type { Child } from 'hono/jsx';
import type { ConsoleAssets } from '../assets';

export type Section = 'flows' | 'runs' | 'system' | 'secrets' | 'sign-in' | 'error';

export interface LayoutProps {
  title: string;
  section: Section;
  assets: ConsoleAssets;
  /** Absent on the sign-in page: there is no session yet. */
  csrfToken?: string | undefined;
  children?: Child;
}

const NAV: { section: Section; href: string; label: string }[] = [
  { section: 'flows', href: '/console/flows', label: 'Flows' },
  { section: 'runs', href: '/console/runs', label: 'Runs' },
  { section: 'system', href: '/console/system', label: 'System' },
  { section: 'secrets', href: '/console/secrets', label: 'Secrets' },
];

/** The page shell: one hashed stylesheet, one hashed module script, no inline code. */
export function Layout({ title, section, assets, csrfToken, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Sluice`}</title>
        {csrfToken !== undefined && <meta name="csrf-token" content={csrfToken} />}
        <link rel="stylesheet" href={assets.url('console.css')} />
        <script type="module" src={assets.url('console.js')} />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <span class="brand">Sluice</span>
          {csrfToken !== undefined && (
            <nav aria-label="Console">
              {NAV.map((item) => (
                <a href={item.href} aria-current={item.section === section ? 'page' : undefined}>
                  {item.label}
                </a>
              ))}
            </nav>
          )}
          {csrfToken !== undefined && (
            <form method="post" action="/console/sign-out">
              <input type="hidden" name="csrf" value={csrfToken} />
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <main id="main" tabindex={-1}>
          <div id="console-message" role="alert" hidden />
          {children}
        </main>
      </body>
    </html>
  );
}
