// Package licences keeps citizens' and enterprises' electronic licences
// (电子证照, GB/T 36901–36906): departments issue, update and revoke them over
// the signed protocol (hook scope "licences"), each licence's core metadata
// signed by the issuer with SM2-with-SM3 under the key its integration
// registered; holders see them in their wallet, show them at a counter with a
// short-lived token Banshi signs (亮证), and authorise departments to fetch an
// annotated copy (加注件) Banshi signs (用证授权). Every verification and copy
// is a use the holder can list.
//
// Storage (MongoDB, no multi-document transactions):
//
//   - licences: one document per identifier (_id), holding the metadata
//     without the holder's identity, which is kept sealed (account.Cipher,
//     bound to the licence and field) and, for a person, as the blind index of
//     the ID number (id_index) by which the proven owner finds it. Changed by
//     compare-and-swap on version; its events list records every event_id
//     applied, so a repeated event is a duplicate.
//   - licence_events: one document per (source, event_id), "<source>|<event_id>".
//   - licence_uses: one document per use. A verification's _id is
//     "verify:<token id>": inserting it is the arbiter that makes a show token
//     good for one verification (invariant 1). A copy's is
//     "copy:<source>|<event_id>".
//   - licence_authorizations: the holder's authorisations of departments.
package licences
