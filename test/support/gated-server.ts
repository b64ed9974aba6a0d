import { createServer, type ServerResponse } from 'node:http';

/**
 * An HTTP server on loopback that holds every request open until the test opens the gate:
 * an `http` step that keeps its run busy, with no CPU spent, for exactly as long as a test
 * needs. `requests` counts the calls, so a run that executed twice shows as two.
 */
export async function startGatedServer(): Promise<{
  url: string;
  requests(): number;
  /** Answers the held requests, and every later one at once. */
  open(): void;
  close(): Promise<void>;
}> {
  const held = new Set<ServerResponse>();
  let requests = 0;
  let opened = false;
  const answer = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      if (opened) answer(res);
      else held.add(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests: () => requests,
    open() {
      opened = true;
      for (const res of held) answer(res);
      held.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
