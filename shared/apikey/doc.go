// Package apikey owns the keys the business's own systems (a POS, a website backend, the
// import tool) call tierflow with: what a key may do (stores and permissions), how its
// secret is made and recognised, and when it no longer works (revoked, expired).
//
// A secret is 32 random bytes (256 bits) written as "tfk_<id>_<base64url>". Only its
// SHA-256 is stored. A slow password hash (bcrypt, argon2) protects low-entropy secrets
// people choose against offline guessing; a 256-bit random secret cannot be guessed from
// its SHA-256 whatever the hash speed, and a fast hash lets the authorizer find the key
// with one GetItem by the hash, with no per-key salt to look up first.
//
// The package is plain Go: no AWS SDK, no DynamoDB types.
package apikey
