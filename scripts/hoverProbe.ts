/**
 * The extension host's latency as a user meets it: mouse moved onto an inspected token → our hover shown.
 * The editor asks the extension host for hovers, where our provider answers, so a host busy with a
 * huge selection shows as slow rounds. The path also holds the workbench renderer and code-server's
 * relay, and the editor's hover delay (the benchmark sets it), which idle rounds show as a floor.
 */
import type { Locator, Page } from 'playwright-core';

export interface HoverRound {
  /** Date.now() when the mouse moved onto the token, and when the hover was seen. */
  startMs: number;
  endMs: number;
}

export class HoverProbe {
  private readonly shown: Locator;

  /** `token`: page coordinates of an inspected token; `away`: a point of the editor with no text, where no hover shows. */
  constructor(
    private readonly page: Page,
    private readonly token: { x: number; y: number },
    private readonly away: { x: number; y: number },
  ) {
    this.shown = page.locator('.monaco-editor .monaco-hover:visible');
  }

  async round(): Promise<HoverRound> {
    await this.page.mouse.move(this.away.x, this.away.y);
    await this.shown.first().waitFor({ state: 'hidden' });
    const startMs = Date.now();
    await this.page.mouse.move(this.token.x, this.token.y);
    await this.shown.filter({ hasText: 'Attention Inspector' }).first().waitFor();
    return { startMs, endMs: Date.now() };
  }

  /** Rounds back to back until `done` settles; the round in flight then is finished and kept. */
  async until(done: Promise<unknown>): Promise<HoverRound[]> {
    let settled = false;
    done.then(
      () => (settled = true),
      () => (settled = true),
    );
    const rounds: HoverRound[] = [];
    while (!settled) rounds.push(await this.round());
    return rounds;
  }
}
