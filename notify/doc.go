// Package notify delivers messages to citizens. For now it holds only the
// in-app inbox: messages stored in MongoDB, one document per message, keyed by
// an ID the sender chooses so that sending twice (a retried request, two
// sweeper replicas) stores the message once. The outbox, the dispatcher and
// the push channels (subscribe messages, FCM) come with the notifications work.
package notify
