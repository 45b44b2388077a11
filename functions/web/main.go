// Command web serves the staff web app: the bundle built from functions/web/ui, embedded
// in this binary, under GET /app and /app/{proxy+}. It holds no privilege: the app signs
// in with the staff member's own token and talks to the staff API like any client. It
// links neither the table nor any AWS client, so it has nothing to misuse.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/logx"
)

func main() {
	// The app server logs no personal data, so it needs no hash key (and no SSM read).
	log := logx.FromEnv(nil)
	s, err := newSite(builtApp())
	if err != nil {
		// A function without its app must not answer with a blank page: fail the cold start.
		log.Error("cold start failed", "stage", "staff app bundle", "err", err)
		os.Exit(1)
	}
	log.Info("staff app ready", "files", len(s.files), "index", s.index.etag)
	lambda.Start(s.serve)
}
