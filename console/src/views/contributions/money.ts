// Money on the 居民出资 page: the API counts integer fen (分); people type and read yuan (元).
// An amount typed in yuan is converted by reading the string (digits, at most two decimals),
// never through a float: "12.3" is 1230 fen, "0.07" is 7, "1e3" or "1.005" is refused.

const AMOUNT = /^(-)?(\d{0,13})(?:\.(\d{0,2}))?$/

/** The fen of a yuan amount as typed ("1,234.5" → 123450), or null when it is not one. */
export function yuanToFen(text: string, allowNegative = false): number | null {
  const cleaned = text.trim().replace(/[,，\s]/g, '').replace(/^[¥￥]/, '')
  const found = AMOUNT.exec(cleaned)
  if (!found) return null
  const [, minus, whole = '', decimals = ''] = found
  // ".5" and "5." are amounts; "." and "-" are not.
  if (!whole && !decimals) return null
  if (minus && !allowNegative) return null
  const fen = Number(whole) * 100 + Number(decimals.padEnd(2, '0'))
  if (!Number.isSafeInteger(fen)) return null
  return minus ? -fen : fen
}

function grouped(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** Fen as yuan for reading: 123450 → "1,234.50" (integer arithmetic only). */
export function fenText(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return '—'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(fen))
  const whole = Math.floor(abs / 100)
  const cents = abs % 100
  return `${sign}${grouped(String(whole))}.${String(cents).padStart(2, '0')}`
}

/** Fen as an amount in yuan with its sign: ¥1,234.50. */
export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return '—'
  const text = fenText(fen)
  return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`
}

/** Fen as the plain yuan string an input shows ("1234.5" → typed back exactly): 123450 → "1234.50". */
export function fenInput(fen: number | null | undefined): string {
  return fen === null || fen === undefined ? '' : fenText(fen).replace(/,/g, '')
}

/** Fen as yuan for a chart's axis (a number is what ECharts draws; only for display). */
export function chartYuan(fen: number | null | undefined): number {
  return fen ? Math.round(fen) / 100 : 0
}

/** A key for an entry, made once when its form opens: the API takes 8–64 of [A-Za-z0-9_-], and
 * the same key twice is one entry (a double click, a retry after a lost reply). */
export function idempotencyKey(): string {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') return c.randomUUID().replace(/-/g, '')
  const bytes = new Uint8Array(16)
  c.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
