package main

import (
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/phone"
)

// This function reads phone numbers people typed, so it links the phone-number library
// (shared/phone); the functions that only handle stored numbers do not (issue #13).
func init() { customer.UsePhones(phone.Library{}) }
