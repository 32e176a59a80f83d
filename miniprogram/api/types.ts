/**
 * Names for the schemas of api/openapi.yaml, taken from the generated api/schema.d.ts (never
 * written by hand: `npm run gen:api` regenerates it and a test fails when it is stale).
 */
import type { components, paths } from './schema'

export type Schemas = components['schemas']
export type Paths = paths

export type User = Schemas['User']
export type LoginResult = Schemas['LoginResult']
export type UserResult = Schemas['UserResult']
export type CitizenPage = Schemas['CitizenPage']
export type Hall = Schemas['Hall']
export type HallList = Schemas['HallList']
export type ServiceItem = Schemas['ServiceItem']
export type ServiceItemList = Schemas['ServiceItemList']
export type Availability = Schemas['Availability']
export type DaySlots = Schemas['DaySlots']
export type SlotView = Schemas['SlotView']
export type Appointment = Schemas['Appointment']
export type AppointmentList = Schemas['AppointmentList']
export type NotifyTemplateList = Schemas['NotifyTemplateList']
export type SubscribeResult = Schemas['SubscribeResult']
export type SubscriptionList = Schemas['SubscriptionList']
export type Message = Schemas['Message']
export type InboxPage = Schemas['InboxPage']
export type BillView = Schemas['BillView']
export type BillList = Schemas['BillList']
export type Order = Schemas['Order']
export type OrderRequest = Schemas['OrderRequest']
export type PayParams = Schemas['PayParams']
export type ApplicationList = Schemas['ApplicationList']
export type ApplicationDetail = Schemas['ApplicationDetail']
export type FaceStartResult = Schemas['FaceStartResult']
export type LicenceView = Schemas['LicenceView']
export type Evaluation = Schemas['Evaluation']
export type EvaluationInput = Schemas['EvaluationInput']
export type EvaluationList = Schemas['EvaluationList']
export type EnterpriseMembershipList = Schemas['EnterpriseMembershipList']
export type EnterpriseMembership = Schemas['EnterpriseMembership']
export type EnterprisePage = Schemas['EnterprisePage']
export type LicenceList = Schemas['LicenceList']
export type LicenceShown = Schemas['LicenceShown']

/** The JSAPI shape of pay_params: the object wx.requestPayment takes. */
export type JSAPIPayParams = Extract<PayParams, { paySign: string }>

/** Order states after which nothing more happens by itself (handle_failed goes on to a refund): the order page stops polling. */
export const FINAL_ORDER_STATES: ReadonlyArray<Order['status']> = ['handled', 'refunded', 'partially_refunded', 'closed']
