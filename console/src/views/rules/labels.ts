// How the 小区管理办法 page colours a version's status (the words are the API's labels).
export const STATUS_TAGS: Record<string, 'info' | 'warning' | 'success' | 'danger'> = {
  draft: 'info',
  published: 'warning',
  adopted: 'success',
  rejected: 'danger',
  withdrawn: 'info',
}

/** A share (0–1) as a percentage with one decimal, or a dash. */
export function percent(value: number | null | undefined): string {
  return typeof value === 'number' ? `${(value * 100).toFixed(1)}%` : '—'
}
