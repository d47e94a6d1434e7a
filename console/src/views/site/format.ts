// How the building site's pages write times: local, as the staff member's browser reads them.

/** A moment as people read it (`2026/12/2 09:30:00`), or a dash. */
export function when(value: unknown): string {
  return typeof value === 'string' && value ? new Date(value).toLocaleString('zh-CN') : '—'
}
