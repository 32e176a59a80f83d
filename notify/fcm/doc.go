// Package fcm pushes citizens' messages to their phones through Firebase
// Cloud Messaging: the registry of their app installations (Devices), a
// Sender that reaches one installation (FCM through appleboy/go-fcm with a
// service account; a vendor push channel for mainland China can implement the
// same interface later), and the outbox channel "fcm" (Channel) that sends a
// message to each of a citizen's devices, forgets tokens FCM calls
// unregistered, and does not repeat a device on a retry.
package fcm
