// The communities whose committee the signed-in clerk is (their `committee` grants), with their
// names (GET /communities?id=…), and the one the registry page shows. The API decides what
// each may see; this only picks the scope.
import { computed, ref, watch } from 'vue'

import { api } from '@/api/client'
import { useSessionStore } from '@/stores/session'

export interface CommunityChoice {
  id: number
  name: string
}

export function useCommunity() {
  const session = useSessionStore()
  const communityIds = computed(() =>
    (session.me?.roles ?? []).flatMap((grant) =>
      grant.role === 'committee' && typeof grant.scope_id === 'number' ? [grant.scope_id] : [],
    ),
  )
  const communityId = ref<number | null>(communityIds.value[0] ?? null)
  const names = ref<Record<number, string>>({})

  async function loadNames(ids: number[]): Promise<void> {
    if (!ids.length) return
    // At most 100 ids a request (the API's bound); a clerk holds a handful.
    const { data } = await api.GET('/api/v1/communities', {
      params: { query: { id: ids.slice(0, 100), per_page: 100 } },
    })
    const found: Record<number, string> = {}
    for (const community of data?.items ?? []) {
      if (community.id !== undefined) found[community.id] = community.name ?? ''
    }
    names.value = found
  }

  /** Each community with its name (its number until the names arrive, or if one is missing). */
  const communities = computed<CommunityChoice[]>(() =>
    communityIds.value.map((id) => ({ id, name: names.value[id] || `社区 ${id}` })),
  )

  watch(
    communityIds,
    (ids) => {
      if (communityId.value === null || !ids.includes(communityId.value)) {
        communityId.value = ids[0] ?? null
      }
      void loadNames(ids)
    },
    { immediate: true },
  )
  return { communityIds, communityId, communities }
}
