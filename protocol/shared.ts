/** What both views' pages send their hosts: log lines, and files to save through VS Code's save dialog. */
import type { Call } from './messenger.js';
import { object, oneOf, optional, string, type Checker } from './validate.js';

export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A line for the host's output channel. */
export interface LogLine {
  level: LogLevel;
  message: string;
}

/** A file the page made (an export), for the host to write where the user chooses. */
export interface SaveFile {
  fileName: string;
  mime: string;
  base64: string;
}

/** Where the file went, or why it did not (`cancelled`: the user closed the dialog). */
export interface SaveOutcome {
  path?: string;
  error?: string;
}

export type SaveCall = Call<SaveFile, SaveOutcome>;

export const logLine: Checker<LogLine> = object<LogLine>({ level: oneOf(...LOG_LEVELS), message: string });

export const saveCall = {
  params: object<SaveFile>({ fileName: string, mime: string, base64: string }),
  response: object<SaveOutcome>({ path: optional(string), error: optional(string) }),
};
