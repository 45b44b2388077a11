// Package customer owns the customer profile and the rules around it: what a lead form
// may carry and how it is validated, how contacts are normalised so that one person is
// one profile, what a second form from a known person may (and may not) change, how
// consent accumulates and which wording a person agreed to, how a lead is graded
// hot/warm/cold, referral codes, what each staff role may see and change, and what
// erasure leaves behind. It is plain Go: storage, HTTP and encryption of the sensitive
// section live elsewhere (shared/store, shared/httpx, shared/seal).
package customer
