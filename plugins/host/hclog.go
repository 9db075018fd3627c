package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hclogger hands go-plugin's logging to slog. go-plugin logs through it
// twice over: its own doings (connecting, "plugin process exited"), which
// the supervisor reports better itself and which therefore go to debug;
// and the plugin's standard error, line by line, through a logger Named
// after the executable, which keeps the plugin's own levels.
type hclogger struct {
	log        *slog.Logger
	name       string
	args       []any
	fromPlugin bool

	// executable is the base name go-plugin names the plugin's stderr
	// logger with; onExit learns of the process's end.
	executable string
	onExit     func(status string)
}

var _ hclog.Logger = (*hclogger)(nil)

// goPluginExited is what go-plugin logs when the plugin process ends, with
// the exit status as "error".
const goPluginExited = "plugin process exited"

func (l *hclogger) Log(level hclog.Level, msg string, args ...any) {
	if !l.fromPlugin && msg == goPluginExited && l.onExit != nil {
		status := "exit status 0"
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == "error" {
				status = fmt.Sprint(args[i+1])
			}
		}
		l.onExit(status)
	}
	lvl := slog.LevelDebug
	if l.fromPlugin {
		lvl = slogLevel(level)
	}
	ctx := context.Background()
	if !l.log.Enabled(ctx, lvl) {
		return
	}
	attrs := make([]slog.Attr, 0, len(l.args)/2+len(args)/2+1)
	if l.fromPlugin {
		attrs = append(attrs, slog.String("source", "plugin"))
	} else {
		attrs = append(attrs, slog.String("source", "go-plugin"))
	}
	attrs = appendAttrs(attrs, l.args)
	attrs = appendAttrs(attrs, args)
	l.log.LogAttrs(ctx, lvl, msg, attrs...)
}

func appendAttrs(attrs []slog.Attr, kv []any) []slog.Attr {
	for i := 0; i < len(kv); i += 2 {
		key := fmt.Sprint(kv[i])
		if key == "timestamp" || key == "@module" || key == "@caller" {
			continue // the plugin's clock and hclog's bookkeeping
		}
		if i+1 == len(kv) {
			attrs = append(attrs, slog.Any("!BADKEY", kv[i]))
			break
		}
		attrs = append(attrs, slog.Any(key, kv[i+1]))
	}
	return attrs
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (l *hclogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *hclogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hclogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hclogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hclogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *hclogger) enabled(level hclog.Level) bool {
	lvl := slog.LevelDebug
	if l.fromPlugin {
		lvl = slogLevel(level)
	}
	return l.log.Enabled(context.Background(), lvl)
}

func (l *hclogger) IsTrace() bool { return l.enabled(hclog.Trace) }
func (l *hclogger) IsDebug() bool { return l.enabled(hclog.Debug) }
func (l *hclogger) IsInfo() bool  { return l.enabled(hclog.Info) }
func (l *hclogger) IsWarn() bool  { return l.enabled(hclog.Warn) }
func (l *hclogger) IsError() bool { return l.enabled(hclog.Error) }

func (l *hclogger) ImpliedArgs() []any { return l.args }

func (l *hclogger) With(args ...any) hclog.Logger {
	c := *l
	c.args = append(append([]any(nil), l.args...), args...)
	return &c
}

func (l *hclogger) Name() string { return l.name }

func (l *hclogger) Named(name string) hclog.Logger {
	c := *l
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	c.fromPlugin = l.fromPlugin || name == l.executable
	return &c
}

func (l *hclogger) ResetNamed(name string) hclog.Logger {
	c := *l
	c.name = name
	c.fromPlugin = name == l.executable
	return &c
}

// SetLevel is ignored: the slog handler decides.
func (l *hclogger) SetLevel(hclog.Level) {}

// GetLevel reports the lowest level that would be logged. go-plugin skips
// the plugin's lines below it without parsing them.
func (l *hclogger) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if l.enabled(lv) {
			return lv
		}
	}
	return hclog.Off
}

func (l *hclogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(l.log.Handler(), slog.LevelDebug)
}

func (l *hclogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineLogger{log: l.log, level: slog.LevelDebug, msg: "go-plugin"}
}

// lineLogger logs what is written to it, a record per line: the plugin's
// os.Stdout and os.Stderr after Serve, which go-plugin streams to the host.
type lineLogger struct {
	log   *slog.Logger
	level slog.Level
	msg   string
	attrs []slog.Attr

	mu  sync.Mutex
	buf []byte
}

// maxLine cuts runaway lines.
const maxLine = 4096

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > maxLine {
				w.emit(w.buf[:maxLine])
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

func (w *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return
	}
	if len(line) > maxLine {
		line = line[:maxLine]
	}
	attrs := append(append([]slog.Attr(nil), w.attrs...), slog.String("line", string(line)))
	w.log.LogAttrs(context.Background(), w.level, w.msg, attrs...)
}

// tail keeps the last lines a plugin wrote to its standard error, so that
// a plugin that dies before the handshake can say why in the error.
type tail struct {
	mu    sync.Mutex
	lines []string
	cur   []byte
}

const tailLines = 5

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range p {
		if b != '\n' {
			if len(t.cur) < maxLine {
				t.cur = append(t.cur, b)
			}
			continue
		}
		t.push()
	}
	return len(p), nil
}

func (t *tail) push() {
	line := strings.TrimSpace(string(t.cur))
	t.cur = t.cur[:0]
	if line == "" {
		return
	}
	// hclog JSON lines: keep the message.
	var rec struct {
		Message string `json:"@message"`
	}
	if json.Unmarshal([]byte(line), &rec) == nil && rec.Message != "" {
		line = rec.Message
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[1:]
	}
}

// lastWords returns the last lines, for an error message, or "".
func (t *tail) lastWords() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.cur) > 0 {
		t.push()
	}
	if len(t.lines) == 0 {
		return ""
	}
	return "; its last words on stderr: " + strings.Join(t.lines, " / ")
}
