// How the consultations page writes times, rates and the API's binary exports.
import { api, errorMessage } from '@/api/client'

export function when(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString('zh-CN', { hour12: false }) : '—'
}

/** A rate of 0–1 as a percentage with one decimal; a dash when the API gives none. */
export function percent(value: number | null | undefined): string {
  return typeof value === 'number' ? `${(value * 100).toFixed(1)}%` : '—'
}

export type ExportKind = 'turnout.xlsx' | 'result.xlsx' | 'publicity.pdf'

const EXPORT_NAMES: Record<ExportKind, string> = {
  'turnout.xlsx': '投票名单.xlsx',
  'result.xlsx': '计票结果.xlsx',
  'publicity.pdf': '结果公示.pdf',
}

/** Fetch an export with the staff token (a plain link would carry none) and save it; resolves
 * to null, or to the API's Chinese refusal. */
export async function download(
  consultationId: number,
  kind: ExportKind,
  title: string,
): Promise<string | null> {
  const path = { params: { path: { consultation_id: consultationId } }, parseAs: 'blob' as const }
  const reply =
    kind === 'turnout.xlsx'
      ? await api.GET('/api/v1/consultations/{consultation_id}/turnout.xlsx', path)
      : kind === 'result.xlsx'
        ? await api.GET('/api/v1/consultations/{consultation_id}/result.xlsx', path)
        : await api.GET('/api/v1/consultations/{consultation_id}/publicity.pdf', path)
  // openapi-fetch reads an error reply as JSON whatever `parseAs` says.
  if (reply.error || !reply.data) return errorMessage(reply.error)
  const url = URL.createObjectURL(reply.data as Blob)
  const link = document.createElement('a')
  link.href = url
  link.download = `${title}-${EXPORT_NAMES[kind]}`
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return null
}

