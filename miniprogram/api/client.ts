/**
 * BanshiClient: the typed client of Banshi's citizen API, independent of where it runs. It
 * needs a Transport (wx.request in the mini-program, fetch in a native app's JS layer), a
 * TokenStore and a source of login codes (wx.login's code, posted to
 * /api/v1/auth/miniprogram/login; the native app gives its Open Platform OAuth code and
 * loginPath /api/v1/auth/app/login).
 *
 * Contract: every method resolves with Banshi's decoded 2xx body, or throws a BanshiError with
 * Banshi's code and Chinese message. A call that needs a session logs in first when there is no
 * token; a 401 on such a call (session expired or revoked) logs in again once, silently, and
 * repeats the call once; a second 401 is thrown. Concurrent calls share one login.
 */
import { BanshiError, fromResponse } from './errors'
import type * as T from './types'

/** HttpResponse is a status and the decoded JSON body (or undefined when there is none). */
export interface HttpResponse {
  status: number
  body: unknown
}

/** Transport sends one HTTP request; it rejects only when no answer came (BanshiError network_error). */
export interface Transport {
  send(method: string, url: string, body: unknown, headers: Record<string, string>): Promise<HttpResponse>
}

/** TokenStore keeps the session token across page loads (wx storage in the mini-program). */
export interface TokenStore {
  get(): string
  set(token: string): void
  clear(): void
}

export interface ClientOptions {
  /** Banshi's base URL, read on every call so a settings change takes effect at once. */
  baseURL: () => string
  transport: Transport
  tokens: TokenStore
  /** A fresh single-use login code (wx.login). */
  loginCode: () => Promise<string>
  /** Defaults to the mini-program's login path. */
  loginPath?: string
}

interface CallOptions {
  auth?: boolean
  idempotencyKey?: string
}

/** newIdempotencyKey gives a key unique enough for one booking or payment attempt. */
export function newIdempotencyKey(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
}

/**
 * enc escapes one path segment, leaving the characters RFC 3986 allows in a
 * segment (":" "@" and the sub-delims) as they are: Banshi's ids contain ":" (a message id is
 * application:<system>:<no>:<event>) and its router compares the raw, still-escaped segment.
 */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/%(3A|40|24|26|2B|2C|3B|3D)/gi, (m) => decodeURIComponent(m))
}

function query(params: Record<string, string | number | undefined>): string {
  const parts = Object.keys(params)
    .filter((k) => params[k] !== undefined && params[k] !== '')
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(String(params[k]))}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

export class BanshiClient {
  private readonly opts: ClientOptions
  private pendingLogin: Promise<T.LoginResult> | null = null
  /** How many logins this client made (the silent re-login is observable in tests). */
  logins = 0

  constructor(opts: ClientOptions) {
    this.opts = opts
  }

  /** hasSession tells whether a token is stored (it may still have expired on the server). */
  hasSession(): boolean {
    return this.opts.tokens.get() !== ''
  }

  /** login exchanges a fresh login code for a session and stores its token. */
  login(): Promise<T.LoginResult> {
    if (!this.pendingLogin) {
      this.pendingLogin = this.doLogin().finally(() => {
        this.pendingLogin = null
      })
    }
    return this.pendingLogin
  }

  private async doLogin(): Promise<T.LoginResult> {
    const code = await this.opts.loginCode()
    const res = await this.send('POST', this.opts.loginPath ?? '/api/v1/auth/miniprogram/login', { code }, {})
    if (res.status < 200 || res.status >= 300) throw fromResponse(res.status, res.body)
    const result = res.body as T.LoginResult
    this.opts.tokens.set(result.token)
    this.logins++
    return result
  }

  /** logout ends the session on Banshi and forgets the token (a failure still forgets it). */
  async logout(): Promise<void> {
    const token = this.opts.tokens.get()
    this.opts.tokens.clear()
    if (token) await this.send('POST', '/api/v1/auth/logout', undefined, { Authorization: `Bearer ${token}` })
  }

  private send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<HttpResponse> {
    return this.opts.transport.send(method, this.opts.baseURL().replace(/\/+$/, '') + path, body, headers)
  }

  /**
   * call sends one request and decodes the answer; with auth it carries the session (logging
   * in first, and once more after a 401). It throws a BanshiError for every non-2xx answer.
   */
  async call<R>(method: string, path: string, body?: unknown, o: CallOptions = {}): Promise<R> {
    const auth = o.auth ?? true
    const attempt = async (): Promise<HttpResponse> => {
      const headers: Record<string, string> = {}
      if (o.idempotencyKey) headers['Idempotency-Key'] = o.idempotencyKey
      if (auth) {
        if (!this.hasSession()) await this.login()
        headers.Authorization = `Bearer ${this.opts.tokens.get()}`
      }
      return this.send(method, path, body, headers)
    }
    let res = await attempt()
    if (res.status === 401 && auth) {
      this.opts.tokens.clear()
      await this.login()
      res = await attempt()
    }
    if (res.status < 200 || res.status >= 300) throw fromResponse(res.status, res.body)
    return res.body as R
  }

