// Package licsig holds what signing electronic licences needs without
// storage or personal data — SM2-with-SM3 keys, signatures, the canonical
// JSON that is signed, and the identifier's MOD 37,36 check character — so
// that the department simulator signs exactly as package licences verifies
// without importing it (licences depends on the citizen store).
package licsig
