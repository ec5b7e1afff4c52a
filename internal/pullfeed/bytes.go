package pullfeed

import (
	"io"

	"github.com/segmentio/kafka-go"
)

func readAll(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	return io.ReadAll(b)
}
