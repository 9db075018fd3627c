package store

import (
	"context"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
	"github.com/gatehouse-vpn/gatehouse/test/peers/postgres"
)

// The store's tests run against both drivers. A plain "go test" run is
// the SQLite run; TestPostgres runs every test of driverSuite again,
// as subtests, against a real PostgreSQL 15 (test/peers/postgres),
// each in a fresh database. The tests reach the database only through
// newStore, newLocation and openAt, which follow testDriver.
var testDriver = SQLite

// testPG is the server of the PostgreSQL run.
var testPG *postgres.Server

// newLocation returns where a fresh store can be opened: a file path in
// a temporary directory (SQLite) or the DSN of a new, empty database
// (PostgreSQL).
func newLocation(t testing.TB) string {
	t.Helper()
	if testDriver == Postgres {
		return testPG.CreateDatabase(t)
	}
	return t.TempDir() + "/gatehouse.db"
}

// openLocation opens the store at loc, a path or a postgres:// DSN.
func openLocation(ctx context.Context, loc string, s *seal.Sealer) (*Store, error) {
	if strings.HasPrefix(loc, "postgres://") {
		return OpenPostgres(ctx, loc, s, PostgresOptions{})
	}
	return Open(ctx, loc, s)
}

// driverSuite is every test that holds for both drivers. A test left
// out is SQLite's alone (sqliteOnly says why); TestSuiteComplete keeps
// the two lists equal to the package's tests.
var driverSuite = []func(*testing.T){
	TestCacheSeesOtherProcesses, TestCacheSeesOwnCommits, TestCacheUnderConcurrentWrites,
	TestCommitHOTP, TestResyncHOTP, TestCommitTOTP, TestResyncTOTP,
	TestCommitRaceTwoHandles, TestCommitRaceProcesses,
	TestGroups, TestRevisionsMoveOnIdentityChanges, TestLockoutsPersist,
	TestOperators, TestOperatorPasswordHashed, TestCheckOperatorSpendsOnUnknownNames,
	TestPassword, TestPasswordRefused, TestPasswordBoundToRow, TestCheckPasswordSealedAndHash,
	TestOpenNilSealer, TestOpenWrongKey, TestMigrationsIdempotent, TestNewerSchemaRefused, TestConcurrentOpen,
	TestNames, TestTokens, TestAddTokenInvalid, TestTokenSecretBoundToRow, TestTokenRedacted,
	TestUsers, TestUsersEmpty, TestUpdatedAt, TestLockoutRecordFailure, TestCopy,
}

// sqliteOnly are the tests of what only the SQLite driver has, and why.
var sqliteOnly = map[string]string{
	"TestBackupWhileWriting":             "store backup copies a SQLite file; PostgreSQL is backed up with pg_dump",
	"TestBackupFile":                     "store backup",
	"TestRestoreRefusesCorrupt":          "store restore",
	"TestBackupEveryByteCovered":         "store backup",
	"TestRestoreRefusesWrongKey":         "store restore",
	"TestRestoreRefusesNewerSchema":      "store restore",
	"TestRestoreOlderSchema":             "store restore",
	"TestRestoreRefusesExisting":         "store restore",
	"TestRestoreRefusesInUse":            "store restore",
	"TestRestoreOverExisting":            "store restore",
	"TestEmptyDB":                        "store restore of an empty file",
	"TestWALIndexStamp":                  "the wal-index is SQLite's",
	"TestCommitWorkerProcess":            "the worker of TestCommitRaceProcesses, run by it",
	"TestMigrateToOperators":             "a version-2 SQLite file migrated in place",
	"TestOperatorsAcrossRekeyAndRestore": "store rekey and restore",
	"TestPHC":                            "no database",
	"TestPHCReference":                   "no database",
	"TestPasswordParamsRecorded":         "no database",
	"TestDecodePHCMalformed":             "no database",
	"TestArgon2ParamsCheck":              "no database",
	"TestRekey":                          "store rekey holds SQLite's exclusive lock",
	"TestRekeyRefusesInUse":              "store rekey",
	"TestRekeyRefusesInUseByProcess":     "store rekey",
	"TestRekeyRefusesWrongKey":           "store rekey",
	"TestRekeyCrashInProcess":            "store rekey",
	"TestRekeyCrashProcess":              "store rekey",
	"TestRestoreCrashProcess":            "store restore",
	"TestRestoreFreshCrashProcess":       "store restore",
	"TestKeyChangeCrashWorker":           "store rekey",
	"TestRecoverKeyNeitherKey":           "store rekey",
	"TestSealedColumnsComplete":          "reads SQLite's schema tables",
	"TestSealedAtRest":                   "reads the SQLite file's bytes",
	"TestMain":                           "not a test",
	"TestOpen":                           "SQLite's file mode and pragmas",
	"TestOpenPathWithURIChars":           "SQLite file names",
	"TestMigrationVersionsContiguous":    "checks both lists itself",
	"TestMigrationAppliesPending":        "adds a SQLite migration",
	"TestMigrationFailureRollsBack":      "adds a SQLite migration",
	"TestPostgres":                       "the runner",
	"TestSuiteComplete":                  "this check",
	"TestRebind":                         "no database",
	"TestSchemasAgree":                   "compares both itself",
	"TestReadDSNFile":                    "no database",
	"TestBackoffConnector":               "no database",
	"TestPostgresMigrationLock":          "PostgreSQL's alone",
	"TestPostgresOutage":                 "PostgreSQL's alone",
	"TestPostgresVerifyFull":             "PostgreSQL's alone",
}

func funcName(f func(*testing.T)) string {
	n := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return n[strings.LastIndex(n, ".")+1:]
}

// TestPostgres runs driverSuite against PostgreSQL.
func TestPostgres(t *testing.T) {
	if os.Getenv("GATEHOUSE_STORE_WORKER") != "" {
		t.Skip("worker process")
	}
	testPG = postgres.Start(t, postgres.Options{NoFsync: true})
	testDriver = Postgres
	defer func() { testDriver, testPG = SQLite, nil }()
	for _, f := range append(slices.Clone(driverSuite), postgresOnly...) {
		t.Run(funcName(f), f)
	}
}

// TestSuiteComplete: every test of the package is in driverSuite or in
// sqliteOnly, not both.
func TestSuiteComplete(t *testing.T) {
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`)
	var suite []string
	for _, f := range driverSuite {
		suite = append(suite, funcName(f))
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			in, why := slices.Contains(suite, m[1]), sqliteOnly[m[1]]
			switch {
			case in && why != "":
				t.Errorf("%s is in driverSuite and sqliteOnly", m[1])
			case !in && why == "":
				t.Errorf("%s (%s) is in neither driverSuite nor sqliteOnly: add it to one", m[1], f.Name())
			}
		}
	}
}
