// Types of scripts/bootstrap.mjs, which is plain JavaScript because it runs before tsx is installed.
import type { spawnSync } from 'node:child_process';

export const DEBIAN_PACKAGES: { start: string[]; test: string[] };
export class BootstrapError extends Error {}
export function installedDebianPackages(names: string[], query?: typeof spawnSync): Set<string> | null;
export type DebianPlan =
  | { kind: 'unknown' }
  | { kind: 'none' }
  | { kind: 'install' | 'ask'; missing: string[]; command: string };
export function debianPlan(needed: string[], installed: Set<string> | null, isRoot: boolean): DebianPlan;
export function dependencyStamp(root?: string): string;
export function dependenciesCurrent(root?: string): boolean;
