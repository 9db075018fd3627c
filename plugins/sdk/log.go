package sdk

import (
	"log/slog"
	"os"
	"strings"
)

// LogLevelEnv names the environment variable by which the gateway tells a
// plugin the lowest level it logs: "debug", "info" (the default), "warn" or
// "error".
const LogLevelEnv = "GATEHOUSE_PLUGIN_LOG_LEVEL"

// Logger returns a logger whose records reach the gateway's log, at their
// level and with their attributes, tagged with the back-end's name. It
// writes JSON lines to the plugin's standard error in the shape go-plugin
// forwards (the @level, @message and @timestamp keys of hclog).
//
// Never log a secret: the gateway cannot tell one from any other string.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{
		Level:       logLevel(os.Getenv(LogLevelEnv)),
		ReplaceAttr: hclogAttr,
	}))
}

func logLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// hclogTime is the timestamp layout go-plugin parses.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

// hclogAttr renames slog's built-in keys to hclog's.
func hclogAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().Format(hclogTime))
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	case slog.LevelKey:
		l, _ := a.Value.Any().(slog.Level)
		name := "info"
		switch {
		case l < slog.LevelInfo:
			name = "debug"
		case l >= slog.LevelError:
			name = "error"
		case l >= slog.LevelWarn:
			name = "warn"
		}
		return slog.String("@level", name)
	}
	return a
}
