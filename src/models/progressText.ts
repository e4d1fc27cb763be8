/** Words for a running download: "model.safetensors · 120.3 MB of 548.1 MB · 12.1 MB/s · 35 s left". */
import { formatBytes, type DownloadProgress } from './downloader.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function describeProgress(file: string, p: DownloadProgress): string {
  const parts = [file, p.total !== undefined ? `${formatBytes(p.received)} of ${formatBytes(p.total)}` : formatBytes(p.received)];
  if (p.bytesPerSecond > 0) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.etaSeconds !== undefined && p.etaSeconds > 0) parts.push(`${formatDuration(p.etaSeconds)} left`);
  return parts.join(' · ');
}
