/** A small JSON-over-HTTP helper on node:http, used by the wx shim and by the tests' control calls. */
import { request } from 'node:http'

export interface JSONResponse {
  status: number
  body: unknown
  raw: string
}

/** httpJSON sends one request with a JSON body (when given) and decodes a JSON answer. */
export function httpJSON(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JSONResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const req = request(
      url,
      {
        method,
        headers: {
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown = raw
          try {
            parsed = raw === '' ? undefined : JSON.parse(raw)
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, raw })
        })
      },
    )
    req.on('error', reject)
    req.setTimeout(15000, () => req.destroy(new Error(`timeout: ${method} ${url}`)))
    if (payload) req.write(payload)
    req.end()
  })
}

/** base is the URL of the Banshi the global setup started. */
export function base(): string {
  const b = process.env.BANSHI_TEST_BASE_URL
  if (!b) throw new Error('BANSHI_TEST_BASE_URL is not set: run the tests through jest (global-setup.ts)')
  return b
}

/** control calls a simulator control endpoint and fails the test on an unexpected status. */
export async function control(method: string, path: string, body?: unknown, want: number[] = [200, 201, 204]): Promise<any> {
  const res = await httpJSON(method, base() + path, body)
  if (!want.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${res.raw}`)
  return res.body
}
