// Package seal owns encryption at rest of the sensitive section (medical history,
// allergies, psychological assessment). Each item gets its own AES-256-GCM data key;
// the data key is stored wrapped by a KeyWrapper — AWS KMS in production (sealkms), a local
// master key on a laptop — so reading a table dump, a backup or a stream record reveals
// nothing without the right to unwrap. The customer id is bound into both layers as
// associated data, so a sealed section copied onto another customer does not open.
package seal
