package boot

import (
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/tierflow/tierflow/shared/events"
	ebpub "github.com/tierflow/tierflow/shared/events/eventbridge"
)

// Events is the events.Publisher a function hands the code where changes are made:
// the EventBridge bus named by EVENT_BUS_NAME (template.yaml; locally the runtime's
// capture, GET /_local/events), or events.Nop when the variable is empty.
func Events(b Base) events.Publisher {
	bus := b.Env.Optional("EVENT_BUS_NAME", "")
	if bus == "" {
		return events.Nop{}
	}
	return ebpub.New(eventbridge.NewFromConfig(b.Cfg), bus)
}
