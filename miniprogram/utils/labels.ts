/** Chinese labels of Banshi's states, shown to the citizen. Unknown states show as they are. */

const appointment: Record<string, string> = {
  booked: '已预约',
  checked_in: '已签到',
  completed: '已办结',
  cancelled: '已取消',
  no_show: '未到场',
}

const order: Record<string, string> = {
  paying: '待支付',
  paid: '已支付，等待部门确认',
  handled: '缴费成功',
  handle_failed: '部门未确认，正在退款',
  refunding: '退款中',
  refunded: '已退款',
  partially_refunded: '已部分退款',
  closed: '已关闭',
}

const bill: Record<string, string> = {
  unpaid: '待缴费',
  paying: '支付中',
  paid: '已缴费',
  cancelled: '已撤销',
}

const application: Record<string, string> = {
  submitted: '已提交',
  accepted: '已受理',
  needs_materials: '需补正材料',
  under_review: '审核中',
  approved: '审批通过',
  rejected: '不予批准',
  delivered: '结果已送达',
  withdrawn: '已撤回',
}

const ticket: Record<string, string> = {
  open: '待核实',
  verified: '已核实，整改中',
  rectified: '已整改',
  replied: '已答复',
  closed: '已办结',
  appealed: '申诉中',
  annulled: '已撤销',
}

const level: Record<number, string> = {
  1: '未实名（微信登录）',
  2: '已登记身份信息',
  3: '已通过微信实名核验',
  4: '已通过人脸核身',
}

function pick(table: Record<string, string>, key: string): string {
  return table[key] ?? key
}

export const appointmentLabel = (s: string): string => pick(appointment, s)
export const orderLabel = (s: string): string => pick(order, s)
export const billLabel = (s: string): string => pick(bill, s)
export const applicationLabel = (s: string): string => pick(application, s)
export const ticketLabel = (s: string): string => pick(ticket, s)
export const levelLabel = (n: number): string => level[n] ?? `L${n}`
