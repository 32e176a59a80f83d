/** Stops the Banshi that global-setup.ts started (SIGTERM, then SIGKILL after 10 s) and removes its folder. */
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

export default async function globalTeardown(): Promise<void> {
  const b = (globalThis as { __BANSHI__?: { child: ChildProcess; dir: string } }).__BANSHI__
  if (!b) return
  if (b.child.exitCode === null) {
    const exited = new Promise<void>((r) => b.child.once('exit', () => r()))
    b.child.kill('SIGTERM')
    const timer = setTimeout(() => b.child.kill('SIGKILL'), 10000)
    await exited
    clearTimeout(timer)
  }
  rmSync(b.dir, { recursive: true, force: true })
}
