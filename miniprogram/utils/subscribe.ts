/** Which subscribe-message templates a screen asks for, from Banshi's list. */
import type { NotifyTemplateList } from '../api/types'

/** The events whose templates a booking asks for (WeChat allows at most 3 a call). */
export const BOOKING_EVENTS = ['appointment_booked', 'appointment_reminder', 'appointment_cancelled']

/** The events whose templates a payment asks for. */
export const PAYMENT_EVENTS = ['payment_result']

/** templatesFor picks the template ids of the given events, in that order, at most 3. */
export function templatesFor(list: NotifyTemplateList, events: string[]): string[] {
  return events
    .map((ev) => list.templates.find((t) => t.event === ev)?.template_id)
    .filter((id): id is string => typeof id === 'string')
    .slice(0, 3)
}
