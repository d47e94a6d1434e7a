// The places a staff member may write a notice for, named for the composer's pickers and the
// detail's target line: the communities of their grants (a committee's own, a county's, every
// one for the prefecture), the estates of those communities, and the projects in their scope
// with their estates (a project owner's estates are those of its projects). Who may publish
// where is the API's to say (403 out_of_scope, shown as it comes): these are only the lists.
import { ref } from 'vue'

import { api, errorMessage } from '@/api/client'
import { useSessionStore } from '@/stores/session'

export interface Place {
  id: number
  name: string
}
export interface EstateGroup {
  community: string
  estates: Place[]
}
export interface ProjectPlace extends Place {
  estateIds: number[]
}

const PER_PAGE = 100

export function usePlaces() {
  const session = useSessionStore()
  const communities = ref<Place[]>([])
  const estateGroups = ref<EstateGroup[]>([])
  const projects = ref<ProjectPlace[]>([])
  const loading = ref(false)
  const failure = ref<string | null>(null)

  function scopes(role: string): number[] {
    return (session.me?.roles ?? []).flatMap((g) =>
      g.role === role && g.scope_id != null ? [g.scope_id] : [],
    )
  }

  async function loadCommunities(): Promise<Place[]> {
    const queries: { id?: number[]; county_id?: number }[] = []
    if (session.roles.has('prefecture')) queries.push({})
    else {
      for (const county of scopes('county')) queries.push({ county_id: county })
      const own = scopes('committee')
      if (own.length) queries.push({ id: own })
    }
    const found = new Map<number, string>()
    for (const query of queries) {
      const { data, error } = await api.GET('/api/v1/communities', {
        params: { query: { ...query, per_page: PER_PAGE } },
      })
      if (error || !data) throw new Error(errorMessage(error))
      for (const c of data.items ?? []) if (c.id) found.set(c.id, c.name ?? '')
    }
    return [...found].map(([id, name]) => ({ id, name }))
  }

  async function estatesOf(communityId: number): Promise<Place[]> {
    const { data, error } = await api.GET('/api/v1/estates', {
      params: { query: { community_id: communityId, per_page: PER_PAGE } },
    })
    if (error || !data) throw new Error(errorMessage(error))
    return (data.items ?? []).map((e) => ({ id: e.id ?? 0, name: e.name ?? '' }))
  }

  /** Every estate, a page at a time, for the names of a project owner's estates. */
  async function allEstates(): Promise<Place[]> {
    const all: Place[] = []
    for (let page = 1; ; page += 1) {
      const { data, error } = await api.GET('/api/v1/estates', {
        params: { query: { page, per_page: PER_PAGE } },
      })
      if (error || !data) throw new Error(errorMessage(error))
      all.push(...(data.items ?? []).map((e) => ({ id: e.id ?? 0, name: e.name ?? '' })))
      if (all.length >= (data.total ?? 0) || !data.items?.length) return all
    }
  }

  async function load(): Promise<void> {
    loading.value = true
    failure.value = null
    try {
      const reply = await api.GET('/api/v1/projects', { params: { query: { per_page: PER_PAGE } } })
      if (reply.error || !reply.data) throw new Error(errorMessage(reply.error))
      projects.value = (reply.data.items ?? []).map((p) => ({
        id: p.id ?? 0,
        name: p.name ?? '',
        estateIds: p.estate_ids ?? [],
      }))
      communities.value = await loadCommunities()
      const groups: EstateGroup[] = []
      for (const community of communities.value) {
        const estates = await estatesOf(community.id)
        if (estates.length) groups.push({ community: community.name, estates })
      }
      const owned = new Set(scopes('owner'))
      const listed = new Set(groups.flatMap((g) => g.estates.map((e) => e.id)))
      const worked = new Set(
        projects.value.filter((p) => owned.has(p.id)).flatMap((p) => p.estateIds),
      )
      const missing = [...worked].filter((id) => !listed.has(id))
      if (missing.length) {
        const names = new Map((await allEstates()).map((e) => [e.id, e.name]))
        groups.push({
          community: '所管项目涉及的小区',
          estates: missing.map((id) => ({ id, name: names.get(id) ?? `小区 ${id}` })),
        })
      }
      estateGroups.value = groups
    } catch (error) {
      failure.value = (error as Error).message
    } finally {
      loading.value = false
    }
  }

  function estateName(id: number | null | undefined): string {
    for (const group of estateGroups.value) {
      const found = group.estates.find((e) => e.id === id)
      if (found) return found.name
    }
    return id ? `小区 ${id}` : ''
  }

  function communityName(id: number | null | undefined): string {
    return communities.value.find((c) => c.id === id)?.name ?? (id ? `社区 ${id}` : '')
  }

  function projectName(id: number | null | undefined): string {
    return projects.value.find((p) => p.id === id)?.name ?? (id ? `项目 ${id}` : '')
  }

  return {
    communities,
    estateGroups,
    projects,
    loading,
    failure,
    load,
    estateName,
    communityName,
    projectName,
  }
}
