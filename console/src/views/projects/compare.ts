// Two plan versions side by side: which items were added, removed or changed, and by how much
// the costs differ. An item is the same item in both versions when its category and
// description are the same; what is left is paired by category in order (a changed
// description); the rest was added or removed.
import type { components } from '@/api/schema'

export type PlanItem = components['schemas']['PlanItem']
export type Plan = components['schemas']['Plan']

export type Change = 'same' | 'changed' | 'added' | 'removed'

export interface ComparedItem {
  change: Change
  category: string
  categoryLabel: string
  before: PlanItem | null
  after: PlanItem | null
  /** after − before, in yuan (an added item's whole cost, a removed item's negative). */
  difference: number
}

export interface Comparison {
  rows: ComparedItem[]
  totalBefore: number
  totalAfter: number
  counts: Record<Change, number>
}

function cost(item: PlanItem | null): number {
  return item?.estimated_cost ?? 0
}

function row(before: PlanItem | null, after: PlanItem | null): ComparedItem {
  const either = (after ?? before)!
  let change: Change = 'same'
  if (!before) change = 'added'
  else if (!after) change = 'removed'
  else if (before.description !== after.description || cost(before) !== cost(after))
    change = 'changed'
  return {
    change,
    category: either.category ?? '',
    categoryLabel: either.category_label ?? either.category ?? '',
    before,
    after,
    difference: Math.round((cost(after) - cost(before)) * 100) / 100,
  }
}

export function comparePlans(older: Plan, newer: Plan): Comparison {
  const before = [...(older.items ?? [])]
  const after = [...(newer.items ?? [])]
  const pairs = new Map<PlanItem, PlanItem>() // after -> before
  const key = (i: PlanItem) => `${i.category}\u0000${(i.description ?? '').trim()}`
  for (const item of after) {
    const at = before.findIndex((b) => key(b) === key(item))
    if (at >= 0) pairs.set(item, before.splice(at, 1)[0]!)
  }
  for (const item of after) {
    if (pairs.has(item)) continue
    const at = before.findIndex((b) => b.category === item.category)
    if (at >= 0) pairs.set(item, before.splice(at, 1)[0]!)
  }
  const rows = after.map((item) => row(pairs.get(item) ?? null, item))
  rows.push(...before.map((item) => row(item, null)))
  const counts: Record<Change, number> = { same: 0, changed: 0, added: 0, removed: 0 }
  for (const r of rows) counts[r.change] += 1
  return {
    rows,
    totalBefore: older.total_cost ?? 0,
    totalAfter: newer.total_cost ?? 0,
    counts,
  }
}
