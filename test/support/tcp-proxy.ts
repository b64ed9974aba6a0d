import { connect, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server, for the moments between a reconnect and the
 * server's answer that a live server passes too quickly to test.
 */
export interface TcpProxy {
  port: number;
  /** Cuts every open connection, as a server restart does. */
  cut(): void;
  /**
   * From now on, once a client sends bytes containing `marker` (case-insensitive), that
   * connection's answers stop reaching it; resolves when that first happens.
   */
  withholdAnswersAfter(marker: string): Promise<void>;
  /** While on, cuts every open connection and every new one at once, as a server that is down. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let withhold: { marker: string; seen: () => void } | undefined;
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const rule = withhold;
    let answering = true;
    client.on('data', (chunk: Buffer) => {
      if (rule !== undefined && chunk.toString('latin1').toLowerCase().includes(rule.marker)) {
        answering = false;
        rule.seen();
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (answering) client.write(chunk);
    });
    for (const [one, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(one);
      one.on('error', () => undefined);
      one.on('close', () => {
        sockets.delete(one);
        other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    refuse(on) {
      refusing = on;
      if (on) for (const socket of sockets) socket.destroy();
    },
    withholdAnswersAfter(marker) {
      return new Promise((seen) => {
        withhold = { marker: marker.toLowerCase(), seen };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
