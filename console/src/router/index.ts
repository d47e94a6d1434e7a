import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

import { useSessionStore } from '@/stores/session'

import { AREAS, areasFor } from './areas'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    /** The area's menu entry; absent on pages every signed-in staff member sees. */
    area?: string
    public?: boolean
  }
}

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/views/auth/LoginView.vue'),
    meta: { title: '登录', public: true },
  },
  {
    path: '/',
    component: () => import('@/layout/ConsoleShell.vue'),
    children: [
      { path: '', name: 'home', component: () => import('@/views/home/HomeView.vue') },
      ...AREAS.map(
        (area): RouteRecordRaw => ({
          path: area.path,
          name: area.name,
          component: area.view,
          meta: { title: area.title, area: area.name },
        }),
      ),
      {
        path: ':rest(.*)*',
        name: 'not-found',
        component: () => import('@/views/home/NotFoundView.vue'),
        meta: { title: '页面不存在' },
      },
    ],
  },
]

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
})

router.beforeEach(async (to) => {
  const session = useSessionStore()
  if (to.meta.public) {
    return session.signedIn && to.name === 'login' ? { name: 'home' } : true
  }
  if (!session.token) {
    return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
  }
  if (!session.me) {
    try {
      await session.loadMe()
    } catch (error) {
      if (!session.notice) session.notice = (error as Error).message
      return { name: 'login', query: { redirect: to.fullPath } }
    }
  }
  if (to.name === 'home') {
    const first = areasFor(session.roles)[0]
    return first ? { name: first.name } : true
  }
  if (to.meta.area && !areasFor(session.roles).some((area) => area.name === to.meta.area)) {
    return { name: 'home' }
  }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · 老旧小区改造工作台` : '老旧小区改造工作台'
})