  // --- me, real-name ---
  me(): Promise<T.CitizenPage> {
    return this.call('GET', '/api/v1/me')
  }
  declareIdentity(name: string, idNumber: string): Promise<T.UserResult> {
    return this.call('POST', '/api/v1/me/realname/declare', { name, id_number: idNumber })
  }
  checkRealname(name: string, idNumber: string, code: string): Promise<T.UserResult> {
    return this.call('POST', '/api/v1/me/realname/check', { name, id_number: idNumber, code })
  }
  startFace(name: string, idNumber: string): Promise<T.FaceStartResult> {
    return this.call('POST', '/api/v1/me/realname/face/start', { name, id_number: idNumber })
  }
  finishFace(verifyId: string): Promise<T.UserResult> {
    return this.call('POST', '/api/v1/me/realname/face/finish', { verify_id: verifyId })
  }
  setFavorites(serviceCodes: string[]): Promise<T.Schemas['Favorites']> {
    return this.call('PUT', '/api/v1/me/favorites', { service_codes: serviceCodes })
  }
  /** exportMyData needs a fresh real-name consent code obtained for this request. */
  exportMyData(code: string): Promise<T.Schemas['PersonalDataPackage']> {
    return this.call('POST', '/api/v1/me/export', { code })
  }
  /** deleteMe needs a fresh real-name consent code; the token is forgotten after it. */
  async deleteMe(code: string): Promise<T.Schemas['Deletion']> {
    const res = await this.call<T.Schemas['Deletion']>('DELETE', '/api/v1/me', { code })
    this.opts.tokens.clear()
    return res
  }

  // --- catalog and booking ---
  halls(): Promise<T.HallList> {
    return this.call('GET', '/api/v1/halls', undefined, { auth: false })
  }
  hallServices(hallId: string): Promise<T.ServiceItemList> {
    return this.call('GET', `/api/v1/halls/${enc(hallId)}/services`, undefined, { auth: false })
  }
  service(serviceId: string): Promise<T.ServiceItem> {
    return this.call('GET', `/api/v1/services/${enc(serviceId)}`, undefined, { auth: false })
  }
  availableDates(hallId: string, serviceId: string): Promise<T.Availability> {
    return this.call('GET', `/api/v1/halls/${enc(hallId)}/availability${query({ service_id: serviceId })}`, undefined, { auth: false })
  }
  daySlots(hallId: string, serviceId: string, date: string): Promise<T.DaySlots> {
    return this.call('GET', `/api/v1/halls/${enc(hallId)}/availability${query({ service_id: serviceId, date })}`, undefined, { auth: false })
  }
  /** book books a slot, for the citizen or, with onBehalfOf, for an enterprise they act for. */
  book(slotId: string, serviceId: string, idempotencyKey: string, onBehalfOf?: string): Promise<T.Appointment> {
    const body: T.Schemas['BookingInput'] = { slot_id: slotId, service_id: serviceId }
    if (onBehalfOf) body.on_behalf_of = { uscc: onBehalfOf }
    return this.call('POST', '/api/v1/appointments', body, { idempotencyKey })
  }
  myAppointments(): Promise<T.AppointmentList> {
    return this.call('GET', '/api/v1/me/appointments')
  }
  cancelAppointment(id: string): Promise<T.Appointment> {
    return this.call('POST', `/api/v1/appointments/${enc(id)}/cancel`)
  }

  // --- subscribe messages ---
  notifyTemplates(): Promise<T.NotifyTemplateList> {
    return this.call('GET', '/api/v1/notify/templates', undefined, { auth: false })
  }
  recordSubscriptions(result: T.SubscribeResult): Promise<T.SubscriptionList> {
    return this.call('POST', '/api/v1/me/subscriptions', result)
  }

  // --- messages, applications ---
  messages(before?: string): Promise<T.InboxPage> {
    return this.call('GET', `/api/v1/me/messages${query({ before })}`)
  }
  markRead(id: string): Promise<T.Message> {
    return this.call('POST', `/api/v1/me/messages/${enc(id)}/read`)
  }
  applications(): Promise<T.ApplicationList> {
    return this.call('GET', '/api/v1/me/applications')
  }
  application(no: string): Promise<T.ApplicationDetail> {
    return this.call('GET', `/api/v1/me/applications/${enc(no)}`)
  }

  // --- enterprises ---
  /** claimEnterprise claims an enterprise as its legal representative (needs level 4). */
  claimEnterprise(uscc: string): Promise<T.EnterpriseMembership> {
    return this.call('POST', '/api/v1/enterprises/claim', { uscc })
  }
  myEnterprises(): Promise<T.EnterpriseMembershipList> {
    return this.call('GET', '/api/v1/me/enterprises')
  }
  enterprisePage(uscc: string): Promise<T.EnterprisePage> {
    return this.call('GET', `/api/v1/enterprises/${enc(uscc)}/page`)
  }

  // --- evaluations (好差评) ---
  evaluate(input: T.EvaluationInput): Promise<T.Evaluation> {
    return this.call('POST', '/api/v1/evaluations', input)
  }
  myEvaluations(): Promise<T.EvaluationList> {
    return this.call('GET', '/api/v1/me/evaluations')
  }

  // --- licence wallet ---
  licences(): Promise<T.LicenceList> {
    return this.call('GET', '/api/v1/me/licences')
  }
  /** showLicence gives a 60-second show token with its QR PNG (亮证). */
  showLicence(id: string): Promise<T.LicenceShown> {
    return this.call('POST', `/api/v1/me/licences/${enc(id)}/show`)
  }

  // --- bills and payment ---
  bills(): Promise<T.BillList> {
    return this.call('GET', '/api/v1/me/bills')
  }
  createOrder(billNo: string, channel: T.OrderRequest['channel'], idempotencyKey: string): Promise<T.Order> {
    return this.call('POST', `/api/v1/bills/${enc(billNo)}/orders`, { channel }, { idempotencyKey })
  }
  order(orderNo: string): Promise<T.Order> {
    return this.call('GET', `/api/v1/orders/${enc(orderNo)}`)
  }
}

export { BanshiError }
