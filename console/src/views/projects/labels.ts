// The Chinese names of the project codes the forms offer (api/core/labels.py). Replies carry
// their own `*_label`; these are only for the choices a form shows before anything is sent.
import type { components } from '@/api/schema'

type Project = components['schemas']['Project']
type PlanItemArgs = components['schemas']['PlanItemArgs']
type FundingArgs = components['schemas']['FundingArgs']

export type Status = NonNullable<Project['status']>
export type Category = NonNullable<Project['category']>
export type ItemCategory = PlanItemArgs['category']
export type FundingSource = FundingArgs['source']

/** The lifecycle in its order: a project moves only to the next (409 `invalid_transition`). */
export const STATUSES: { value: Status; label: string }[] = [
  { value: 'reserve', label: '项目储备' },
  { value: 'annual_plan', label: '列入年度计划' },
  { value: 'consulting', label: '征求居民意见' },
  { value: 'approved', label: '已审批' },
  { value: 'construction', label: '施工中' },
  { value: 'completed', label: '已完工' },
  { value: 'accepted', label: '已竣工验收' },
]

export const CATEGORIES: { value: Category; label: string }[] = [
  { value: 'basic', label: '基础类' },
  { value: 'improvement', label: '完善类' },
  { value: 'enhancement', label: '提升类' },
]

export const FUNDING_SOURCES: { value: FundingSource; label: string }[] = [
  { value: 'government', label: '政府补助' },
  { value: 'residents', label: '居民出资' },
  { value: 'maintenance_fund', label: '专项维修资金' },
  { value: 'housing_provident_fund', label: '住房公积金' },
  { value: 'social_capital', label: '社会资本' },
  { value: 'utility_company', label: '管线单位出资' },
]

export const ITEM_CATEGORIES: { value: ItemCategory; label: string }[] = [
  { value: 'rain_sewage_separation', label: '雨污分流' },
  { value: 'utility_lines', label: '水电气讯管线改造' },
  { value: 'lighting', label: '照明设施' },
  { value: 'fitness', label: '健身设施' },
  { value: 'security_cameras', label: '安防监控' },
  { value: 'waste_sorting', label: '垃圾分类设施' },
  { value: 'leisure_space', label: '休闲活动空间' },
  { value: 'elderly_care', label: '养老服务设施' },
  { value: 'barrier_free', label: '无障碍设施' },
  { value: 'parking', label: '停车设施' },
  { value: 'ev_charging', label: '电动车充电设施' },
  { value: 'greening', label: '绿化' },
  { value: 'roof_facade', label: '屋面及外立面' },
  { value: 'elevator', label: '加装电梯' },
  { value: 'other', label: '其他' },
]

export function statusLabel(status: string | undefined): string {
  return STATUSES.find((s) => s.value === status)?.label ?? status ?? ''
}

export function itemCategoryLabel(category: string | undefined): string {
  return ITEM_CATEGORIES.find((c) => c.value === category)?.label ?? category ?? ''
}

/** The status after `status`, or null at the end of the lifecycle. */
export function nextStatus(status: string | undefined): Status | null {
  const at = STATUSES.findIndex((s) => s.value === status)
  return at >= 0 && at + 1 < STATUSES.length ? STATUSES[at + 1]!.value : null
}

const yuan = new Intl.NumberFormat('zh-CN', {
  style: 'currency',
  currency: 'CNY',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
})

/** An amount in yuan as people read it: ¥12,345.00. */
export function money(value: number | null | undefined): string {
  return value == null ? '—' : yuan.format(value)
}
