/**
 * Gated and private repositories: the access token the user keeps in VS Code's SecretStorage, sent only to
 * the configured mirror, and what a 401 or 403 tells the user to do. No `vscode` here but the token's key.
 */
import { DownloadError, type HubAuthorization } from './downloader.js';

/** The SecretStorage key of the Hugging Face access token. */
export const HUB_TOKEN_SECRET = 'attentionInspector.hubToken';

/** Command titles, as the user finds them in the palette (package.json has the same). */
export const SET_TOKEN_COMMAND = 'Attention Inspector: Set Hugging Face Access Token…';

/** The authorization for a mirror: the token goes to the mirror's origin and nowhere else. */
export function mirrorAuthorization(mirror: string, token: string | undefined): HubAuthorization | undefined {
  return token ? { token, origin: new URL(mirror).origin } : undefined;
}

/** A refused download of a gated or private repository, with what to do about it. */
export class HubAccessError extends Error {
  constructor(readonly status: 401 | 403, message: string) {
    super(message);
    this.name = 'HubAccessError';
  }
}

/** Turns a 401/403 from the mirror into a HubAccessError saying what to do; any other error is returned as it is. */
export function explainAccess(e: unknown, repo: string, mirror: string, gated: boolean, hadToken: boolean): unknown {
  if (!(e instanceof DownloadError) || (e.kind !== 'unauthorized' && e.kind !== 'forbidden')) return e;
  const page = `${mirror.replace(/\/+$/, '')}/${repo}`;
  const what = gated ? `${repo} is a gated repository` : `${repo} is gated or private`;
  if (!hadToken) {
    return new HubAccessError(e.kind === 'unauthorized' ? 401 : 403,
      `${what} and needs a Hugging Face access token: accept its licence at ${page} while signed in, create a read token in your account settings, and run "${SET_TOKEN_COMMAND}".`);
  }
  return new HubAccessError(e.kind === 'unauthorized' ? 401 : 403, e.kind === 'unauthorized'
    ? `The access token was not accepted for ${repo} (401): it may be mistyped, expired or revoked. Run "${SET_TOKEN_COMMAND}" with a valid read token.`
    : `The access token has no access to ${repo} (403): accept the licence at ${page} with the account the token belongs to (gated access may also await approval), or set another token with "${SET_TOKEN_COMMAND}".`);
}
