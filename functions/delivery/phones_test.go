package main

import (
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/phone"
)

// The tests validate leads with phone numbers, as public-api does, so they install the
// phone-number library that the function's own binary does not link.
func init() { customer.UsePhones(phone.Library{}) }
