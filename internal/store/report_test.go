package store

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, wherever the tests run
)

// nextMidnightSQL agrees with Go's calendar arithmetic, in a zone with one
// offset and in zones with daylight saving time, on the days it changes
// too; on SQLite, and on PostgreSQL when LIENTHONG_TEST_POSTGRES_DSN is set
// (nothing is written there).
func TestNextMidnightSQL(t *testing.T) {
	s, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dbs := map[string]*sql.DB{"sqlite": s.r}
	if dsn := os.Getenv("LIENTHONG_TEST_POSTGRES_DSN"); dsn != "" {
		pg, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		dbs["postgres"] = pg
	}
	for dialect, db := range dbs {
		for _, name := range []string{"Asia/Ho_Chi_Minh", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"} {
			loc, err := time.LoadLocation(name)
			if err != nil {
				t.Fatal(err)
			}
			from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
			q := "SELECT " + nextMidnightSQL("x", loc, from, to) + " FROM (SELECT CAST($1 AS BIGINT) AS x) AS v"
			bad := 0
			for r := from; r.Before(to) && bad < 5; r = r.Add(71 * time.Minute) {
				y, m, d := r.In(loc).Date()
				want := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
				var got int64
				if err := db.QueryRow(q, r.UnixNano()).Scan(&got); err != nil {
					t.Fatalf("%s, %s: %v\n%s", dialect, name, err, q)
				}
				if got != want.UnixNano() {
					t.Errorf("%s, %s: next midnight after %v is %v, want %v", dialect, name, r.In(loc), time.Unix(0, got).In(loc), want)
					bad++
				}
			}
		}
	}
}
