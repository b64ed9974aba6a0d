import type { ConsoleAssets } from '../assets';
import { Layout } from './layout';

/** A plain form: the key goes to the server once and comes back as an httpOnly cookie. */
export const SignInPage = ({ assets, error }: { assets: ConsoleAssets; error?: string }) => (
  <Layout title="Sign in" section="sign-in" assets={assets}>
    <h1>Sign in</h1>
    {error !== undefined && <p class="message error">{error}</p>}
    <p>Paste an API key of your project. The browser keeps only a session cookie, never the key.</p>
    <form method="post" action="/console/sign-in">
      <label>
        API key
        <input name="apiKey" type="password" autocomplete="off" required size={48} autofocus />
      </label>
      <div>
        <button type="submit" class="primary">
          Sign in
        </button>
      </div>
    </form>
  </Layout>
);
