/**
 * The generated client types must be what openapi-typescript (the pinned version) makes from
 * api/openapi.yaml now: regenerate into a temporary file and compare byte for byte.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

test('api/schema.d.ts is what openapi-typescript generates from api/openapi.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'banshi-schema-'))
  try {
    const out = join(dir, 'schema.d.ts')
    const root = join(__dirname, '..')
    execFileSync(join(root, 'node_modules', '.bin', 'openapi-typescript'), [join(root, '..', 'api', 'openapi.yaml'), '-o', out], {
      cwd: root,
      stdio: 'pipe',
    })
    const committed = readFileSync(join(root, 'api', 'schema.d.ts'), 'utf8')
    const fresh = readFileSync(out, 'utf8')
    if (committed !== fresh) {
      throw new Error('miniprogram/api/schema.d.ts is stale: run `npm run gen:api` in miniprogram/ and commit the result')
    }
    expect(fresh.length).toBeGreaterThan(1000)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
