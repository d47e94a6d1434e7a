// The replies the 居民出资 page reads, taken from the generated API types by path (so they follow
// the OpenAPI document whatever its schemas are named).
import type { paths } from '@/api/schema'

type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never
type Ok<P extends keyof paths, M extends 'get' | 'post' | 'put' | 'patch'> = paths[P][M] extends {
  responses: infer R
}
  ? R extends { 200: infer A }
    ? Json<A>
    : R extends { 201: infer B }
      ? Json<B>
      : never
  : never
type Body<P extends keyof paths, M extends 'post' | 'put' | 'patch'> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer J } }
}
  ? J
  : never
type Item<T> = T extends { items?: (infer I)[] } ? I : T extends (infer I)[] ? I : never

export type Scheme = Ok<'/api/v1/contribution-schemes/{scheme_id}', 'get'>
export type SchemeListed = Item<Ok<'/api/v1/projects/{project_id}/contribution-schemes', 'get'>>
export type SchemeArgs = Body<'/api/v1/projects/{project_id}/contribution-schemes', 'post'>
export type SchemePatch = Body<'/api/v1/contribution-schemes/{scheme_id}', 'patch'>
export type HouseholdRow = Item<Ok<'/api/v1/contribution-schemes/{scheme_id}/households', 'get'>>
export type HouseholdQuery = NonNullable<
  paths['/api/v1/contribution-schemes/{scheme_id}/households']['get']['parameters']['query']
>
export type Figures = Ok<'/api/v1/contribution-schemes/{scheme_id}/figures', 'get'>
export type Publicity = Ok<'/api/v1/contribution-schemes/{scheme_id}/publicity', 'get'>
export type Entry = Item<Ok<'/api/v1/contribution-schemes/{scheme_id}/entries', 'get'>>
export type EntryArgs = Body<'/api/v1/contribution-schemes/{scheme_id}/entries', 'post'>
export type Expense = Item<Ok<'/api/v1/projects/{project_id}/expenses', 'get'>>
export type ExpenseArgs = Body<'/api/v1/projects/{project_id}/expenses', 'post'>
export type Spending = Ok<'/api/v1/projects/{project_id}/spending', 'get'>
