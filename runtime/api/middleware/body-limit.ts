import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors';

/** 413 as soon as the declared or streamed size passes `maxBytes`; the rest is not read. */
export const bodyLimit = ({ maxBytes }: { maxBytes: number }) =>
  honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `body is larger than ${maxBytes} bytes`);
    },
  });
