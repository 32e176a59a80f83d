/**
 * The check-in QR drawn on the phone reads back as the exact payload: decoded with zbarimg
 * (Debian's zbar-tools, which .ci/run installs), as a scanner at the hall would.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { qrDataURL } from '../utils/qr'

function hasZbar(): boolean {
  try {
    execFileSync('zbarimg', ['--version'], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

const payloads = [
  'BSA1.ap9fe692dc386f809c6aae.hall-tianhe.20260316.JXH_jrOUjPA5KVxs9swM8PWA',
  'BSA1.ap0000000000000000000000.hall-yuexiu.20261231.AAAAAAAAAAAAAAAAAAAAAAAA',
]

;(hasZbar() || process.env.CI ? test.each(payloads) : test.skip.each(payloads))('the QR of %s decodes to it', (payload) => {
  const url = qrDataURL(payload)
  expect(url).toMatch(/^data:image\/gif;base64,R0lGOD/)
  const dir = mkdtempSync(join(tmpdir(), 'banshi-qr-'))
  try {
    const file = join(dir, 'qr.gif')
    writeFileSync(file, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'))
    const out = execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' })
    expect(out.trim()).toBe(payload)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
