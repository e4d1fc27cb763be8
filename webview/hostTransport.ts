/** The page's end of the channel to its VS Code host: `acquireVsCodeApi().postMessage` out, window `message` events in. */
import type { Transport } from '../protocol/messenger.js';

export interface PostsToHost {
  postMessage(message: unknown): void;
}

export function vsCodeTransport(api: PostsToHost): Transport {
  return {
    post: (m) => api.postMessage(m),
    onMessage: (handler) => {
      const listener = (e: MessageEvent<unknown>) => handler(e.data);
      window.addEventListener('message', listener);
      return () => window.removeEventListener('message', listener);
    },
  };
}
