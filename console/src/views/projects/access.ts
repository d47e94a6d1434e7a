// Who may change a project (the API's `manages_project`): its owner (an `owner` grant scoped to
// the project), its county's officers, the prefecture. Others who see it (the committee of its
// communities) only read: the console does not offer them what the API would refuse (403).
import type { Me } from '@/api/client'

export function managesProject(
  me: Me | null,
  project: { id?: number; county_id?: number } | null,
): boolean {
  if (!me || !project) return false
  return (me.roles ?? []).some(
    (grant) =>
      grant.role === 'prefecture' ||
      (grant.role === 'county' && grant.scope_id != null && grant.scope_id === project.county_id) ||
      (grant.role === 'owner' && grant.scope_id != null && grant.scope_id === project.id),
  )
}
