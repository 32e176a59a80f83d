// Package payments is 查缴办: bills departments issue (查), orders citizens
// pay through WeChat Pay or Alipay (缴), and handling by the department with
// automatic refunds when it cannot (办), proved every day against the
// channels' statements (对账). Money is int64 fen everywhere; yuan strings
// exist only at the Alipay boundary. The channels are reached through
// Provider implementations (payments/wechatpay, payments/alipay) built on
// go-pay/gopay, against the real channels or the simulators in internal/sim.
package payments
