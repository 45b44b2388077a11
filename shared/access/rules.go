package access

import (
	"regexp"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
)

// idPattern is contract C1: every id a staff request names has 1 to 64 of these
// characters. Checked before any read, so an id that could never exist (5,000
// characters, a '#' that would address another item kind) is the plain 404.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// ValidID reports whether id can name anything (C1).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// NotFound is the one answer for "absent" and "not yours" (C1): what names the kind of
// thing, and the body is the same whichever of the two it was.
func NotFound(what string) error { return httpx.NotFound(what) }

// Action is something a staff member asks to do; rules says who may.
type Action string

// The actions of the staff API.
const (
	ReadCustomer     Action = "read a customer"
	ListCustomers    Action = "list customers"
	EditCustomer     Action = "edit a customer"           // which fields: customer.ApplyPatch's table
	CreateCustomers  Action = "create or merge customers" // POST /v1/customers: the business's own list
	RecordEvent      Action = "record a customer event"
	ExportCustomer   Action = "export a customer"
	EraseCustomer    Action = "erase a customer"
	ReadAudit        Action = "read a customer's audit log"
	WorkTasks        Action = "work tasks"
	AssignTasks      Action = "hand a task to someone else"
	PostTransactions Action = "post transactions"
	ReadReports      Action = "read reports"
	ReadRuns         Action = "read re-tier runs"
	StartRun         Action = "start a re-tier run"
	ReadPolicy       Action = "read the tier policy"
	ChangePolicy     Action = "change the tier policy"
	ManageAPIKeys    Action = "create, list, rotate or revoke API keys"
)

var (
	everyone   = []model.Role{model.RoleAdmin, model.RoleClinician, model.RoleAgent}
	managers   = []model.Role{model.RoleAdmin, model.RoleClinician}
	adminsOnly = []model.Role{model.RoleAdmin}
)

type rule struct {
	roles []model.Role
	// allStores: the action changes something every store shares (the policy, a run over
	// all customers), so only an admin who covers every store may do it (C3).
	allStores bool
}

// rules is function-level authorization in one table. An action that is not listed is
// refused.
var rules = map[Action]rule{
	ReadCustomer:     {roles: everyone},
	ListCustomers:    {roles: everyone},
	EditCustomer:     {roles: everyone},
	CreateCustomers:  {roles: managers}, // an import, like posting transactions: not front-line agents
	RecordEvent:      {roles: everyone},
	ExportCustomer:   {roles: adminsOnly},
	EraseCustomer:    {roles: adminsOnly},
	ReadAudit:        {roles: adminsOnly},
	WorkTasks:        {roles: everyone},
	AssignTasks:      {roles: managers},
	PostTransactions: {roles: managers}, // spend moves tiers and money: not front-line agents
	ReadReports:      {roles: managers},
	ReadRuns:         {roles: managers},
	StartRun:         {roles: adminsOnly, allStores: true},
	ReadPolicy:       {roles: adminsOnly},
	ChangePolicy:     {roles: adminsOnly, allStores: true},
	ManageAPIKeys:    {roles: adminsOnly}, // of the stores they cover: MayManageKey
}

// MayManageKey reports whether p may see, rotate or revoke a key of stores: an admin who
// covers every store the key reaches (a key of sh-01 and bj-01 is not an sh-01 admin's).
// Callers answer a key p may not manage exactly like a key that does not exist.
func MayManageKey(p auth.Principal, stores []string) bool {
	if p.IsKey() || Require(p, ManageAPIKeys) != nil || len(stores) == 0 {
		return false
	}
	for _, s := range stores {
		if !p.CanSeeStore(s) {
			return false
		}
	}
	return true
}

// keyRules is function-level authorization for machines: the permission an API key
// needs for an action. An action that is not listed is refused to every key, whatever it
// carries (the policy, runs, reports, exports, erasure and the audit log are for staff).
var keyRules = map[Action]string{
	PostTransactions: "transactions:write",
	CreateCustomers:  "leads:write",
	ReadCustomer:     "customers:read",
	ListCustomers:    "customers:read",
	RecordEvent:      "events:write",
}

// Require answers 403 unless p may do a: the role first, then, for what every store
// shares, that p covers every store. A machine's key is checked against keyRules instead.
func Require(p auth.Principal, a Action) error {
	if p.IsKey() {
		perm, ok := keyRules[a]
		if !ok {
			return httpx.Forbidden("This action is not open to API keys.")
		}
		if !p.Can(perm) {
			return httpx.Forbidden("This API key lacks the permission " + perm + ".")
		}
		return nil
	}
	r, ok := rules[a]
	if !ok {
		return httpx.Forbidden("This action is not open to staff.")
	}
	if err := p.Require(r.roles...); err != nil {
		return err
	}
	if r.allStores && !p.SeesAllStores() {
		return httpx.Forbidden("This action changes what every store shares; it needs an admin who covers all stores.")
	}
	return nil
}
