export const StatusBadge = ({ status }: { status: string }) => (
  <span class={`badge ${status}`}>{status.replace('_', ' ')}</span>
);

/** `2.3 s`, `140 ms`: durations a person reads at a glance. */
export function formatDuration(ms: number | null | undefined) {
  if (ms === null || ms === undefined) return '—';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export const formatTime = (date: Date | null) =>
  date === null ? '—' : date.toISOString().replace('T', ' ').slice(0, 19);
