package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/internal/store/storetest"
)

// EnvPostgres names an admin DSN of a PostgreSQL server the tests may create
// databases on (scripts/postgres.sh dsn).
const EnvPostgres = "LIENTHONG_TEST_POSTGRES_DSN"

func openSQLite(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *store.Store { return openSQLite(t) })
}

// pgAdmin connects to the test server, or skips.
func pgAdmin(t testing.TB) (*sql.DB, *url.URL) {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (scripts/postgres.sh start; export %s=$(scripts/postgres.sh dsn))", EnvPostgres, EnvPostgres)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s is not a URL", EnvPostgres)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, u
}

// openPostgres opens a store on a fresh database, dropped at the end of the test.
func openPostgres(t testing.TB, admin *sql.DB, u *url.URL) *store.Store {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "lienthong_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	du := *u
	du.Path = "/" + name
	s, err := store.Open(ctx, store.Config{DSN: du.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgres(t *testing.T) {
	admin, u := pgAdmin(t)
	storetest.Run(t, func(t *testing.T) *store.Store {
		s := openPostgres(t, admin, u)
		if s.Dialect() != store.DialectPostgres {
			t.Fatalf("dialect %s", s.Dialect())
		}
		return s
	})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg store.Config
		ok  bool
	}{
		{store.Config{DataDir: "/tmp/x"}, true},
		{store.Config{DSN: "file:/tmp/x.db"}, true},
		{store.Config{DSN: "/tmp/x.db"}, true},
		{store.Config{DSN: "postgres://u:p@h/db"}, true},
		{store.Config{DSN: "postgresql://h/db?sslmode=disable"}, true},
		{store.Config{}, false},
		{store.Config{DSN: "mysql://u:secret@h/db"}, false},
		{store.Config{DSN: "file::memory:"}, false},
		{store.Config{DSN: "postgres://u:secret@h/db%zz"}, false},
		{store.Config{DataDir: "/tmp/x", MaxOpenConns: -1}, false},
	} {
		err := c.cfg.Validate()
		if (err == nil) != c.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", c.cfg, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Validate error shows the password: %v", err)
		}
	}
}

// TestOpenHidesPassword: a failed connection's error names neither the
// password nor its URL-escaped form.
func TestOpenHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://lienthong:s3cr%21t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://lienthong@127.0.0.1:1/db?sslmode=disable&password=s3cr!t-pw&connect_timeout=2",
		"postgres://lienthong:s3cr!t-pw@127.0.0.1:1/db?sslmode=bogus",
	} {
		_, err := store.Open(ctx, store.Config{DSN: dsn})
		if err == nil {
			t.Fatal("Open of a closed port succeeded")
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

func TestOpenHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.Open(ctx, store.Config{DataDir: t.TempDir()}); err == nil {
		t.Fatal("Open with a cancelled context succeeded")
	}
}

func TestSQLitePaths(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{filepath.Join(dir, "a b#c?.db"), "file:" + filepath.Join(dir, "uri.db")} {
		s, err := store.Open(context.Background(), store.Config{DSN: dsn})
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if s.Dialect() != store.DialectSQLite {
			t.Fatalf("dialect %s", s.Dialect())
		}
		s.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "a b#c?.db")); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}
	// Each SQLite file has its own id.
	a, b := openSQLite(t), openSQLite(t)
	if a.ID() == b.ID() {
		t.Fatal("two SQLite files share a store id")
	}
}

// TestConcurrentOpen: replicas starting together on an empty database
// migrate it once and agree on its id.
func TestConcurrentOpen(t *testing.T) {
	cfgs := map[string]store.Config{"sqlite": {DataDir: t.TempDir()}}
	if os.Getenv(EnvPostgres) != "" {
		admin, u := pgAdmin(t)
		s := openPostgres(t, admin, u) // a fresh database...
		cfg := s.Config()
		s.Close()
		db, err := sql.Open("pgx", cfg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		// ...emptied again.
		if _, err := db.Exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		cfgs["postgres"] = cfg
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			const n = 6
			ids := make(chan string, n)
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				go func() {
					s, err := store.Open(context.Background(), cfg)
					if err != nil {
						errs <- err
						return
					}
					ids <- s.ID()
					errs <- s.Close()
				}()
			}
			for i := 0; i < n; i++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			close(ids)
			first := ""
			for id := range ids {
				if first == "" {
					first = id
				}
				if id != first {
					t.Fatalf("replicas got different store ids: %s and %s", first, id)
				}
			}
		})
	}
}
