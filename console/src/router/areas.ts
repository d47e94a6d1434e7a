// The menu areas of the console (issues 13, 14 and 15) and which grants (`/api/v1/me` roles) show them.
// A menu only leads the way: what a staff member may see and do is decided by the API, which
// answers 403/404 to anything outside their grants.
import type { Component } from 'vue'
import {
  Bell,
  ChatDotRound,
  DataAnalysis,
  Document,
  Finished,
  House,
  Money,
  Reading,
  List,
  Tickets,
  Tools,
  User,
} from '@element-plus/icons-vue'

import type { Role } from '@/api/client'

export interface Area {
  name: string
  path: string
  title: string
  icon: Component
  roles: readonly Role[]
  view: () => Promise<Component>
}

export const AREAS: readonly Area[] = [
  {
    name: 'overview',
    path: 'overview',
    title: '概览',
    icon: DataAnalysis,
    roles: ['prefecture', 'county'],
    view: () => import('@/views/overview/OverviewView.vue'),
  },
  {
    name: 'registry',
    path: 'registry',
    title: '住户登记',
    icon: House,
    roles: ['committee'],
    view: () => import('@/views/registry/RegistryView.vue'),
  },
  {
    name: 'projects',
    path: 'projects',
    title: '项目',
    icon: Document,
    roles: ['prefecture', 'county', 'owner', 'committee'],
    view: () => import('@/views/projects/ProjectsView.vue'),
  },
  {
    name: 'consultations',
    path: 'consultations',
    title: '征询',
    icon: Tickets,
    roles: ['prefecture', 'county', 'owner', 'committee'],
    view: () => import('@/views/consultations/ConsultationsView.vue'),
  },
  {
    name: 'site',
    path: 'site',
    title: '工地',
    icon: Tools,
    roles: ['owner', 'committee', 'county', 'prefecture'],
    view: () => import('@/views/site/SiteView.vue'),
  },
  {
    name: 'completion',
    path: 'completion',
    title: '竣工验收',
    icon: Finished,
    roles: ['prefecture', 'county', 'owner', 'committee'],
    view: () => import('@/views/completion/CompletionView.vue'),
  },
  {
    name: 'contributions',
    path: 'contributions',
    title: '居民出资',
    icon: Money,
    roles: ['prefecture', 'county', 'owner', 'committee'],
    view: () => import('@/views/contributions/ContributionsView.vue'),
  },
  {
    name: 'rules',
    path: 'rules',
    title: '小区管理办法',
    icon: Reading,
    roles: ['committee', 'county', 'prefecture'],
    view: () => import('@/views/rules/RulesView.vue'),
  },
  {
    name: 'comments',
    path: 'comments',
    title: '评论管理',
    icon: ChatDotRound,
    roles: ['committee', 'owner', 'county', 'prefecture'],
    view: () => import('@/views/comments/CommentsView.vue'),
  },
  {
    name: 'notices',
    path: 'notices',
    title: '通知公告',
    icon: Bell,
    // notices/policy.py: a project's owner writes to its estates and to the project too
    roles: ['committee', 'owner', 'county', 'prefecture'],
    view: () => import('@/views/notices/NoticesView.vue'),
  },
  {
    name: 'staff',
    path: 'staff',
    title: '账号管理',
    icon: User,
    roles: ['prefecture', 'county', 'committee'],
    view: () => import('@/views/staff/StaffView.vue'),
  },
  {
    name: 'audit',
    path: 'audit',
    title: '操作日志',
    icon: List,
    roles: ['prefecture', 'county', 'committee'],
    view: () => import('@/views/audit/AuditView.vue'),
  },
]

/** The areas a staff member holding `roles` sees, in menu order. */
export function areasFor(roles: ReadonlySet<Role>): Area[] {
  return AREAS.filter((area) => area.roles.some((role) => roles.has(role)))
}
