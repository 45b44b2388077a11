package build

import (
	"bufio"
	"io"
	"strings"
)

// ReflectMethodChain reads what the linker prints with -ldflags=-dumpdep (every edge of
// its dead-code pass, "from -> to", with <ReflectMethod> after a function that looks a
// method up by a name it cannot see) and returns how the first
// function that looks methods up by a run-time name was reached, from the program's
// entry to that function; nil when none is. Once one is reached, the linker keeps every
// exported method of every type the binary links (every operation of every AWS client):
// executing text/template or html/template, or protobuf-go before v1.36.12 built with Go
// 1.26 (its descriptor formatting asks for a method named "Methods", and reflect's own
// Type.Methods is such a function).
func ReflectMethodChain(dumpdep io.Reader) ([]string, error) {
	first := map[string]string{} // symbol -> the symbol that reached it first
	var found string
	sc := bufio.NewScanner(dumpdep)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		from, to, ok := strings.Cut(sc.Text(), " -> ")
		if !ok {
			continue
		}
		from, to = symbol(from), strings.TrimSpace(to)
		name := symbol(to)
		if _, seen := first[name]; !seen {
			first[name] = from
		}
		if found == "" && strings.HasSuffix(to, "<ReflectMethod>") {
			found = name
		}
	}
	if err := sc.Err(); err != nil || found == "" {
		return nil, err
	}
	chain := []string{found}
	for s := first[found]; s != "" && s != "_" && len(chain) < 200; s = first[s] {
		chain = append(chain, s)
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}

// symbol drops the linker's attributes (" <UsedInIface>", " <ReflectMethod>").
func symbol(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " <"); i >= 0 {
		s = s[:i]
	}
	return s
}
