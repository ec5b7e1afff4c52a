package delivery_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/delivery"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

func TestServiceFromConfig(t *testing.T) {
	b := kafkatest.Start(t, 1, "HCC", "VPDK", "CA")
	cfg := &config.Config{Agencies: []config.Agency{
		{Code: "HCC", Delivery: config.Delivery{Mode: config.ModePull}},
		{Code: "VPDK", Delivery: config.Delivery{Mode: config.ModeWebhook, URL: "http://127.0.0.1:9/events", Secret: secret,
			Timeout: config.Duration{Duration: time.Second}, MaxAttempts: 3, MinBackoff: config.Duration{Duration: time.Millisecond},
			MaxBackoff: config.Duration{Duration: time.Second}, Concurrency: 2}},
		{Code: "CA", Delivery: config.Delivery{Mode: config.ModeKafka}},
	}}
	s, err := delivery.New(cfg, b, delivery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e := s.Engines(); len(e) != 1 || e[0] != "VPDK" {
		t.Fatalf("engines %v, want only VPDK", e)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	if code, _ := api(t, mux, "GET", "/v1/agencies/HCC/inbox", "HCC"); code != 200 {
		t.Errorf("pull agency inbox: %d", code)
	}
	for _, a := range []string{"VPDK", "CA"} {
		if code, _ := api(t, mux, "GET", "/v1/agencies/"+a+"/inbox", a); code != 404 {
			t.Errorf("%s inbox: %d, want 404", a, code)
		}
	}
	eo := delivery.EngineOptions(cfg.Agencies[1])
	if eo.MaxAttempts != 3 || eo.Concurrency != 2 || eo.MinBackoff != time.Millisecond || eo.MaxBackoff != time.Second {
		t.Errorf("engine options %+v", eo)
	}

	cfg.Agencies[1].Delivery.Secret = "plain"
	if _, err := delivery.New(cfg, b, delivery.Options{}); err == nil {
		t.Error("a bad secret was accepted")
	}
}
