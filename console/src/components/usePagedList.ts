// A paged list of the API ({items, page, per_page, total}), as every list view shows it: the page
// and its size, the items and their total, Element Plus's loading state, and the API's Chinese
// message when it refuses. The view says only how to fetch one page.
import { ref, type Ref } from 'vue'

import { errorMessage } from '@/api/client'

interface PageReply<T> {
  items?: T[]
  total?: number
}

/** One page from the API (openapi-fetch's reply), or null when there is nothing to fetch yet
 * (no place picked): the list is then left as it is. */
export type FetchPage<T> = (
  page: number,
  perPage: number,
) => Promise<{ data?: PageReply<T>; error?: unknown } | null>

export function usePagedList<T>(fetchPage: FetchPage<T>, perPage = 20) {
  const items = ref<T[]>([]) as Ref<T[]>
  const page = ref(1)
  const size = ref(perPage)
  const total = ref(0)
  const loading = ref(false)
  const failure = ref<string | null>(null)

  async function load(): Promise<void> {
    loading.value = true
    failure.value = null
    const reply = await fetchPage(page.value, size.value)
    loading.value = false
    if (reply === null) return
    if (reply.error || !reply.data) {
      failure.value = errorMessage(reply.error)
      items.value = []
      total.value = 0
      return
    }
    items.value = reply.data.items ?? []
    total.value = reply.data.total ?? 0
  }

  return { items, page, perPage: size, total, loading, failure, load }
}
