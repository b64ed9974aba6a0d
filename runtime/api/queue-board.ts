import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { Redis } from 'ioredis';
import { type RedisConfig, redisOptions } from '../queue/redis-options';
import { RUN_QUEUE_NAME } from '../queue/run-queue';

export const QUEUE_BOARD_PATH = '/admin/queues';

export interface QueueBoardOptions {
  redis: RedisConfig;
  prefix: string;
  user: string;
  password: string;
}

/**
 * Bull Board for the run queue behind basic auth. It keeps its own Queue handle so the
 * request path's queue stays a narrow port.
 */
export function createQueueBoard(options: QueueBoardOptions) {
  const connection = new Redis(redisOptions(options.redis, 'request'));
  connection.on('error', () => undefined);
  const queue = new Queue(RUN_QUEUE_NAME, { connection, prefix: options.prefix });
  queue.on('error', () => undefined);
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter });

  const app = new Hono();
  app.use(
    `${QUEUE_BOARD_PATH}/*`,
    basicAuth({ username: options.user, password: options.password }),
  );
  app.use(QUEUE_BOARD_PATH, basicAuth({ username: options.user, password: options.password }));
  app.route(QUEUE_BOARD_PATH, serverAdapter.registerPlugin());
  return {
    app,
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
