// Package evaluations is 好差评: citizens rate a finished application (一事一评)
// or a completed hall visit (一次一评) on five levels with the indicators of
// that level, once per result (a second time only after a new result, never a
// third); a result left unrated for N natural days gets a default 基本满意;
// every 差评 (the bottom two levels) opens a rectification ticket for the
// department (verify → rectify → reply → call back, appealable as mistaken or
// malicious, reviewed by an admin), with a deadline in working days; admins
// read statistics and export the records in GB/T 39046 coding.
//
// Levels are stored by meaning (very_satisfied … very_dissatisfied) and
// converted to a numeric coding only at the export boundary, because GB/T
// 39046 numbers them 1 = 非常满意 … 5 = 非常不满意 while several provincial
// interfaces use the reverse.
//
// Race arbiters are unique keys (DESIGN.md invariant 1): an evaluation's _id
// is derived from "<subject kind>:<subject key>#<sequence>" (evalID), so of
// concurrent evaluations of one result exactly one is stored; a ticket's _id
// is its evaluation's.
package evaluations
