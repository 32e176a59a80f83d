/**
 * BanshiError is what every failed call of the client throws: Banshi's stable English `code`
 * and its Chinese `message` (the text shown to the citizen as it is), the HTTP status, and the
 * `field`/`check` that name the bad input when Banshi gives them. A request that never got an
 * answer (no network, a timeout) is code `network_error` with status 0.
 */
export class BanshiError extends Error {
  readonly code: string
  readonly status: number
  readonly field?: string
  readonly check?: string

  constructor(status: number, code: string, message: string, field?: string, check?: string) {
    super(message)
    this.name = 'BanshiError'
    this.status = status
    this.code = code
    this.field = field
    this.check = check
  }
}

/** The message shown when no Chinese message came with the failure. */
export const FALLBACK_MESSAGE = '服务暂时不可用，请稍后再试'

/**
 * fromResponse turns a non-2xx answer into a BanshiError. Banshi's body is
 * `{"error":{"code","message","field?","check?"}}`; anything else (a proxy's HTML page) becomes
 * `http_<status>` with the fallback message, so the citizen never sees raw markup.
 */
export function fromResponse(status: number, body: unknown): BanshiError {
  const detail = (body as { error?: { code?: unknown; message?: unknown; field?: unknown; check?: unknown } } | null)?.error
  if (detail && typeof detail.code === 'string' && typeof detail.message === 'string') {
    return new BanshiError(
      status,
      detail.code,
      detail.message,
      typeof detail.field === 'string' ? detail.field : undefined,
      typeof detail.check === 'string' ? detail.check : undefined,
    )
  }
  return new BanshiError(status, `http_${status}`, FALLBACK_MESSAGE)
}

/** messageOf gives the Chinese text to show for any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof BanshiError) return err.message
  return FALLBACK_MESSAGE
}
