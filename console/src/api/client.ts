// The one client of the API: openapi-fetch over the types generated from /api/openapi.json
// (schema.d.ts, `npm run gen:api`). Views call `api.GET('/api/v1/…')`, never fetch().
import createClient, { type Middleware } from 'openapi-fetch'

import type { components, paths } from './schema'

export type ErrorReply = components['schemas']['Error']
export type Me = components['schemas']['Me']
export type Grant = components['schemas']['Grant']
export type Role = NonNullable<Grant['role']>

/** What the session gives the client: the token to send, and what to do when it stops working. */
interface SessionHooks {
  token: () => string | null
  expired: (message: string) => void
}

let session: SessionHooks = { token: () => null, expired: () => undefined }

/** Called once by the session store, so that the client and the store need not import each other. */
export function bindSession(hooks: SessionHooks): void {
  session = hooks
}

const FALLBACK = '网络异常，请稍后再试'

/** The API's Chinese message from an error reply (`{"error": {"code", "message"}}`), as it came. */
export function errorMessage(error: unknown): string {
  const body = (error as Partial<ErrorReply> | undefined)?.error
  return typeof body?.message === 'string' && body.message ? body.message : FALLBACK
}

/** The English code of an error reply, for the few places that act on it. */
export function errorCode(error: unknown): string | undefined {
  return (error as Partial<ErrorReply> | undefined)?.error?.code
}

const bearer: Middleware = {
  onRequest({ request }) {
    const token = session.token()
    if (token) request.headers.set('Authorization', `Bearer ${token}`)
    return request
  },
  async onResponse({ request, response }) {
    // Only a request that carried a token means "your session ended"; a 401 from the sign-in
    // itself is a wrong password, which the sign-in page shows.
    if (response.status === 401 && request.headers.has('Authorization')) {
      let message = '登录已过期，请重新登录'
      try {
        message = errorMessage(await response.clone().json())
      } catch {
        // not JSON: keep the general message
      }
      session.expired(message)
    }
    return response
  },
}

export const api = createClient<paths>({ baseUrl: '' })
api.use(bearer)
