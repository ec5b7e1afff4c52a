// Package testpg gives tests a PostgreSQL database of their own when
// LIENTHONG_TEST_POSTGRES_DSN names a server (scripts/postgres.sh starts
// one; make test-integration sets it), and nothing otherwise: the tests then
// run on the embedded SQLite default.
package testpg

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvDSN names the environment variable with the admin DSN of a server.
const EnvDSN = "LIENTHONG_TEST_POSTGRES_DSN"

// Enabled reports whether tests run on PostgreSQL.
func Enabled() bool { return strings.TrimSpace(os.Getenv(EnvDSN)) != "" }

var (
	mu      sync.Mutex
	created = map[string]bool{}
	badName = regexp.MustCompile(`[^a-z0-9_]`)
)

// DSN returns the DSN of database name (made of the name's letters, digits
// and underscores), creating it once per test process and dropping it when
// t ends; "" when tests run on SQLite. Tests that share name (replicas of
// one deployment) share the database.
func DSN(t testing.TB, name string) string {
	t.Helper()
	admin := strings.TrimSpace(os.Getenv(EnvDSN))
	if admin == "" {
		return ""
	}
	name = "lt_" + badName.ReplaceAllString(strings.ToLower(name), "_")
	if len(name) > 60 {
		name = name[:60]
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !created[name] {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("create database %s: %v", name, err)
		}
		created[name] = true
		t.Cleanup(func() {
			db, err := sql.Open("pgx", admin)
			if err != nil {
				return
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
				t.Logf("drop database %s: %v", name, err)
			}
			mu.Lock()
			delete(created, name)
			mu.Unlock()
		})
	}
	u.Path = "/" + name
	return fmt.Sprint(u)
}
