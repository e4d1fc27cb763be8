/**
 * Counts the onnxruntime sessions alive in this page: each build of ORT the page imports is wrapped once,
 * so every `InferenceSession.create` adds one and its `release` takes it away again. The panel reports
 * the count with each result, so a test can see that cancelled or superseded inspections left none behind.
 */
import type { OrtModule } from '../../kernels/runtime/decoderInspector.js';

let live = 0;

export function liveSessions(): number {
  return live;
}

/** `ort` with sessions counted; everything else of it is the module's own. */
export function countingSessions<M extends OrtModule>(ort: M): M {
  const { InferenceSession } = ort;
  const create = (async (...args: Parameters<typeof InferenceSession.create>) => {
    const session = await InferenceSession.create(...args);
    live++;
    const release = session.release.bind(session);
    let released = false;
    session.release = async () => {
      if (!released) live--;
      released = true;
      return release();
    };
    return session;
  }) as typeof InferenceSession.create;
  return { ...ort, InferenceSession: Object.assign(Object.create(InferenceSession) as typeof InferenceSession, { create }) };
}
