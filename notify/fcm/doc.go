// Package fcm pushes citizens' messages to their phones through Firebase
// Cloud Messaging: the registry of their app installations (Devices), a
// Sender that reaches one installation (FCM through appleboy/go-fcm with a
// service account; a vendor push channel for mainland China can implement the
// same interface later), and the outbox channel "fcm" (Channel) that sends a
// message to each of a citizen's devices, forgets tokens FCM calls
// unregistered, and does not repeat a device on a retry.
//
// Rule: every read and write on a delivery's path (and of the registry) is a
// single document by an exact {"_id": <string>} filter: no other field in a
// filter, no $in, no sort, no count. The embedded FerretDB (SQLite) pushes
// down only that filter and reads and decodes the whole collection for any
// other, about 150 µs a document: a notice to 10,000 citizens would scan the
// 10,000 devices and the growing fcm_sends 10,000 times. So a citizen's
// devices are found through a per-citizen list (collection device_users, see
// Devices), and a delivery's per-device records are read one by _id. Only
// Channel.Purge, hourly and off the path, reads by another field.
package fcm
