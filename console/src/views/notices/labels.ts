// The Chinese names of the notice codes the composer offers (api/core/labels.py). Replies carry
// their own `*_label`; these are only for the choices a form shows before anything is sent.
import type { components } from '@/api/schema'

type NoticeArgs = components['schemas']['NoticeArgs']
type Notice = components['schemas']['Notice']

export type Category = NoticeArgs['category']
export type Status = NonNullable<Notice['status']>
export type TargetKind = 'community' | 'estate' | 'buildings' | 'project'

/** The categories staff write (the others are written by events). */
export const CATEGORIES: { value: Category; label: string }[] = [
  { value: 'general', label: '通知公告' },
  { value: 'construction', label: '施工通知' },
  { value: 'utility_cut', label: '停水停电' },
  { value: 'plan_publicity', label: '方案公示' },
  { value: 'consultation_open', label: '征询开始' },
  { value: 'acceptance_result', label: '验收结果' },
]

export const STATUSES: { value: Status; label: string }[] = [
  { value: 'draft', label: '草稿' },
  { value: 'scheduled', label: '定时发布' },
  { value: 'published', label: '已发布' },
  { value: 'withdrawn', label: '已撤回' },
]

export const STATUS_TAGS: Record<Status, 'info' | 'success' | 'warning' | 'danger'> = {
  draft: 'info',
  scheduled: 'warning',
  published: 'success',
  withdrawn: 'danger',
}

export const TARGET_KINDS: { value: TargetKind; label: string }[] = [
  { value: 'community', label: '社区' },
  { value: 'estate', label: '小区' },
  { value: 'buildings', label: '楼栋' },
  { value: 'project', label: '项目' },
]
