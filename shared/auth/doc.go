// Package auth owns who the caller is and what they may see. In AWS the HTTP API's JWT
// authorizer has already checked the token's signature, issuer, audience and expiry, and
// hands the claims to the function; this package reads them into a Principal and answers
// the two questions every staff handler asks: may this role do this, and may this person
// see that store. The local runtime's gateway (infra/local/gateway) does the authorizer's
// part locally, from the same template, so the function sees the same claims.
package auth
