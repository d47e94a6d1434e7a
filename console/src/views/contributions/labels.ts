// The Chinese names of the codes the 居民出资 forms offer before anything is sent (the API's
// labels, api/core/labels.py). Replies carry their own `*_label`, which the page shows.

export const BASES = [
  { value: 'floor_area', label: '按建筑面积', unit: '元/平方米' },
  { value: 'household', label: '按户', unit: '元/户' },
] as const

export type Basis = (typeof BASES)[number]['value']

/** The art. 278 matters a scheme may be decided under, with the rule each implies (3/4 for
 * raising funds, rebuilding and changing the use of common parts; more than half otherwise). */
export const MATTERS = [
  { value: 'raise_maintenance_fund', label: '筹集建筑物及其附属设施的维修资金', rule: '四分之三以上同意' },
  { value: 'rebuild', label: '改建、重建建筑物及其附属设施', rule: '四分之三以上同意' },
  {
    value: 'change_common_use',
    label: '改变共有部分的用途或者利用共有部分从事经营活动',
    rule: '四分之三以上同意',
  },
  { value: 'other_major', label: '有关共有和共同管理权利的其他重大事项', rule: '过半数同意' },
] as const

export type Matter = (typeof MATTERS)[number]['value']

export const CHANNELS = [
  { value: 'cash', label: '现金' },
  { value: 'bank_transfer', label: '银行转账' },
  { value: 'other', label: '其他' },
] as const

export type Channel = (typeof CHANNELS)[number]['value']

export const ENTRY_KINDS = {
  payment: '登记缴款',
  correction: '更正',
  refund: '退款',
} as const

export type EntryKind = keyof typeof ENTRY_KINDS

export const STATUS_TAGS: Record<string, 'info' | 'success' | 'danger'> = {
  draft: 'info',
  adopted: 'success',
  cancelled: 'danger',
}

/** A date as people read it (2026/12/31), or a dash. */
export function day(value: unknown): string {
  if (typeof value !== 'string' || !value) return '—'
  const [y, m, d] = value.slice(0, 10).split('-')
  return y && m && d ? `${y}/${Number(m)}/${Number(d)}` : value
}

/** Today in the browser's time zone, as the API's dates are written (YYYY-MM-DD). */
export function today(): string {
  return new Date().toLocaleDateString('sv-SE')
}
