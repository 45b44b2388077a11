package emulators

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func testOptions(t *testing.T) Options {
	t.Helper()
	state := t.TempDir()
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Fresh state and logs per test; the compiled launcher is shared with make run.
	return Options{StateDir: state, LogDir: filepath.Join(state, "logs"), CacheDir: filepath.Join(root, ".local", "cache")}
}

// TestStartServesRealAPIsOnLoopbackAndStopLeavesNothing is the life cycle: every
// emulator answers through the SDK, none listens beyond loopback, and after Stop no
// port is open and no child is alive.
func TestStartServesRealAPIsOnLoopbackAndStopLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e, err := Start(ctx, testOptions(t))
	if err != nil {
		t.Fatalf("emulators must start (this test never skips): %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			e.Stop()
		}
	}()
	t.Logf("start-up: %v", e.Startup)

	if _, err := e.DynamoDBClient().ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB ListTables: %v", err)
	}
	q, err := e.SQSClient().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("probe")})
	if err != nil {
		t.Fatalf("SQS CreateQueue: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(q.QueueUrl), e.SQS+"/") {
		t.Errorf("queue URL %s is not on the emulator %s", aws.ToString(q.QueueUrl), e.SQS)
	}

	t.Run("an email sent with the SES v2 SDK is in the outbox store", func(t *testing.T) {
		subject := "probe " + strconv.FormatInt(time.Now().UnixNano(), 36)
		_, err := e.SESClient().SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String("care@example.com"),
			Destination:      &sestypes.Destination{ToAddresses: []string{"ada@example.com"}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String(subject)},
				Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("hello")}},
			}},
		})
		if err != nil {
			t.Fatalf("SES SendEmail: %v", err)
		}
		resp, err := http.Get(e.SES + "/store")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var store struct {
			Emails []struct {
				Subject     string `json:"subject"`
				Destination struct {
					To []string `json:"to"`
				} `json:"destination"`
			} `json:"emails"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range store.Emails {
			found = found || m.Subject == subject
		}
		if !found {
			t.Errorf("GET /store has no email with subject %q: %+v", subject, store.Emails)
		}
	})

	t.Run("nothing listens beyond loopback", func(t *testing.T) {
		ip := nonLoopbackIP(t)
		if ip == "" {
			t.Log("this machine has no non-loopback address; checked loopback binding via /proc only")
		}
		for name, port := range e.Ports() {
			if ip != "" {
				if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), time.Second); err == nil {
					c.Close()
					t.Errorf("%s answers on %s:%d: it must listen on 127.0.0.1 only", name, ip, port)
				}
			}
			if addr := listenAddr(t, port); addr != "127.0.0.1" {
				t.Errorf("%s listens on %q:%d, want 127.0.0.1", name, addr, port)
			}
		}
	})

	ports := e.Ports()
	pids := []int{}
	for _, p := range e.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	stopped = true
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for name, port := range ports {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			c.Close()
			t.Errorf("after Stop, %s's port %d still accepts connections", name, port)
		}
	}
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("after Stop, child %d is still alive", pid)
		}
	}
}

func TestRequestedPortInUseSaysSo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	o := testOptions(t)
	o.SESPort = l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), o)
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(o.SESPort)) {
		t.Fatalf("got %v, want ErrPortInUse naming port %d", err, o.SESPort)
	}
}

func TestMissingJavaSaysWhatToInstall(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for these tests: %v", err)
	}
	bin := t.TempDir()
	if err := os.Symlink(node, filepath.Join(bin, "node")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	_, err = Start(context.Background(), testOptions(t))
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "java not found: install a Java 17 runtime") {
		t.Fatalf("got %v, want the java install hint", err)
	}
}

func nonLoopbackIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// listenAddr reads the local address of the listening IPv4/IPv6 socket on port from
// /proc/net/tcp{,6}, e.g. 127.0.0.1, the IPv4 wildcard or "::"; "" if not found.
func listenAddr(t *testing.T, port int) string {
	hexPort := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for len(hexPort) < 4 {
		hexPort = "0" + hexPort
	}
	read := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 on this machine
		}
		if err != nil {
			t.Fatal(err)
		}
		read++
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "0A" { // 0A = LISTEN
				continue
			}
			addr, p, _ := strings.Cut(fields[1], ":")
			if p != hexPort {
				continue
			}
			return decodeProcAddr(t, addr)
		}
	}
	if read == 0 {
		t.Fatal("neither /proc/net/tcp nor /proc/net/tcp6 exists: cannot check the listening addresses")
	}
	return ""
}

func decodeProcAddr(t *testing.T, h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatalf("/proc/net address %q: %v", h, err)
	}
	// /proc stores each 32-bit word in host (little-endian) order.
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	ip := net.IP(b)
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.String()
}
