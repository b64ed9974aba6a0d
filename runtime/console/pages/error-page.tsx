import type { ConsoleAssets } from '../assets';
import { Layout } from './layout';

export interface ErrorPageProps {
  assets: ConsoleAssets;
  status: number;
  /** The API error's own message: a 4xx's words, or the fixed text of a 5xx. */
  message: string;
  requestId?: string | undefined;
  /** Present when the reader is signed in: the page keeps its navigation. */
  csrfToken?: string | undefined;
}

const HEADINGS: Record<number, string> = {
  400: 'That request is not valid',
  401: 'Your session has ended',
  403: 'Refused',
  404: 'Not found',
  405: 'Not allowed here',
  413: 'Too large',
  429: 'Too many attempts',
};

const headingOf = (status: number) =>
  HEADINGS[status] ?? (status >= 500 ? 'Something went wrong' : 'That did not work');

/** What a browser sees instead of the API's JSON error when a console page fails. */
export function ErrorPage({ assets, status, message, requestId, csrfToken }: ErrorPageProps) {
  const signedIn = csrfToken !== undefined;
  return (
    <Layout title={headingOf(status)} section="error" assets={assets} csrfToken={csrfToken}>
      <h1>{headingOf(status)}</h1>
      <p class="message error">{message}</p>
      {requestId !== undefined && (
        <p>
          Request id <code>{requestId}</code>: quote it to whoever runs Sluice.
        </p>
      )}
      <p>
        {signedIn ? (
          <a href="/console/flows">Back to the flows</a>
        ) : (
          <a href="/console/sign-in">Sign in</a>
        )}
      </p>
    </Layout>
  );
}
