// The menu areas of the console (issue 13) and which grants (`/api/v1/me` roles) show them.
// A menu only leads the way: what a staff member may see and do is decided by the API, which
// answers 403/404 to anything outside their grants.
import type { Component } from 'vue'
import { DataAnalysis, Document, House, Tickets } from '@element-plus/icons-vue'

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
]

/** The areas a staff member holding `roles` sees, in menu order. */
export function areasFor(roles: ReadonlySet<Role>): Area[] {
  return AREAS.filter((area) => area.roles.some((role) => roles.has(role)))
}
