/**
 * The client's session rules, with a scripted transport: a 401 logs in again once and repeats
 * the call once; a second 401 is thrown; concurrent calls share one login; Banshi's error body
 * becomes a BanshiError carrying code and Chinese message; a non-Banshi body never leaks.
 */
import { BanshiClient, type HttpResponse } from '../api/client'
import { BanshiError, FALLBACK_MESSAGE } from '../api/errors'

function setup(answer: (method: string, url: string, headers: Record<string, string>) => HttpResponse) {
  let token = ''
  let codes = 0
  const calls: string[] = []
  const client = new BanshiClient({
    baseURL: () => 'http://banshi.test/',
    tokens: { get: () => token, set: (t) => void (token = t), clear: () => void (token = '') },
    loginCode: async () => `code-${++codes}`,
    transport: {
      send: async (method, url, _body, headers) => {
        calls.push(`${method} ${url} ${headers.Authorization ?? ''}`)
        await new Promise((r) => setTimeout(r, 1))
        return answer(method, url, headers)
      },
    },
  })
  return { client, calls, codes: () => codes }
}

const login = (n: number): HttpResponse => ({ status: 200, body: { token: `t${n}`, expires_at: '', user: { id: 'u', realname_level: 1 } } })

test('a 401 logs in again once and repeats the call once', async () => {
  let logins = 0
  const { client, calls } = setup((_method, url, h) => {
    if (url.endsWith('/auth/miniprogram/login')) return login(++logins)
    return h.Authorization === 'Bearer t2' ? { status: 200, body: { ok: true } } : { status: 401, body: { error: { code: 'unauthenticated', message: '请先登录' } } }
  })
  await expect(client.call('GET', '/api/v1/me')).resolves.toEqual({ ok: true })
  expect(calls).toEqual([
    'POST http://banshi.test/api/v1/auth/miniprogram/login ',
    'GET http://banshi.test/api/v1/me Bearer t1',
    'POST http://banshi.test/api/v1/auth/miniprogram/login ',
    'GET http://banshi.test/api/v1/me Bearer t2',
  ])
})

test('a second 401 is thrown, not retried forever', async () => {
  let logins = 0
  const { client, calls } = setup((_m, url) =>
    url.endsWith('/login') ? login(++logins) : { status: 401, body: { error: { code: 'unauthenticated', message: '请先登录' } } },
  )
  await expect(client.call('GET', '/api/v1/me')).rejects.toMatchObject({ status: 401, code: 'unauthenticated', message: '请先登录' })
  expect(calls.length).toBe(4)
})

test('concurrent calls share one login', async () => {
  let logins = 0
  const { client, codes } = setup((_m, url) => (url.endsWith('/login') ? login(++logins) : { status: 200, body: {} }))
  await Promise.all([client.call('GET', '/a'), client.call('GET', '/b'), client.call('GET', '/c')])
  expect(codes()).toBe(1)
  expect(logins).toBe(1)
})

test('errors carry code, Chinese message, field and check; other bodies never leak', async () => {
  const { client } = setup((_m, url) =>
    url.endsWith('/x')
      ? { status: 400, body: { error: { code: 'invalid_argument', message: '身份证号校验位错误', field: 'id_number', check: 'check_digit' } } }
      : { status: 502, body: '<html>Bad Gateway</html>' },
  )
  const err = await client.call('GET', '/x', undefined, { auth: false }).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(BanshiError)
  expect(err).toMatchObject({ status: 400, code: 'invalid_argument', message: '身份证号校验位错误', field: 'id_number', check: 'check_digit' })
  await expect(client.call('GET', '/y', undefined, { auth: false })).rejects.toMatchObject({ status: 502, code: 'http_502', message: FALLBACK_MESSAGE })
})
