import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy on loopback that can black-hole its target: while paused it accepts
 * connections and never answers, which is how a slow or unreachable S3 endpoint looks.
 */
export interface PausableProxy {
  port: number;
  /** Connections that came while paused and got no answer: clients that found S3 unreachable. */
  readonly blackholed: number;
  pause(): void;
  /** Drops the connections held while paused (their clients see a reset) and forwards again. */
  resume(): void;
  close(): Promise<void>;
}

export async function startPausableProxy(targetPort: number): Promise<PausableProxy> {
  let paused = false;
  let blackholed = 0;
  const held = new Set<Socket>();
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (paused) {
      blackholed++;
      held.add(client);
      return;
    }
    const upstream = new Socket();
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.connect(targetPort, '127.0.0.1', () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    get blackholed() {
      return blackholed;
    },
    pause() {
      paused = true;
      // Connections kept alive from before the pause go silent too.
      for (const socket of open) socket.destroy();
    },
    resume() {
      paused = false;
      for (const socket of held) socket.destroy();
      held.clear();
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of open) socket.destroy();
        server.close(() => done());
      }),
  };
}
