/**
 * Times shown to people are Beijing time (Asia/Shanghai, UTC+8, no daylight saving), whatever
 * the phone's zone: computed from the instant, not from the phone's clock settings.
 */
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

function shanghai(iso: string): Date | null {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return null
  return new Date(t + SHANGHAI_OFFSET_MS)
}

/** clock gives "09:30" for an RFC 3339 instant. */
export function clock(iso: string): string {
  const d = shanghai(iso)
  return d ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : iso
}

/** dateTime gives "2026-03-16 09:30" for an RFC 3339 instant. */
export function dateTime(iso: string): string {
  const d = shanghai(iso)
  if (!d) return iso
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** distanceKm is the great-circle distance between two points, rounded to 0.1 km. */
export function distanceKm(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLng = (b.lng - a.lng) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2
  return Math.round(6371 * 2 * Math.asin(Math.sqrt(h)) * 10) / 10
}
