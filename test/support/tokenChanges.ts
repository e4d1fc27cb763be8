// The token strip's ablation Δloss as drawn: each coloured token's Δ (from its tooltip) and its colour
// (the --change it is painted with), to check that a loss that rose reads red and one that fell blue.
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';

/** Asserts that over `least` tokens are coloured, those whose loss rose by over 0.05 red-ish, fell blue-ish. */
export async function assertAblationColours(strip: Locator, least: number): Promise<void> {
  const tokens = await strip.locator('.token.changed').evaluateAll((els) => els.map((e) => ({ title: (e as HTMLElement).title, colour: (e as HTMLElement).style.getPropertyValue('--change') })));
  let rose = 0;
  for (const { title, colour } of tokens) {
    const m = /\(Δ ([+−])(\d+\.\d+)\)/.exec(title);
    const rgb = /rgb\((\d+), (\d+), (\d+)\)/.exec(colour);
    assert.ok(m && rgb, `token “${title}” coloured ${colour}`);
    const delta = (m[1] === '−' ? -1 : 1) * Number(m[2]);
    const [r, b] = [Number(rgb[1]), Number(rgb[3])];
    if (delta > 0.05) {
      rose++;
      assert.ok(r > b, `loss rose by ${delta}, yet ${colour}`);
    } else if (delta < -0.05) assert.ok(b > r, `loss fell by ${-delta}, yet ${colour}`);
  }
  assert.ok(tokens.length > least && rose > 0, `${tokens.length} tokens coloured, ${rose} red`);
}
