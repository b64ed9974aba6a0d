import type { SecretListing } from '../../secrets/secret-store';
import { formatTime } from './status-badge';

/**
 * The project's secrets by name: set one, rotate or delete it. Values go from the form to the
 * API and are never sent back; the page has nothing to show but names and times.
 */
export function SecretsPage({ secrets }: { secrets: SecretListing[] }) {
  return (
    <>
      <h1>Secrets</h1>
      <p class="muted">
        Flows use a secret as <code>{'{{secrets.NAME}}'}</code> in http steps, or as{' '}
        <code>secrets.NAME</code> in a code step. Values are encrypted at rest and redacted from run
        records and logs; nobody can read one back here.
      </p>
      <form data-secret="POST /v1/secrets" aria-labelledby="set-secret">
        <h2 id="set-secret">Set a secret</h2>
        <label>
          Name{' '}
          <input name="name" required pattern="[A-Za-z_][A-Za-z0-9_]{0,63}" autocomplete="off" />
        </label>{' '}
        <label>
          Value <input name="value" type="password" required autocomplete="off" />
        </label>{' '}
        <button type="submit" class="primary">
          Save
        </button>
      </form>
      {secrets.length === 0 ? (
        <p class="empty">No secrets yet: set one above, then name it in a flow.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Last set</th>
                <th scope="col">Rotate</th>
                <th scope="col">Delete</th>
              </tr>
            </thead>
            <tbody>
              {secrets.map((secret) => {
                const path = `/v1/secrets/${encodeURIComponent(secret.name)}`;
                return (
                  <tr>
                    <td>
                      <code>{secret.name}</code>
                    </td>
                    <td>{formatTime(secret.createdAt)}</td>
                    <td>{formatTime(secret.updatedAt)}</td>
                    <td>
                      <form data-secret={`PUT ${path}`}>
                        <input
                          name="value"
                          type="password"
                          required
                          autocomplete="off"
                          aria-label={`New value for ${secret.name}`}
                        />{' '}
                        <button type="submit" aria-label={`Rotate ${secret.name}`}>
                          Rotate
                        </button>
                      </form>
                    </td>
                    <td>
                      <button
                        type="button"
                        class="danger"
                        data-api={`DELETE ${path}`}
                        aria-label={`Delete ${secret.name}`}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
