// The signed-in staff member, and nothing else. The token lives in sessionStorage: it survives
// a reload of the tab, and closing the tab signs out.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { api, bindSession, errorMessage, type Me, type Role } from '@/api/client'

const TOKEN_KEY = 'console.token'

export const useSessionStore = defineStore('session', () => {
  const token = ref<string | null>(sessionStorage.getItem(TOKEN_KEY))
  const me = ref<Me | null>(null)
  /** Why the sign-in page is shown again (an expired token), shown there once. */
  const notice = ref<string | null>(null)

  const roles = computed<Set<Role>>(
    () => new Set((me.value?.roles ?? []).flatMap((grant) => (grant.role ? [grant.role] : []))),
  )
  const signedIn = computed(() => token.value !== null && me.value !== null)

  function forget(): void {
    token.value = null
    me.value = null
    sessionStorage.removeItem(TOKEN_KEY)
  }

  /** Sign in; resolves to null, or rejects with the API's Chinese message. */
  async function signIn(username: string, password: string): Promise<void> {
    const { data, error, response } = await api.POST('/api/v1/auth/staff-login', {
      body: { username, password },
    })
    if (error || !data?.token) {
      const message = errorMessage(error)
      const retry = response.headers.get('Retry-After')
      throw new SignInError(message, retry ? Number(retry) : null)
    }
    token.value = data.token
    sessionStorage.setItem(TOKEN_KEY, data.token)
    notice.value = null
    await loadMe()
  }

  /** Read /me for the grants; a token that is not a staff member's is dropped. */
  async function loadMe(): Promise<void> {
    const { data, error } = await api.GET('/api/v1/me')
    if (error || !data) {
      if (token.value) forget()
      throw new Error(errorMessage(error))
    }
    if (data.kind !== 'staff') {
      forget()
      throw new Error('请使用工作人员账号登录')
    }
    me.value = data
  }

  function signOut(): void {
    forget()
    notice.value = null
  }

  /** The API refused the token (401): forget it and say why on the sign-in page. */
  function expire(message: string): void {
    forget()
    notice.value = message
  }

  bindSession({ token: () => token.value, expired: expire })

  return { token, me, notice, roles, signedIn, signIn, loadMe, signOut, expire }
})

export class SignInError extends Error {
  /** Seconds until another try is allowed (429's Retry-After), when the API says. */
  readonly retryAfter: number | null

  constructor(message: string, retryAfter: number | null) {
    super(message)
    this.retryAfter = retryAfter
  }
}
