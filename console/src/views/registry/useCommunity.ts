// The communities whose committee the signed-in clerk is (their `committee` grants), and the
// one the registry page shows. The API decides what each may see; this only picks the scope.
import { computed, ref, watch } from 'vue'

import { useSessionStore } from '@/stores/session'

export function useCommunity() {
  const session = useSessionStore()
  const communityIds = computed(() =>
    (session.me?.roles ?? []).flatMap((grant) =>
      grant.role === 'committee' && typeof grant.scope_id === 'number' ? [grant.scope_id] : [],
    ),
  )
  const communityId = ref<number | null>(communityIds.value[0] ?? null)
  watch(communityIds, (ids) => {
    if (communityId.value === null || !ids.includes(communityId.value)) {
      communityId.value = ids[0] ?? null
    }
  })
  return { communityIds, communityId }
}
