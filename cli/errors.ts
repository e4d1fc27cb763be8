/** A problem with what the user gave the command line: printed as one `error:` line, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
