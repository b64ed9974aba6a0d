// The console's only script: small islands over server-rendered pages. Loaded from a
// content-hashed file, never inline, so the CSP can forbid inline script and eval.

const csrfToken = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
const LIVE_INTERVAL_MS = 2000;

interface ApiFailure {
  code: string;
  message: string;
  details?: { path?: string; message?: string }[];
}

/** One call to the API on the session cookie; the CSRF token proves the page sent it. */
async function callApi(
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'x-csrf-token': csrfToken, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw { code: 'network', message: 'the server could not be reached; check the connection' };
  }
  const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const error = payload.error as ApiFailure | undefined;
    throw (
      error ?? {
        code: `http_${response.status}`,
        message: `the server answered ${response.status}`,
      }
    );
  }
  return payload;
}

function showMessage(text: string, kind: 'error' | 'info' = 'error') {
  const box = document.getElementById('console-message');
  if (box === null) return;
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
}

const describe = (error: unknown) => {
  const failure = error as Partial<ApiFailure>;
  return typeof failure.message === 'string' ? failure.message : 'something went wrong';
};

// Buttons like <button data-api="POST /v1/flows/x/disable" data-then="reload|run">.
document.addEventListener('click', async (event) => {
  const target = event.target as HTMLElement;
  const actionButton = target.closest<HTMLButtonElement>('button[data-api]');
  if (actionButton !== null) {
    const [method = 'POST', path = ''] = (actionButton.dataset.api ?? '').split(' ');
    actionButton.disabled = true;
    try {
      const result = await callApi(method, path);
      if (actionButton.dataset.then === 'run' && typeof result.runId === 'string') {
        location.assign(`/console/runs/${encodeURIComponent(result.runId)}`);
      } else {
        location.reload();
      }
    } catch (error) {
      showMessage(describe(error));
      actionButton.disabled = false;
    }
    return;
  }
  const copyButton = target.closest<HTMLButtonElement>('button[data-copy]');
  if (copyButton !== null) {
    try {
      await navigator.clipboard.writeText(copyButton.dataset.copy ?? '');
      copyButton.textContent = 'Copied';
    } catch {
      showMessage('the browser refused the clipboard; select the URL and copy it');
    }
  }
});

// The new-version editor: sends the edited definition and shows each error at its path.
document.querySelectorAll<HTMLFormElement>('form[data-new-version]').forEach((form) => {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const errors = form.querySelector<HTMLUListElement>('.field-errors');
    if (errors !== null) errors.replaceChildren();
    const text = form.querySelector('textarea')?.value ?? '';
    let definition: unknown;
    try {
      definition = JSON.parse(text);
    } catch (error) {
      showMessage(`the definition is not valid JSON: ${(error as Error).message}`);
      return;
    }
    try {
      await callApi('PUT', form.dataset.newVersion ?? '', definition);
      location.reload();
    } catch (error) {
      const failure = error as Partial<ApiFailure>;
      showMessage(describe(error));
      for (const detail of failure.details ?? []) {
        const item = document.createElement('li');
        item.textContent = `at ${detail.path || '(the definition)'}: ${detail.message ?? ''}`;
        errors?.append(item);
      }
    }
  });
});

// Secret forms: <form data-secret="POST /v1/secrets"> sets one by name and value, and
// <form data-secret="PUT /v1/secrets/NAME"> rotates it; the value leaves only for the API.
document.querySelectorAll<HTMLFormElement>('form[data-secret]').forEach((form) => {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const [method = 'POST', path = ''] = (form.dataset.secret ?? '').split(' ');
    const fields = new FormData(form);
    const value = String(fields.get('value') ?? '');
    const body = method === 'POST' ? { name: String(fields.get('name') ?? ''), value } : { value };
    try {
      await callApi(method, path, body);
      form.reset();
      location.reload();
    } catch (error) {
      showMessage(describe(error));
    }
  });
});

// Live regions: re-fetch the page's live part until the server says it is settled.
for (const region of document.querySelectorAll<HTMLElement>('[data-live="on"]')) {
  const refresh = async () => {
    if (document.visibilityState !== 'visible' || region.dataset.live !== 'on') return;
    try {
      const response = await fetch(location.href, { headers: { 'x-console-part': 'live' } });
      if (response.status === 401) return location.assign('/console/sign-in');
      if (!response.ok) return;
      region.innerHTML = await response.text();
      if (response.headers.get('x-console-live') === 'off') region.dataset.live = 'off';
    } catch {
      // A missed refresh is retried on the next tick.
    }
  };
  const timer = setInterval(() => {
    if (region.dataset.live !== 'on') clearInterval(timer);
    else void refresh();
  }, LIVE_INTERVAL_MS);
}
