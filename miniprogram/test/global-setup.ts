/**
 * Builds Banshi (`go build ./cmd/banshi`) and starts it in development mode (embedded store,
 * in-memory Redis, simulators under /sim/, demo data) on a free loopback port with its own data
 * folder, waits for /readyz, and hands the base URL to the tests in BANSHI_TEST_BASE_URL.
 * global-teardown.ts stops it and removes the folder.
 */
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      s.close(() => ok(port))
    })
  })
}

async function waitReady(base: string, deadlineMs: number, log: string): Promise<void> {
  const until = Date.now() + deadlineMs
  let last = ''
  while (Date.now() < until) {
    try {
      const res = await fetch(`${base}/readyz`)
      if (res.status === 200) return
      last = `status ${res.status}`
    } catch (err) {
      last = String(err)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`Banshi was not ready within ${deadlineMs} ms (${last}); its log:\n${readFileSync(log, 'utf8').slice(-4000)}`)
}

export default async function globalSetup(): Promise<void> {
  const repo = resolve(__dirname, '..', '..')
  const dir = mkdtempSync(join(tmpdir(), 'banshi-mini-'))
  const bin = join(dir, 'banshi')
  execFileSync('go', ['build', '-o', bin, './cmd/banshi'], { cwd: repo, stdio: 'inherit' })
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env: NodeJS.ProcessEnv = { ...process.env }
  // Development mode with its embedded stores only, whatever the shell points at.
  for (const k of Object.keys(env)) if (k.startsWith('BANSHI_') || k === 'MONGODB_URI' || k === 'REDIS_URL') delete env[k]
  Object.assign(env, { BANSHI_ENV: 'development', BANSHI_ADDR: `127.0.0.1:${port}`, BANSHI_DATA_DIR: join(dir, 'data') })
  const log = join(dir, 'banshi.log')
  const out = openSync(log, 'a')
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', out, out] })
  process.env.BANSHI_TEST_BASE_URL = base
  process.env.BANSHI_TEST_DIR = dir
  process.env.BANSHI_TEST_PID = String(child.pid)
  ;(globalThis as { __BANSHI__?: unknown }).__BANSHI__ = { child, dir, log }
  await waitReady(base, 90000, log)
}
